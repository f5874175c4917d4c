//! Condition operators, data-driven. Source for every row: IAM User Guide, *IAM JSON policy
//! elements: Condition operators* (the section named in each row) and *Set operators for
//! multivalued context keys*; the same operators apply in AWS IoT policies.
//!
//! Each row puts one `Condition` block into an Allow statement and asks whether a request with
//! the given context is allowed, through the public parse → evaluate path.

use thingwatch_policy::{Decision, PolicyDocument, PolicyKind, Request, evaluate};

/// (section, condition block JSON, context, expected "condition holds")
type Row<'a> = (&'a str, &'a str, &'a [(&'a str, &'a [&'a str])], bool);

fn holds(version: &str, condition: &str, ctx: &[(&str, &[&str])]) -> bool {
    let json = format!(
        r#"{{ {version} "Statement": [{{"Effect": "Allow", "Action": "iot:Publish",
              "Resource": "*", "Condition": {condition} }}]}}"#
    );
    let doc = match PolicyDocument::parse(&json, PolicyKind::IotPolicy) {
        Ok(d) => d,
        Err(e) => panic!("condition must parse: {e:?}\n{json}"),
    };
    let mut req = Request::new("iot:Publish", "arn:aws:iot:us-east-1:123456789012:topic/t");
    for (k, vs) in ctx {
        req = req.with_values(k, vs.iter().copied());
    }
    evaluate([&doc], &req) == Decision::Allow
}

