//! MQTT authentication and authorization as AWS IoT Core does it, behind the broker's
//! [`Authorizer`] trait:
//!
//! - **Authentication.** A TLS connection presents a client certificate that the TLS layer
//!   already verified (registered and ACTIVE — `thingwatch_certs::RegistryClientVerifier`); its
//!   principal is the certificate ID (SHA-256 of the DER, 64 hex). An MQTT-over-WebSocket
//!   connection carries the IAM identity its SigV4-signed upgrade proved. Plain TCP is
//!   accepted from loopback only, as the principal `anonymous`, with everything allowed (the
//!   development listener; see `thingwatch_broker::LoopbackAnonymous`).
//! - **Authorization.** Certificate principals: the IoT policies attached to the certificate
//!   (and to the thing groups of its thing), evaluated with `thingwatch_policy` — default deny,
//!   explicit `Deny` wins — for `iot:Connect` on `client/CLIENT_ID`, `iot:Publish` and
//!   `iot:Receive` on `topic/TOPIC`, `iot:Subscribe` on `topicfilter/FILTER`. IAM principals:
//!   their identity policies through [`IdentityPolicies`]. Policy variables
//!   (`${iot:ClientId}`, `${iot:Connection.Thing.ThingName}`, `…IsAttached`, `…ThingTypeName`,
//!   `…Attributes[…]`, `${aws:SourceIp}`) come from the connection.
//! - **Caching.** Each connection keeps its evaluation context (parsed policies and the
//!   request template with its variables), refreshed when the [`PolicySource`]'s security
//!   epoch changes (a policy, version, attachment or thing-principal change).
//! - **Revocation.** [`watch_certificates`] closes live connections whose certificate becomes
//!   INACTIVE or REVOKED, or is deleted.
//!
//! Sources: AWS IoT Developer Guide *AWS IoT Core policies*, *Policy variables*, *Thing policy
//! variables*, *Authorization*, *Client authentication*.

use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use thingwatch_broker::{AuthError, Authorizer, Broker, ConnectRequest, Principal};
use thingwatch_certs::{CertificateEvent, CertificateRegistry, CertificateStatus, Refusal};
use thingwatch_policy::iot::{self, IotResource};
use thingwatch_policy::{PolicyDocument, Request, evaluate};

/// Where IoT policies and thing attachments come from (the registry implements it).
pub trait PolicySource: Send + Sync {
    /// Parsed default versions of the policies that apply to `principal_arn` (a certificate
    /// ARN), including those attached to the thing groups of `thing_name`.
    fn effective_policies(
        &self,
        principal_arn: &str,
        thing_name: Option<&str>,
    ) -> Vec<Arc<PolicyDocument>>;
    /// Things the principal is attached to, and which of them (if any) exclusively.
    fn principal_things(&self, principal_arn: &str) -> (Vec<String>, Option<String>);
    /// A thing's type name and attributes; `None` when the thing does not exist.
    fn thing_attributes(&self, thing: &str) -> Option<(Option<String>, BTreeMap<String, String>)>;
    /// Changes on every policy, policy-version, attachment or thing-principal change.
    fn security_epoch(&self) -> u64;
}

/// Authorization of IAM principals (MQTT over SigV4 WebSocket): `true` when the identity's
/// policies allow `action` on `resource`.
pub trait IdentityPolicies: Send + Sync {
    /// Decides one IAM-authorized MQTT action (`iot:Connect`, `iot:Publish`, …).
    fn allows(&self, principal_arn: &str, action: &str, resource: &str) -> bool;
}

/// What the broker asks about, evaluated against one connection's context.
struct ConnContext {
    principal_id: String,
    kind: Kind,
}

enum Kind {
    /// A certificate principal: its policies and the request template (variables set).
    Certificate {
        arn: String,
        thing: Option<String>,
        epoch: u64,
        docs: Vec<Arc<PolicyDocument>>,
        request: Request,
    },
    /// An IAM principal (WebSocket).
    Iam { arn: String },
}

/// The AWS IoT authorizer. Cheap to clone.
#[derive(Clone)]
pub struct IotAuthorizer {
    inner: Arc<Inner>,
}

struct Inner {
    certs: CertificateRegistry,
    policies: Arc<dyn PolicySource>,
    identities: Option<Arc<dyn IdentityPolicies>>,
    region: String,
    account_id: String,
    /// Live connections by client ID, oldest first. Normally one; during a takeover the new
    /// connection authenticates before the old one has finished, so briefly two. Decisions use
    /// the newest; a finished connection removes the oldest context of its principal.
    connections: RwLock<HashMap<String, Vec<Arc<Mutex<ConnContext>>>>>,
}

