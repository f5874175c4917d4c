//! Composite alarms: an `AlarmRule` over other alarms' states, re-evaluated whenever one of
//! them changes state; `ALARM` while the rule is true, else `OK`.
//!
//! Rule grammar (CloudWatch User Guide, *Creating a composite alarm*):
//! `rule := or`, `or := and ("OR" and)*`, `and := not ("AND" not)*`,
//! `not := "NOT" not | primary`, `primary := "(" rule ")" | "TRUE" | "FALSE" |
//! STATE "(" name-or-ARN ")"` with `STATE` one of `ALARM`, `OK`, `INSUFFICIENT_DATA`; names
//! may be quoted (`ALARM("cpu high")`) or bare.

use serde::{Deserialize, Serialize};
use serde_json::json;
use thingwatch_aws::Arn;

use super::{AlarmError, Alarms, HistoryItem, StateValue, Table, alarm_time};

/// A parsed alarm rule.
#[derive(Clone, Debug, PartialEq)]
pub enum AlarmRule {
    /// `TRUE` / `FALSE`.
    Const(bool),
    /// `ALARM(x)`, `OK(x)`, `INSUFFICIENT_DATA(x)`: alarm `x` (name, or ARN as written) is
    /// in that state.
    State(StateValue, String),
    /// `NOT r`.
    Not(Box<AlarmRule>),
    /// `a AND b`.
    And(Box<AlarmRule>, Box<AlarmRule>),
    /// `a OR b`.
    Or(Box<AlarmRule>, Box<AlarmRule>),
}

impl AlarmRule {
    /// Parses a rule.
    ///
    /// # Errors
    /// The syntax error, worded for `InvalidParameterValue`.
    pub fn parse(rule: &str) -> Result<AlarmRule, String> {
        let tokens = tokenize(rule)?;
        let mut p = Parser { tokens, pos: 0 };
        let r = p.or()?;
        if p.pos != p.tokens.len() {
            return Err(format!(
                "Unexpected '{}' in the alarm rule.",
                p.tokens[p.pos]
            ));
        }
        Ok(r)
    }

