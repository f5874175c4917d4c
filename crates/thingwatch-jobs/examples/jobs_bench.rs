//! Jobs throughput: the time from CreateJob (a thing group of N things) until every thing was
//! notified (`notify-next` published), and device execution updates per second
//! (StartNext + IN_PROGRESS + SUCCEEDED per thing, from several threads at once).
//!
//! The notifier counts and drops the messages (the broker's delivery is measured by the broker
//! benchmarks); the store is a real SQLite file in a temporary directory.
//!
//!     cargo run --release -p thingwatch-jobs --example jobs_bench -- [things] [threads]
//!
//! (defaults 10000 and 2).

use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use thingwatch_aws::Scope;
use thingwatch_events::{
    ClientIdentity, LevelSetting, Logger, LoggerSettings, LoggingOptions, MemorySink,
    PipelineConfig, Protocol,
};
use thingwatch_jobs::model::JobConfig;
use thingwatch_jobs::{
    DeviceCaller, Directory, Jobs, JobsSettings, NewJob, Notifier, StartNextRequest, UpdateRequest,
};

struct Fleet(Vec<String>);

impl Directory for Fleet {
    fn thing_exists(&self, thing: &str) -> bool {
        self.0.iter().any(|t| t == thing)
    }
    fn group_exists(&self, group: &str) -> bool {
        group == "fleet"
    }
    fn things_in_group(&self, _: &str) -> Vec<String> {
        self.0.clone()
    }
    fn groups_of_thing(&self, _: &str) -> Vec<String> {
        vec!["fleet".into()]
    }
}

#[derive(Default)]
struct Count {
    notify_next: AtomicU64,
    notified: Mutex<HashSet<String>>,
}

impl Notifier for Count {
    fn publish(&self, topic: String, _payload: Vec<u8>) {
        if topic.ends_with("/notify-next") {
            self.notify_next.fetch_add(1, Ordering::Relaxed);
            self.notified.lock().insert(topic);
        }
    }
}

fn update(status: &str) -> UpdateRequest {
    UpdateRequest {
        status: status.into(),
        status_details: None,
        step_timeout_in_minutes: None,
        expected_version: None,
        execution_number: None,
        include_job_execution_state: false,
        include_job_document: false,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let dir = tempfile::tempdir().unwrap();
    let things: Vec<String> = (0..n).map(|i| format!("thing-{i:05}")).collect();
    let logger = Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "bench".into(),
            pipeline: PipelineConfig::default(),
        },
        Some(LoggingOptions {
            default_log_level: LevelSetting::Info,
            ..Default::default()
        }),
        Box::new(MemorySink::new()),
    );
    let jobs = Jobs::open(
        dir.path(),
        Scope::new("123456789012", "us-east-1"),
        Arc::new(Fleet(things.clone())),
        logger.clone(),
        JobsSettings::default(),
    )
    .unwrap();
    let count = Arc::new(Count::default());
    jobs.set_notifier(count.clone());

    let t0 = Instant::now();
    jobs.create_job(NewJob {
        job_id: "bench".into(),
        config: JobConfig {
            targets: vec!["arn:aws:iot:us-east-1:123456789012:thinggroup/fleet".into()],
            document: r#"{"operation":"update","url":"https://example.com/fw.bin"}"#.into(),
            ..Default::default()
        },
        document_source: None,
    })
    .unwrap();
    let created = t0.elapsed();
    while count.notified.lock().len() < n {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let notified = t0.elapsed();
    println!(
        "CreateJob on a group of {n} things: returned after {:.1} ms, all {n} notified after {:.1} ms ({:.0} things/s)",
        created.as_secs_f64() * 1e3,
        notified.as_secs_f64() * 1e3,
        n as f64 / notified.as_secs_f64()
    );

    let t1 = Instant::now();
    let chunks: Vec<Vec<String>> = things
        .chunks(n.div_ceil(threads))
        .map(<[String]>::to_vec)
        .collect();
    std::thread::scope(|s| {
        for chunk in &chunks {
            let jobs = jobs.clone();
            let logger = logger.clone();
            s.spawn(move || {
                for thing in chunk {
                    let log = logger.client(ClientIdentity {
                        client_id: thing.clone(),
                        principal_id: "cert".into(),
                        source_ip: "127.0.0.1".parse().unwrap(),
                        source_port: 1,
                        protocol: Protocol::Mqtt,
                        thing_name: Some(thing.clone()),
                    });
                    let caller = DeviceCaller {
                        log: &log,
                        client_token: None,
                    };
                    jobs.start_next(caller, thing, &StartNextRequest::default())
                        .unwrap()
                        .unwrap();
                    jobs.update_execution(caller, thing, "bench", &update("IN_PROGRESS"))
                        .unwrap();
                    jobs.update_execution(caller, thing, "bench", &update("SUCCEEDED"))
                        .unwrap();
                }
            });
        }
    });
    let took = t1.elapsed();
    let (job, counts) = jobs.describe_job("bench").unwrap();
    assert_eq!(counts.succeeded, n as u64);
    println!(
        "device requests ({threads} threads): {} in {:.2} s = {:.0} requests/s ({:.0} execution updates/s counting the 2 UpdateJobExecution per thing); job {}",
        3 * n,
        took.as_secs_f64(),
        (3 * n) as f64 / took.as_secs_f64(),
        (2 * n) as f64 / took.as_secs_f64(),
        job.status.as_str()
    );
    jobs.stop();
}
