//! The Device Shadow service's limits: typed constants with their AWS sources, and
//! [`ShadowLimits`], the adjustable subset a deployment may change.

/// Maximum bytes of a shadow's `desired` + `reported` state (compact JSON of each section,
/// summed, after the update is merged); metadata does not count. Over it → 413 `The payload
/// exceeds the maximum size allowed`. Source: AWS IoT quotas (*Device Shadow*: 8 KB state
/// document) and Developer Guide *Diagnosing shadows* ("Only the data for desired and reported
/// state … counts toward the limit of 8 KB", metadata excluded).
pub const MAX_STATE_BYTES: usize = 8 * 1024;

/// Maximum nesting of the request's `state` node, counting every object or array on a path
/// with `state` itself as level 1 (so `desired`/`reported` are level 2 and may hold objects
/// four deep — a section depth of 5, as the quotas page states). Over it → 400 `JSON contains
/// too many levels of nesting; maximum is 6`. Sources: Developer Guide *Device Shadow error
/// messages*; AWS's Greengrass shadow manager counts the same way.
pub const MAX_STATE_DEPTH: usize = 6;

/// Maximum bytes of one request payload (the MQTT message size limit, applied to HTTP too).
/// Over it → 413. Source: AWS IoT quotas, *Message broker*: payload 128 KB.
pub const MAX_REQUEST_BYTES: usize = 128 * 1024;

/// Maximum bytes of a `clientToken`. Longer → 400 `Invalid clientToken`. Source: Developer
/// Guide *Device Shadow service documents — Client tokens* ("no longer than 64 bytes").
pub const MAX_CLIENT_TOKEN_BYTES: usize = 64;

/// Thing names: 1–128 characters of `[a-zA-Z0-9:_-]`. Source: `iot-data` model, ThingName
/// (the rule itself is [`thingwatch_aws::ThingName`]).
pub const MAX_THING_NAME_LEN: usize = thingwatch_aws::ThingName::MAX_LEN;

/// Shadow names: 1–64 characters of `[$a-zA-Z0-9:_-]`. Source: `iot-data` model, ShadowName.
pub const MAX_SHADOW_NAME_LEN: usize = 64;

/// Largest `pageSize` of ListNamedShadowsForThing (1–100). Source: `iot-data` model, PageSize.
pub const MAX_LIST_PAGE_SIZE: usize = 100;

/// How long a deleted shadow's version is remembered: a shadow re-created within this time
/// continues from the deleted version; later it starts again at version 1. Source: Developer
/// Guide *Interacting with shadows — DELETE* ("deleted within the past 48 hours, the version
/// number of the new device shadow document will follow that of the deleted one").
pub const TOMBSTONE_RETENTION_MS: i64 = 48 * 60 * 60 * 1000;

/// The limits one [`crate::ShadowService`] enforces. `Default` is AWS's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShadowLimits {
    /// Maximum bytes of `desired` + `reported` after a merge (default [`MAX_STATE_BYTES`];
    /// AWS raises it on request).
    pub max_state_bytes: usize,
    /// Maximum nesting of a request's `state` (default [`MAX_STATE_DEPTH`]).
    pub max_state_depth: usize,
    /// Maximum bytes of a request payload (default [`MAX_REQUEST_BYTES`]).
    pub max_request_bytes: usize,
    /// How long (ms) a deleted shadow's version is kept (default [`TOMBSTONE_RETENTION_MS`]).
    pub tombstone_retention_ms: i64,
}

impl Default for ShadowLimits {
    fn default() -> ShadowLimits {
        ShadowLimits {
            max_state_bytes: MAX_STATE_BYTES,
            max_state_depth: MAX_STATE_DEPTH,
            max_request_bytes: MAX_REQUEST_BYTES,
            tombstone_retention_ms: TOMBSTONE_RETENTION_MS,
        }
    }
}
