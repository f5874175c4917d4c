//! The account's AWS IoT logging configuration ([`LoggingConfig`]: V2 options, resource-specific
//! log targets, legacy V1 options) and its resolved, lookup-ready form ([`ResolvedConfig`])
//! that the level gate reads.
//!
//! Sources: AWS IoT API Reference `SetV2LoggingOptions` / `GetV2LoggingOptions`
//! (`{roleArn, defaultLogLevel, disableAllLogs, eventConfigurations[]}`), `SetV2LoggingLevel`
//! (`LogTarget {targetType, targetName}`), `SetLoggingOptions` (V1), and the Developer Guide
//! *Configure AWS IoT logging*.
//!
//! # Precedence (what [`ResolvedConfig::level_for`] computes)
//!
//! 1. V2 not configured: the legacy V1 level applies to every event type (plain-text entries
//!    to `AWSIotLogs`), or nothing is logged when V1 is not configured either.
//! 2. `disableAllLogs = true`: nothing, whatever the other layers say (Developer Guide).
//! 3. A resource-specific log target that matches the client overrides both the account and
//!    the event level, for **every** event type (Developer Guide). AWS does not document the
//!    order between target types; Thingwatch's, most specific identity first:
//!    **CLIENT_ID > THING_GROUP > PRINCIPAL_ID > SOURCE_IP**. Within THING_GROUP, the level
//!    set on the deepest group of a hierarchy wins (a child overrides its parent, as AWS
//!    documents); when a thing is in several unrelated groups that each yield a level, the
//!    most verbose one wins (our choice: never hide what one of its groups asked to see).
//! 4. An event-level `logLevel` for the event type.
//! 5. The account's `defaultLogLevel`.

use crate::broker::ClientIdentity;
use crate::event::EventType;
use crate::level::LevelSetting;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

/// The default V2 log group, `AWSIotLogsV2` (lower-case "ot", capital "L").
pub const DEFAULT_LOG_GROUP: &str = "AWSIotLogsV2";
/// The legacy V1 log group, `AWSIotLogs`.
pub const LEGACY_LOG_GROUP: &str = "AWSIotLogs";

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

/// The legacy V1 options (`SetLoggingOptions` / `GetLoggingOptions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyOptions {
    /// `roleArn` (required by the V1 API).
    pub role_arn: String,
    /// `logLevel`.
    pub log_level: LevelSetting,
}

/// `LogTargetType`: `DEFAULT | THING_GROUP | CLIENT_ID | SOURCE_IP | PRINCIPAL_ID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogTargetType {
    /// The account default (no name).
    Default,
    /// A thing group, by name; applies to the things in it and in its child groups.
    ThingGroup,
    /// An MQTT client ID.
    ClientId,
    /// A source IP address (IPv4 or IPv6; a CIDR block such as `10.0.0.0/8` also matches).
    SourceIp,
    /// A principal ID as written in entries (`principalId`).
    PrincipalId,
}

impl LogTargetType {
    /// Every type, in AWS's enum order.
    pub const ALL: [LogTargetType; 5] = [
        LogTargetType::Default,
        LogTargetType::ThingGroup,
        LogTargetType::ClientId,
        LogTargetType::SourceIp,
        LogTargetType::PrincipalId,
    ];

    /// The AWS spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            LogTargetType::Default => "DEFAULT",
            LogTargetType::ThingGroup => "THING_GROUP",
            LogTargetType::ClientId => "CLIENT_ID",
            LogTargetType::SourceIp => "SOURCE_IP",
            LogTargetType::PrincipalId => "PRINCIPAL_ID",
        }
    }
}

impl fmt::Display for LogTargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogTargetType {
    type Err = String;

    /// Exact AWS spelling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogTargetType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("invalid log target type '{s}'"))
    }
}

/// A resource-specific log target: `{targetType, targetName}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogTarget {
    /// The kind of resource.
    pub target_type: LogTargetType,
    /// The resource name (`None` only for DEFAULT).
    pub target_name: Option<String>,
}

