//! The `iam` and `sts` services through the real HTTP interface: awsQuery form bodies signed
//! with SigV4 (service `iam` / `sts`), XML answers and `<ErrorResponse>` errors checked by
//! status, `Code`, `Message` and `Type` (what botocore reads), and the identities created
//! over the API authenticating and being authorized on later calls.

mod common;

use common::{ACCOUNT, ROOT_AKID, ROOT_SECRET, Server, assert_error, form, url_decode};

const TRUST_IOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test]
async fn user_lifecycle_keys_and_authorization() {
    let s = Server::start().await;

    let r = s.ok("CreateUser", &[("UserName", "bob")]).await;
    let user = "CreateUserResponse/CreateUserResult/User";
    assert_eq!(r.one(&format!("{user}/UserName")), "bob");
    assert_eq!(r.one(&format!("{user}/Path")), "/");
    assert_eq!(
        r.one(&format!("{user}/Arn")),
        format!("arn:aws:iam::{ACCOUNT}:user/bob")
    );
    let id = r.one(&format!("{user}/UserId"));
    assert!(id.starts_with("AIDA") && id.len() == 21, "{id}");
    assert!(r.one(&format!("{user}/CreateDate")).ends_with('Z'));

    s.err(
        "CreateUser",
        &[("UserName", "BOB")],
        409,
        "EntityAlreadyExists",
        "User with name BOB already exists.",
    )
    .await;

    let r = s.ok("GetUser", &[("UserName", "bob")]).await;
    assert_eq!(r.one("GetUserResponse/GetUserResult/User/UserId"), id);

    // Two keys per user, a third is refused.
    let r = s.ok("CreateAccessKey", &[("UserName", "bob")]).await;
    let key = "CreateAccessKeyResponse/CreateAccessKeyResult/AccessKey";
    let akid = r.one(&format!("{key}/AccessKeyId"));
    let secret = r.one(&format!("{key}/SecretAccessKey"));
    assert!(akid.starts_with("AKIA") && akid.len() == 20, "{akid}");
    assert_eq!(secret.len(), 40);
    assert_eq!(r.one(&format!("{key}/Status")), "Active");
    assert_eq!(r.one(&format!("{key}/UserName")), "bob");
    let r2 = s.ok("CreateAccessKey", &[("UserName", "bob")]).await;
    let akid2 = r2.one(&format!("{key}/AccessKeyId"));
    s.err(
        "CreateAccessKey",
        &[("UserName", "bob")],
        409,
        "LimitExceeded",
        "Cannot exceed quota for AccessKeysPerUser: 2",
    )
    .await;
    let r = s.ok("ListAccessKeys", &[("UserName", "bob")]).await;
    let meta = "ListAccessKeysResponse/ListAccessKeysResult/AccessKeyMetadata/member";
    let mut listed = r.all(&format!("{meta}/AccessKeyId"));
    listed.sort();
    let mut want = vec![akid.clone(), akid2.clone()];
    want.sort();
    assert_eq!(listed, want);
    assert!(
        !r.body.contains("SecretAccessKey"),
        "secrets are returned only once"
    );

    // The new key authenticates: STS says who it is.
    let bob = (akid.as_str(), secret.as_str());
    let r = s
        .call_as(
            bob,
            "sts",
            &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = "GetCallerIdentityResponse/GetCallerIdentityResult";
    assert_eq!(
        r.one(&format!("{res}/Arn")),
        format!("arn:aws:iam::{ACCOUNT}:user/bob")
    );
    assert_eq!(r.one(&format!("{res}/UserId")), id);
    assert_eq!(r.one(&format!("{res}/Account")), ACCOUNT);
    // ... but bob has no policy yet: default deny.
    s.err_as(
        bob,
        "CreateUser",
        &[("UserName", "carol")],
        403,
        "AccessDenied",
        &format!("User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::{ACCOUNT}:user/carol because no identity-based policy allows the iam:CreateUser action"),
    )
    .await;

    // Allow user management except for admin-* users (explicit deny wins).
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["iam:CreateUser","iam:GetUser","iam:DeleteUser"],"Resource":"arn:aws:iam::{ACCOUNT}:user/*"}},
            {{"Effect":"Deny","Action":"iam:*","Resource":"arn:aws:iam::{ACCOUNT}:user/admin-*"}}]}}"#
    );
    s.ok(
        "PutUserPolicy",
        &[
            ("UserName", "bob"),
            ("PolicyName", "manage-users"),
            ("PolicyDocument", &policy),
        ],
    )
    .await;
    s.ok_as(bob, "CreateUser", &[("UserName", "carol")]).await;
    s.err_as(
        bob,
        "CreateUser",
        &[("UserName", "admin-x")],
        403,
        "AccessDenied",
        &format!("User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::{ACCOUNT}:user/admin-x with an explicit deny in an identity-based policy"),
    )
    .await;
    s.err_as(
        bob,
        "ListUsers",
        &[],
        403,
        "AccessDenied",
        &format!("User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: iam:ListUsers on resource: * because no identity-based policy allows the iam:ListUsers action"),
    )
    .await;
    let r = s
        .ok(
            "GetUserPolicy",
            &[("UserName", "bob"), ("PolicyName", "manage-users")],
        )
        .await;
    let res = "GetUserPolicyResponse/GetUserPolicyResult";
    assert_eq!(r.one(&format!("{res}/UserName")), "bob");
    assert_eq!(r.one(&format!("{res}/PolicyName")), "manage-users");
    let encoded = r.one(&format!("{res}/PolicyDocument"));
    assert!(
        encoded.starts_with("%7B%22Version%22"),
        "URL-encoded: {encoded}"
    );
    assert_eq!(url_decode(&encoded), policy);
    let r = s.ok("ListUserPolicies", &[("UserName", "bob")]).await;
    assert_eq!(
        r.all("ListUserPoliciesResponse/ListUserPoliciesResult/PolicyNames/member"),
        ["manage-users"]
    );

    // A deactivated key stops authenticating at once.
    s.ok(
        "UpdateAccessKey",
        &[
            ("UserName", "bob"),
            ("AccessKeyId", &akid),
            ("Status", "Inactive"),
        ],
    )
    .await;
    let r = s
        .call_as(bob, "iam", &form("GetUser", &[("UserName", "bob")]))
        .await;
    assert_error(
        &r,
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        "inactive key",
    );

    // DeleteUser needs the keys and policies gone first.
    s.err(
        "DeleteUser",
        &[("UserName", "bob")],
        409,
        "DeleteConflict",
        "Cannot delete entity, must delete access keys first.",
    )
    .await;
    s.ok(
        "DeleteAccessKey",
        &[("UserName", "bob"), ("AccessKeyId", &akid)],
    )
    .await;
    s.ok(
        "DeleteAccessKey",
        &[("UserName", "bob"), ("AccessKeyId", &akid2)],
    )
    .await;
    s.err(
        "DeleteAccessKey",
        &[("UserName", "bob"), ("AccessKeyId", &akid2)],
        404,
        "NoSuchEntity",
        &format!("The Access Key with id {akid2} cannot be found."),
    )
    .await;
    s.err(
        "DeleteUser",
        &[("UserName", "bob")],
        409,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    )
    .await;
    s.ok(
        "DeleteUserPolicy",
        &[("UserName", "bob"), ("PolicyName", "manage-users")],
    )
    .await;
    s.err(
        "GetUserPolicy",
        &[("UserName", "bob"), ("PolicyName", "manage-users")],
        404,
        "NoSuchEntity",
        "The user policy with name manage-users cannot be found.",
    )
    .await;
    s.ok("DeleteUser", &[("UserName", "bob")]).await;
    s.err(
        "GetUser",
        &[("UserName", "bob")],
        404,
        "NoSuchEntity",
        "The user with name bob cannot be found.",
    )
    .await;
    s.stop().await;
}

