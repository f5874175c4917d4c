//! [`StoreSink`]: the log pipeline's sink into the embedded log store, delivering through the
//! account's logging role as AWS IoT does.
//!
//! AWS IoT writes log entries to CloudWatch Logs with the role the logging configuration
//! names (`SetV2LoggingOptions` `roleArn`, else the legacy `SetLoggingOptions` one): when the
//! role may not create the log group and stream or put events in it — or no longer exists —
//! the entries are not delivered, and AWS counts them as
//! `NumLogEventsFailedToPublishUnauthorized` (AWS IoT Developer Guide, *Configure AWS IoT
//! logging* and *AWS IoT metrics*, logging metrics). With no role configured yet (a data
//! directory whose logging was never configured), entries are delivered.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use thingwatch_events::{Dimension, LogRecord, LogSink, Logger, MetricName, SinkError};
use thingwatch_logstore::{AppendEvent, LogStore};

/// At most one "entries dropped" warning on stderr per this interval.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The log pipeline's sink into the log store: one durable `append` per batch, after dropping
/// (and counting) the entries the delivery role may not write.
pub struct StoreSink {
    store: LogStore,
    iam: thingwatch_iam::Iam,
    logger: Arc<OnceLock<Logger>>,
    warned: Option<Instant>,
}

/// Connects a [`StoreSink`] to the [`Logger`] it serves, once that logger has started (the
/// logger owns the sink, and the sink reads the logger's configuration for the role and
/// counts refused entries in its metrics).
#[derive(Clone)]
pub struct SinkBinding(Arc<OnceLock<Logger>>);

impl SinkBinding {
    /// Binds the sink to `logger`; later calls are ignored.
    pub fn bind(&self, logger: &Logger) {
        let _ = self.0.set(logger.clone());
    }
}

impl StoreSink {
    /// A sink into `store`, checking delivery roles with `iam`. Until the returned binding is
    /// [bound](SinkBinding::bind), every entry is delivered (no configuration to read).
    pub fn new(store: LogStore, iam: thingwatch_iam::Iam) -> (StoreSink, SinkBinding) {
        let slot = Arc::new(OnceLock::new());
        let sink = StoreSink {
            store,
            iam,
            logger: slot.clone(),
            warned: None,
        };
        (sink, SinkBinding(slot))
    }

    /// The role entries are delivered with: the V2 `roleArn`, else the legacy one.
    fn role(&self) -> Option<String> {
        self.logger.get()?.delivery_role_arn()
    }

    fn count_refused(&mut self, refused: u64, role: &str) {
        let Some(logger) = self.logger.get() else {
            return;
        };
        logger.metrics().add(
            MetricName::NumLogEventsFailedToPublishUnauthorized,
            Dimension::None,
            refused,
        );
        if self.warned.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            self.warned = Some(Instant::now());
            tracing::warn!(
                events = refused,
                role,
                "the logging role may not write these log groups; entries dropped \
                 (counted as NumLogEventsFailedToPublishUnauthorized)"
            );
        }
    }
}

