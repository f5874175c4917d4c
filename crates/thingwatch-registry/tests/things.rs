//! Thing operations through the public `Registry` API: create/describe/update/delete/list,
//! idempotency, versions, attribute rules, pagination and every error.

mod common;

use common::{ACCOUNT, REGION, all_pages, attrs, fixture};
use thingwatch_registry::{ListThingsQuery, RegistryError};

#[test]
fn create_then_describe_returns_version_1_arn_and_uuid() {
    let f = fixture();
    let created = f
        .registry
        .create_thing("phone-1", attrs(&[("model", "x1")]), 1_700_000_000_000)
        .unwrap();
    assert_eq!(created.thing_name, "phone-1");
    assert_eq!(
        created.thing_arn,
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:thing/phone-1")
    );
    assert_eq!(created.version, 1);
    assert!(
        uuid::Uuid::parse_str(&created.thing_id).is_ok(),
        "{}",
        created.thing_id
    );
    assert_eq!(created.thing_type_name, None);
    let described = f.registry.describe_thing("phone-1").unwrap();
    assert_eq!(described, created);
}

#[test]
fn create_is_idempotent_with_the_same_attributes_only() {
    let f = fixture();
    let first = f
        .registry
        .create_thing("t", attrs(&[("a", "1")]), 1)
        .unwrap();
    let again = f
        .registry
        .create_thing("t", attrs(&[("a", "1")]), 2)
        .unwrap();
    assert_eq!(first, again);
    let err = f
        .registry
        .create_thing("t", attrs(&[("a", "2")]), 3)
        .unwrap_err();
    match err {
        RegistryError::ResourceAlreadyExists {
            resource_id,
            resource_arn,
            ..
        } => {
            assert_eq!(resource_id, first.thing_id);
            assert_eq!(resource_arn, first.thing_arn);
        }
        other => panic!("expected ResourceAlreadyExists, got {other:?}"),
    }
    assert_eq!(
        f.registry
            .create_thing("t", attrs(&[]), 4)
            .unwrap_err()
            .aws_code(),
        "ResourceAlreadyExistsException"
    );
}

#[test]
fn describe_unknown_thing_is_resource_not_found() {
    let f = fixture();
    let err = f.registry.describe_thing("ghost").unwrap_err();
    assert_eq!(
        err,
        RegistryError::ResourceNotFound("Thing ghost cannot be found.".to_string())
    );
    assert_eq!(err.http_status(), 404);
}

#[test]
fn update_merges_replaces_and_bumps_the_version() {
    let f = fixture();
    let r = &f.registry;
    r.create_thing("t", attrs(&[("a", "1"), ("b", "2")]), 1)
        .unwrap();

    r.update_thing("t", Some(attrs(&[("b", ""), ("c", "3")])), true, Some(1))
        .unwrap();
    let d = r.describe_thing("t").unwrap();
    assert_eq!(d.attributes, attrs(&[("a", "1"), ("c", "3")]));
    assert_eq!(d.version, 2);

    r.update_thing("t", Some(attrs(&[("z", "9"), ("e", "")])), false, None)
        .unwrap();
    let d = r.describe_thing("t").unwrap();
    assert_eq!(d.attributes, attrs(&[("z", "9")]));
    assert_eq!(d.version, 3);

    r.update_thing("t", None, false, Some(3)).unwrap();
    let d = r.describe_thing("t").unwrap();
    assert_eq!(d.attributes, attrs(&[("z", "9")]));
    assert_eq!(d.version, 4);
}

#[test]
fn update_errors() {
    let f = fixture();
    let r = &f.registry;
    assert!(matches!(
        r.update_thing("ghost", None, false, None),
        Err(RegistryError::ResourceNotFound(_))
    ));
    r.create_thing("t", attrs(&[]), 1).unwrap();
    let err = r.update_thing("t", None, false, Some(7)).unwrap_err();
    assert!(matches!(err, RegistryError::VersionConflict(_)), "{err:?}");
    assert_eq!(err.http_status(), 409);
    // A failed update changes nothing.
    assert_eq!(r.describe_thing("t").unwrap().version, 1);
}

#[test]
fn attribute_limit_is_three_on_create_and_update() {
    let f = fixture();
    let r = &f.registry;
    let four = attrs(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]);
    assert!(matches!(
        r.create_thing("t", four.clone(), 1),
        Err(RegistryError::InvalidRequest(_))
    ));
    r.create_thing("t", attrs(&[("a", "1"), ("b", "2"), ("c", "3")]), 1)
        .unwrap();
    assert!(matches!(
        r.update_thing("t", Some(attrs(&[("d", "4")])), true, None),
        Err(RegistryError::InvalidRequest(_))
    ));
    // Replacing one and removing one stays within the limit.
    r.update_thing("t", Some(attrs(&[("a", ""), ("d", "4")])), true, None)
        .unwrap();
    assert_eq!(
        r.describe_thing("t").unwrap().attributes,
        attrs(&[("b", "2"), ("c", "3"), ("d", "4")])
    );
}

