//! Thing-group operations: CreateThingGroup, DescribeThingGroup, UpdateThingGroup,
//! DeleteThingGroup, ListThingGroups, AddThingToThingGroup, RemoveThingFromThingGroup,
//! ListThingsInThingGroup, ListThingGroupsForThing (AWS IoT API Reference pages of the same
//! names; rules from the Developer Guide *Static thing groups*).

use crate::error::{RegistryError, group_not_found, thing_not_found};
use crate::registry::Registry;
use crate::token;
use crate::types::{
    GroupNameAndArn, MAX_DIRECT_CHILD_GROUPS, MAX_GROUPS_PER_THING, MAX_HIERARCHY_DEPTH, Page,
    ThingGroupInfo, ThingGroupProperties,
};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};
use std::collections::BTreeMap;

struct GroupRow {
    id: String,
    parent: Option<String>,
    description: Option<String>,
    attributes: BTreeMap<String, String>,
    version: i64,
    created_ms: i64,
}

fn load_group(conn: &Connection, name: &str) -> Result<Option<GroupRow>, RegistryError> {
    let row = conn
        .query_row(
            "SELECT id, parent, description, attributes, version, created_ms FROM thing_groups WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((id, parent, description, attributes, version, created_ms)) = row else {
        return Ok(None);
    };
    Ok(Some(GroupRow {
        id,
        parent,
        description,
        attributes: serde_json::from_str(&attributes)?,
        version,
        created_ms,
    }))
}

