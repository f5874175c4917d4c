//! Thingwatch MQTT broker.
pub mod trie;
