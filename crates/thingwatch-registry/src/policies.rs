//! AWS IoT policies and their attachments: CreatePolicy, GetPolicy, ListPolicies,
//! DeletePolicy, CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions,
//! DeletePolicyVersion, SetDefaultPolicyVersion, AttachPolicy, DetachPolicy,
//! ListAttachedPolicies, ListTargetsForPolicy (AWS IoT API Reference pages of the same names;
//! *AWS IoT Core policies* and *Updating an AWS IoT Core policy* in the Developer Guide).
//!
//! Documents are validated with `thingwatch_policy` (`PolicyKind::IotPolicy`: grammar, IoT
//! actions, 2,048 non-whitespace characters) and stored exactly as sent. A target is a
//! certificate ARN (`arn:aws:iot:REGION:ACCOUNT:cert/ID`) or a thing-group ARN
//! (`…:thinggroup/NAME`); the registry checks that a thing group exists, the API layer checks
//! certificates (they live in `thingwatch-certs`).

use crate::error::{RegistryError, group_not_found, policy_not_found};
use crate::registry::Registry;
use crate::token;
use crate::types::{
    DEFAULT_POLICY_PAGE_SIZE, MAX_POLICIES_PER_TARGET, MAX_POLICY_VERSIONS, MarkerQuery, Page,
    PolicyInfo, PolicySummary, PolicyVersionInfo, PolicyVersionSummary,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;
use thingwatch_aws::{Arn, IotKind, Scope};
use thingwatch_policy::{PolicyDocument, PolicyKind};

/// A parsed policy target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A certificate, by its (lowercase) ID.
    Certificate(String),
    /// A thing group, by name.
    ThingGroup(String),
}

struct PolicyRow {
    default_version: u32,
    next_version: u32,
    created_ms: i64,
    modified_ms: i64,
    generation_id: String,
}

fn load_policy(conn: &Connection, name: &str) -> Result<Option<PolicyRow>, RegistryError> {
    Ok(conn
        .query_row(
            "SELECT default_version, next_version, created_ms, modified_ms, generation_id FROM policies WHERE name = ?1",
            [name],
            |r| {
                Ok(PolicyRow {
                    default_version: r.get(0)?,
                    next_version: r.get(1)?,
                    created_ms: r.get(2)?,
                    modified_ms: r.get(3)?,
                    generation_id: r.get(4)?,
                })
            },
        )
        .optional()?)
}

