//! CloudWatch dashboards: named JSON bodies, validated as CloudWatch validates them, stored
//! in `DATA_DIR/metrics/dashboards.db`.
//!
//! Source: Amazon CloudWatch API Reference, *Dashboard Body Structure and Syntax*: a body
//! is an object with `widgets` (at most 500), each with `type` (`metric`, `text`, `log`,
//! `alarm`, `explorer`, `custom`), `properties`, and an optional grid position `x`
//! (0–23), `y` (≥ 0), `width` (1–24, `x + width` ≤ 24) and `height` (1–1000); a metric
//! widget names its `region` and `metrics` (arrays) or an alarm annotation, a text widget its
//! `markdown`.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use thingwatch_sqlite::{Migration, Schema};

use crate::store::MetricsError;

const SCHEMA: Schema = Schema::new(
    "dashboards.db",
    &[Migration::Sql(
        "CREATE TABLE IF NOT EXISTS dashboards (
            name TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            modified_ms INTEGER NOT NULL
        );",
    )],
);

/// Most widgets on a dashboard.
pub const MAX_WIDGETS: usize = 500;
/// Largest dashboard body, bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One problem with a body: where (`/widgets/0/width`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationMessage {
    /// A JSON pointer into the body.
    pub data_path: String,
    /// What is wrong.
    pub message: String,
}

/// A stored dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dashboard {
    /// `DashboardName`.
    pub name: String,
    /// `DashboardBody` as given.
    pub body: String,
    /// Last change, epoch ms.
    pub modified_ms: i64,
}

/// Whether `name` is a dashboard name: 1–255 of `A-Z a-z 0-9 - _`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn int_in(
    w: &serde_json::Map<String, Value>,
    key: &str,
    min: i64,
    max: i64,
    path: &str,
    out: &mut Vec<ValidationMessage>,
) -> Option<i64> {
    let v = w.get(key)?;
    match v.as_i64() {
        Some(n) if (min..=max).contains(&n) => Some(n),
        Some(n) if n < min => {
            out.push(msg(
                &format!("{path}/{key}"),
                &format!("Should be >= {min}"),
            ));
            None
        }
        Some(_) => {
            out.push(msg(
                &format!("{path}/{key}"),
                &format!("Should be <= {max}"),
            ));
            None
        }
        None => {
            out.push(msg(&format!("{path}/{key}"), "Should be integer"));
            None
        }
    }
}

fn msg(path: &str, message: &str) -> ValidationMessage {
    ValidationMessage {
        data_path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// The problems of `body`; empty when it is a valid dashboard body.
pub fn validate(body: &str) -> Vec<ValidationMessage> {
    let mut out = Vec::new();
    if body.len() > MAX_BODY_BYTES {
        out.push(msg(
            "",
            &format!("Should be at most {MAX_BODY_BYTES} bytes"),
        ));
        return out;
    }
    let v: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            out.push(msg("", &format!("Unexpected token in JSON: {e}")));
            return out;
        }
    };
    let Some(root) = v.as_object() else {
        out.push(msg("", "Should be object"));
        return out;
    };
    let Some(widgets) = root.get("widgets") else {
        out.push(msg("", "Should have required property 'widgets'"));
        return out;
    };
    let Some(widgets) = widgets.as_array() else {
        out.push(msg("/widgets", "Should be array"));
        return out;
    };
    if widgets.len() > MAX_WIDGETS {
        out.push(msg(
            "/widgets",
            &format!("Should NOT have more than {MAX_WIDGETS} items"),
        ));
    }
    for (i, w) in widgets.iter().enumerate() {
        let path = format!("/widgets/{i}");
        let Some(w) = w.as_object() else {
            out.push(msg(&path, "Should be object"));
            continue;
        };
        let kind = match w.get("type").and_then(Value::as_str) {
            Some(k) => k,
            None => {
                out.push(msg(&path, "Should have required property 'type'"));
                continue;
            }
        };
        if !matches!(
            kind,
            "metric" | "text" | "log" | "alarm" | "explorer" | "custom"
        ) {
            out.push(msg(
                &format!("{path}/type"),
                "Should be equal to one of the allowed values: metric, text, log, alarm, explorer, custom",
            ));
            continue;
        }
        let x = int_in(w, "x", 0, 23, &path, &mut out);
        let width = int_in(w, "width", 1, 24, &path, &mut out);
        int_in(w, "y", 0, i64::MAX, &path, &mut out);
        int_in(w, "height", 1, 1000, &path, &mut out);
        if let (Some(x), Some(width)) = (x, width)
            && x + width > 24
        {
            out.push(msg(&format!("{path}/width"), "x + width should be <= 24"));
        }
        let Some(props) = w.get("properties").and_then(Value::as_object) else {
            out.push(msg(&path, "Should have required property 'properties'"));
            continue;
        };
        let ppath = format!("{path}/properties");
        match kind {
            "metric" => {
                if !props.contains_key("region") {
                    out.push(msg(&ppath, "Should have required property 'region'"));
                }
                match props.get("metrics") {
                    Some(Value::Array(ms)) => {
                        for (j, m) in ms.iter().enumerate() {
                            if !m.is_array() {
                                out.push(msg(&format!("{ppath}/metrics/{j}"), "Should be array"));
                            }
                        }
                    }
                    Some(_) => out.push(msg(&format!("{ppath}/metrics"), "Should be array")),
                    None if props.contains_key("annotations") => {}
                    None => out.push(msg(&ppath, "Should have required property 'metrics'")),
                }
            }
            "text" if !props.get("markdown").is_some_and(Value::is_string) => {
                out.push(msg(&ppath, "Should have required property 'markdown'"));
            }
            "alarm" if !props.get("alarms").is_some_and(Value::is_array) => {
                out.push(msg(&ppath, "Should have required property 'alarms'"));
            }
            "log" if !props.get("query").is_some_and(Value::is_string) => {
                out.push(msg(&ppath, "Should have required property 'query'"));
            }
            _ => {}
        }
    }
    out
}

