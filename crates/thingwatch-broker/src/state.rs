//! Shared broker state: sessions, the subscription trie, retained messages, and the routing of
//! one message to its subscribers (the part every publish path — MQTT, wills, internal
//! publishers — goes through).
//!
//! Lock order (never the reverse): `sessions` map → one `Session`; the `subs` trie and the
//! `retained` map are only taken with no session lock held, except `subs` under the sessions
//! map when a session is created/ended.

use crate::auth::{Authorizer, Principal};
use crate::codec::{ArcPayload, Property, Version};
use crate::config::BrokerConfig;
use crate::names::{ClientId, TopicName};
use crate::store::{Op, Store};
use crate::topic::ParsedFilter;
use crate::trie::TopicTrie;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;
use thingwatch_events::{ClientIdentity, ClientLog, Logger, MetricName, Protocol, Queued, TraceId};
use tokio::sync::{Notify, oneshot};

/// When a message stops being deliverable: an MQTT 5 *Message Expiry Interval*
/// ([MQTT-3.3.2.3.3]) clamped to AWS's 1…604,800 s ([`crate::limits::clamp_message_expiry`]),
/// kept both as a monotonic deadline (for delivery) and in epoch milliseconds (for the store).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expiry {
    pub at: Instant,
    /// The same deadline, epoch milliseconds, as persisted.
    pub epoch_ms: i64,
}

impl Expiry {
    /// A message received now with a Message Expiry Interval of `requested_secs` (clamped).
    pub fn after_secs(requested_secs: u32) -> Expiry {
        let secs = crate::limits::clamp_message_expiry(requested_secs);
        Expiry {
            at: Instant::now() + std::time::Duration::from_secs(u64::from(secs)),
            epoch_ms: thingwatch_events::now_ms() + i64::from(secs) * 1000,
        }
    }

    /// A persisted deadline (epoch milliseconds); `None` if it already passed.
    pub fn from_epoch_ms(epoch_ms: i64) -> Option<Expiry> {
        let left_ms = epoch_ms.saturating_sub(thingwatch_events::now_ms());
        (left_ms > 0).then(|| Expiry {
            at: Instant::now() + std::time::Duration::from_millis(left_ms as u64),
            epoch_ms,
        })
    }

    /// Whole seconds left at `now`, rounded up (a message with 0.3 s left reports 1 s);
    /// `None` once the deadline passed.
    pub fn remaining_secs(&self, now: Instant) -> Option<u32> {
        let left = self.at.checked_duration_since(now)?;
        if left.is_zero() {
            return None;
        }
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(u32::try_from(secs).unwrap_or(u32::MAX))
    }
}

/// One application message, shared by every delivery of it.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub topic: TopicName,
    pub payload: ArcPayload,
    pub qos: u8,
    pub retain: bool,
    /// v5 properties forwarded to v5 subscribers (without Message Expiry Interval, which is
    /// written per delivery from `expiry`).
    pub props: Vec<Property>,
    /// The Publish-In trace id, repeated on every Publish-Out.
    pub trace: TraceId,
    /// MQTT 5 message expiry; `None` = never expires.
    pub expiry: Option<Expiry>,
    /// The codec's MQTT 3.1.1 QoS 0 PUBLISH of this message (no DUP, no RETAIN, no packet
    /// identifier), encoded at its first such delivery and copied for every further one: a
    /// fan-out to N 3.1.1 subscribers at QoS 0 encodes once, not N times. Not used for
    /// retained messages (they live on in the retained store; no second copy of the payload).
    pub wire_v311_qos0: std::sync::OnceLock<Vec<u8>>,
}

impl Message {
    /// Whether the message's expiry passed at `now` (it must then not be delivered,
    /// [MQTT-3.3.2-5]).
    pub fn expired(&self, now: Instant) -> bool {
        self.expiry.is_some_and(|e| e.remaining_secs(now).is_none())
    }
}

/// A message on its way to one session.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub msg: Arc<Message>,
    pub qos: u8,
    pub retain: bool,
    /// Row id when stored (QoS 1 for a persistent session).
    pub db_id: Option<i64>,
    /// Redelivery: DUP set.
    pub dup: bool,
}

/// Options of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubOpts {
    pub qos: u8,
    pub no_local: bool,
    pub retain_as_published: bool,
}

