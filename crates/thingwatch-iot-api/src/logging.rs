//! The AWS IoT logging configuration operations: SetV2LoggingOptions, GetV2LoggingOptions,
//! SetV2LoggingLevel, ListV2LoggingLevels, DeleteV2LoggingLevel (fine-grained V2 logging) and
//! the legacy SetLoggingOptions / GetLoggingOptions.
//!
//! Shapes: aws-wire.md §2 and Appendix A. Choices where AWS is silent:
//! * SetV2LoggingOptions replaces the V2 options. Members left out take AWS's documented
//!   defaults where AWS documents one — `disableAllLogs` "default is false", no
//!   `eventConfigurations` = no event-level overrides — and otherwise keep their stored value:
//!   `roleArn` and `defaultLogLevel` (so `--disable-all-logs` alone does not drop the role);
//!   a first call without `defaultLogLevel` stores `DISABLED`.
//! * GetV2LoggingOptions `?verbose=true` lists one `eventConfigurations` entry per event type
//!   Thingwatch emits ([`EventType::ALL`]), each with the level that applies to it at
//!   account level (its own `logLevel`, else `defaultLogLevel`) and its destination log group
//!   (its own `logDestination`, else `AWSIotLogsV2`). Without `verbose` only the configured
//!   entries are listed, as stored.
//! * SetLoggingOptions likewise keeps the stored `logLevel` when the payload leaves it out
//!   (`DISABLED` on a first call); GetLoggingOptions answers `{}` when V1 was never set.

use serde::{Deserialize, Serialize};
use thingwatch_events::{
    DEFAULT_LOG_GROUP, EventConfiguration, EventType, LegacyOptions, LevelSetting, LogTarget,
    LogTargetConfiguration, LogTargetType, LoggingOptions, is_valid_source_ip_target,
};

use super::validate::{IotNames, MAX_EVENT_FIELD_LEN, Pattern, Validation};
use super::{Empty, Input, IotService, blocking, max_results};
use thingwatch_http::error::{ApiError, ErrorCode};

/// `LogLevel` enum values, in the model's order.
pub const LOG_LEVELS: &[&str] = &["DEBUG", "INFO", "ERROR", "WARN", "DISABLED"];
/// `LogTargetType` enum values, in the model's order.
pub const LOG_TARGET_TYPES: &[&str] = &[
    "DEFAULT",
    "THING_GROUP",
    "CLIENT_ID",
    "SOURCE_IP",
    "PRINCIPAL_ID",
];
/// Maximum length of a CLIENT_ID / PRINCIPAL_ID / SOURCE_IP target name (the model leaves
/// `LogTargetName` unconstrained; CloudFormation's `ResourceSpecificLogging` says 1..=128, and
/// AWS IoT client IDs are at most 128 bytes).
pub const MAX_TARGET_NAME_LEN: usize = 128;