fn thing_exists(conn: &Connection, name: &str) -> Result<bool, RegistryError> {
    Ok(conn
        .query_row("SELECT 1 FROM things WHERE name = ?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}

fn without_empty(attributes: BTreeMap<String, String>) -> BTreeMap<String, String> {
    attributes
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn version_conflict(name: &str, stored: i64, expected: i64) -> RegistryError {
    RegistryError::VersionConflict(format!(
        "The version of thing group {name} is {stored}, not the expected version {expected}."
    ))
}

/// Runs a one-column name query with the page arguments appended (`?after`, `?limit`).
fn query_names(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
) -> Result<Vec<String>, RegistryError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

impl Registry {
    fn name_and_arn(&self, name: &str) -> GroupNameAndArn {
        GroupNameAndArn {
            group_name: name.to_string(),
            group_arn: self.thing_group_arn(name),
        }
    }

    fn group_info(&self, name: &str, row: GroupRow) -> ThingGroupInfo {
        let root_to_parent = self
            .inner
            .index
            .chain(name)
            .map(|chain| {
                chain[..chain.len().saturating_sub(1)]
                    .iter()
                    .map(|g| self.name_and_arn(g))
                    .collect()
            })
            .unwrap_or_default();
        ThingGroupInfo {
            name: name.to_string(),
            arn: self.thing_group_arn(name),
            id: row.id,
            version: row.version,
            description: row.description,
            attributes: row.attributes,
            parent_group_name: row.parent,
            root_to_parent,
            creation_date_ms: row.created_ms,
        }
    }

    /// CreateThingGroup: creates group `name` (version 1, new UUID id, `now_ms` as
    /// `creationDate`) under `parent`. Creating an existing group with the same parent,
    /// description and attributes returns it ("If the ThingGroup that you create has the exact
    /// same attributes as an existing ThingGroup, you will get a 200 success response", AWS CLI
    /// reference `create-thing-group`). `props.merge` is ignored on create; empty attribute
    /// values are dropped. A group created under a parent revalidates connected clients.
    ///
    /// Errors: `ResourceAlreadyExists` (existing id / ARN) when the group exists with another
    /// configuration; `InvalidRequest` when `parent` does not exist (the operation models no
    /// `ResourceNotFoundException`, API Reference `CreateThingGroup`), when the new group
    /// would be deeper than [`MAX_HIERARCHY_DEPTH`] levels, or when `parent` already has
    /// [`MAX_DIRECT_CHILD_GROUPS`] children.
    pub fn create_thing_group(
        &self,
        name: &str,
        parent: Option<&str>,
        props: ThingGroupProperties,
        now_ms: i64,
    ) -> Result<ThingGroupInfo, RegistryError> {
        let attributes = without_empty(props.attributes.unwrap_or_default());
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        if let Some(existing) = load_group(&tx, name)? {
            if existing.parent.as_deref() == parent
                && existing.description == props.description
                && existing.attributes == attributes
            {
                return Ok(self.group_info(name, existing));
            }
            return Err(RegistryError::ResourceAlreadyExists {
                message: format!("Thing Group {name} already exists with different properties"),
                resource_id: existing.id,
                resource_arn: self.thing_group_arn(name),
            });
        }
        if let Some(p) = parent {
            let Some(chain) = self.inner.index.chain(p) else {
                return Err(RegistryError::InvalidRequest(format!(
                    "Parent thing group {p} does not exist."
                )));
            };
            if chain.len() >= MAX_HIERARCHY_DEPTH {
                return Err(RegistryError::InvalidRequest(format!(
                    "Cannot create thing group {name} under {p}: a thing group hierarchy can be at most {MAX_HIERARCHY_DEPTH} levels deep."
                )));
            }
            let children: i64 = tx.query_row(
                "SELECT COUNT(*) FROM thing_groups WHERE parent = ?1",
                [p],
                |r| r.get(0),
            )?;
            if children as usize >= MAX_DIRECT_CHILD_GROUPS {
                return Err(RegistryError::InvalidRequest(format!(
                    "Thing group {p} already has {MAX_DIRECT_CHILD_GROUPS} child groups, the maximum."
                )));
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO thing_groups (name, id, parent, description, attributes, version, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
            params![name, id, parent, props.description, serde_json::to_string(&attributes)?, now_ms],
        )?;
        tx.commit()?;
        self.inner.index.insert_group(name, parent);
        if parent.is_some() {
            self.inner.logger.invalidate();
        }
        Ok(self.group_info(
            name,
            GroupRow {
                id,
                parent: parent.map(str::to_string),
                description: props.description,
                attributes,
                version: 1,
                created_ms: now_ms,
            },
        ))
    }

    /// DescribeThingGroup, with `rootToParentThingGroups` root first.
    ///
    /// Errors: `ResourceNotFound` ("Thing group NAME cannot be found.").
    pub fn describe_thing_group(&self, name: &str) -> Result<ThingGroupInfo, RegistryError> {
        let conn = self.inner.conn.lock();
        let row = load_group(&conn, name)?.ok_or_else(|| group_not_found(name))?;
        Ok(self.group_info(name, row))
    }

    /// UpdateThingGroup: `props.description` `Some` replaces the description (`None` keeps
    /// it); `props.attributes` `Some` merges (with `props.merge`; an empty value removes that
    /// attribute) or replaces the attributes (`None` keeps them). Returns the new version
    /// (old + 1). The parent cannot be changed (AWS has no such parameter).
    ///
    /// Errors: `ResourceNotFound`; `VersionConflict` when `expected_version` differs.
    pub fn update_thing_group(
        &self,
        name: &str,
        props: ThingGroupProperties,
        expected_version: Option<i64>,
    ) -> Result<i64, RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        let existing = load_group(&tx, name)?.ok_or_else(|| group_not_found(name))?;
        if let Some(expected) = expected_version
            && expected != existing.version
        {
            return Err(version_conflict(name, existing.version, expected));
        }
        let description = props.description.or(existing.description);
        let attributes = match props.attributes {
            None => existing.attributes,
            Some(given) if props.merge => {
                let mut merged = existing.attributes;
                for (k, v) in given {
                    if v.is_empty() {
                        merged.remove(&k);
                    } else {
                        merged.insert(k, v);
                    }
                }
                merged
            }
            Some(given) => without_empty(given),
        };
        let version = existing.version + 1;
        tx.execute(
            "UPDATE thing_groups SET description = ?2, attributes = ?3, version = ?4 WHERE name = ?1",
            params![name, description, serde_json::to_string(&attributes)?, version],
        )?;
        tx.commit()?;
        Ok(version)
    }

    /// DeleteThingGroup: deletes the group and its memberships, then revalidates connected
    /// clients. Deleting a group that does not exist succeeds (the operation models no
    /// `ResourceNotFoundException`, API Reference `DeleteThingGroup`; moto's tests assert
    /// 200). A THING_GROUP log target naming the group is kept; policies attached to the
    /// group are detached (the security epoch is bumped).
    ///
    /// Errors: `InvalidRequest` while the group has child groups; `VersionConflict` when
    /// `expected_version` differs.
    pub fn delete_thing_group(
        &self,
        name: &str,
        expected_version: Option<i64>,
    ) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        let Some(existing) = load_group(&tx, name)? else {
            return Ok(());
        };
        if let Some(expected) = expected_version
            && expected != existing.version
        {
            return Err(version_conflict(name, existing.version, expected));
        }
        let has_children = tx
            .query_row(
                "SELECT 1 FROM thing_groups WHERE parent = ?1 LIMIT 1",
                [name],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if has_children {
            return Err(RegistryError::InvalidRequest(format!(
                "Cannot delete thing group : {name} when there are still child groups attached to it"
            )));
        }
        let members = query_names(
            &tx,
            "SELECT thing FROM memberships WHERE grp = ?1",
            vec![Value::Text(name.to_string())],
        )?;
        let arn = self.thing_group_arn(name);
        tx.execute("DELETE FROM policy_targets WHERE target = ?1", [&arn])?;
        tx.execute("DELETE FROM thing_groups WHERE name = ?1", [name])?;
        tx.commit()?;
        self.inner.index.remove_group(name, &members);
        self.inner.security.detach_target(&arn);
        self.inner.security.bump();
        self.inner.logger.invalidate();
        drop(conn);
        let things: Vec<&str> = members.iter().map(String::as_str).collect();
        self.membership_changed(&things);
        Ok(())
    }

    /// ListThingGroups, sorted by name. With `parent`: its direct children, or with
    /// `recursive` all its descendants. Without `parent`: the root groups, or with
    /// `recursive` every group. `name_prefix` keeps names starting with it. AWS's
    /// `recursive` has no documented default (botocore `RecursiveWithoutDefault`) and moto's
    /// tests list every group when it is absent, so the API layer passes
    /// `recursive.unwrap_or(true)`.
    ///
    /// Errors: `ResourceNotFound` when `parent` does not exist; `InvalidRequest` for
    /// `max_results` outside 1..=250 or a malformed `next_token`.
    pub fn list_thing_groups(
        &self,
        parent: Option<&str>,
        name_prefix: Option<&str>,
        recursive: bool,
        next_token: Option<&str>,
        max_results: usize,
    ) -> Result<Page<GroupNameAndArn>, RegistryError> {
        const TAG: &str = "thingGroups";
        token::check_max_results(max_results)?;
        let after = token::decode(TAG, next_token)?.unwrap_or_default();
        let conn = self.inner.conn.lock();
        let mut args = vec![Value::Text(after)];
        let source = match (parent, recursive) {
            (Some(p), true) => {
                if load_group(&conn, p)?.is_none() {
                    return Err(group_not_found(p));
                }
                args.push(Value::Text(p.to_string()));
                "WITH RECURSIVE sub(name) AS (SELECT name FROM thing_groups WHERE parent = ?2 \
                 UNION ALL SELECT g.name FROM thing_groups g JOIN sub s ON g.parent = s.name) \
                 SELECT name FROM sub WHERE name > ?1"
            }
            (Some(p), false) => {
                if load_group(&conn, p)?.is_none() {
                    return Err(group_not_found(p));
                }
                args.push(Value::Text(p.to_string()));
                "SELECT name FROM thing_groups WHERE parent = ?2 AND name > ?1"
            }
            (None, true) => "SELECT name FROM thing_groups WHERE name > ?1",
            (None, false) => "SELECT name FROM thing_groups WHERE parent IS NULL AND name > ?1",
        };
        let mut sql = source.to_string();
        if let Some(prefix) = name_prefix {
            args.push(Value::Text(prefix.to_string()));
            let n = args.len();
            sql.push_str(&format!(" AND substr(name, 1, length(?{n})) = ?{n}"));
        }
        args.push(Value::Integer(max_results as i64 + 1));
        sql.push_str(&format!(" ORDER BY name LIMIT ?{}", args.len()));
        let names = query_names(&conn, &sql, args)?;
        let rows = names.iter().map(|n| self.name_and_arn(n)).collect();
        Ok(token::page(TAG, rows, max_results, |g| {
            g.group_name.clone()
        }))
    }

    /// AddThingToThingGroup: adds `thing` to `group` directly, then revalidates connected
    /// clients. Adding a thing to a group it is already in succeeds without change.
    ///
    /// Errors: `ResourceNotFound` for an unknown thing or group; `InvalidRequest` when the
    /// thing is already in [`MAX_GROUPS_PER_THING`] groups, or in another group of the same
    /// hierarchy ("you can't add a thing to more than one group in the same hierarchy",
    /// Developer Guide *Static thing groups*; same hierarchy = same root group).
    pub fn add_thing_to_thing_group(&self, thing: &str, group: &str) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        if !thing_exists(&tx, thing)? {
            return Err(thing_not_found(thing));
        }
        let Some(chain) = self.inner.index.chain(group) else {
            return Err(group_not_found(group));
        };
        let current = self.inner.index.groups_of(thing);
        if current.iter().any(|g| **g == *group) {
            return Ok(());
        }
        if current.len() >= MAX_GROUPS_PER_THING {
            return Err(RegistryError::InvalidRequest(format!(
                "Thing {thing} is already in {MAX_GROUPS_PER_THING} thing groups, the maximum."
            )));
        }
        let root = &chain[0];
        for g in &current {
            let same_root = self
                .inner
                .index
                .chain(g)
                .is_some_and(|c| c.first() == Some(root));
            if same_root {
                return Err(RegistryError::InvalidRequest(format!(
                    "Thing {thing} cannot be added to thing group {group}: it is already in thing group {g} of the same hierarchy."
                )));
            }
        }
        tx.execute(
            "INSERT INTO memberships (thing, grp) VALUES (?1, ?2)",
            params![thing, group],
        )?;
        tx.commit()?;
        self.inner.index.add_member(thing, group);
        self.inner.logger.invalidate();
        self.inner.security.bump();
        drop(conn);
        self.membership_changed(&[thing]);
        Ok(())
    }

    /// RemoveThingFromThingGroup: removes the direct membership, then revalidates connected
    /// clients. Removing a thing from a group it is not in succeeds without change.
    ///
    /// Errors: `ResourceNotFound` for an unknown thing or group.
    pub fn remove_thing_from_thing_group(
        &self,
        thing: &str,
        group: &str,
    ) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        if !thing_exists(&tx, thing)? {
            return Err(thing_not_found(thing));
        }
        if self.inner.index.chain(group).is_none() {
            return Err(group_not_found(group));
        }
        let removed = tx.execute(
            "DELETE FROM memberships WHERE thing = ?1 AND grp = ?2",
            params![thing, group],
        )?;
        tx.commit()?;
        if removed > 0 {
            self.inner.index.remove_member(thing, group);
            self.inner.logger.invalidate();
            self.inner.security.bump();
            drop(conn);
            self.membership_changed(&[thing]);
        }
        Ok(())
    }

    /// ListThingsInThingGroup: names of the things in `group` directly, or with `recursive`
    /// also in all its descendant groups ("When true, list things in this thing group and in
    /// all child groups as well"), sorted by name, each once.
    ///
    /// Errors: `ResourceNotFound` for an unknown group; `InvalidRequest` for `max_results`
    /// outside 1..=250 or a malformed `next_token`.
    pub fn list_things_in_thing_group(
        &self,
        group: &str,
        recursive: bool,
        next_token: Option<&str>,
        max_results: usize,
    ) -> Result<Page<String>, RegistryError> {
        const TAG: &str = "thingsInThingGroup";
        token::check_max_results(max_results)?;
        let after = token::decode(TAG, next_token)?.unwrap_or_default();
        let conn = self.inner.conn.lock();
        if load_group(&conn, group)?.is_none() {
            return Err(group_not_found(group));
        }
        let sql = if recursive {
            "WITH RECURSIVE sub(name) AS (SELECT ?2 \
             UNION ALL SELECT g.name FROM thing_groups g JOIN sub s ON g.parent = s.name) \
             SELECT DISTINCT m.thing FROM memberships m JOIN sub ON m.grp = sub.name \
             WHERE m.thing > ?1 ORDER BY m.thing LIMIT ?3"
        } else {
            "SELECT thing FROM memberships WHERE grp = ?2 AND thing > ?1 ORDER BY thing LIMIT ?3"
        };
        let names = query_names(
            &conn,
            sql,
            vec![
                Value::Text(after),
                Value::Text(group.to_string()),
                Value::Integer(max_results as i64 + 1),
            ],
        )?;
        Ok(token::page(TAG, names, max_results, Clone::clone))
    }

    /// ListThingGroupsForThing: the groups `thing` is in directly, sorted by name.
    ///
    /// Errors: `ResourceNotFound` for an unknown thing; `InvalidRequest` for `max_results`
    /// outside 1..=250 or a malformed `next_token`.
    pub fn list_thing_groups_for_thing(
        &self,
        thing: &str,
        next_token: Option<&str>,
        max_results: usize,
    ) -> Result<Page<GroupNameAndArn>, RegistryError> {
        const TAG: &str = "thingGroupsForThing";
        token::check_max_results(max_results)?;
        let after = token::decode(TAG, next_token)?.unwrap_or_default();
        let conn = self.inner.conn.lock();
        if !thing_exists(&conn, thing)? {
            return Err(thing_not_found(thing));
        }
        let names = query_names(
            &conn,
            "SELECT grp FROM memberships WHERE thing = ?2 AND grp > ?1 ORDER BY grp LIMIT ?3",
            vec![
                Value::Text(after),
                Value::Text(thing.to_string()),
                Value::Integer(max_results as i64 + 1),
            ],
        )?;
        let rows = names.iter().map(|n| self.name_and_arn(n)).collect();
        Ok(token::page(TAG, rows, max_results, |g| {
            g.group_name.clone()
        }))
    }
}
