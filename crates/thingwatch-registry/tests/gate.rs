//! The registry wired to a real `Logger`: the decision for an already-created `ClientLog`
//! changes right after registry and configuration changes (no reconnect).

mod common;

use common::{attrs, fixture};
use std::net::{IpAddr, Ipv4Addr};
use thingwatch_events::{
    ClientIdentity, ClientLog, EventType, LevelSetting, LogLevel, LogTarget, LogTargetType, Logger,
    Protocol,
};

fn client(logger: &Logger, client_id: &str, thing: Option<&str>) -> ClientLog {
    logger.client(ClientIdentity {
        client_id: client_id.to_string(),
        principal_id: "principal".to_string(),
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        source_port: 50_000,
        protocol: Protocol::Mqtt,
        thing_name: thing.map(str::to_string),
    })
}

fn group_target(name: &str) -> LogTarget {
    LogTarget {
        target_type: LogTargetType::ThingGroup,
        target_name: Some(name.to_string()),
    }
}

#[test]
fn membership_and_target_changes_apply_to_connected_clients() {
    let f = fixture(); // default level ERROR
    let (r, logger) = (&f.registry, &f.logger);
    let phone = client(logger, "phone-1", Some("phone-1"));
    let tablet = client(logger, "tablet-1", Some("tablet-1"));
    let debug = |c: &ClientLog| logger.enabled(c, EventType::PublishIn, LogLevel::Debug);
    let error = |c: &ClientLog| logger.enabled(c, EventType::PublishIn, LogLevel::Error);
    assert!(!debug(&phone));
    assert!(error(&phone));

    r.create_thing_group("Phones", None, Default::default(), 1)
        .unwrap();
    r.create_thing_group("MobilePhones", Some("Phones"), Default::default(), 1)
        .unwrap();
    r.create_thing("phone-1", attrs(&[]), 1).unwrap();
    r.create_thing("tablet-1", attrs(&[]), 1).unwrap();
    r.set_v2_logging_level(group_target("MobilePhones"), LevelSetting::Debug)
        .unwrap();
    assert!(!debug(&phone), "not in the group yet");

    r.add_thing_to_thing_group("phone-1", "MobilePhones")
        .unwrap();
    assert!(debug(&phone), "joined a DEBUG group");
    assert!(!debug(&tablet));

    // The child's level overrides the parent's.
    r.set_v2_logging_level(group_target("Phones"), LevelSetting::Disabled)
        .unwrap();
    assert!(debug(&phone));
    r.add_thing_to_thing_group("tablet-1", "Phones").unwrap();
    assert!(!error(&tablet), "Phones is DISABLED");

    r.set_v2_logging_level(group_target("MobilePhones"), LevelSetting::Error)
        .unwrap();
    assert!(!debug(&phone));
    assert!(error(&phone));

    // Without its own target, the child inherits the parent's level.
    r.delete_v2_logging_level(LogTargetType::ThingGroup, "MobilePhones")
        .unwrap();
    assert!(!error(&phone), "inherits DISABLED from Phones");
    r.set_v2_logging_level(group_target("Phones"), LevelSetting::Debug)
        .unwrap();
    assert!(debug(&phone));

    // Deleting the group the thing is in drops it back to the account default.
    r.delete_thing_group("MobilePhones", None).unwrap();
    assert!(!debug(&phone));
    assert!(error(&phone));
    assert!(debug(&tablet), "tablet is still in Phones");

    r.remove_thing_from_thing_group("tablet-1", "Phones")
        .unwrap();
    assert!(!debug(&tablet));
    r.add_thing_to_thing_group("tablet-1", "Phones").unwrap();
    assert!(debug(&tablet));
    r.delete_thing("tablet-1", None).unwrap();
    assert!(!debug(&tablet), "a deleted thing is in no group");
}

#[test]
fn options_changes_apply_to_connected_clients() {
    let f = fixture();
    let (r, logger) = (&f.registry, &f.logger);
    let c = client(logger, "c1", None);
    assert!(!logger.enabled(&c, EventType::PublishIn, LogLevel::Info));
    r.set_v2_logging_level(
        LogTarget {
            target_type: LogTargetType::Default,
            target_name: None,
        },
        LevelSetting::Info,
    )
    .unwrap();
    assert!(logger.enabled(&c, EventType::PublishIn, LogLevel::Info));
    r.set_v2_logging_level(
        LogTarget {
            target_type: LogTargetType::ClientId,
            target_name: Some("c1".into()),
        },
        LevelSetting::Debug,
    )
    .unwrap();
    assert!(logger.enabled(&c, EventType::PublishIn, LogLevel::Debug));
    let mut options = r.logging_config().v2.unwrap();
    options.disable_all_logs = true;
    r.set_v2_logging_options(options).unwrap();
    assert!(!logger.enabled(&c, EventType::PublishIn, LogLevel::Error));
}

#[test]
fn unrelated_groups_of_one_thing_each_contribute() {
    let f = fixture();
    let (r, logger) = (&f.registry, &f.logger);
    let c = client(logger, "multi", Some("multi"));
    for g in ["Region-EU", "Model-X"] {
        r.create_thing_group(g, None, Default::default(), 1)
            .unwrap();
    }
    r.create_thing("multi", attrs(&[]), 1).unwrap();
    r.add_thing_to_thing_group("multi", "Region-EU").unwrap();
    r.add_thing_to_thing_group("multi", "Model-X").unwrap();
    r.set_v2_logging_level(group_target("Region-EU"), LevelSetting::Warn)
        .unwrap();
    assert!(logger.enabled(&c, EventType::Connect, LogLevel::Warn));
    assert!(!logger.enabled(&c, EventType::Connect, LogLevel::Info));
    r.set_v2_logging_level(group_target("Model-X"), LevelSetting::Debug)
        .unwrap();
    // The most verbose of the unrelated groups wins (thingwatch-events' documented choice).
    assert!(logger.enabled(&c, EventType::Connect, LogLevel::Debug));
    r.remove_thing_from_thing_group("multi", "Model-X").unwrap();
    assert!(!logger.enabled(&c, EventType::Connect, LogLevel::Info));
}
