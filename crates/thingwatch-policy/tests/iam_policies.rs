//! IAM identity and trust policies, data-driven from the IAM User Guide examples and the AWS
//! IoT logging role the seeds describe (`../shared/reference/aws-iot-logging.md` §1.3).

use thingwatch_policy::{Decision, PolicyDocument, PolicyKind, Principal, Request, evaluate};

use Decision::{Allow, ExplicitDeny, ImplicitDeny};

fn parse(json: &str, kind: PolicyKind) -> PolicyDocument {
    match PolicyDocument::parse(json, kind) {
        Ok(d) => d,
        Err(e) => panic!("test policy must parse as {kind:?}: {e:?}\n{json}"),
    }
}

/// (what, action, resource, context, expected)
type Row<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    Decision,
);

fn run(source: &str, docs: &[PolicyDocument], rows: &[Row<'_>]) {
    for &(what, action, resource, ctx, want) in rows {
        let mut req = Request::new(action, resource);
        for (k, v) in ctx {
            req = req.with(k, *v);
        }
        assert_eq!(evaluate(docs, &req), want, "[{source}] {what}");
    }
}

const LOGGING_ROLE: &str = "arn:aws:iam::123456789012:role/IoTLoggingRole";

#[test]
fn pass_role_to_iot() {
    // IAM User Guide, "Granting a user permissions to pass a role to an AWS service":
    // iam:PassRole on the role ARN, limited with iam:PassedToService. AWS IoT Developer
    // Guide, "Configure AWS IoT logging": the caller of SetV2LoggingOptions needs
    // iam:PassRole for the role.
    let doc = parse(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow",
             "Action": ["iot:SetV2LoggingOptions", "iot:GetV2LoggingOptions"],
             "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole",
             "Resource": "arn:aws:iam::123456789012:role/IoTLoggingRole",
             "Condition": {"StringEquals": {"iam:PassedToService": "iot.amazonaws.com"}}}
          ]
        }"#,
        PolicyKind::IamIdentity,
    );
    let to_iot: &[(&str, &str)] = &[("iam:PassedToService", "iot.amazonaws.com")];
    run(
        "PassRole",
        &[doc],
        &[
            (
                "pass the logging role to IoT",
                "iam:PassRole",
                LOGGING_ROLE,
                to_iot,
                Allow,
            ),
            (
                "another role",
                "iam:PassRole",
                "arn:aws:iam::123456789012:role/Admin",
                to_iot,
                ImplicitDeny,
            ),
            (
                "to another service",
                "iam:PassRole",
                LOGGING_ROLE,
                &[("iam:PassedToService", "ec2.amazonaws.com")],
                ImplicitDeny,
            ),
            (
                "PassedToService absent",
                "iam:PassRole",
                LOGGING_ROLE,
                &[],
                ImplicitDeny,
            ),
            (
                "the API call itself",
                "iot:SetV2LoggingOptions",
                "*",
                &[],
                Allow,
            ),
            (
                "an API call not granted",
                "iot:CreatePolicy",
                "*",
                &[],
                ImplicitDeny,
            ),
        ],
    );
}

#[test]
fn explicit_deny_across_identity_policies() {
    // IAM User Guide, "Policy evaluation logic": an explicit deny in any policy overrides
    // allows in others.
    let admin = parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        PolicyKind::IamIdentity,
    );
    let guard = parse(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoLoggingChanges","Effect":"Deny",
            "Action":["iot:SetV2Logging*","iot:DeleteV2LoggingLevel"],"Resource":"*"}]}"#,
        PolicyKind::IamIdentity,
    );
    run(
        "Policy evaluation logic",
        &[admin, guard],
        &[
            (
                "denied by wildcard",
                "iot:SetV2LoggingLevel",
                "*",
                &[],
                ExplicitDeny,
            ),
            (
                "denied exactly",
                "iot:DeleteV2LoggingLevel",
                "*",
                &[],
                ExplicitDeny,
            ),
            ("allowed by admin", "logs:FilterLogEvents", "*", &[], Allow),
        ],
    );
}

