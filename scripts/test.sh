#!/usr/bin/env bash
# The project's test command (README "Run the tests"):
#   1. format and lint gates,
#   2. every crate's tests (real MQTT clients, SigV4-signed HTTP, kill -9 durability),
#   3. the README quickstart, step by step, with mosquitto clients and the AWS CLI against
#      the release binary,
#   4. the logging-configuration scenario (AWS IoT API + levels) the same way,
#   5. the Device Shadow scenario (AWS CLI iot-data, mosquitto, an awsiotsdk device) the same way,
#   6. the identities scenario (certificates, IoT policies, mutual TLS, logging role) the same way.
#   7. the CloudWatch scenario (AWS/IoT metrics from mosquitto clients, custom metrics,
#      statistics, metric math, alarms notifying an SNS webhook, dashboards, errors), the SNS
#      scenario and the Prometheus scenario (promtool, a real Prometheus scraping /metrics).
#   8. the rules-engine scenario, then the audit-trail scenario (CloudTrail lookup-events, a
#      trail to CloudWatch Logs, `thingwatch audit verify` before and after tampering).
#   9. the Jobs scenario (AWS CLI iot / iot-jobs-data, awsiotsdk devices over mutual TLS).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings
# `cargo test` builds the `thingwatch` binary too (target/release/thingwatch, with the test
# build's feature set), which the scenario scripts below run: a separate `cargo build` would
# compile the workspace a second time with a different feature set (≈ 6 min in CI).
cargo test --release --workspace --all-targets
[ -x target/release/thingwatch ] || cargo build --release -p thingwatch
bash scripts/quickstart.sh
bash scripts/logging-config.sh
bash scripts/shadow.sh
bash scripts/identity.sh
bash scripts/cloudwatch.sh
bash scripts/sns.sh
bash scripts/prometheus.sh
bash scripts/rules.sh
bash scripts/audit.sh
bash scripts/jobs.sh