/// A log target and the level set for it (`LogTargetConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTargetConfiguration {
    /// The target.
    pub target: LogTarget,
    /// Its level.
    pub level: LevelSetting,
}

/// The whole logging configuration of the account.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LoggingConfig {
    /// V2 options; `None` = V2 never configured.
    pub v2: Option<LoggingOptions>,
    /// Resource-specific log targets (V2 only), excluding DEFAULT (which is `v2.default_log_level`).
    pub targets: Vec<LogTargetConfiguration>,
    /// Legacy V1 options, used only while V2 is not configured.
    pub legacy: Option<LegacyOptions>,
}

impl LoggingConfig {
    /// A V2 configuration with only a default level.
    pub fn with_default_level(level: LevelSetting) -> LoggingConfig {
        LoggingConfig {
            v2: Some(LoggingOptions {
                default_log_level: level,
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

impl From<Option<LoggingOptions>> for LoggingConfig {
    /// V2 options only (`None` = nothing configured).
    fn from(v2: Option<LoggingOptions>) -> LoggingConfig {
        LoggingConfig {
            v2,
            ..Default::default()
        }
    }
}

/// Which format and group entries take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// V2: AWS JSON entries.
    Json,
    /// Legacy V1: plain-text entries.
    PlainText,
}

/// Thing-group membership as the level resolution needs it: for a thing, each group it is in
/// directly, as the chain of group names from the root of its hierarchy down to that group.
///
/// Implemented by the thing registry; the logger calls it only when a connection's cached
/// levels are revalidated (after a configuration or registry change), never per message.
pub trait GroupMembership: Send + Sync {
    /// Calls `visit` once per group `thing_name` belongs to directly, with the chain
    /// root-first (e.g. `["Phones", "MobilePhones"]`). Unknown things visit nothing.
    fn for_each_group_chain(&self, thing_name: &str, visit: &mut dyn FnMut(&[Arc<str>]));
}

/// No registry: no thing belongs to any group.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoGroups;

impl GroupMembership for NoGroups {
    fn for_each_group_chain(&self, _thing_name: &str, _visit: &mut dyn FnMut(&[Arc<str>])) {}
}

#[derive(Debug, Default)]
struct TargetIndex {
    client_ids: HashMap<String, LevelSetting>,
    thing_groups: HashMap<String, LevelSetting>,
    principals: HashMap<String, LevelSetting>,
    source_ips: Vec<(IpNet, LevelSetting)>,
}

/// An IP address or CIDR block a SOURCE_IP target names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    fn parse(s: &str) -> Option<IpNet> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // IPv4-mapped IPv6 peers match IPv4 targets.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Whether `name` is a valid SOURCE_IP target name (an IP address or CIDR block).
pub fn is_valid_source_ip_target(name: &str) -> bool {
    IpNet::parse(name).is_some()
}

/// The configuration in a form the gate can evaluate cheaply: per-event-type levels and
/// destinations precomputed, targets indexed, and the most verbose level anything could admit.
#[derive(Debug)]
pub struct ResolvedConfig {
    config: LoggingConfig,
    format: LogFormat,
    levels: [LevelSetting; EventType::COUNT],
    destinations: [Arc<str>; EventType::COUNT],
    targets: TargetIndex,
    max_rank: u8,
}

impl ResolvedConfig {
    /// Resolves `config`.
    pub fn new(config: LoggingConfig) -> ResolvedConfig {
        let v2_group: Arc<str> = Arc::from(DEFAULT_LOG_GROUP);
        let mut levels = [LevelSetting::Disabled; EventType::COUNT];
        let mut destinations: [Arc<str>; EventType::COUNT] =
            std::array::from_fn(|_| v2_group.clone());
        let mut targets = TargetIndex::default();
        let mut format = LogFormat::Json;
        match (&config.v2, &config.legacy) {
            (Some(opts), _) => {
                if !opts.disable_all_logs {
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
                    for t in &config.targets {
                        let Some(name) = t.target.target_name.clone() else {
                            continue;
                        };
                        match t.target.target_type {
                            LogTargetType::Default => {}
                            LogTargetType::ClientId => {
                                targets.client_ids.insert(name, t.level);
                            }
                            LogTargetType::ThingGroup => {
                                targets.thing_groups.insert(name, t.level);
                            }
                            LogTargetType::PrincipalId => {
                                targets.principals.insert(name, t.level);
                            }
                            LogTargetType::SourceIp => {
                                if let Some(net) = IpNet::parse(&name) {
                                    targets.source_ips.push((net, t.level));
                                }
                            }
                        }
                    }
                }
            }
            (None, Some(legacy)) => {
                format = LogFormat::PlainText;
                levels = [legacy.log_level; EventType::COUNT];
                let legacy_group: Arc<str> = Arc::from(LEGACY_LOG_GROUP);
                destinations = std::array::from_fn(|_| legacy_group.clone());
            }
            (None, None) => {}
        }
        let target_max = config
            .targets
            .iter()
            .filter(|_| config.v2.as_ref().is_some_and(|o| !o.disable_all_logs))
            .map(|t| t.level as u8)
            .max()
            .unwrap_or(0);
        let max_rank = levels
            .iter()
            .map(|l| *l as u8)
            .max()
            .unwrap_or(0)
            .max(target_max);
        ResolvedConfig {
            config,
            format,
            levels,
            destinations,
            targets,
            max_rank,
        }
    }

    /// The configuration this was resolved from.
    pub fn config(&self) -> &LoggingConfig {
        &self.config
    }

    /// The V2 options, if V2 is configured.
    pub fn options(&self) -> Option<&LoggingOptions> {
        self.config.v2.as_ref()
    }

    /// JSON (V2) or plain text (legacy V1).
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// The resource-specific level that applies to `client`, if any target matches
    /// (precedence in the module docs).
    pub fn target_level(
        &self,
        client: &ClientIdentity,
        groups: &dyn GroupMembership,
    ) -> Option<LevelSetting> {
        let t = &self.targets;
        if let Some(level) = t.client_ids.get(&client.client_id) {
            return Some(*level);
        }
        if !t.thing_groups.is_empty()
            && let Some(thing) = &client.thing_name
        {
            let mut best: Option<LevelSetting> = None;
            groups.for_each_group_chain(thing, &mut |chain| {
                // The deepest group of this chain that has a level wins within the chain.
                if let Some(level) = chain.iter().rev().find_map(|g| t.thing_groups.get(&**g)) {
                    best = Some(best.map_or(*level, |b| b.max(*level)));
                }
            });
            if best.is_some() {
                return best;
            }
        }
        if let Some(level) = t.principals.get(&client.principal_id) {
            return Some(*level);
        }
        // The most specific block (longest prefix) among matching SOURCE_IP targets.
        t.source_ips
            .iter()
            .filter(|(net, _)| net.contains(client.source_ip))
            .max_by_key(|(net, _)| net.prefix)
            .map(|(_, level)| *level)
    }

    /// The effective level for entries of `event_type` about `client` (see the module docs).
    pub fn level_for(
        &self,
        client: &ClientIdentity,
        groups: &dyn GroupMembership,
        event_type: EventType,
    ) -> LevelSetting {
        self.levels_for(client, groups)[event_type.index()]
    }

    /// The effective level of every event type for `client`, indexed by [`EventType::index`].
    pub fn levels_for(
        &self,
        client: &ClientIdentity,
        groups: &dyn GroupMembership,
    ) -> [LevelSetting; EventType::COUNT] {
        if self.format == LogFormat::Json
            && let Some(level) = self.target_level(client, groups)
        {
            return [level; EventType::COUNT];
        }
        self.levels
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
mod tests;
