//! Shared test harness: a broker on 127.0.0.1:0 logging at DEBUG into a `MemorySink`
//! ([`loopback_broker`]), rumqttc clients, and test-support's raw-bytes MQTT client
//! ([`RawClient`]) and packets, for exact-bytes assertions in both MQTT versions.
#![allow(dead_code)]

pub mod loopback_broker;

pub use loopback_broker::BrokerServer;
use rumqttc::{AsyncClient, Event, Incoming, LastWill, MqttOptions};
pub use std::net::SocketAddr;
pub use std::time::Duration;
use thingwatch_broker::BrokerConfig;
use thingwatch_events::{LevelSetting, LoggingOptions};
pub use thingwatch_test_support::mqtt::*;
use tokio::sync::{mpsc, oneshot};

/// A broker on `dir` with `config`, logging every event (default level DEBUG).
pub async fn start(dir: &std::path::Path, config: BrokerConfig) -> BrokerServer {
    loopback_broker::start_broker(
        dir,
        config,
        Some(LoggingOptions {
            default_log_level: LevelSetting::Debug,
            ..Default::default()
        }),
    )
    .await
}

/// A 3.1.1 client whose received PUBLISHes arrive on the returned channel.
pub async fn v4(
    addr: SocketAddr,
    id: &str,
    clean: bool,
    will: Option<LastWill>,
) -> (
    AsyncClient,
    mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>,
    tokio::task::JoinHandle<()>,
) {
    let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    o.set_clean_session(clean)
        .set_keep_alive(Duration::from_secs(30));
    if let Some(w) = will {
        o.set_last_will(w);
    }
    let (client, mut el) = AsyncClient::new(o, 100);
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let mut ready = Some(ready_tx);
    let task = tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Incoming::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec(), p.retain));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), ready_rx)
        .await
        .unwrap()
        .unwrap();
    (client, rx, task)
}

pub async fn recv(
    rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>,
) -> Option<(String, Vec<u8>, bool)> {
    tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .ok()
        .flatten()
}

pub async fn nothing(rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>) -> bool {
    tokio::time::timeout(Duration::from_millis(300), rx.recv())
        .await
        .is_err()
}
