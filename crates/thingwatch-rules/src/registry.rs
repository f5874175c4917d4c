//! The control plane's state: topic rules and topic rule destinations in SQLite
//! (`DATA_DIR/rules/rules.db`, opened by `thingwatch_sqlite`), with the compiled
//! [`RuleTable`] the engine reads swapped whole on every change.
//!
//! Every write runs under one lock on the connection: the SQLite transaction commits, then the
//! in-memory snapshot (rule table, destination list) is swapped, so readers never see a state
//! the file does not hold and concurrent writers never interleave their swaps.

use crate::destinations::{self, Destination};
use crate::error::RulesError;
use crate::model::{
    ActionKind, CompiledRule, MAX_PAYLOAD_BYTES, MAX_RULES, RuleAction, RuleTable, TopicRule,
};
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value as Json};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use thingwatch_aws::Scope;
use thingwatch_sqlite::{Migration, Schema};

/// The rules database's file name inside the directory given to [`Rules::open`].
pub const DB_FILE: &str = "rules.db";

const SCHEMA: Schema = Schema::new(
    DB_FILE,
    &[Migration::Sql(
        "CREATE TABLE IF NOT EXISTS rules (
            name TEXT PRIMARY KEY,
            created_ms INTEGER NOT NULL,
            payload TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS destinations (
            arn TEXT PRIMARY KEY,
            confirmation_url TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            status_reason TEXT,
            token TEXT NOT NULL UNIQUE,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        );",
    )],
);

/// What [`Rules::open_with`] needs besides the directory and scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesSettings {
    /// The base of the `enableUrl` sent in destination confirmation messages (the server's
    /// public HTTP API URL, e.g. `https://iot.example.com:8443`); the URL is this base
    /// followed by `/confirmdestination/TOKEN` (the path AWS uses, served unsigned by
    /// `thingwatch_iot_api::confirm_routes`).
    pub enable_base_url: String,
}

impl Default for RulesSettings {
    fn default() -> Self {
        RulesSettings {
            enable_base_url: "http://127.0.0.1".into(),
        }
    }
}

/// Topic rules and destinations. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct Rules {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) scope: Scope,
    pub(crate) settings: RulesSettings,
    pub(crate) table: ArcSwap<RuleTable>,
    pub(crate) destinations: ArcSwap<Vec<Arc<Destination>>>,
    pub(crate) db: Mutex<Connection>,
    /// Where confirmation messages are POSTed from; unset = none are sent.
    pub(crate) http: OnceLock<(tokio::runtime::Handle, reqwest::Client)>,
}

/// `ListTopicRules` filters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleFilter<'a> {
    /// `topic`: only rules whose FROM topic filter (`topicPattern`) equals this text exactly.
    /// AWS documents the parameter only as "The topic"; Thingwatch compares it with the
    /// rule's topic pattern as written (no wildcard matching either way).
    pub topic: Option<&'a str>,
    /// `ruleDisabled`: only rules in this state.
    pub rule_disabled: Option<bool>,
}

impl Rules {
    /// Opens (creating) the rules database in `dir` with default [`RulesSettings`].
    ///
    /// # Errors
    /// See [`Rules::open_with`].
    pub fn open(dir: &Path, scope: Scope) -> Result<Rules, RulesError> {
        Rules::open_with(dir, scope, RulesSettings::default())
    }

