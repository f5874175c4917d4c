//! MQTT test clients on `rumqttc` (the real client library) for in-process server tests:
//! connect and wait for the CONNACK, subscribe and wait for the SUBACK, publish at QoS 1 and
//! wait for the PUBACK, and read the next PUBLISH — each within [`WAIT`], panicking with what
//! did not arrive.

use rumqttc::{AsyncClient, ConnectReturnCode, Event, EventLoop, Incoming, MqttOptions, QoS};
use std::net::SocketAddr;
use std::time::Duration;

/// How long each step waits for its answer.
pub const WAIT: Duration = Duration::from_secs(10);

/// Connects `client_id` to the plain MQTT listener at `addr` (keep-alive 30 s) and waits for
/// a successful CONNACK.
pub async fn connect(addr: SocketAddr, client_id: &str) -> (AsyncClient, EventLoop) {
    let mut opts = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    connect_with(opts).await
}

/// Connects with `opts` and waits for a successful CONNACK.
pub async fn connect_with(opts: MqttOptions) -> (AsyncClient, EventLoop) {
    let (client, mut el) = AsyncClient::new(opts, 50);
    loop {
        match tokio::time::timeout(WAIT, el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::ConnAck(ack)))) => {
                assert_eq!(ack.code, ConnectReturnCode::Success);
                return (client, el);
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("connect failed: {e}"),
            Err(_) => panic!("no CONNACK"),
        }
    }
}

/// Subscribes to `filter` at QoS 1 and waits for the SUBACK.
pub async fn subscribe(client: &AsyncClient, el: &mut EventLoop, filter: &str) {
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    loop {
        match tokio::time::timeout(WAIT, el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::SubAck(_)))) => return,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("subscribe failed: {e}"),
            Err(_) => panic!("no SUBACK"),
        }
    }
}

/// Publishes at QoS 1 and waits for the PUBACK.
pub async fn publish(client: &AsyncClient, el: &mut EventLoop, topic: &str, payload: &[u8]) {
    client
        .publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(WAIT, el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::PubAck(_)))) => return,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("publish failed: {e}"),
            Err(_) => panic!("no PUBACK for {topic}"),
        }
    }
}

/// The next PUBLISH this client receives: `(topic, payload)`.
pub async fn next_message(el: &mut EventLoop) -> (String, Vec<u8>) {
    loop {
        match tokio::time::timeout(WAIT, el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::Publish(p)))) => {
                return (p.topic.clone(), p.payload.to_vec());
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("connection failed: {e}"),
            Err(_) => panic!("nothing received"),
        }
    }
}
