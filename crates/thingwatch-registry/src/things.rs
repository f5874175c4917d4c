//! Thing operations: CreateThing, DescribeThing, UpdateThing, DeleteThing, ListThings
//! (AWS IoT API Reference pages of the same names).

use crate::error::{RegistryError, thing_not_found};
use crate::registry::Registry;
use crate::token;
use crate::types::{ListThingsQuery, MAX_THING_ATTRIBUTES, Page, ThingInfo};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};
use std::collections::BTreeMap;

/// A stored thing without its derived fields.
pub(crate) struct ThingRow {
    pub(crate) id: String,
    pub(crate) thing_type: Option<String>,
    pub(crate) version: i64,
    pub(crate) attributes: BTreeMap<String, String>,
}

pub(crate) fn load_thing(conn: &Connection, name: &str) -> Result<Option<ThingRow>, RegistryError> {
    let row = conn
        .query_row(
            "SELECT id, thing_type, version FROM things WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((id, thing_type, version)) = row else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT name, value FROM thing_attributes WHERE thing = ?1")?;
    let attributes = stmt
        .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<BTreeMap<String, String>, _>>()?;
    Ok(Some(ThingRow {
        id,
        thing_type,
        version,
        attributes,
    }))
}

fn write_attributes(
    conn: &Connection,
    thing: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<(), RegistryError> {
    conn.execute("DELETE FROM thing_attributes WHERE thing = ?1", [thing])?;
    let mut stmt = conn
        .prepare_cached("INSERT INTO thing_attributes (thing, name, value) VALUES (?1, ?2, ?3)")?;
    for (k, v) in attributes {
        stmt.execute(params![thing, k, v])?;
    }
    Ok(())
}

/// Drops attributes with an empty value: AWS documents an empty value as the way to remove
/// an attribute (API Reference `AttributePayload`), so none is ever stored.
fn without_empty(attributes: BTreeMap<String, String>) -> BTreeMap<String, String> {
    attributes
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn check_attribute_count(
    name: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<(), RegistryError> {
    if attributes.len() > MAX_THING_ATTRIBUTES {
        return Err(RegistryError::InvalidRequest(format!(
            "Thing {name} would have {} attributes; a thing without a thing type can have at most {MAX_THING_ATTRIBUTES}.",
            attributes.len()
        )));
    }
    Ok(())
}

fn version_conflict(name: &str, stored: i64, expected: i64) -> RegistryError {
    RegistryError::VersionConflict(format!(
        "The version of thing {name} is {stored}, not the expected version {expected}."
    ))
}

impl Registry {
    fn thing_info(&self, name: &str, row: ThingRow) -> ThingInfo {
        ThingInfo {
            thing_name: name.to_string(),
            thing_id: row.id,
            thing_arn: self.thing_arn(name),
            attributes: row.attributes,
            version: row.version,
            thing_type_name: row.thing_type,
        }
    }

    /// CreateThing: creates thing `name` with `attributes` (empty values dropped), version 1
    /// and a new UUID `thingId`. Creating an existing thing with the same attributes returns
    /// it unchanged ("If this call is made multiple times using the same thing name and
    /// configuration, the call will succeed", API Reference `CreateThing`). `now_ms` is
    /// recorded as the creation time (epoch milliseconds).
    ///
    /// Errors: `ResourceAlreadyExists` (with the existing `thingId` / ARN) when the thing
    /// exists with other attributes; `InvalidRequest` for more than [`MAX_THING_ATTRIBUTES`]
    /// attributes.
    pub fn create_thing(
        &self,
        name: &str,
        attributes: BTreeMap<String, String>,
        now_ms: i64,
    ) -> Result<ThingInfo, RegistryError> {
        let attributes = without_empty(attributes);
        check_attribute_count(name, &attributes)?;
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        if let Some(existing) = load_thing(&tx, name)? {
            if existing.attributes == attributes && existing.thing_type.is_none() {
                return Ok(self.thing_info(name, existing));
            }
            return Err(RegistryError::ResourceAlreadyExists {
                message: format!(
                    "Thing {name} already exists in account with different attributes"
                ),
                resource_id: existing.id,
                resource_arn: self.thing_arn(name),
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "INSERT INTO things (name, id, thing_type, version, created_ms) VALUES (?1, ?2, NULL, 1, ?3)",
            params![name, id, now_ms],
        )?;
        write_attributes(&tx, name, &attributes)?;
        tx.commit()?;
        Ok(self.thing_info(
            name,
            ThingRow {
                id,
                thing_type: None,
                version: 1,
                attributes,
            },
        ))
    }

    /// DescribeThing.
    ///
    /// Errors: `ResourceNotFound` ("Thing NAME cannot be found.").
    pub fn describe_thing(&self, name: &str) -> Result<ThingInfo, RegistryError> {
        let conn = self.inner.conn.lock();
        let row = load_thing(&conn, name)?.ok_or_else(|| thing_not_found(name))?;
        Ok(self.thing_info(name, row))
    }

    /// UpdateThing: `attributes` `None` keeps the attributes; with `merge` the given ones are
    /// merged in and an empty value removes that attribute; without `merge` they replace the
    /// stored set (API Reference `AttributePayload.merge`). The version increases by one on
    /// every successful update.
    ///
    /// Errors: `ResourceNotFound`; `VersionConflict` when `expected_version` is given and
    /// differs from the stored version; `InvalidRequest` when the result would have more than
    /// [`MAX_THING_ATTRIBUTES`] attributes.
    pub fn update_thing(
        &self,
        name: &str,
        attributes: Option<BTreeMap<String, String>>,
        merge: bool,
        expected_version: Option<i64>,
    ) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        let existing = load_thing(&tx, name)?.ok_or_else(|| thing_not_found(name))?;
        if let Some(expected) = expected_version
            && expected != existing.version
        {
            return Err(version_conflict(name, existing.version, expected));
        }
        if let Some(given) = attributes {
            let merged = if merge {
                let mut merged = existing.attributes;
                for (k, v) in given {
                    if v.is_empty() {
                        merged.remove(&k);
                    } else {
                        merged.insert(k, v);
                    }
                }
                merged
            } else {
                without_empty(given)
            };
            check_attribute_count(name, &merged)?;
            write_attributes(&tx, name, &merged)?;
        }
        tx.execute(
            "UPDATE things SET version = version + 1 WHERE name = ?1",
            [name],
        )?;
        tx.commit()?;
        // Attributes feed `${iot:Connection.Thing.Attributes[...]}`.
        self.inner.security.bump();
        Ok(())
    }

    /// DeleteThing: deletes the thing, its group memberships and its principal attachments,
    /// then revalidates connected clients' levels and bumps the security epoch. Deleting a thing that does not exist succeeds ("Returns successfully
    /// with no error if the deletion is successful or you specify a thing that doesn't
    /// exist", API Reference `DeleteThing`).
    ///
    /// Errors: `VersionConflict` when the thing exists and `expected_version` differs.
    pub fn delete_thing(
        &self,
        name: &str,
        expected_version: Option<i64>,
    ) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        let version: Option<i64> = tx
            .query_row("SELECT version FROM things WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(version) = version else {
            return Ok(());
        };
        if let Some(expected) = expected_version
            && expected != version
        {
            return Err(version_conflict(name, version, expected));
        }
        tx.execute("DELETE FROM things WHERE name = ?1", [name])?;
        tx.commit()?;
        self.inner.index.remove_thing(name);
        self.inner.security.remove_thing(name);
        self.inner.security.bump();
        self.inner.logger.invalidate();
        Ok(())
    }

    /// ListThings: things sorted by name, optionally only those having attribute
    /// `attribute_name` (with exactly `attribute_value` when given) or of a thing type (none
    /// has one, so that filter matches nothing).
    ///
    /// Errors: `InvalidRequest` for `attribute_value` without `attribute_name`, `max_results`
    /// outside 1..=250 or a malformed `next_token`.
    pub fn list_things(&self, q: &ListThingsQuery) -> Result<Page<ThingInfo>, RegistryError> {
        const TAG: &str = "things";
        token::check_max_results(q.max_results)?;
        let after = token::decode(TAG, q.next_token.as_deref())?.unwrap_or_default();
        if q.attribute_value.is_some() && q.attribute_name.is_none() {
            return Err(RegistryError::InvalidRequest(
                "attributeValue requires attributeName.".to_string(),
            ));
        }
        let mut sql = String::from("SELECT t.name FROM things t");
        let mut args: Vec<Value> = vec![Value::Text(after)];
        let mut conds = vec!["t.name > ?1".to_string()];
        if let Some(attr) = &q.attribute_name {
            sql.push_str(" JOIN thing_attributes a ON a.thing = t.name");
            args.push(Value::Text(attr.clone()));
            conds.push(format!("a.name = ?{}", args.len()));
            if let Some(value) = &q.attribute_value {
                args.push(Value::Text(value.clone()));
                conds.push(format!("a.value = ?{}", args.len()));
            }
        }
        if let Some(ty) = &q.thing_type_name {
            args.push(Value::Text(ty.clone()));
            conds.push(format!("t.thing_type = ?{}", args.len()));
        }
        args.push(Value::Integer(q.max_results as i64 + 1));
        sql.push_str(&format!(
            " WHERE {} ORDER BY t.name LIMIT ?{}",
            conds.join(" AND "),
            args.len()
        ));
        let conn = self.inner.conn.lock();
        let mut stmt = conn.prepare(&sql)?;
        let names = stmt
            .query_map(params_from_iter(args), |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut things = Vec::with_capacity(names.len());
        for name in names {
            if let Some(row) = load_thing(&conn, &name)? {
                things.push(self.thing_info(&name, row));
            }
        }
        Ok(token::page(TAG, things, q.max_results, |t| {
            t.thing_name.clone()
        }))
    }
}
