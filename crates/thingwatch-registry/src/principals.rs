//! Thing principals — AttachThingPrincipal, DetachThingPrincipal, ListThingPrincipals(V2),
//! ListPrincipalThings(V2) (AWS IoT API Reference pages of the same names) — and the
//! read side authorization uses: [`Registry::effective_policies`],
//! [`Registry::principal_things`], [`Registry::thing_principal_type`],
//! [`Registry::thing_attributes`], [`Registry::security_epoch`].
//!
//! `EXCLUSIVE_THING` (API Reference `AttachThingPrincipal`, `thingPrincipalType`): "The thing
//! will be the only thing that's attached to the principal". So an exclusive attachment is
//! refused while the principal is attached to another thing, and any attachment to another
//! thing is refused while the principal is attached exclusively.
//!
//! Principals are stored as given (the API layer checks their format and that a certificate
//! exists); a principal needs no row of its own.

use crate::error::{RegistryError, thing_not_found};
use crate::registry::Registry;
use crate::things::load_thing;
use crate::token;
use crate::types::{Page, ThingPrincipalType};
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeMap;
use std::sync::Arc;
use thingwatch_policy::PolicyDocument;

fn thing_exists(conn: &rusqlite::Connection, name: &str) -> Result<bool, RegistryError> {
    Ok(conn
        .query_row("SELECT 1 FROM things WHERE name = ?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}

fn principal_type(exclusive: bool) -> ThingPrincipalType {
    if exclusive {
        ThingPrincipalType::Exclusive
    } else {
        ThingPrincipalType::NonExclusive
    }
}

impl Registry {
    /// The form a principal is stored and looked up in: a certificate ARN with its ID in
    /// lowercase (IDs are case-insensitive hex); anything else unchanged.
    pub fn canonical_principal(&self, principal: &str) -> String {
        match self.parse_target(principal) {
            Ok(t @ crate::policies::Target::Certificate(_)) => self.target_arn(&t),
            _ => principal.to_string(),
        }
    }

    /// AttachThingPrincipal: attaches `principal` (a certificate ARN) to `thing` with `ty`.
    /// Attaching again with another type changes the type (subject to the exclusivity rule).
    ///
    /// Errors: `ResourceNotFound` for an unknown thing; `InvalidRequest` when `ty` is
    /// `Exclusive` and the principal is attached to another thing, or the principal is
    /// attached exclusively to another thing.
    pub fn attach_thing_principal(
        &self,
        thing: &str,
        principal: &str,
        ty: ThingPrincipalType,
    ) -> Result<(), RegistryError> {
        let principal = self.canonical_principal(principal);
        let principal = principal.as_str();
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        if !thing_exists(&tx, thing)? {
            return Err(thing_not_found(thing));
        }
        let others: Vec<(String, bool)> = {
            let mut stmt = tx.prepare(
                "SELECT thing, exclusive FROM thing_principals WHERE principal = ?1 AND thing <> ?2 ORDER BY thing",
            )?;
            stmt.query_map(params![principal, thing], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?
        };
        if let Some((other, _)) = others.iter().find(|(_, exclusive)| *exclusive) {
            return Err(RegistryError::InvalidRequest(format!(
                "Principal {principal} is attached exclusively to thing {other}; it cannot be attached to thing {thing}."
            )));
        }
        if ty == ThingPrincipalType::Exclusive && !others.is_empty() {
            let names: Vec<&str> = others.iter().map(|(t, _)| t.as_str()).collect();
            return Err(RegistryError::InvalidRequest(format!(
                "Principal {principal} is already attached to thing(s) {}; it cannot be attached exclusively to thing {thing}.",
                names.join(", ")
            )));
        }
        let current: Option<bool> = tx
            .query_row(
                "SELECT exclusive FROM thing_principals WHERE thing = ?1 AND principal = ?2",
                params![thing, principal],
                |r| r.get(0),
            )
            .optional()?;
        let exclusive = ty == ThingPrincipalType::Exclusive;
        if current == Some(exclusive) {
            return Ok(());
        }
        tx.execute(
            "INSERT OR REPLACE INTO thing_principals (thing, principal, exclusive) VALUES (?1, ?2, ?3)",
            params![thing, principal, exclusive],
        )?;
        tx.commit()?;
        self.inner.security.attach_principal(principal, thing, ty);
        self.inner.security.bump();
        Ok(())
    }

    /// DetachThingPrincipal: detaches `principal` from `thing`; detaching a principal that is
    /// not attached succeeds.
    ///
    /// Errors: `ResourceNotFound` for an unknown thing.
    pub fn detach_thing_principal(
        &self,
        thing: &str,
        principal: &str,
    ) -> Result<(), RegistryError> {
        let principal = self.canonical_principal(principal);
        let principal = principal.as_str();
        let conn = self.inner.conn.lock();
        if !thing_exists(&conn, thing)? {
            return Err(thing_not_found(thing));
        }
        let n = conn.execute(
            "DELETE FROM thing_principals WHERE thing = ?1 AND principal = ?2",
            params![thing, principal],
        )?;
        if n > 0 {
            self.inner.security.detach_principal(principal, thing);
            self.inner.security.bump();
        }
        Ok(())
    }

    /// ListThingPrincipals / ListThingPrincipalsV2: the principals attached to `thing`, sorted,
    /// with their types; only those of `ty` when given.
    ///
    /// Errors: `ResourceNotFound` for an unknown thing; `InvalidRequest` for `max_results`
    /// outside 1..=250 or a malformed `next_token`.
    pub fn list_thing_principals(
        &self,
        thing: &str,
        ty: Option<ThingPrincipalType>,
        next_token: Option<&str>,
        max_results: usize,
    ) -> Result<Page<(String, ThingPrincipalType)>, RegistryError> {
        const TAG: &str = "thingPrincipals";
        token::check_max_results(max_results)?;
        let after = token::decode(TAG, next_token)?.unwrap_or_default();
        let conn = self.inner.conn.lock();
        if !thing_exists(&conn, thing)? {
            return Err(thing_not_found(thing));
        }
        let mut stmt = conn.prepare(
            "SELECT principal, exclusive FROM thing_principals WHERE thing = ?1 AND principal > ?2 AND (?3 IS NULL OR exclusive = ?3) ORDER BY principal LIMIT ?4",
        )?;
        let rows = stmt
            .query_map(
                params![
                    thing,
                    after,
                    ty.map(|t| t == ThingPrincipalType::Exclusive),
                    max_results as i64 + 1
                ],
                |r| Ok((r.get::<_, String>(0)?, principal_type(r.get(1)?))),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(token::page(TAG, rows, max_results, |(p, _)| p.clone()))
    }

    /// ListPrincipalThings / ListPrincipalThingsV2: the things `principal` is attached to, by
    /// name, with their types; only those of `ty` when given. An unknown principal has none
    /// (whether a certificate exists is the caller's check).
    ///
    /// Errors: `InvalidRequest` for `max_results` outside 1..=250 or a malformed `next_token`.
    pub fn list_principal_things(
        &self,
        principal: &str,
        ty: Option<ThingPrincipalType>,
        next_token: Option<&str>,
        max_results: usize,
    ) -> Result<Page<(String, ThingPrincipalType)>, RegistryError> {
        const TAG: &str = "principalThings";
        token::check_max_results(max_results)?;
        let principal = self.canonical_principal(principal);
        let principal = principal.as_str();
        let after = token::decode(TAG, next_token)?.unwrap_or_default();
        let conn = self.inner.conn.lock();
        let mut stmt = conn.prepare(
            "SELECT thing, exclusive FROM thing_principals WHERE principal = ?1 AND thing > ?2 AND (?3 IS NULL OR exclusive = ?3) ORDER BY thing LIMIT ?4",
        )?;
        let rows = stmt
            .query_map(
                params![
                    principal,
                    after,
                    ty.map(|t| t == ThingPrincipalType::Exclusive),
                    max_results as i64 + 1
                ],
                |r| Ok((r.get::<_, String>(0)?, principal_type(r.get(1)?))),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(token::page(TAG, rows, max_results, |(t, _)| t.clone()))
    }

    // ---- the authorization read side (in memory, no database access except attributes)

    /// Parsed default versions of the policies that apply to a connection authenticated by
    /// `principal_arn` (a certificate ARN): those attached to it directly, plus those
    /// attached to the thing groups (and their ancestors) of `thing_name`, if any — direct
    /// ones first, then per group root first; each policy once. Documents are parsed once
    /// (when a version becomes the default, or at open) and shared; the answer reflects every
    /// change committed before the current [`security_epoch`](Self::security_epoch).
    pub fn effective_policies(
        &self,
        principal_arn: &str,
        thing_name: Option<&str>,
    ) -> Vec<Arc<PolicyDocument>> {
        let targets = self.effective_targets(principal_arn, thing_name);
        self.inner
            .security
            .policies_for(targets.iter().map(String::as_str))
    }

    /// The targets whose policies apply to `principal_arn` connected as `thing_name`: the
    /// principal, then the thing's groups root first (each once).
    fn effective_targets(&self, principal_arn: &str, thing_name: Option<&str>) -> Vec<String> {
        let mut targets = vec![self.canonical_principal(principal_arn)];
        if let Some(thing) = thing_name {
            use thingwatch_events::GroupMembership;
            self.inner.index.for_each_group_chain(thing, &mut |chain| {
                for g in chain {
                    let arn = self.thing_group_arn(g);
                    if !targets.contains(&arn) {
                        targets.push(arn);
                    }
                }
            });
        }
        targets
    }

    /// GetEffectivePolicies: the policies [`effective_policies`](Self::effective_policies)
    /// evaluates, with names, ARNs and default documents, in the same order.
    ///
    /// Errors: `ResourceNotFound` when `thing_name` names no thing.
    pub fn effective_policy_infos(
        &self,
        principal_arn: &str,
        thing_name: Option<&str>,
    ) -> Result<Vec<crate::PolicyInfo>, RegistryError> {
        if let Some(thing) = thing_name {
            let conn = self.inner.conn.lock();
            if !thing_exists(&conn, thing)? {
                return Err(thing_not_found(thing));
            }
        }
        let targets = self.effective_targets(principal_arn, thing_name);
        let mut names: Vec<String> = Vec::new();
        {
            let conn = self.inner.conn.lock();
            let mut stmt = conn.prepare_cached(
                "SELECT policy FROM policy_targets WHERE target = ?1 ORDER BY policy",
            )?;
            for t in &targets {
                for name in stmt.query_map([t], |r| r.get::<_, String>(0))? {
                    let name = name?;
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
        }
        names.iter().map(|n| self.get_policy(n)).collect()
    }

    /// Things the principal is attached to (AttachThingPrincipal), name order.
    pub fn principal_things(&self, principal_arn: &str) -> Vec<String> {
        self.inner
            .security
            .things_of(&self.canonical_principal(principal_arn))
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    }

    /// How `principal_arn` is attached to `thing` (`Exclusive` for EXCLUSIVE_THING), `None`
    /// when it is not attached.
    pub fn thing_principal_type(
        &self,
        principal_arn: &str,
        thing: &str,
    ) -> Option<ThingPrincipalType> {
        self.inner
            .security
            .principal_type(&self.canonical_principal(principal_arn), thing)
    }

    /// Thing type name and attributes of `thing` (for
    /// `${iot:Connection.Thing.ThingTypeName}` and `${iot:Connection.Thing.Attributes[...]}`);
    /// `None` for an unknown thing (or when the database cannot be read: authorization then
    /// sees no attributes, which can only deny).
    pub fn thing_attributes(
        &self,
        thing: &str,
    ) -> Option<(Option<String>, BTreeMap<String, String>)> {
        let conn = self.inner.conn.lock();
        load_thing(&conn, thing)
            .ok()
            .flatten()
            .map(|row| (row.thing_type, row.attributes))
    }

    /// Increments on every policy, policy-version, attachment or thing-principal change, and
    /// on every thing, thing-group or membership change (they change thing attributes and
    /// which group policies apply). Starts at 0 when the registry is opened.
    pub fn security_epoch(&self) -> u64 {
        self.inner.security.epoch()
    }

    /// A `tokio::sync::watch` receiver of the security epoch: `changed().await` wakes after
    /// each change counted by [`security_epoch`](Self::security_epoch) (intermediate values
    /// may be coalesced).
    pub fn subscribe_security_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.security.subscribe()
    }
}
