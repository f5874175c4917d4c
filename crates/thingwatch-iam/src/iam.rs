//! [`Iam`]: the cheap, cloneable handle on the IAM store and the decisions the rest of the
//! server asks for (credentials for SigV4, `authorize`, `check_pass_role`, `role_allows`).
//!
//! **Reads never touch SQLite.** Every write runs under one writer mutex, commits to
//! `iam.sqlite3`, then rebuilds an immutable [`Snapshot`] (entities plus every policy
//! *compiled* by `thingwatch_policy`) and publishes it with `ArcSwap`; readers load the current
//! snapshot without locking. A rebuild re-reads the rows (O(entities + policies)) but reuses
//! the previous snapshot's compiled documents for unchanged texts, so only what the write
//! added or changed is parsed; writes are rare next to the per-request decisions this makes
//! cheap (one hash lookup and one evaluation of pre-compiled documents).
//!
//! **Fail closed:** a stored policy that no longer parses (e.g. after a grammar change) is kept
//! but makes every decision for its owner an implicit deny (logged), never an allow.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use thingwatch_aws::{CredentialProvider, Principal};
use thingwatch_policy::{Decision, PolicyDocument, PolicyError, PolicyKind, Request, evaluate};

use crate::error::{IamError, PassRoleError};
use crate::model::{self, AccessKey, KeyStatus, Role, User};
use crate::store::{Owner, Store};
use crate::validate;

/// The service principal AWS IoT assumes roles as (AWS IoT Developer Guide, *Configure AWS IoT
/// logging*: the logging role trusts `iot.amazonaws.com`).
pub const IOT_SERVICE_PRINCIPAL: &str = "iot.amazonaws.com";

/// Name of the built-in logging role [`Iam::ensure_builtin_logging_role`] creates by default.
/// Deliberately not `IoTLoggingRole` (the name the AWS guide and the README quickstart use for
/// the role users create themselves), so following the guide never collides with it.
pub const BUILTIN_LOGGING_ROLE_NAME: &str = "ThingwatchLoggingRole";
/// Name of the built-in logging role's inline permissions policy.
pub const BUILTIN_LOGGING_POLICY_NAME: &str = "ThingwatchLoggingPolicy";
/// Meta key recording that the built-in role was created (so deleting it is permanent).
const META_BUILTIN_ROLE: &str = "builtin_logging_role";

/// The `AccessDenied` message IAM gives when `principal_arn` may not perform `action` on
/// `resource` (the IAM User Guide's *Troubleshoot access denied error messages* form):
/// "User: ARN is not authorized to perform: ACTION on resource: RESOURCE" followed by
/// " with an explicit deny in an identity-based policy" or " because no identity-based policy
/// allows the ACTION action". `None` for [`Decision::Allow`]. For every service's
/// `AccessDeniedException` / `AccessDenied`, so the text is the same everywhere.
pub fn access_denied_message(
    principal_arn: &str,
    action: &str,
    resource: &str,
    decision: Decision,
) -> Option<String> {
    let head = format!(
        "User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    );
    match decision {
        Decision::Allow => None,
        Decision::ExplicitDeny => Some(format!(
            "{head} with an explicit deny in an identity-based policy"
        )),
        Decision::ImplicitDeny => Some(format!(
            "{head} because no identity-based policy allows the {action} action"
        )),
    }
}

/// The logging role's trust policy, as the AWS IoT guide's "Create a logging role" step
/// gives it (`shared/reference/aws-iot-logging.md` §1.3): service principal
/// `iot.amazonaws.com` may call `sts:AssumeRole`.
pub const BUILTIN_LOGGING_TRUST_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Service": "iot.amazonaws.com"
      },
      "Action": "sts:AssumeRole"
    }
  ]
}"#;

/// The logging role's permissions policy for `region` and `account`, as the AWS IoT guide's
/// current example gives it (aws-iot-logging.md §1.3): `logs:CreateLogGroup`,
/// `logs:CreateLogStream`, `logs:PutLogEvents`, `logs:PutMetricFilter`,
/// `logs:PutRetentionPolicy` and the `iot:*Logging*` actions, on
/// `arn:aws:logs:REGION:ACCOUNT:log-group:AWSIotLogsV2:*`.
pub fn builtin_logging_role_policy(region: &str, account: &str) -> String {
    let log_group = crate::model::log_group_resource_arn(region, account, "AWSIotLogsV2");
    format!(
        r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Effect": "Allow",
      "Action": [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:PutMetricFilter",
        "logs:PutRetentionPolicy",
        "iot:GetLoggingOptions",
        "iot:SetLoggingOptions",
        "iot:SetV2LoggingOptions",
        "iot:GetV2LoggingOptions",
        "iot:SetV2LoggingLevel",
        "iot:ListV2LoggingLevels",
        "iot:DeleteV2LoggingLevel"
      ],
      "Resource": [
        "{log_group}"
      ]
    }}
  ]
}}"#
    )
}

