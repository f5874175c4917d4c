//! Thingwatch's AWS IoT thing registry — things, static thing groups (a hierarchy via
//! parents), thing↔group membership, IoT policies with versions, policy attachments
//! (certificate and thing-group targets) and thing principals — and the account's persisted
//! logging configuration (V2 options with event configurations, resource-specific log
//! targets, legacy V1 options).
//!
//! Authorization reads policies through [`Registry::effective_policies`] (parsed once, in
//! memory) and invalidates its per-connection caches when [`Registry::security_epoch`]
//! changes ([`Registry::subscribe_security_changes`] wakes on each change).
//!
//! State lives in one SQLite database, `registry.db` in the data directory (WAL,
//! `synchronous=NORMAL`: a change that returned `Ok` survives `kill -9`). An in-memory
//! [`MembershipIndex`] answers the level gate's [`thingwatch_events::GroupMembership`] queries
//! without touching the database. After every committed change the [`thingwatch_events::Logger`]
//! is told: `set_config` for configuration changes, `invalidate` for membership and hierarchy
//! changes, so connected clients pick up new levels on their next entry.
//!
//! **API Boundary:** this crate knows AWS semantics (existence, uniqueness, versions, limits,
//! idempotency) but not the wire: the `iot` service in `thingwatch-iot-api` validates name
//! patterns and lengths, parses enums and maps [`RegistryError`] to HTTP.
//!
//! Sources: AWS IoT API Reference (operation pages named on each method), Developer Guide
//! *Static thing groups* and *Configure AWS IoT logging*, botocore's `iot` model
//! (`../shared/reference/aws-wire.md`), `../shared/reference/aws-iot-logging.md`.

mod error;
mod groups;
mod membership;
mod policies;
mod principals;
mod registry;
mod security;
mod store;
mod things;
mod token;
mod types;

pub use error::RegistryError;
pub use membership::MembershipIndex;
pub use registry::{MembershipListener, Registry, check_logging_role};
pub use store::DB_FILE;
pub use types::{
    DEFAULT_MAX_LOG_TARGETS, DEFAULT_POLICY_PAGE_SIZE, GroupNameAndArn, ListThingsQuery,
    MAX_DIRECT_CHILD_GROUPS, MAX_GROUPS_PER_THING, MAX_HIERARCHY_DEPTH, MAX_POLICIES_PER_TARGET,
    MAX_POLICY_VERSIONS, MAX_RESULTS_LIMIT, MAX_THING_ATTRIBUTES, MarkerQuery, Page, PolicyInfo,
    PolicySummary, PolicyVersionInfo, PolicyVersionSummary, RegistrySettings, ThingGroupInfo,
    ThingGroupProperties, ThingInfo, ThingPrincipalType,
};

// `Registry` is shared across tasks and threads (the contract with `thingwatch-iot-api`).
const _: fn() = || {
    fn assert_shared<T: Clone + Send + Sync + 'static>() {}
    assert_shared::<Registry>();
    assert_shared::<std::sync::Arc<MembershipIndex>>();
};
