//! Thing-group operations through the public `Registry` API: hierarchy, AWS limits,
//! idempotency, versions, membership rules, recursive listings, pagination and errors.

mod common;

use common::{ACCOUNT, REGION, all_pages, attrs, fixture};
use std::sync::Arc;
use thingwatch_events::GroupMembership;
use thingwatch_registry::{
    GroupNameAndArn, MAX_DIRECT_CHILD_GROUPS, MAX_GROUPS_PER_THING, MAX_HIERARCHY_DEPTH, Registry,
    RegistryError, ThingGroupProperties,
};

fn props(description: Option<&str>, pairs: &[(&str, &str)], merge: bool) -> ThingGroupProperties {
    ThingGroupProperties {
        description: description.map(str::to_string),
        attributes: Some(attrs(pairs)),
        merge,
    }
}

fn group(r: &Registry, name: &str, parent: Option<&str>) {
    r.create_thing_group(name, parent, Default::default(), 1_000)
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
}

fn names(page: Vec<GroupNameAndArn>) -> Vec<String> {
    page.into_iter().map(|g| g.group_name).collect()
}

fn chains(r: &Registry, thing: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    r.group_membership()
        .for_each_group_chain(thing, &mut |c: &[Arc<str>]| {
            out.push(c.iter().map(|g| g.to_string()).collect())
        });
    out.sort();
    out
}

#[test]
fn create_and_describe_a_three_level_hierarchy() {
    let f = fixture();
    let r = &f.registry;
    let root = r
        .create_thing_group(
            "Phones",
            None,
            props(Some("all phones"), &[("k", "v")], false),
            1_000,
        )
        .unwrap();
    assert_eq!(root.version, 1);
    assert_eq!(
        root.arn,
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/Phones")
    );
    assert!(uuid::Uuid::parse_str(&root.id).is_ok());
    assert_eq!(root.parent_group_name, None);
    assert!(root.root_to_parent.is_empty());
    r.create_thing_group("MobilePhones", Some("Phones"), Default::default(), 2_000)
        .unwrap();
    let leaf = r
        .create_thing_group("Android", Some("MobilePhones"), Default::default(), 3_000)
        .unwrap();
    assert_eq!(r.describe_thing_group("Android").unwrap(), leaf);
    assert_eq!(leaf.parent_group_name.as_deref(), Some("MobilePhones"));
    assert_eq!(leaf.creation_date_ms, 3_000);
    assert_eq!(
        leaf.root_to_parent,
        vec![
            GroupNameAndArn {
                group_name: "Phones".into(),
                group_arn: r.thing_group_arn("Phones"),
            },
            GroupNameAndArn {
                group_name: "MobilePhones".into(),
                group_arn: r.thing_group_arn("MobilePhones"),
            },
        ]
    );
    let d = r.describe_thing_group("Phones").unwrap();
    assert_eq!(d.description.as_deref(), Some("all phones"));
    assert_eq!(d.attributes, attrs(&[("k", "v")]));
}

#[test]
fn create_is_idempotent_only_for_the_same_configuration() {
    let f = fixture();
    let r = &f.registry;
    group(r, "P", None);
    let g = r
        .create_thing_group("g", Some("P"), props(Some("d"), &[("a", "1")], false), 1)
        .unwrap();
    let again = r
        .create_thing_group("g", Some("P"), props(Some("d"), &[("a", "1")], false), 99)
        .unwrap();
    assert_eq!(again, g);
    for (parent, p) in [
        (None, props(Some("d"), &[("a", "1")], false)),
        (Some("P"), props(Some("other"), &[("a", "1")], false)),
        (Some("P"), props(Some("d"), &[("a", "2")], false)),
    ] {
        match r.create_thing_group("g", parent, p, 1).unwrap_err() {
            RegistryError::ResourceAlreadyExists {
                resource_id,
                resource_arn,
                ..
            } => {
                assert_eq!(resource_id, g.id);
                assert_eq!(resource_arn, g.arn);
            }
            other => panic!("expected ResourceAlreadyExists, got {other:?}"),
        }
    }
}

#[test]
fn create_under_an_unknown_parent_is_invalid() {
    let f = fixture();
    let err = f
        .registry
        .create_thing_group("g", Some("nope"), Default::default(), 1)
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidRequest(_)), "{err:?}");
    assert!(matches!(
        f.registry.describe_thing_group("g"),
        Err(RegistryError::ResourceNotFound(_))
    ));
}

