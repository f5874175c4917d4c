//! IAM for the control plane end to end: the root user creates an IAM user and access key
//! with the `iam` API (awsQuery, SigV4-signed), the user's calls are allowed or denied by
//! its identity policies (`AccessDeniedException`), and passing the logging role to AWS IoT
//! needs `iam:PassRole`.

mod common;

use common::{Credentials, Request, Response, Server, temp_dir};
use serde_json::json;

/// One `iam` call with form parameters, signed with (`key`, `secret`).
async fn iam(server: &Server, key: &str, secret: &str, params: &[(&str, &str)]) -> Response {
    let mut form = vec![("Version", "2010-05-08")];
    form.extend_from_slice(params);
    server
        .aws
        .send(Request::query("iam", &form).signed_with(Credentials::new(key, secret)))
        .await
}

fn xml_field(body: &[u8], tag: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let open = format!("<{tag}>");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {text}"))
        + open.len();
    let end = text[start..].find(&format!("</{tag}>")).unwrap() + start;
    text[start..end].to_owned()
}

async fn iot_as(
    server: &Server,
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Response {
    server
        .aws
        .send(
            Request::rest_json("iot", method, path, body.as_ref())
                .signed_with(Credentials::new(key, secret)),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_policies_decide_api_calls_and_pass_role() {
    let dir = temp_dir();
    let server = Server::start(dir.path(), &[], &[]);
    let (root_key, root_secret) = (
        server.access_key_id.clone(),
        server.secret_access_key.clone(),
    );
    let r = iam(
        &server,
        &root_key,
        &root_secret,
        &[("Action", "CreateUser"), ("UserName", "bob")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let bob_arn = xml_field(&r.body, "Arn");
    assert_eq!(bob_arn, "arn:aws:iam::123456789012:user/bob");
    let r = iam(
        &server,
        &root_key,
        &root_secret,
        &[("Action", "CreateAccessKey"), ("UserName", "bob")],
    )
    .await;
    assert_eq!(r.status, 200);
    let key = xml_field(&r.body, "AccessKeyId");
    let secret = xml_field(&r.body, "SecretAccessKey");

    // No policy: every call is denied with IAM's message.
    let r = iot_as(&server, &key, &secret, "GET", "/things", None).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_type(), Some("AccessDeniedException"));
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(
            "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iot:ListThings"
        ),
        "{message}"
    );

    // An identity policy allows the IoT calls; an explicit Deny wins for DeleteThing.
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iot:*", "logs:FilterLogEvents"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iot:DeleteThing", "Resource": "*"}
        ]
    })
    .to_string();
    let r = iam(
        &server,
        &root_key,
        &root_secret,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "bob"),
            ("PolicyName", "iot-ops"),
            ("PolicyDocument", &policy),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = iot_as(
        &server,
        &key,
        &secret,
        "POST",
        "/things/pump-7",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = iot_as(&server, &key, &secret, "GET", "/things", None).await;
    assert_eq!(r.status, 200);
    let r = iot_as(&server, &key, &secret, "DELETE", "/things/pump-7", None).await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("explicit deny")
    );
    // iam itself is not in bob's policy.
    let r = iam(&server, &key, &secret, &[("Action", "ListUsers")]).await;
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));

    // Passing the built-in logging role needs iam:PassRole …
    let role = "arn:aws:iam::123456789012:role/ThingwatchLoggingRole";
    let set = json!({"roleArn": role, "defaultLogLevel": "INFO"});
    let r = iot_as(
        &server,
        &key,
        &secret,
        "POST",
        "/v2LoggingOptions",
        Some(set.clone()),
    )
    .await;
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.error_type(), Some("AccessDeniedException"));
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("iam:PassRole")
    );
    let pass = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": role}]
    })
    .to_string();
    let r = iam(
        &server,
        &root_key,
        &root_secret,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "bob"),
            ("PolicyName", "pass"),
            ("PolicyDocument", &pass),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    let r = iot_as(
        &server,
        &key,
        &secret,
        "POST",
        "/v2LoggingOptions",
        Some(set),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // … and a role that exists and trusts iot.amazonaws.com.
    let r = iot_as(
        &server,
        &root_key,
        &root_secret,
        "POST",
        "/v2LoggingOptions",
        Some(
            json!({"roleArn": "arn:aws:iam::123456789012:role/Missing", "defaultLogLevel": "INFO"}),
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), Some("InvalidRequestException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_delivery_follows_the_logging_roles_permissions() {
    use common::mqtt_from;
    let dir = temp_dir();
    let server = Server::start(dir.path(), &["--default-log-level", "INFO"], &[]);
    let (root_key, root_secret) = (
        server.access_key_id.clone(),
        server.secret_access_key.clone(),
    );
    let loopback = "127.0.0.1".parse().unwrap();
    let published = |client: &'static str| {
        format!(r#"{{ $.eventType = "Publish-In" && $.clientId = "{client}" }}"#)
    };

    // The built-in role allows AWSIotLogsV2: entries arrive.
    let mut c = mqtt_from(loopback, server.mqtt, "allowed-1").await;
    c.publish_qos1("dt/a", b"1", 1).await;
    c.disconnect().await;
    assert_eq!(
        server
            .wait_for_events(&published("allowed-1"), 1)
            .await
            .len(),
        1
    );

    // Without its permissions policy, delivery stops.
    let r = iam(
        &server,
        &root_key,
        &root_secret,
        &[
            ("Action", "DeleteRolePolicy"),
            ("RoleName", "ThingwatchLoggingRole"),
            ("PolicyName", "ThingwatchLoggingPolicy"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let mut c = mqtt_from(loopback, server.mqtt, "denied-1").await;
    c.publish_qos1("dt/a", b"1", 1).await;
    c.disconnect().await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(server.filter_all(&published("denied-1")).await.is_empty());

    // A policy allowing the logs actions on the group brings delivery back.
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "arn:aws:logs:*:*:log-group:AWSIotLogsV2:*"}]
    })
    .to_string();
    let r = iam(
        &server,
        &root_key,
        &root_secret,
        &[
            ("Action", "PutRolePolicy"),
            ("RoleName", "ThingwatchLoggingRole"),
            ("PolicyName", "again"),
            ("PolicyDocument", &policy),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    let mut c = mqtt_from(loopback, server.mqtt, "allowed-2").await;
    c.publish_qos1("dt/a", b"1", 1).await;
    c.disconnect().await;
    assert_eq!(
        server
            .wait_for_events(&published("allowed-2"), 1)
            .await
            .len(),
        1
    );
}