fn run(rows: &[Row<'_>]) {
    for &(section, cond, ctx, want) in rows {
        assert_eq!(
            holds(r#""Version": "2012-10-17","#, cond, ctx),
            want,
            "[{section}] {cond} with {ctx:?}"
        );
    }
}

const ALICE: &[(&str, &[&str])] = &[("aws:username", &["alice"])];
const NONE: &[(&str, &[&str])] = &[];

#[test]
fn string_operators() {
    run(&[
        (
            "String",
            r#"{"StringEquals": {"aws:username": "alice"}}"#,
            ALICE,
            true,
        ),
        (
            "String",
            r#"{"StringEquals": {"aws:username": "Alice"}}"#,
            ALICE,
            false,
        ),
        (
            "String: key absent",
            r#"{"StringEquals": {"aws:username": "alice"}}"#,
            NONE,
            false,
        ),
        (
            "String: values OR",
            r#"{"StringEquals": {"aws:username": ["bob", "alice"]}}"#,
            ALICE,
            true,
        ),
        (
            "String: no wildcards in Equals",
            r#"{"StringEquals": {"k": "a*"}}"#,
            &[("k", &["abc"])],
            false,
        ),
        (
            "String: literal star",
            r#"{"StringEquals": {"k": "a*"}}"#,
            &[("k", &["a*"])],
            true,
        ),
        (
            "String",
            r#"{"StringNotEquals": {"aws:username": "bob"}}"#,
            ALICE,
            true,
        ),
        (
            "String",
            r#"{"StringNotEquals": {"aws:username": ["bob", "alice"]}}"#,
            ALICE,
            false,
        ),
        (
            "String: negated, key absent → true",
            r#"{"StringNotEquals": {"aws:username": "bob"}}"#,
            NONE,
            true,
        ),
        (
            "String",
            r#"{"StringEqualsIgnoreCase": {"aws:username": "ALICE"}}"#,
            ALICE,
            true,
        ),
        (
            "String",
            r#"{"StringNotEqualsIgnoreCase": {"aws:username": "ALICE"}}"#,
            ALICE,
            false,
        ),
        (
            "String",
            r#"{"StringLike": {"k": "home/*/docs"}}"#,
            &[("k", &["home/alice/docs"])],
            true,
        ),
        (
            "String",
            r#"{"StringLike": {"k": "home/?"}}"#,
            &[("k", &["home/ab"])],
            false,
        ),
        (
            "String",
            r#"{"StringNotLike": {"k": "home/*"}}"#,
            &[("k", &["work/x"])],
            true,
        ),
        (
            "String",
            r#"{"StringNotLike": {"k": "home/*"}}"#,
            &[("k", &["home/x"])],
            false,
        ),
        (
            "Condition keys are case-insensitive",
            r#"{"StringEquals": {"AWS:UserName": "alice"}}"#,
            ALICE,
            true,
        ),
        (
            "Operator names",
            r#"{"stringequals": {"aws:username": "alice"}}"#,
            ALICE,
            true,
        ),
    ]);
}

#[test]
fn multiple_keys_and_operators_are_anded() {
    let both: &[(&str, &[&str])] = &[("a", &["1"]), ("b", &["2"])];
    let only_a: &[(&str, &[&str])] = &[("a", &["1"])];
    run(&[
        (
            "keys AND",
            r#"{"StringEquals": {"a": "1", "b": "2"}}"#,
            both,
            true,
        ),
        (
            "keys AND",
            r#"{"StringEquals": {"a": "1", "b": "2"}}"#,
            only_a,
            false,
        ),
        (
            "operators AND",
            r#"{"StringEquals": {"a": "1"}, "NumericLessThan": {"b": "3"}}"#,
            both,
            true,
        ),
        (
            "operators AND",
            r#"{"StringEquals": {"a": "1"}, "NumericLessThan": {"b": "2"}}"#,
            both,
            false,
        ),
        ("empty block", r#"{}"#, NONE, true),
    ]);
}

#[test]
fn numeric_date_bool_binary() {
    run(&[
        (
            "Numeric",
            r#"{"NumericEquals": {"n": "10"}}"#,
            &[("n", &["10"])],
            true,
        ),
        (
            "Numeric",
            r#"{"NumericEquals": {"n": 10}}"#,
            &[("n", &["10.0"])],
            true,
        ),
        (
            "Numeric",
            r#"{"NumericNotEquals": {"n": "10"}}"#,
            &[("n", &["11"])],
            true,
        ),
        (
            "Numeric",
            r#"{"NumericLessThan": {"n": "10"}}"#,
            &[("n", &["9"])],
            true,
        ),
        (
            "Numeric",
            r#"{"NumericLessThan": {"n": "10"}}"#,
            &[("n", &["10"])],
            false,
        ),
        (
            "Numeric",
            r#"{"NumericLessThanEquals": {"n": "10"}}"#,
            &[("n", &["10"])],
            true,
        ),
        (
            "Numeric",
            r#"{"NumericGreaterThan": {"n": "10"}}"#,
            &[("n", &["10"])],
            false,
        ),
        (
            "Numeric",
            r#"{"NumericGreaterThanEquals": {"n": "10"}}"#,
            &[("n", &["10"])],
            true,
        ),
        (
            "Numeric: not a number in the request",
            r#"{"NumericLessThan": {"n": "10"}}"#,
            &[("n", &["x"])],
            false,
        ),
        (
            "Date",
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}"#,
            &[("aws:CurrentTime", &["2026-11-21T12:00:00Z"])],
            true,
        ),
        (
            "Date",
            r#"{"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}"#,
            &[("aws:CurrentTime", &["2026-11-21T12:00:00Z"])],
            false,
        ),
        (
            "Date: epoch seconds",
            r#"{"DateLessThanEquals": {"aws:EpochTime": "1577836800"}}"#,
            &[("aws:EpochTime", &["2020-01-01T00:00:00Z"])],
            true,
        ),
        (
            "Date",
            r#"{"DateNotEquals": {"d": "2020-01-01T00:00:00+01:00"}}"#,
            &[("d", &["2019-12-31T23:00:00Z"])],
            false,
        ),
        (
            "Boolean",
            r#"{"Bool": {"aws:SecureTransport": "true"}}"#,
            &[("aws:SecureTransport", &["true"])],
            true,
        ),
        (
            "Boolean: JSON boolean value",
            r#"{"Bool": {"aws:SecureTransport": false}}"#,
            &[("aws:SecureTransport", &["false"])],
            true,
        ),
        (
            "Boolean",
            r#"{"Bool": {"aws:SecureTransport": "true"}}"#,
            &[("aws:SecureTransport", &["false"])],
            false,
        ),
        (
            "Boolean: case",
            r#"{"Bool": {"aws:SecureTransport": "TRUE"}}"#,
            &[("aws:SecureTransport", &["true"])],
            true,
        ),
        (
            "Binary",
            r#"{"BinaryEquals": {"b": "QmluYXJ5VmFsdWU="}}"#,
            &[("b", &["QmluYXJ5VmFsdWU="])],
            true,
        ),
        (
            "Binary",
            r#"{"BinaryEquals": {"b": "QmluYXJ5VmFsdWU="}}"#,
            &[("b", &["AAAA"])],
            false,
        ),
    ]);
}

#[test]
fn ip_and_arn() {
    run(&[
        (
            "IP address",
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[("aws:SourceIp", &["203.0.113.77"])],
            true,
        ),
        (
            "IP address",
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[("aws:SourceIp", &["198.51.100.1"])],
            false,
        ),
        (
            "IP address: list",
            r#"{"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}"#,
            &[("aws:SourceIp", &["203.0.113.1"])],
            true,
        ),
        (
            "IP address: IPv6",
            r#"{"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}"#,
            &[("aws:SourceIp", &["2001:db8:1234:5678::1"])],
            true,
        ),
        (
            "IP address",
            r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            &[("aws:SourceIp", &["198.51.100.1"])],
            true,
        ),
        (
            "IP address: negated, absent",
            r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            NONE,
            true,
        ),
        (
            "IP address: not an address",
            r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#,
            &[("aws:SourceIp", &["localhost"])],
            false,
        ),
        (
            "ARN",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iot:*:123456789012:rule/*"}}"#,
            &[(
                "aws:SourceArn",
                &["arn:aws:iot:us-east-1:123456789012:rule/r1"],
            )],
            true,
        ),
        (
            "ARN",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iot:*:123456789012:rule/*"}}"#,
            &[(
                "aws:SourceArn",
                &["arn:aws:iot:us-east-1:999999999999:rule/r1"],
            )],
            false,
        ),
        (
            "ARN: wildcard stays in its field",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iot:*:rule/*"}}"#,
            &[(
                "aws:SourceArn",
                &["arn:aws:iot:us-east-1:123456789012:rule/r1"],
            )],
            false,
        ),
        (
            "ARN",
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:iot:us-east-1:123456789012:rule/r1"}}"#,
            &[(
                "aws:SourceArn",
                &["arn:aws:iot:us-east-1:123456789012:rule/r1"],
            )],
            true,
        ),
        (
            "ARN: resource part may hold colons",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:logs:*:*:log-group:g:*"}}"#,
            &[(
                "aws:SourceArn",
                &["arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"],
            )],
            true,
        ),
        (
            "ARN",
            r#"{"ArnNotLike": {"aws:SourceArn": "arn:aws:iot:*:123456789012:*"}}"#,
            &[(
                "aws:SourceArn",
                &["arn:aws:iot:us-east-1:999999999999:rule/r1"],
            )],
            true,
        ),
        (
            "ARN",
            r#"{"ArnNotEquals": {"aws:SourceArn": "arn:aws:iot:us-east-1:123456789012:rule/r1"}}"#,
            &[(
                "aws:SourceArn",
                &["arn:aws:iot:us-east-1:123456789012:rule/r1"],
            )],
            false,
        ),
        (
            "ARN: not an ARN",
            r#"{"ArnLike": {"aws:SourceArn": "arn:*:*:*:*:*"}}"#,
            &[("aws:SourceArn", &["not-an-arn"])],
            false,
        ),
    ]);
}

#[test]
fn null_and_if_exists() {
    run(&[
        (
            "Null: key must be absent",
            r#"{"Null": {"aws:TokenIssueTime": "true"}}"#,
            NONE,
            true,
        ),
        (
            "Null",
            r#"{"Null": {"aws:TokenIssueTime": "true"}}"#,
            &[("aws:TokenIssueTime", &["t"])],
            false,
        ),
        (
            "Null: key must be present",
            r#"{"Null": {"aws:TokenIssueTime": "false"}}"#,
            &[("aws:TokenIssueTime", &["t"])],
            true,
        ),
        (
            "Null",
            r#"{"Null": {"aws:TokenIssueTime": false}}"#,
            NONE,
            false,
        ),
        (
            "IfExists: absent → true",
            r#"{"StringEqualsIfExists": {"ec2:InstanceType": "t2.micro"}}"#,
            NONE,
            true,
        ),
        (
            "IfExists: present, matches",
            r#"{"StringEqualsIfExists": {"ec2:InstanceType": "t2.micro"}}"#,
            &[("ec2:InstanceType", &["t2.micro"])],
            true,
        ),
        (
            "IfExists: present, differs",
            r#"{"StringEqualsIfExists": {"ec2:InstanceType": "t2.micro"}}"#,
            &[("ec2:InstanceType", &["m5.large"])],
            false,
        ),
        (
            "IfExists: numeric",
            r#"{"NumericLessThanIfExists": {"n": "5"}}"#,
            &[("n", &["7"])],
            false,
        ),
        (
            "present but empty counts as absent",
            r#"{"StringEquals": {"k": "v"}}"#,
            &[("k", &[])],
            false,
        ),
    ]);
}

#[test]
fn multivalued_keys_and_set_operators() {
    run(&[
        (
            "Set operators: ForAnyValue",
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}"#,
            &[("aws:TagKeys", &["a", "x"])],
            true,
        ),
        (
            "Set operators: ForAnyValue",
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}"#,
            &[("aws:TagKeys", &["x", "y"])],
            false,
        ),
        (
            "Set operators: ForAnyValue, absent → false",
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}}"#,
            NONE,
            false,
        ),
        (
            "Set operators: ForAllValues",
            r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}"#,
            &[("aws:TagKeys", &["a", "b"])],
            true,
        ),
        (
            "Set operators: ForAllValues",
            r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}"#,
            &[("aws:TagKeys", &["a", "x"])],
            false,
        ),
        (
            "Set operators: ForAllValues, absent → true",
            r#"{"ForAllValues:StringEquals": {"aws:TagKeys": "a"}}"#,
            NONE,
            true,
        ),
        (
            "Set operators: ForAllValues:StringLike",
            r#"{"ForAllValues:StringLike": {"aws:TagKeys": "env-*"}}"#,
            &[("aws:TagKeys", &["env-a", "env-b"])],
            true,
        ),
        (
            "Set operators: ForAnyValue:StringNotEquals",
            r#"{"ForAnyValue:StringNotEquals": {"aws:TagKeys": "a"}}"#,
            &[("aws:TagKeys", &["a", "x"])],
            true,
        ),
        (
            "Set operators: ForAllValues:StringNotEquals",
            r#"{"ForAllValues:StringNotEquals": {"aws:TagKeys": "a"}}"#,
            &[("aws:TagKeys", &["a", "x"])],
            false,
        ),
        (
            "no set operator: any value matches",
            r#"{"StringEquals": {"aws:TagKeys": "a"}}"#,
            &[("aws:TagKeys", &["x", "a"])],
            true,
        ),
        (
            "no set operator, negated: no value may match",
            r#"{"StringNotEquals": {"aws:TagKeys": "a"}}"#,
            &[("aws:TagKeys", &["x", "a"])],
            false,
        ),
        (
            "Set operators: IfExists combined",
            r#"{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "a"}}"#,
            NONE,
            true,
        ),
    ]);
}

#[test]
fn policy_variables_in_condition_values() {
    // IAM User Guide, "Variables and tags": variables in Condition values; AWS IoT
    // Developer Guide, "Thing policy variables".
    let same: &[(&str, &[&str])] = &[
        ("iot:ClientId", &["t1"]),
        ("iot:Connection.Thing.ThingName", &["t1"]),
    ];
    let differ: &[(&str, &[&str])] = &[
        ("iot:ClientId", &["t2"]),
        ("iot:Connection.Thing.ThingName", &["t1"]),
    ];
    let no_thing: &[(&str, &[&str])] = &[("iot:ClientId", &["t1"])];
    let cond = r#"{"StringEquals": {"iot:Connection.Thing.ThingName": "${iot:ClientId}"}}"#;
    run(&[
        ("variables", cond, same, true),
        ("variables", cond, differ, false),
        ("variables: key absent", cond, no_thing, false),
        (
            "variables: StringLike with a substituted prefix",
            r#"{"StringLike": {"s3:prefix": "home/${aws:username}/*"}}"#,
            &[
                ("aws:username", &["alice"]),
                ("s3:prefix", &["home/alice/x"]),
            ],
            true,
        ),
        (
            "variables: unresolved value matches nothing",
            r#"{"StringLike": {"s3:prefix": "home/${aws:username}/*"}}"#,
            &[("s3:prefix", &["home/alice/x"])],
            false,
        ),
        (
            "variables: ArnLike",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:iot:*:${aws:SourceAccount}:*"}}"#,
            &[
                ("aws:SourceAccount", &["123456789012"]),
                (
                    "aws:SourceArn",
                    &["arn:aws:iot:us-east-1:123456789012:rule/r"],
                ),
            ],
            true,
        ),
    ]);
    // Under 2008-10-17 the same condition compares against the literal text.
    assert!(!holds(r#""Version": "2008-10-17","#, cond, same));
    assert!(holds(
        r#""Version": "2008-10-17","#,
        cond,
        &[("iot:Connection.Thing.ThingName", &["${iot:ClientId}"])]
    ));
}
