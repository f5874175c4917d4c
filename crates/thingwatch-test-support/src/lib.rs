//! Dev-only support shared by every Thingwatch crate's tests and by the root `tests/`: the
//! pieces each test suite used to write for itself, written once.
//!
//! - [`aws`]: an AWS client that SigV4-signs real HTTP requests (JSON 1.0/1.1, rest-json,
//!   query, raw) and presigns URLs, with the AWS SDK for Rust's signer (`aws-sigv4`).
//! - [`server`]: loopback harnesses — an in-process server on `127.0.0.1:0` that stops on drop,
//!   and a child process whose stdout banner says when it is ready.
//! - [`mqtt`]: MQTT 3.1.1/5 packets as exact bytes and a raw-socket client that reads whole
//!   packets.
//! - [`ca`]: a stand-alone certificate authority (rcgen) for device certificates.
//! - here: [`temp_dir`], the [`eventually`] polling helper and the test account's constants.
//!
//! *Architecture Invariant*: this crate depends on no Thingwatch crate, so every crate can
//! dev-depend on it without a cycle. Harness parts that need a Thingwatch type (an `ApiState`,
//! a `Broker`) stay in that crate's `tests/common`, built on these pieces.

pub mod aws;
pub mod ca;
pub mod captures;
pub mod mqtt;
pub mod rumqtt;
pub mod server;

use std::future::Future;
use std::time::Duration;

/// The test account's ID (the 12-digit example account of the AWS documentation).
pub const ACCOUNT: &str = "123456789012";

/// The test region.
pub const REGION: &str = "us-east-1";

/// The root access key ID the in-process API servers accept (the example key ID of the AWS
/// Signature Version 4 test suite, `AKIDEXAMPLE`).
pub const ROOT_AKID: &str = "AKIDEXAMPLE";

/// The secret of [`ROOT_AKID`] (the SigV4 test suite's example secret).
pub const ROOT_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// How often [`eventually`] polls.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// A fresh temporary directory (prefix `thingwatch-test-`), removed when the returned guard
/// is dropped. Panics when the directory cannot be created.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("thingwatch-test-")
        .tempdir()
        .expect("create a temporary directory")
}

/// Calls `poll` every [`POLL_INTERVAL`] until `done` holds for what it returned or `within`
/// has passed, and returns the last value either way: the caller asserts on it, so a timeout
/// fails with the caller's message and the value that was last seen.
///
/// Used to wait for asynchronous effects (log entries written, a connection closed) without
/// sleeping for a guessed duration.
pub async fn eventually<T, Fut>(
    within: Duration,
    mut poll: impl FnMut() -> Fut,
    mut done: impl FnMut(&T) -> bool,
) -> T
where
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let value = poll().await;
        if done(&value) || tokio::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eventually_returns_as_soon_as_done_holds() {
        let mut calls = 0;
        let got = eventually(
            Duration::from_secs(5),
            || {
                calls += 1;
                let n = calls;
                async move { n }
            },
            |n| *n == 3,
        )
        .await;
        assert_eq!(got, 3);
    }

    #[tokio::test]
    async fn eventually_returns_the_last_value_at_the_deadline() {
        let got = eventually(Duration::from_millis(100), || async { 7 }, |_| false).await;
        assert_eq!(got, 7);
    }

    #[test]
    fn temp_dirs_are_distinct_and_removed_on_drop() {
        let (a, b) = (temp_dir(), temp_dir());
        assert_ne!(a.path(), b.path());
        let path = a.path().to_path_buf();
        assert!(path.is_dir());
        drop(a);
        assert!(!path.exists());
    }
}
