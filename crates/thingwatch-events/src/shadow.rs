//! Device Shadow log events: `GetThingShadow`, `UpdateThingShadow`, `DeleteThingShadow`.
//!
//! Source: AWS IoT Developer Guide, *CloudWatch AWS IoT log entries* → *Device Shadow log
//! entries* (`../shared/reference/aws-iot-logging.md` §3.4): INFO, attributes in the order
//! `protocol, deviceShadowName, topicName` after the common header. In AWS's examples
//! `deviceShadowName` is the **thing name** (the classic shadow of thing `Jack` logs
//! `"deviceShadowName":"Jack"`); Thingwatch writes the thing name for named shadows too, and
//! the named shadow is visible in `topicName` (`$aws/things/Jack/shadow/name/cfg/update`).
//! For HTTP requests `topicName` is the MQTT request topic the call is equivalent to.
//!
//! AWS documents only the Success form. A rejected request (the `…/rejected` response or an
//! HTTP 4xx) is logged as the Failure form — ERROR, `status: Failure`, with `reason` = the
//! shadow error code as text (`"400"`, `"404"`, `"409"`, `"413"`, `"429"`) and `details` =
//! the rejected message — our documented choice, in the style of the broker's Failure
//! entries.

use crate::broker::Protocol;
use crate::event::{EventType, Failure, IotLogEvent, Status};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

macro_rules! shadow_event {
    ($(#[$doc:meta])* $name:ident, $event_type:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name<'a> {
            /// `MQTT` or `HTTP`.
            pub protocol: Protocol,
            /// The thing whose shadow was addressed (`deviceShadowName`).
            pub device_shadow_name: &'a str,
            /// The request topic (`$aws/things/{thing}/shadow[/name/{shadow}]/{op}`).
            pub topic_name: &'a str,
            /// `Some` for the Failure form (`reason`, `details`).
            pub failure: Option<Failure<'a>>,
        }

        impl<'a> $name<'a> {
            /// The Success form (INFO).
            pub fn success(protocol: Protocol, device_shadow_name: &'a str, topic_name: &'a str) -> Self {
                $name { protocol, device_shadow_name, topic_name, failure: None }
            }
            /// The Failure form (ERROR): `reason` is the shadow error code as text, `details`
            /// the rejected message.
            pub fn failure(
                protocol: Protocol,
                device_shadow_name: &'a str,
                topic_name: &'a str,
                reason: &'a str,
                details: &'a str,
            ) -> Self {
                $name {
                    protocol,
                    device_shadow_name,
                    topic_name,
                    failure: Some(Failure { reason, details }),
                }
            }
        }

        impl Serialize for $name<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("protocol", &self.protocol)?;
                map.serialize_entry("deviceShadowName", self.device_shadow_name)?;
                map.serialize_entry("topicName", self.topic_name)?;
                if let Some(f) = &self.failure {
                    map.serialize_entry("reason", f.reason)?;
                    map.serialize_entry("details", f.details)?;
                }
                map.end()
            }
        }

        impl IotLogEvent for $name<'_> {
            const EVENT_TYPE: EventType = $event_type;
            fn status(&self) -> Status {
                Status::of(&self.failure)
            }
        }
    };
}

shadow_event!(
    /// `GetThingShadow`: a shadow document was requested (`…/get` or HTTP `GET`).
    GetThingShadow,
    EventType::GetThingShadow
);
shadow_event!(
    /// `UpdateThingShadow`: a shadow was updated (`…/update` or HTTP `POST`).
    UpdateThingShadow,
    EventType::UpdateThingShadow
);
shadow_event!(
    /// `DeleteThingShadow`: a shadow was deleted (`…/delete` or HTTP `DELETE`).
    DeleteThingShadow,
    EventType::DeleteThingShadow
);
