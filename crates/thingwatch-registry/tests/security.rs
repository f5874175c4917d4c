//! IoT policies, policy attachments and thing principals through the public `Registry` API:
//! lifecycle and AWS rules (versions, limits, delete conflicts, exclusivity), what
//! `effective_policies` answers (direct and thing-group inheritance), the security epoch and
//! its watch channel, persistence and the schema migration from version 1.

mod common;

use common::{ACCOUNT, REGION, all_pages, attrs, fixture, logger, open_with};
use std::sync::Arc;
use thingwatch_events::LoggingConfig;
use thingwatch_policy::{Decision, PolicyDocument, Request, evaluate};
use thingwatch_registry::{
    MAX_POLICIES_PER_TARGET, MAX_POLICY_VERSIONS, MarkerQuery, Registry, RegistryError,
    ThingGroupProperties, ThingPrincipalType,
};

const CERT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CERT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn cert_arn(id: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:cert/{id}")
}

fn group_arn(name: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{name}")
}

/// A policy allowing `action` on `resource`.
fn allow(action: &str, resource: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    )
}

fn topic(name: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:topic/{name}")
}

fn publish_allowed(docs: &[Arc<PolicyDocument>], t: &str) -> bool {
    evaluate(
        docs.iter().map(|d| d.as_ref()),
        &Request::new("iot:Publish", topic(t)),
    ) == Decision::Allow
}

fn q(page_size: usize, marker: Option<&str>) -> MarkerQuery {
    MarkerQuery {
        marker: marker.map(str::to_string),
        page_size: Some(page_size),
        ascending: true,
    }
}

#[test]
fn policy_lifecycle_versions_and_default_switching() {
    let f = fixture();
    let r = &f.registry;
    let p = r
        .create_policy("p1", &allow("iot:Publish", &topic("v1")), 1_000)
        .unwrap();
    assert_eq!(p.default_version_id, 1);
    assert_eq!(
        p.policy_arn,
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:policy/p1")
    );
    assert!(matches!(
        r.create_policy("p1", &allow("iot:Publish", "*"), 2_000),
        Err(RegistryError::ResourceAlreadyExists { resource_arn, .. }) if resource_arn == p.policy_arn
    ));
    for n in 2..=MAX_POLICY_VERSIONS as u32 {
        let v = r
            .create_policy_version(
                "p1",
                &allow("iot:Publish", &topic(&format!("v{n}"))),
                n == 3,
                1_000 + i64::from(n),
            )
            .unwrap();
        assert_eq!(v.version_id, n);
        assert_eq!(v.is_default_version, n == 3);
    }
    let e = r
        .create_policy_version("p1", &allow("iot:Publish", "*"), false, 9_000)
        .unwrap_err();
    assert_eq!(e.aws_code(), "VersionsLimitExceededException");
    assert_eq!(e.http_status(), 409);
    let got = r.get_policy("p1").unwrap();
    assert_eq!(got.default_version_id, 3);
    assert!(got.policy_document.contains("v3"));
    let versions = r.list_policy_versions("p1").unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version_id, v.is_default_version))
            .collect::<Vec<_>>(),
        vec![(5, false), (4, false), (3, true), (2, false), (1, false)]
    );
    // The default version cannot be deleted; others can, and IDs are never reused.
    let e = r.delete_policy_version("p1", 3).unwrap_err();
    assert_eq!(e.aws_code(), "DeleteConflictException");
    r.delete_policy_version("p1", 5).unwrap();
    assert_eq!(
        r.get_policy_version("p1", 5).unwrap_err().http_status(),
        404
    );
    let v6 = r
        .create_policy_version("p1", &allow("iot:Publish", "*"), false, 9_100)
        .unwrap();
    assert_eq!(v6.version_id, 6);
    r.set_default_policy_version("p1", 1).unwrap();
    let v1 = r.get_policy_version("p1", 1).unwrap();
    assert!(v1.is_default_version);
    assert_eq!(
        r.set_default_policy_version("p1", 5)
            .unwrap_err()
            .http_status(),
        404
    );
    assert_eq!(
        r.set_default_policy_version("nope", 1)
            .unwrap_err()
            .aws_code(),
        "ResourceNotFoundException"
    );
    // Non-default versions block DeletePolicy.
    let e = r.delete_policy("p1").unwrap_err();
    assert_eq!(e.aws_code(), "DeleteConflictException");
    assert!(e.to_string().contains("versions"), "{e}");
    for v in [2, 3, 4, 6] {
        r.delete_policy_version("p1", v).unwrap();
    }
    r.delete_policy("p1").unwrap();
    assert_eq!(
        r.get_policy("p1").unwrap_err().to_string(),
        "Policy p1 cannot be found."
    );
}

