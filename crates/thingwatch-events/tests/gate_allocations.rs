//! "Below the level, nothing is built and nothing is allocated": counted with a global
//! allocator that tallies allocations made on the test thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use thingwatch_events::*;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(|c| c.get())
}

#[test]
fn dropped_events_allocate_nothing() {
    let sink = MemorySink::new();
    let logger = Logger::start(
        LoggerSettings {
            account_id: "123456789012".into(),
            node_id: "n".into(),
            pipeline: PipelineConfig::default(),
        },
        LoggingConfig::with_default_level(LevelSetting::Error),
        Box::new(sink.clone()),
    );
    let client = logger.client(ClientIdentity {
        client_id: "sensor-1".into(),
        principal_id: "anonymous".into(),
        source_ip: "127.0.0.1".parse().unwrap(),
        source_port: 5000,
        protocol: Protocol::Mqtt,
        thing_name: None,
    });
    let topic = String::from("dt/sensor-1/temp");
    // Warm the per-connection level cache once.
    logger.emit(&client, PublishIn::SUCCESS, TraceId::new(), |id| {
        PublishIn::success(id, &topic, false)
    });

    let before = allocations();
    for _ in 0..10_000 {
        logger.emit(&client, PublishIn::SUCCESS, TraceId::new(), |id| {
            PublishIn::success(id, &topic, false)
        });
        logger.emit(&client, PublishOut::SUCCESS, TraceId::new(), |id| {
            PublishOut::success(id, &topic, false)
        });
    }
    assert_eq!(
        allocations() - before,
        0,
        "gated-out entries must not allocate"
    );

    // Admitted entries do allocate (the encoded message) and arrive.
    let before = allocations();
    logger.emit(&client, PublishIn::AUTH_ERROR, TraceId::new(), |id| {
        PublishIn::failure(
            id,
            &topic,
            false,
            "AUTHORIZATION_FAILURE",
            "Authorization Failure",
        )
    });
    assert!(allocations() > before);
    logger.flush();
    assert_eq!(sink.records().len(), 1);
}