#[test]
fn delete_is_silent_for_missing_things_and_checks_the_version() {
    let f = fixture();
    let r = &f.registry;
    r.delete_thing("ghost", None).unwrap();
    r.delete_thing("ghost", Some(3)).unwrap();
    r.create_thing("t", attrs(&[]), 1).unwrap();
    assert!(matches!(
        r.delete_thing("t", Some(2)),
        Err(RegistryError::VersionConflict(_))
    ));
    assert!(r.describe_thing("t").is_ok());
    r.delete_thing("t", Some(1)).unwrap();
    assert!(matches!(
        r.describe_thing("t"),
        Err(RegistryError::ResourceNotFound(_))
    ));
    // The name can be reused, with a new id.
    let again = r.create_thing("t", attrs(&[]), 2).unwrap();
    assert_eq!(again.version, 1);
}

#[test]
fn delete_removes_memberships() {
    let f = fixture();
    let r = &f.registry;
    r.create_thing_group("g", None, Default::default(), 1)
        .unwrap();
    r.create_thing("t", attrs(&[]), 1).unwrap();
    r.add_thing_to_thing_group("t", "g").unwrap();
    r.delete_thing("t", None).unwrap();
    assert!(
        r.list_things_in_thing_group("g", false, None, 10)
            .unwrap()
            .items
            .is_empty()
    );
    r.create_thing("t", attrs(&[]), 2).unwrap();
    assert!(
        r.list_thing_groups_for_thing("t", None, 10)
            .unwrap()
            .items
            .is_empty()
    );
}

fn query(max_results: usize) -> ListThingsQuery {
    ListThingsQuery {
        max_results,
        ..Default::default()
    }
}

#[test]
fn list_things_pages_through_everything_once_in_name_order() {
    let f = fixture();
    let r = &f.registry;
    let mut expected: Vec<String> = (0..23).map(|i| format!("thing-{i:02}")).collect();
    // Insert in a scrambled order.
    for i in [
        7, 3, 19, 0, 22, 11, 5, 1, 2, 4, 6, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 20, 21,
    ] {
        r.create_thing(&expected[i], attrs(&[]), 1).unwrap();
    }
    expected.sort();
    for page_size in [1, 5, 23, 250] {
        let (items, pages) = all_pages(|token| {
            let mut q = query(page_size);
            q.next_token = token.map(str::to_string);
            r.list_things(&q).unwrap()
        });
        let names: Vec<String> = items.into_iter().map(|t| t.thing_name).collect();
        assert_eq!(names, expected, "page size {page_size}");
        assert_eq!(pages, 23usize.div_ceil(page_size), "page size {page_size}");
    }
}

#[test]
fn list_things_filters_by_attribute() {
    let f = fixture();
    let r = &f.registry;
    r.create_thing("a", attrs(&[("color", "red")]), 1).unwrap();
    r.create_thing("b", attrs(&[("color", "blue")]), 1).unwrap();
    r.create_thing("c", attrs(&[("color", "red"), ("size", "l")]), 1)
        .unwrap();
    r.create_thing("d", attrs(&[("size", "red")]), 1).unwrap();
    let names = |q: ListThingsQuery| -> Vec<String> {
        r.list_things(&q)
            .unwrap()
            .items
            .into_iter()
            .map(|t| t.thing_name)
            .collect()
    };
    let mut q = query(10);
    q.attribute_name = Some("color".into());
    q.attribute_value = Some("red".into());
    assert_eq!(names(q.clone()), ["a", "c"]);
    q.attribute_value = None;
    assert_eq!(names(q.clone()), ["a", "b", "c"]);
    q.attribute_name = Some("size".into());
    assert_eq!(names(q), ["c", "d"]);
    let mut q = query(10);
    q.thing_type_name = Some("LightBulb".into());
    assert!(names(q).is_empty());
    let listed = r.list_things(&query(10)).unwrap();
    assert_eq!(
        listed.items[2].attributes,
        attrs(&[("color", "red"), ("size", "l")])
    );
}

#[test]
fn list_things_rejects_bad_input() {
    let f = fixture();
    let r = &f.registry;
    for q in [
        query(0),
        query(251),
        ListThingsQuery {
            attribute_value: Some("x".into()),
            max_results: 10,
            ..Default::default()
        },
        ListThingsQuery {
            next_token: Some("not-a-token".into()),
            max_results: 10,
            ..Default::default()
        },
    ] {
        assert!(
            matches!(r.list_things(&q), Err(RegistryError::InvalidRequest(_))),
            "{q:?}"
        );
    }
    // A token from another list operation is refused too.
    r.create_thing_group("g1", None, Default::default(), 1)
        .unwrap();
    r.create_thing_group("g2", None, Default::default(), 1)
        .unwrap();
    let token = r
        .list_thing_groups(None, None, true, None, 1)
        .unwrap()
        .next_token
        .unwrap();
    let q = ListThingsQuery {
        next_token: Some(token),
        max_results: 10,
        ..Default::default()
    };
    let err = r.list_things(&q).unwrap_err();
    assert!(
        matches!(&err, RegistryError::InvalidRequest(m) if m.contains("nextToken")),
        "{err:?}"
    );
}