#[tokio::test]
async fn roles_and_inline_policies() {
    let s = Server::start().await;
    let r = s
        .ok(
            "CreateRole",
            &[
                ("RoleName", "IoTLoggingRole"),
                ("AssumeRolePolicyDocument", TRUST_IOT),
                ("Description", "logs for IoT"),
                ("MaxSessionDuration", "7200"),
            ],
        )
        .await;
    let role = "CreateRoleResponse/CreateRoleResult/Role";
    assert_eq!(
        r.one(&format!("{role}/Arn")),
        format!("arn:aws:iam::{ACCOUNT}:role/IoTLoggingRole")
    );
    assert!(r.one(&format!("{role}/RoleId")).starts_with("AROA"));
    assert_eq!(r.one(&format!("{role}/Description")), "logs for IoT");
    assert_eq!(r.one(&format!("{role}/MaxSessionDuration")), "7200");
    assert_eq!(
        url_decode(&r.one(&format!("{role}/AssumeRolePolicyDocument"))),
        TRUST_IOT
    );

    s.err(
        "CreateRole",
        &[
            ("RoleName", "iotloggingrole"),
            ("AssumeRolePolicyDocument", TRUST_IOT),
        ],
        409,
        "EntityAlreadyExists",
        "Role with name iotloggingrole already exists.",
    )
    .await;
    s.err(
        "CreateRole",
        &[
            ("RoleName", "Bad"),
            (
                "AssumeRolePolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#,
            ),
        ],
        400,
        "MalformedPolicyDocument",
        "Missing required field Principal",
    )
    .await;
    s.err(
        "CreateRole",
        &[("RoleName", "Sess"), ("AssumeRolePolicyDocument", TRUST_IOT), ("MaxSessionDuration", "60")],
        400,
        "ValidationError",
        "1 validation error detected: Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600",
    )
    .await;

    let perms = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:AWSIotLogsV2:*"}}]}}"#
    );
    s.ok(
        "PutRolePolicy",
        &[
            ("RoleName", "IoTLoggingRole"),
            ("PolicyName", "logs"),
            ("PolicyDocument", &perms),
        ],
    )
    .await;
    s.err(
        "PutRolePolicy",
        &[
            ("RoleName", "IoTLoggingRole"),
            ("PolicyName", "bad"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*"}]}"#,
            ),
        ],
        400,
        "MalformedPolicyDocument",
        "Policy statement must contain resources.",
    )
    .await;
    let r = s
        .ok(
            "GetRolePolicy",
            &[("RoleName", "IoTLoggingRole"), ("PolicyName", "logs")],
        )
        .await;
    let res = "GetRolePolicyResponse/GetRolePolicyResult";
    assert_eq!(r.one(&format!("{res}/RoleName")), "IoTLoggingRole");
    assert_eq!(url_decode(&r.one(&format!("{res}/PolicyDocument"))), perms);
    let r = s
        .ok("ListRolePolicies", &[("RoleName", "IoTLoggingRole")])
        .await;
    assert_eq!(
        r.all("ListRolePoliciesResponse/ListRolePoliciesResult/PolicyNames/member"),
        ["logs"]
    );
    assert_eq!(
        r.one("ListRolePoliciesResponse/ListRolePoliciesResult/IsTruncated"),
        "false"
    );

    // The decision API sees what the wire wrote.
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/IoTLoggingRole");
    let stream = format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:AWSIotLogsV2:log-stream:s1");
    assert!(s.iam.role_allows(&arn, "logs:PutLogEvents", &stream));
    assert!(s.iam.check_pass_role(s.iam.root_arn(), &arn).is_ok());

    // A trust policy for another service makes the role unusable for IoT.
    let trust_lambda = TRUST_IOT.replace("iot.amazonaws.com", "lambda.amazonaws.com");
    s.ok(
        "UpdateAssumeRolePolicy",
        &[
            ("RoleName", "IoTLoggingRole"),
            ("PolicyDocument", &trust_lambda),
        ],
    )
    .await;
    let r = s.ok("GetRole", &[("RoleName", "IoTLoggingRole")]).await;
    assert_eq!(
        url_decode(&r.one("GetRoleResponse/GetRoleResult/Role/AssumeRolePolicyDocument")),
        trust_lambda
    );
    assert!(s.iam.check_pass_role(s.iam.root_arn(), &arn).is_err());

    s.err(
        "DeleteRole",
        &[("RoleName", "IoTLoggingRole")],
        409,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    )
    .await;
    s.ok(
        "DeleteRolePolicy",
        &[("RoleName", "IoTLoggingRole"), ("PolicyName", "logs")],
    )
    .await;
    assert!(!s.iam.role_allows(&arn, "logs:PutLogEvents", &stream));
    s.ok("DeleteRole", &[("RoleName", "IoTLoggingRole")]).await;
    s.err(
        "GetRole",
        &[("RoleName", "IoTLoggingRole")],
        404,
        "NoSuchEntity",
        "The role with name IoTLoggingRole cannot be found.",
    )
    .await;
    let r = s.ok("ListRoles", &[]).await;
    assert!(
        r.all("ListRolesResponse/ListRolesResult/Roles/member/RoleName")
            .is_empty()
    );
    s.stop().await;
}