#[test]
fn malformed_documents_are_refused_with_the_policy_crate_message() {
    let f = fixture();
    let r = &f.registry;
    let table: &[(&str, &str)] = &[
        ("{", "Policy document is Malformed: Invalid policy syntax."),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"not-an-arn"}]}"#,
            "Policy document is Malformed: The following resources are invalid : not-an-arn",
        ),
    ];
    for (doc, message) in table {
        let e = r.create_policy("bad", doc, 1).unwrap_err();
        assert_eq!(
            e,
            RegistryError::MalformedPolicy((*message).to_string()),
            "{doc}"
        );
        assert_eq!(e.http_status(), 400);
    }
    assert_eq!(r.get_policy("bad").unwrap_err().http_status(), 404);
    r.create_policy("good", &allow("iot:Connect", "*"), 1)
        .unwrap();
    let e = r.create_policy_version("good", "{", true, 2).unwrap_err();
    assert_eq!(e.aws_code(), "MalformedPolicyException");
    assert_eq!(r.get_policy("good").unwrap().default_version_id, 1);
}

#[test]
fn attachments_limits_listing_and_delete_conflict() {
    let f = fixture();
    let r = &f.registry;
    for i in 0..=MAX_POLICIES_PER_TARGET {
        r.create_policy(&format!("p{i:02}"), &allow("iot:Connect", "*"), i as i64)
            .unwrap();
    }
    let a = cert_arn(CERT_A);
    for i in 0..MAX_POLICIES_PER_TARGET {
        r.attach_policy(&format!("p{i:02}"), &a).unwrap();
    }
    // Idempotent re-attach; the 11th is over the quota.
    r.attach_policy("p00", &a).unwrap();
    let e = r.attach_policy("p10", &a).unwrap_err();
    assert_eq!(
        (e.aws_code(), e.http_status()),
        ("LimitExceededException", 410)
    );
    assert_eq!(
        r.attached_policy_count(&a).unwrap(),
        MAX_POLICIES_PER_TARGET
    );
    // Upper-case IDs name the same certificate.
    assert_eq!(
        r.attached_policy_count(&cert_arn(&CERT_A.to_uppercase()))
            .unwrap(),
        10
    );
    let (names, pages) = all_pages(|m| r.list_attached_policies(&a, false, &q(3, m)).unwrap());
    assert_eq!(pages, 4);
    assert_eq!(
        names
            .iter()
            .map(|p| p.policy_name.clone())
            .collect::<Vec<_>>(),
        (0..10).map(|i| format!("p{i:02}")).collect::<Vec<_>>()
    );
    r.attach_policy("p00", &cert_arn(CERT_B)).unwrap();
    let (targets, _) = all_pages(|m| r.list_targets_for_policy("p00", &q(1, m)).unwrap());
    assert_eq!(targets, vec![cert_arn(CERT_A), cert_arn(CERT_B)]);
    let e = r.delete_policy("p00").unwrap_err();
    assert_eq!(e.aws_code(), "DeleteConflictException");
    assert!(e.to_string().contains("attached"), "{e}");
    // Unknown policy, unknown group, malformed targets.
    assert_eq!(r.attach_policy("nope", &a).unwrap_err().http_status(), 404);
    assert_eq!(
        r.attach_policy("p00", &group_arn("nogroup"))
            .unwrap_err()
            .to_string(),
        "Thing group nogroup cannot be found."
    );
    for bad in [
        "cert/abc".to_string(),
        cert_arn("xyz"),
        format!("arn:aws:iot:eu-west-1:{ACCOUNT}:cert/{CERT_A}"),
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:thing/t1"),
    ] {
        assert_eq!(
            r.attach_policy("p00", &bad).unwrap_err().aws_code(),
            "InvalidRequestException",
            "{bad}"
        );
    }
    // Detach (also of something not attached) and force-detach-all.
    r.detach_policy("p00", &cert_arn(CERT_B)).unwrap();
    r.detach_policy("p00", &cert_arn(CERT_B)).unwrap();
    assert_eq!(r.detach_all_policies(&a).unwrap(), 10);
    assert_eq!(r.attached_policy_count(&a).unwrap(), 0);
    r.delete_policy("p00").unwrap();
    // Markers from another operation are refused.
    let other = r.list_attached_policies(&a, false, &q(1, None)).unwrap();
    assert!(other.next_token.is_none());
    let first = r.list_policies(&q(1, None)).unwrap();
    let marker = first.next_token.unwrap();
    assert!(
        r.list_targets_for_policy("p01", &q(1, Some(&marker)))
            .is_err()
    );
}