    /// Opens (creating `dir` and) `dir/rules.db` and compiles every stored rule; a stored
    /// rule that no longer compiles is logged (warning) and left out of the table.
    ///
    /// # Errors
    /// [`RulesError::Storage`] when the directory or database cannot be opened or read.
    pub fn open_with(
        dir: &Path,
        scope: Scope,
        settings: RulesSettings,
    ) -> Result<Rules, RulesError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| RulesError::Storage(format!("{}: {e}", dir.display())))?;
        let conn = thingwatch_sqlite::open(&dir.join(DB_FILE), &SCHEMA)
            .map_err(|e| RulesError::Storage(e.to_string()))?;
        let table = load_rules(&conn)?;
        let dests = destinations::load(&conn)?;
        Ok(Rules {
            inner: Arc::new(Inner {
                scope,
                settings,
                table: ArcSwap::from_pointee(table),
                destinations: ArcSwap::from_pointee(dests),
                db: Mutex::new(conn),
                http: OnceLock::new(),
            }),
        })
    }

    /// Sends destination confirmation messages from now on: POSTs run on `handle` with
    /// `client`. Without it destinations stay `IN_PROGRESS` until confirmed by token. Applies
    /// to every clone; a second call is ignored.
    #[must_use]
    pub fn with_http(self, handle: tokio::runtime::Handle, client: reqwest::Client) -> Rules {
        let _ = self.inner.http.set((handle, client));
        self
    }

    /// The account and region ARNs are built in.
    pub fn scope(&self) -> &Scope {
        &self.inner.scope
    }

    /// The current rules (enabled and disabled), sorted by name.
    pub fn table(&self) -> Arc<RuleTable> {
        self.inner.table.load_full()
    }

    /// `arn:aws:iot:REGION:ACCOUNT:rule/NAME`.
    pub fn rule_arn(&self, name: &str) -> String {
        thingwatch_aws::Arn::iot(&self.inner.scope, thingwatch_aws::IotKind::Rule, name).to_string()
    }

    /// CreateTopicRule: stores and compiles rule `name` (`created_at` = `now_ms`, epoch ms).
    /// An `http` action whose URL no destination covers creates one (`IN_PROGRESS`, the
    /// confirmation is sent), as AWS does.
    ///
    /// # Errors
    /// See [`CompiledRule::compile`]; [`RulesError::InvalidRequest`] for a payload above
    /// [`MAX_PAYLOAD_BYTES`] or an http action whose `url` does not start with its
    /// `confirmationUrl`; [`RulesError::AlreadyExists`] ("Rule with name NAME already
    /// exists."); [`RulesError::LimitExceeded`] at [`MAX_RULES`] rules;
    /// [`RulesError::Storage`].
    pub fn create_rule(
        &self,
        name: &str,
        payload: Map<String, Json>,
        now_ms: i64,
    ) -> Result<(), RulesError> {
        let text = payload_text(&payload)?;
        let compiled = CompiledRule::compile(TopicRule {
            name: name.to_owned(),
            created_at_ms: now_ms,
            payload,
        })?;
        let conf_urls = http_confirmation_urls(&compiled)?;
        let db = self.inner.db.lock();
        let exists: Option<i64> = optional(db.query_row(
            "SELECT 1 FROM rules WHERE name = ?1",
            params![name],
            |r| r.get(0),
        ))?;
        if exists.is_some() {
            return Err(RulesError::AlreadyExists(format!(
                "Rule with name {name} already exists."
            )));
        }
        let count: i64 = db.query_row("SELECT COUNT(*) FROM rules", [], |r| r.get(0))?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_RULES {
            return Err(RulesError::LimitExceeded(format!(
                "The maximum number of topic rules ({MAX_RULES}) has been reached."
            )));
        }
        let tx = db.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO rules (name, created_ms, payload) VALUES (?1, ?2, ?3)",
            params![name, now_ms, text],
        )?;
        let created = self.ensure_destinations(&tx, &conf_urls, now_ms)?;
        tx.commit()?;
        self.swap_rule(name, Some(Arc::new(compiled)));
        self.publish_destinations(&db, created)?;
        Ok(())
    }

    /// GetTopicRule.
    ///
    /// # Errors
    /// [`RulesError::NotFound`] (the API answers `UnauthorizedException`, as AWS does).
    pub fn get_rule(&self, name: &str) -> Result<Arc<CompiledRule>, RulesError> {
        self.inner
            .table
            .load()
            .iter()
            .find(|r| r.rule.name == name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    /// ListTopicRules: the rules that pass `filter`, sorted by name (the API paginates).
    pub fn list_rules(&self, filter: RuleFilter<'_>) -> Vec<Arc<CompiledRule>> {
        self.inner
            .table
            .load()
            .iter()
            .filter(|r| {
                filter
                    .topic
                    .is_none_or(|t| r.topic_pattern.as_deref() == Some(t))
            })
            .filter(|r| filter.rule_disabled.is_none_or(|d| r.rule.disabled() == d))
            .cloned()
            .collect()
    }

    /// ReplaceTopicRule: the new payload, the rule's `createdAt` kept.
    ///
    /// # Errors
    /// As [`Rules::create_rule`], and [`RulesError::NotFound`] for an unknown rule.
    pub fn replace_rule(
        &self,
        name: &str,
        payload: Map<String, Json>,
        now_ms: i64,
    ) -> Result<(), RulesError> {
        let text = payload_text(&payload)?;
        let db = self.inner.db.lock();
        let created_at_ms = self.get_rule(name)?.rule.created_at_ms;
        let compiled = CompiledRule::compile(TopicRule {
            name: name.to_owned(),
            created_at_ms,
            payload,
        })?;
        let conf_urls = http_confirmation_urls(&compiled)?;
        let tx = db.unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE rules SET payload = ?2 WHERE name = ?1",
            params![name, text],
        )?;
        if n == 0 {
            return Err(not_found(name));
        }
        let created = self.ensure_destinations(&tx, &conf_urls, now_ms)?;
        tx.commit()?;
        self.swap_rule(name, Some(Arc::new(compiled)));
        self.publish_destinations(&db, created)?;
        Ok(())
    }

    /// DeleteTopicRule.
    ///
    /// # Errors
    /// [`RulesError::NotFound`]; [`RulesError::Storage`].
    pub fn delete_rule(&self, name: &str) -> Result<(), RulesError> {
        let db = self.inner.db.lock();
        let n = db.execute("DELETE FROM rules WHERE name = ?1", params![name])?;
        if n == 0 {
            return Err(not_found(name));
        }
        self.swap_rule(name, None);
        Ok(())
    }

    /// EnableTopicRule (`disabled = false`) / DisableTopicRule (`true`): rewrites
    /// `ruleDisabled` in the stored payload.
    ///
    /// # Errors
    /// [`RulesError::NotFound`]; [`RulesError::Storage`].
    pub fn set_rule_disabled(&self, name: &str, disabled: bool) -> Result<(), RulesError> {
        let db = self.inner.db.lock();
        let current = self.get_rule(name)?;
        let mut rule = current.rule.clone();
        rule.payload
            .insert("ruleDisabled".into(), Json::Bool(disabled));
        let text = payload_text(&rule.payload)?;
        let compiled = CompiledRule::compile(rule)?;
        let n = db.execute(
            "UPDATE rules SET payload = ?2 WHERE name = ?1",
            params![name, text],
        )?;
        if n == 0 {
            return Err(not_found(name));
        }
        self.swap_rule(name, Some(Arc::new(compiled)));
        Ok(())
    }

    /// Replaces (or with `None` removes) rule `name` in the table. Called with the db lock
    /// held.
    fn swap_rule(&self, name: &str, rule: Option<Arc<CompiledRule>>) {
        let mut v = Vec::clone(&self.inner.table.load());
        v.retain(|r| r.rule.name != name);
        if let Some(r) = rule {
            let at = v.partition_point(|x| x.rule.name.as_str() < name);
            v.insert(at, r);
        }
        self.inner.table.store(Arc::new(v));
    }

    /// Creates an `IN_PROGRESS` destination for every confirmation URL no destination covers
    /// (inside `tx`); returns them (their confirmations are sent after the commit).
    fn ensure_destinations(
        &self,
        tx: &Connection,
        conf_urls: &[String],
        now_ms: i64,
    ) -> Result<Vec<Arc<Destination>>, RulesError> {
        let mut created: Vec<Arc<Destination>> = Vec::new();
        for url in conf_urls {
            let known = self
                .inner
                .destinations
                .load()
                .iter()
                .chain(created.iter())
                .any(|d| url.starts_with(&d.confirmation_url));
            if !known {
                let d = destinations::insert_new(tx, &self.inner.scope, url, now_ms)?;
                created.push(Arc::new(d));
            }
        }
        Ok(created)
    }

    /// Reloads the destination snapshot from the database (db lock held) and sends the
    /// confirmation messages of `to_confirm`.
    pub(crate) fn publish_destinations(
        &self,
        db: &Connection,
        to_confirm: Vec<Arc<Destination>>,
    ) -> Result<(), RulesError> {
        self.inner
            .destinations
            .store(Arc::new(destinations::load(db)?));
        for d in to_confirm {
            self.send_confirmation(&d);
        }
        Ok(())
    }
}

