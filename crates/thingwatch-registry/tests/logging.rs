//! Logging-configuration operations through the public `Registry` API: V2 options, log
//! targets (upsert, limit, DEFAULT), listing with filter and pagination, legacy options, the
//! logging role check, and NotConfigured before V2 is configured.

mod common;

use common::{ROLE, all_pages, fixture, fixture_with};
use thingwatch_events::{
    EventConfiguration, LegacyOptions, LevelSetting, LogTarget, LogTargetConfiguration,
    LogTargetType, LoggingConfig, LoggingOptions,
};
use thingwatch_registry::{RegistryError, check_logging_role};

fn target(t: LogTargetType, name: &str) -> LogTarget {
    LogTarget {
        target_type: t,
        target_name: Some(name.to_string()),
    }
}

fn default_target() -> LogTarget {
    LogTarget {
        target_type: LogTargetType::Default,
        target_name: None,
    }
}

#[test]
fn a_fresh_registry_stores_and_pushes_the_initial_configuration() {
    let f = fixture();
    let expected = LoggingConfig::with_default_level(LevelSetting::Error);
    assert_eq!(f.registry.logging_config(), expected);
    assert_eq!(f.logger.config(), expected);
    assert_eq!(f.registry.legacy_logging_options(), None);
}

#[test]
fn not_configured_until_v2_options_are_set() {
    let f = fixture_with(LoggingConfig::default(), 10);
    let r = &f.registry;
    let err = r
        .set_v2_logging_level(target(LogTargetType::ClientId, "c"), LevelSetting::Debug)
        .unwrap_err();
    assert!(matches!(err, RegistryError::NotConfigured(_)), "{err:?}");
    assert_eq!(err.http_status(), 404);
    assert!(matches!(
        r.list_v2_logging_levels(None, None, 10),
        Err(RegistryError::NotConfigured(_))
    ));
    // Deleting models no NotConfigured: it succeeds.
    r.delete_v2_logging_level(LogTargetType::ClientId, "c")
        .unwrap();
    r.set_v2_logging_options(LoggingOptions {
        role_arn: Some(ROLE.to_string()),
        default_log_level: LevelSetting::Info,
        ..Default::default()
    })
    .unwrap();
    r.set_v2_logging_level(target(LogTargetType::ClientId, "c"), LevelSetting::Debug)
        .unwrap();
    assert_eq!(
        r.list_v2_logging_levels(None, None, 10)
            .unwrap()
            .items
            .len(),
        2
    );
}

#[test]
fn set_v2_logging_options_replaces_options_and_keeps_targets() {
    let f = fixture();
    let r = &f.registry;
    r.set_v2_logging_level(
        target(LogTargetType::ThingGroup, "Phones"),
        LevelSetting::Warn,
    )
    .unwrap();
    let options = LoggingOptions {
        role_arn: Some(ROLE.to_string()),
        default_log_level: LevelSetting::Info,
        disable_all_logs: true,
        event_configurations: vec![
            EventConfiguration {
                event_type: "Connect".into(),
                log_level: Some(LevelSetting::Debug),
                log_destination: Some("/aws/iot/connects".into()),
            },
            EventConfiguration {
                event_type: "Publish-In".into(),
                log_level: Some(LevelSetting::Error),
                log_destination: None,
            },
        ],
    };
    r.set_v2_logging_options(options.clone()).unwrap();
    let cfg = r.logging_config();
    assert_eq!(cfg.v2, Some(options));
    assert_eq!(cfg.targets.len(), 1);
    assert_eq!(f.logger.config(), cfg);
}

#[test]
fn set_v2_logging_options_rejects_duplicates_and_foreign_roles() {
    let f = fixture();
    let r = &f.registry;
    let dup = LoggingOptions {
        event_configurations: vec![
            EventConfiguration {
                event_type: "Connect".into(),
                log_level: Some(LevelSetting::Debug),
                log_destination: None,
            },
            EventConfiguration {
                event_type: "Connect".into(),
                log_level: None,
                log_destination: None,
            },
        ],
        ..Default::default()
    };
    assert!(matches!(
        r.set_v2_logging_options(dup),
        Err(RegistryError::InvalidRequest(_))
    ));
    let foreign = LoggingOptions {
        role_arn: Some("arn:aws:iam::999999999999:role/IoTLoggingRole".into()),
        ..Default::default()
    };
    assert!(matches!(
        r.set_v2_logging_options(foreign),
        Err(RegistryError::InvalidRequest(_))
    ));
    // Nothing changed.
    assert_eq!(
        r.logging_config(),
        LoggingConfig::with_default_level(LevelSetting::Error)
    );
}