#[test]
fn list_policies_orders_by_creation_both_ways() {
    let f = fixture();
    let r = &f.registry;
    for (name, ms) in [("b", 1), ("a", 2), ("c", 3)] {
        r.create_policy(name, &allow("iot:Connect", "*"), ms)
            .unwrap();
    }
    let (asc, _) = all_pages(|m| r.list_policies(&q(2, m)).unwrap());
    assert_eq!(
        asc.iter()
            .map(|p| p.policy_name.as_str())
            .collect::<Vec<_>>(),
        ["b", "a", "c"]
    );
    let (desc, pages) = all_pages(|m| {
        r.list_policies(&MarkerQuery {
            marker: m.map(str::to_string),
            page_size: Some(1),
            ascending: false,
        })
        .unwrap()
    });
    assert_eq!(pages, 3);
    assert_eq!(
        desc.iter()
            .map(|p| p.policy_name.as_str())
            .collect::<Vec<_>>(),
        ["c", "a", "b"]
    );
    assert!(r.list_policies(&q(251, None)).is_err());
    assert!(r.list_policies(&q(1, Some("bm90IGEgbWFya2Vy"))).is_err());
}

#[test]
fn effective_policies_combine_direct_and_inherited_group_policies() {
    let f = fixture();
    let r = &f.registry;
    r.create_thing("dev1", attrs(&[("room", "kitchen")]), 1)
        .unwrap();
    r.create_thing_group("root", None, ThingGroupProperties::default(), 1)
        .unwrap();
    r.create_thing_group("child", Some("root"), ThingGroupProperties::default(), 1)
        .unwrap();
    r.create_thing_group("other", None, ThingGroupProperties::default(), 1)
        .unwrap();
    r.add_thing_to_thing_group("dev1", "child").unwrap();
    for (name, t) in [
        ("direct", "d"),
        ("on-root", "r"),
        ("on-child", "c"),
        ("on-other", "o"),
    ] {
        r.create_policy(name, &allow("iot:Publish", &topic(t)), 1)
            .unwrap();
    }
    let a = cert_arn(CERT_A);
    r.attach_policy("direct", &a).unwrap();
    r.attach_policy("on-root", &group_arn("root")).unwrap();
    r.attach_policy("on-child", &group_arn("child")).unwrap();
    r.attach_policy("on-other", &group_arn("other")).unwrap();
    // The same policy on the certificate and a group counts once.
    r.attach_policy("on-root", &a).unwrap();

    let without_thing = r.effective_policies(&a, None);
    assert_eq!(without_thing.len(), 2);
    assert!(publish_allowed(&without_thing, "d") && publish_allowed(&without_thing, "r"));
    assert!(!publish_allowed(&without_thing, "c"));

    let with_thing = r.effective_policies(&a, Some("dev1"));
    assert_eq!(with_thing.len(), 3);
    let infos = r.effective_policy_infos(&a, Some("dev1")).unwrap();
    assert_eq!(
        infos
            .iter()
            .map(|p| p.policy_name.as_str())
            .collect::<Vec<_>>(),
        ["direct", "on-root", "on-child"],
        "direct first, then groups root first, each once"
    );
    assert_eq!(
        r.effective_policy_infos(&a, Some("ghost"))
            .unwrap_err()
            .http_status(),
        404
    );
    for (t, want) in [
        ("d", true),
        ("r", true),
        ("c", true),
        ("o", false),
        ("x", false),
    ] {
        assert_eq!(publish_allowed(&with_thing, t), want, "topic {t}");
    }
    // The certificate ARN is matched case-insensitively in its ID.
    assert_eq!(
        r.effective_policies(&cert_arn(&CERT_A.to_uppercase()), Some("dev1"))
            .len(),
        3
    );
    // ListAttachedPolicies recursive on the child group sees the root's policy.
    let rec = r
        .list_attached_policies(&group_arn("child"), true, &q(10, None))
        .unwrap();
    assert_eq!(
        rec.items
            .iter()
            .map(|p| p.policy_name.as_str())
            .collect::<Vec<_>>(),
        ["on-child", "on-root"]
    );
    let flat = r
        .list_attached_policies(&group_arn("child"), false, &q(10, None))
        .unwrap();
    assert_eq!(flat.items.len(), 1);

    // A new default version takes effect without re-attaching.
    r.create_policy_version("on-child", &allow("iot:Publish", &topic("c2")), true, 2)
        .unwrap();
    let after = r.effective_policies(&a, Some("dev1"));
    assert!(publish_allowed(&after, "c2") && !publish_allowed(&after, "c"));
    // Leaving the group drops its policies; deleting a group detaches its policies.
    r.remove_thing_from_thing_group("dev1", "child").unwrap();
    assert_eq!(r.effective_policies(&a, Some("dev1")).len(), 2);
    r.delete_thing_group("other", None).unwrap();
    let page = r.list_targets_for_policy("on-other", &q(10, None)).unwrap();
    assert!(page.items.is_empty());
    r.delete_policy("on-other").unwrap();
    // A principal with no policies of its own gets the thing's group policies only.
    assert!(
        r.effective_policies(&cert_arn(CERT_B), Some("dev1"))
            .is_empty()
    );
    r.add_thing_to_thing_group("dev1", "root").unwrap();
    let only_group = r.effective_policies(&cert_arn(CERT_B), Some("dev1"));
    assert_eq!(only_group.len(), 1);
    assert!(publish_allowed(&only_group, "r"));
    assert!(r.effective_policies("not-an-arn", None).is_empty());
}

