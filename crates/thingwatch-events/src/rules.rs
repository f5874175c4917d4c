//! Rules-engine log events: `RuleMatch`, `StartingRuleExecution`, `RuleExecution`,
//! `FunctionExecution`, `RuleMessageThrottled`, `RuleNotFound`.
//!
//! Source: AWS IoT Developer Guide, *CloudWatch AWS IoT log entries* → *Rules engine log
//! entries* (`../shared/reference/aws-iot-logging.md` §3.5). Attributes after the common
//! header, in the examples' order: `clientId, topicName, ruleName[, ruleAction][,
//! resources], principalId[, reason, details]`.
//!
//! Where AWS leaves a form undocumented, Thingwatch's choice:
//! - `RuleExecution` Failure (the guide shows only Success): ERROR, `status: Failure`, with
//!   `reason` and `details` after `principalId`, like the other rules-engine failures.
//! - `RuleMessageThrottled`: `reason` is `"RuleExecutionThrottled"`, as the guide's example
//!   shows (its text says `"RuleMessageThrottled"`).
//! - `FunctionExecution`: `clientId` is `"N/A"` as documented; the header keeps `accountId`
//!   (the guide's example lacks it, every other entry has it).
//! - Messages that no client published (a component's, e.g. a shadow's `…/accepted`) carry
//!   the component's name as `clientId` and `principalId`.

use crate::event::{EventType, Failure, IotLogEvent, Status};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Who published the message a rule ran on, and where: the attributes every rules-engine
/// entry starts and ends with.
#[derive(Clone, Copy, Debug)]
pub struct RuleMessage<'a> {
    /// `clientId`: the publisher's MQTT client ID (`"N/A"` over HTTPS).
    pub client_id: &'a str,
    /// `topicName`: the topic the message was published to (with a Basic Ingest
    /// `$aws/rules/<rule>` prefix, as published).
    pub topic_name: &'a str,
    /// `ruleName`.
    pub rule_name: &'a str,
    /// `principalId`: the publisher's principal.
    pub principal_id: &'a str,
}

/// `resources`: what an action or function used, as an object of names to values (e.g.
/// `{"RepublishTopic": "rules/republish"}`), in order.
#[derive(Clone, Copy, Debug)]
pub struct Resources<'a>(pub &'a [(&'a str, &'a str)]);

impl Serialize for Resources<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn head<M: SerializeMap>(
    map: &mut M,
    m: &RuleMessage<'_>,
    client_id: &str,
) -> Result<(), M::Error> {
    map.serialize_entry("clientId", client_id)?;
    map.serialize_entry("topicName", m.topic_name)?;
    map.serialize_entry("ruleName", m.rule_name)
}

fn tail<M: SerializeMap>(
    map: &mut M,
    m: &RuleMessage<'_>,
    failure: &Option<Failure<'_>>,
) -> Result<(), M::Error> {
    map.serialize_entry("principalId", m.principal_id)?;
    if let Some(f) = failure {
        map.serialize_entry("reason", f.reason)?;
        map.serialize_entry("details", f.details)?;
    }
    Ok(())
}

/// `RuleMatch` (INFO): a message matched a rule (its FROM filter, or its Basic Ingest
/// topic).
#[derive(Clone, Debug)]
pub struct RuleMatch<'a> {
    /// The message and rule.
    pub message: RuleMessage<'a>,
}

impl Serialize for RuleMatch<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        head(&mut map, &self.message, self.message.client_id)?;
        tail(&mut map, &self.message, &None)?;
        map.end()
    }
}

impl IotLogEvent for RuleMatch<'_> {
    const EVENT_TYPE: EventType = EventType::RuleMatch;
    fn status(&self) -> Status {
        Status::Success
    }
}

/// `StartingRuleExecution` (DEBUG): an action of a rule is about to run.
#[derive(Clone, Debug)]
pub struct StartingRuleExecution<'a> {
    /// The message and rule.
    pub message: RuleMessage<'a>,
    /// `ruleAction`, e.g. `RepublishAction`.
    pub rule_action: &'a str,
}

impl Serialize for StartingRuleExecution<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        head(&mut map, &self.message, self.message.client_id)?;
        map.serialize_entry("ruleAction", self.rule_action)?;
        tail(&mut map, &self.message, &None)?;
        map.end()
    }
}

impl IotLogEvent for StartingRuleExecution<'_> {
    const EVENT_TYPE: EventType = EventType::StartingRuleExecution;
    fn status(&self) -> Status {
        Status::Success
    }
}