#[test]
fn logging_role_check_table() {
    let cases: &[(&str, bool)] = &[
        ("arn:aws:iam::123456789012:role/IoTLoggingRole", true),
        (
            "arn:aws:iam::123456789012:role/service-role/iot.logging-Role_1+=,@",
            true,
        ),
        ("arn:aws-cn:iam::123456789012:role/R", true),
        ("arn:aws:iam::123456789012:user/R", false),
        ("arn:aws:iam::210987654321:role/R", false),
        ("arn:aws:iam:us-east-1:123456789012:role/R", false),
        ("arn:aws:s3::123456789012:role/R", false),
        ("arn:aws:iam::123456789012:role/", false),
        ("arn:aws:iam::123456789012:role/has space", false),
        ("arn:aws:iam::123456789012:role/a!b", false),
        (&"x".repeat(10), false),
        ("", false),
    ];
    for (arn, ok) in cases {
        assert_eq!(
            check_logging_role(arn, "123456789012").is_ok(),
            *ok,
            "{arn}"
        );
    }
    let long_name = format!("arn:aws:iam::123456789012:role/{}", "a".repeat(65));
    assert!(check_logging_role(&long_name, "123456789012").is_err());
}

#[test]
fn set_level_upserts_and_default_sets_the_default_level() {
    let f = fixture();
    let r = &f.registry;
    r.set_v2_logging_level(target(LogTargetType::ClientId, "c1"), LevelSetting::Debug)
        .unwrap();
    r.set_v2_logging_level(target(LogTargetType::ClientId, "c1"), LevelSetting::Warn)
        .unwrap();
    r.set_v2_logging_level(default_target(), LevelSetting::Info)
        .unwrap();
    let cfg = r.logging_config();
    assert_eq!(
        cfg.targets,
        vec![LogTargetConfiguration {
            target: target(LogTargetType::ClientId, "c1"),
            level: LevelSetting::Warn,
        }]
    );
    assert_eq!(
        cfg.v2.map(|o| o.default_log_level),
        Some(LevelSetting::Info)
    );
    assert_eq!(f.logger.config(), r.logging_config());
}

#[test]
fn set_level_validates_names() {
    let f = fixture();
    let r = &f.registry;
    for (t, name) in [
        (LogTargetType::ClientId, None),
        (LogTargetType::ThingGroup, Some("")),
        (LogTargetType::SourceIp, Some("not-an-ip")),
        (LogTargetType::SourceIp, Some("10.0.0.0/33")),
    ] {
        let err = r
            .set_v2_logging_level(
                LogTarget {
                    target_type: t,
                    target_name: name.map(str::to_string),
                },
                LevelSetting::Debug,
            )
            .unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidRequest(_)),
            "{t} {name:?}: {err:?}"
        );
    }
    for ip in ["10.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32"] {
        r.set_v2_logging_level(target(LogTargetType::SourceIp, ip), LevelSetting::Debug)
            .unwrap();
    }
}

#[test]
fn a_new_target_beyond_the_limit_is_limit_exceeded() {
    let f = fixture_with(LoggingConfig::with_default_level(LevelSetting::Error), 3);
    let r = &f.registry;
    for name in ["a", "b", "c"] {
        r.set_v2_logging_level(target(LogTargetType::ClientId, name), LevelSetting::Debug)
            .unwrap();
    }
    let err = r
        .set_v2_logging_level(target(LogTargetType::ClientId, "d"), LevelSetting::Debug)
        .unwrap_err();
    assert!(matches!(err, RegistryError::LimitExceeded(_)), "{err:?}");
    assert_eq!(err.http_status(), 410);
    assert_eq!(err.aws_code(), "LimitExceededException");
    // Updating an existing target and the DEFAULT level still work at the limit.
    r.set_v2_logging_level(target(LogTargetType::ClientId, "a"), LevelSetting::Error)
        .unwrap();
    r.set_v2_logging_level(default_target(), LevelSetting::Warn)
        .unwrap();
    r.delete_v2_logging_level(LogTargetType::ClientId, "b")
        .unwrap();
    r.set_v2_logging_level(target(LogTargetType::ClientId, "d"), LevelSetting::Debug)
        .unwrap();
    assert_eq!(r.logging_config().targets.len(), 3);
}

