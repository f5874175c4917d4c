//! Shared test fixtures: a registry in a temporary directory wired to a real `Logger`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use thingwatch_events::{
    LevelSetting, Logger, LoggerSettings, LoggingConfig, MemorySink, PipelineConfig,
};
use thingwatch_registry::{Registry, RegistrySettings};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/IoTLoggingRole";

pub fn logger() -> Logger {
    Logger::start(
        LoggerSettings {
            account_id: ACCOUNT.to_string(),
            node_id: "test".to_string(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::default(),
        Box::new(MemorySink::new()),
    )
}

pub fn settings(max_log_targets: usize) -> RegistrySettings {
    RegistrySettings {
        account_id: ACCOUNT.to_string(),
        region: REGION.to_string(),
        max_log_targets,
    }
}

pub fn open_with(
    dir: &Path,
    logger: Logger,
    initial: LoggingConfig,
    max_log_targets: usize,
) -> Registry {
    Registry::open(dir, settings(max_log_targets), logger, initial).expect("open registry")
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub logger: Logger,
    pub registry: Registry,
}

/// A registry whose initial configuration is V2 with default level ERROR.
pub fn fixture() -> Fixture {
    fixture_with(LoggingConfig::with_default_level(LevelSetting::Error), 10)
}

pub fn fixture_with(initial: LoggingConfig, max_log_targets: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = logger();
    let registry = open_with(dir.path(), logger.clone(), initial, max_log_targets);
    Fixture {
        dir,
        logger,
        registry,
    }
}

pub fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Follows `next_token` until the last page, collecting every item.
pub fn all_pages<T>(
    mut fetch: impl FnMut(Option<&str>) -> thingwatch_registry::Page<T>,
) -> (Vec<T>, usize) {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = fetch(token.as_deref());
        pages += 1;
        items.extend(page.items);
        match page.next_token {
            Some(t) => {
                assert_ne!(Some(&t), token.as_ref(), "the same token came back twice");
                token = Some(t);
            }
            None => return (items, pages),
        }
        assert!(pages < 10_000, "pagination does not terminate");
    }
}
