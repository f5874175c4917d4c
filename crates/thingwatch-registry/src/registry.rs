//! [`Registry`]: the handle the `iot` API service and the server call — opening the database,
//! the shared state, ARNs, the logging role check, and the logging-configuration operations
//! (`SetV2LoggingOptions`, `SetV2LoggingLevel`, `ListV2LoggingLevels`, `DeleteV2LoggingLevel`,
//! `SetLoggingOptions`). Things live in `things.rs`, thing groups in `groups.rs`, IoT
//! policies in `policies.rs`, thing principals and the authorization read side in
//! `principals.rs`.

use crate::error::RegistryError;
use crate::membership::MembershipIndex;
use crate::security::SecurityIndex;
use crate::store;
use crate::token;
use crate::types::{Page, RegistrySettings};
use parking_lot::{Mutex, RwLock};
use rusqlite::Connection;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use thingwatch_aws::IotKind;
use thingwatch_events::{
    LegacyOptions, LevelSetting, LogTarget, LogTargetConfiguration, LogTargetType, Logger,
    LoggingConfig, LoggingOptions, is_valid_source_ip_target,
};

pub(crate) struct Inner {
    /// The single connection; its lock also serialises every change with the index update
    /// and the logger notification that follow it.
    pub(crate) conn: Mutex<Connection>,
    pub(crate) settings: RegistrySettings,
    pub(crate) logger: Logger,
    pub(crate) index: Arc<MembershipIndex>,
    /// The committed logging configuration (what the logger was last given).
    pub(crate) logging: RwLock<LoggingConfig>,
    /// Policies, attachments and thing principals in memory, and the security epoch.
    pub(crate) security: SecurityIndex,
    /// Called after each committed change of a thing's group memberships
    /// ([`Registry::on_membership_change`]).
    pub(crate) membership_listeners: RwLock<Vec<MembershipListener>>,
}

/// A callback told the name of a thing whose group memberships changed.
pub type MembershipListener = Arc<dyn Fn(&str) + Send + Sync>;

/// The system clock in epoch milliseconds (for changes whose operation takes no `now_ms`).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The thing registry and the account's logging configuration, persisted in SQLite.
///
/// `Clone + Send + Sync` (an `Arc` inside). Every method is synchronous and may block on the
/// database; async callers use `tokio::task::spawn_blocking`. Every change is committed (WAL)
/// before the method returns `Ok`, then pushed to the [`Logger`]: configuration changes via
/// `Logger::set_config`, membership and hierarchy changes via `Logger::invalidate`.
#[derive(Clone)]
pub struct Registry {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("settings", &self.inner.settings)
            .finish()
    }
}

const NOT_CONFIGURED: &str = "V2 logging is not configured. Call SetV2LoggingOptions first.";