#[test]
fn own_credentials_with_username_variable() {
    // IAM User Guide, "IAM: Allows IAM users to manage their own credentials" style:
    // Resource arn:aws:iam::ACCOUNT:user/${aws:username}; "Specifying default values":
    // ${aws:username, 'default'}.
    let doc = parse(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow",
             "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
             "Resource": "arn:aws:iam::123456789012:user/${aws:username}"},
            {"Effect": "Allow", "Action": "logs:PutLogEvents",
             "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:${aws:username, 'shared'}:*"}
          ]
        }"#,
        PolicyKind::IamIdentity,
    );
    let alice: &[(&str, &str)] = &[("aws:username", "alice")];
    run(
        "Variables and tags",
        &[doc],
        &[
            (
                "own access key",
                "iam:CreateAccessKey",
                "arn:aws:iam::123456789012:user/alice",
                alice,
                Allow,
            ),
            (
                "someone else's",
                "iam:CreateAccessKey",
                "arn:aws:iam::123456789012:user/bob",
                alice,
                ImplicitDeny,
            ),
            (
                "no user name (a role session): unresolved",
                "iam:CreateAccessKey",
                "arn:aws:iam::123456789012:user/alice",
                &[],
                ImplicitDeny,
            ),
            (
                "user's own log group",
                "logs:PutLogEvents",
                "arn:aws:logs:us-east-1:123456789012:log-group:alice:log-stream:s",
                alice,
                Allow,
            ),
            (
                "default value when the key is absent",
                "logs:PutLogEvents",
                "arn:aws:logs:us-east-1:123456789012:log-group:shared:log-stream:s",
                &[],
                Allow,
            ),
            (
                "the default is not used when the key is present",
                "logs:PutLogEvents",
                "arn:aws:logs:us-east-1:123456789012:log-group:shared:log-stream:s",
                alice,
                ImplicitDeny,
            ),
        ],
    );
}

#[test]
fn logging_role_permissions_policy() {
    // Seeds (aws-iot-logging.md §1.3, "Create a logging role"): the role may
    // CreateLogGroup/CreateLogStream/PutLogEvents/PutMetricFilter/PutRetentionPolicy on
    // log-group:AWSIotLogsV2:*.
    let doc = parse(
        r#"{
          "Version": "2012-10-17",
          "Statement": [{
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                       "logs:PutMetricFilter", "logs:PutRetentionPolicy"],
            "Resource": ["arn:aws:logs:*:123456789012:log-group:AWSIotLogsV2:*"]
          }]
        }"#,
        PolicyKind::IamIdentity,
    );
    let stream = "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2:log-stream:abc";
    run(
        "logging role",
        &[doc],
        &[
            (
                "write to the V2 group",
                "logs:PutLogEvents",
                stream,
                &[],
                Allow,
            ),
            (
                "create the V2 group",
                "logs:CreateLogGroup",
                "arn:aws:logs:eu-west-1:123456789012:log-group:AWSIotLogsV2:*",
                &[],
                Allow,
            ),
            (
                "a custom log group not in the policy",
                "logs:PutLogEvents",
                "arn:aws:logs:us-east-1:123456789012:log-group:custom:log-stream:abc",
                &[],
                ImplicitDeny,
            ),
            (
                "AWSIotLogs (v1) is a different group",
                "logs:PutLogEvents",
                "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogs:log-stream:abc",
                &[],
                ImplicitDeny,
            ),
            (
                "an action not listed",
                "logs:DeleteLogGroup",
                stream,
                &[],
                ImplicitDeny,
            ),
        ],
    );
}

