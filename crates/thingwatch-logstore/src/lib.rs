//! Embedded CloudWatch Logs–compatible log store of Thingwatch.
//!
//! Log groups, log streams and log events live in a data directory on the
//! [fjall](https://docs.rs/fjall) embedded LSM engine (chosen by measurement, see
//! `docs/decisions/0002-log-store-engine.md`). The public surface mirrors the CloudWatch Logs
//! API (`CreateLogGroup`, `PutLogEvents`, `GetLogEvents`, `FilterLogEvents`, …) as synchronous
//! methods on [`LogStore`]; the HTTP/JSON wire shapes live in `thingwatch-logs-api`, not here.
//!
//! **Architecture Invariant:** this crate knows nothing of MQTT or AWS IoT; it stores opaque
//! UTF-8 messages with millisecond timestamps. All times are epoch **milliseconds** (`i64`).
//!
//! Module map:
//! - [`filter_pattern`] — CloudWatch filter-pattern parser and matcher.
//! - `store` — [`LogStore`]; `keys` — binary key layout and catalog records; `block` —
//!   compressed event blocks (the storage unit of events); `token` — pagination tokens.
//! - [`limits`] — PutLogEvents batch limits and query limits, each with its AWS source.

pub mod filter_pattern;
pub mod limits;

mod block;
mod error;
mod keys;
mod store;
mod token;
mod types;

pub use block::Codec;
pub use error::StoreError;
pub use store::{LogStore, Tuning, VALID_RETENTION_DAYS};
pub use types::*;