#[test]
fn thing_principals_and_exclusivity() {
    let f = fixture();
    let r = &f.registry;
    for t in ["t1", "t2", "t3"] {
        r.create_thing(t, Default::default(), 1).unwrap();
    }
    let a = cert_arn(CERT_A);
    let b = cert_arn(CERT_B);
    r.attach_thing_principal("t1", &a, ThingPrincipalType::NonExclusive)
        .unwrap();
    r.attach_thing_principal("t2", &a, ThingPrincipalType::NonExclusive)
        .unwrap();
    // Exclusive while attached elsewhere: refused.
    let e = r
        .attach_thing_principal("t3", &a, ThingPrincipalType::Exclusive)
        .unwrap_err();
    assert_eq!(e.aws_code(), "InvalidRequestException");
    assert!(e.to_string().contains("t1, t2"), "{e}");
    // B exclusively on t1: further attachments of B elsewhere are refused.
    r.attach_thing_principal("t1", &b, ThingPrincipalType::Exclusive)
        .unwrap();
    let e = r
        .attach_thing_principal("t2", &b, ThingPrincipalType::NonExclusive)
        .unwrap_err();
    assert!(e.to_string().contains("exclusively to thing t1"), "{e}");
    assert_eq!(
        r.thing_principal_type(&b, "t1"),
        Some(ThingPrincipalType::Exclusive)
    );
    assert_eq!(
        r.thing_principal_type(&a, "t1"),
        Some(ThingPrincipalType::NonExclusive)
    );
    assert_eq!(r.thing_principal_type(&a, "t3"), None);
    // Re-attaching with another type changes it.
    r.attach_thing_principal("t1", &b, ThingPrincipalType::NonExclusive)
        .unwrap();
    r.attach_thing_principal("t2", &b, ThingPrincipalType::NonExclusive)
        .unwrap();
    assert_eq!(r.principal_things(&b), vec!["t1", "t2"]);
    assert_eq!(
        r.principal_things(&cert_arn(&CERT_B.to_uppercase())),
        vec!["t1", "t2"]
    );

    let (principals, pages) = all_pages(|t| r.list_thing_principals("t1", None, t, 1).unwrap());
    assert_eq!(pages, 2);
    assert_eq!(
        principals,
        vec![
            (a.clone(), ThingPrincipalType::NonExclusive),
            (b.clone(), ThingPrincipalType::NonExclusive)
        ]
    );
    let (things, _) = all_pages(|t| r.list_principal_things(&a, None, t, 1).unwrap());
    assert_eq!(
        things.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["t1", "t2"]
    );
    let exclusive_only = r
        .list_principal_things(&a, Some(ThingPrincipalType::Exclusive), None, 10)
        .unwrap();
    assert!(exclusive_only.items.is_empty());
    assert_eq!(
        r.list_thing_principals("nope", None, None, 10)
            .unwrap_err()
            .http_status(),
        404
    );
    assert_eq!(
        r.attach_thing_principal("nope", &a, ThingPrincipalType::NonExclusive)
            .unwrap_err()
            .to_string(),
        "Thing nope cannot be found."
    );
    // Detach, then deleting a thing forgets its principals.
    r.detach_thing_principal("t2", &a).unwrap();
    r.detach_thing_principal("t2", &a).unwrap();
    assert_eq!(r.principal_things(&a), vec!["t1"]);
    r.delete_thing("t1", None).unwrap();
    assert!(r.principal_things(&a).is_empty());
    assert_eq!(r.principal_things(&b), vec!["t2"]);
    assert!(
        r.list_principal_things(&a, None, None, 10)
            .unwrap()
            .items
            .is_empty()
    );
    // Thing attributes for policy variables.
    r.update_thing("t2", Some(attrs(&[("floor", "3")])), false, None)
        .unwrap();
    assert_eq!(
        r.thing_attributes("t2"),
        Some((None, attrs(&[("floor", "3")])))
    );
    assert_eq!(r.thing_attributes("t1"), None);
}

