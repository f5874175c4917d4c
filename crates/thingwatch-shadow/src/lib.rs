//! Thingwatch's AWS IoT Device Shadow service, transport-agnostic: classic and named shadows,
//! their document semantics (merge of `desired`/`reported`, `null` deletes, `delta`,
//! per-leaf `metadata` timestamps, versions with optimistic locking, `clientToken` echo), the
//! documented limits with their error codes, the reserved MQTT topics, and persistence in
//! SQLite (`shadows.db` in the data directory; survives `kill -9` once a call returned).
//!
//! Two layers:
//! - [`ShadowService`] (document semantics, limits, storage) returns the exact payloads AWS
//!   publishes on `…/accepted|rejected|delta|documents` and returns over HTTP; it does no
//!   networking, emits no log events and counts no metrics.
//! - [`ShadowGateway`] puts it on the wire: the broker's handler for the reserved MQTT
//!   topics (registered with `Broker::add_reserved_handler`), the operations behind the
//!   `iotdata` HTTP API, AWS's 429 throttling, the `GetThingShadow` / `UpdateThingShadow` /
//!   `DeleteThingShadow` log events and the `*.Accepted` metrics.
//!
//! Times: callers pass `now_ms` (epoch milliseconds); every payload `timestamp` and metadata
//! timestamp is epoch **seconds**, as AWS sends them.
//!
//! Sources: AWS IoT Developer Guide — *Device Shadow service documents*, *Interacting with
//! shadows*, *Device Shadow MQTT topics*, *Device Shadow REST API*, *Device Shadow error
//! messages*, *Diagnosing shadows*, AWS IoT quotas; the `iot-data` botocore model
//! (`../shared/reference/aws-wire.md`); the AWS-verified moto tests
//! `tests/test_iotdata/test_iotdata.py`.

mod document;
mod error;
mod gateway;
mod limits;
mod names;
mod service;
mod store;
mod topic;

pub use error::{ShadowError, ShadowErrorKind};
pub use gateway::{
    GatewayLimits, HttpCaller, MAX_IN_FLIGHT_PER_CONNECTION, REQUEST_QUEUE_CAPACITY,
    REQUESTS_PER_SECOND_PER_THING, RESPONSE_QOS, ShadowGateway, ShadowQueueStats,
    THROTTLED_MESSAGE,
};
pub use limits::{
    MAX_CLIENT_TOKEN_BYTES, MAX_LIST_PAGE_SIZE, MAX_REQUEST_BYTES, MAX_SHADOW_NAME_LEN,
    MAX_STATE_BYTES, MAX_STATE_DEPTH, MAX_THING_NAME_LEN, ShadowLimits, TOMBSTONE_RETENTION_MS,
};
pub use names::{validate_shadow_name, validate_thing_name};
pub use service::{NamedPage, ShadowService, UpdateOutcome};
pub use store::DB_FILE;
pub use topic::{
    Reply, ShadowOp, ShadowTopic, parse_request_topic, request_topic, response_topic, topic_prefix,
};

/// Reads the optional `clientToken` of an MQTT `…/get` or `…/delete` request payload (empty,
/// or a JSON object such as `{"clientToken":"abc"}`); other content is ignored, as AWS
/// ignores the content of delete requests. Errors: 400 `Invalid clientToken` when the token
/// is not a string of at most [`MAX_CLIENT_TOKEN_BYTES`] bytes.
pub fn request_client_token(payload: &[u8]) -> Result<Option<String>, ShadowError> {
    match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(root)) => document::client_token(&root),
        _ => Ok(None),
    }
}

// `ShadowService` is shared across tasks and threads (the contract with the broker and API).
const _: fn() = || {
    fn assert_shared<T: Clone + Send + Sync + 'static>() {}
    assert_shared::<ShadowService>();
    assert_shared::<ShadowGateway>();
};
