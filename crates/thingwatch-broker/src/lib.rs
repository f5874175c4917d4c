//! Thingwatch's MQTT message broker: MQTT 3.1.1 and 5 over TCP with AWS IoT Core semantics
//! (QoS 0/1, retained messages, wills, persistent sessions, shared subscriptions, AWS limits),
//! emitting the AWS IoT v2 broker log events and `AWS/IoT` metrics through
//! [`thingwatch_events::Logger`].
//!
//! # Layout
//! - [`codec`]: the boundary to the packet library (no I/O).
//! - [`trie`]: the standalone topic-filter trie.
//! - [`topic`], [`limits`]: AWS topic rules and quotas; [`names`]: [`ClientId`] and [`TopicName`].
//! - `handlers/`: one handler per packet plus the dispatcher that maps errors to reason codes.
//! - `connection`: one connection's lifecycle; `server`: listener, connection cap, shutdown.
//! - `state`: sessions, routing, retained messages; [`store`]: SQLite persistence.
//! - [`auth`]: the [`Authorizer`] hook and [`LoopbackAnonymous`].
//! - [`hook`]: [`ReservedTopicHandler`], how services behind `$aws/…` request topics (Device
//!   Shadow) receive PUBLISHes.
//!
//! **Architecture Invariant:** only the dispatcher (`handlers/mod.rs` + `connection::fail`)
//! turns a handler error into a DISCONNECT reason code and an AWS `disconnectReason`.

pub mod auth;
pub mod codec;
pub mod config;
mod connection;
mod handlers;
pub mod hook;
pub mod ingress;
pub mod limits;
pub mod names;
mod server;
mod state;
pub mod store;
pub mod topic;
pub mod trie;

pub use auth::{
    ANONYMOUS_PRINCIPAL, AuthError, Authorizer, ConnectRequest, LoopbackAnonymous, Principal,
    Transport,
};
pub use codec::PublishProperties;
pub use config::BrokerConfig;
pub use hook::{ReservedPublish, ReservedTopicHandler};
pub use ingress::{
    ClientOrigin, HTTP_CLIENT_ID, MessageObserver, ObservedMessage, ObserverConfig, ObserverStats,
    Origin, Sender,
};
pub use names::{ClientId, ClientIdError, TopicName};

use state::{Message, Outgoing, Session, Shared, SubOpts};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use thingwatch_events::{Logger, TraceId};

/// Errors of [`Broker::open`] and [`Broker::publish`].
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The data directory's database could not be opened or read.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A topic name refused by AWS's rules ([`topic::validate_topic_name`]).
    #[error("invalid topic: {0}")]
    Topic(#[from] topic::TopicError),
    /// A payload over [`limits::MAX_PAYLOAD_BYTES`].
    #[error("payload exceeds 128 KiB")]
    PayloadTooLarge,
    /// QoS other than 0 or 1.
    #[error("QoS {0} is not supported")]
    Qos(u8),
    /// A durable write did not complete.
    #[error("storage write failed")]
    Storage,
    /// The client's policy does not allow `iot:Publish` on the topic.
    #[error("not authorized to publish on this topic")]
    NotAuthorized,
    /// A retained message on a reserved `$aws/…` topic (AWS IoT does not retain those).
    #[error("reserved topics cannot be retained")]
    RetainNotSupported,
}

/// Broker counters (cumulative since [`Broker::open`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BrokerStats {
    /// Connections accepted (CONNACK success).
    pub connections: u64,
    /// Sessions currently known (online or persistent offline).
    pub sessions: usize,
    /// Subscriptions (trie entries; a shared group counts once).
    pub subscriptions: usize,
    /// Retained messages stored.
    pub retained: usize,
    /// PUBLISHes accepted.
    pub messages_in: u64,
    /// Deliveries written to subscribers.
    pub messages_out: u64,
    /// Deliveries dropped because a session queue was full.
    pub queued_dropped: u64,
    /// Topic-trie counters.
    pub trie: trie::TrieStats,
    /// The `broker-store` queue (writes waiting for the SQLite writer): its capacity and how
    /// often and how long submitters waited for room (it blocks, never drops).
    pub store_queue: store::StoreQueueStats,
}

