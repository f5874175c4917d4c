//! Measures the cost of evaluating a typical rule query per message: the statement is parsed
//! once, then each iteration builds a [`Message`] (so the JSON payload is decoded, as for a
//! real publish) and evaluates it.
//!
//! Run: `cargo run -p thingwatch-iotsql --example sql_bench [iterations]` (debug builds are
//! much slower than release; compare numbers only within one profile).

use std::time::Instant;

use thingwatch_iotsql::{Message, SqlVersion, Statement, TestContext};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let sql = "SELECT temp, topic(2) AS device FROM 'dt/+/temp' WHERE temp > 30";
    let st = Statement::parse(sql, SqlVersion::V2016_03_23).expect("statement parses");
    let ctx = TestContext::default();
    let payload = br#"{"temp":35.5,"humidity":40,"unit":"C","ts":1700000000000}"#;

    let mut matched = 0u32;
    let start = Instant::now();
    for _ in 0..n {
        let msg = Message::new("dt/device-42/temp", payload.as_slice());
        if st.evaluate(&msg, &ctx).expect("evaluates").is_some() {
            matched += 1;
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(matched, n);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "{sql}\n{n} messages in {elapsed:?}: {:.0} ns/message ({profile} build)",
        elapsed.as_nanos() as f64 / f64::from(n)
    );
}
