//! Measures nanoseconds per evaluation of a realistic 10-statement AWS IoT device policy
//! (thing-name and client-ID variables, a condition, two denies) for the broker's hot-path
//! questions: Connect, Publish, Subscribe, Receive, and a publish no statement allows (which
//! scans every statement). Also reports the one-off parse + compile cost.
//!
//! Run: `cargo run -p thingwatch-policy --release --example policy_bench [iterations]`.

use std::hint::black_box;
use std::time::Instant;

use thingwatch_policy::iot::{self, IotResource};
use thingwatch_policy::{Decision, PolicyDocument, PolicyKind, Request, evaluate};

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "iot:Connect",
     "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"},
    {"Effect": "Allow", "Action": "iot:Publish",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"},
    {"Effect": "Allow", "Action": "iot:Subscribe",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"},
    {"Effect": "Allow", "Action": "iot:Receive",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"},
    {"Effect": "Allow", "Action": "iot:Publish",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/telemetry/${iot:ClientId}/*"},
    {"Effect": "Allow", "Action": "iot:Subscribe",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/commands/${iot:ClientId}/#"},
    {"Effect": "Allow", "Action": "iot:Receive",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/commands/${iot:ClientId}/*"},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/broadcast/*",
     "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}},
    {"Effect": "Deny", "Action": "iot:Publish",
     "Resource": "arn:aws:iot:us-east-1:123456789012:topic/telemetry/*/admin*"},
    {"Effect": "Deny", "Action": "iot:Connect",
     "Resource": "arn:aws:iot:us-east-1:123456789012:client/blocked-*"}
  ]
}"#;

fn request(action: &str, resource: IotResource, name: &str) -> Request {
    Request::new(action, resource.arn("us-east-1", "123456789012", name))
        .with(iot::KEY_CLIENT_ID, "sensor-42")
        .with(iot::KEY_THING_NAME, "sensor-42")
        .with(iot::KEY_THING_IS_ATTACHED, "true")
        .with(iot::KEY_SOURCE_IP, "203.0.113.7")
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);

    let parse_iters = iterations / 100;
    let start = Instant::now();
    for _ in 0..parse_iters {
        black_box(PolicyDocument::parse(black_box(POLICY), PolicyKind::IotPolicy).is_ok());
    }
    let parse_ns = start.elapsed().as_nanos() as f64 / f64::from(parse_iters.max(1));
    let doc = match PolicyDocument::parse(POLICY, PolicyKind::IotPolicy) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bench policy does not parse: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "policy: {} statements, {} chars; parse+compile {:.0} ns",
        doc.statement_count(),
        doc.size_chars(),
        parse_ns
    );

    let cases = [
        (
            "Connect",
            request(iot::ACTION_CONNECT, IotResource::Client, "sensor-42"),
            Decision::Allow,
        ),
        (
            "Publish",
            request(
                iot::ACTION_PUBLISH,
                IotResource::Topic,
                "telemetry/sensor-42/temp",
            ),
            Decision::Allow,
        ),
        (
            "Subscribe",
            request(
                iot::ACTION_SUBSCRIBE,
                IotResource::TopicFilter,
                "commands/sensor-42/#",
            ),
            Decision::Allow,
        ),
        (
            "Receive",
            request(iot::ACTION_RECEIVE, IotResource::Topic, "broadcast/news"),
            Decision::Allow,
        ),
        (
            "Publish (denied, full scan)",
            request(iot::ACTION_PUBLISH, IotResource::Topic, "somewhere/else"),
            Decision::ImplicitDeny,
        ),
    ];
    for (name, req, want) in &cases {
        let got = evaluate([&doc], req);
        if got != *want {
            eprintln!("{name}: expected {want:?}, got {got:?}");
            std::process::exit(1);
        }
        let start = Instant::now();
        for _ in 0..iterations {
            black_box(evaluate([black_box(&doc)], black_box(req)));
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
        println!("{name:<28} {ns:>8.1} ns/evaluation  ({want:?})");
    }
}
