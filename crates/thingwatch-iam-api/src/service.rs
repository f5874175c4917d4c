//! [`IamService`]: the `iam` API (awsQuery, version 2010-05-08, SigV4 signing name `iam`) as a
//! [`ServiceHandler`]: users, access keys, roles and inline user/role policies.
//!
//! Each call is authorized here, against the resource ARN the IAM Service Authorization
//! Reference names for the action (`arn:aws:iam::ACCOUNT:user/PATH/NAME` for user, access-key
//! and user-policy actions, `…:role/PATH/NAME` for role actions, `*` for ListUsers and
//! ListRoles), with [`Iam::authorize`]; a refusal is `AccessDenied` (403) with IAM's message.
//! The operation then runs on the blocking pool (writes commit to SQLite).
//!
//! Shapes follow botocore's `iam/2010-05-08/service-2.json`: results wrapped in
//! `<{Op}Result>`, lists as `<member>`, `IsTruncated` + `Marker` paging (`MaxItems` 1–1,000,
//! default 100), dates ISO 8601, policy documents URL-encoded (RFC 3986).

use axum::response::Response;
use thingwatch_http::{
    ApiError, AwsRequest, ErrorCode, HandlerFuture, Protocol, RequestContext, ServiceHandler,
};

use crate::query::{Params, Xml, encode_document, iso8601, paginate, respond};
use thingwatch_iam::IamError;
use thingwatch_iam::model::{self, AccessKey, KeyStatus, Role, User};
use thingwatch_iam::validate;
use thingwatch_iam::{Iam, InlinePolicy, NewRole, access_denied_message};

/// The XML namespace of IAM responses (the model's `xmlNamespace`).
pub const IAM_XML_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// The API version IAM requests carry (`Version=2010-05-08`).
pub const IAM_API_VERSION: &str = "2010-05-08";

/// The `iam` service. Register it with
/// `ApiState::with_service("iam", Arc::new(IamService::new(iam)))`.
#[derive(Clone, Debug)]
pub struct IamService {
    iam: Iam,
}

impl IamService {
    /// A service over `iam`.
    pub fn new(iam: Iam) -> Self {
        Self { iam }
    }
}

impl ServiceHandler for IamService {
    fn protocol(&self) -> Protocol {
        Protocol::AwsQuery
    }

    fn handle(&self, ctx: RequestContext, req: AwsRequest) -> HandlerFuture {
        let iam = self.iam.clone();
        Box::pin(async move {
            let params = Params::parse(&req)?;
            tokio::task::spawn_blocking(move || {
                Call {
                    iam: &iam,
                    ctx: &ctx,
                    p: &params,
                }
                .run()
            })
            .await
            .map_err(|e| ApiError::internal(&e))?
        })
    }
}

fn iam_err(e: IamError) -> ApiError {
    e.to_api_error()
}

/// One IAM call being served.
struct Call<'a> {
    iam: &'a Iam,
    ctx: &'a RequestContext,
    p: &'a Params,
}

