//! The decision API the rest of the server calls, on a real store in a temp dir: identity
//! policy evaluation (allow, implicit deny, explicit deny, policy variables, root),
//! `iam:PassRole` of the logging role (every refusal reason), the built-in logging role and
//! `role_allows`, credentials for SigV4, quotas, and persistence across reopen.

use thingwatch_aws::CredentialProvider;
use thingwatch_iam::model::{log_group_resource_arn, log_stream_resource_arn};
use thingwatch_iam::{
    BUILTIN_LOGGING_POLICY_NAME, BUILTIN_LOGGING_ROLE_NAME, BUILTIN_LOGGING_TRUST_POLICY, Decision,
    Iam, IamError, IamSettings, KeyStatus, NewRole, PassRoleError, builtin_logging_role_policy,
};
use thingwatch_test_support::{ACCOUNT, REGION, ROOT_AKID, ROOT_SECRET, temp_dir};

const NOW: i64 = 1_763_700_000_000;

fn settings() -> IamSettings {
    IamSettings {
        account_id: ACCOUNT.to_owned(),
        region: REGION.to_owned(),
        root_access_key_id: ROOT_AKID.to_owned(),
        root_secret_access_key: ROOT_SECRET.to_owned(),
    }
}

fn open(dir: &std::path::Path) -> Iam {
    Iam::open(dir, settings()).expect("open IAM store")
}

fn trust(service: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn role(iam: &Iam, name: &str, trust_doc: &str) -> String {
    iam.create_role(
        &NewRole {
            role_name: name.to_owned(),
            assume_role_policy_document: trust_doc.to_owned(),
            ..NewRole::default()
        },
        NOW,
    )
    .expect("create role")
    .arn
}

/// (who, action, resource, context, expected)
type DecisionRow<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    Decision,
);

