//! Thingwatch MQTT broker.
pub mod auth;
pub mod codec;
pub mod config;
pub mod limits;
pub mod topic;
pub mod trie;