    /// The alarms the rule names, as written (names or ARNs).
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(&mut out);
        out
    }

    fn walk(&self, out: &mut Vec<String>) {
        match self {
            AlarmRule::Const(_) => {}
            AlarmRule::State(_, n) => out.push(n.clone()),
            AlarmRule::Not(r) => r.walk(out),
            AlarmRule::And(a, b) | AlarmRule::Or(a, b) => {
                a.walk(out);
                b.walk(out);
            }
        }
    }

    /// The rule's value given each referenced alarm's state (`None`: unknown, never true).
    pub fn eval(&self, state_of: &dyn Fn(&str) -> Option<StateValue>) -> bool {
        match self {
            AlarmRule::Const(b) => *b,
            AlarmRule::State(s, n) => state_of(n) == Some(*s),
            AlarmRule::Not(r) => !r.eval(state_of),
            AlarmRule::And(a, b) => a.eval(state_of) && b.eval(state_of),
            AlarmRule::Or(a, b) => a.eval(state_of) || b.eval(state_of),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            out.push(c.to_string());
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut w = String::from("\"");
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => w.push(c),
                    None => return Err("Unterminated quote in the alarm rule.".into()),
                }
            }
            out.push(w);
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '(' || c == ')' {
                    break;
                }
                w.push(c);
                chars.next();
            }
            out.push(w);
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<String>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<AlarmRule, String> {
        let mut r = self.and()?;
        while self.peek() == Some("OR") {
            self.pos += 1;
            r = AlarmRule::Or(Box::new(r), Box::new(self.and()?));
        }
        Ok(r)
    }

    fn and(&mut self) -> Result<AlarmRule, String> {
        let mut r = self.not()?;
        while self.peek() == Some("AND") {
            self.pos += 1;
            r = AlarmRule::And(Box::new(r), Box::new(self.not()?));
        }
        Ok(r)
    }

    fn not(&mut self) -> Result<AlarmRule, String> {
        if self.peek() == Some("NOT") {
            self.pos += 1;
            return Ok(AlarmRule::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<AlarmRule, String> {
        let Some(t) = self.next() else {
            return Err("The alarm rule ends unexpectedly.".into());
        };
        match t.as_str() {
            "(" => {
                let r = self.or()?;
                if self.next().as_deref() != Some(")") {
                    return Err("Missing ')' in the alarm rule.".into());
                }
                Ok(r)
            }
            "TRUE" => Ok(AlarmRule::Const(true)),
            "FALSE" => Ok(AlarmRule::Const(false)),
            "ALARM" | "OK" | "INSUFFICIENT_DATA" => {
                let state = StateValue::parse(&t).unwrap_or(StateValue::Alarm);
                if self.next().as_deref() != Some("(") {
                    return Err(format!("{t} must be followed by '(' and an alarm name."));
                }
                let name = self
                    .next()
                    .filter(|n| n != ")")
                    .ok_or_else(|| format!("{t}() must name an alarm."))?;
                let name = name.strip_prefix('"').unwrap_or(&name).to_owned();
                if self.next().as_deref() != Some(")") {
                    return Err(format!("Missing ')' after {t}({name}."));
                }
                Ok(AlarmRule::State(state, name))
            }
            other => Err(format!("Unexpected '{other}' in the alarm rule.")),
        }
    }
}

/// What `PutCompositeAlarm` defines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompositeDefinition {
    /// `AlarmName`.
    pub name: String,
    /// `AlarmDescription`.
    pub description: Option<String>,
    /// `AlarmRule` as given.
    pub rule: String,
    /// `ActionsEnabled`.
    pub actions_enabled: bool,
    /// `OKActions`.
    pub ok_actions: Vec<String>,
    /// `AlarmActions`.
    pub alarm_actions: Vec<String>,
    /// `InsufficientDataActions`.
    pub insufficient_data_actions: Vec<String>,
}

/// A composite alarm with its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompositeAlarm {
    /// The definition.
    pub definition: CompositeDefinition,
    /// `AlarmArn`.
    pub arn: String,
    /// Last configuration change, epoch ms.
    pub configuration_updated_ms: i64,
    /// `StateValue`.
    pub state: StateValue,
    /// `StateReason`.
    pub state_reason: String,
    /// `StateReasonData` (JSON).
    pub state_reason_data: Option<String>,
    /// Last state change, epoch ms.
    pub state_updated_ms: i64,
}

impl Alarms {
    pub(super) fn load_composite(&self, name: &str) -> Result<Option<CompositeAlarm>, AlarmError> {
        self.load_one(Table::Composites, name)
    }

    fn save_composite(&self, a: &CompositeAlarm) -> Result<(), AlarmError> {
        self.save_one(Table::Composites, &a.definition.name, a)
    }

    /// Every composite alarm, by name.
    ///
    /// # Errors
    /// Storage failures.
    pub fn composites(&self) -> Result<Vec<CompositeAlarm>, AlarmError> {
        self.load_table(Table::Composites)
    }

    /// The state of the alarm a rule names (by name or ARN), metric or composite.
    fn state_of(&self, reference: &str) -> Option<(StateValue, String, i64)> {
        let prefix = Arn::cloudwatch_alarm(&self.inner.scope, "").to_string();
        let name = reference.strip_prefix(&prefix).unwrap_or(reference);
        if let Ok(Some(a)) = self.load(name) {
            return Some((a.state, a.arn, a.state_updated_ms));
        }
        if let Ok(Some(c)) = self.load_composite(name) {
            return Some((c.state, c.arn, c.state_updated_ms));
        }
        None
    }