#[test]
fn identity_policies_allow_deny_and_variables() {
    let dir = temp_dir();
    let iam = open(dir.path());
    let alice = iam.create_user("alice", None, NOW).expect("user").arn;
    iam.put_user_policy(
        "alice",
        "iot-logging",
        r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Action":["iot:*V2Logging*","logs:FilterLogEvents"],"Resource":"*"},
          {"Effect":"Deny","Action":"iot:DeleteV2LoggingLevel","Resource":"*"},
          {"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::123456789012:user/${aws:username}"},
          {"Effect":"Allow","Action":"iot:DescribeEndpoint","Resource":"*",
           "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
    )
    .expect("policy");
    let root = iam.root_arn().to_owned();
    let own = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    let other = format!("arn:aws:iam::{ACCOUNT}:user/bob");
    let table: &[DecisionRow<'_>] = &[
        (&alice, "iot:SetV2LoggingOptions", "*", &[], Decision::Allow),
        (&alice, "iot:setv2logginglevel", "*", &[], Decision::Allow),
        (
            &alice,
            "iot:DeleteV2LoggingLevel",
            "*",
            &[],
            Decision::ExplicitDeny,
        ),
        (&alice, "iot:CreateThing", "*", &[], Decision::ImplicitDeny),
        (&alice, "iam:CreateAccessKey", &own, &[], Decision::Allow),
        (
            &alice,
            "iam:CreateAccessKey",
            &other,
            &[],
            Decision::ImplicitDeny,
        ),
        (
            &alice,
            "iot:DescribeEndpoint",
            "*",
            &[("aws:SourceIp", "10.1.2.3")],
            Decision::Allow,
        ),
        (
            &alice,
            "iot:DescribeEndpoint",
            "*",
            &[("aws:SourceIp", "192.168.1.1")],
            Decision::ImplicitDeny,
        ),
        (
            &alice,
            "iot:DescribeEndpoint",
            "*",
            &[],
            Decision::ImplicitDeny,
        ),
        (&root, "iot:DeleteV2LoggingLevel", "*", &[], Decision::Allow),
        (
            &root,
            "anything:AtAll",
            "arn:aws:s3:::b",
            &[],
            Decision::Allow,
        ),
        (
            "arn:aws:iam::123456789012:user/ghost",
            "iot:SetV2LoggingOptions",
            "*",
            &[],
            Decision::ImplicitDeny,
        ),
        (
            "arn:aws:iam::999999999999:root",
            "iot:SetV2LoggingOptions",
            "*",
            &[],
            Decision::ImplicitDeny,
        ),
    ];
    for (who, action, resource, ctx, want) in table {
        assert_eq!(
            iam.authorize(who, action, resource, ctx),
            *want,
            "{who} {action} {resource} {ctx:?}"
        );
    }
    // Deleting the policy takes effect at once (the snapshot is republished on write).
    iam.delete_user_policy("alice", "IOT-LOGGING")
        .expect("delete (names are case-insensitive)");
    assert_eq!(
        iam.authorize(&alice, "iot:SetV2LoggingOptions", "*", &[]),
        Decision::ImplicitDeny
    );
}

#[test]
fn pass_role_reasons() {
    let dir = temp_dir();
    let iam = open(dir.path());
    let good = role(&iam, "IoTLoggingRole", &trust("iot.amazonaws.com"));
    let lambda = role(&iam, "LambdaRole", &trust("lambda.amazonaws.com"));
    let root = iam.root_arn().to_owned();
    let missing = format!("arn:aws:iam::{ACCOUNT}:role/Nope");

    // Root may pass any existing, trusting role.
    assert_eq!(
        iam.check_pass_role(&root, &good).map(|r| r.role_name),
        Ok("IoTLoggingRole".to_owned())
    );
    assert_eq!(
        iam.check_pass_role(&root, &missing),
        Err(PassRoleError::NoSuchRole {
            role_arn: missing.clone()
        })
    );
    assert_eq!(
        iam.check_pass_role(&root, &lambda),
        Err(PassRoleError::NotTrusted {
            role_arn: lambda.clone(),
            service: "iot.amazonaws.com".to_owned()
        })
    );
    let Err(e) = iam.check_pass_role(&root, "arn:aws:iam::999999999999:role/IoTLoggingRole") else {
        panic!("a role of another account is refused");
    };
    assert!(matches!(e, PassRoleError::InvalidRoleArn { .. }), "{e:?}");
    assert!(matches!(
        iam.check_pass_role(&root, "arn:aws:iam::123456789012:user/x"),
        Err(PassRoleError::InvalidRoleArn { .. })
    ));

    // A user needs iam:PassRole on the role, to IoT.
    let ops = iam.create_user("ops", None, NOW).expect("user").arn;
    assert_eq!(
        iam.check_pass_role(&ops, &good),
        Err(PassRoleError::NotAuthorized {
            caller_arn: ops.clone(),
            role_arn: good.clone()
        })
    );
    assert_eq!(
        iam.check_pass_role(&ops, &good)
            .map_err(|e| e.to_string())
            .err()
            .as_deref(),
        Some(
            "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/IoTLoggingRole"
        )
    );
    iam.put_user_policy(
        "ops",
        "pass",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:PassRole","Resource":"{good}",
               "Condition":{{"StringEquals":{{"iam:PassedToService":"iot.amazonaws.com"}}}}}}]}}"#
        ),
    )
    .expect("policy");
    assert!(iam.check_pass_role(&ops, &good).is_ok());
    // ... only to IoT, and only that role; a missing role is not revealed to a caller who
    // may not pass it.
    assert!(matches!(
        iam.check_pass_role_to(&ops, &good, "lambda.amazonaws.com"),
        Err(PassRoleError::NotAuthorized { .. })
    ));
    assert!(matches!(
        iam.check_pass_role(&ops, &missing),
        Err(PassRoleError::NotAuthorized { .. })
    ));
}

