//! Table-driven tests of level resolution: every target type, the thing-group hierarchy
//! (grandparent/parent/child), a thing in several groups, DISABLED at each layer,
//! `disableAllLogs`, event-type overrides and legacy V1.

use super::*;
use crate::broker::Protocol;
use LevelSetting::*;

/// A fixed registry: things → group chains (root first).
struct Registry(Vec<(&'static str, Vec<Vec<&'static str>>)>);

impl GroupMembership for Registry {
    fn for_each_group_chain(&self, thing_name: &str, visit: &mut dyn FnMut(&[Arc<str>])) {
        for (thing, chains) in &self.0 {
            if *thing == thing_name {
                for chain in chains {
                    let chain: Vec<Arc<str>> = chain.iter().map(|g| Arc::from(*g)).collect();
                    visit(&chain);
                }
            }
        }
    }
}

fn registry() -> Registry {
    Registry(vec![
        // Phones (grandparent) > MobilePhones (parent) > Androids (child)
        ("phone-1", vec![vec!["Phones", "MobilePhones"]]),
        (
            "android-1",
            vec![vec!["Phones", "MobilePhones", "Androids"]],
        ),
        ("landline-1", vec![vec!["Phones"]]),
        // In two unrelated hierarchies.
        ("sensor-1", vec![vec!["Phones"], vec!["Sensors"]]),
        ("lonely", vec![]),
    ])
}

fn client(client_id: &str, thing: Option<&str>, principal: &str, ip: &str) -> ClientIdentity {
    ClientIdentity {
        client_id: client_id.into(),
        principal_id: principal.into(),
        source_ip: ip.parse().unwrap(),
        source_port: 1,
        protocol: Protocol::Mqtt,
        thing_name: thing.map(String::from),
    }
}

fn target(t: LogTargetType, name: &str, level: LevelSetting) -> LogTargetConfiguration {
    LogTargetConfiguration {
        target: LogTarget {
            target_type: t,
            target_name: Some(name.into()),
        },
        level,
    }
}

fn v2(default: LevelSetting, events: &[(&str, LevelSetting)]) -> LoggingOptions {
    LoggingOptions {
        role_arn: None,
        default_log_level: default,
        disable_all_logs: false,
        event_configurations: events
            .iter()
            .map(|(e, l)| EventConfiguration {
                event_type: (*e).into(),
                log_level: Some(*l),
                log_destination: None,
            })
            .collect(),
    }
}

use LogTargetType::{ClientId as CID, PrincipalId as PID, SourceIp as SIP, ThingGroup as TG};

