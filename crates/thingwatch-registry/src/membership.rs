//! [`MembershipIndex`]: the in-memory copy of the thing-group hierarchy and of thing→group
//! membership that the level gate reads through [`GroupMembership`].
//!
//! Each group's chain (root → group) is precomputed, so [`GroupMembership::for_each_group_chain`]
//! is a hash lookup per direct group and allocates nothing. The registry updates the index
//! after each committed change while it holds its writer lock, then calls
//! `Logger::invalidate`, so a connection that revalidates always sees the committed state.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use thingwatch_events::GroupMembership;

/// A group's chain: group names from the root of its hierarchy down to the group itself.
type Chain = Arc<[Arc<str>]>;

#[derive(Debug, Default)]
struct IndexState {
    /// Group name → its chain, root first, ending with the group itself.
    chains: HashMap<Arc<str>, Chain>,
    /// Thing name → the chain of each group it is in directly. A group's chain never
    /// changes after creation (AWS has no way to re-parent a group, and only childless groups
    /// can be deleted), so the chains are shared with `chains` rather than looked up.
    groups_of: HashMap<Box<str>, Vec<Chain>>,
}

/// Thing-group hierarchy and membership, behind a read-write lock. `Send + Sync`.
#[derive(Debug, Default)]
pub struct MembershipIndex {
    state: RwLock<IndexState>,
}

impl MembershipIndex {
    /// Builds the index from `(group, parent)` pairs (any order; a parent that is not listed
    /// is treated as absent) and `(thing, group)` memberships.
    pub(crate) fn build(
        groups: Vec<(String, Option<String>)>,
        members: Vec<(String, String)>,
    ) -> Self {
        let parents: HashMap<&str, Option<&str>> = groups
            .iter()
            .map(|(g, p)| (g.as_str(), p.as_deref()))
            .collect();
        let mut chains: HashMap<Arc<str>, Chain> = HashMap::with_capacity(groups.len());
        for (name, _) in &groups {
            let mut chain: Vec<Arc<str>> = Vec::new();
            let mut cur = Some(name.as_str());
            // The hierarchy depth is bounded (MAX_HIERARCHY_DEPTH); the bound also guards
            // against a corrupt cycle in the stored parents.
            while let Some(g) = cur {
                if chain.len() > groups.len() {
                    break;
                }
                chain.push(Arc::from(g));
                cur = parents.get(g).copied().flatten();
            }
            chain.reverse();
            chains.insert(Arc::from(name.as_str()), Arc::from(chain));
        }
        let mut state = IndexState {
            chains,
            groups_of: HashMap::new(),
        };
        for (thing, group) in members {
            if let Some(chain) = state.chains.get(group.as_str()).cloned() {
                state
                    .groups_of
                    .entry(thing.into_boxed_str())
                    .or_default()
                    .push(chain);
            }
        }
        MembershipIndex {
            state: RwLock::new(state),
        }
    }

    /// The chain of `group` (root first, ending with `group`), if the group exists.
    pub fn chain(&self, group: &str) -> Option<Chain> {
        self.state.read().chains.get(group).cloned()
    }

    /// The groups `thing` is in directly (unsorted), empty for unknown things.
    pub fn groups_of(&self, thing: &str) -> Vec<Arc<str>> {
        self.state
            .read()
            .groups_of
            .get(thing)
            .map(|chains| chains.iter().filter_map(|c| c.last().cloned()).collect())
            .unwrap_or_default()
    }

    /// Records a new group under `parent` (which must already be indexed, or `None`).
    pub(crate) fn insert_group(&self, name: &str, parent: Option<&str>) {
        let mut s = self.state.write();
        let mut chain: Vec<Arc<str>> = parent
            .and_then(|p| s.chains.get(p))
            .map(|c| c.to_vec())
            .unwrap_or_default();
        let key: Arc<str> = Arc::from(name);
        chain.push(key.clone());
        s.chains.insert(key, Arc::from(chain));
    }

    /// Forgets a (childless) group and its memberships; `members` are the things that were in it.
    pub(crate) fn remove_group(&self, name: &str, members: &[String]) {
        let mut s = self.state.write();
        s.chains.remove(name);
        for thing in members {
            if let Some(groups) = s.groups_of.get_mut(thing.as_str()) {
                groups.retain(|c| !is_chain_of(c, name));
                if groups.is_empty() {
                    s.groups_of.remove(thing.as_str());
                }
            }
        }
    }

    /// Records that `thing` is in `group` directly.
    pub(crate) fn add_member(&self, thing: &str, group: &str) {
        let mut s = self.state.write();
        let Some(chain) = s.chains.get(group).cloned() else {
            return;
        };
        let groups = s.groups_of.entry(Box::from(thing)).or_default();
        if !groups.iter().any(|c| is_chain_of(c, group)) {
            groups.push(chain);
        }
    }

    /// Records that `thing` is no longer in `group`.
    pub(crate) fn remove_member(&self, thing: &str, group: &str) {
        let mut s = self.state.write();
        if let Some(groups) = s.groups_of.get_mut(thing) {
            groups.retain(|c| !is_chain_of(c, group));
            if groups.is_empty() {
                s.groups_of.remove(thing);
            }
        }
    }

    /// Forgets every membership of a deleted thing.
    pub(crate) fn remove_thing(&self, thing: &str) {
        self.state.write().groups_of.remove(thing);
    }
}

impl GroupMembership for MembershipIndex {
    /// One call per direct group of `thing_name`, with that group's chain root-first.
    fn for_each_group_chain(&self, thing_name: &str, visit: &mut dyn FnMut(&[Arc<str>])) {
        let s = self.state.read();
        let Some(groups) = s.groups_of.get(thing_name) else {
            return;
        };
        for chain in groups {
            visit(chain);
        }
    }
}

/// Whether `chain` is the chain of `group` (ends with it).
fn is_chain_of(chain: &[Arc<str>], group: &str) -> bool {
    chain.last().is_some_and(|g| &**g == group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chains_of(index: &MembershipIndex, thing: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        index.for_each_group_chain(thing, &mut |c| {
            out.push(c.iter().map(|g| g.to_string()).collect());
        });
        out.sort();
        out
    }

    #[test]
    fn build_orders_chains_root_first_whatever_the_input_order() {
        let index = MembershipIndex::build(
            vec![
                ("C".into(), Some("B".into())),
                ("A".into(), None),
                ("B".into(), Some("A".into())),
                ("X".into(), None),
            ],
            vec![("t".into(), "C".into()), ("t".into(), "X".into())],
        );
        assert_eq!(chains_of(&index, "t"), vec![vec!["A", "B", "C"], vec!["X"]]);
        assert!(chains_of(&index, "unknown").is_empty());
    }

    #[test]
    fn incremental_updates_match_a_rebuild() {
        let index = MembershipIndex::default();
        index.insert_group("A", None);
        index.insert_group("B", Some("A"));
        index.add_member("t", "B");
        index.add_member("t", "B");
        index.add_member("t", "missing");
        assert_eq!(chains_of(&index, "t"), vec![vec!["A", "B"]]);
        index.remove_member("t", "B");
        assert!(chains_of(&index, "t").is_empty());
        index.add_member("t", "A");
        index.remove_group("A", &["t".to_string()]);
        assert!(chains_of(&index, "t").is_empty());
        assert!(index.chain("A").is_none());
    }
}