/// An internal publish (the iot-data HTTP `Publish` API, rules' republish, …).
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// Topic name (AWS limits apply).
    pub topic: String,
    /// Payload, at most 128 KiB.
    pub payload: Vec<u8>,
    /// 0 or 1.
    pub qos: u8,
    /// Store as the topic's retained message (empty payload clears it).
    pub retain: bool,
    /// The trace id of the caller's own `Publish-In` entry, so `Publish-Out` entries share it.
    pub trace_id: TraceId,
    /// MQTT 5 Message Expiry Interval, seconds (clamped to AWS's 1…604,800 s); `None` = the
    /// message never expires. (iot-data `Publish`: `messageExpiry`.)
    pub message_expiry: Option<u32>,
    /// MQTT 5 properties forwarded to v5 subscribers (a rule's republish `headers`); empty
    /// for none.
    pub properties: codec::PublishProperties,
}

/// The MQTT broker. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Broker {
    shared: Arc<Shared>,
}

/// A handle to a [`Broker`] that does not keep it alive ([`Broker::downgrade`]): for a
/// [`MessageObserver`] that publishes back (the rules engine's republish), which the broker
/// itself owns — a strong handle there would be a cycle and the broker would never be freed.
#[derive(Clone)]
pub struct WeakBroker(std::sync::Weak<Shared>);

impl WeakBroker {
    /// The broker, if it still exists.
    pub fn upgrade(&self) -> Option<Broker> {
        self.0.upgrade().map(|shared| Broker { shared })
    }
}

impl Broker {
    /// Opens the broker's state in `data_dir` (`broker.sqlite3`: retained messages and
    /// persistent sessions, loaded now).
    ///
    /// # Errors
    /// [`BrokerError::Store`] if the database cannot be opened or read.
    pub fn open(
        data_dir: &Path,
        config: BrokerConfig,
        logger: Logger,
        authorizer: Arc<dyn Authorizer>,
    ) -> Result<Broker, BrokerError> {
        let (store, loaded) = store::Store::open(data_dir)?;
        let shared = Arc::new(Shared {
            config,
            logger,
            authorizer,
            sessions: Default::default(),
            subs: Default::default(),
            retained: Default::default(),
            store,
            counters: Default::default(),
            next_conn_id: Default::default(),
            reserved_handlers: Default::default(),
            observers: Default::default(),
            external_shutdown: tokio::sync::broadcast::channel(1).0,
        });
        {
            let mut retained = shared.retained.write();
            for (topic, payload, qos, expires_at) in loaded.retained {
                let expiry = expires_at.map(state::Expiry::from_epoch_ms);
                if let Some(None) = expiry {
                    // Expired while the broker was down.
                    shared.store.submit(vec![store::Op::DelRetained { topic }]);
                    continue;
                }
                let topic = TopicName::stored(topic);
                let msg = Message {
                    topic: topic.clone(),
                    payload: codec::payload_from_vec(payload),
                    qos,
                    retain: true,
                    props: Vec::new(),
                    trace: TraceId::new(),
                    expiry: expiry.flatten(),
                    wire_v311_qos0: Default::default(),
                };
                retained.insert(topic, Arc::new(msg));
            }
        }
        let now_s = thingwatch_events::now_ms() / 1000;
        let now = std::time::Instant::now();
        for ls in loaded.sessions {
            let client_id = ClientId::stored(&ls.client_id);
            let principal = Principal {
                principal_id: String::new(),
                thing_name: None,
            };
            let mut s = Session::new(
                client_id.clone(),
                shared.offline_log(&ls.client_id),
                principal,
                codec::Version::from_level(ls.version).unwrap_or(codec::Version::V311),
            );
            s.expiry_secs = ls.expiry_secs;
            let ago = std::time::Duration::from_secs(
                ls.disconnected_at.map_or(0, |t| (now_s - t).max(0) as u64),
            );
            s.disconnected_at = Some(now.checked_sub(ago).unwrap_or(now));
            for (filter, qos, flags) in ls.subs {
                if let Ok(parsed) = topic::parse_filter(&filter) {
                    let opts = SubOpts::from_flags(qos, flags);
                    shared.trie_add(&client_id, parsed, opts);
                    s.subs.insert(filter, opts);
                }
            }
            for (id, topic, payload, retain, expires_at) in ls.msgs {
                let expiry = expires_at.map(state::Expiry::from_epoch_ms);
                if let Some(None) = expiry {
                    shared.store.submit(vec![store::Op::DelMsg { id }]);
                    continue;
                }
                let msg = Message {
                    topic: TopicName::stored(topic),
                    payload: codec::payload_from_vec(payload),
                    qos: 1,
                    retain,
                    props: Vec::new(),
                    trace: TraceId::new(),
                    expiry: expiry.flatten(),
                    wire_v311_qos0: Default::default(),
                };
                s.queue.push_back(Outgoing {
                    msg: Arc::new(msg),
                    qos: 1,
                    retain,
                    db_id: Some(id),
                    dup: true,
                });
            }
            shared
                .sessions
                .lock()
                .insert(client_id, Arc::new(parking_lot::Mutex::new(s)));
        }
        server::sweep_expired(&shared);
        Ok(Broker { shared })
    }