#[test]
fn resolution_table() {
    let groups = registry();
    // (case, config, client, event type, expected level)
    let cases: Vec<(&str, LoggingConfig, ClientIdentity, EventType, LevelSetting)> = vec![
        (
            "unconfigured",
            LoggingConfig::default(),
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Disabled,
        ),
        (
            "default only",
            LoggingConfig::with_default_level(Info),
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Info,
        ),
        (
            "default DISABLED",
            LoggingConfig::with_default_level(Disabled),
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Disabled,
        ),
        (
            "event override",
            LoggingConfig {
                v2: Some(v2(Info, &[("Publish-In", Error)])),
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::PublishIn,
            Error,
        ),
        (
            "event override leaves others",
            LoggingConfig {
                v2: Some(v2(Info, &[("Publish-In", Error)])),
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::PublishOut,
            Info,
        ),
        (
            "event DISABLED",
            LoggingConfig {
                v2: Some(v2(Debug, &[("Connect", Disabled)])),
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Disabled,
        ),
        (
            "CLIENT_ID target",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                targets: vec![target(CID, "c", Debug)],
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::PublishIn,
            Debug,
        ),
        (
            "CLIENT_ID target other client",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                targets: vec![target(CID, "c", Debug)],
                ..Default::default()
            },
            client("d", None, "p", "127.0.0.1"),
            EventType::PublishIn,
            Error,
        ),
        (
            "resource target beats event-level DISABLED",
            LoggingConfig {
                v2: Some(v2(Error, &[("Publish-In", Disabled)])),
                targets: vec![target(CID, "c", Info)],
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::PublishIn,
            Info,
        ),
        (
            "resource DISABLED beats default",
            LoggingConfig {
                v2: Some(v2(Debug, &[])),
                targets: vec![target(PID, "p", Disabled)],
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Disabled,
        ),
        (
            "PRINCIPAL_ID target",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                targets: vec![target(PID, "cert-1", Warn)],
                ..Default::default()
            },
            client("c", None, "cert-1", "127.0.0.1"),
            EventType::Subscribe,
            Warn,
        ),
        (
            "SOURCE_IP target v4",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                targets: vec![target(SIP, "127.0.0.2", Debug)],
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.2"),
            EventType::Connect,
            Debug,
        ),
        (
            "SOURCE_IP target does not match another address",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                targets: vec![target(SIP, "127.0.0.2", Debug)],
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Error,
        ),
        (
            "SOURCE_IP v6",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                targets: vec![target(SIP, "::1", Info)],
                ..Default::default()
            },
            client("c", None, "p", "::1"),
            EventType::Connect,
            Info,
        ),
        (
            "SOURCE_IP CIDR, longest prefix wins",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                targets: vec![
                    target(SIP, "127.0.0.0/8", Warn),
                    target(SIP, "127.0.0.0/24", Debug),
                ],
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.9"),
            EventType::Connect,
            Debug,
        ),
        (
            "THING_GROUP parent applies to child group's things",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                targets: vec![target(TG, "Phones", Info)],
                ..Default::default()
            },
            client("android-1", Some("android-1"), "p", "127.0.0.1"),
            EventType::Connect,
            Info,
        ),
        (
            "THING_GROUP child overrides parent",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![
                    target(TG, "Phones", Error),
                    target(TG, "MobilePhones", Debug),
                ],
                ..Default::default()
            },
            client("phone-1", Some("phone-1"), "p", "127.0.0.1"),
            EventType::PublishIn,
            Debug,
        ),
        (
            "THING_GROUP parent level for a thing only in the parent",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![
                    target(TG, "Phones", Error),
                    target(TG, "MobilePhones", Debug),
                ],
                ..Default::default()
            },
            client("landline-1", Some("landline-1"), "p", "127.0.0.1"),
            EventType::PublishIn,
            Error,
        ),
        (
            "THING_GROUP grandchild overrides grandparent and parent",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![
                    target(TG, "Phones", Debug),
                    target(TG, "MobilePhones", Warn),
                    target(TG, "Androids", Disabled),
                ],
                ..Default::default()
            },
            client("android-1", Some("android-1"), "p", "127.0.0.1"),
            EventType::Connect,
            Disabled,
        ),
        (
            "THING_GROUP middle level when the leaf has none",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![
                    target(TG, "Phones", Debug),
                    target(TG, "MobilePhones", Warn),
                ],
                ..Default::default()
            },
            client("android-1", Some("android-1"), "p", "127.0.0.1"),
            EventType::Connect,
            Warn,
        ),
        (
            "thing in two unrelated groups: most verbose wins",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![target(TG, "Phones", Error), target(TG, "Sensors", Debug)],
                ..Default::default()
            },
            client("sensor-1", Some("sensor-1"), "p", "127.0.0.1"),
            EventType::Connect,
            Debug,
        ),
        (
            "thing in no group",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![target(TG, "Phones", Error)],
                ..Default::default()
            },
            client("lonely", Some("lonely"), "p", "127.0.0.1"),
            EventType::Connect,
            Info,
        ),
        (
            "CLIENT_ID beats THING_GROUP",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![
                    target(TG, "MobilePhones", Debug),
                    target(CID, "phone-1", Error),
                ],
                ..Default::default()
            },
            client("phone-1", Some("phone-1"), "p", "127.0.0.1"),
            EventType::Connect,
            Error,
        ),
        (
            "THING_GROUP beats PRINCIPAL_ID",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![target(PID, "p", Debug), target(TG, "MobilePhones", Warn)],
                ..Default::default()
            },
            client("phone-1", Some("phone-1"), "p", "127.0.0.1"),
            EventType::Connect,
            Warn,
        ),
        (
            "PRINCIPAL_ID beats SOURCE_IP",
            LoggingConfig {
                v2: Some(v2(Info, &[])),
                targets: vec![target(SIP, "127.0.0.1", Debug), target(PID, "p", Error)],
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Error,
        ),
        (
            "disableAllLogs beats everything",
            LoggingConfig {
                v2: Some(LoggingOptions {
                    disable_all_logs: true,
                    ..v2(Debug, &[("Connect", Debug)])
                }),
                targets: vec![target(CID, "c", Debug)],
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Disabled,
        ),
        (
            "legacy V1 level when V2 is not configured",
            LoggingConfig {
                legacy: Some(LegacyOptions {
                    role_arn: "r".into(),
                    log_level: Warn,
                }),
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Warn,
        ),
        (
            "V2 wins over legacy V1",
            LoggingConfig {
                v2: Some(v2(Error, &[])),
                legacy: Some(LegacyOptions {
                    role_arn: "r".into(),
                    log_level: Debug,
                }),
                ..Default::default()
            },
            client("c", None, "p", "127.0.0.1"),
            EventType::Connect,
            Error,
        ),
    ];
    for (name, config, c, event_type, want) in cases {
        let r = ResolvedConfig::new(config);
        assert_eq!(r.level_for(&c, &groups, event_type), want, "{name}");
        assert!(
            r.max_rank() >= want as u8,
            "{name}: max_rank must cover every admitted level"
        );
    }
}

#[test]
fn destinations_and_formats() {
    let mut opts = v2(Info, &[]);
    opts.event_configurations.push(EventConfiguration {
        event_type: "Publish-In".into(),
        log_level: None,
        log_destination: Some("/aws/iot/publish".into()),
    });
    let r = ResolvedConfig::new(LoggingConfig {
        v2: Some(opts),
        ..Default::default()
    });
    assert_eq!(r.format(), LogFormat::Json);
    assert_eq!(&**r.destination(EventType::PublishIn), "/aws/iot/publish");
    assert_eq!(&**r.destination(EventType::Connect), DEFAULT_LOG_GROUP);
    let legacy = ResolvedConfig::new(LoggingConfig {
        legacy: Some(LegacyOptions {
            role_arn: "r".into(),
            log_level: Info,
        }),
        ..Default::default()
    });
    assert_eq!(legacy.format(), LogFormat::PlainText);
    assert_eq!(&**legacy.destination(EventType::Connect), LEGACY_LOG_GROUP);
}

#[test]
fn source_ip_target_names() {
    for ok in [
        "10.0.0.1",
        "10.0.0.0/8",
        "::1",
        "2001:db8::/32",
        "0.0.0.0/0",
    ] {
        assert!(is_valid_source_ip_target(ok), "{ok}");
    }
    for bad in ["10.0.0.1/33", "host", "10.0.0", "::1/129", ""] {
        assert!(!is_valid_source_ip_target(bad), "{bad}");
    }
}
