//! A named background thread that runs a task every interval and a last task when stopped:
//! the `metrics-publisher` and the `alarm-evaluator`. Its stop signal is a one-slot channel.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The running thread; stopping (or dropping) it runs the last task and joins it.
pub(crate) struct Periodic {
    stop: Option<mpsc::SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    /// Spawns thread `name` running `tick` every `interval`, then `last` once when stopped.
    ///
    /// # Panics
    /// If the thread cannot be spawned.
    pub(crate) fn start(
        name: &str,
        interval: Duration,
        mut tick: impl FnMut() + Send + 'static,
        last: impl FnOnce() + Send + 'static,
    ) -> Periodic {
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                loop {
                    match rx.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => tick(),
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                            last();
                            return;
                        }
                    }
                }
            })
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Periodic {
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Runs the last task and waits for the thread to end (idempotent).
    pub(crate) fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.stop();
    }
}
