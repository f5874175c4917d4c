//! Authentication and authorization hooks the broker calls at CONNECT, SUBSCRIBE, PUBLISH and
//! delivery, and [`LoopbackAnonymous`], the built-in policy for plain MQTT on loopback.
//!
//! Refusals become AWS `AUTHORIZATION_FAILURE` Failure events in the broker; this module only
//! decides.

use std::net::SocketAddr;

/// What the broker knows about a connecting client when it asks [`Authorizer::authenticate`].
#[derive(Debug, Clone)]
pub struct ConnectRequest<'a> {
    /// The MQTT client ID (already length-checked).
    pub client_id: &'a str,
    /// The CONNECT user name, if any.
    pub username: Option<&'a str>,
    /// The CONNECT password, if any (never logged).
    pub password: Option<&'a [u8]>,
    /// The peer's address.
    pub peer: SocketAddr,
    /// `true` when the connection is TLS (always `false` for the plain TCP listener).
    pub tls: bool,
    /// The client certificate (DER) the TLS handshake verified, if any (mutual TLS).
    pub client_certificate: Option<&'a [u8]>,
    /// The identity established by the transport before MQTT started, e.g. the SigV4
    /// principal of an MQTT-over-WebSocket upgrade.
    pub transport_principal: Option<&'a str>,
}

/// How a connection reached the broker: what [`ConnectRequest`] reports about the transport.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// TLS (a TLS listener or WebSocket over TLS).
    pub tls: bool,
    /// The verified client certificate (DER).
    pub client_certificate: Option<Vec<u8>>,
    /// An identity the transport already authenticated (e.g. SigV4 on the WebSocket upgrade).
    pub principal: Option<String>,
}

/// An authenticated identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The `principalId` written in every log entry of the connection (AWS: a certificate ID,
    /// an IAM identity, or a custom-authorizer principal).
    pub principal_id: String,
    /// The thing associated with the connection, if known (log targets of type THING_GROUP
    /// match on it).
    pub thing_name: Option<String>,
}

/// Why authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No acceptable credentials (AWS `NOT_AUTHENTICATED`); CONNACK *Not authorized*.
    #[error("not authenticated: {0}")]
    NotAuthenticated(&'static str),
    /// The source address is refused (AWS disconnectReason `FORBIDDEN_ACCESS`).
    #[error("forbidden source address")]
    Forbidden,
    /// The client authenticated as `principal_id` but its policies do not allow
    /// `iot:Connect`; the `Connect` Failure entry carries the principal.
    #[error("{principal_id} is not authorized: {details}")]
    NotAuthorized {
        /// The authenticated principal (e.g. a certificate ID).
        principal_id: String,
        /// Why, for the entry's `details`.
        details: &'static str,
    },
}

/// The broker's policy interface. Implementations must be cheap: `authorize_*` run on every
/// PUBLISH, SUBSCRIBE filter and delivery.
pub trait Authorizer: Send + Sync {
    /// Authenticates a CONNECT (AWS action `iot:Connect`).
    ///
    /// # Errors
    /// [`AuthError`]: the CONNECT is refused with CONNACK *Not authorized* and a `Connect`
    /// Failure event `AUTHORIZATION_FAILURE`.
    fn authenticate(&self, req: &ConnectRequest<'_>) -> Result<Principal, AuthError>;
    /// May `principal` (as `client_id`) publish to `topic` (AWS `iot:Publish`)?
    fn authorize_publish(&self, principal: &Principal, client_id: &str, topic: &str) -> bool;
    /// May `principal` subscribe to `filter` (AWS `iot:Subscribe`)? `filter` is the full filter,
    /// `$share/…` included.
    fn authorize_subscribe(&self, principal: &Principal, client_id: &str, filter: &str) -> bool;
    /// May `principal` receive a message published on `topic` (AWS `iot:Receive`)?
    fn authorize_receive(&self, principal: &Principal, client_id: &str, topic: &str) -> bool;

    /// Describes a refused TLS handshake for its `Connect` Failure entry: the `principalId`
    /// to log (a certificate ID, when the client certificate could be identified) and the
    /// `details` text. The default gives no principal and the TLS error's text.
    fn describe_tls_failure(&self, error: &std::io::Error) -> (String, String) {
        (String::new(), format!("TLS handshake failed: {error}"))
    }

    /// A connection that [`Authorizer::authenticate`] admitted has ended (drop any state kept
    /// for it). Default: nothing.
    fn disconnected(&self, client_id: &str, principal: &Principal) {
        let _ = (client_id, principal);
    }
}

/// Plain, unauthenticated MQTT accepted only from loopback source addresses (127.0.0.0/8,
/// ::1), with every publish, subscribe and receive allowed. Anything else is refused with
/// [`AuthError::Forbidden`] ("secure by default": non-loopback clients need TLS and a
/// registered identity, which other authorizers provide).
///
/// The principal of such a connection is the literal `anonymous` (AWS has no principal for
/// unauthenticated MQTT; this is our placeholder, chosen so log targets of type PRINCIPAL_ID
/// can match all loopback clients at once). The thing name is the client ID, as AWS
/// associates a connection with the thing whose name equals its client ID.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopbackAnonymous;

/// The `principalId` of connections admitted by [`LoopbackAnonymous`].
pub const ANONYMOUS_PRINCIPAL: &str = "anonymous";

impl Authorizer for LoopbackAnonymous {
    fn authenticate(&self, req: &ConnectRequest<'_>) -> Result<Principal, AuthError> {
        if !req.peer.ip().is_loopback() {
            return Err(AuthError::Forbidden);
        }
        Ok(Principal {
            principal_id: ANONYMOUS_PRINCIPAL.to_owned(),
            thing_name: Some(req.client_id.to_owned()),
        })
    }
    fn authorize_publish(&self, _: &Principal, _: &str, _: &str) -> bool {
        true
    }
    fn authorize_subscribe(&self, _: &Principal, _: &str, _: &str) -> bool {
        true
    }
    fn authorize_receive(&self, _: &Principal, _: &str, _: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        let mk = |addr: &str| ConnectRequest {
            client_id: "c",
            username: None,
            password: None,
            peer: addr.parse().unwrap(),
            tls: false,
            client_certificate: None,
            transport_principal: None,
        };
        assert_eq!(
            LoopbackAnonymous
                .authenticate(&mk("127.0.0.1:5"))
                .unwrap()
                .principal_id,
            "anonymous"
        );
        assert!(LoopbackAnonymous.authenticate(&mk("[::1]:5")).is_ok());
        assert_eq!(
            LoopbackAnonymous.authenticate(&mk("10.0.0.1:5")),
            Err(AuthError::Forbidden)
        );
    }
}