/// The dashboards of an account.
pub struct Dashboards {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Dashboards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboards").finish_non_exhaustive()
    }
}

impl Dashboards {
    /// Opens (creating) `DIR/dashboards.db`.
    ///
    /// # Errors
    /// [`MetricsError::Open`].
    pub fn open(dir: &Path) -> Result<Dashboards, MetricsError> {
        Ok(Dashboards {
            conn: Mutex::new(thingwatch_sqlite::open(
                &dir.join("dashboards.db"),
                &SCHEMA,
            )?),
        })
    }

    /// Creates or replaces a dashboard (the caller validated name and body).
    ///
    /// # Errors
    /// Storage failures.
    pub fn put(&self, name: &str, body: &str, now_ms: i64) -> Result<(), MetricsError> {
        self.conn.lock().execute(
            "INSERT OR REPLACE INTO dashboards (name, body, modified_ms) VALUES (?1, ?2, ?3)",
            params![name, body, now_ms],
        )?;
        Ok(())
    }

    /// One dashboard.
    ///
    /// # Errors
    /// Storage failures.
    pub fn get(&self, name: &str) -> Result<Option<Dashboard>, MetricsError> {
        Ok(self
            .conn
            .lock()
            .query_row(
                "SELECT name, body, modified_ms FROM dashboards WHERE name = ?1",
                [name],
                |r| {
                    Ok(Dashboard {
                        name: r.get(0)?,
                        body: r.get(1)?,
                        modified_ms: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Dashboards whose name starts with `prefix`, by name, after `after`, at most `limit`.
    ///
    /// # Errors
    /// Storage failures.
    pub fn list(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Dashboard>, MetricsError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT name, body, modified_ms FROM dashboards
             WHERE name > ?1 AND substr(name, 1, length(?2)) = ?2 ORDER BY name LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![after, prefix, limit as i64], |r| {
            Ok(Dashboard {
                name: r.get(0)?,
                body: r.get(1)?,
                modified_ms: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes `names`, all or nothing: `Err(Some(name))` names the first that does not
    /// exist.
    ///
    /// # Errors
    /// `Ok(Err(name))` for an unknown dashboard; storage failures.
    pub fn delete(&self, names: &[String]) -> Result<Result<(), String>, MetricsError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        for n in names {
            let gone = tx.execute("DELETE FROM dashboards WHERE name = ?1", [n])?;
            if gone == 0 {
                return Ok(Err(n.clone()));
            }
        }
        tx.commit()?;
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_validated_like_cloudwatch() {
        let ok = r##"{"widgets":[{"type":"metric","x":0,"y":0,"width":12,"height":6,
            "properties":{"region":"us-east-1","metrics":[["AWS/IoT","PublishIn.Success","Protocol","MQTT"]],"stat":"Sum","period":60}},
            {"type":"text","x":12,"y":0,"width":12,"height":3,"properties":{"markdown":"# Fleet"}}]}"##;
        assert!(validate(ok).is_empty(), "{:?}", validate(ok));
        let paths = |b: &str| {
            validate(b)
                .into_iter()
                .map(|m| format!("{} {}", m.data_path, m.message))
                .collect::<Vec<_>>()
        };
        assert_eq!(paths("[]"), [" Should be object"]);
        assert_eq!(paths("{}"), [" Should have required property 'widgets'"]);
        assert!(paths("{nope")[0].starts_with(" Unexpected token"));
        assert_eq!(
            paths(
                r#"{"widgets":[{"type":"metric","x":20,"width":6,"properties":{"metrics":[]}}]}"#
            ),
            [
                "/widgets/0/width x + width should be <= 24",
                "/widgets/0/properties Should have required property 'region'"
            ]
        );
        assert_eq!(
            paths(
                r#"{"widgets":[{"type":"graph","properties":{}},{"type":"text","height":0,"properties":{}}]}"#
            ),
            [
                "/widgets/0/type Should be equal to one of the allowed values: metric, text, log, alarm, explorer, custom",
                "/widgets/1/height Should be >= 1",
                "/widgets/1/properties Should have required property 'markdown'"
            ]
        );
        assert!(valid_name("fleet-overview_1"));
        assert!(!valid_name("fleet overview"));
        assert!(!valid_name(""));
    }

    #[test]
    fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let d = Dashboards::open(dir.path()).unwrap();
        d.put("a1", "{}", 1).unwrap();
        d.put("a2", "{}", 2).unwrap();
        d.put("b1", "{}", 3).unwrap();
        assert_eq!(d.get("a2").unwrap().unwrap().modified_ms, 2);
        let names = |v: Vec<Dashboard>| v.into_iter().map(|d| d.name).collect::<Vec<_>>();
        assert_eq!(names(d.list("a", "", 10).unwrap()), ["a1", "a2"]);
        assert_eq!(names(d.list("", "a1", 1).unwrap()), ["a2"]);
        assert_eq!(
            d.delete(&["a1".into(), "zz".into()]).unwrap(),
            Err("zz".into())
        );
        assert!(d.get("a1").unwrap().is_some(), "all or nothing");
        assert_eq!(d.delete(&["a1".into()]).unwrap(), Ok(()));
        assert!(d.get("a1").unwrap().is_none());
    }
}