impl SubOpts {
    pub fn flags(self) -> u8 {
        u8::from(self.no_local) | (u8::from(self.retain_as_published) << 1)
    }
    pub fn from_flags(qos: u8, flags: u8) -> Self {
        SubOpts {
            qos,
            no_local: flags & 1 != 0,
            retain_as_published: flags & 2 != 0,
        }
    }
}

/// Why a live connection is told to close by someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kick {
    /// A new connection with the same client id.
    Takeover,
    /// The connection's credentials were revoked or deactivated (e.g. its certificate).
    AuthRevoked,
}

/// The live connection of a session.
pub(crate) struct Link {
    pub conn_id: u64,
    pub notify: Arc<Notify>,
    pub kick: Option<oneshot::Sender<Kick>>,
}

/// A session: subscriptions and message state of one client id ([MQTT-4.1]).
pub(crate) struct Session {
    pub client_id: ClientId,
    /// Seconds the session survives a disconnect; 0 = ends with the connection.
    pub expiry_secs: u32,
    /// Full filter (with `$share/…`) → options.
    pub subs: HashMap<String, SubOpts>,
    pub queue: VecDeque<Outgoing>,
    pub inflight: BTreeMap<u16, Outgoing>,
    next_pkid: u16,
    pub link: Option<Link>,
    pub disconnected_at: Option<Instant>,
    /// The last connection's log handle and principal (Queued events, receive checks).
    pub log: Arc<ClientLog>,
    pub principal: Principal,
    /// The MQTT version the session was created with; fixed for its lifetime, because AWS IoT
    /// does not carry persistent sessions over between versions (see `handlers::connect`).
    pub version: Version,
}

impl Session {
    pub fn new(
        client_id: ClientId,
        log: Arc<ClientLog>,
        principal: Principal,
        version: Version,
    ) -> Self {
        Session {
            client_id,
            expiry_secs: 0,
            subs: HashMap::new(),
            queue: VecDeque::new(),
            inflight: BTreeMap::new(),
            next_pkid: 0,
            link: None,
            disconnected_at: None,
            log,
            principal,
            version,
        }
    }

    /// Next free outbound packet id (1..=65535, skipping ids in flight).
    pub fn alloc_pkid(&mut self) -> u16 {
        loop {
            self.next_pkid = self.next_pkid.wrapping_add(1);
            if self.next_pkid != 0 && !self.inflight.contains_key(&self.next_pkid) {
                return self.next_pkid;
            }
        }
    }
}

/// Shared-subscription group entry in the trie.
pub(crate) struct Group {
    pub members: Vec<(ClientId, SubOpts)>,
    next: AtomicUsize,
}

/// Trie key: a client, or a shared-subscription group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubKey {
    Client(ClientId),
    Group(Arc<str>),
}

pub(crate) enum SubEntry {
    Client(SubOpts),
    Group(Group),
}

/// Counters for [`crate::BrokerStats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub connections: AtomicU64,
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub queued_dropped: AtomicU64,
}

pub(crate) struct Shared {
    pub config: BrokerConfig,
    pub logger: Logger,
    pub authorizer: Arc<dyn Authorizer>,
    /// Looked up once per delivery: foldhash (randomly seeded) instead of SipHash.
    pub sessions: Mutex<HashMap<ClientId, Arc<Mutex<Session>>, foldhash::fast::RandomState>>,
    pub subs: RwLock<TopicTrie<SubKey, SubEntry>>,
    pub retained: RwLock<HashMap<TopicName, Arc<Message>>>,
    pub store: Store,
    pub counters: Counters,
    pub next_conn_id: AtomicU64,
    /// Tells connections handed over with [`crate::Broker::serve_connection`] (WebSocket) that
    /// the server shuts down; sent when any listener's `serve` stops.
    pub external_shutdown: tokio::sync::broadcast::Sender<()>,
    /// Services behind reserved `$aws/…` request topics ([`crate::Broker::add_reserved_handler`]).
    pub reserved_handlers: arc_swap::ArcSwap<Vec<Arc<dyn crate::hook::ReservedTopicHandler>>>,
    /// Message observers ([`crate::Broker::add_observer`]), offered every accepted message.
    pub observers: arc_swap::ArcSwap<Vec<Arc<crate::ingress::ObserverSlot>>>,
}

/// What routing produced: durable-write tickets to await before acknowledging.
#[derive(Default)]
pub(crate) struct Routed {
    pub durable: Vec<oneshot::Receiver<()>>,
}

