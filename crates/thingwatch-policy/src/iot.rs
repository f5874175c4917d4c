//! AWS IoT Core names for building [`crate::Request`]s: policy actions, resource ARNs and the
//! context keys that feed policy variables.
//!
//! Sources: AWS IoT Developer Guide, *AWS IoT Core policy actions* and *AWS IoT Core action
//! resources* (ARN forms `client/`, `topic/`, `topicfilter/`, `thing/`); *Basic AWS IoT Core
//! policy variables*, *Thing policy variables*, *X.509 Certificate AWS IoT Core policy
//! variables*.

/// `iot:Connect` — resource: [`IotResource::Client`].
pub const ACTION_CONNECT: &str = "iot:Connect";
/// `iot:Publish` — resource: [`IotResource::Topic`].
pub const ACTION_PUBLISH: &str = "iot:Publish";
/// `iot:Subscribe` — resource: [`IotResource::TopicFilter`].
pub const ACTION_SUBSCRIBE: &str = "iot:Subscribe";
/// `iot:Receive` — resource: [`IotResource::Topic`] (checked on delivery).
pub const ACTION_RECEIVE: &str = "iot:Receive";
/// `iot:RetainPublish` — resource: [`IotResource::Topic`] (publish with the RETAIN flag).
pub const ACTION_RETAIN_PUBLISH: &str = "iot:RetainPublish";

/// `iot:ClientId`: the MQTT client ID of the connection.
pub const KEY_CLIENT_ID: &str = "iot:ClientId";
/// `aws:SourceIp`: the client's IP address.
pub const KEY_SOURCE_IP: &str = "aws:SourceIp";
/// `iot:DomainName`: the domain name the client connected to.
pub const KEY_DOMAIN_NAME: &str = "iot:DomainName";
/// `iot:Connection.Thing.ThingName`: the thing the certificate is attached to (absent when
/// none is, which leaves `${iot:Connection.Thing.ThingName}` unresolved).
pub const KEY_THING_NAME: &str = "iot:Connection.Thing.ThingName";
/// `iot:Connection.Thing.ThingTypeName`.
pub const KEY_THING_TYPE_NAME: &str = "iot:Connection.Thing.ThingTypeName";
/// `iot:Connection.Thing.IsAttached`: `"true"` / `"false"`.
pub const KEY_THING_IS_ATTACHED: &str = "iot:Connection.Thing.IsAttached";
/// `iot:Certificate.Subject.CommonName`. The other certificate keys follow the same shape and
/// need no code here — set them in the [`crate::Context`] by name:
/// `iot:Certificate.Subject.<Attr>`, `iot:Certificate.Issuer.<Attr>`, and `….List` for
/// multivalued attributes (a multivalued key never resolves as a `${variable}`).
pub const KEY_CERT_SUBJECT_CN: &str = "iot:Certificate.Subject.CommonName";

/// The context key for thing attribute `name`: `iot:Connection.Thing.Attributes[name]`.
/// Like every context key it is looked up without regard to ASCII case, so attribute names
/// that differ only in case share one key.
pub fn thing_attribute_key(name: &str) -> String {
    format!("iot:Connection.Thing.Attributes[{name}]")
}

/// The kind of AWS IoT resource an action applies to (`client`, `topic`, `topicfilter`,
/// `thing`, …): the AWS-wide [`thingwatch_aws::IotKind`], whose
/// [`arn`](thingwatch_aws::IotKind::arn) builds `arn:aws:iot:REGION:ACCOUNT:PREFIX/NAME`.
pub use thingwatch_aws::IotKind as IotResource;