/// The 500 code the logging operations model.
const INTERNAL: ErrorCode = ErrorCode::Internal;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventConfigurationWire {
    event_type: Option<String>,
    log_level: Option<String>,
    log_destination: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetV2LoggingOptionsInput {
    role_arn: Option<String>,
    default_log_level: Option<String>,
    disable_all_logs: Option<bool>,
    event_configurations: Option<Vec<EventConfigurationWire>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventConfigurationOut {
    event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_destination: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetV2LoggingOptionsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    role_arn: Option<String>,
    default_log_level: &'static str,
    disable_all_logs: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    event_configurations: Vec<EventConfigurationOut>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogTargetWire {
    target_type: Option<String>,
    target_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetV2LoggingLevelInput {
    log_target: Option<LogTargetWire>,
    log_level: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogTargetOut {
    target_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogTargetConfigurationOut {
    log_target: LogTargetOut,
    log_level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListV2LoggingLevelsOutput {
    log_target_configurations: Vec<LogTargetConfigurationOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoggingOptionsPayload {
    role_arn: Option<String>,
    log_level: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetLoggingOptionsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_level: Option<&'static str>,
}

/// Parses a validated `LogLevel` (call after [`Validation::one_of`] with [`LOG_LEVELS`]).
fn level(s: &str) -> LevelSetting {
    s.parse().unwrap_or_default()
}

/// Parses a validated `LogTargetType`.
fn target_type(s: &str) -> Option<LogTargetType> {
    s.parse().ok()
}

/// Validates a target name for `target_type` (not DEFAULT).
fn check_target_name(v: &mut Validation, field: &str, t: LogTargetType, name: &str) {
    match t {
        LogTargetType::Default => {}
        LogTargetType::ThingGroup => v.name(field, Some(name)),
        LogTargetType::SourceIp => {
            v.string(field, Some(name), 1, MAX_TARGET_NAME_LEN, None);
            if !name.is_empty() && !is_valid_source_ip_target(name) {
                v.fail(format!(
                    "Invalid SOURCE_IP target name '{name}': expected an IPv4 or IPv6 address or CIDR block."
                ));
            }
        }
        LogTargetType::ClientId | LogTargetType::PrincipalId => {
            v.string(field, Some(name), 1, MAX_TARGET_NAME_LEN, None);
        }
    }
}

fn target_out(t: &LogTarget) -> LogTargetOut {
    LogTargetOut {
        target_type: t.target_type.as_str(),
        target_name: t.target_name.clone(),
    }
}

impl IotService {
    /// SetV2LoggingOptions (`POST /v2LoggingOptions`).
    pub(crate) async fn op_set_v2_logging_options(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let body: SetV2LoggingOptionsInput = input.body()?;
        let mut v = Validation::new();
        v.one_of(
            "defaultLogLevel",
            body.default_log_level.as_deref(),
            LOG_LEVELS,
        );
        let mut events: Option<Vec<EventConfiguration>> = None;
        if let Some(list) = &body.event_configurations {
            let mut out = Vec::with_capacity(list.len());
            for (i, ec) in list.iter().enumerate() {
                let field = |m: &str| format!("eventConfigurations.{}.member.{m}", i + 1);
                let et = v.required(&field("eventType"), ec.event_type.as_deref());
                v.string(&field("eventType"), et, 1, MAX_EVENT_FIELD_LEN, None);
                v.one_of(&field("logLevel"), ec.log_level.as_deref(), LOG_LEVELS);
                v.string(
                    &field("logDestination"),
                    ec.log_destination.as_deref(),
                    1,
                    MAX_EVENT_FIELD_LEN,
                    Some(Pattern::LogDestination),
                );
                let Some(et) = et else { continue };
                match EventType::from_name(et) {
                    None if !et.is_empty() => v.fail(format!(
                        "Unsupported eventType '{et}'. Supported event types: {}.",
                        EventType::ALL.map(EventType::as_str).join(", ")
                    )),
                    None => {}
                    Some(known) => {
                        if out
                            .iter()
                            .any(|c: &EventConfiguration| c.event_type == known.as_str())
                        {
                            v.fail(format!(
                                "Duplicate eventType '{et}' in eventConfigurations."
                            ));
                        }
                        out.push(EventConfiguration {
                            event_type: known.as_str().to_owned(),
                            log_level: ec.log_level.as_deref().map(level),
                            log_destination: ec.log_destination.clone(),
                        });
                    }
                }
            }
            events = Some(out);
        }
        v.finish()?;
        if let Some(role) = body.role_arn.as_deref() {
            self.check_role(&input.ctx.auth.principal.arn, role)?;
        }

        let _guard = self.inner.logging_writes.lock().await;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            let current = registry.logging_config().v2.unwrap_or_default();
            let options = LoggingOptions {
                role_arn: body.role_arn.or(current.role_arn),
                default_log_level: body
                    .default_log_level
                    .as_deref()
                    .map_or(current.default_log_level, level),
                disable_all_logs: body.disable_all_logs.unwrap_or(false),
                event_configurations: events.unwrap_or_default(),
            };
            registry.set_v2_logging_options(options)
        })
        .await?;
        Ok(Empty {})
    }

    /// GetV2LoggingOptions (`GET /v2LoggingOptions[?verbose=true]`).
    pub(crate) async fn op_get_v2_logging_options(
        &self,
        input: &Input<'_>,
    ) -> Result<GetV2LoggingOptionsOutput, ApiError> {
        let verbose = input.query.bool("verbose")?.unwrap_or(false);
        let registry = self.registry();
        let config = blocking(INTERNAL, move || Ok(registry.logging_config())).await?;
        let Some(options) = config.v2 else {
            return Err(ApiError::new(
                ErrorCode::NotConfigured,
                "V2 logging options have not been configured for this account.",
            ));
        };
        let event_configurations = if verbose {
            EventType::ALL
                .iter()
                .map(|et| {
                    let own = options
                        .event_configurations
                        .iter()
                        .find(|c| c.event_type == et.as_str());
                    EventConfigurationOut {
                        event_type: et.as_str().to_owned(),
                        log_level: Some(
                            own.and_then(|c| c.log_level)
                                .unwrap_or(options.default_log_level)
                                .as_str(),
                        ),
                        log_destination: Some(
                            own.and_then(|c| c.log_destination.clone())
                                .unwrap_or_else(|| DEFAULT_LOG_GROUP.to_owned()),
                        ),
                    }
                })
                .collect()
        } else {
            options
                .event_configurations
                .iter()
                .map(|c| EventConfigurationOut {
                    event_type: c.event_type.clone(),
                    log_level: c.log_level.map(LevelSetting::as_str),
                    log_destination: c.log_destination.clone(),
                })
                .collect()
        };
        Ok(GetV2LoggingOptionsOutput {
            role_arn: options.role_arn,
            default_log_level: options.default_log_level.as_str(),
            disable_all_logs: options.disable_all_logs,
            event_configurations,
        })
    }

    /// SetV2LoggingLevel (`POST /v2LoggingLevel`).
    pub(crate) async fn op_set_v2_logging_level(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let body: SetV2LoggingLevelInput = input.body()?;
        let mut v = Validation::new();
        let target = v.required("logTarget", body.log_target.as_ref());
        let type_str =
            target.and_then(|t| v.required("logTarget.targetType", t.target_type.as_deref()));
        v.one_of("logTarget.targetType", type_str, LOG_TARGET_TYPES);
        let level_str = v.required("logLevel", body.log_level.as_deref());
        v.one_of("logLevel", level_str, LOG_LEVELS);
        let tt = type_str.and_then(target_type);
        let name = target.and_then(|t| t.target_name.clone());
        if let Some(tt) = tt
            && tt != LogTargetType::Default
        {
            match &name {
                None => v.fail(format!(
                    "targetName is required for log target type {}.",
                    tt.as_str()
                )),
                Some(n) => check_target_name(&mut v, "logTarget.targetName", tt, n),
            }
        }
        v.finish()?;
        let (Some(tt), Some(level_str)) = (tt, level_str) else {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "Invalid log target.",
            ));
        };
        let target = LogTarget {
            target_type: tt,
            target_name: if tt == LogTargetType::Default {
                None
            } else {
                name
            },
        };
        let lvl = level(level_str);
        let registry = self.registry();
        blocking(INTERNAL, move || registry.set_v2_logging_level(target, lvl)).await?;
        Ok(Empty {})
    }

    /// ListV2LoggingLevels (`GET /v2LoggingLevel?targetType=&nextToken=&maxResults=`).
    pub(crate) async fn op_list_v2_logging_levels(
        &self,
        input: &Input<'_>,
    ) -> Result<ListV2LoggingLevelsOutput, ApiError> {
        let q = &input.query;
        let mut v = Validation::new();
        let type_str = q.get("targetType");
        v.one_of("targetType", type_str, LOG_TARGET_TYPES);
        let max = max_results(&mut v, q.int("maxResults")?);
        v.finish()?;
        let tt = type_str.and_then(target_type);
        let next = q.get("nextToken").map(str::to_owned);
        let registry = self.registry();
        let page = blocking(INTERNAL, move || {
            registry.list_v2_logging_levels(tt, next.as_deref(), max)
        })
        .await?;
        Ok(ListV2LoggingLevelsOutput {
            log_target_configurations: page
                .items
                .iter()
                .map(|c: &LogTargetConfiguration| LogTargetConfigurationOut {
                    log_target: target_out(&c.target),
                    log_level: c.level.as_str(),
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    /// DeleteV2LoggingLevel (`DELETE /v2LoggingLevel?targetType=&targetName=`, both required).
    pub(crate) async fn op_delete_v2_logging_level(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let q = &input.query;
        let mut v = Validation::new();
        let type_str = v.required("targetType", q.get("targetType"));
        v.one_of("targetType", type_str, LOG_TARGET_TYPES);
        let name = v
            .required("targetName", q.get("targetName"))
            .map(str::to_owned);
        v.string("targetName", name.as_deref(), 0, MAX_TARGET_NAME_LEN, None);
        v.finish()?;
        let (Some(tt), Some(name)) = (type_str.and_then(target_type), name) else {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "Invalid log target.",
            ));
        };
        let registry = self.registry();
        blocking(INTERNAL, move || {
            registry.delete_v2_logging_level(tt, &name)
        })
        .await?;
        Ok(Empty {})
    }

    /// SetLoggingOptions (`POST /loggingOptions`; the body IS the `loggingOptionsPayload`).
    pub(crate) async fn op_set_logging_options(
        &self,
        input: &Input<'_>,
    ) -> Result<Empty, ApiError> {
        let body: LoggingOptionsPayload = input.body()?;
        let mut v = Validation::new();
        let role = v
            .required("loggingOptionsPayload.roleArn", body.role_arn.as_deref())
            .map(str::to_owned);
        v.one_of(
            "loggingOptionsPayload.logLevel",
            body.log_level.as_deref(),
            LOG_LEVELS,
        );
        v.finish()?;
        let Some(role_arn) = role else {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "roleArn is required.",
            ));
        };
        self.check_role(&input.ctx.auth.principal.arn, &role_arn)?;
        let _guard = self.inner.logging_writes.lock().await;
        let registry = self.registry();
        blocking(INTERNAL, move || {
            let current = registry.legacy_logging_options();
            let log_level = body
                .log_level
                .as_deref()
                .map_or_else(|| current.map(|c| c.log_level).unwrap_or_default(), level);
            registry.set_legacy_logging_options(LegacyOptions {
                role_arn,
                log_level,
            })
        })
        .await?;
        Ok(Empty {})
    }

    /// GetLoggingOptions (`GET /loggingOptions`).
    pub(crate) async fn op_get_logging_options(&self) -> Result<GetLoggingOptionsOutput, ApiError> {
        let registry = self.registry();
        let legacy = blocking(INTERNAL, move || Ok(registry.legacy_logging_options())).await?;
        Ok(match legacy {
            Some(l) => GetLoggingOptionsOutput {
                role_arn: Some(l.role_arn),
                log_level: Some(l.log_level.as_str()),
            },
            None => GetLoggingOptionsOutput {
                role_arn: None,
                log_level: None,
            },
        })
    }
}
