//! The dashboard operations: PutDashboard (validated body; problems as
//! `DashboardInvalidInputError` listing each `dataPath` and `message`), GetDashboard,
//! ListDashboards, DeleteDashboards (botocore 1.43.11, cloudwatch 2010-08-01).

use std::sync::Arc;

use thingwatch_aws::Arn;
use thingwatch_aws::page_token::{self, Alphabet};
use thingwatch_http::{ApiError, ErrorCode};
use thingwatch_metrics::MetricsError;
use thingwatch_metrics::dashboards::{self, Dashboards};
use thingwatch_wire::{Reader, Value};

use crate::validate::{invalid, missing};

/// Dashboards per ListDashboards page.
pub const LIST_PAGE: usize = 1000;

/// The dashboards and the account their ARNs name.
#[derive(Clone, Debug)]
pub struct DashboardBackend {
    /// Storage.
    pub dashboards: Arc<Dashboards>,
    /// The account ID.
    pub account_id: String,
}

fn store_error(e: MetricsError) -> ApiError {
    tracing::warn!(error = %e, "dashboard store failure");
    ApiError::new(ErrorCode::InternalServiceFault, "Internal service error.")
}

fn name(r: &Reader<'_>, member: &str) -> Result<String, ApiError> {
    let n = r.str(member)?.ok_or_else(|| missing(member))?;
    if !dashboards::valid_name(n) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!(
                "The value {n} for parameter {member} is invalid: dashboard names have 1 to 255 characters of A-Z, a-z, 0-9, \"-\" and \"_\"."
            ),
        ));
    }
    Ok(n.to_owned())
}

/// `PutDashboard`.
pub fn put(b: &DashboardBackend, r: &Reader<'_>, now_ms: i64) -> Result<Value, ApiError> {
    let n = name(r, "DashboardName")?;
    let body = r
        .str("DashboardBody")?
        .ok_or_else(|| missing("DashboardBody"))?;
    let problems = dashboards::validate(body);
    if !problems.is_empty() {
        let list: Vec<serde_json::Value> = problems
            .iter()
            .map(|p| serde_json::json!({"dataPath": p.data_path, "message": p.message}))
            .collect();
        return Err(ApiError::new(
            ErrorCode::DashboardInvalidInput,
            format!(
                "The dashboard body is invalid, there are {} validation errors:\n{}",
                problems.len(),
                serde_json::to_string_pretty(&list).unwrap_or_default()
            ),
        ));
    }
    b.dashboards.put(&n, body, now_ms).map_err(store_error)?;
    Ok(Value::structure().with("DashboardValidationMessages", Value::List(Vec::new())))
}

/// `GetDashboard`.
pub fn get(b: &DashboardBackend, r: &Reader<'_>) -> Result<Value, ApiError> {
    let n = name(r, "DashboardName")?;
    let d =
        b.dashboards.get(&n).map_err(store_error)?.ok_or_else(|| {
            ApiError::new(ErrorCode::DashboardNotFound, "Dashboard does not exist")
        })?;
    Ok(Value::structure()
        .with(
            "DashboardArn",
            Arn::cloudwatch_dashboard(&b.account_id, &d.name).to_string(),
        )
        .with("DashboardBody", d.body.as_str())
        .with("DashboardName", d.name.as_str()))
}

/// `ListDashboards`.
pub fn list(b: &DashboardBackend, r: &Reader<'_>) -> Result<Value, ApiError> {
    let prefix = r.str("DashboardNamePrefix")?.unwrap_or("");
    let after = match r.str("NextToken")? {
        None => String::new(),
        Some(t) => {
            page_token::decode_one(Alphabet::UrlSafe, "ListDashboards", t).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidParameterValue,
                    "The NextToken is not valid.",
                )
            })?
        }
    };
    let mut page = b
        .dashboards
        .list(prefix, &after, LIST_PAGE + 1)
        .map_err(store_error)?;
    let more = page.len() > LIST_PAGE;
    page.truncate(LIST_PAGE);
    let next = more
        .then(|| {
            page.last()
                .map(|d| page_token::encode(Alphabet::UrlSafe, "ListDashboards", &[&d.name]))
        })
        .flatten();
    Ok(Value::structure()
        .with(
            "DashboardEntries",
            Value::list(page.iter().map(|d| {
                Value::structure()
                    .with("DashboardName", d.name.as_str())
                    .with(
                        "DashboardArn",
                        Arn::cloudwatch_dashboard(&b.account_id, &d.name).to_string(),
                    )
                    .with("LastModified", Value::time_ms(d.modified_ms))
                    .with("Size", d.body.len() as i64)
            })),
        )
        .with_opt("NextToken", next))
}

/// `DeleteDashboards`: all or nothing; an unknown name is `DashboardNotFoundError` (404).
pub fn delete(b: &DashboardBackend, r: &Reader<'_>) -> Result<(), ApiError> {
    if r.member("DashboardNames").is_none() {
        return Err(missing("DashboardNames"));
    }
    let names: Vec<String> = r
        .strings("DashboardNames")?
        .into_iter()
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Err(invalid("The parameter DashboardNames must not be empty."));
    }
    match b.dashboards.delete(&names).map_err(store_error)? {
        Ok(()) => Ok(()),
        Err(n) => Err(ApiError::new(
            ErrorCode::DashboardNotFound,
            format!("The specified dashboard does not exist. [{n}]"),
        )),
    }
}
