//! Malformed documents and size limits: every row is parsed through the public API and the
//! resulting error (variant, IAM message, AWS IoT message) is snapshotted with `expect-test`.
//! Sources are named per row; messages follow `src/error.rs`.

use expect_test::expect;
use thingwatch_policy::limits::{self, policy_size_chars};
use thingwatch_policy::{PolicyDocument, PolicyError, PolicyKind};

use PolicyKind::{IamIdentity, IamTrust, IotPolicy};

/// (source / reason, kind, document)
const ROWS: &[(&str, PolicyKind, &str)] = &[
    ("CreatePolicy: minimum length 1", IotPolicy, "   "),
    (
        "not JSON",
        IotPolicy,
        r#"{"Version": "2012-10-17", "Statement": ["#,
    ),
    ("not an object", IamIdentity, r#"["Statement"]"#),
    (
        "unknown top-level element",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statment":[]}"#,
    ),
    (
        "Version element: only 2012-10-17 / 2008-10-17",
        IamIdentity,
        r#"{"Version":"2012-10-18","Statement":[]}"#,
    ),
    ("no Statement", IotPolicy, r#"{"Version":"2012-10-17"}"#),
    (
        "Statement is a string",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":"x"}"#,
    ),
    (
        "unknown statement element",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Resources":"*"}]}"#,
    ),
    (
        "Effect element: Allow or Deny (case-sensitive)",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"iot:*","Resource":"*"}]}"#,
    ),
    (
        "no Effect",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Action":"iot:*","Resource":"*"}]}"#,
    ),
    (
        "no Action",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
    ),
    (
        "empty Action list",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
    ),
    (
        "Action and NotAction together",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","NotAction":"iot:Connect","Resource":"*"}]}"#,
    ),
    (
        "action without a vendor prefix",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"Publish","Resource":"*"}]}"#,
    ),
    (
        "action is a number",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}"#,
    ),
    (
        "no Resource in an identity policy",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*"}]}"#,
    ),
    (
        "no Resource in an IoT policy",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*"}]}"#,
    ),
    (
        "resource not an ARN (IoT console: 'The following resources are invalid')",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"\\"}]}"#,
    ),
    (
        "resource not an ARN (IAM)",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"IoTLoggingRole"}]}"#,
    ),
    (
        "Resource and NotResource together",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","NotResource":"*"}]}"#,
    ),
    (
        "Principal in an IoT policy",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iot:*","Resource":"*"}]}"#,
    ),
    (
        "Principal in an identity policy",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"iot:*","Resource":"*"}]}"#,
    ),
    (
        "trust policy without Principal",
        IamTrust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#,
    ),
    (
        "trust policy with Resource",
        IamTrust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}]}"#,
    ),
    (
        "unknown principal type",
        IamTrust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"sts:AssumeRole"}]}"#,
    ),
    (
        "AWS principal neither account, ARN nor *",
        IamTrust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"sts:AssumeRole"}]}"#,
    ),
    (
        "Principal and NotPrincipal together",
        IamTrust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"sts:AssumeRole"}]}"#,
    ),
    (
        "IAM Sid must be alphanumeric",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"allow-all","Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "IAM Sids must be unique",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "unknown condition operator",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}]}"#,
    ),
    (
        "Null has no IfExists form",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"k":"true"}}}]}"#,
    ),
    (
        "numeric value is not a number",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"NumericLessThan":{"n":"ten"}}}]}"#,
    ),
    (
        "bad CIDR block",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/40"}}}]}"#,
    ),
    (
        "bad date",
        IamIdentity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}]}"#,
    ),
    (
        "Bool value other than true/false",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"yes"}}}]}"#,
    ),
    (
        "condition values must be scalars",
        IotPolicy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*","Condition":{"StringEquals":{"k":{"nested":1}}}}]}"#,
    ),
    (
        "IAM quotas: policy characters U+0009, U+000A, U+000D, U+0020-U+00FF only",
        IamIdentity,
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:s3:::\u{0100}\"}]}",
    ),
];

/// The variant, then the message each service would answer with.
fn describe(e: &PolicyError) -> String {
    format!(
        "{e:?}\n    IAM: {}\n    IoT: {}",
        e.aws_message(IamIdentity),
        e.aws_message(IotPolicy)
    )
}