    /// Creates or replaces a composite alarm (`PutCompositeAlarm`) and evaluates it.
    ///
    /// # Errors
    /// `Err(Ok(message))` for a rule that does not parse, names an alarm that does not exist
    /// or refers back to this alarm; storage failures as `Err(Err(_))`.
    pub fn put_composite(
        &self,
        definition: CompositeDefinition,
        now_ms: i64,
    ) -> Result<Result<(), String>, AlarmError> {
        let rule = match AlarmRule::parse(&definition.rule) {
            Ok(r) => r,
            Err(m) => return Ok(Err(m)),
        };
        let _guard = self.inner.lock.lock();
        if self.load(&definition.name)?.is_some() {
            return Ok(Err(format!(
                "An alarm named {} already exists and is a metric alarm.",
                definition.name
            )));
        }
        let missing: Vec<String> = rule
            .references()
            .into_iter()
            .filter(|r| self.state_of(r).is_none())
            .collect();
        if !missing.is_empty() {
            return Ok(Err(format!(
                "Could not save the composite alarm as alarms [{}] in the alarm rule do not exist",
                missing.join(", ")
            )));
        }
        if self.reaches(&rule, &definition.name, 0)? {
            return Ok(Err(format!(
                "The alarm rule of {} refers back to it (a cycle of composite alarms).",
                definition.name
            )));
        }
        let existing = self.load_composite(&definition.name)?;
        let kind = if existing.is_some() {
            "Update"
        } else {
            "Create"
        };
        let alarm = match existing {
            Some(mut a) => {
                a.definition = definition;
                a.configuration_updated_ms = now_ms;
                a
            }
            None => CompositeAlarm {
                arn: Arn::cloudwatch_alarm(&self.inner.scope, &definition.name).to_string(),
                definition,
                configuration_updated_ms: now_ms,
                state: StateValue::InsufficientData,
                state_reason: "Unchecked: Initial alarm creation".into(),
                state_reason_data: None,
                state_updated_ms: now_ms,
            },
        };
        self.save_composite(&alarm)?;
        self.record(&HistoryItem {
            alarm_name: alarm.definition.name.clone(),
            alarm_type: "CompositeAlarm".into(),
            timestamp_ms: now_ms,
            item_type: "ConfigurationUpdate".into(),
            summary: format!(
                "Alarm \"{}\" {}",
                alarm.definition.name,
                if kind == "Create" {
                    "created"
                } else {
                    "updated"
                }
            ),
            data: json!({"version": "1.0", "type": kind,
                         "updatedAlarm": {"alarmName": alarm.definition.name, "alarmArn": alarm.arn,
                                          "alarmRule": alarm.definition.rule}})
            .to_string(),
        })?;
        self.evaluate_composites(None, now_ms)?;
        Ok(Ok(()))
    }

