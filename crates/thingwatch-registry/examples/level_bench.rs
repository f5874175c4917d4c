//! Level-resolution benchmark: 1,000 thing groups in a 5-deep hierarchy, 100 log targets and
//! 10,000 things, each in one group. Measures what a connection pays to (re)resolve its
//! effective levels — `ResolvedConfig::levels_for` directly and through the `Logger`'s
//! epoch revalidation — with those targets versus with no targets, plus the cached gate
//! check and the registry's write latency while building the fixture.
//!
//! Run: `cargo run --release -p thingwatch-registry --example level_bench`

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use thingwatch_events::{
    ClientIdentity, ClientLog, EventType, GroupMembership, LevelSetting, LogLevel, LogTarget,
    LogTargetType, Logger, LoggerSettings, LoggingConfig, MemorySink, PipelineConfig, Protocol,
    ResolvedConfig,
};
use thingwatch_registry::{Registry, RegistrySettings};

const GROUPS: usize = 1_000;
const FAN_OUT: usize = 4;
const DEPTH: usize = 5;
const THINGS: usize = 10_000;
const TARGETS: usize = 100;
const ROUNDS: usize = 7;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let logger = Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "bench".into(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::default(),
        Box::new(MemorySink::new()),
    );
    let registry = Registry::open(
        dir.path(),
        RegistrySettings {
            max_log_targets: TARGETS,
            ..Default::default()
        },
        logger.clone(),
        LoggingConfig::with_default_level(LevelSetting::Error),
    )?;

    // ---- fixture: groups level by level (fan-out 4 down to level 4, the rest on level 5)
    let t0 = Instant::now();
    let mut levels: Vec<Vec<String>> = vec![Vec::new(); DEPTH];
    let mut created = 0usize;
    for depth in 0..DEPTH {
        let want = if depth + 1 < DEPTH {
            FAN_OUT.pow(depth as u32 + 1)
        } else {
            GROUPS - created
        };
        for i in 0..want {
            let name = format!("g{}-{i:04}", depth + 1);
            let parent = (depth > 0).then(|| {
                let above = &levels[depth - 1];
                above[i % above.len()].clone()
            });
            registry.create_thing_group(&name, parent.as_deref(), Default::default(), 0)?;
            levels[depth].push(name);
            created += 1;
        }
    }
    let groups: Vec<String> = levels.concat();
    assert_eq!(groups.len(), GROUPS);
    let groups_time = t0.elapsed();

    let t0 = Instant::now();
    for i in 0..THINGS {
        let thing = format!("thing-{i:05}");
        registry.create_thing(&thing, Default::default(), 0)?;
        registry.add_thing_to_thing_group(&thing, &groups[i % GROUPS])?;
    }
    let things_time = t0.elapsed();

    // ---- 100 targets: 70 thing groups spread over every level, 10 of each other type
    // (client IDs, principals and source blocks that match none of the clients, so those
    // lookups run to the end: the SOURCE_IP scan is the slowest path).
    let t0 = Instant::now();
    for (n, g) in groups.iter().step_by(GROUPS / 70).take(70).enumerate() {
        let level = LevelSetting::ALL[1 + n % 4];
        registry.set_v2_logging_level(target(LogTargetType::ThingGroup, g), level)?;
    }
    for i in 0..10 {
        registry.set_v2_logging_level(
            target(LogTargetType::ClientId, &format!("other-client-{i}")),
            LevelSetting::Debug,
        )?;
        registry.set_v2_logging_level(
            target(LogTargetType::PrincipalId, &format!("{i:064x}")),
            LevelSetting::Debug,
        )?;
        registry.set_v2_logging_level(
            target(LogTargetType::SourceIp, &format!("10.{i}.0.0/16")),
            LevelSetting::Debug,
        )?;
    }
    let targets_time = t0.elapsed();
    assert_eq!(registry.logging_config().targets.len(), TARGETS);

    let identities: Vec<ClientIdentity> = (0..THINGS)
        .map(|i| ClientIdentity {
            client_id: format!("thing-{i:05}"),
            principal_id: "loopback".into(),
            source_ip: IpAddr::V4(Ipv4Addr::new(192, 168, (i / 250) as u8, (i % 250) as u8)),
            source_port: 40_000,
            protocol: Protocol::Mqtt,
            thing_name: Some(format!("thing-{i:05}")),
        })
        .collect();

    println!(
        "fixture: {GROUPS} groups (depth {DEPTH}), {THINGS} things each in one group, {TARGETS} targets"
    );
    println!(
        "  registry writes: create_thing_group {:.1} us/op, create_thing+add_thing_to_thing_group {:.1} us/pair, set_v2_logging_level {:.1} us/op",
        per_op_us(groups_time, GROUPS),
        per_op_us(things_time, THINGS),
        per_op_us(targets_time, TARGETS)
    );

    // ---- direct: ResolvedConfig::levels_for over the registry's membership index
    let index = registry.group_membership();
    let with_targets = ResolvedConfig::new(registry.logging_config());
    let mut no_targets_cfg = registry.logging_config();
    no_targets_cfg.targets.clear();
    let no_targets = ResolvedConfig::new(no_targets_cfg.clone());
    let matched = identities
        .iter()
        .filter(|id| with_targets.target_level(id, &*index).is_some())
        .count();
    println!("  clients whose levels come from a THING_GROUP target: {matched} of {THINGS}");

    let chains = measure(|| chains_all(&*index, &identities));
    println!("for_each_group_chain alone (per thing): {}", fmt(chains));
    let direct_with = measure(|| resolve_all(&with_targets, &identities, &*index));
    let direct_without = measure(|| resolve_all(&no_targets, &identities, &*index));
    println!("levels_for (direct, per connection):");
    println!("  100 targets: {}", fmt(direct_with));
    println!("  no targets:  {}", fmt(direct_without));

    // ---- through the Logger: invalidate, then every connection's next gate check revalidates
    let clients: Vec<ClientLog> = identities
        .iter()
        .cloned()
        .map(|id| logger.client(id))
        .collect();
    let reval_with = measure(|| revalidate_all(&logger, &clients));
    let cached_with = measure(|| gate_all(&logger, &clients));
    registry_set_config(&logger, no_targets_cfg);
    let reval_without = measure(|| revalidate_all(&logger, &clients));
    let cached_without = measure(|| gate_all(&logger, &clients));
    println!("Logger revalidation after invalidate (per connection, first gate check):");
    println!("  100 targets: {}", fmt(reval_with));
    println!("  no targets:  {}", fmt(reval_without));
    println!("Logger cached gate check (per check, no revalidation):");
    println!("  100 targets: {}", fmt(cached_with));
    println!("  no targets:  {}", fmt(cached_without));
    logger.shutdown();
    Ok(())
}