impl IotAuthorizer {
    /// An authorizer for account `account_id` in `region` (resource ARNs
    /// `arn:aws:iot:REGION:ACCOUNT:…`).
    pub fn new(
        certs: CertificateRegistry,
        policies: Arc<dyn PolicySource>,
        identities: Option<Arc<dyn IdentityPolicies>>,
        region: &str,
        account_id: &str,
    ) -> IotAuthorizer {
        IotAuthorizer {
            inner: Arc::new(Inner {
                certs,
                policies,
                identities,
                region: region.to_owned(),
                account_id: account_id.to_owned(),
                connections: RwLock::new(HashMap::new()),
            }),
        }
    }

    fn arn(&self, kind: IotResource, name: &str) -> String {
        kind.arn(&self.inner.region, &self.inner.account_id, name)
    }

    /// The thing a certificate connection is associated with: its exclusive thing, else the
    /// attached thing whose name equals the client ID (AWS: "the client ID must match the
    /// thing name" for non-exclusive attachments).
    fn thing_for(&self, arn: &str, client_id: &str) -> Option<String> {
        let (things, exclusive) = self.inner.policies.principal_things(arn);
        exclusive.or_else(|| things.into_iter().find(|t| t == client_id))
    }

    fn certificate_request(
        &self,
        client_id: &str,
        thing: Option<&str>,
        source_ip: &str,
    ) -> Request {
        let mut req = Request::new(
            iot::ACTION_CONNECT,
            self.arn(IotResource::Client, client_id),
        )
        .with(iot::KEY_CLIENT_ID, client_id)
        .with(iot::KEY_SOURCE_IP, source_ip)
        .with(
            iot::KEY_THING_IS_ATTACHED,
            if thing.is_some() { "true" } else { "false" },
        );
        if let Some(thing) = thing {
            req = req.with(iot::KEY_THING_NAME, thing);
            if let Some((type_name, attributes)) = self.inner.policies.thing_attributes(thing) {
                if let Some(t) = type_name {
                    req = req.with(iot::KEY_THING_TYPE_NAME, t);
                }
                for (k, v) in attributes {
                    req = req.with(&iot::thing_attribute_key(&k), v);
                }
            }
        }
        req
    }

    fn insert(&self, client_id: &str, ctx: ConnContext) {
        self.inner
            .connections
            .write()
            .entry(client_id.to_owned())
            .or_default()
            .push(Arc::new(Mutex::new(ctx)));
    }

    /// An IAM identity's decision: its policies through [`IdentityPolicies`]; without one, only
    /// the account root (`arn:aws:iam::ACCOUNT:root`, which AWS never restricts) is allowed.
    fn iam_allows(&self, arn: &str, action: &str, resource: &str) -> bool {
        match &self.inner.identities {
            Some(i) => i.allows(arn, action, resource),
            None => arn == thingwatch_aws::Arn::iam_root(&self.inner.account_id).to_string(),
        }
    }

    /// Evaluates `action` on `resource` for the live connection `client_id`.
    fn decide(
        &self,
        principal: &Principal,
        client_id: &str,
        action: &str,
        kind: IotResource,
        name: &str,
    ) -> bool {
        if principal.principal_id == thingwatch_broker::ANONYMOUS_PRINCIPAL {
            return true;
        }
        let ctx = self
            .inner
            .connections
            .read()
            .get(client_id)
            .and_then(|v| v.last().cloned());
        let Some(ctx) = ctx else {
            return false;
        };
        let mut ctx = ctx.lock();
        if ctx.principal_id != principal.principal_id {
            return false;
        }
        let resource = self.arn(kind, name);
        match &mut ctx.kind {
            Kind::Certificate {
                arn,
                thing,
                epoch,
                docs,
                request,
            } => {
                let now = self.inner.policies.security_epoch();
                if *epoch != now {
                    *docs = self
                        .inner
                        .policies
                        .effective_policies(arn, thing.as_deref());
                    *epoch = now;
                }
                request.set_action(action);
                request.set_resource(&resource);
                evaluate(docs.iter().map(|d| d.as_ref()), request).is_allowed()
            }
            Kind::Iam { arn } => self.iam_allows(arn, action, &resource),
        }
    }
}