#[test]
fn trust_policy_for_iot() {
    // Seeds §1.3: the logging role trusts service principal iot.amazonaws.com with
    // sts:AssumeRole. IAM User Guide, "AWS JSON policy elements: Principal".
    let trust = parse(
        r#"{
          "Version": "2012-10-17",
          "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "iot.amazonaws.com"},
            "Action": "sts:AssumeRole"
          }]
        }"#,
        PolicyKind::IamTrust,
    );
    assert!(trust.trusts_service("iot.amazonaws.com", "sts:AssumeRole"));
    assert!(trust.trusts_service("IOT.amazonaws.com", "STS:assumerole"));
    assert!(!trust.trusts_service("lambda.amazonaws.com", "sts:AssumeRole"));
    assert!(!trust.trusts_service("iot.amazonaws.com", "sts:TagSession"));
    assert!(!trust.trusts(
        Principal::Aws("arn:aws:iam::123456789012:root".into()),
        "sts:AssumeRole"
    ));
    // Without a principal in the request a Principal-bearing statement cannot apply.
    assert_eq!(
        evaluate([&trust], &Request::new("sts:AssumeRole", "*")),
        ImplicitDeny
    );
}

#[test]
fn trust_policy_aws_principals() {
    // IAM User Guide, "AWS JSON policy elements: Principal": an account principal (ID or
    // arn:aws:iam::ID:root) means every identity of that account; an ARN means that identity;
    // "*" means everyone. NotPrincipal with Deny excludes the listed principals.
    let trust = parse(
        r#"{
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "444455556666",
                                   "arn:aws:iam::777788889999:user/carol"]}},
            {"Effect": "Deny", "Action": "sts:AssumeRole",
             "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:user/alice",
                                      "444455556666", "arn:aws:iam::444455556666:user/dave",
                                      "arn:aws:iam::777788889999:user/carol"]}}
          ]
        }"#,
        PolicyKind::IamTrust,
    );
    let rows: &[(&str, bool)] = &[
        ("arn:aws:iam::111122223333:user/alice", true),
        // Trusted via the account, but not exempted from the Deny.
        ("arn:aws:iam::111122223333:root", false),
        ("arn:aws:iam::444455556666:user/dave", true),
        ("arn:aws:iam::777788889999:user/carol", true),
        ("arn:aws:iam::777788889999:user/mallory", false),
        ("arn:aws:iam::999999999999:user/alice", false),
        ("arn:aws:iam::111122223333:user/bob", false),
        // Exempted from the Deny by its account ID.
        ("arn:aws:iam::444455556666:user/erin", true),
    ];
    for &(arn, want) in rows {
        assert_eq!(
            trust.trusts(Principal::Aws(arn.into()), "sts:AssumeRole"),
            want,
            "{arn}"
        );
    }

    let everyone = parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#,
        PolicyKind::IamTrust,
    );
    assert!(everyone.trusts_service("anything.amazonaws.com", "sts:AssumeRole"));
    assert!(everyone.trusts(
        Principal::Federated("cognito-identity.amazonaws.com".into()),
        "sts:AssumeRole"
    ));
}

#[test]
fn trust_policy_conditions_need_the_full_request() {
    // IAM User Guide, "The confused deputy problem": aws:SourceAccount / aws:SourceArn
    // conditions in a service trust policy.
    let trust = parse(
        r#"{
          "Version": "2012-10-17",
          "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "iot.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
              "StringEquals": {"aws:SourceAccount": "123456789012"},
              "ArnLike": {"aws:SourceArn": "arn:aws:iot:us-east-1:123456789012:*"}
            }
          }]
        }"#,
        PolicyKind::IamTrust,
    );
    // trusts_service sees an empty context, so the conditions fail.
    assert!(!trust.trusts_service("iot.amazonaws.com", "sts:AssumeRole"));
    let base = Request::new("sts:AssumeRole", "*")
        .with_principal(Principal::Service("iot.amazonaws.com".into()))
        .with("aws:SourceAccount", "123456789012");
    let ok = base.clone().with(
        "aws:SourceArn",
        "arn:aws:iot:us-east-1:123456789012:rule/r1",
    );
    let other = base.with(
        "aws:SourceArn",
        "arn:aws:iot:us-east-1:999999999999:rule/r1",
    );
    assert_eq!(evaluate([&trust], &ok), Allow);
    assert_eq!(evaluate([&trust], &other), ImplicitDeny);
}