impl LogSink for StoreSink {
    fn write_batch(&mut self, records: &[LogRecord]) -> Result<(), SinkError> {
        let role = self.role();
        // One role decision per log group per batch.
        let mut decided: Vec<(&str, bool)> = Vec::new();
        let mut refused = 0u64;
        let events: Vec<AppendEvent<'_>> = records
            .iter()
            .filter(|r| {
                let Some(role) = role.as_deref() else {
                    return true;
                };
                let ok = match decided.iter().find(|(g, _)| *g == &*r.log_group) {
                    Some((_, ok)) => *ok,
                    None => {
                        let ok = self.iam.role_allows_log_delivery(role, &r.log_group);
                        decided.push((&r.log_group, ok));
                        ok
                    }
                };
                refused += u64::from(!ok);
                ok
            })
            .map(|r| AppendEvent {
                log_group: &r.log_group,
                log_stream: &r.log_stream,
                timestamp: r.timestamp,
                message: &r.message,
            })
            .collect();
        if refused > 0 {
            self.count_refused(refused, role.as_deref().unwrap_or(""));
        }
        if events.is_empty() {
            return Ok(());
        }
        self.store
            .append(&events, thingwatch_events::now_ms())
            .map_err(|e| SinkError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use thingwatch_events::{
        ClientIdentity, Connect, DEFAULT_LOG_GROUP, LevelSetting, LoggerSettings, LoggingConfig,
        PipelineConfig, Protocol, TraceId,
    };
    use thingwatch_logstore::{FilterQuery, StoreOptions};

    const ACCOUNT: &str = "123456789012";

    struct Fixture {
        _dir: tempfile::TempDir,
        store: LogStore,
        iam: thingwatch_iam::Iam,
        logger: Logger,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::open(&dir.path().join("logs"), StoreOptions::default()).unwrap();
        let iam = thingwatch_iam::Iam::open(
            &dir.path().join("iam"),
            thingwatch_iam::IamSettings {
                account_id: ACCOUNT.into(),
                region: "us-east-1".into(),
                root_access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                root_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            },
        )
        .unwrap();
        iam.ensure_builtin_logging_role(thingwatch_iam::BUILTIN_LOGGING_ROLE_NAME, 0)
            .unwrap();
        let (sink, binding) = StoreSink::new(store.clone(), iam.clone());
        let logger = Logger::start(
            LoggerSettings {
                account_id: ACCOUNT.into(),
                node_id: "tw-test".into(),
                pipeline: PipelineConfig::default(),
            },
            LoggingConfig::default(),
            Box::new(sink),
        );
        binding.bind(&logger);
        Fixture {
            _dir: dir,
            store,
            iam,
            logger,
        }
    }

    fn with_role(role: &str) -> LoggingConfig {
        let mut config = LoggingConfig::with_default_level(LevelSetting::Info);
        if let Some(v2) = config.v2.as_mut() {
            v2.role_arn = Some(role.to_owned());
        }
        config
    }

    fn connect_entry(f: &Fixture, client_id: &str) {
        let client = f.logger.client(ClientIdentity {
            client_id: client_id.into(),
            principal_id: "anonymous".into(),
            source_ip: "127.0.0.1".parse().unwrap(),
            source_port: 50_000,
            protocol: Protocol::Mqtt,
            thing_name: None,
        });
        f.logger
            .emit(&client, Connect::SUCCESS, TraceId::new(), Connect::success);
        f.logger.flush();
    }

    fn stored(f: &Fixture) -> Vec<String> {
        match f.store.filter_log_events(
            DEFAULT_LOG_GROUP,
            &FilterQuery {
                limit: 100,
                ..FilterQuery::default()
            },
        ) {
            Ok(page) => page.events.into_iter().map(|e| e.message).collect(),
            Err(_) => Vec::new(), // the group was never created
        }
    }

    fn refused(f: &Fixture) -> u64 {
        f.logger.metrics().get(
            MetricName::NumLogEventsFailedToPublishUnauthorized,
            Dimension::None,
        )
    }

    #[test]
    fn the_builtin_role_delivers() {
        let f = fixture();
        let role = format!(
            "arn:aws:iam::{ACCOUNT}:role/{}",
            thingwatch_iam::BUILTIN_LOGGING_ROLE_NAME
        );
        assert!(f.iam.role_allows_log_delivery(&role, DEFAULT_LOG_GROUP));
        f.logger.set_config(with_role(&role));
        connect_entry(&f, "dev-1");
        let messages = stored(&f);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains(r#""clientId":"dev-1""#));
        assert_eq!(refused(&f), 0);
    }

    #[test]
    fn a_missing_role_drops_and_counts_every_entry() {
        let f = fixture();
        f.logger
            .set_config(with_role(&format!("arn:aws:iam::{ACCOUNT}:role/deleted")));
        connect_entry(&f, "dev-1");
        connect_entry(&f, "dev-2");
        assert!(stored(&f).is_empty());
        assert_eq!(refused(&f), 2);
    }

    #[test]
    fn a_role_change_takes_effect_for_the_next_batch() {
        let f = fixture();
        f.logger
            .set_config(with_role(&format!("arn:aws:iam::{ACCOUNT}:role/deleted")));
        connect_entry(&f, "before");
        let role = format!(
            "arn:aws:iam::{ACCOUNT}:role/{}",
            thingwatch_iam::BUILTIN_LOGGING_ROLE_NAME
        );
        f.logger.set_config(with_role(&role));
        connect_entry(&f, "after");
        let messages = stored(&f);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains(r#""clientId":"after""#));
        assert_eq!(refused(&f), 1);
    }
}