impl Authorizer for IotAuthorizer {
    fn authenticate(&self, req: &ConnectRequest<'_>) -> Result<Principal, AuthError> {
        if let Some(der) = req.client_certificate {
            let id = thingwatch_certs::certificate_id(der);
            if self.inner.certs.status_of(&id) != Some(CertificateStatus::Active) {
                return Err(AuthError::NotAuthenticated("the certificate is not ACTIVE"));
            }
            let arn = self.inner.certs.certificate_arn(&id);
            let thing = self.thing_for(&arn, req.client_id);
            let epoch = self.inner.policies.security_epoch();
            let docs = self
                .inner
                .policies
                .effective_policies(&arn, thing.as_deref());
            let request = self.certificate_request(
                req.client_id,
                thing.as_deref(),
                &req.peer.ip().to_string(),
            );
            if !evaluate(docs.iter().map(|d| d.as_ref()), &request).is_allowed() {
                return Err(AuthError::NotAuthorized {
                    principal_id: id,
                    details: "iot:Connect is not allowed",
                });
            }
            let ctx = ConnContext {
                principal_id: id.clone(),
                kind: Kind::Certificate {
                    arn,
                    thing: thing.clone(),
                    epoch,
                    docs,
                    request,
                },
            };
            self.insert(req.client_id, ctx);
            return Ok(Principal {
                principal_id: id,
                thing_name: thing,
            });
        }
        if let Some(arn) = req.transport_principal {
            let resource = self.arn(IotResource::Client, req.client_id);
            let allowed = self.iam_allows(arn, iot::ACTION_CONNECT, &resource);
            if !allowed {
                return Err(AuthError::NotAuthorized {
                    principal_id: arn.to_owned(),
                    details: "iot:Connect is not allowed",
                });
            }
            let ctx = ConnContext {
                principal_id: arn.to_owned(),
                kind: Kind::Iam {
                    arn: arn.to_owned(),
                },
            };
            self.insert(req.client_id, ctx);
            return Ok(Principal {
                principal_id: arn.to_owned(),
                thing_name: Some(req.client_id.to_owned()),
            });
        }
        thingwatch_broker::LoopbackAnonymous.authenticate(req)
    }

    fn authorize_publish(&self, principal: &Principal, client_id: &str, topic: &str) -> bool {
        self.decide(
            principal,
            client_id,
            iot::ACTION_PUBLISH,
            IotResource::Topic,
            topic,
        )
    }

    fn authorize_subscribe(&self, principal: &Principal, client_id: &str, filter: &str) -> bool {
        self.decide(
            principal,
            client_id,
            iot::ACTION_SUBSCRIBE,
            IotResource::TopicFilter,
            filter,
        )
    }

    fn authorize_receive(&self, principal: &Principal, client_id: &str, topic: &str) -> bool {
        self.decide(
            principal,
            client_id,
            iot::ACTION_RECEIVE,
            IotResource::Topic,
            topic,
        )
    }

    fn describe_tls_failure(&self, error: &std::io::Error) -> (String, String) {
        match Refusal::from_io_error(error) {
            Some(r) => (
                r.certificate_id.clone(),
                format!("Client certificate refused: {}", r.reason.as_str()),
            ),
            None => (String::new(), format!("TLS handshake failed: {error}")),
        }
    }

    fn disconnected(&self, client_id: &str, principal: &Principal) {
        let mut map = self.inner.connections.write();
        let Some(list) = map.get_mut(client_id) else {
            return;
        };
        if let Some(i) = list
            .iter()
            .position(|c| c.lock().principal_id == principal.principal_id)
        {
            list.remove(i);
        }
        if list.is_empty() {
            map.remove(client_id);
        }
    }
}

/// Closes live connections whose certificate stops being ACTIVE (INACTIVE, REVOKED, …) or is
/// deleted, until the registry's event channel closes. Spawn it on the runtime.
pub async fn watch_certificates(certs: CertificateRegistry, broker: Broker) {
    let mut events = certs.subscribe();
    loop {
        match events.recv().await {
            Ok(CertificateEvent::StatusChanged { id, status, .. })
                if status != CertificateStatus::Active =>
            {
                let n = broker.disconnect_principal(&id);
                tracing::info!(certificate = %id, ?status, connections = n, "certificate no longer ACTIVE");
            }
            Ok(CertificateEvent::Deleted { id, .. }) => {
                broker.disconnect_principal(&id);
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                tracing::warn!("certificate events lagged; some revocations may apply late");
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The registry is the source of IoT policies, attachments and thing principals.
impl PolicySource for thingwatch_registry::Registry {
    fn effective_policies(
        &self,
        principal_arn: &str,
        thing_name: Option<&str>,
    ) -> Vec<Arc<PolicyDocument>> {
        thingwatch_registry::Registry::effective_policies(self, principal_arn, thing_name)
    }

    fn principal_things(&self, principal_arn: &str) -> (Vec<String>, Option<String>) {
        let things = thingwatch_registry::Registry::principal_things(self, principal_arn);
        let exclusive = things
            .iter()
            .find(|t| {
                self.thing_principal_type(principal_arn, t)
                    == Some(thingwatch_registry::ThingPrincipalType::Exclusive)
            })
            .cloned();
        (things, exclusive)
    }

    fn thing_attributes(&self, thing: &str) -> Option<(Option<String>, BTreeMap<String, String>)> {
        thingwatch_registry::Registry::thing_attributes(self, thing)
    }

    fn security_epoch(&self) -> u64 {
        thingwatch_registry::Registry::security_epoch(self)
    }
}