/// What [`Iam::open`] needs besides the directory.
#[derive(Clone)]
pub struct IamSettings {
    /// The 12-digit account id (in every ARN).
    pub account_id: String,
    /// The server region (in the built-in role's log-group ARNs).
    pub region: String,
    /// The root access key id; the root user has full access
    /// (`arn:aws:iam::ACCOUNT:root`).
    pub root_access_key_id: String,
    /// The root secret access key. Never logged.
    pub root_secret_access_key: String,
}

impl std::fmt::Debug for IamSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamSettings")
            .field("account_id", &self.account_id)
            .field("region", &self.region)
            .field("root_access_key_id", &self.root_access_key_id)
            .field("root_secret_access_key", &"<redacted>")
            .finish()
    }
}

/// What CreateRole takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewRole {
    /// `RoleName`.
    pub role_name: String,
    /// `Path` (`None` = `/`).
    pub path: Option<String>,
    /// `AssumeRolePolicyDocument` (trust policy JSON).
    pub assume_role_policy_document: String,
    /// `Description`.
    pub description: Option<String>,
    /// `MaxSessionDuration` in seconds (`None` = 3,600).
    pub max_session_duration_s: Option<u32>,
}

/// An inline policy as GetUserPolicy / GetRolePolicy return it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlinePolicy {
    /// The owning user's or role's name (stored spelling).
    pub owner_name: String,
    /// `PolicyName` (stored spelling).
    pub policy_name: String,
    /// `PolicyDocument` as given (responses URL-encode it).
    pub document: String,
}

struct Inline {
    name: String,
    document: String,
    /// `None` when the stored document no longer parses (fail closed).
    compiled: Option<Arc<PolicyDocument>>,
}

struct UserEntry {
    user: User,
    keys: Vec<AccessKey>,
    policies: BTreeMap<String, Inline>,
}

struct RoleEntry {
    role: Role,
    trust: Option<Arc<PolicyDocument>>,
    policies: BTreeMap<String, Inline>,
}

/// The published, immutable view of the store. Keys of the name maps are ASCII-lower-cased
/// names (IAM names are case-insensitive).
#[derive(Default)]
struct Snapshot {
    /// Incremented by every write (see [`Iam::epoch`]).
    epoch: u64,
    users: BTreeMap<String, UserEntry>,
    roles: BTreeMap<String, RoleEntry>,
    key_owner: HashMap<String, String>,
    user_by_arn: HashMap<String, String>,
    role_by_arn: HashMap<String, String>,
}

fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Compiled documents of the previous snapshot by (kind, JSON text), so a rebuild only parses
/// the documents a write added or changed.
type CompileCache<'a> = HashMap<(PolicyKind, &'a str), Option<Arc<PolicyDocument>>>;

fn compile(
    cache: &CompileCache<'_>,
    kind: PolicyKind,
    owner: &str,
    name: &str,
    doc: &str,
) -> Option<Arc<PolicyDocument>> {
    if let Some(hit) = cache.get(&(kind, doc)) {
        return hit.clone();
    }
    match PolicyDocument::parse(doc, kind) {
        Ok(d) => Some(Arc::new(d)),
        Err(e) => {
            tracing::warn!(owner, policy = name, error = %e, "stored IAM policy no longer parses; denying its owner everything");
            None
        }
    }
}

fn inline_map(
    cache: &CompileCache<'_>,
    rows: Vec<(String, String)>,
    owner: &str,
) -> BTreeMap<String, Inline> {
    rows.into_iter()
        .map(|(name, document)| {
            let compiled = compile(cache, PolicyKind::IamIdentity, owner, &name, &document);
            (
                key(&name),
                Inline {
                    name,
                    document,
                    compiled,
                },
            )
        })
        .collect()
}