impl Registry {
    /// Opens (creates) the SQLite database `dir/registry.db`; on a fresh database stores
    /// `initial_logging`. Installs the registry's membership index as the logger's group
    /// membership (`Logger::set_group_membership`) and pushes the stored logging configuration
    /// into the logger (`Logger::set_config`).
    ///
    /// Errors: `Storage` when the directory or database cannot be opened, or the database has
    /// a schema version this build does not know.
    pub fn open(
        dir: &Path,
        settings: RegistrySettings,
        logger: Logger,
        initial_logging: LoggingConfig,
    ) -> Result<Registry, RegistryError> {
        let conn = store::open(dir, &initial_logging)?;
        let logging = store::load_logging(&conn)?;
        let (groups, members) = store::load_index_rows(&conn)?;
        let index = Arc::new(MembershipIndex::build(groups, members));
        let security = SecurityIndex::build(store::load_security_rows(&conn)?);
        logger.set_config(logging.clone());
        logger.set_group_membership(index.clone());
        Ok(Registry {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                settings,
                logger,
                index,
                logging: RwLock::new(logging),
                security,
                membership_listeners: RwLock::new(Vec::new()),
            }),
        })
    }

    /// Registers `listener`, called (after the commit, outside the registry's lock) with the
    /// name of every thing whose direct group memberships changed: AddThingToThingGroup,
    /// RemoveThingFromThingGroup, DeleteThingGroup. Continuous jobs follow their target
    /// groups this way.
    pub fn on_membership_change(&self, listener: MembershipListener) {
        self.inner.membership_listeners.write().push(listener);
    }

    pub(crate) fn membership_changed(&self, things: &[&str]) {
        let listeners = self.inner.membership_listeners.read().clone();
        for thing in things {
            for l in &listeners {
                l(thing);
            }
        }
    }

    /// The settings the registry was opened with.
    pub fn settings(&self) -> &RegistrySettings {
        &self.inner.settings
    }

    /// The membership index the logger reads (also usable directly with
    /// `ResolvedConfig::levels_for`).
    pub fn group_membership(&self) -> Arc<MembershipIndex> {
        self.inner.index.clone()
    }

    /// `arn:aws:iot:REGION:ACCOUNT:thing/NAME`.
    pub fn thing_arn(&self, name: &str) -> String {
        let s = &self.inner.settings;
        IotKind::Thing.arn(&s.region, &s.account_id, name)
    }

    /// `arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME`.
    pub fn thing_group_arn(&self, name: &str) -> String {
        let s = &self.inner.settings;
        IotKind::ThingGroup.arn(&s.region, &s.account_id, name)
    }

    // ---- logging configuration

    /// The committed logging configuration (V2 options, targets sorted by (type, name),
    /// legacy options).
    pub fn logging_config(&self) -> LoggingConfig {
        self.inner.logging.read().clone()
    }

    /// Applies `change` to a copy of the configuration; when it reports a change, commits the
    /// result, then hands it to the logger.
    fn update_logging(
        &self,
        change: impl FnOnce(&mut LoggingConfig) -> Result<bool, RegistryError>,
    ) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let mut cfg = self.inner.logging.read().clone();
        if !change(&mut cfg)? {
            return Ok(());
        }
        cfg.targets.sort_by(|a, b| a.target.cmp(&b.target));
        let tx = conn.transaction()?;
        store::save_logging(&tx, &cfg)?;
        tx.commit()?;
        *self.inner.logging.write() = cfg.clone();
        self.inner.logger.set_config(cfg);
        Ok(())
    }

    /// SetV2LoggingOptions: replaces the V2 options (`roleArn`, `defaultLogLevel`,
    /// `disableAllLogs`, `eventConfigurations`) with `options` as given; log targets and the
    /// legacy options are kept. The API layer fills fields the request left out: AWS
    /// documents `disableAllLogs` as "default is false" and an absent `eventConfigurations`
    /// as "no event-level overrides"; a missing `defaultLogLevel` is the API layer's choice.
    ///
    /// Errors: `InvalidRequest` when `roleArn` is not an IAM role ARN of this account (see
    /// [`check_logging_role`]) or an `eventType` appears twice.
    pub fn set_v2_logging_options(&self, options: LoggingOptions) -> Result<(), RegistryError> {
        if let Some(role) = &options.role_arn {
            check_logging_role(role, &self.inner.settings.account_id)?;
        }
        let mut seen = HashSet::new();
        for e in &options.event_configurations {
            if !seen.insert(e.event_type.as_str()) {
                return Err(RegistryError::InvalidRequest(format!(
                    "eventType {} appears more than once in eventConfigurations.",
                    e.event_type
                )));
            }
        }
        self.update_logging(|cfg| {
            cfg.v2 = Some(options);
            Ok(true)
        })
    }

    /// SetV2LoggingLevel: sets the level of one log target (upsert). `DEFAULT` sets
    /// `defaultLogLevel` of the V2 options (its name is ignored). Whether the named resource
    /// exists is not checked (a THING_GROUP target may name a group created later); AWS does
    /// not document such a check.
    ///
    /// Errors: `NotConfigured` when V2 logging was never configured (API Reference
    /// `SetV2LoggingLevel` lists `NotConfiguredException`; the Developer Guide requires
    /// account-level logging before resource-specific levels); `InvalidRequest` when a
    /// non-DEFAULT target has no name, or a SOURCE_IP name is not an IP address or CIDR block;
    /// `LimitExceeded` (HTTP 410) when a NEW target would exceed `max_log_targets`.
    pub fn set_v2_logging_level(
        &self,
        target: LogTarget,
        level: LevelSetting,
    ) -> Result<(), RegistryError> {
        let max = self.inner.settings.max_log_targets;
        self.update_logging(|cfg| {
            let Some(v2) = cfg.v2.as_mut() else {
                return Err(RegistryError::NotConfigured(NOT_CONFIGURED.to_string()));
            };
            let target_type = target.target_type;
            if target_type == LogTargetType::Default {
                v2.default_log_level = level;
                return Ok(true);
            }
            let name = match target.target_name {
                Some(n) if !n.is_empty() => n,
                _ => {
                    return Err(RegistryError::InvalidRequest(format!(
                        "targetName is required for targetType {target_type}."
                    )));
                }
            };
            if target_type == LogTargetType::SourceIp && !is_valid_source_ip_target(&name) {
                return Err(RegistryError::InvalidRequest(format!(
                    "targetName {name} is not a valid IP address or CIDR block."
                )));
            }
            if let Some(existing) = cfg.targets.iter_mut().find(|t| {
                t.target.target_type == target_type
                    && t.target.target_name.as_deref() == Some(&name)
            }) {
                existing.level = level;
                return Ok(true);
            }
            if cfg.targets.len() >= max {
                return Err(RegistryError::LimitExceeded(format!(
                    "The number of log targets cannot exceed {max}."
                )));
            }
            cfg.targets.push(LogTargetConfiguration {
                target: LogTarget {
                    target_type,
                    target_name: Some(name),
                },
                level,
            });
            Ok(true)
        })
    }

    /// DeleteV2LoggingLevel: removes one log target. Removing a target that does not exist
    /// succeeds (the operation models no `ResourceNotFoundException` nor
    /// `NotConfiguredException`; API Reference `DeleteV2LoggingLevel`).
    ///
    /// Errors: `InvalidRequest` for `DEFAULT` (the default level is part of the V2 options;
    /// change it with `SetV2LoggingOptions` or `SetV2LoggingLevel`).
    pub fn delete_v2_logging_level(
        &self,
        target_type: LogTargetType,
        target_name: &str,
    ) -> Result<(), RegistryError> {
        if target_type == LogTargetType::Default {
            return Err(RegistryError::InvalidRequest(
                "The DEFAULT log level cannot be deleted; set it with SetV2LoggingOptions."
                    .to_string(),
            ));
        }
        self.update_logging(|cfg| {
            let before = cfg.targets.len();
            cfg.targets.retain(|t| {
                !(t.target.target_type == target_type
                    && t.target.target_name.as_deref() == Some(target_name))
            });
            Ok(cfg.targets.len() != before)
        })
    }

    /// ListV2LoggingLevels: the DEFAULT entry (`defaultLogLevel`) first, then the targets
    /// sorted by (type in AWS enum order, name), optionally only those of `target_type`.
    ///
    /// Errors: `NotConfigured` when V2 logging was never configured (the AWS CLI reference
    /// example shows `NotConfiguredException` here); `InvalidRequest` for `max_results`
    /// outside 1..=250 or a malformed `next_token`.
    pub fn list_v2_logging_levels(
        &self,
        target_type: Option<LogTargetType>,
        next_token: Option<&str>,
        max_results: usize,
    ) -> Result<Page<LogTargetConfiguration>, RegistryError> {
        const TAG: &str = "v2LoggingLevels";
        token::check_max_results(max_results)?;
        let after = token::decode(TAG, next_token)?
            .map(|k| parse_target_key(&k))
            .transpose()
            .map_err(|()| {
                RegistryError::InvalidRequest(format!(
                    "The nextToken {} is not valid.",
                    next_token.unwrap_or_default()
                ))
            })?;
        let cfg = self.inner.logging.read();
        let Some(v2) = &cfg.v2 else {
            return Err(RegistryError::NotConfigured(NOT_CONFIGURED.to_string()));
        };
        let default_entry = LogTargetConfiguration {
            target: LogTarget {
                target_type: LogTargetType::Default,
                target_name: None,
            },
            level: v2.default_log_level,
        };
        let rows: Vec<LogTargetConfiguration> = std::iter::once(default_entry)
            .chain(cfg.targets.iter().cloned())
            .filter(|t| target_type.is_none_or(|ty| t.target.target_type == ty))
            .filter(|t| after.as_ref().is_none_or(|a| t.target > *a))
            .take(max_results + 1)
            .collect();
        Ok(token::page(TAG, rows, max_results, |t| {
            target_key(&t.target)
        }))
    }

    /// SetLoggingOptions (legacy V1): stores `roleArn` and `logLevel`. They take effect only
    /// while V2 logging is not configured (Developer Guide *Configure AWS IoT logging*).
    ///
    /// Errors: `InvalidRequest` when `roleArn` is not an IAM role ARN of this account.
    pub fn set_legacy_logging_options(&self, options: LegacyOptions) -> Result<(), RegistryError> {
        check_logging_role(&options.role_arn, &self.inner.settings.account_id)?;
        self.update_logging(|cfg| {
            cfg.legacy = Some(options);
            Ok(true)
        })
    }

    /// GetLoggingOptions (legacy V1): the stored options, `None` when never set.
    pub fn legacy_logging_options(&self) -> Option<LegacyOptions> {
        self.inner.logging.read().legacy.clone()
    }
}

