//! Measures the IAM decision API the server calls per request — `authorize` for a user with a
//! 10-statement identity policy (an allowed action, an explicitly denied one, and one no
//! statement allows), the SigV4 credential lookup, `check_pass_role` and
//! `role_allows_log_delivery` — and the cost of a write (SQLite commit + snapshot rebuild) as
//! the store grows.
//!
//! Run: `cargo run -p thingwatch-iam --release --example iam_bench [iterations]`.

use std::hint::black_box;
use std::time::Instant;

use thingwatch_aws::CredentialProvider;
use thingwatch_iam::{BUILTIN_LOGGING_ROLE_NAME, Iam, IamSettings};

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:SetV2LoggingOptions", "iot:GetV2LoggingOptions"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["iot:SetV2LoggingLevel", "iot:ListV2LoggingLevels"], "Resource": "*"},
    {"Effect": "Deny", "Action": "iot:DeleteV2LoggingLevel", "Resource": "*"},
    {"Effect": "Allow", "Action": "iot:*Thing", "Resource": "arn:aws:iot:us-east-1:123456789012:thing/${aws:username}-*"},
    {"Effect": "Allow", "Action": "iot:DescribeEndpoint", "Resource": "*",
     "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}}},
    {"Effect": "Allow", "Action": "logs:FilterLogEvents", "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2:*"},
    {"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:AWSIotLogsV2:*"},
    {"Effect": "Allow", "Action": "iam:*AccessKey*", "Resource": "arn:aws:iam::123456789012:user/${aws:username}"},
    {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/ThingwatchLoggingRole",
     "Condition": {"StringEquals": {"iam:PassedToService": "iot.amazonaws.com"}}},
    {"Effect": "Deny", "Action": "iam:*", "Resource": "arn:aws:iam::123456789012:user/admin-*"}
  ]
}"#;

/// (name, action, resource, context)
type Case<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);

fn time_ns(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir()?;
    let iam = Iam::open(
        dir.path(),
        IamSettings {
            account_id: "123456789012".to_owned(),
            region: "us-east-1".to_owned(),
            root_access_key_id: "AKIDEXAMPLE".to_owned(),
            root_secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
        },
    )?;
    let role = iam
        .ensure_builtin_logging_role(BUILTIN_LOGGING_ROLE_NAME, 0)?
        .ok_or("built-in role")?;
    let user = iam.create_user("ops", None, 0)?;
    iam.put_user_policy("ops", "ops", POLICY)?;
    let key = iam.create_access_key("ops", 0)?;

    println!("iterations per case: {iterations}");
    let cases: [Case<'_>; 4] = [
        (
            "authorize allow (statement 1)",
            "iot:SetV2LoggingOptions",
            "*",
            &[],
        ),
        (
            "authorize allow (variable + IP condition)",
            "iot:DescribeEndpoint",
            "*",
            &[("aws:SourceIp", "10.1.2.3")],
        ),
        (
            "authorize explicit deny",
            "iot:DeleteV2LoggingLevel",
            "*",
            &[],
        ),
        (
            "authorize implicit deny (scans all)",
            "iot:CreateTopicRule",
            "arn:aws:iot:us-east-1:123456789012:rule/r",
            &[],
        ),
    ];
    for (name, action, resource, ctx) in cases {
        let ns = time_ns(iterations, || {
            black_box(iam.authorize(black_box(&user.arn), action, resource, ctx));
        });
        println!("{name:<45} {ns:>8.0} ns");
    }
    let ns = time_ns(iterations, || {
        black_box(iam.lookup(black_box(&key.access_key_id)));
    });
    println!("{:<45} {ns:>8.0} ns", "credential lookup (user key)");
    let ns = time_ns(iterations, || {
        black_box(iam.check_pass_role(black_box(&user.arn), &role.arn).is_ok());
    });
    println!("{:<45} {ns:>8.0} ns", "check_pass_role (user, allowed)");
    let ns = time_ns(iterations, || {
        black_box(iam.role_allows_log_delivery(black_box(&role.arn), "AWSIotLogsV2"));
    });
    println!("{:<45} {ns:>8.0} ns", "role_allows_log_delivery (3 checks)");

    // Writes: commit + snapshot rebuild, as the store grows.
    for target in [100usize, 1000] {
        let existing = iam.list_users(None).len();
        for i in existing..target {
            iam.create_user(&format!("user-{i:05}"), None, 0)?;
            iam.put_user_policy(&format!("user-{i:05}"), "p", POLICY)?;
        }
        let writes = 20;
        let start = Instant::now();
        for i in 0..writes {
            iam.create_user(&format!("probe-{target}-{i}"), None, 0)?;
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(writes);
        println!(
            "{:<45} {ms:>8.2} ms",
            format!("create_user with {target} users + policies")
        );
    }
    Ok(())
}