#[test]
fn builtin_logging_role_and_role_allows() {
    let dir = temp_dir();
    let iam = open(dir.path());
    let role = iam
        .ensure_builtin_logging_role(BUILTIN_LOGGING_ROLE_NAME, NOW)
        .expect("ensure")
        .expect("created on a fresh store");
    assert_eq!(
        role.arn,
        format!("arn:aws:iam::{ACCOUNT}:role/{BUILTIN_LOGGING_ROLE_NAME}")
    );
    assert_eq!(
        role.assume_role_policy_document,
        BUILTIN_LOGGING_TRUST_POLICY
    );
    let p = iam
        .get_role_policy(BUILTIN_LOGGING_ROLE_NAME, BUILTIN_LOGGING_POLICY_NAME)
        .expect("role policy");
    assert_eq!(p.document, builtin_logging_role_policy(REGION, ACCOUNT));
    assert!(iam.check_pass_role(iam.root_arn(), &role.arn).is_ok());

    let v2 = "AWSIotLogsV2";
    let table: &[(&str, String, bool)] = &[
        (
            "logs:PutLogEvents",
            log_stream_resource_arn(REGION, ACCOUNT, v2, "abc"),
            true,
        ),
        (
            "logs:CreateLogStream",
            log_group_resource_arn(REGION, ACCOUNT, v2),
            true,
        ),
        (
            "logs:CreateLogGroup",
            log_group_resource_arn(REGION, ACCOUNT, v2),
            true,
        ),
        (
            "logs:PutRetentionPolicy",
            log_group_resource_arn(REGION, ACCOUNT, v2),
            true,
        ),
        (
            "logs:DeleteLogGroup",
            log_group_resource_arn(REGION, ACCOUNT, v2),
            false,
        ),
        (
            "logs:PutLogEvents",
            log_stream_resource_arn(REGION, ACCOUNT, "custom", "abc"),
            false,
        ),
        (
            "logs:PutLogEvents",
            log_stream_resource_arn(REGION, ACCOUNT, "AWSIotLogs", "abc"),
            false,
        ),
        (
            "logs:PutLogEvents",
            log_stream_resource_arn("eu-west-1", ACCOUNT, v2, "abc"),
            false,
        ),
    ];
    for (action, resource, want) in table {
        assert_eq!(
            iam.role_allows(&role.arn, action, resource),
            *want,
            "{action} {resource}"
        );
    }
    assert!(iam.role_allows_log_delivery(&role.arn, v2));
    assert!(!iam.role_allows_log_delivery(&role.arn, "/aws/iot/connects"));
    assert!(!iam.role_allows(
        "arn:aws:iam::123456789012:role/Nope",
        "logs:PutLogEvents",
        "*"
    ));

    // Reads and decisions leave the epoch alone; writes move it.
    let epoch = iam.epoch();
    assert!(iam.role_allows_log_delivery(&role.arn, v2));
    assert!(iam.get_role(BUILTIN_LOGGING_ROLE_NAME).is_ok());
    assert_eq!(iam.epoch(), epoch);
    assert!(iam.delete_role("NoSuchRole").is_err());
    assert_eq!(iam.epoch(), epoch, "a failed write changes nothing");

    // A second call finds it; a role policy change is seen at once.
    let again = iam
        .ensure_builtin_logging_role(BUILTIN_LOGGING_ROLE_NAME, NOW + 1)
        .expect("ensure")
        .expect("still there");
    assert_eq!(again.role_id, role.role_id);
    iam.delete_role_policy(BUILTIN_LOGGING_ROLE_NAME, BUILTIN_LOGGING_POLICY_NAME)
        .expect("delete policy");
    assert!(iam.epoch() > epoch);
    assert!(!iam.role_allows_log_delivery(&role.arn, v2));
    // Deleting the built-in role is permanent, also across restarts.
    iam.delete_role(BUILTIN_LOGGING_ROLE_NAME)
        .expect("delete role");
    drop(iam);
    let iam = open(dir.path());
    assert_eq!(
        iam.ensure_builtin_logging_role(BUILTIN_LOGGING_ROLE_NAME, NOW)
            .expect("ensure"),
        None
    );
}