#[tokio::test]
async fn every_security_change_bumps_the_epoch_and_wakes_subscribers() {
    let f = fixture();
    let r = f.registry.clone();
    let mut rx = r.subscribe_security_changes();
    let a = cert_arn(CERT_A);
    r.create_thing("t", Default::default(), 1).unwrap();
    r.create_thing_group("g", None, ThingGroupProperties::default(), 1)
        .unwrap();
    type Change = Box<dyn Fn(&Registry) -> Result<(), RegistryError>>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "create_policy",
            Box::new(|r| {
                r.create_policy("p", &allow("iot:Connect", "*"), 1)
                    .map(|_| ())
            }),
        ),
        (
            "create_policy_version",
            Box::new(|r| {
                r.create_policy_version("p", &allow("iot:Publish", "*"), false, 2)
                    .map(|_| ())
            }),
        ),
        (
            "set_default",
            Box::new(|r| r.set_default_policy_version("p", 2)),
        ),
        (
            "delete_version",
            Box::new(|r| r.delete_policy_version("p", 1)),
        ),
        (
            "attach_policy",
            Box::new(move |r| r.attach_policy("p", &cert_arn(CERT_A))),
        ),
        (
            "attach_group_policy",
            Box::new(|r| r.attach_policy("p", &group_arn("g"))),
        ),
        (
            "add_to_group",
            Box::new(|r| r.add_thing_to_thing_group("t", "g")),
        ),
        (
            "attach_principal",
            Box::new(move |r| {
                r.attach_thing_principal("t", &cert_arn(CERT_A), ThingPrincipalType::Exclusive)
            }),
        ),
        (
            "update_thing",
            Box::new(|r| r.update_thing("t", Some(attrs(&[("k", "v")])), true, None)),
        ),
        (
            "detach_principal",
            Box::new(move |r| r.detach_thing_principal("t", &cert_arn(CERT_A))),
        ),
        (
            "remove_from_group",
            Box::new(|r| r.remove_thing_from_thing_group("t", "g")),
        ),
        (
            "detach_policy",
            Box::new(move |r| r.detach_policy("p", &cert_arn(CERT_A))),
        ),
        (
            "delete_group",
            Box::new(|r| r.delete_thing_group("g", None)),
        ),
        ("delete_policy", Box::new(|r| r.delete_policy("p"))),
        ("delete_thing", Box::new(|r| r.delete_thing("t", None))),
    ];
    for (what, change) in changes {
        let before = r.security_epoch();
        change(&r).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(r.security_epoch() > before, "{what} did not bump the epoch");
        tokio::time::timeout(std::time::Duration::from_secs(1), rx.changed())
            .await
            .unwrap_or_else(|_| panic!("{what}: subscriber not woken"))
            .unwrap();
        assert_eq!(*rx.borrow_and_update(), r.security_epoch());
    }
    // Refused and no-op calls leave the epoch alone.
    let before = r.security_epoch();
    assert!(r.delete_policy("p").is_err());
    r.detach_policy("p", &a).unwrap();
    assert_eq!(r.security_epoch(), before);
}