impl Snapshot {
    /// The compiled documents of this snapshot, for [`Snapshot::build`]'s next rebuild.
    fn compile_cache(&self) -> CompileCache<'_> {
        let mut cache = HashMap::new();
        for u in self.users.values() {
            for p in u.policies.values() {
                cache.insert(
                    (PolicyKind::IamIdentity, p.document.as_str()),
                    p.compiled.clone(),
                );
            }
        }
        for r in self.roles.values() {
            cache.insert(
                (
                    PolicyKind::IamTrust,
                    r.role.assume_role_policy_document.as_str(),
                ),
                r.trust.clone(),
            );
            for p in r.policies.values() {
                cache.insert(
                    (PolicyKind::IamIdentity, p.document.as_str()),
                    p.compiled.clone(),
                );
            }
        }
        cache
    }

    /// The snapshot of `rows`, reusing `cache`'s compiled documents for unchanged texts.
    fn build(rows: crate::store::Rows, cache: &CompileCache<'_>) -> Self {
        let mut s = Snapshot::default();
        let mut user_policies: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (owner, name, doc) in rows.user_policies {
            user_policies
                .entry(key(&owner))
                .or_default()
                .push((name, doc));
        }
        let mut role_policies: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (owner, name, doc) in rows.role_policies {
            role_policies
                .entry(key(&owner))
                .or_default()
                .push((name, doc));
        }
        let mut keys: HashMap<String, Vec<AccessKey>> = HashMap::new();
        for k in rows.keys {
            s.key_owner
                .insert(k.access_key_id.clone(), key(&k.user_name));
            keys.entry(key(&k.user_name)).or_default().push(k);
        }
        for user in rows.users {
            let k = key(&user.user_name);
            s.user_by_arn.insert(user.arn.clone(), k.clone());
            let policies = inline_map(
                cache,
                user_policies.remove(&k).unwrap_or_default(),
                &user.arn,
            );
            s.users.insert(
                k.clone(),
                UserEntry {
                    keys: keys.remove(&k).unwrap_or_default(),
                    user,
                    policies,
                },
            );
        }
        for role in rows.roles {
            let k = key(&role.role_name);
            s.role_by_arn.insert(role.arn.clone(), k.clone());
            let trust = compile(
                cache,
                PolicyKind::IamTrust,
                &role.arn,
                "AssumeRolePolicyDocument",
                &role.assume_role_policy_document,
            );
            let policies = inline_map(
                cache,
                role_policies.remove(&k).unwrap_or_default(),
                &role.arn,
            );
            s.roles.insert(
                k,
                RoleEntry {
                    role,
                    trust,
                    policies,
                },
            );
        }
        s
    }

    fn user(&self, name: &str) -> Result<&UserEntry, IamError> {
        self.users.get(&key(name)).ok_or_else(|| no_such_user(name))
    }

    fn role(&self, name: &str) -> Result<&RoleEntry, IamError> {
        self.roles.get(&key(name)).ok_or_else(|| no_such_role(name))
    }
}

fn no_such_user(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
}

fn no_such_role(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
}

/// Evaluates `policies` (fail closed when one of them did not compile).
fn evaluate_inline(policies: &BTreeMap<String, Inline>, req: &Request) -> Decision {
    let decision = evaluate(policies.values().filter_map(|p| p.compiled.as_deref()), req);
    if decision == Decision::Allow && policies.values().any(|p| p.compiled.is_none()) {
        Decision::ImplicitDeny
    } else {
        decision
    }
}

/// Maps a policy parse failure to IAM's error: `LimitExceeded` for size, else
/// `MalformedPolicyDocument`.
fn policy_error(e: &PolicyError, kind: PolicyKind) -> IamError {
    match e {
        PolicyError::TooLarge { max, .. } if kind == PolicyKind::IamTrust => {
            IamError::LimitExceeded(format!("Cannot exceed quota for ACLSizePerRole: {max}"))
        }
        PolicyError::TooLarge { max, .. } => {
            IamError::LimitExceeded(format!("Cannot exceed quota for PolicySize: {max}"))
        }
        other => IamError::MalformedPolicyDocument(other.aws_message(kind)),
    }
}

struct Inner {
    settings: IamSettings,
    root_arn: String,
    writer: Mutex<Store>,
    snapshot: ArcSwap<Snapshot>,
}