impl Call<'_> {
    fn run(&self) -> Result<Response, ApiError> {
        match self.p.action.as_str() {
            "CreateUser" => self.create_user(),
            "GetUser" => self.get_user(),
            "ListUsers" => self.list_users(),
            "DeleteUser" => self.delete_user(),
            "CreateAccessKey" => self.create_access_key(),
            "ListAccessKeys" => self.list_access_keys(),
            "UpdateAccessKey" => self.update_access_key(),
            "DeleteAccessKey" => self.delete_access_key(),
            "CreateRole" => self.create_role(),
            "GetRole" => self.get_role(),
            "ListRoles" => self.list_roles(),
            "DeleteRole" => self.delete_role(),
            "UpdateAssumeRolePolicy" => self.update_assume_role_policy(),
            "PutRolePolicy" => self.put_role_policy(),
            "GetRolePolicy" => self.get_role_policy(),
            "ListRolePolicies" => self.list_role_policies(),
            "DeleteRolePolicy" => self.delete_role_policy(),
            "PutUserPolicy" => self.put_user_policy(),
            "GetUserPolicy" => self.get_user_policy(),
            "ListUserPolicies" => self.list_user_policies(),
            "DeleteUserPolicy" => self.delete_user_policy(),
            other => Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Could not find operation {other} for version {IAM_API_VERSION}"),
            )),
        }
    }

    // ------------------------------------------------------------ plumbing

    fn opt(&self, name: &str) -> Option<&str> {
        self.p.get(name)
    }

    /// A required parameter (`field` is its lower-camel name in validation messages).
    fn req(&self, name: &str, field: &str) -> Result<&str, ApiError> {
        self.p
            .get(name)
            .ok_or_else(|| iam_err(validate::missing(field)))
    }

    fn caller(&self) -> &str {
        &self.ctx.auth.principal.arn
    }

    fn caller_is_root(&self) -> bool {
        self.caller() == self.iam.root_arn()
    }

    /// Authorizes `iam:{action}` on `resource` for the caller.
    fn authorize(&self, resource: &str) -> Result<(), ApiError> {
        let action = format!("iam:{}", self.p.action);
        let ip = self.ctx.peer.map(|p| p.ip().to_string());
        let mut context: Vec<(&str, &str)> = Vec::new();
        if let Some(ip) = ip.as_deref() {
            context.push(("aws:SourceIp", ip));
        }
        let caller = self.caller();
        let decision = self.iam.authorize(caller, &action, resource, &context);
        match access_denied_message(caller, &action, resource, decision) {
            None => Ok(()),
            Some(message) => Err(ApiError::new(ErrorCode::AccessDenied, message)),
        }
    }

    fn user_resource(&self, name: &str) -> String {
        self.iam.get_user(name).map_or_else(
            |_| model::user_arn(self.iam.account_id(), "/", name),
            |u| u.arn,
        )
    }

    fn role_resource(&self, name: &str) -> String {
        self.iam.get_role(name).map_or_else(
            |_| model::role_arn(self.iam.account_id(), "/", name),
            |r| r.arn,
        )
    }

    /// `UserName`, or the calling user's own name when absent (GetUser, access key actions).
    fn user_name_or_self(&self) -> Result<String, ApiError> {
        if let Some(n) = self.opt("UserName") {
            validate::name("userName", n, validate::EXISTING_USER_NAME_MAX_CHARS)
                .map_err(iam_err)?;
            return Ok(n.to_owned());
        }
        if self.caller_is_root() {
            return Err(iam_err(IamError::InvalidInput(
                "The root user's access keys are configured on the server, not managed by IAM; specify UserName.".to_owned(),
            )));
        }
        Ok(self.ctx.auth.principal.user_name.clone())
    }

    fn existing_user(&self, field: &str) -> Result<&str, ApiError> {
        let n = self.req("UserName", field)?;
        validate::name(field, n, validate::EXISTING_USER_NAME_MAX_CHARS).map_err(iam_err)?;
        Ok(n)
    }

    fn role_name(&self) -> Result<&str, ApiError> {
        let n = self.req("RoleName", "roleName")?;
        validate::name("roleName", n, validate::NAME_MAX_CHARS).map_err(iam_err)?;
        Ok(n)
    }

    fn policy_name(&self) -> Result<&str, ApiError> {
        let n = self.req("PolicyName", "policyName")?;
        validate::name("policyName", n, validate::POLICY_NAME_MAX_CHARS).map_err(iam_err)?;
        Ok(n)
    }

    fn paging(&self) -> Result<(Option<&str>, usize), ApiError> {
        let max = match self.opt("MaxItems") {
            Some(v) => validate::max_items(v).map_err(iam_err)?,
            None => validate::DEFAULT_MAX_ITEMS,
        };
        Ok((self.opt("Marker"), max))
    }

    fn path_prefix(&self) -> Result<Option<&str>, ApiError> {
        let p = self.opt("PathPrefix");
        if let Some(p) = p {
            validate::path_prefix(p).map_err(iam_err)?;
        }
        Ok(p)
    }

    fn ok(&self, result: &dyn Fn(&mut Xml)) -> Result<Response, ApiError> {
        respond(
            &self.p.action,
            IAM_XML_NAMESPACE,
            &self.ctx.request_id,
            Some(result),
        )
    }

    fn ok_empty(&self) -> Result<Response, ApiError> {
        respond(
            &self.p.action,
            IAM_XML_NAMESPACE,
            &self.ctx.request_id,
            None,
        )
    }

    // ------------------------------------------------------------ users

    fn create_user(&self) -> Result<Response, ApiError> {
        let name = self.req("UserName", "userName")?;
        let path = self.opt("Path");
        let arn = model::user_arn(self.iam.account_id(), path.unwrap_or("/"), name);
        self.authorize(&arn)?;
        let user = self
            .iam
            .create_user(name, path, self.ctx.now_ms())
            .map_err(iam_err)?;
        self.ok(&|x| write_user(x, "User", &user))
    }

    fn get_user(&self) -> Result<Response, ApiError> {
        if self.opt("UserName").is_none() && self.caller_is_root() {
            // GetUser without UserName signed by the root user describes the root user.
            let arn = self.iam.root_arn().to_owned();
            let account = self.iam.account_id().to_owned();
            return self.ok(&|x| {
                x.open("User");
                x.leaf("UserId", &account);
                x.leaf("Arn", &arn);
                x.leaf("CreateDate", &iso8601(0));
                x.close("User");
            });
        }
        let name = self.user_name_or_self()?;
        self.authorize(&self.user_resource(&name))?;
        let user = self.iam.get_user(&name).map_err(iam_err)?;
        self.ok(&|x| write_user(x, "User", &user))
    }

    fn list_users(&self) -> Result<Response, ApiError> {
        let prefix = self.path_prefix()?;
        let (marker, max) = self.paging()?;
        self.authorize("*")?;
        let users = self.iam.list_users(prefix);
        let (page, next) = paginate(users, |u| u.user_name.to_ascii_lowercase(), marker, max);
        self.ok(&|x| {
            x.open("Users");
            for u in &page {
                write_user(x, "member", u);
            }
            x.close("Users");
            write_paging(x, next.as_deref());
        })
    }

    fn delete_user(&self) -> Result<Response, ApiError> {
        let name = self.existing_user("userName")?;
        self.authorize(&self.user_resource(name))?;
        self.iam.delete_user(name).map_err(iam_err)?;
        self.ok_empty()
    }

    // ------------------------------------------------------------ access keys

    fn create_access_key(&self) -> Result<Response, ApiError> {
        let name = self.user_name_or_self()?;
        self.authorize(&self.user_resource(&name))?;
        let k = self
            .iam
            .create_access_key(&name, self.ctx.now_ms())
            .map_err(iam_err)?;
        self.ok(&|x| {
            x.open("AccessKey");
            x.leaf("UserName", &k.user_name);
            x.leaf("AccessKeyId", &k.access_key_id);
            x.leaf("Status", k.status.as_str());
            x.leaf("SecretAccessKey", &k.secret_access_key);
            x.leaf("CreateDate", &iso8601(k.create_date_ms));
            x.close("AccessKey");
        })
    }

    fn list_access_keys(&self) -> Result<Response, ApiError> {
        let name = self.user_name_or_self()?;
        let (marker, max) = self.paging()?;
        self.authorize(&self.user_resource(&name))?;
        let keys = self.iam.list_access_keys(&name).map_err(iam_err)?;
        let (page, next) = paginate(keys, |k: &AccessKey| k.access_key_id.clone(), marker, max);
        self.ok(&|x| {
            x.open("AccessKeyMetadata");
            for k in &page {
                x.open("member");
                x.leaf("UserName", &k.user_name);
                x.leaf("AccessKeyId", &k.access_key_id);
                x.leaf("Status", k.status.as_str());
                x.leaf("CreateDate", &iso8601(k.create_date_ms));
                x.close("member");
            }
            x.close("AccessKeyMetadata");
            write_paging(x, next.as_deref());
        })
    }

    fn update_access_key(&self) -> Result<Response, ApiError> {
        let name = self.user_name_or_self()?;
        let id = self.req("AccessKeyId", "accessKeyId")?;
        let status_text = self.req("Status", "status")?;
        let status = KeyStatus::parse(status_text).ok_or_else(|| {
            iam_err(IamError::Validation(format!(
                "1 validation error detected: Value '{status_text}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
            )))
        })?;
        self.authorize(&self.user_resource(&name))?;
        self.iam
            .update_access_key(&name, id, status)
            .map_err(iam_err)?;
        self.ok_empty()
    }

    fn delete_access_key(&self) -> Result<Response, ApiError> {
        let name = self.user_name_or_self()?;
        let id = self.req("AccessKeyId", "accessKeyId")?;
        self.authorize(&self.user_resource(&name))?;
        self.iam.delete_access_key(&name, id).map_err(iam_err)?;
        self.ok_empty()
    }

    // ------------------------------------------------------------ roles

    fn create_role(&self) -> Result<Response, ApiError> {
        let name = self.req("RoleName", "roleName")?;
        let trust = self.req("AssumeRolePolicyDocument", "assumeRolePolicyDocument")?;
        let max_session = match self.opt("MaxSessionDuration") {
            Some(v) => Some(validate::max_session_duration(v).map_err(iam_err)?),
            None => None,
        };
        let spec = NewRole {
            role_name: name.to_owned(),
            path: self.opt("Path").map(str::to_owned),
            assume_role_policy_document: trust.to_owned(),
            description: self.opt("Description").map(str::to_owned),
            max_session_duration_s: max_session,
        };
        let arn = model::role_arn(
            self.iam.account_id(),
            spec.path.as_deref().unwrap_or("/"),
            name,
        );
        self.authorize(&arn)?;
        let role = self
            .iam
            .create_role(&spec, self.ctx.now_ms())
            .map_err(iam_err)?;
        self.ok(&|x| write_role(x, "Role", &role))
    }

    fn get_role(&self) -> Result<Response, ApiError> {
        let name = self.role_name()?;
        self.authorize(&self.role_resource(name))?;
        let role = self.iam.get_role(name).map_err(iam_err)?;
        self.ok(&|x| write_role(x, "Role", &role))
    }

    fn list_roles(&self) -> Result<Response, ApiError> {
        let prefix = self.path_prefix()?;
        let (marker, max) = self.paging()?;
        self.authorize("*")?;
        let roles = self.iam.list_roles(prefix);
        let (page, next) = paginate(roles, |r| r.role_name.to_ascii_lowercase(), marker, max);
        self.ok(&|x| {
            x.open("Roles");
            for r in &page {
                write_role(x, "member", r);
            }
            x.close("Roles");
            write_paging(x, next.as_deref());
        })
    }

    fn delete_role(&self) -> Result<Response, ApiError> {
        let name = self.role_name()?;
        self.authorize(&self.role_resource(name))?;
        self.iam.delete_role(name).map_err(iam_err)?;
        self.ok_empty()
    }

    fn update_assume_role_policy(&self) -> Result<Response, ApiError> {
        let name = self.role_name()?;
        let doc = self.req("PolicyDocument", "policyDocument")?;
        self.authorize(&self.role_resource(name))?;
        self.iam
            .update_assume_role_policy(name, doc)
            .map_err(iam_err)?;
        self.ok_empty()
    }

    // ------------------------------------------------------------ inline policies

    fn put_role_policy(&self) -> Result<Response, ApiError> {
        let role = self.role_name()?;
        let policy = self.policy_name()?;
        let doc = self.req("PolicyDocument", "policyDocument")?;
        self.authorize(&self.role_resource(role))?;
        self.iam
            .put_role_policy(role, policy, doc)
            .map_err(iam_err)?;
        self.ok_empty()
    }

    fn get_role_policy(&self) -> Result<Response, ApiError> {
        let role = self.role_name()?;
        let policy = self.policy_name()?;
        self.authorize(&self.role_resource(role))?;
        let p = self.iam.get_role_policy(role, policy).map_err(iam_err)?;
        self.ok(&|x| write_inline(x, "RoleName", &p))
    }

    fn list_role_policies(&self) -> Result<Response, ApiError> {
        let role = self.role_name()?;
        let (marker, max) = self.paging()?;
        self.authorize(&self.role_resource(role))?;
        let names = self.iam.list_role_policies(role).map_err(iam_err)?;
        self.ok(&|x| write_names(x, names.clone(), marker, max))
    }

    fn delete_role_policy(&self) -> Result<Response, ApiError> {
        let role = self.role_name()?;
        let policy = self.policy_name()?;
        self.authorize(&self.role_resource(role))?;
        self.iam.delete_role_policy(role, policy).map_err(iam_err)?;
        self.ok_empty()
    }

    fn put_user_policy(&self) -> Result<Response, ApiError> {
        let user = self.existing_user("userName")?;
        let policy = self.policy_name()?;
        let doc = self.req("PolicyDocument", "policyDocument")?;
        self.authorize(&self.user_resource(user))?;
        self.iam
            .put_user_policy(user, policy, doc)
            .map_err(iam_err)?;
        self.ok_empty()
    }

    fn get_user_policy(&self) -> Result<Response, ApiError> {
        let user = self.existing_user("userName")?;
        let policy = self.policy_name()?;
        self.authorize(&self.user_resource(user))?;
        let p = self.iam.get_user_policy(user, policy).map_err(iam_err)?;
        self.ok(&|x| write_inline(x, "UserName", &p))
    }

    fn list_user_policies(&self) -> Result<Response, ApiError> {
        let user = self.existing_user("userName")?;
        let (marker, max) = self.paging()?;
        self.authorize(&self.user_resource(user))?;
        let names = self.iam.list_user_policies(user).map_err(iam_err)?;
        self.ok(&|x| write_names(x, names.clone(), marker, max))
    }

    fn delete_user_policy(&self) -> Result<Response, ApiError> {
        let user = self.existing_user("userName")?;
        let policy = self.policy_name()?;
        self.authorize(&self.user_resource(user))?;
        self.iam.delete_user_policy(user, policy).map_err(iam_err)?;
        self.ok_empty()
    }
}