fn target(t: LogTargetType, name: &str) -> LogTarget {
    LogTarget {
        target_type: t,
        target_name: Some(name.to_string()),
    }
}

/// Pushes a configuration straight into the logger (bypassing the registry) for the
/// no-targets comparison on the same connections.
fn registry_set_config(logger: &Logger, cfg: LoggingConfig) {
    logger.set_config(cfg);
}

fn resolve_all(
    resolved: &ResolvedConfig,
    ids: &[ClientIdentity],
    groups: &dyn GroupMembership,
) -> (Duration, usize) {
    let t0 = Instant::now();
    let mut sum = 0usize;
    for id in ids {
        let levels = resolved.levels_for(id, groups);
        sum += levels[EventType::PublishIn.index()] as usize;
    }
    std::hint::black_box(sum);
    (t0.elapsed(), ids.len())
}

fn chains_all(groups: &dyn GroupMembership, ids: &[ClientIdentity]) -> (Duration, usize) {
    let t0 = Instant::now();
    let mut depth = 0usize;
    for id in ids {
        if let Some(thing) = &id.thing_name {
            groups.for_each_group_chain(thing, &mut |chain| depth += chain.len());
        }
    }
    std::hint::black_box(depth);
    (t0.elapsed(), ids.len())
}

fn revalidate_all(logger: &Logger, clients: &[ClientLog]) -> (Duration, usize) {
    logger.invalidate();
    gate_all(logger, clients)
}

fn gate_all(logger: &Logger, clients: &[ClientLog]) -> (Duration, usize) {
    let t0 = Instant::now();
    let mut admitted = 0usize;
    for c in clients {
        admitted += logger.enabled(c, EventType::PublishIn, LogLevel::Error) as usize;
    }
    std::hint::black_box(admitted);
    (t0.elapsed(), clients.len())
}

/// Runs `f` ROUNDS times; per-item nanoseconds (min, median).
fn measure(mut f: impl FnMut() -> (Duration, usize)) -> (f64, f64) {
    let mut per_item: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let (d, n) = f();
            d.as_nanos() as f64 / n as f64
        })
        .collect();
    per_item.sort_by(f64::total_cmp);
    (per_item[0], per_item[ROUNDS / 2])
}

fn fmt((min, median): (f64, f64)) -> String {
    format!("median {median:.0} ns, min {min:.0} ns")
}

fn per_op_us(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}
