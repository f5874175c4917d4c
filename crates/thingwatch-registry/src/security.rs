//! [`SecurityIndex`]: the in-memory copy of what authorization reads on every connection —
//! each IoT policy's parsed default version, the policies attached to each target
//! (certificate ARN or thing-group ARN) and the things each principal is attached to — plus
//! the security epoch and its change feed.
//!
//! The registry updates the index after each committed change while it holds its writer
//! lock, then bumps the epoch ([`SecurityIndex::bump`]), so a connection that sees the new
//! epoch and re-reads always sees the committed state. Documents are parsed once, when a
//! version becomes the default (or at open), and shared as `Arc<PolicyDocument>`.

use crate::types::ThingPrincipalType;
use parking_lot::RwLock;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use thingwatch_policy::{PolicyDocument, PolicyKind};

#[derive(Debug, Default)]
struct SecState {
    /// Policy name → its parsed default version. A stored document the current grammar no
    /// longer accepts is left out (it then grants nothing: default deny).
    policies: HashMap<String, Arc<PolicyDocument>>,
    /// Target (certificate ARN / thing-group ARN) → names of the policies attached to it.
    targets: HashMap<String, BTreeSet<String>>,
    /// Principal ARN → thing → attachment type.
    principals: HashMap<String, BTreeMap<String, ThingPrincipalType>>,
}

/// Policies, attachments and thing principals in memory, with the security epoch.
#[derive(Debug)]
pub(crate) struct SecurityIndex {
    state: RwLock<SecState>,
    epoch: AtomicU64,
    changes: tokio::sync::watch::Sender<u64>,
}

impl SecurityIndex {
    /// Builds the index from stored rows (see [`crate::store::load_security_rows`]).
    pub(crate) fn build(rows: crate::store::SecurityRows) -> Self {
        let mut state = SecState::default();
        for (name, doc) in rows.policies {
            if let Ok(parsed) = PolicyDocument::parse(&doc, PolicyKind::IotPolicy) {
                state.policies.insert(name, Arc::new(parsed));
            }
        }
        for (policy, target) in rows.targets {
            state.targets.entry(target).or_default().insert(policy);
        }
        for (principal, thing, exclusive) in rows.principals {
            let ty = if exclusive {
                ThingPrincipalType::Exclusive
            } else {
                ThingPrincipalType::NonExclusive
            };
            state
                .principals
                .entry(principal)
                .or_default()
                .insert(thing, ty);
        }
        let (changes, _) = tokio::sync::watch::channel(0);
        SecurityIndex {
            state: RwLock::new(state),
            epoch: AtomicU64::new(0),
            changes,
        }
    }

    /// The current epoch.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Increments the epoch and tells every subscriber.
    pub(crate) fn bump(&self) {
        let next = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        self.changes.send_replace(next);
    }

    /// A receiver that sees every new epoch (the latest value; intermediate ones may be
    /// skipped, which is all a cache needs).
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Sets (or replaces) the parsed default version of `policy`.
    pub(crate) fn set_policy(&self, policy: &str, doc: Arc<PolicyDocument>) {
        self.state.write().policies.insert(policy.to_string(), doc);
    }

    /// Forgets a deleted policy (it has no targets left: DeletePolicy refuses attached ones).
    pub(crate) fn remove_policy(&self, policy: &str) {
        self.state.write().policies.remove(policy);
    }

    /// Records that `policy` is attached to `target`.
    pub(crate) fn attach(&self, policy: &str, target: &str) {
        self.state
            .write()
            .targets
            .entry(target.to_string())
            .or_default()
            .insert(policy.to_string());
    }

    /// Records that `policy` is no longer attached to `target`.
    pub(crate) fn detach(&self, policy: &str, target: &str) {
        let mut s = self.state.write();
        if let Some(set) = s.targets.get_mut(target) {
            set.remove(policy);
            if set.is_empty() {
                s.targets.remove(target);
            }
        }
    }

    /// Forgets every policy attached to `target`.
    pub(crate) fn detach_target(&self, target: &str) {
        self.state.write().targets.remove(target);
    }

    /// Records `principal` attached to `thing` with `ty` (replacing an older type).
    pub(crate) fn attach_principal(&self, principal: &str, thing: &str, ty: ThingPrincipalType) {
        self.state
            .write()
            .principals
            .entry(principal.to_string())
            .or_default()
            .insert(thing.to_string(), ty);
    }

    /// Records that `principal` is no longer attached to `thing`.
    pub(crate) fn detach_principal(&self, principal: &str, thing: &str) {
        let mut s = self.state.write();
        if let Some(things) = s.principals.get_mut(principal) {
            things.remove(thing);
            if things.is_empty() {
                s.principals.remove(principal);
            }
        }
    }

    /// Forgets every principal of a deleted thing.
    pub(crate) fn remove_thing(&self, thing: &str) {
        let mut s = self.state.write();
        s.principals.retain(|_, things| {
            things.remove(thing);
            !things.is_empty()
        });
    }

    /// The things `principal` is attached to, in name order, with their types.
    pub(crate) fn things_of(&self, principal: &str) -> Vec<(String, ThingPrincipalType)> {
        self.state
            .read()
            .principals
            .get(principal)
            .map(|m| m.iter().map(|(t, ty)| (t.clone(), *ty)).collect())
            .unwrap_or_default()
    }

    /// The attachment type of `principal` on `thing`, if attached.
    pub(crate) fn principal_type(
        &self,
        principal: &str,
        thing: &str,
    ) -> Option<ThingPrincipalType> {
        self.state
            .read()
            .principals
            .get(principal)
            .and_then(|m| m.get(thing).copied())
    }

    /// The parsed default versions of the policies attached to `targets`, in the order the
    /// targets are given and by policy name within a target, each policy once.
    pub(crate) fn policies_for<'a>(
        &self,
        targets: impl IntoIterator<Item = &'a str>,
    ) -> Vec<Arc<PolicyDocument>> {
        let s = self.state.read();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        for target in targets {
            let Some(names) = s.targets.get(target) else {
                continue;
            };
            for name in names {
                if seen.insert(name.as_str())
                    && let Some(doc) = s.policies.get(name)
                {
                    out.push(doc.clone());
                }
            }
        }
        out
    }
}