#[test]
fn malformed_documents() {
    let mut out = String::new();
    for (what, kind, json) in ROWS {
        let line = match PolicyDocument::parse(json, *kind) {
            Ok(_) => format!("{what} [{kind:?}]: ACCEPTED\n"),
            Err(e) => format!("{what} [{kind:?}]: {}\n", describe(&e)),
        };
        out.push_str(&line);
    }
    expect![[r#"
        CreatePolicy: minimum length 1 [IotPolicy]: Empty
            IAM: Policy document must not be empty.
            IoT: Policy document is Malformed: Policy document must not be empty.
        not JSON [IotPolicy]: Syntax { detail: "EOF while parsing a list at line 1 column 40" }
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        not an object [IamIdentity]: Syntax { detail: "a policy document must be a JSON object" }
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        unknown top-level element [IotPolicy]: UnknownElement("Statment")
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        Version element: only 2012-10-17 / 2008-10-17 [IamIdentity]: InvalidVersion("2012-10-18")
            IAM: The policy failed legacy parsing
            IoT: Policy document is Malformed: The policy failed legacy parsing
        no Statement [IotPolicy]: MissingStatement
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        Statement is a string [IotPolicy]: Syntax { detail: "Statement must be an object or an array of objects" }
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        unknown statement element [IotPolicy]: UnknownElement("Resources")
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        Effect element: Allow or Deny (case-sensitive) [IotPolicy]: InvalidEffect("allow")
            IAM: Invalid effect: allow
            IoT: Policy document is Malformed: Invalid effect: allow
        no Effect [IamIdentity]: MissingEffect
            IAM: Missing required field Effect
            IoT: Policy document is Malformed: Missing required field Effect
        no Action [IotPolicy]: MissingAction
            IAM: Policy statement must contain actions.
            IoT: Policy document is Malformed: Policy statement must contain actions.
        empty Action list [IamIdentity]: MissingAction
            IAM: Policy statement must contain actions.
            IoT: Policy document is Malformed: Policy statement must contain actions.
        Action and NotAction together [IotPolicy]: Conflicting("Action", "NotAction")
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        action without a vendor prefix [IamIdentity]: InvalidAction("Publish")
            IAM: Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.
            IoT: Policy document is Malformed: Invalid policy syntax.
        action is a number [IotPolicy]: Syntax { detail: "Action must be a string or an array of strings" }
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        no Resource in an identity policy [IamIdentity]: MissingResource
            IAM: Policy statement must contain resources.
            IoT: Policy document is Malformed: Policy statement must contain resources.
        no Resource in an IoT policy [IotPolicy]: MissingResource
            IAM: Policy statement must contain resources.
            IoT: Policy document is Malformed: Policy statement must contain resources.
        resource not an ARN (IoT console: 'The following resources are invalid') [IotPolicy]: InvalidResource("\\")
            IAM: Resource \ must be in ARN format or "*".
            IoT: Policy document is Malformed: The following resources are invalid : \
        resource not an ARN (IAM) [IamIdentity]: InvalidResource("IoTLoggingRole")
            IAM: Resource IoTLoggingRole must be in ARN format or "*".
            IoT: Policy document is Malformed: The following resources are invalid : IoTLoggingRole
        Resource and NotResource together [IamIdentity]: Conflicting("Resource", "NotResource")
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        Principal in an IoT policy [IotPolicy]: PrincipalNotAllowed
            IAM: Policy document should not specify a principal.
            IoT: Policy document is Malformed: Policy document should not specify a principal.
        Principal in an identity policy [IamIdentity]: PrincipalNotAllowed
            IAM: Policy document should not specify a principal.
            IoT: Policy document is Malformed: Policy document should not specify a principal.
        trust policy without Principal [IamTrust]: MissingPrincipal
            IAM: Missing required field Principal
            IoT: Policy document is Malformed: Missing required field Principal
        trust policy with Resource [IamTrust]: Prohibited("Resource")
            IAM: Has prohibited field Resource
            IoT: Policy document is Malformed: Has prohibited field Resource
        unknown principal type [IamTrust]: InvalidPrincipal("{\"Robot\":\"x\"}")
            IAM: Invalid principal in policy: {"Robot":"x"}
            IoT: Policy document is Malformed: Invalid principal in policy: {"Robot":"x"}
        AWS principal neither account, ARN nor * [IamTrust]: InvalidPrincipal("{\"AWS\":\"alice\"}")
            IAM: Invalid principal in policy: {"AWS":"alice"}
            IoT: Policy document is Malformed: Invalid principal in policy: {"AWS":"alice"}
        Principal and NotPrincipal together [IamTrust]: Conflicting("Principal", "NotPrincipal")
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        IAM Sid must be alphanumeric [IamIdentity]: InvalidSid("allow-all")
            IAM: Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*
            IoT: Policy document is Malformed: Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*
        IAM Sids must be unique [IamIdentity]: DuplicateSid("A")
            IAM: Statement IDs (SID) in a single policy must be unique.
            IoT: Policy document is Malformed: Statement IDs (SID) in a single policy must be unique.
        unknown condition operator [IotPolicy]: UnknownConditionOperator("StringEqualz")
            IAM: Invalid Condition type : StringEqualz
            IoT: Policy document is Malformed: Invalid Condition type : StringEqualz
        Null has no IfExists form [IamIdentity]: UnknownConditionOperator("NullIfExists")
            IAM: Invalid Condition type : NullIfExists
            IoT: Policy document is Malformed: Invalid Condition type : NullIfExists
        numeric value is not a number [IotPolicy]: InvalidConditionValue { operator: "NumericLessThan", key: "n", value: "ten" }
            IAM: Invalid value for condition NumericLessThan on key n: ten
            IoT: Policy document is Malformed: Invalid value for condition NumericLessThan on key n: ten
        bad CIDR block [IamIdentity]: InvalidConditionValue { operator: "IpAddress", key: "aws:SourceIp", value: "10.0.0.0/40" }
            IAM: Invalid value for condition IpAddress on key aws:SourceIp: 10.0.0.0/40
            IoT: Policy document is Malformed: Invalid value for condition IpAddress on key aws:SourceIp: 10.0.0.0/40
        bad date [IamIdentity]: InvalidConditionValue { operator: "DateLessThan", key: "aws:CurrentTime", value: "yesterday" }
            IAM: Invalid value for condition DateLessThan on key aws:CurrentTime: yesterday
            IoT: Policy document is Malformed: Invalid value for condition DateLessThan on key aws:CurrentTime: yesterday
        Bool value other than true/false [IotPolicy]: InvalidConditionValue { operator: "Bool", key: "iot:Connection.Thing.IsAttached", value: "yes" }
            IAM: Invalid value for condition Bool on key iot:Connection.Thing.IsAttached: yes
            IoT: Policy document is Malformed: Invalid value for condition Bool on key iot:Connection.Thing.IsAttached: yes
        condition values must be scalars [IotPolicy]: Syntax { detail: "Condition values for k must be scalars" }
            IAM: Syntax errors in policy.
            IoT: Policy document is Malformed: Invalid policy syntax.
        IAM quotas: policy characters U+0009, U+000A, U+000D, U+0020-U+00FF only [IamIdentity]: InvalidCharacter('Ā')
            IAM: Policy document contains an invalid character: U+0100
            IoT: Policy document is Malformed: Policy document contains an invalid character: U+0100
    "#]]
    .assert_eq(&out);
}

/// A document of exactly `size` non-whitespace characters, padded inside a `Sid` (letters only,
/// so it is valid for every kind), plus `spaces` whitespace characters that must not count.
fn sized(kind: PolicyKind, size: usize, spaces: usize) -> String {
    let body = match kind {
        IamTrust => {
            r#""Effect":"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole""#
        }
        _ => r#""Effect":"Allow","Action":"iot:Connect","Resource":"*""#,
    };
    let make = |sid: &str| {
        format!(
            r#"{{"Version":"2012-10-17",{pad}"Statement":[{{"Sid":"{sid}",{body}}}]}}"#,
            pad = " ".repeat(spaces)
        )
    };
    let base = policy_size_chars(&make(""));
    assert!(
        size >= base,
        "requested size {size} below the minimum {base}"
    );
    let doc = make(&"a".repeat(size - base));
    assert_eq!(policy_size_chars(&doc), size);
    doc
}

#[test]
fn size_limits_exclude_whitespace() {
    // (kind, limit, source)
    let rows = [
        (
            IotPolicy,
            limits::IOT_POLICY_MAX_CHARS,
            "IoT CreatePolicy policyDocument",
        ),
        (
            IamTrust,
            limits::IAM_TRUST_POLICY_MAX_CHARS,
            "IAM quotas: role trust policy length",
        ),
        (
            IamIdentity,
            limits::IAM_ROLE_INLINE_AGGREGATE_MAX_CHARS,
            "IAM quotas: role inline policies",
        ),
    ];
    for (kind, max, source) in rows {
        assert_eq!(kind.max_document_chars(), max, "{source}");
        // At the limit, even with lots of whitespace: accepted.
        let at = sized(kind, max, 5000);
        match PolicyDocument::parse(&at, kind) {
            Ok(doc) => assert_eq!(doc.size_chars(), max, "{source}"),
            Err(e) => panic!("{source}: a document of exactly {max} chars must parse: {e:?}"),
        }
        // One over: rejected with the counts.
        let over = sized(kind, max + 1, 0);
        assert_eq!(
            PolicyDocument::parse(&over, kind).err(),
            Some(PolicyError::TooLarge {
                chars: max + 1,
                max
            }),
            "{source}"
        );
    }
    // The documented numbers themselves (IAM User Guide, "IAM and AWS STS quotas"; AWS IoT API
    // Reference, CreatePolicy).
    assert_eq!(
        [
            limits::IOT_POLICY_MAX_CHARS,
            limits::IAM_USER_INLINE_AGGREGATE_MAX_CHARS,
            limits::IAM_GROUP_INLINE_AGGREGATE_MAX_CHARS,
            limits::IAM_ROLE_INLINE_AGGREGATE_MAX_CHARS,
            limits::IAM_MANAGED_POLICY_MAX_CHARS,
            limits::IAM_TRUST_POLICY_MAX_CHARS,
        ],
        [2048, 2048, 5120, 10240, 6144, 2048]
    );
}

#[test]
fn aggregate_inline_policy_size() {
    // IAM quotas: all inline policies of one user together at most 2,048 characters.
    let one = sized(IamIdentity, 1000, 40);
    let doc = match PolicyDocument::parse(&one, IamIdentity) {
        Ok(d) => d,
        Err(e) => panic!("1000-char identity policy must parse: {e:?}"),
    };
    let max = limits::IAM_USER_INLINE_AGGREGATE_MAX_CHARS;
    assert_eq!(limits::check_size(2 * doc.size_chars(), max), Ok(()));
    assert_eq!(
        limits::check_size(3 * doc.size_chars(), max),
        Err(PolicyError::TooLarge { chars: 3000, max })
    );
}

#[test]
fn iot_policies_accept_unicode_topics_iam_does_not() {
    let json = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/température/ü"}]}"#;
    assert!(PolicyDocument::parse(json, IotPolicy).is_ok());
    // 'é' and 'ü' are within U+0020–U+00FF, so IAM accepts them too; U+20AC is outside.
    assert!(PolicyDocument::parse(json, IamIdentity).is_ok());
    let euro = json.replace('ü', "€");
    assert_eq!(
        PolicyDocument::parse(&euro, IamIdentity).err(),
        Some(PolicyError::InvalidCharacter('€'))
    );
    assert!(PolicyDocument::parse(&euro, IotPolicy).is_ok());
}

#[test]
fn well_formed_variants_are_accepted() {
    // Shapes the grammar allows: single Statement object, string-or-array everywhere, Id,
    // absent Version, 2008 version, empty Statement array, JSON booleans/numbers in
    // conditions, IfExists and set operators, account-ID principals.
    let rows: &[(PolicyKind, &str)] = &[
        (
            IotPolicy,
            r#"{"Statement":{"Effect":"Allow","Action":"iot:*","Resource":"*"}}"#,
        ),
        (
            IotPolicy,
            r#"{"Version":"2008-10-17","Id":"p1","Statement":[]}"#,
        ),
        (
            IamIdentity,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Deny","NotAction":["iam:*"],"NotResource":["arn:aws:iam::123456789012:role/*"],"Condition":{"Bool":{"aws:MultiFactorAuthPresent":false},"NumericLessThanIfExists":{"n":3},"ForAllValues:StringLike":{"aws:TagKeys":["a*"]}}}]}"#,
        ),
        (
            IamTrust,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","*"],"Service":["iot.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#,
        ),
    ];
    for (kind, json) in rows {
        if let Err(e) = PolicyDocument::parse(json, *kind) {
            panic!("{kind:?} must accept {json}: {e:?}");
        }
    }
}