fn write_user(x: &mut Xml, element: &str, u: &User) {
    x.open(element);
    x.leaf("Path", &u.path);
    x.leaf("UserName", &u.user_name);
    x.leaf("UserId", &u.user_id);
    x.leaf("Arn", &u.arn);
    x.leaf("CreateDate", &iso8601(u.create_date_ms));
    x.close(element);
}

fn write_role(x: &mut Xml, element: &str, r: &Role) {
    x.open(element);
    x.leaf("Path", &r.path);
    x.leaf("RoleName", &r.role_name);
    x.leaf("RoleId", &r.role_id);
    x.leaf("Arn", &r.arn);
    x.leaf("CreateDate", &iso8601(r.create_date_ms));
    x.leaf(
        "AssumeRolePolicyDocument",
        &encode_document(&r.assume_role_policy_document),
    );
    x.opt_leaf("Description", r.description.as_deref());
    x.leaf("MaxSessionDuration", &r.max_session_duration_s.to_string());
    x.close(element);
}

fn write_inline(x: &mut Xml, owner_element: &str, p: &InlinePolicy) {
    x.leaf(owner_element, &p.owner_name);
    x.leaf("PolicyName", &p.policy_name);
    x.leaf("PolicyDocument", &encode_document(&p.document));
}

fn write_names(x: &mut Xml, names: Vec<String>, marker: Option<&str>, max: usize) {
    let (page, next) = paginate(names, |n| n.to_ascii_lowercase(), marker, max);
    x.open("PolicyNames");
    for n in &page {
        x.leaf("member", n);
    }
    x.close("PolicyNames");
    write_paging(x, next.as_deref());
}

fn write_paging(x: &mut Xml, next: Option<&str>) {
    x.leaf("IsTruncated", if next.is_some() { "true" } else { "false" });
    x.opt_leaf("Marker", next);
}