#[tokio::test]
async fn listing_pages_and_path_prefixes() {
    let s = Server::start().await;
    for (name, path) in [
        ("e", "/"),
        ("a", "/"),
        ("C", "/ops/"),
        ("b", "/ops/"),
        ("d", "/"),
    ] {
        s.ok("CreateUser", &[("UserName", name), ("Path", path)])
            .await;
    }
    let users = "ListUsersResponse/ListUsersResult";
    let r = s.ok("ListUsers", &[("MaxItems", "2")]).await;
    assert_eq!(r.all(&format!("{users}/Users/member/UserName")), ["a", "b"]);
    assert_eq!(r.one(&format!("{users}/IsTruncated")), "true");
    let marker = r.one(&format!("{users}/Marker"));
    let r = s
        .ok("ListUsers", &[("MaxItems", "2"), ("Marker", &marker)])
        .await;
    assert_eq!(r.all(&format!("{users}/Users/member/UserName")), ["C", "d"]);
    let marker = r.one(&format!("{users}/Marker"));
    let r = s
        .ok("ListUsers", &[("MaxItems", "2"), ("Marker", &marker)])
        .await;
    assert_eq!(r.all(&format!("{users}/Users/member/UserName")), ["e"]);
    assert_eq!(r.one(&format!("{users}/IsTruncated")), "false");
    assert!(r.all(&format!("{users}/Marker")).is_empty());

    let r = s.ok("ListUsers", &[("PathPrefix", "/ops/")]).await;
    assert_eq!(r.all(&format!("{users}/Users/member/UserName")), ["b", "C"]);
    assert_eq!(
        r.all(&format!("{users}/Users/member/Arn")),
        [
            format!("arn:aws:iam::{ACCOUNT}:user/ops/b"),
            format!("arn:aws:iam::{ACCOUNT}:user/ops/C")
        ]
    );
    s.err(
        "ListUsers",
        &[("MaxItems", "0")],
        400,
        "ValidationError",
        "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1",
    )
    .await;
    s.stop().await;
}

