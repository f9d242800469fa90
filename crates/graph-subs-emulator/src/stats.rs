//! What the emulator has answered so far: requests to Graph's API, throttled ones,
//! injected faults. Read with [`RunningEmulator::stats`](crate::RunningEmulator::stats)
//! or `GET /emulator/stats`, so that a test or a benchmark can tell whether its client
//! stayed within Graph's limits, without parsing logs.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// The counters, updated as requests are answered.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    faults: AtomicU64,
}

impl Counters {
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            faults_injected: self.faults.load(Ordering::Relaxed),
        }
    }
}

/// What the emulator has answered since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Requests to Graph's API (`/v1.0/...`, `/beta/...`): a `$batch` counts once, and
    /// each request inside it once more (throttling counts those).
    pub requests: u64,
    /// Of those, the ones answered 429 because the caller was over Graph's limits
    /// (`--throttle`); injected 429s are faults.
    pub throttled: u64,
    /// Faults injected by `--faults`: answers (429, 503, 504) and dropped answers.
    pub faults_injected: u64,
}