/// The IAM store and decision point. Cheap to clone (`Arc`), `Send + Sync`.
///
/// Methods are synchronous: writes do SQLite I/O (call them from a blocking context, e.g.
/// `tokio::task::spawn_blocking`); reads and decisions only load the in-memory snapshot and
/// are safe to call on async tasks.
#[derive(Clone)]
pub struct Iam {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iam")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Iam {
    /// Opens (creating) the store `dir/iam.sqlite3` and loads it.
    ///
    /// # Errors
    /// [`IamError::Open`] when the directory or database cannot be created or opened, or has a
    /// schema version this build does not know; [`IamError::Storage`] when it cannot be read.
    pub fn open(dir: &Path, settings: IamSettings) -> Result<Self, IamError> {
        let store = Store::open(dir)?;
        let snapshot = Snapshot::build(store.load()?, &CompileCache::new());
        let root_arn = model::root_arn(&settings.account_id);
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                root_arn,
                writer: Mutex::new(store),
                snapshot: ArcSwap::from_pointee(snapshot),
            }),
        })
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.inner.settings.account_id
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.inner.settings.region
    }

    /// The root user's ARN, `arn:aws:iam::ACCOUNT:root`.
    pub fn root_arn(&self) -> &str {
        &self.inner.root_arn
    }

    /// A counter that changes on every successful IAM write (users, keys, roles, policies) and
    /// never otherwise, starting at 0 when the store is opened. Callers that cache a decision
    /// (e.g. the log pipeline caching [`Iam::role_allows_log_delivery`] for its role) re-check
    /// when it differs from the epoch they cached at.
    pub fn epoch(&self) -> u64 {
        self.inner.snapshot.load().epoch
    }

    /// Runs `f` under the writer lock against the current snapshot, then republishes the
    /// snapshot from the database.
    fn write<T>(
        &self,
        f: impl FnOnce(&Store, &Snapshot) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        let store = self.inner.writer.lock();
        let current = self.inner.snapshot.load_full();
        let out = f(&store, &current)?;
        let mut rebuilt = Snapshot::build(store.load()?, &current.compile_cache());
        rebuilt.epoch = current.epoch + 1;
        self.inner.snapshot.store(Arc::new(rebuilt));
        Ok(out)
    }

    // ---------------------------------------------------------------- users

    /// CreateUser: a user `name` under `path` (default `/`) created at `now_ms`.
    ///
    /// # Errors
    /// `ValidationError` (name/path), `EntityAlreadyExists`, storage failures.
    pub fn create_user(
        &self,
        name: &str,
        path: Option<&str>,
        now_ms: i64,
    ) -> Result<User, IamError> {
        validate::name("userName", name, validate::NAME_MAX_CHARS)?;
        let path = path.unwrap_or("/");
        validate::path(path)?;
        self.write(|store, snap| {
            if snap.users.contains_key(&key(name)) {
                return Err(IamError::EntityAlreadyExists(format!(
                    "User with name {name} already exists."
                )));
            }
            let user = User {
                user_name: name.to_owned(),
                user_id: model::new_user_id()?,
                arn: model::user_arn(self.account_id(), path, name),
                path: path.to_owned(),
                create_date_ms: now_ms,
            };
            store.insert_user(&user)?;
            Ok(user)
        })
    }

    /// GetUser by name.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn get_user(&self, name: &str) -> Result<User, IamError> {
        Ok(self.inner.snapshot.load().user(name)?.user.clone())
    }

    /// The user whose ARN is `arn`, if any.
    pub fn user_by_arn(&self, arn: &str) -> Option<User> {
        let snap = self.inner.snapshot.load();
        let k = snap.user_by_arn.get(arn)?;
        snap.users.get(k).map(|e| e.user.clone())
    }

    /// ListUsers: every user whose path starts with `path_prefix` (default `/`), by name
    /// (case-insensitive order).
    pub fn list_users(&self, path_prefix: Option<&str>) -> Vec<User> {
        let prefix = path_prefix.unwrap_or("/");
        self.inner
            .snapshot
            .load()
            .users
            .values()
            .filter(|e| e.user.path.starts_with(prefix))
            .map(|e| e.user.clone())
            .collect()
    }

    /// DeleteUser. The user must have no access keys and no inline policies.
    ///
    /// # Errors
    /// `NoSuchEntity`, `DeleteConflict`.
    pub fn delete_user(&self, name: &str) -> Result<(), IamError> {
        self.write(|store, snap| {
            let entry = snap.user(name)?;
            if !entry.keys.is_empty() {
                return Err(IamError::DeleteConflict(
                    "Cannot delete entity, must delete access keys first.".to_owned(),
                ));
            }
            if !entry.policies.is_empty() {
                return Err(IamError::DeleteConflict(
                    "Cannot delete entity, must delete policies first.".to_owned(),
                ));
            }
            store.delete_user(&entry.user.user_name)
        })
    }

    // ---------------------------------------------------------------- access keys

    /// CreateAccessKey for user `user_name`: a new Active key; the only time its secret is
    /// returned.
    ///
    /// # Errors
    /// `NoSuchEntity`, `LimitExceeded` beyond [`validate::ACCESS_KEYS_PER_USER`].
    pub fn create_access_key(&self, user_name: &str, now_ms: i64) -> Result<AccessKey, IamError> {
        self.write(|store, snap| {
            let entry = snap.user(user_name)?;
            if entry.keys.len() >= validate::ACCESS_KEYS_PER_USER {
                return Err(IamError::LimitExceeded(format!(
                    "Cannot exceed quota for AccessKeysPerUser: {}",
                    validate::ACCESS_KEYS_PER_USER
                )));
            }
            let k = AccessKey {
                user_name: entry.user.user_name.clone(),
                access_key_id: model::new_access_key_id()?,
                secret_access_key: model::new_secret_access_key()?,
                status: KeyStatus::Active,
                create_date_ms: now_ms,
            };
            store.insert_key(&k)?;
            Ok(k)
        })
    }

    /// ListAccessKeys of `user_name`, oldest first.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn list_access_keys(&self, user_name: &str) -> Result<Vec<AccessKey>, IamError> {
        Ok(self.inner.snapshot.load().user(user_name)?.keys.clone())
    }

    fn user_key<'a>(
        snap: &'a Snapshot,
        user_name: &str,
        key_id: &str,
    ) -> Result<(&'a UserEntry, &'a AccessKey), IamError> {
        let entry = snap.user(user_name)?;
        entry
            .keys
            .iter()
            .find(|k| k.access_key_id == key_id)
            .map(|k| (entry, k))
            .ok_or_else(|| {
                IamError::NoSuchEntity(format!("The Access Key with id {key_id} cannot be found."))
            })
    }

    /// UpdateAccessKey: sets the status of `user_name`'s key `key_id`; an Inactive key stops
    /// authenticating at once.
    ///
    /// # Errors
    /// `NoSuchEntity` (user or key).
    pub fn update_access_key(
        &self,
        user_name: &str,
        key_id: &str,
        status: KeyStatus,
    ) -> Result<(), IamError> {
        self.write(|store, snap| {
            let (_, k) = Self::user_key(snap, user_name, key_id)?;
            store.set_key_status(&k.access_key_id, status)
        })
    }

    /// DeleteAccessKey.
    ///
    /// # Errors
    /// `NoSuchEntity` (user or key).
    pub fn delete_access_key(&self, user_name: &str, key_id: &str) -> Result<(), IamError> {
        self.write(|store, snap| {
            let (_, k) = Self::user_key(snap, user_name, key_id)?;
            store.delete_key(&k.access_key_id)
        })
    }

    // ---------------------------------------------------------------- roles

    /// CreateRole.
    ///
    /// # Errors
    /// `ValidationError`, `MalformedPolicyDocument` (trust policy), `LimitExceeded` (trust
    /// policy size), `EntityAlreadyExists`.
    pub fn create_role(&self, spec: &NewRole, now_ms: i64) -> Result<Role, IamError> {
        validate::name("roleName", &spec.role_name, validate::NAME_MAX_CHARS)?;
        let path = spec.path.as_deref().unwrap_or("/");
        validate::path(path)?;
        validate::policy_document(
            "assumeRolePolicyDocument",
            &spec.assume_role_policy_document,
        )?;
        if let Some(d) = &spec.description {
            validate::description(d)?;
        }
        let max_session = spec
            .max_session_duration_s
            .unwrap_or(validate::DEFAULT_MAX_SESSION_DURATION_S);
        if !validate::MAX_SESSION_DURATION_S.contains(&max_session) {
            validate::max_session_duration(&max_session.to_string())?;
        }
        PolicyDocument::parse(&spec.assume_role_policy_document, PolicyKind::IamTrust)
            .map_err(|e| policy_error(&e, PolicyKind::IamTrust))?;
        let name = spec.role_name.as_str();
        self.write(|store, snap| {
            if snap.roles.contains_key(&key(name)) {
                return Err(IamError::EntityAlreadyExists(format!(
                    "Role with name {name} already exists."
                )));
            }
            let role = Role {
                role_name: name.to_owned(),
                role_id: model::new_role_id()?,
                arn: model::role_arn(self.account_id(), path, name),
                path: path.to_owned(),
                assume_role_policy_document: spec.assume_role_policy_document.clone(),
                description: spec.description.clone(),
                max_session_duration_s: max_session,
                create_date_ms: now_ms,
            };
            store.insert_role(&role)?;
            Ok(role)
        })
    }

    /// GetRole by name.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn get_role(&self, name: &str) -> Result<Role, IamError> {
        Ok(self.inner.snapshot.load().role(name)?.role.clone())
    }

    /// The role whose ARN is `arn`, if any.
    pub fn role_by_arn(&self, arn: &str) -> Option<Role> {
        let snap = self.inner.snapshot.load();
        let k = snap.role_by_arn.get(arn)?;
        snap.roles.get(k).map(|e| e.role.clone())
    }

    /// ListRoles with `path_prefix` (default `/`), by name.
    pub fn list_roles(&self, path_prefix: Option<&str>) -> Vec<Role> {
        let prefix = path_prefix.unwrap_or("/");
        self.inner
            .snapshot
            .load()
            .roles
            .values()
            .filter(|e| e.role.path.starts_with(prefix))
            .map(|e| e.role.clone())
            .collect()
    }

    /// DeleteRole. The role must have no inline policies.
    ///
    /// # Errors
    /// `NoSuchEntity`, `DeleteConflict`.
    pub fn delete_role(&self, name: &str) -> Result<(), IamError> {
        self.write(|store, snap| {
            let entry = snap.role(name)?;
            if !entry.policies.is_empty() {
                return Err(IamError::DeleteConflict(
                    "Cannot delete entity, must delete policies first.".to_owned(),
                ));
            }
            store.delete_role(&entry.role.role_name)
        })
    }

    /// UpdateAssumeRolePolicy: replaces the role's trust policy.
    ///
    /// # Errors
    /// `NoSuchEntity`, `MalformedPolicyDocument`, `LimitExceeded`, `ValidationError`.
    pub fn update_assume_role_policy(
        &self,
        role_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        validate::policy_document("policyDocument", document)?;
        PolicyDocument::parse(document, PolicyKind::IamTrust)
            .map_err(|e| policy_error(&e, PolicyKind::IamTrust))?;
        self.write(|store, snap| {
            let entry = snap.role(role_name)?;
            store.set_trust(&entry.role.role_name, document)
        })
    }

    // ---------------------------------------------------------------- inline policies

    fn put_policy(
        &self,
        owner: Owner,
        owner_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        validate::name("policyName", policy_name, validate::POLICY_NAME_MAX_CHARS)?;
        validate::policy_document("policyDocument", document)?;
        let doc = PolicyDocument::parse(document, PolicyKind::IamIdentity)
            .map_err(|e| policy_error(&e, PolicyKind::IamIdentity))?;
        self.write(|store, snap| {
            let (stored_owner, others, max, what) = match owner {
                Owner::User => {
                    let e = snap.user(owner_name)?;
                    (
                        e.user.user_name.as_str(),
                        &e.policies,
                        thingwatch_policy::limits::IAM_USER_INLINE_AGGREGATE_MAX_CHARS,
                        "user",
                    )
                }
                Owner::Role => {
                    let e = snap.role(owner_name)?;
                    (
                        e.role.role_name.as_str(),
                        &e.policies,
                        thingwatch_policy::limits::IAM_ROLE_INLINE_AGGREGATE_MAX_CHARS,
                        "role",
                    )
                }
            };
            // IAM quota: the aggregate of an entity's inline policies (whitespace excluded).
            let pk = key(policy_name);
            let total: usize = others
                .iter()
                .filter(|(k, _)| **k != pk)
                .map(|(_, p)| thingwatch_policy::limits::policy_size_chars(&p.document))
                .sum::<usize>()
                + doc.size_chars();
            if thingwatch_policy::limits::check_size(total, max).is_err() {
                return Err(IamError::LimitExceeded(format!(
                    "Maximum policy size of {max} bytes exceeded for {what} {stored_owner}"
                )));
            }
            let name = others.get(&pk).map_or(policy_name, |p| p.name.as_str());
            store.put_policy(owner, stored_owner, name, document)
        })
    }

    fn get_policy(
        &self,
        owner: Owner,
        owner_name: &str,
        policy_name: &str,
    ) -> Result<InlinePolicy, IamError> {
        let snap = self.inner.snapshot.load();
        let (stored_owner, policies, what) = match owner {
            Owner::User => {
                let e = snap.user(owner_name)?;
                (&e.user.user_name, &e.policies, "user")
            }
            Owner::Role => {
                let e = snap.role(owner_name)?;
                (&e.role.role_name, &e.policies, "role")
            }
        };
        let p = policies.get(&key(policy_name)).ok_or_else(|| {
            IamError::NoSuchEntity(format!(
                "The {what} policy with name {policy_name} cannot be found."
            ))
        })?;
        Ok(InlinePolicy {
            owner_name: stored_owner.clone(),
            policy_name: p.name.clone(),
            document: p.document.clone(),
        })
    }

    fn list_policies(&self, owner: Owner, owner_name: &str) -> Result<Vec<String>, IamError> {
        let snap = self.inner.snapshot.load();
        let policies = match owner {
            Owner::User => &snap.user(owner_name)?.policies,
            Owner::Role => &snap.role(owner_name)?.policies,
        };
        Ok(policies.values().map(|p| p.name.clone()).collect())
    }

    fn delete_policy(
        &self,
        owner: Owner,
        owner_name: &str,
        policy_name: &str,
    ) -> Result<(), IamError> {
        let found = self.get_policy(owner, owner_name, policy_name)?;
        self.write(|store, _| store.delete_policy(owner, &found.owner_name, &found.policy_name))
    }

    /// PutUserPolicy: adds or replaces inline policy `policy_name` of user `user_name`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `MalformedPolicyDocument`, `LimitExceeded` (the user's inline policies
    /// above 2,048 non-whitespace characters in total), `ValidationError`.
    pub fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.put_policy(Owner::User, user_name, policy_name, document)
    }

    /// GetUserPolicy.
    ///
    /// # Errors
    /// `NoSuchEntity` (user or policy).
    pub fn get_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
    ) -> Result<InlinePolicy, IamError> {
        self.get_policy(Owner::User, user_name, policy_name)
    }

    /// ListUserPolicies: the names, in case-insensitive order.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn list_user_policies(&self, user_name: &str) -> Result<Vec<String>, IamError> {
        self.list_policies(Owner::User, user_name)
    }

    /// DeleteUserPolicy.
    ///
    /// # Errors
    /// `NoSuchEntity` (user or policy).
    pub fn delete_user_policy(&self, user_name: &str, policy_name: &str) -> Result<(), IamError> {
        self.delete_policy(Owner::User, user_name, policy_name)
    }

    /// PutRolePolicy: adds or replaces inline policy `policy_name` of role `role_name`.
    ///
    /// # Errors
    /// `NoSuchEntity`, `MalformedPolicyDocument`, `LimitExceeded` (above 10,240 characters in
    /// total), `ValidationError`.
    pub fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.put_policy(Owner::Role, role_name, policy_name, document)
    }

    /// GetRolePolicy.
    ///
    /// # Errors
    /// `NoSuchEntity` (role or policy).
    pub fn get_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<InlinePolicy, IamError> {
        self.get_policy(Owner::Role, role_name, policy_name)
    }

    /// ListRolePolicies: the names, in case-insensitive order.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn list_role_policies(&self, role_name: &str) -> Result<Vec<String>, IamError> {
        self.list_policies(Owner::Role, role_name)
    }

    /// DeleteRolePolicy.
    ///
    /// # Errors
    /// `NoSuchEntity` (role or policy).
    pub fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), IamError> {
        self.delete_policy(Owner::Role, role_name, policy_name)
    }

    // ---------------------------------------------------------------- decisions

    /// May `principal_arn` perform `action` (e.g. `iot:SetV2LoggingOptions`) on `resource`
    /// (an ARN, or `*` for actions without a resource)?
    ///
    /// The root user is always allowed. An IAM user is judged by its inline identity policies
    /// (IAM User Guide, *Policy evaluation logic*: default deny, an explicit deny wins); the
    /// request context holds `aws:username`, `aws:userid`, `aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `aws:PrincipalType` (`User`) plus `context` (e.g.
    /// `("aws:SourceIp", "10.0.0.1")`, `("iam:PassedToService", "iot.amazonaws.com")`), so
    /// policy variables such as `${aws:username}` resolve. Unknown principals get
    /// [`Decision::ImplicitDeny`].
    pub fn authorize(
        &self,
        principal_arn: &str,
        action: &str,
        resource: &str,
        context: &[(&str, &str)],
    ) -> Decision {
        if principal_arn == self.inner.root_arn {
            return Decision::Allow;
        }
        let snap = self.inner.snapshot.load();
        let Some(entry) = snap
            .user_by_arn
            .get(principal_arn)
            .and_then(|k| snap.users.get(k))
        else {
            return Decision::ImplicitDeny;
        };
        let mut req = Request::new(action, resource)
            .with("aws:username", entry.user.user_name.as_str())
            .with("aws:userid", entry.user.user_id.as_str())
            .with("aws:PrincipalArn", principal_arn)
            .with("aws:PrincipalAccount", self.account_id())
            .with("aws:PrincipalType", "User");
        for (k, v) in context {
            req = req.with(k, *v);
        }
        evaluate_inline(&entry.policies, &req)
    }

    /// [`Iam::check_pass_role_to`] for AWS IoT (`iot.amazonaws.com`): the check
    /// SetV2LoggingOptions / SetLoggingOptions make on `roleArn`.
    ///
    /// # Errors
    /// See [`Iam::check_pass_role_to`].
    pub fn check_pass_role(&self, caller_arn: &str, role_arn: &str) -> Result<Role, PassRoleError> {
        self.check_pass_role_to(caller_arn, role_arn, IOT_SERVICE_PRINCIPAL)
    }

    /// May `caller_arn` pass role `role_arn` to `service` (e.g. `iot.amazonaws.com`)?
    ///
    /// Checks, in order (the caller's permission before the role's existence, so a caller
    /// without `iam:PassRole` learns nothing about which roles exist):
    /// 1. `role_arn` is an IAM role ARN of this account → else [`PassRoleError::InvalidRoleArn`];
    /// 2. the caller may `iam:PassRole` on `role_arn` with `iam:PassedToService` = `service`
    ///    (IAM User Guide, *Granting a user permissions to pass a role to an AWS service*) →
    ///    else [`PassRoleError::NotAuthorized`];
    /// 3. the role exists → else [`PassRoleError::NoSuchRole`];
    /// 4. its trust policy allows `sts:AssumeRole` for service principal `service` → else
    ///    [`PassRoleError::NotTrusted`].
    ///
    /// # Errors
    /// The first failing check.
    pub fn check_pass_role_to(
        &self,
        caller_arn: &str,
        role_arn: &str,
        service: &str,
    ) -> Result<Role, PassRoleError> {
        let prefix = crate::model::role_arn(self.account_id(), "/", "");
        let valid = role_arn
            .strip_prefix(&prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.ends_with('/'));
        if !valid {
            return Err(PassRoleError::InvalidRoleArn {
                role_arn: role_arn.to_owned(),
                account_id: self.account_id().to_owned(),
            });
        }
        let decision = self.authorize(
            caller_arn,
            "iam:PassRole",
            role_arn,
            &[("iam:PassedToService", service)],
        );
        if !decision.is_allowed() {
            return Err(PassRoleError::NotAuthorized {
                caller_arn: caller_arn.to_owned(),
                role_arn: role_arn.to_owned(),
            });
        }
        let snap = self.inner.snapshot.load();
        let Some(entry) = snap
            .role_by_arn
            .get(role_arn)
            .and_then(|k| snap.roles.get(k))
        else {
            return Err(PassRoleError::NoSuchRole {
                role_arn: role_arn.to_owned(),
            });
        };
        let trusted = entry
            .trust
            .as_ref()
            .is_some_and(|t| t.trusts_service(service, "sts:AssumeRole"));
        if !trusted {
            return Err(PassRoleError::NotTrusted {
                role_arn: role_arn.to_owned(),
                service: service.to_owned(),
            });
        }
        Ok(entry.role.clone())
    }

    /// Do the inline policies of role `role_arn` allow `action` on `resource`? For the log
    /// pipeline: e.g. `logs:PutLogEvents` on
    /// [`model::log_stream_resource_arn`]`(region, account, "AWSIotLogsV2", stream)` and
    /// `logs:CreateLogGroup` / `logs:CreateLogStream` on
    /// [`model::log_group_resource_arn`]. `false` when the role does not exist, when no
    /// statement allows, or when one denies.
    pub fn role_allows(&self, role_arn: &str, action: &str, resource: &str) -> bool {
        let snap = self.inner.snapshot.load();
        let Some(entry) = snap
            .role_by_arn
            .get(role_arn)
            .and_then(|k| snap.roles.get(k))
        else {
            return false;
        };
        let req = Request::new(action, resource)
            .with("aws:PrincipalArn", role_arn)
            .with("aws:PrincipalAccount", self.account_id())
            .with("aws:PrincipalType", "AssumedRole");
        evaluate_inline(&entry.policies, &req).is_allowed()
    }

    /// Whether role `role_arn` may deliver AWS IoT logs to log group `group`: it allows
    /// `logs:CreateLogGroup` and `logs:CreateLogStream` on the group and `logs:PutLogEvents`
    /// on its streams (AWS IoT Developer Guide, *Configure AWS IoT logging*; the seeds' role
    /// policy).
    pub fn role_allows_log_delivery(&self, role_arn: &str, group: &str) -> bool {
        let (region, account) = (self.region(), self.account_id());
        let group_arn = model::log_group_resource_arn(region, account, group);
        let stream_arn = model::log_stream_resource_arn(region, account, group, "*");
        self.role_allows(role_arn, "logs:CreateLogGroup", &group_arn)
            && self.role_allows(role_arn, "logs:CreateLogStream", &group_arn)
            && self.role_allows(role_arn, "logs:PutLogEvents", &stream_arn)
    }

    /// On a store where it was never created: creates role `name` (path `/`) with
    /// [`BUILTIN_LOGGING_TRUST_POLICY`] and inline policy [`BUILTIN_LOGGING_POLICY_NAME`] =
    /// [`builtin_logging_role_policy`], and records that it did. Afterwards returns the role
    /// if it still exists: a user who deletes the built-in role keeps it deleted. If a role
    /// of that name already exists on first call, it is adopted unchanged.
    ///
    /// # Errors
    /// `ValidationError` for a bad name, storage failures.
    pub fn ensure_builtin_logging_role(
        &self,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<Role>, IamError> {
        validate::name("roleName", name, validate::NAME_MAX_CHARS)?;
        let recorded = self.inner.writer.lock().meta(META_BUILTIN_ROLE)?;
        if let Some(recorded) = recorded {
            return Ok(self.get_role(&recorded).ok());
        }
        let role = match self.get_role(name) {
            Ok(r) => r,
            Err(IamError::NoSuchEntity(_)) => {
                let role = self.create_role(
                    &NewRole {
                        role_name: name.to_owned(),
                        path: None,
                        assume_role_policy_document: BUILTIN_LOGGING_TRUST_POLICY.to_owned(),
                        description: Some("Thingwatch built-in AWS IoT logging role".to_owned()),
                        max_session_duration_s: None,
                    },
                    now_ms,
                )?;
                self.put_role_policy(
                    name,
                    BUILTIN_LOGGING_POLICY_NAME,
                    &builtin_logging_role_policy(self.region(), self.account_id()),
                )?;
                role
            }
            Err(e) => return Err(e),
        };
        self.inner
            .writer
            .lock()
            .set_meta(META_BUILTIN_ROLE, &role.role_name)?;
        Ok(Some(role))
    }
}

impl CredentialProvider for Iam {
    /// The root key → root principal; an **Active** user key → that user (ARN, name).
    /// Inactive and unknown keys → `None` (`UnrecognizedClientException` /
    /// `InvalidClientTokenId`).
    fn lookup(&self, access_key_id: &str) -> Option<Principal> {
        let s = &self.inner.settings;
        if access_key_id == s.root_access_key_id {
            return Some(Principal {
                access_key_id: s.root_access_key_id.clone(),
                secret_access_key: s.root_secret_access_key.clone(),
                session_token: None,
                account_id: s.account_id.clone(),
                arn: self.inner.root_arn.clone(),
                user_name: "root".to_owned(),
            });
        }
        let snap = self.inner.snapshot.load();
        let entry = snap.users.get(snap.key_owner.get(access_key_id)?)?;
        let k = entry
            .keys
            .iter()
            .find(|k| k.access_key_id == access_key_id && k.status == KeyStatus::Active)?;
        Some(Principal {
            access_key_id: k.access_key_id.clone(),
            secret_access_key: k.secret_access_key.clone(),
            session_token: None,
            account_id: s.account_id.clone(),
            arn: entry.user.arn.clone(),
            user_name: entry.user.user_name.clone(),
        })
    }
}