fn load_version(
    conn: &Connection,
    name: &str,
    version: u32,
) -> Result<Option<(String, i64)>, RegistryError> {
    Ok(conn
        .query_row(
            "SELECT document, created_ms FROM policy_versions WHERE policy = ?1 AND version = ?2",
            params![name, version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

fn version_not_found(name: &str, version: u32) -> RegistryError {
    RegistryError::ResourceNotFound(format!(
        "Policy {name} does not have a version with ID {version}."
    ))
}

/// Parses `document` as an AWS IoT policy. Errors: `MalformedPolicy` with AWS's text.
fn parse_document(document: &str) -> Result<Arc<PolicyDocument>, RegistryError> {
    PolicyDocument::parse(document, PolicyKind::IotPolicy)
        .map(Arc::new)
        .map_err(|e| RegistryError::MalformedPolicy(e.aws_message(PolicyKind::IotPolicy)))
}

fn new_generation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `{created_ms:020}\n{name}`: the ListPolicies sort key.
fn creation_key(created_ms: i64, name: &str) -> String {
    format!("{created_ms:020}\n{name}")
}

fn is_certificate_id(id: &str) -> bool {
    id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit())
}

impl Registry {
    /// `arn:aws:iot:REGION:ACCOUNT:policy/NAME`.
    pub fn policy_arn(&self, name: &str) -> String {
        let s = &self.inner.settings;
        IotKind::Policy.arn(&s.region, &s.account_id, name)
    }

    /// `arn:aws:iot:REGION:ACCOUNT:cert/ID`: the certificate ARN AttachPolicy and
    /// AttachThingPrincipal take (the same as `thingwatch_certs` builds).
    pub fn certificate_arn(&self, certificate_id: &str) -> String {
        let s = &self.inner.settings;
        IotKind::Cert.arn(&s.region, &s.account_id, certificate_id)
    }

    /// Parses a policy target: a certificate ARN (64 hex digits, any case, canonicalised to
    /// lowercase) or a thing-group ARN of this account and region.
    ///
    /// Errors: `InvalidRequest` for anything else.
    pub(crate) fn parse_target(&self, target: &str) -> Result<Target, RegistryError> {
        let s = &self.inner.settings;
        let scope = Scope::new(&s.account_id, &s.region);
        let invalid = || {
            RegistryError::InvalidRequest(format!(
                "Invalid target {target}: expected a certificate ARN ({}ID) or a thing group ARN ({}NAME).",
                Arn::iot_prefix(&scope, IotKind::Cert),
                Arn::iot_prefix(&scope, IotKind::ThingGroup),
            ))
        };
        if let Some(id) = Arn::iot_id(&scope, IotKind::Cert, target) {
            if is_certificate_id(id) {
                return Ok(Target::Certificate(id.to_ascii_lowercase()));
            }
        } else if let Some(name) = Arn::iot_id(&scope, IotKind::ThingGroup, target)
            && name.len() <= 128
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ":_-".contains(c))
        {
            return Ok(Target::ThingGroup(name.to_string()));
        }
        Err(invalid())
    }

    /// The canonical ARN of a parsed target.
    pub(crate) fn target_arn(&self, target: &Target) -> String {
        match target {
            Target::Certificate(id) => self.certificate_arn(id),
            Target::ThingGroup(name) => self.thing_group_arn(name),
        }
    }

    fn policy_info(
        &self,
        conn: &Connection,
        name: &str,
        row: PolicyRow,
    ) -> Result<PolicyInfo, RegistryError> {
        let (document, _) = load_version(conn, name, row.default_version)?.ok_or_else(|| {
            RegistryError::Storage(format!("policy {name} has no default version row"))
        })?;
        Ok(PolicyInfo {
            policy_name: name.to_string(),
            policy_arn: self.policy_arn(name),
            policy_document: document,
            default_version_id: row.default_version,
            creation_date_ms: row.created_ms,
            last_modified_date_ms: row.modified_ms,
            generation_id: row.generation_id,
        })
    }

    /// CreatePolicy: creates policy `name` whose version 1 (the default) is `document`.
    /// `now_ms` (epoch milliseconds) is its creation date.
    ///
    /// Errors: `MalformedPolicy` (text from `PolicyError::aws_message`);
    /// `ResourceAlreadyExists` when a policy of that name exists (`resourceId` = the name,
    /// `resourceArn` = its ARN).
    pub fn create_policy(
        &self,
        name: &str,
        document: &str,
        now_ms: i64,
    ) -> Result<PolicyInfo, RegistryError> {
        let parsed = parse_document(document)?;
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        if load_policy(&tx, name)?.is_some() {
            return Err(RegistryError::ResourceAlreadyExists {
                message: format!("Policy {name} already exists."),
                resource_id: name.to_string(),
                resource_arn: self.policy_arn(name),
            });
        }
        let generation_id = new_generation_id();
        tx.execute(
            "INSERT INTO policies (name, default_version, next_version, created_ms, modified_ms, generation_id) VALUES (?1, 1, 2, ?2, ?2, ?3)",
            params![name, now_ms, generation_id],
        )?;
        tx.execute(
            "INSERT INTO policy_versions (policy, version, document, created_ms) VALUES (?1, 1, ?2, ?3)",
            params![name, document, now_ms],
        )?;
        tx.commit()?;
        self.inner.security.set_policy(name, parsed);
        self.inner.security.bump();
        Ok(PolicyInfo {
            policy_name: name.to_string(),
            policy_arn: self.policy_arn(name),
            policy_document: document.to_string(),
            default_version_id: 1,
            creation_date_ms: now_ms,
            last_modified_date_ms: now_ms,
            generation_id,
        })
    }

    /// GetPolicy: the policy with its default version's document.
    ///
    /// Errors: `ResourceNotFound`.
    pub fn get_policy(&self, name: &str) -> Result<PolicyInfo, RegistryError> {
        let conn = self.inner.conn.lock();
        let row = load_policy(&conn, name)?.ok_or_else(|| policy_not_found(name))?;
        self.policy_info(&conn, name, row)
    }

    /// ListPolicies: policies in creation order (oldest first when `q.ascending`, newest
    /// first otherwise; ties by name), `q.page_size` per page.
    ///
    /// Errors: `InvalidRequest` for a page size outside 1..=250 or a malformed marker.
    pub fn list_policies(&self, q: &MarkerQuery) -> Result<Page<PolicySummary>, RegistryError> {
        const TAG: &str = "policies";
        let size = token::page_size(q.page_size, DEFAULT_POLICY_PAGE_SIZE)?;
        let after = token::decode_marker(TAG, q.marker.as_deref())?
            .map(|k| {
                k.split_once('\n')
                    .and_then(|(ms, name)| Some((ms.parse::<i64>().ok()?, name.to_string())))
                    .ok_or_else(|| {
                        RegistryError::InvalidRequest(format!(
                            "The marker {} is not valid.",
                            q.marker.as_deref().unwrap_or_default()
                        ))
                    })
            })
            .transpose()?;
        let (cmp, order) = if q.ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let sql = match after {
            Some(_) => format!(
                "SELECT name, created_ms FROM policies WHERE (created_ms, name) {cmp} (?1, ?2) ORDER BY created_ms {order}, name {order} LIMIT ?3"
            ),
            None => format!(
                "SELECT name, created_ms FROM policies WHERE ?1 IS NULL AND ?2 IS NULL ORDER BY created_ms {order}, name {order} LIMIT ?3"
            ),
        };
        let (ms, name) = match &after {
            Some((ms, name)) => (Some(*ms), Some(name.as_str())),
            None => (None, None),
        };
        let conn = self.inner.conn.lock();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params![ms, name, size as i64 + 1], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let page = token::marker_page(TAG, rows, size, |(name, ms)| creation_key(*ms, name));
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|(name, _)| PolicySummary {
                    policy_arn: self.policy_arn(&name),
                    policy_name: name,
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    /// DeletePolicy. AWS: "A policy cannot be deleted if it has non-default versions or it is
    /// attached to any certificate" (API Reference `DeletePolicy`; thing-group attachments
    /// count too).
    ///
    /// Errors: `ResourceNotFound`; `DeleteConflict` when attached to any target or when
    /// versions other than the default exist.
    pub fn delete_policy(&self, name: &str) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        load_policy(&tx, name)?.ok_or_else(|| policy_not_found(name))?;
        let targets: i64 = tx.query_row(
            "SELECT COUNT(*) FROM policy_targets WHERE policy = ?1",
            [name],
            |r| r.get(0),
        )?;
        if targets > 0 {
            return Err(RegistryError::DeleteConflict(format!(
                "The policy cannot be deleted as the policy is attached to one or more principals (name={name})"
            )));
        }
        let versions: i64 = tx.query_row(
            "SELECT COUNT(*) FROM policy_versions WHERE policy = ?1",
            [name],
            |r| r.get(0),
        )?;
        if versions > 1 {
            return Err(RegistryError::DeleteConflict(format!(
                "Cannot delete the policy because it has one or more policy versions attached to it (name={name})"
            )));
        }
        tx.execute("DELETE FROM policies WHERE name = ?1", [name])?;
        tx.commit()?;
        self.inner.security.remove_policy(name);
        self.inner.security.bump();
        Ok(())
    }

    /// CreatePolicyVersion: adds version `next` (one above the highest ever created) with
    /// `document`; with `set_as_default` it becomes the default ("this new version is the
    /// one that is in effect for the certificates to which the policy is attached").
    ///
    /// Errors: `ResourceNotFound`; `MalformedPolicy`; `VersionsLimitExceeded` when the policy
    /// already has [`MAX_POLICY_VERSIONS`] versions.
    pub fn create_policy_version(
        &self,
        name: &str,
        document: &str,
        set_as_default: bool,
        now_ms: i64,
    ) -> Result<PolicyVersionInfo, RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        let row = load_policy(&tx, name)?.ok_or_else(|| policy_not_found(name))?;
        let parsed = parse_document(document)?;
        let versions: i64 = tx.query_row(
            "SELECT COUNT(*) FROM policy_versions WHERE policy = ?1",
            [name],
            |r| r.get(0),
        )?;
        if versions as usize >= MAX_POLICY_VERSIONS {
            return Err(RegistryError::VersionsLimitExceeded(format!(
                "The policy {name} already has the maximum number of versions ({MAX_POLICY_VERSIONS}); delete a version first."
            )));
        }
        let version = row.next_version;
        let default_version = if set_as_default {
            version
        } else {
            row.default_version
        };
        let generation_id = new_generation_id();
        tx.execute(
            "INSERT INTO policy_versions (policy, version, document, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![name, version, document, now_ms],
        )?;
        tx.execute(
            "UPDATE policies SET default_version = ?2, next_version = ?3, modified_ms = ?4, generation_id = ?5 WHERE name = ?1",
            params![name, default_version, version + 1, now_ms, generation_id],
        )?;
        tx.commit()?;
        if set_as_default {
            self.inner.security.set_policy(name, parsed);
        }
        self.inner.security.bump();
        Ok(PolicyVersionInfo {
            policy_name: name.to_string(),
            policy_arn: self.policy_arn(name),
            policy_document: document.to_string(),
            version_id: version,
            is_default_version: set_as_default,
            creation_date_ms: now_ms,
            last_modified_date_ms: now_ms,
            generation_id,
        })
    }

    /// GetPolicyVersion.
    ///
    /// Errors: `ResourceNotFound` for an unknown policy or version.
    pub fn get_policy_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<PolicyVersionInfo, RegistryError> {
        let conn = self.inner.conn.lock();
        let row = load_policy(&conn, name)?.ok_or_else(|| policy_not_found(name))?;
        let (document, created_ms) =
            load_version(&conn, name, version)?.ok_or_else(|| version_not_found(name, version))?;
        Ok(PolicyVersionInfo {
            policy_name: name.to_string(),
            policy_arn: self.policy_arn(name),
            policy_document: document,
            version_id: version,
            is_default_version: version == row.default_version,
            creation_date_ms: created_ms,
            last_modified_date_ms: row.modified_ms,
            generation_id: row.generation_id,
        })
    }

    /// ListPolicyVersions: every version, newest first.
    ///
    /// Errors: `ResourceNotFound`.
    pub fn list_policy_versions(
        &self,
        name: &str,
    ) -> Result<Vec<PolicyVersionSummary>, RegistryError> {
        let conn = self.inner.conn.lock();
        let row = load_policy(&conn, name)?.ok_or_else(|| policy_not_found(name))?;
        let mut stmt = conn.prepare(
            "SELECT version, created_ms FROM policy_versions WHERE policy = ?1 ORDER BY version DESC",
        )?;
        let versions = stmt
            .query_map([name], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(versions
            .into_iter()
            .map(|(version_id, create_date_ms)| PolicyVersionSummary {
                version_id,
                is_default_version: version_id == row.default_version,
                create_date_ms,
            })
            .collect())
    }

    /// DeletePolicyVersion: deletes a non-default version ("You cannot delete the default
    /// version of a policy using this action", API Reference `DeletePolicyVersion`). Its ID
    /// is never reused.
    ///
    /// Errors: `ResourceNotFound`; `DeleteConflict` for the default version.
    pub fn delete_policy_version(&self, name: &str, version: u32) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        let row = load_policy(&tx, name)?.ok_or_else(|| policy_not_found(name))?;
        load_version(&tx, name, version)?.ok_or_else(|| version_not_found(name, version))?;
        if version == row.default_version {
            return Err(RegistryError::DeleteConflict(format!(
                "Cannot delete the default version {version} of policy {name}; make another version the default first."
            )));
        }
        tx.execute(
            "DELETE FROM policy_versions WHERE policy = ?1 AND version = ?2",
            params![name, version],
        )?;
        tx.execute(
            "UPDATE policies SET modified_ms = ?2, generation_id = ?3 WHERE name = ?1",
            params![name, crate::registry::now_ms(), new_generation_id()],
        )?;
        tx.commit()?;
        self.inner.security.bump();
        Ok(())
    }

    /// SetDefaultPolicyVersion: makes `version` the version in effect for every target the
    /// policy is attached to.
    ///
    /// Errors: `ResourceNotFound` for an unknown policy or version.
    pub fn set_default_policy_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<(), RegistryError> {
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        load_policy(&tx, name)?.ok_or_else(|| policy_not_found(name))?;
        let (document, _) =
            load_version(&tx, name, version)?.ok_or_else(|| version_not_found(name, version))?;
        tx.execute(
            "UPDATE policies SET default_version = ?2, modified_ms = ?3, generation_id = ?4 WHERE name = ?1",
            params![name, version, crate::registry::now_ms(), new_generation_id()],
        )?;
        tx.commit()?;
        match PolicyDocument::parse(&document, PolicyKind::IotPolicy) {
            Ok(doc) => self.inner.security.set_policy(name, Arc::new(doc)),
            Err(_) => self.inner.security.remove_policy(name),
        }
        self.inner.security.bump();
        Ok(())
    }

    /// AttachPolicy: attaches policy `policy` to `target` (certificate ARN or thing-group
    /// ARN). Attaching an attached policy again succeeds without change. Whether a
    /// certificate exists is the caller's check.
    ///
    /// Errors: `ResourceNotFound` for an unknown policy or thing group; `InvalidRequest` for a
    /// malformed target; `LimitExceeded` when the target already has
    /// [`MAX_POLICIES_PER_TARGET`] policies.
    pub fn attach_policy(&self, policy: &str, target: &str) -> Result<(), RegistryError> {
        let parsed = self.parse_target(target)?;
        let target = self.target_arn(&parsed);
        let mut conn = self.inner.conn.lock();
        let tx = conn.transaction()?;
        load_policy(&tx, policy)?.ok_or_else(|| policy_not_found(policy))?;
        if let Target::ThingGroup(group) = &parsed
            && self.inner.index.chain(group).is_none()
        {
            return Err(group_not_found(group));
        }
        let attached = tx
            .query_row(
                "SELECT 1 FROM policy_targets WHERE policy = ?1 AND target = ?2",
                params![policy, target],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if attached {
            return Ok(());
        }
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM policy_targets WHERE target = ?1",
            [&target],
            |r| r.get(0),
        )?;
        if count as usize >= MAX_POLICIES_PER_TARGET {
            return Err(RegistryError::LimitExceeded(format!(
                "Target {target} already has the maximum of {MAX_POLICIES_PER_TARGET} policies attached."
            )));
        }
        tx.execute(
            "INSERT INTO policy_targets (policy, target) VALUES (?1, ?2)",
            params![policy, target],
        )?;
        tx.commit()?;
        self.inner.security.attach(policy, &target);
        self.inner.security.bump();
        Ok(())
    }

    /// DetachPolicy: detaches `policy` from `target`. Detaching a policy that is not attached
    /// (or does not exist) succeeds (the operation models no `ResourceNotFoundException`).
    ///
    /// Errors: `InvalidRequest` for a malformed target.
    pub fn detach_policy(&self, policy: &str, target: &str) -> Result<(), RegistryError> {
        let target = self.target_arn(&self.parse_target(target)?);
        let conn = self.inner.conn.lock();
        let n = conn.execute(
            "DELETE FROM policy_targets WHERE policy = ?1 AND target = ?2",
            params![policy, target],
        )?;
        if n > 0 {
            self.inner.security.detach(policy, &target);
            self.inner.security.bump();
        }
        Ok(())
    }

    /// ListAttachedPolicies: the policies attached to `target`, by name. With `recursive` and
    /// a thing-group target, also those attached to its ancestors ("When true, recursively
    /// list attached policies", API Reference `ListAttachedPolicies`), each once.
    ///
    /// Errors: `InvalidRequest` (target, page size, marker); `ResourceNotFound` for an
    /// unknown thing group.
    pub fn list_attached_policies(
        &self,
        target: &str,
        recursive: bool,
        q: &MarkerQuery,
    ) -> Result<Page<PolicySummary>, RegistryError> {
        const TAG: &str = "attachedPolicies";
        let size = token::page_size(q.page_size, DEFAULT_POLICY_PAGE_SIZE)?;
        let after = token::decode_marker(TAG, q.marker.as_deref())?.unwrap_or_default();
        let parsed = self.parse_target(target)?;
        let targets: Vec<String> = match &parsed {
            Target::ThingGroup(group) => {
                let chain = self
                    .inner
                    .index
                    .chain(group)
                    .ok_or_else(|| group_not_found(group))?;
                if recursive {
                    chain.iter().map(|g| self.thing_group_arn(g)).collect()
                } else {
                    vec![self.thing_group_arn(group)]
                }
            }
            Target::Certificate(_) => vec![self.target_arn(&parsed)],
        };
        let conn = self.inner.conn.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT policy FROM policy_targets WHERE target = ?1 AND policy > ?2",
        )?;
        let mut names = std::collections::BTreeSet::new();
        for t in &targets {
            for name in stmt.query_map(params![t, after], |r| r.get::<_, String>(0))? {
                names.insert(name?);
            }
        }
        let rows: Vec<String> = names.into_iter().take(size + 1).collect();
        let page = token::marker_page(TAG, rows, size, Clone::clone);
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|name| PolicySummary {
                    policy_arn: self.policy_arn(&name),
                    policy_name: name,
                })
                .collect(),
            next_token: page.next_token,
        })
    }

    /// ListTargetsForPolicy: the targets `policy` is attached to, sorted.
    ///
    /// Errors: `ResourceNotFound`; `InvalidRequest` (page size, marker).
    pub fn list_targets_for_policy(
        &self,
        policy: &str,
        q: &MarkerQuery,
    ) -> Result<Page<String>, RegistryError> {
        const TAG: &str = "policyTargets";
        let size = token::page_size(q.page_size, DEFAULT_POLICY_PAGE_SIZE)?;
        let after = token::decode_marker(TAG, q.marker.as_deref())?.unwrap_or_default();
        let conn = self.inner.conn.lock();
        load_policy(&conn, policy)?.ok_or_else(|| policy_not_found(policy))?;
        let mut stmt = conn.prepare(
            "SELECT target FROM policy_targets WHERE policy = ?1 AND target > ?2 ORDER BY target LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![policy, after, size as i64 + 1], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(token::marker_page(TAG, rows, size, Clone::clone))
    }

    /// How many policies are attached to `target` (a certificate or thing-group ARN), e.g.
    /// for DeleteCertificate's `DeleteConflictException` rule.
    ///
    /// Errors: `InvalidRequest` for a malformed target.
    pub fn attached_policy_count(&self, target: &str) -> Result<usize, RegistryError> {
        let target = self.target_arn(&self.parse_target(target)?);
        let conn = self.inner.conn.lock();
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM policy_targets WHERE target = ?1",
            [&target],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Detaches every policy from `target` (DeleteCertificate with `forceDelete`); returns how
    /// many were detached.
    ///
    /// Errors: `InvalidRequest` for a malformed target.
    pub fn detach_all_policies(&self, target: &str) -> Result<usize, RegistryError> {
        let target = self.target_arn(&self.parse_target(target)?);
        let conn = self.inner.conn.lock();
        let n = conn.execute("DELETE FROM policy_targets WHERE target = ?1", [&target])?;
        if n > 0 {
            self.inner.security.detach_target(&target);
            self.inner.security.bump();
        }
        Ok(n)
    }
}