    /// Whether `rule` (of alarm `target`) reaches `target` through composite alarms.
    fn reaches(&self, rule: &AlarmRule, target: &str, depth: usize) -> Result<bool, AlarmError> {
        if depth > 16 {
            return Ok(true);
        }
        for r in rule.references() {
            let prefix = Arn::cloudwatch_alarm(&self.inner.scope, "").to_string();
            let name = r.strip_prefix(&prefix).unwrap_or(&r).to_owned();
            if name == target {
                return Ok(true);
            }
            if let Some(c) = self.load_composite(&name)?
                && let Ok(inner) = AlarmRule::parse(&c.definition.rule)
                && self.reaches(&inner, target, depth + 1)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Deletes composite alarms among `names`; returns the names that were not composites.
    pub(super) fn delete_composites(&self, names: &[String]) -> Result<Vec<String>, AlarmError> {
        let conn = self.inner.conn.lock();
        let mut rest = Vec::new();
        for n in names {
            if conn.execute("DELETE FROM composites WHERE name = ?1", [n])? == 0 {
                rest.push(n.clone());
            }
        }
        Ok(rest)
    }

    /// Re-evaluates every composite alarm (the caller holds the alarms' lock); `changed` is
    /// the ARN of the alarm whose change triggered it, for the state reason. Composite
    /// alarms on composite alarms settle within a few rounds.
    pub(super) fn evaluate_composites(
        &self,
        changed: Option<&str>,
        now_ms: i64,
    ) -> Result<(), AlarmError> {
        for _round in 0..8 {
            let mut moved = false;
            for mut c in self.composites()? {
                let Ok(rule) = AlarmRule::parse(&c.definition.rule) else {
                    continue;
                };
                let value = rule.eval(&|r| self.state_of(r).map(|s| s.0));
                let state = if value {
                    StateValue::Alarm
                } else {
                    StateValue::Ok
                };
                if state == c.state {
                    continue;
                }
                moved = true;
                let old = c.state;
                let triggering: Vec<serde_json::Value> = rule
                    .references()
                    .iter()
                    .filter_map(|r| self.state_of(r))
                    .map(|(s, arn, t)| json!({"arn": arn, "state": {"value": s.as_str(), "timestamp": alarm_time(t)}}))
                    .collect();
                c.state_reason = match changed {
                    Some(arn) => format!(
                        "{arn} transitioned to {} at {}",
                        self.state_of(arn).map_or("OK", |s| s.0.as_str()),
                        alarm_time(now_ms)
                    ),
                    None => format!(
                        "The alarm rule evaluated to {}.",
                        if value { "TRUE" } else { "FALSE" }
                    ),
                };
                c.state = state;
                c.state_reason_data = Some(json!({"triggeringAlarms": triggering}).to_string());
                c.state_updated_ms = now_ms;
                self.save_composite(&c)?;
                self.record(&HistoryItem {
                    alarm_name: c.definition.name.clone(),
                    alarm_type: "CompositeAlarm".into(),
                    timestamp_ms: now_ms,
                    item_type: "StateUpdate".into(),
                    summary: format!("Alarm updated from {} to {}", old.as_str(), state.as_str()),
                    data: json!({"version": "1.0",
                                 "oldState": {"stateValue": old.as_str()},
                                 "newState": {"stateValue": state.as_str(), "stateReason": c.state_reason}})
                    .to_string(),
                })?;
                if c.definition.actions_enabled {
                    let d = &c.definition;
                    let actions = match state {
                        StateValue::Ok => &d.ok_actions,
                        StateValue::Alarm => &d.alarm_actions,
                        StateValue::InsufficientData => &d.insufficient_data_actions,
                    };
                    let message = json!({
                        "AlarmName": d.name, "AlarmDescription": d.description,
                        "AWSAccountId": self.inner.scope.account_id,
                        "NewStateValue": state.as_str(), "NewStateReason": c.state_reason,
                        "StateChangeTime": alarm_time(now_ms),
                        "Region": super::region_name(&self.inner.scope.region),
                        "AlarmArn": c.arn, "OldStateValue": old.as_str(),
                        "AlarmRule": d.rule,
                        "OKActions": d.ok_actions, "AlarmActions": d.alarm_actions,
                        "InsufficientDataActions": d.insufficient_data_actions,
                    })
                    .to_string();
                    self.execute_actions(
                        &d.name,
                        "CompositeAlarm",
                        state,
                        actions,
                        &message,
                        now_ms,
                    )?;
                }
            }
            if !moved {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_precedence_and_quotes() {
        let r = AlarmRule::parse(r#"ALARM("cpu high") OR ALARM(mem) AND NOT OK(disk)"#).unwrap();
        assert_eq!(
            r,
            AlarmRule::Or(
                Box::new(AlarmRule::State(StateValue::Alarm, "cpu high".into())),
                Box::new(AlarmRule::And(
                    Box::new(AlarmRule::State(StateValue::Alarm, "mem".into())),
                    Box::new(AlarmRule::Not(Box::new(AlarmRule::State(
                        StateValue::Ok,
                        "disk".into()
                    ))))
                ))
            )
        );
        assert_eq!(r.references(), ["cpu high", "mem", "disk"]);
        let states = |n: &str| match n {
            "mem" => Some(StateValue::Alarm),
            "disk" => Some(StateValue::Alarm),
            _ => Some(StateValue::Ok),
        };
        assert!(r.eval(&states));
        assert!(
            AlarmRule::parse("(TRUE AND FALSE) OR TRUE")
                .unwrap()
                .eval(&|_| None)
        );
        for bad in [
            "",
            "ALARM(",
            "ALARM()",
            "ALARM(x",
            "MAYBE(x)",
            "TRUE TRUE",
            "(TRUE",
            "ALARM x",
        ] {
            assert!(AlarmRule::parse(bad).is_err(), "{bad}");
        }
    }
}
