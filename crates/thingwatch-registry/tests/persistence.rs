//! Persistence: everything survives a reopen; the initial configuration is applied only to a
//! fresh database; a committed change survives a crash image (files as a killed process left
//! them, WAL not checkpointed, connection never closed).

mod common;

use common::{ROLE, attrs, logger, open_with};
use std::path::Path;
use std::sync::Arc;
use thingwatch_events::{
    EventConfiguration, GroupMembership, LegacyOptions, LevelSetting, LogTarget, LogTargetType,
    LoggingConfig, LoggingOptions,
};
use thingwatch_registry::{DB_FILE, ListThingsQuery, Registry, ThingGroupProperties};

fn populate(r: &Registry) {
    r.create_thing_group(
        "Phones",
        None,
        ThingGroupProperties {
            description: Some("all phones".into()),
            attributes: Some(attrs(&[("k", "v")])),
            merge: false,
        },
        10,
    )
    .unwrap();
    r.create_thing_group("MobilePhones", Some("Phones"), Default::default(), 20)
        .unwrap();
    r.create_thing("phone-1", attrs(&[("model", "x")]), 30)
        .unwrap();
    r.update_thing("phone-1", Some(attrs(&[("os", "android")])), true, None)
        .unwrap();
    r.add_thing_to_thing_group("phone-1", "MobilePhones")
        .unwrap();
    r.set_v2_logging_options(LoggingOptions {
        role_arn: Some(ROLE.into()),
        default_log_level: LevelSetting::Warn,
        disable_all_logs: false,
        event_configurations: vec![EventConfiguration {
            event_type: "Connect".into(),
            log_level: Some(LevelSetting::Debug),
            log_destination: Some("connects".into()),
        }],
    })
    .unwrap();
    r.set_v2_logging_level(
        LogTarget {
            target_type: LogTargetType::ThingGroup,
            target_name: Some("MobilePhones".into()),
        },
        LevelSetting::Debug,
    )
    .unwrap();
    r.set_legacy_logging_options(LegacyOptions {
        role_arn: ROLE.into(),
        log_level: LevelSetting::Error,
    })
    .unwrap();
}

fn assert_populated(r: &Registry) {
    let thing = r.describe_thing("phone-1").unwrap();
    assert_eq!(thing.version, 2);
    assert_eq!(
        thing.attributes,
        attrs(&[("model", "x"), ("os", "android")])
    );
    let g = r.describe_thing_group("MobilePhones").unwrap();
    assert_eq!(g.root_to_parent[0].group_name, "Phones");
    assert_eq!(g.creation_date_ms, 20);
    let p = r.describe_thing_group("Phones").unwrap();
    assert_eq!(p.description.as_deref(), Some("all phones"));
    assert_eq!(p.attributes, attrs(&[("k", "v")]));
    assert_eq!(
        r.list_things_in_thing_group("Phones", true, None, 10)
            .unwrap()
            .items,
        ["phone-1"]
    );
    let mut chains = Vec::new();
    r.group_membership()
        .for_each_group_chain("phone-1", &mut |c: &[Arc<str>]| {
            chains.push(c.iter().map(|g| g.to_string()).collect::<Vec<_>>())
        });
    assert_eq!(
        chains,
        vec![vec!["Phones".to_string(), "MobilePhones".to_string()]]
    );
    let cfg = r.logging_config();
    let v2 = cfg.v2.clone().unwrap();
    assert_eq!(v2.default_log_level, LevelSetting::Warn);
    assert_eq!(v2.role_arn.as_deref(), Some(ROLE));
    assert_eq!(v2.event_configurations.len(), 1);
    assert_eq!(
        v2.event_configurations[0].log_destination.as_deref(),
        Some("connects")
    );
    assert_eq!(cfg.targets.len(), 1);
    assert_eq!(cfg.legacy.map(|l| l.log_level), Some(LevelSetting::Error));
}

fn initial() -> LoggingConfig {
    LoggingConfig::with_default_level(LevelSetting::Info)
}

#[test]
fn state_survives_reopen_and_initial_logging_applies_only_when_fresh() {
    let dir = tempfile::tempdir().unwrap();
    {
        let r = open_with(dir.path(), logger(), initial(), 10);
        populate(&r);
    }
    let logger = logger();
    // A different initial configuration must not overwrite the stored one.
    let r = open_with(
        dir.path(),
        logger.clone(),
        LoggingConfig::with_default_level(LevelSetting::Disabled),
        10,
    );
    assert_populated(&r);
    assert_eq!(logger.config(), r.logging_config());
    let page = r
        .list_things(&ListThingsQuery {
            max_results: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

#[test]
fn unconfigured_initial_state_persists_as_unconfigured() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_with(
        dir.path(),
        logger(),
        LoggingConfig::default(),
        10,
    ));
    let r = open_with(dir.path(), logger(), initial(), 10);
    assert_eq!(r.logging_config(), LoggingConfig::default());
}

fn copy_crash_image(from: &Path, to: &Path) {
    for suffix in ["", "-wal"] {
        let name = format!("{DB_FILE}{suffix}");
        let src = from.join(&name);
        if src.exists() {
            std::fs::copy(&src, to.join(&name)).unwrap();
        }
    }
}

#[test]
fn a_committed_change_is_in_the_files_before_the_call_returns() {
    let live = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let r = open_with(live.path(), logger(), initial(), 10);
    populate(&r);
    // The files exactly as they are now, with the connection still open and the WAL not
    // checkpointed: what a SIGKILL at this instant would leave behind.
    assert!(live.path().join(format!("{DB_FILE}-wal")).exists());
    copy_crash_image(live.path(), image.path());
    let recovered = open_with(image.path(), logger(), LoggingConfig::default(), 10);
    assert_populated(&recovered);
    drop(r);
}

#[test]
fn a_registry_dropped_without_close_reopens_with_its_changes() {
    let dir = tempfile::tempdir().unwrap();
    let r = open_with(dir.path(), logger(), initial(), 10);
    populate(&r);
    // Never closed: no Drop, no checkpoint.
    std::mem::forget(r);
    let reopened = open_with(dir.path(), logger(), LoggingConfig::default(), 10);
    assert_populated(&reopened);
}