#[test]
fn policies_attachments_and_principals_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = cert_arn(CERT_A);
    {
        let r = open_with(dir.path(), logger(), LoggingConfig::default(), 10);
        r.create_thing("t", Default::default(), 1).unwrap();
        r.create_policy("p", &allow("iot:Publish", &topic("one")), 1)
            .unwrap();
        r.create_policy_version("p", &allow("iot:Publish", &topic("two")), true, 2)
            .unwrap();
        r.attach_policy("p", &a).unwrap();
        r.attach_thing_principal("t", &a, ThingPrincipalType::Exclusive)
            .unwrap();
    }
    let r = open_with(dir.path(), logger(), LoggingConfig::default(), 10);
    let docs = r.effective_policies(&a, Some("t"));
    assert_eq!(docs.len(), 1);
    assert!(publish_allowed(&docs, "two") && !publish_allowed(&docs, "one"));
    assert_eq!(
        r.thing_principal_type(&a, "t"),
        Some(ThingPrincipalType::Exclusive)
    );
    assert_eq!(r.get_policy("p").unwrap().default_version_id, 2);
    // Version IDs continue after reopen.
    assert_eq!(
        r.create_policy_version("p", &allow("iot:Connect", "*"), false, 3)
            .unwrap()
            .version_id,
        3
    );
}

#[test]
fn a_version_1_database_is_migrated_keeping_its_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let r = open_with(dir.path(), logger(), LoggingConfig::default(), 10);
        r.create_thing("old-thing", attrs(&[("a", "1")]), 1)
            .unwrap();
    }
    // Turn the database back into a version-1 one: no security tables, version "1".
    {
        let conn =
            rusqlite::Connection::open(dir.path().join(thingwatch_registry::DB_FILE)).unwrap();
        conn.execute_batch(
            "DROP TABLE thing_principals; DROP TABLE policy_targets; DROP TABLE policy_versions; DROP TABLE policies;
             UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();
    }
    let r = open_with(dir.path(), logger(), LoggingConfig::default(), 10);
    assert_eq!(
        r.describe_thing("old-thing").unwrap().attributes,
        attrs(&[("a", "1")])
    );
    r.create_policy("p", &allow("iot:Connect", "*"), 1).unwrap();
    r.attach_thing_principal(
        "old-thing",
        &cert_arn(CERT_A),
        ThingPrincipalType::NonExclusive,
    )
    .unwrap();
    drop(r);
    let conn = rusqlite::Connection::open(dir.path().join(thingwatch_registry::DB_FILE)).unwrap();
    let v: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "2");
    // An unknown (future) version is still refused.
    conn.execute(
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(conn);
    let e = Registry::open(
        dir.path(),
        common::settings(10),
        logger(),
        LoggingConfig::default(),
    )
    .unwrap_err();
    assert!(matches!(e, RegistryError::Storage(m) if m.contains("99")));
}