impl Shared {
    pub fn metric(&self, m: MetricName) {
        self.logger.metrics().incr(m, Protocol::Mqtt);
    }

    /// A log handle for a client known only by id (an offline session after a restart).
    pub fn offline_log(&self, client_id: &str) -> Arc<ClientLog> {
        Arc::new(self.logger.client(ClientIdentity {
            client_id: client_id.to_owned(),
            principal_id: String::new(),
            source_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            source_port: 0,
            protocol: Protocol::Mqtt,
            thing_name: None,
        }))
    }

    /// Adds `raw` (parsed as `parsed`) for `client` to the trie.
    pub fn trie_add(&self, client: &ClientId, parsed: ParsedFilter<'_>, opts: SubOpts) {
        let mut trie = self.subs.write();
        let res = match parsed.share_group {
            None => trie
                .insert(
                    parsed.filter,
                    SubKey::Client(client.clone()),
                    SubEntry::Client(opts),
                )
                .map(|_| ()),
            Some(g) => {
                let key = SubKey::Group(Arc::from(g));
                if let Some(SubEntry::Group(group)) = trie.get_mut(parsed.filter, &key) {
                    group.members.retain(|(c, _)| c != client);
                    group.members.push((client.clone(), opts));
                    Ok(())
                } else {
                    let group = Group {
                        members: vec![(client.clone(), opts)],
                        next: AtomicUsize::new(0),
                    };
                    trie.insert(parsed.filter, key, SubEntry::Group(group))
                        .map(|_| ())
                }
            }
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "validated filter refused by trie");
        }
    }

    /// Removes `client`'s subscription `parsed` from the trie.
    pub fn trie_remove(&self, client: &ClientId, parsed: ParsedFilter<'_>) {
        let mut trie = self.subs.write();
        match parsed.share_group {
            None => {
                trie.remove(parsed.filter, &SubKey::Client(client.clone()));
            }
            Some(g) => {
                let key = SubKey::Group(Arc::from(g));
                let empty = match trie.get_mut(parsed.filter, &key) {
                    Some(SubEntry::Group(group)) => {
                        group.members.retain(|(c, _)| c != client);
                        group.members.is_empty()
                    }
                    _ => false,
                };
                if empty {
                    trie.remove(parsed.filter, &key);
                }
            }
        }
    }

    /// Ends a session: its subscriptions leave the trie, its stored state the database.
    pub fn drop_session_state(&self, session: &Session) {
        for filter in session.subs.keys() {
            if let Ok(parsed) = crate::topic::parse_filter(filter) {
                self.trie_remove(&session.client_id, parsed);
            }
        }
        if session.expiry_secs > 0 || !session.subs.is_empty() {
            self.store.submit(vec![Op::DelSession {
                client_id: session.client_id.to_string(),
            }]);
        }
    }

    /// Stores or clears the retained message of `msg.topic` (empty payload clears).
    pub fn retain(&self, msg: &Arc<Message>) -> oneshot::Receiver<()> {
        let mut retained = self.retained.write();
        let op = if msg.payload.is_empty() {
            retained.remove(&msg.topic);
            Op::DelRetained {
                topic: msg.topic.to_string(),
            }
        } else {
            retained.insert(msg.topic.clone(), msg.clone());
            Op::PutRetained {
                topic: msg.topic.to_string(),
                payload: msg.payload.as_slice().to_vec(),
                qos: msg.qos,
                expires_at: msg.expiry.map(|e| e.epoch_ms),
            }
        };
        drop(retained);
        self.store.submit_durable(vec![op])
    }

    /// Routes `msg` to every matching subscription; `publisher` is the sending client id (for
    /// v5 No Local).
    pub fn route(&self, msg: &Arc<Message>, publisher: Option<&str>) -> Routed {
        let mut targets: Vec<(ClientId, SubOpts)> = Vec::new();
        {
            let trie = self.subs.read();
            trie.for_each_match(&msg.topic, |key, entry| match (key, entry) {
                (SubKey::Client(c), SubEntry::Client(o))
                    if !(o.no_local && publisher == Some(&**c)) =>
                {
                    targets.push((c.clone(), *o));
                }
                (_, SubEntry::Group(g)) if !g.members.is_empty() => {
                    let i = g.next.fetch_add(1, Ordering::Relaxed) % g.members.len();
                    targets.push(g.members[i].clone());
                }
                _ => {}
            });
        }
        // One delivery per client, at the highest granted QoS ([MQTT-3.3.4-2] allows either).
        targets.sort_by(|a, b| a.0.cmp(&b.0));
        targets.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1.qos = a.1.qos.max(b.1.qos);
                a.1.retain_as_published |= b.1.retain_as_published;
                true
            } else {
                false
            }
        });
        let sessions: Vec<Arc<Mutex<Session>>> = {
            let map = self.sessions.lock();
            targets
                .iter()
                .filter_map(|(c, _)| map.get(c).cloned())
                .collect()
        };
        let mut routed = Routed::default();
        for (session, (_, opts)) in sessions.iter().zip(targets.iter()) {
            let mut s = session.lock();
            let qos = msg.qos.min(opts.qos);
            if !self
                .authorizer
                .authorize_receive(&s.principal, &s.client_id, &msg.topic)
            {
                self.metric(MetricName::PublishOutAuthError);
                continue;
            }
            let out = Outgoing {
                msg: msg.clone(),
                qos,
                retain: opts.retain_as_published && msg.retain,
                db_id: None,
                dup: false,
            };
            if let Some(ticket) = self.enqueue(&mut s, out) {
                routed.durable.push(ticket);
            }
        }
        routed
    }

    /// Puts one delivery into a session's queue (stored first when the session is persistent
    /// and the delivery is QoS 1). Returns the durability ticket of that write.
    pub fn enqueue(&self, s: &mut Session, mut out: Outgoing) -> Option<oneshot::Receiver<()>> {
        let online = s.link.is_some();
        if !online && out.qos == 0 {
            return None; // QoS 0 is never stored for an offline session.
        }
        if s.queue.len() >= self.config.max_queued_per_session {
            self.counters.queued_dropped.fetch_add(1, Ordering::Relaxed);
            if online {
                // An online session's full queue drops the delivery with no AWS event to
                // write; only the metric is counted.
                self.metric(MetricName::PublishOutThrottle);
            } else {
                let trace = out.msg.trace;
                self.logger.emit(&s.log, Queued::QUEUE_FULL, trace, |id| {
                    Queued::failure(
                        id,
                        &out.msg.topic,
                        out.retain,
                        "QUEUE_FULL",
                        "The persistent session's message queue is full",
                    )
                });
            }
            return None;
        }
        let mut ticket = None;
        if s.expiry_secs > 0 && out.qos == 1 {
            let id = self.store.next_msg_id();
            out.db_id = Some(id);
            ticket = Some(self.store.submit_durable(vec![Op::PutMsg {
                id,
                client_id: s.client_id.to_string(),
                topic: out.msg.topic.to_string(),
                payload: out.msg.payload.as_slice().to_vec(),
                retain: out.retain,
                expires_at: out.msg.expiry.map(|e| e.epoch_ms),
            }]));
        }
        if online {
            if let Some(link) = &s.link {
                link.notify.notify_one();
            }
        } else {
            let trace = out.msg.trace;
            self.logger.emit(&s.log, Queued::SUCCESS, trace, |id| {
                Queued::success(id, &out.msg.topic, out.retain)
            });
        }
        s.queue.push_back(out);
        ticket
    }

    /// Retained messages a new subscription to `parsed` receives (AWS: exact-topic
    /// subscriptions only unless configured; never shared subscriptions, [MQTT-3.8.4]);
    /// expired ones are skipped ([MQTT-3.3.2-5]).
    pub fn retained_for(&self, parsed: ParsedFilter<'_>) -> Vec<Arc<Message>> {
        if parsed.share_group.is_some() {
            return Vec::new();
        }
        let retained = self.retained.read();
        let now = Instant::now();
        if !crate::trie::has_wildcard(parsed.filter) {
            return retained
                .get(parsed.filter)
                .filter(|m| !m.expired(now))
                .cloned()
                .into_iter()
                .collect();
        }
        if !self.config.retained_on_wildcard {
            return Vec::new();
        }
        let mut one: TopicTrie<(), ()> = TopicTrie::new();
        if one.insert(parsed.filter, (), ()).is_err() {
            return Vec::new();
        }
        retained
            .values()
            .filter(|m| !m.expired(now) && one.has_match(&m.topic))
            .cloned()
            .collect()
    }
}