fn target_key(t: &LogTarget) -> String {
    format!(
        "{}\n{}",
        t.target_type.as_str(),
        t.target_name.as_deref().unwrap_or_default()
    )
}

fn parse_target_key(key: &str) -> Result<LogTarget, ()> {
    let (ty, name) = key.split_once('\n').ok_or(())?;
    let target_type: LogTargetType = ty.parse().map_err(|_| ())?;
    Ok(LogTarget {
        target_type,
        target_name: (target_type != LogTargetType::Default).then(|| name.to_string()),
    })
}

/// The one place the logging role is checked: `role_arn` must be an IAM role ARN of
/// `account_id`, `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` with partition `aws`, `aws-cn`
/// or `aws-us-gov`, and a role name of 1–64 characters from `[A-Za-z0-9+=,.@_-]` (IAM User
/// Guide *IAM identifiers* and *IAM and AWS STS quotas*). Trust and permission checks come
/// with the identity work.
///
/// Errors: `InvalidRequest` naming what is wrong.
pub fn check_logging_role(role_arn: &str, account_id: &str) -> Result<(), RegistryError> {
    let invalid = |why: &str| {
        RegistryError::InvalidRequest(format!("roleArn {role_arn} is not valid: {why}."))
    };
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(invalid("expected arn:aws:iam::ACCOUNT:role/NAME"));
    };
    if *arn != "arn" || !matches!(*partition, "aws" | "aws-cn" | "aws-us-gov") {
        return Err(invalid("expected arn:aws:iam::ACCOUNT:role/NAME"));
    }
    if *service != "iam" || !region.is_empty() {
        return Err(invalid("not an IAM ARN"));
    }
    if *account != account_id {
        return Err(invalid(&format!(
            "the role must belong to account {account_id}"
        )));
    }
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err(invalid("not an IAM role"));
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let name_ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    let path_ok =
        path_and_name.len() <= 512 + 64 && path_and_name.chars().all(|c| c.is_ascii_graphic());
    if !name_ok || !path_ok {
        return Err(invalid("bad role name"));
    }
    Ok(())
}
