//! A user query's limits, watched from a thread of their own.
//!
//! Why the process's resident memory: DataFusion's pool bounds only what
//! operators reserve. The rows an answer holds are never reserved, nor is some
//! aggregates' per-group state: `min()` over a struct per visitor, then
//! `count(DISTINCT ...)` of one of its fields, grew a `darkroom sql` process to
//! 8.7 GB in 20 s under `[query] memory_limit_mb = 4096` (the 1 GB day's page
//! views). So a user query also stops when the process grows by more than its
//! limit while it runs.
//!
//! Why a thread: such a query keeps every runtime worker inside one long poll,
//! and then no tokio timer fires, the time limit's included.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How often the watch looks: a read of `/proc/self/status` costs tens of
/// microseconds, and a query that runs away grows by a few hundred MB a second.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// Why the watch stopped a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// It ran past its time limit.
    Timeout,
    /// The process grew by this many bytes, more than the memory limit.
    Grown(u64),
}

/// Watches the query that starts now: the receiver gets a [`Stop`] once the
/// query has run for `timeout`, or once the process holds more than
/// `limit_bytes` beyond what it holds now (never where Linux's `/proc` is not).
/// Dropping the receiver ends the watch.
pub(crate) fn watch(limit_bytes: u64, timeout: Duration) -> oneshot::Receiver<Stop> {
    let (sender, receiver) = oneshot::channel();
    let started = Instant::now();
    let start = resident_bytes();
    let watching = move || {
        loop {
            std::thread::sleep(LOOK_EVERY.min(timeout));
            if sender.is_closed() {
                return;
            }
            if started.elapsed() >= timeout {
                let _ = sender.send(Stop::Timeout);
                return;
            }
            let grown = start
                .zip(resident_bytes())
                .map_or(0, |(before, now)| now.saturating_sub(before));
            if grown > limit_bytes {
                let _ = sender.send(Stop::Grown(grown));
                return;
            }
        }
    };
    if let Err(error) = std::thread::Builder::new()
        .name("darkroom-query-watch".into())
        .spawn(watching)
    {
        tracing::warn!(%error, "could not start a query's watch: its limits are the memory pool's alone");
    }
    receiver
}

/// This process's resident memory in bytes; `None` where Linux's `/proc` is not.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_size() {
        let bytes = resident_bytes().expect("/proc/self/status on Linux");
        assert!(bytes > 1024 * 1024, "{bytes} bytes");
    }

    #[test]
    fn holding_more_than_the_limit_stops_the_query() {
        let verdict = watch(32 * 1024 * 1024, Duration::from_secs(30));
        let held: Vec<u8> = vec![1; 96 * 1024 * 1024];
        let stop = verdict.blocking_recv().expect("a verdict");
        assert!(
            matches!(stop, Stop::Grown(grown) if grown > 32 * 1024 * 1024),
            "{stop:?}"
        );
        assert_eq!(held.iter().map(|b| u64::from(*b)).sum::<u64>(), 96 * 1024 * 1024);
    }

    #[test]
    fn running_past_the_time_limit_stops_the_query() {
        let verdict = watch(u64::MAX, Duration::from_millis(50));
        assert_eq!(verdict.blocking_recv(), Ok(Stop::Timeout));
    }
}