fn not_found(name: &str) -> RulesError {
    RulesError::NotFound(format!("Rule {name} does not exist."))
}

/// The payload's JSON text, refused above [`MAX_PAYLOAD_BYTES`].
fn payload_text(payload: &Map<String, Json>) -> Result<String, RulesError> {
    let text = serde_json::to_string(payload).map_err(|e| RulesError::Storage(e.to_string()))?;
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(RulesError::InvalidRequest(format!(
            "The topic rule payload is {} bytes; the maximum is {MAX_PAYLOAD_BYTES} bytes.",
            text.len()
        )));
    }
    Ok(text)
}

/// The confirmation URL of every `http` action (and error action) of `rule`: its
/// `confirmationUrl`, or its `url` when it has none (AWS: a URL with substitution templates
/// needs a `confirmationUrl`; the `url` must start with it).
fn http_confirmation_urls(rule: &CompiledRule) -> Result<Vec<String>, RulesError> {
    let mut out = Vec::new();
    let actions: Vec<&RuleAction> = rule.actions.iter().chain(&rule.error_action).collect();
    for a in actions {
        let ActionKind::Http(h) = &a.kind else {
            continue;
        };
        let conf = match &h.confirmation_url {
            Some(c) => c.clone(),
            None if h.url_text.contains("${") => {
                return Err(RulesError::InvalidRequest(
                    "An HTTP action whose url has substitution templates needs a confirmationUrl."
                        .into(),
                ));
            }
            None => h.url_text.clone(),
        };
        if !h.url_text.starts_with(&conf) {
            return Err(RulesError::InvalidRequest(format!(
                "The url {} does not start with the confirmationUrl {conf}.",
                h.url_text
            )));
        }
        destinations::check_url(&conf)?;
        if !out.contains(&conf) {
            out.push(conf);
        }
    }
    Ok(out)
}

/// Reads and compiles every stored rule, sorted by name; rules that no longer compile are
/// skipped with a warning.
fn load_rules(conn: &Connection) -> Result<RuleTable, RulesError> {
    let mut stmt = conn.prepare("SELECT name, created_ms, payload FROM rules ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut table = Vec::new();
    for row in rows {
        let (name, created_at_ms, text) = row?;
        let payload = match serde_json::from_str::<Json>(&text) {
            Ok(Json::Object(m)) => m,
            _ => {
                tracing::warn!(rule = %name, "stored topic rule payload is not a JSON object; skipped");
                continue;
            }
        };
        match CompiledRule::compile(TopicRule {
            name: name.clone(),
            created_at_ms,
            payload,
        }) {
            Ok(c) => table.push(Arc::new(c)),
            Err(e) => {
                tracing::warn!(rule = %name, error = %e, "stored topic rule no longer compiles; skipped");
            }
        }
    }
    Ok(table)
}

/// A row's optional value (`None` when absent).
pub(crate) fn optional<T>(r: rusqlite::Result<T>) -> Result<Option<T>, RulesError> {
    Ok(r.optional()?)
}
