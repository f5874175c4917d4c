//! The unchanged AWS CLI against the `iam` and `sts` services: create a user, an access key,
//! a role with the IoT trust policy and its permissions policy (as the AWS IoT guide's "Create
//! a logging role" steps do), read them back (botocore URL-decodes and parses the policy
//! documents), authenticate with the new key, and print an IAM error the CLI way.
//!
//! Needs `aws` on PATH (CLI v1 or v2); without it the test says so and checks nothing.

mod common;

use std::process::Command;

use common::{ACCOUNT, ROOT_AKID, ROOT_SECRET, Server};
use serde_json::{Value, json};
use thingwatch_test_support::temp_dir;

struct Cli {
    endpoint: String,
    home: tempfile::TempDir,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Cli {
    /// Runs `aws ARGS --endpoint-url … --output json` with `creds`, isolated from any local
    /// AWS configuration.
    fn run(&self, creds: (&str, &str), args: &[&str]) -> Out {
        let out = Command::new("aws")
            .args(args)
            .args(["--endpoint-url", &self.endpoint, "--output", "json"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("AWS_CONFIG_FILE", self.home.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.home.path().join("credentials"),
            )
            .env("AWS_ACCESS_KEY_ID", creds.0)
            .env("AWS_SECRET_ACCESS_KEY", creds.1)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_PAGER", "")
            .output()
            .expect("run aws");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn json(&self, creds: (&str, &str), args: &[&str]) -> Value {
        let out = self.run(creds, args);
        assert_eq!(out.code, 0, "aws {args:?}: {}", out.stderr);
        if out.stdout.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("aws {args:?}: not JSON ({e}): {}", out.stdout))
    }
}

fn aws_installed() -> bool {
    Command::new("aws")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_sets_up_a_logging_role_and_a_user() {
    if !aws_installed() {
        eprintln!("aws CLI not installed: skipping the AWS CLI checks");
        return;
    }
    let s = Server::start().await;
    let cli = Cli {
        endpoint: format!("http://{}", s.addr()),
        home: temp_dir(),
    };
    let root = (ROOT_AKID, ROOT_SECRET);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let perms = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                   "logs:PutMetricFilter", "logs:PutRetentionPolicy"],
        "Resource": [format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:AWSIotLogsV2:*")]}]});
    let (trust_s, perms_s) = (trust.to_string(), perms.to_string());

    let cli = std::sync::Arc::new(cli);
    let c = cli.clone();
    let (created, policy, user, key, whoami, err) = tokio::task::spawn_blocking(move || {
        let created = c.json(
            root,
            &[
                "iam",
                "create-role",
                "--role-name",
                "IoTLoggingRole",
                "--assume-role-policy-document",
                &trust_s,
            ],
        );
        c.json(
            root,
            &[
                "iam",
                "put-role-policy",
                "--role-name",
                "IoTLoggingRole",
                "--policy-name",
                "IoTLoggingPolicy",
                "--policy-document",
                &perms_s,
            ],
        );
        let policy = c.json(
            root,
            &[
                "iam",
                "get-role-policy",
                "--role-name",
                "IoTLoggingRole",
                "--policy-name",
                "IoTLoggingPolicy",
            ],
        );
        let user = c.json(root, &["iam", "create-user", "--user-name", "cli-user"]);
        let key = c.json(
            root,
            &["iam", "create-access-key", "--user-name", "cli-user"],
        );
        let akid = key["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let secret = key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let whoami = c.json((&akid, &secret), &["sts", "get-caller-identity"]);
        let err = c.run(root, &["iam", "get-user", "--user-name", "nobody"]);
        (created, policy, user, key, whoami, err)
    })
    .await
    .expect("cli thread");

    assert_eq!(
        created["Role"]["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:role/IoTLoggingRole")
    );
    assert_eq!(
        created["Role"]["AssumeRolePolicyDocument"], trust,
        "botocore URL-decodes and parses the trust policy"
    );
    assert_eq!(policy["PolicyDocument"], perms);
    assert_eq!(policy["RoleName"], "IoTLoggingRole");
    assert_eq!(user["User"]["UserName"], "cli-user");
    assert_eq!(key["AccessKey"]["Status"], "Active");
    assert_eq!(
        whoami["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/cli-user")
    );
    assert_eq!(whoami["Account"], ACCOUNT);
    assert_eq!(err.code, 255, "{}", err.stderr);
    assert!(
        err.stderr.contains(
            "An error occurred (NoSuchEntity) when calling the GetUser operation: The user with name nobody cannot be found."
        ),
        "{}",
        err.stderr
    );
    // What the CLI created is what the server decides with.
    let role = format!("arn:aws:iam::{ACCOUNT}:role/IoTLoggingRole");
    assert!(s.iam.check_pass_role(s.iam.root_arn(), &role).is_ok());
    assert!(s.iam.role_allows_log_delivery(&role, "AWSIotLogsV2"));
    s.stop().await;
}