#[test]
fn hierarchy_depth_is_limited_to_seven_levels() {
    let f = fixture();
    let r = &f.registry;
    group(r, "L1", None);
    for level in 2..=MAX_HIERARCHY_DEPTH {
        group(r, &format!("L{level}"), Some(&format!("L{}", level - 1)));
    }
    let deepest = format!("L{MAX_HIERARCHY_DEPTH}");
    assert_eq!(
        r.describe_thing_group(&deepest)
            .unwrap()
            .root_to_parent
            .len(),
        MAX_HIERARCHY_DEPTH - 1
    );
    let err = r
        .create_thing_group("too-deep", Some(&deepest), Default::default(), 1)
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidRequest(_)), "{err:?}");
}

#[test]
fn direct_children_are_limited() {
    let f = fixture();
    let r = &f.registry;
    group(r, "P", None);
    for i in 0..MAX_DIRECT_CHILD_GROUPS {
        group(r, &format!("c{i}"), Some("P"));
    }
    assert!(matches!(
        r.create_thing_group("one-more", Some("P"), Default::default(), 1),
        Err(RegistryError::InvalidRequest(_))
    ));
    // Grandchildren do not count against P.
    group(r, "grandchild", Some("c0"));
}

#[test]
fn update_merges_replaces_and_versions() {
    let f = fixture();
    let r = &f.registry;
    r.create_thing_group(
        "g",
        None,
        props(Some("d1"), &[("a", "1"), ("b", "2")], false),
        1,
    )
    .unwrap();
    assert_eq!(
        r.update_thing_group("g", props(None, &[("b", ""), ("c", "3")], true), Some(1))
            .unwrap(),
        2
    );
    let d = r.describe_thing_group("g").unwrap();
    assert_eq!(d.attributes, attrs(&[("a", "1"), ("c", "3")]));
    assert_eq!(d.description.as_deref(), Some("d1"));
    assert_eq!(d.version, 2);
    assert_eq!(
        r.update_thing_group("g", props(Some("d2"), &[("z", "9")], false), None)
            .unwrap(),
        3
    );
    let d = r.describe_thing_group("g").unwrap();
    assert_eq!(d.attributes, attrs(&[("z", "9")]));
    assert_eq!(d.description.as_deref(), Some("d2"));
    assert!(matches!(
        r.update_thing_group("g", Default::default(), Some(1)),
        Err(RegistryError::VersionConflict(_))
    ));
    assert!(matches!(
        r.update_thing_group("ghost", Default::default(), None),
        Err(RegistryError::ResourceNotFound(_))
    ));
    assert_eq!(r.describe_thing_group("g").unwrap().version, 3);
}

#[test]
fn delete_rules() {
    let f = fixture();
    let r = &f.registry;
    group(r, "P", None);
    group(r, "C", Some("P"));
    r.create_thing("t", attrs(&[]), 1).unwrap();
    r.add_thing_to_thing_group("t", "C").unwrap();

    let err = r.delete_thing_group("P", None).unwrap_err();
    assert_eq!(
        err,
        RegistryError::InvalidRequest(
            "Cannot delete thing group : P when there are still child groups attached to it"
                .to_string()
        )
    );
    r.delete_thing_group("missing", None).unwrap();
    r.delete_thing_group("missing", Some(5)).unwrap();
    assert!(matches!(
        r.delete_thing_group("C", Some(2)),
        Err(RegistryError::VersionConflict(_))
    ));
    r.delete_thing_group("C", Some(1)).unwrap();
    assert!(matches!(
        r.describe_thing_group("C"),
        Err(RegistryError::ResourceNotFound(m)) if m == "Thing group C cannot be found."
    ));
    assert!(
        r.list_thing_groups_for_thing("t", None, 10)
            .unwrap()
            .items
            .is_empty()
    );
    assert!(chains(r, "t").is_empty());
    // Now childless, P can go.
    r.delete_thing_group("P", None).unwrap();
    assert!(
        r.list_thing_groups(None, None, true, None, 10)
            .unwrap()
            .items
            .is_empty()
    );
}

/// A{A1{A1a}, A2}, B
fn tree(r: &Registry) {
    group(r, "A", None);
    group(r, "B", None);
    group(r, "A1", Some("A"));
    group(r, "A2", Some("A"));
    group(r, "A1a", Some("A1"));
}