/// (action, params, status, code, message)
type ErrorRow<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str, &'a str);

#[tokio::test]
async fn validation_and_protocol_errors() {
    let s = Server::start().await;
    let table: &[ErrorRow<'_>] = &[
        (
            "CreateUser",
            &[("UserName", "has space")],
            400,
            "ValidationError",
            r"1 validation error detected: Value 'has space' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+",
        ),
        (
            "CreateUser",
            &[],
            400,
            "ValidationError",
            "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null",
        ),
        (
            "CreateUser",
            &[("UserName", "x"), ("Path", "no-slash")],
            400,
            "ValidationError",
            r"1 validation error detected: Value 'no-slash' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
        ),
        (
            "CreateRole",
            &[("RoleName", "r")],
            400,
            "ValidationError",
            "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
        ),
        (
            "CreateRole",
            &[("RoleName", "r"), ("AssumeRolePolicyDocument", "not json")],
            400,
            "MalformedPolicyDocument",
            "Syntax errors in policy.",
        ),
        (
            "PutUserPolicy",
            &[
                ("UserName", "ghost"),
                ("PolicyName", "p"),
                (
                    "PolicyDocument",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                ),
            ],
            404,
            "NoSuchEntity",
            "The user with name ghost cannot be found.",
        ),
        (
            "UpdateAccessKey",
            &[
                ("UserName", "ghost"),
                ("AccessKeyId", "AKIAAAAAAAAAAAAAAAAA"),
                ("Status", "Expired"),
            ],
            400,
            "ValidationError",
            "1 validation error detected: Value 'Expired' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]",
        ),
        (
            "CreateAccessKey",
            &[],
            400,
            "InvalidInput",
            "The root user's access keys are configured on the server, not managed by IAM; specify UserName.",
        ),
        (
            "AttachUserPolicy",
            &[("UserName", "x")],
            400,
            "InvalidAction",
            "Could not find operation AttachUserPolicy for version 2010-05-08",
        ),
    ];
    for (action, params, status, code, message) in table {
        s.err(action, params, *status, code, message).await;
    }
    let r = s.iam(&[("UserName", "x")]).await;
    assert_error(&r, 400, "InvalidAction", "Missing Action", "no Action");

    // Unknown keys and wrong secrets are refused in the awsQuery format.
    let r = s
        .call_as(
            ("AKIAUNKNOWNUNKNOWN00", ROOT_SECRET),
            "iam",
            &form("ListUsers", &[]),
        )
        .await;
    assert_error(
        &r,
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        "unknown key",
    );
    let r = s
        .call_as((ROOT_AKID, "wrong-secret"), "iam", &form("ListUsers", &[]))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.one("ErrorResponse/Error/Code"), "SignatureDoesNotMatch");

    // Root's own identity.
    let r = s
        .call_as(
            (ROOT_AKID, ROOT_SECRET),
            "sts",
            &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
        )
        .await;
    assert_eq!(
        r.one("GetCallerIdentityResponse/GetCallerIdentityResult/Arn"),
        format!("arn:aws:iam::{ACCOUNT}:root")
    );
    assert_eq!(
        r.one("GetCallerIdentityResponse/GetCallerIdentityResult/UserId"),
        ACCOUNT
    );
    let r = s
        .call_as(
            (ROOT_AKID, ROOT_SECRET),
            "sts",
            &[("Action", "AssumeRole"), ("Version", "2011-06-15")],
        )
        .await;
    assert_error(
        &r,
        400,
        "InvalidAction",
        "Could not find operation AssumeRole for version 2011-06-15",
        "sts AssumeRole",
    );
    s.stop().await;
}
