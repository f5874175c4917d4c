//! The account's AWS IoT v2 logging configuration ([`LoggingOptions`]) and its resolved,
//! lookup-ready form ([`ResolvedConfig`]) that the level gate reads.
//!
//! Source: AWS IoT API Reference `SetV2LoggingOptions` / `GetV2LoggingOptions`
//! (`{roleArn, defaultLogLevel, disableAllLogs, eventConfigurations[]}`) and the Developer Guide
//! *Configure AWS IoT logging*: event-level settings override the account level for that event
//! type; `disableAllLogs` stops everything. Resource-specific log targets (THING_GROUP,
//! CLIENT_ID, SOURCE_IP, PRINCIPAL_ID) are resolved here too once the logging-configuration
//! control plane sets them ([`ResolvedConfig::level_for`] takes the client identity for that).

use crate::broker::ClientIdentity;
use crate::event::EventType;
use crate::level::LevelSetting;
use std::sync::Arc;

/// The default V2 log group, `AWSIotLogsV2` (lower-case "ot", capital "L").
pub const DEFAULT_LOG_GROUP: &str = "AWSIotLogsV2";

/// One `LogEventConfiguration`: a per-event-type level and/or destination log group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventConfiguration {
    /// The `eventType`, e.g. `Publish-In` (1–512 characters).
    pub event_type: String,
    /// Replaces the account level for this event type when set.
    pub log_level: Option<LevelSetting>,
    /// A log group used instead of `AWSIotLogsV2` for this event type when set.
    pub log_destination: Option<String>,
}

/// The V2 logging options of the account (what `GetV2LoggingOptions` returns).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LoggingOptions {
    /// The logging role ARN (`roleArn`).
    pub role_arn: Option<String>,
    /// `defaultLogLevel`.
    pub default_log_level: LevelSetting,
    /// `disableAllLogs`: `true` turns every entry off whatever the other layers say.
    pub disable_all_logs: bool,
    /// `eventConfigurations`.
    pub event_configurations: Vec<EventConfiguration>,
}

/// The configuration in a form the gate can evaluate without allocating: per-event-type
/// levels and destinations precomputed, and the most verbose level anything could admit.
#[derive(Debug)]
pub struct ResolvedConfig {
    options: Option<LoggingOptions>,
    levels: [LevelSetting; EventType::COUNT],
    destinations: [Arc<str>; EventType::COUNT],
    max_rank: u8,
}

impl ResolvedConfig {
    /// Resolves `options`; `None` means V2 logging was never configured (nothing is written,
    /// and `GetV2LoggingOptions` answers `NotConfiguredException`).
    pub fn new(options: Option<LoggingOptions>) -> ResolvedConfig {
        let default_group: Arc<str> = Arc::from(DEFAULT_LOG_GROUP);
        let mut levels = [LevelSetting::Disabled; EventType::COUNT];
        let mut destinations: [Arc<str>; EventType::COUNT] =
            std::array::from_fn(|_| default_group.clone());
        if let Some(opts) = &options
            && !opts.disable_all_logs
        {
            levels = [opts.default_log_level; EventType::COUNT];
            for cfg in &opts.event_configurations {
                if let Some(event_type) = EventType::from_name(&cfg.event_type) {
                    if let Some(level) = cfg.log_level {
                        levels[event_type.index()] = level;
                    }
                    if let Some(dest) = &cfg.log_destination {
                        destinations[event_type.index()] = Arc::from(dest.as_str());
                    }
                }
            }
        }
        let max_rank = levels.iter().map(|l| *l as u8).max().unwrap_or(0);
        ResolvedConfig {
            options,
            levels,
            destinations,
            max_rank,
        }
    }

    /// The options this was resolved from.
    pub fn options(&self) -> Option<&LoggingOptions> {
        self.options.as_ref()
    }

    /// The effective level for entries of `event_type` about `client`.
    ///
    /// Precedence (Developer Guide): `disableAllLogs` > resource-specific target > event
    /// level > account default.
    pub fn level_for(&self, _client: &ClientIdentity, event_type: EventType) -> LevelSetting {
        self.levels[event_type.index()]
    }

    /// The log group entries of `event_type` go to.
    pub fn destination(&self, event_type: EventType) -> &Arc<str> {
        &self.destinations[event_type.index()]
    }

    /// The most verbose rank any entry could be admitted at (0 when everything is off).
    pub fn max_rank(&self) -> u8 {
        self.max_rank
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::Protocol;

    fn client() -> ClientIdentity {
        ClientIdentity {
            client_id: "c".into(),
            principal_id: "p".into(),
            source_ip: "127.0.0.1".parse().unwrap(),
            source_port: 1,
            protocol: Protocol::Mqtt,
            thing_name: None,
        }
    }

    #[test]
    fn unconfigured_admits_nothing() {
        let r = ResolvedConfig::new(None);
        assert_eq!(r.max_rank(), 0);
        assert_eq!(
            r.level_for(&client(), EventType::Connect),
            LevelSetting::Disabled
        );
    }

    #[test]
    fn event_level_overrides_default_and_disable_all_wins() {
        let mut opts = LoggingOptions {
            default_log_level: LevelSetting::Info,
            event_configurations: vec![EventConfiguration {
                event_type: "Publish-In".into(),
                log_level: Some(LevelSetting::Error),
                log_destination: Some("/aws/iot/publish".into()),
            }],
            ..Default::default()
        };
        let r = ResolvedConfig::new(Some(opts.clone()));
        assert_eq!(
            r.level_for(&client(), EventType::PublishIn),
            LevelSetting::Error
        );
        assert_eq!(
            r.level_for(&client(), EventType::Connect),
            LevelSetting::Info
        );
        assert_eq!(&**r.destination(EventType::PublishIn), "/aws/iot/publish");
        assert_eq!(&**r.destination(EventType::Connect), DEFAULT_LOG_GROUP);
        assert_eq!(r.max_rank(), LevelSetting::Info as u8);

        opts.disable_all_logs = true;
        let r = ResolvedConfig::new(Some(opts));
        assert_eq!(r.max_rank(), 0);
        assert_eq!(
            r.level_for(&client(), EventType::PublishIn),
            LevelSetting::Disabled
        );
    }
}