#[test]
fn list_thing_groups_parent_recursive_and_prefix() {
    let f = fixture();
    let r = &f.registry;
    tree(r);
    let list = |parent: Option<&str>, prefix: Option<&str>, recursive: bool| {
        names(
            r.list_thing_groups(parent, prefix, recursive, None, 250)
                .unwrap()
                .items,
        )
    };
    assert_eq!(list(None, None, true), ["A", "A1", "A1a", "A2", "B"]);
    assert_eq!(list(None, None, false), ["A", "B"]);
    assert_eq!(list(Some("A"), None, true), ["A1", "A1a", "A2"]);
    assert_eq!(list(Some("A"), None, false), ["A1", "A2"]);
    assert_eq!(list(Some("A1a"), None, true), Vec::<String>::new());
    assert_eq!(list(None, Some("A1"), true), ["A1", "A1a"]);
    assert_eq!(list(Some("A"), Some("A2"), true), ["A2"]);
    assert_eq!(list(None, Some("A"), false), ["A"]);
    let page = r.list_thing_groups(None, None, true, None, 250).unwrap();
    assert_eq!(page.items[0].group_arn, r.thing_group_arn("A"));
    assert!(matches!(
        r.list_thing_groups(Some("nope"), None, true, None, 10),
        Err(RegistryError::ResourceNotFound(_))
    ));
    assert!(matches!(
        r.list_thing_groups(None, None, true, Some("garbage"), 10),
        Err(RegistryError::InvalidRequest(_))
    ));
    assert!(matches!(
        r.list_thing_groups(None, None, true, None, 0),
        Err(RegistryError::InvalidRequest(_))
    ));
}

#[test]
fn list_thing_groups_pagination_covers_everything_once() {
    let f = fixture();
    let r = &f.registry;
    tree(r);
    for i in 0..30 {
        group(r, &format!("A1-child-{i:02}"), Some("A1"));
    }
    let expected = names(
        r.list_thing_groups(Some("A"), None, true, None, 250)
            .unwrap()
            .items,
    );
    assert_eq!(expected.len(), 33);
    for size in [1, 4, 32, 33] {
        let (items, _) =
            all_pages(|t| r.list_thing_groups(Some("A"), None, true, t, size).unwrap());
        assert_eq!(names(items), expected, "page size {size}");
    }
}

#[test]
fn add_and_remove_membership_errors() {
    let f = fixture();
    let r = &f.registry;
    tree(r);
    r.create_thing("t", attrs(&[]), 1).unwrap();
    assert!(matches!(
        r.add_thing_to_thing_group("ghost", "A"),
        Err(RegistryError::ResourceNotFound(m)) if m == "Thing ghost cannot be found."
    ));
    assert!(matches!(
        r.add_thing_to_thing_group("t", "nope"),
        Err(RegistryError::ResourceNotFound(m)) if m == "Thing group nope cannot be found."
    ));
    assert!(matches!(
        r.remove_thing_from_thing_group("ghost", "A"),
        Err(RegistryError::ResourceNotFound(_))
    ));
    assert!(matches!(
        r.remove_thing_from_thing_group("t", "nope"),
        Err(RegistryError::ResourceNotFound(_))
    ));
    // Not a member: succeeds without change.
    r.remove_thing_from_thing_group("t", "A").unwrap();
    r.add_thing_to_thing_group("t", "A1").unwrap();
    r.add_thing_to_thing_group("t", "A1").unwrap();
    assert_eq!(
        names(r.list_thing_groups_for_thing("t", None, 10).unwrap().items),
        ["A1"]
    );
}

#[test]
fn a_thing_is_never_in_two_groups_of_one_hierarchy() {
    let f = fixture();
    let r = &f.registry;
    tree(r);
    r.create_thing("t", attrs(&[]), 1).unwrap();
    r.add_thing_to_thing_group("t", "A1").unwrap();
    for same_hierarchy in ["A", "A2", "A1a"] {
        let err = r.add_thing_to_thing_group("t", same_hierarchy).unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidRequest(_)),
            "{same_hierarchy}: {err:?}"
        );
    }
    r.add_thing_to_thing_group("t", "B").unwrap();
    assert_eq!(
        names(r.list_thing_groups_for_thing("t", None, 10).unwrap().items),
        ["A1", "B"]
    );
    // Moving within a hierarchy: remove, then add.
    r.remove_thing_from_thing_group("t", "A1").unwrap();
    r.add_thing_to_thing_group("t", "A1a").unwrap();
    assert_eq!(chains(r, "t"), vec![vec!["A", "A1", "A1a"], vec!["B"]]);
}