#[test]
fn delete_removes_targets_silently_and_refuses_default() {
    let f = fixture();
    let r = &f.registry;
    r.set_v2_logging_level(target(LogTargetType::PrincipalId, "p"), LevelSetting::Debug)
        .unwrap();
    r.delete_v2_logging_level(LogTargetType::PrincipalId, "p")
        .unwrap();
    r.delete_v2_logging_level(LogTargetType::PrincipalId, "p")
        .unwrap();
    assert!(r.logging_config().targets.is_empty());
    assert!(matches!(
        r.delete_v2_logging_level(LogTargetType::Default, ""),
        Err(RegistryError::InvalidRequest(_))
    ));
}

#[test]
fn list_levels_default_first_sorted_filtered_and_paginated() {
    let f = fixture_with(LoggingConfig::with_default_level(LevelSetting::Warn), 20);
    let r = &f.registry;
    let targets = [
        (LogTargetType::SourceIp, "10.0.0.0/8", LevelSetting::Debug),
        (LogTargetType::ClientId, "zeta", LevelSetting::Info),
        (LogTargetType::ThingGroup, "Phones", LevelSetting::Error),
        (LogTargetType::PrincipalId, "abc", LevelSetting::Disabled),
        (LogTargetType::ClientId, "alpha", LevelSetting::Debug),
        (
            LogTargetType::ThingGroup,
            "MobilePhones",
            LevelSetting::Debug,
        ),
    ];
    for (t, name, level) in targets {
        r.set_v2_logging_level(target(t, name), level).unwrap();
    }
    let all = r.list_v2_logging_levels(None, None, 250).unwrap();
    assert_eq!(all.next_token, None);
    let listed: Vec<(LogTargetType, Option<String>, LevelSetting)> = all
        .items
        .iter()
        .map(|c| (c.target.target_type, c.target.target_name.clone(), c.level))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        listed,
        vec![
            (LogTargetType::Default, None, LevelSetting::Warn),
            (
                LogTargetType::ThingGroup,
                s("MobilePhones"),
                LevelSetting::Debug
            ),
            (LogTargetType::ThingGroup, s("Phones"), LevelSetting::Error),
            (LogTargetType::ClientId, s("alpha"), LevelSetting::Debug),
            (LogTargetType::ClientId, s("zeta"), LevelSetting::Info),
            (
                LogTargetType::SourceIp,
                s("10.0.0.0/8"),
                LevelSetting::Debug
            ),
            (LogTargetType::PrincipalId, s("abc"), LevelSetting::Disabled),
        ]
    );
    for size in [1, 2, 6, 7] {
        let (items, _) = all_pages(|t| r.list_v2_logging_levels(None, t, size).unwrap());
        assert_eq!(items, all.items, "page size {size}");
    }
    let groups = r
        .list_v2_logging_levels(Some(LogTargetType::ThingGroup), None, 10)
        .unwrap();
    assert_eq!(groups.items, all.items[1..3].to_vec());
    let (groups_paged, pages) = all_pages(|t| {
        r.list_v2_logging_levels(Some(LogTargetType::ThingGroup), t, 1)
            .unwrap()
    });
    assert_eq!(groups_paged, groups.items);
    assert_eq!(pages, 2);
    let default_only = r
        .list_v2_logging_levels(Some(LogTargetType::Default), None, 10)
        .unwrap();
    assert_eq!(default_only.items, all.items[..1].to_vec());
    assert!(matches!(
        r.list_v2_logging_levels(None, Some("bad"), 10),
        Err(RegistryError::InvalidRequest(_))
    ));
    assert!(matches!(
        r.list_v2_logging_levels(None, None, 251),
        Err(RegistryError::InvalidRequest(_))
    ));
}

#[test]
fn legacy_options_round_trip_and_reach_the_logger() {
    let f = fixture_with(LoggingConfig::default(), 10);
    let r = &f.registry;
    let legacy = LegacyOptions {
        role_arn: ROLE.to_string(),
        log_level: LevelSetting::Info,
    };
    r.set_legacy_logging_options(legacy.clone()).unwrap();
    assert_eq!(r.legacy_logging_options(), Some(legacy.clone()));
    assert_eq!(f.logger.config().legacy, Some(legacy));
    assert!(matches!(
        r.set_legacy_logging_options(LegacyOptions {
            role_arn: "arn:aws:iam::000000000000:role/x".into(),
            log_level: LevelSetting::Debug,
        }),
        Err(RegistryError::InvalidRequest(_))
    ));
    assert_eq!(
        r.legacy_logging_options().map(|l| l.log_level),
        Some(LevelSetting::Info)
    );
}