    /// Serves MQTT on `listener` until `shutdown` completes, then sends every client a
    /// DISCONNECT (v5 0x8B *Server shutting down*), logs `SERVER_INITIATED_DISCONNECT`, and
    /// returns once every connection handler has finished.
    ///
    /// # Errors
    /// Currently none beyond the listener's; accept errors are retried with backoff.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        server::serve(
            self.shared.clone(),
            listener,
            server::Listener::Plain,
            shutdown,
        )
        .await
    }

    /// Runs one MQTT connection over a byte stream another server accepted — e.g. MQTT over
    /// WebSocket on the HTTP port, where `transport.principal` is the SigV4 identity of the
    /// upgrade request. Returns when the connection ends, or closes it (DISCONNECT 0x8B,
    /// `SERVER_INITIATED_DISCONNECT`) when a listener's `serve` shuts down. Such connections
    /// do not count against `max_connections`.
    pub async fn serve_connection<S>(
        &self,
        stream: S,
        peer: std::net::SocketAddr,
        transport: Transport,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let shutdown = self.shared.external_shutdown.subscribe();
        connection::run(self.shared.clone(), stream, peer, transport, shutdown).await;
    }

    /// Serves MQTT over TLS on `listener` (AWS IoT's port 8883) with `tls` — typically
    /// mutual TLS, whose verified client certificate reaches [`Authorizer::authenticate`] as
    /// [`ConnectRequest::client_certificate`]. A refused handshake is logged as a `Connect`
    /// Failure (`AUTHORIZATION_FAILURE`, details from [`Authorizer::describe_tls_failure`])
    /// and counted as `Connect.AuthError`. Shutdown as [`Broker::serve`].
    ///
    /// # Errors
    /// Currently none beyond the listener's.
    pub async fn serve_tls(
        &self,
        listener: tokio::net::TcpListener,
        tls: Arc<rustls::ServerConfig>,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        server::serve(
            self.shared.clone(),
            listener,
            server::Listener::Tls(acceptor),
            shutdown,
        )
        .await
    }

    /// Publishes a message through the one ingress ([`ingress`]) on behalf of `origin`: an
    /// HTTPS caller ([`Origin::Http`]: logs `Publish-In` with protocol `HTTP`) or a server
    /// component ([`Origin::Component`]: no `Publish-In`). Reserved request topics reach their
    /// handler and every observer sees the message, as for an MQTT PUBLISH. Returns once
    /// durable writes (retained, queued) are committed.
    ///
    /// # Errors
    /// [`BrokerError`] for an invalid topic, payload over 128 KiB, QoS 2, a retained message
    /// on a reserved topic, a refused `iot:Publish` ([`Origin::Connection`] only) or a storage
    /// failure; refusals are logged as `Publish-In` Failures for client origins.
    pub async fn publish(
        &self,
        origin: Origin<'_>,
        req: PublishRequest,
    ) -> Result<(), BrokerError> {
        let accepted = ingress::ingest(&self.shared, origin, Self::inbound(req))?;
        for t in accepted.durable {
            t.await.map_err(|_| BrokerError::Storage)?;
        }
        Ok(())
    }

    /// [`Broker::publish`] without waiting for durable writes (they are submitted; a crash
    /// right after may lose a queued QoS 1 copy, as with any QoS 1 message not yet
    /// acknowledged). For services answering on reserved topics from a non-async context,
    /// e.g. the Device Shadow service's `…/accepted` responses; each delivery logs its
    /// `Publish-Out` under `req.trace_id`.
    ///
    /// # Errors
    /// As [`Broker::publish`], except storage failures.
    pub fn publish_detached(
        &self,
        origin: Origin<'_>,
        req: PublishRequest,
    ) -> Result<(), BrokerError> {
        ingress::ingest(&self.shared, origin, Self::inbound(req)).map(drop)
    }

    /// A handle that does not keep the broker alive.
    pub fn downgrade(&self) -> WeakBroker {
        WeakBroker(Arc::downgrade(&self.shared))
    }

    /// Registers a [`MessageObserver`]: from now on it sees every message the ingress accepts
    /// (MQTT over TCP, TLS, WebSocket, wills, HTTPS Publish, component messages, including
    /// `$aws/…` topics), on its own thread behind a bounded queue named `config.name`.
    ///
    /// # Errors
    /// The observer thread could not be started.
    pub fn add_observer(
        &self,
        config: ObserverConfig,
        observer: impl MessageObserver,
    ) -> std::io::Result<()> {
        let slot = ingress::ObserverSlot::start(config, Box::new(observer))?;
        self.shared.observers.rcu(|os| {
            let mut v = Vec::clone(os);
            v.push(slot.clone());
            v
        });
        Ok(())
    }

    /// The counters of every observer queue, in registration order.
    pub fn observer_stats(&self) -> Vec<ObserverStats> {
        self.shared
            .observers
            .load()
            .iter()
            .map(|o| o.stats())
            .collect()
    }

    /// Closes every live connection authenticated as `principal_id` (e.g. a certificate that
    /// was just revoked or deactivated): each gets DISCONNECT 0x87 *Not authorized* (MQTT 5)
    /// or a closed socket (3.1.1) and logs `Disconnect` with `AUTH_ERROR`. Returns how many
    /// connections were told to close.
    pub fn disconnect_principal(&self, principal_id: &str) -> usize {
        let sessions: Vec<_> = self.shared.sessions.lock().values().cloned().collect();
        let mut n = 0;
        for s in sessions {
            let mut s = s.lock();
            if s.principal.principal_id != principal_id {
                continue;
            }
            if let Some(kick) = s.link.as_mut().and_then(|l| l.kick.take()) {
                let _ = kick.send(state::Kick::AuthRevoked);
                n += 1;
            }
        }
        n
    }

    /// Registers a service for reserved request topics (see [`ReservedTopicHandler`]). Every
    /// accepted client PUBLISH whose topic the handler [`handles`](ReservedTopicHandler::handles)
    /// is passed to it after routing.
    pub fn add_reserved_handler(&self, handler: Arc<dyn ReservedTopicHandler>) {
        self.shared.reserved_handlers.rcu(|hs| {
            let mut v = Vec::clone(hs);
            v.push(handler.clone());
            v
        });
    }

    fn inbound(req: PublishRequest) -> ingress::Inbound {
        ingress::Inbound {
            topic: Arc::from(req.topic),
            payload: codec::payload_from_vec(req.payload),
            qos: req.qos,
            retain: req.retain,
            props: req.properties.to_props(),
            message_expiry: req.message_expiry,
            trace: req.trace_id,
        }
    }

    /// Counters and sizes.
    pub fn stats(&self) -> BrokerStats {
        let c = &self.shared.counters;
        let trie = self.shared.subs.read().stats();
        BrokerStats {
            connections: c.connections.load(Ordering::Relaxed),
            sessions: self.shared.sessions.lock().len(),
            subscriptions: trie.entries,
            retained: self.shared.retained.read().len(),
            messages_in: c.messages_in.load(Ordering::Relaxed),
            messages_out: c.messages_out.load(Ordering::Relaxed),
            queued_dropped: c.queued_dropped.load(Ordering::Relaxed),
            trie,
            store_queue: self.shared.store.queue_stats(),
        }
    }

    /// Stops the storage writer after applying what is queued (call after `serve` returned).
    pub fn close(&self) {
        // Observer threads end once their queues are drained.
        self.shared.observers.store(Default::default());
        self.shared.store.close();
    }
}