#[test]
fn a_thing_is_in_at_most_ten_groups() {
    let f = fixture();
    let r = &f.registry;
    r.create_thing("t", attrs(&[]), 1).unwrap();
    for i in 0..=MAX_GROUPS_PER_THING {
        group(r, &format!("root-{i:02}"), None);
    }
    for i in 0..MAX_GROUPS_PER_THING {
        r.add_thing_to_thing_group("t", &format!("root-{i:02}"))
            .unwrap();
    }
    let err = r
        .add_thing_to_thing_group("t", &format!("root-{MAX_GROUPS_PER_THING:02}"))
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidRequest(_)), "{err:?}");
    let (groups, _) = all_pages(|t| r.list_thing_groups_for_thing("t", t, 3).unwrap());
    assert_eq!(groups.len(), MAX_GROUPS_PER_THING);
}

#[test]
fn list_things_in_thing_group_direct_and_recursive() {
    let f = fixture();
    let r = &f.registry;
    tree(r);
    for (thing, g) in [
        ("t-a", "A"),
        ("t-a1", "A1"),
        ("t-a1a", "A1a"),
        ("t-a2", "A2"),
        ("t-b", "B"),
    ] {
        r.create_thing(thing, attrs(&[]), 1).unwrap();
        r.add_thing_to_thing_group(thing, g).unwrap();
    }
    let list = |g: &str, recursive: bool| {
        r.list_things_in_thing_group(g, recursive, None, 250)
            .unwrap()
            .items
    };
    assert_eq!(list("A", false), ["t-a"]);
    assert_eq!(list("A", true), ["t-a", "t-a1", "t-a1a", "t-a2"]);
    assert_eq!(list("A1", true), ["t-a1", "t-a1a"]);
    assert_eq!(list("B", true), ["t-b"]);
    assert!(matches!(
        r.list_things_in_thing_group("nope", true, None, 10),
        Err(RegistryError::ResourceNotFound(_))
    ));
    assert!(matches!(
        r.list_thing_groups_for_thing("ghost", None, 10),
        Err(RegistryError::ResourceNotFound(_))
    ));
}

#[test]
fn list_things_in_thing_group_pagination() {
    let f = fixture();
    let r = &f.registry;
    tree(r);
    let mut expected = Vec::new();
    for i in 0..40 {
        let thing = format!("dev-{i:03}");
        r.create_thing(&thing, attrs(&[]), 1).unwrap();
        r.add_thing_to_thing_group(&thing, ["A", "A1", "A1a", "A2"][i % 4])
            .unwrap();
        expected.push(thing);
    }
    for size in [1, 7, 40, 250] {
        let (items, _) = all_pages(|t| r.list_things_in_thing_group("A", true, t, size).unwrap());
        assert_eq!(items, expected, "page size {size}");
    }
    let (direct, _) = all_pages(|t| r.list_things_in_thing_group("A1", false, t, 3).unwrap());
    assert_eq!(direct.len(), 10);
}

#[test]
fn membership_chains_for_a_three_deep_hierarchy_and_unrelated_groups() {
    let f = fixture();
    let r = &f.registry;
    tree(r);
    group(r, "Fleet", None);
    for t in ["deep", "multi", "lonely"] {
        r.create_thing(t, attrs(&[]), 1).unwrap();
    }
    r.add_thing_to_thing_group("deep", "A1a").unwrap();
    r.add_thing_to_thing_group("multi", "A2").unwrap();
    r.add_thing_to_thing_group("multi", "B").unwrap();
    r.add_thing_to_thing_group("multi", "Fleet").unwrap();
    assert_eq!(chains(r, "deep"), vec![vec!["A", "A1", "A1a"]]);
    assert_eq!(
        chains(r, "multi"),
        vec![vec!["A", "A2"], vec!["B"], vec!["Fleet"]]
    );
    assert!(chains(r, "lonely").is_empty());
    assert!(chains(r, "unknown").is_empty());
    r.remove_thing_from_thing_group("multi", "B").unwrap();
    assert_eq!(chains(r, "multi"), vec![vec!["A", "A2"], vec!["Fleet"]]);
}

#[test]
fn concurrent_membership_changes_from_many_threads_all_land() {
    let f = fixture();
    let r = f.registry.clone();
    tree(&r);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let r = r.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let thing = format!("th-{t}-{i:02}");
                    r.create_thing(&thing, attrs(&[]), 1).unwrap();
                    r.add_thing_to_thing_group(&thing, if i % 2 == 0 { "A1a" } else { "B" })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (in_a, _) = all_pages(|t| r.list_things_in_thing_group("A", true, t, 50).unwrap());
    let (in_b, _) = all_pages(|t| r.list_things_in_thing_group("B", false, t, 50).unwrap());
    assert_eq!(in_a.len(), 4 * 13);
    assert_eq!(in_b.len(), 4 * 12);
    for thing in &in_a {
        assert_eq!(chains(&r, thing), vec![vec!["A", "A1", "A1a"]]);
    }
}