#[test]
fn credentials_for_sigv4() {
    let dir = temp_dir();
    let iam = open(dir.path());
    let root = iam.lookup(ROOT_AKID).expect("root key");
    assert_eq!(root.arn, format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(root.secret_access_key, ROOT_SECRET);
    assert!(iam.lookup("AKIAUNKNOWN000000000").is_none());

    iam.create_user("dev", Some("/team/"), NOW).expect("user");
    let key = iam.create_access_key("dev", NOW).expect("key");
    assert!(
        !format!("{key:?}").contains(&key.secret_access_key),
        "Debug never shows the secret"
    );
    let p = iam.lookup(&key.access_key_id).expect("active key");
    assert_eq!(p.arn, format!("arn:aws:iam::{ACCOUNT}:user/team/dev"));
    assert_eq!(p.user_name, "dev");
    assert_eq!(p.secret_access_key, key.secret_access_key);
    assert_eq!(p.account_id, ACCOUNT);

    iam.update_access_key("dev", &key.access_key_id, KeyStatus::Inactive)
        .expect("deactivate");
    assert!(
        iam.lookup(&key.access_key_id).is_none(),
        "inactive keys do not authenticate"
    );
    iam.update_access_key("dev", &key.access_key_id, KeyStatus::Active)
        .expect("reactivate");
    // Keys survive a restart.
    drop(iam);
    let iam = open(dir.path());
    assert_eq!(
        iam.lookup(&key.access_key_id).map(|p| p.arn),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/team/dev"))
    );
    assert!(matches!(
        iam.update_access_key("dev", "AKIAAAAAAAAAAAAAAAAA", KeyStatus::Inactive),
        Err(IamError::NoSuchEntity(_))
    ));
}

#[test]
fn quotas_and_policy_errors() {
    let dir = temp_dir();
    let iam = open(dir.path());
    iam.create_user("u", None, NOW).expect("user");
    // Each statement is ~100 non-whitespace characters; the user's inline policies may total
    // 2,048 (IAM quota), whitespace excluded.
    let statement = r#"{"Effect":"Allow","Action":"iot:DescribeThing","Resource":"arn:aws:iot:us-east-1:123456789012:thing/t"}"#;
    let doc = |n: usize| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            vec![statement; n].join(",\n    ")
        )
    };
    iam.put_user_policy("u", "a", &doc(10))
        .expect("first policy fits");
    let Err(e) = iam.put_user_policy("u", "b", &doc(10)) else {
        panic!("the aggregate exceeds 2,048 characters");
    };
    assert_eq!(
        e.to_string(),
        "Maximum policy size of 2048 bytes exceeded for user u"
    );
    assert!(matches!(e, IamError::LimitExceeded(_)));
    // Replacing a policy counts its new size only once.
    iam.put_user_policy("u", "A", &doc(19))
        .expect("replacement within the quota");
    assert_eq!(
        iam.list_user_policies("u").expect("list"),
        ["a"],
        "stored spelling kept"
    );

    let Err(e) = iam.put_user_policy("u", "p", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#) else {
        panic!("identity policies have no Principal");
    };
    assert_eq!(
        e.to_string(),
        "Policy document should not specify a principal."
    );
    assert!(matches!(e, IamError::MalformedPolicyDocument(_)));

    for n in 0..2 {
        iam.create_access_key("u", NOW + n).expect("key");
    }
    assert!(matches!(
        iam.create_access_key("u", NOW),
        Err(IamError::LimitExceeded(_))
    ));
    assert!(matches!(
        iam.create_user("u/x", None, NOW),
        Err(IamError::Validation(_))
    ));
}