/// `RuleExecution`: an action ran — INFO on success, ERROR with `reason`/`details` on
/// failure.
#[derive(Clone, Debug)]
pub struct RuleExecution<'a> {
    /// The message and rule.
    pub message: RuleMessage<'a>,
    /// `ruleAction`, e.g. `RepublishAction`.
    pub rule_action: &'a str,
    /// `resources`, e.g. `{"RepublishTopic": "rules/republish"}`.
    pub resources: Resources<'a>,
    /// `Some` for the Failure form.
    pub failure: Option<Failure<'a>>,
}

impl Serialize for RuleExecution<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        head(&mut map, &self.message, self.message.client_id)?;
        map.serialize_entry("ruleAction", self.rule_action)?;
        map.serialize_entry("resources", &self.resources)?;
        tail(&mut map, &self.message, &self.failure)?;
        map.end()
    }
}

impl IotLogEvent for RuleExecution<'_> {
    const EVENT_TYPE: EventType = EventType::RuleExecution;
    fn status(&self) -> Status {
        Status::of(&self.failure)
    }
}

/// `FunctionExecution` (DEBUG): the rule's SQL called an external function
/// (`get_thing_shadow`, `machinelearning_predict`, …). `clientId` is always `"N/A"`.
#[derive(Clone, Debug)]
pub struct FunctionExecution<'a> {
    /// The message and rule (its `client_id` is not written).
    pub message: RuleMessage<'a>,
    /// `ruleAction`: the function, e.g. `GetThingShadow` or `MachinelearningPredict`.
    pub rule_action: &'a str,
    /// `resources`, e.g. `{"ThingName": "lamp"}` or `{"ModelId": "predict-model"}`.
    pub resources: Resources<'a>,
    /// `Some` when the function failed (Thingwatch's Failure form).
    pub failure: Option<Failure<'a>>,
}

impl Serialize for FunctionExecution<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        head(&mut map, &self.message, "N/A")?;
        map.serialize_entry("ruleAction", self.rule_action)?;
        map.serialize_entry("resources", &self.resources)?;
        tail(&mut map, &self.message, &self.failure)?;
        map.end()
    }
}

impl IotLogEvent for FunctionExecution<'_> {
    const EVENT_TYPE: EventType = EventType::FunctionExecution;
    fn status(&self) -> Status {
        Status::of(&self.failure)
    }
}

/// `RuleMessageThrottled` (ERROR, Failure): a message for a rule was dropped because the
/// rule's (or an action's) queue was full. `reason: "RuleExecutionThrottled"`, `details:
/// "Message for Rule <rule> throttled"`.
#[derive(Clone, Debug)]
pub struct RuleMessageThrottled<'a> {
    /// The message and rule.
    pub message: RuleMessage<'a>,
    /// `details`, e.g. `Message for Rule example_rule throttled` ([`throttled_details`]).
    pub details: &'a str,
}

/// The `details` text of `RuleMessageThrottled`.
pub fn throttled_details(rule_name: &str) -> String {
    format!("Message for Rule {rule_name} throttled")
}

impl Serialize for RuleMessageThrottled<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        head(&mut map, &self.message, self.message.client_id)?;
        let failure = Some(Failure {
            reason: "RuleExecutionThrottled",
            details: self.details,
        });
        tail(&mut map, &self.message, &failure)?;
        map.end()
    }
}

impl IotLogEvent for RuleMessageThrottled<'_> {
    const EVENT_TYPE: EventType = EventType::RuleMessageThrottled;
    fn status(&self) -> Status {
        Status::Failure
    }
}

/// `RuleNotFound` (ERROR, Failure): a Basic Ingest message (`$aws/rules/<rule>/…`) named a
/// rule that does not exist. `reason: "RuleNotFound"`, `details: "Rule <rule> not found"`.
#[derive(Clone, Debug)]
pub struct RuleNotFound<'a> {
    /// The message and the rule name it asked for.
    pub message: RuleMessage<'a>,
    /// `details`, e.g. `Rule example_rule not found` ([`not_found_details`]).
    pub details: &'a str,
}

/// The `details` text of `RuleNotFound`.
pub fn not_found_details(rule_name: &str) -> String {
    format!("Rule {rule_name} not found")
}

impl Serialize for RuleNotFound<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        head(&mut map, &self.message, self.message.client_id)?;
        let failure = Some(Failure {
            reason: "RuleNotFound",
            details: self.details,
        });
        tail(&mut map, &self.message, &failure)?;
        map.end()
    }
}

impl IotLogEvent for RuleNotFound<'_> {
    const EVENT_TYPE: EventType = EventType::RuleNotFound;
    fn status(&self) -> Status {
        Status::Failure
    }
}
