//! `cargo xtask bench`, the receiver's part: runs
//! `crates/graph-subs-receiver/benches/receiver.rs`, judges its measurement against the
//! goal of issue 9 for plain notifications, and writes the section between [`BEGIN`] and
//! [`END`] of `docs/performance.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use graph_subs_catalogue::quote::thousands;

use crate::bench::Machine;
use crate::json_bench::{self, Percentiles, Spec, Verdict, us};

/// The line after which the generated section starts.
pub const BEGIN: &str = "<!-- receiver-bench:begin -->";
/// The line before which it ends.
pub const END: &str = "<!-- receiver-bench:end -->";
/// The bench, its results file and its section.
pub const SPEC: Spec = Spec {
    package: "graph-subs-receiver",
    bench: "receiver",
    results: "receiver-bench.json",
    begin: BEGIN,
    end: END,
};
/// Plain notifications accepted and queued a second, at least.
pub const THROUGHPUT: f64 = 20_000.0;
/// Their 99th percentile time to the 202, under this many microseconds.
pub const P99_US: f64 = 5_000.0;

/// What the bench wrote.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Results {
    /// Connections.
    pub concurrency: u64,
    /// The measured time.
    pub seconds: f64,
    /// Notifications answered 202 in it.
    pub accepted: u64,
    /// Other answers in it.
    pub errors: u64,
    /// Requests answered, warm-up included.
    pub all_requests: u64,
    /// Accepted a second.
    pub throughput: f64,
    /// Times to the 202.
    pub latency_us: Percentiles,
    /// Notifications the receiver queued, warm-up included.
    pub delivered: u64,
    /// Notifications the app took off the queue.
    pub drained: u64,
    /// Notifications rejected.
    pub rejected: u64,
    /// CPU time of the process (receiver and client) per request.
    pub cpu_us_per_request: f64,
    /// A `--quick` run.
    pub quick: bool,
}

impl Results {
    /// The goal for plain notifications.
    pub fn verdict(&self) -> Verdict {
        Verdict::of(
            self.errors == 0
                && self.rejected == 0
                && self.drained == self.delivered
                && self.throughput >= THROUGHPUT
                && self.latency_us.p99 < P99_US,
            !self.quick,
        )
    }
}

/// Runs the bench (unless `no_run`), then writes its section.
pub fn run(root: &Path, no_run: bool, quick: bool) -> Result<Results> {
    json_bench::run(root, &SPEC, no_run, quick, &[], render)
}

/// The generated section.
pub fn render(r: &Results, machine: &Machine) -> String {
    let mut s = machine.header();
    if r.quick {
        s.push_str("\nA quick run (`--quick`): a short load, judged by no goal.\n");
    }
    let _ = write!(
        s,
        "\n| goal | target | measured | verdict |\n|---|---|---|:---:|\n| plain notifications, {} connections | ≥ {} a second accepted and queued, p99 < {} | {} a second, p99 {}{} | {} |\n| rich notifications | ≥ 2,000 a second decrypted and verified | not measured: rich notifications are not built yet | not measured |\n",
        r.concurrency,
        thousands(THROUGHPUT as u64),
        us(P99_US),
        thousands(r.throughput.round() as u64),
        us(r.latency_us.p99),
        if r.errors > 0 {
            format!(", {} errors", r.errors)
        } else {
            String::new()
        },
        r.verdict().cell()
    );
    let p = r.latency_us;
    let _ = write!(
        s,
        "\n| measured | accepted | errors | per second | p50 | p90 | p99 | p99.9 | max | queued (warm-up included) | taken by the app | rejected | CPU per request |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n| {:.1} s | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        r.seconds,
        thousands(r.accepted),
        r.errors,
        thousands(r.throughput.round() as u64),
        us(p.p50),
        us(p.p90),
        us(p.p99),
        us(p.p999),
        us(p.max),
        thousands(r.delivered),
        thousands(r.drained),
        r.rejected,
        us(r.cpu_us_per_request),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        Results {
            concurrency: 32,
            seconds: 10.0,
            accepted: 250_000,
            errors: 0,
            all_requests: 275_000,
            throughput: 25_000.0,
            latency_us: Percentiles {
                p50: 1000.0,
                p90: 2000.0,
                p99: 4000.0,
                p999: 6000.0,
                max: 9000.0,
            },
            delivered: 275_000,
            drained: 275_000,
            rejected: 0,
            cpu_us_per_request: 70.0,
            quick: false,
        }
    }

    #[test]
    fn the_goal_is_judged_and_the_measurement_written() {
        let text = render(&results(), &Machine::for_tests());
        assert!(text.contains("| plain notifications, 32 connections | ≥ 20,000 a second accepted and queued, p99 < 5.00 ms | 25,000 a second, p99 4.00 ms | PASS |"), "{text}");
        assert!(text.contains("| 10.0 s | 250,000 | 0 | 25,000 | 1.00 ms | 2.00 ms | 4.00 ms | 6.00 ms | 9.00 ms | 275,000 | 275,000 | 0 | 70 µs |"), "{text}");
    }

    #[test]
    fn a_notification_left_in_the_queue_fails_the_goal() {
        let mut r = results();
        r.drained -= 1;
        assert_eq!(r.verdict(), Verdict::Fail);
    }
}
