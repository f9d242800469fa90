//! `cargo xtask bench`, rich notifications: runs `crates/graph-subs-receiver/benches/rich.rs`,
//! judges it against the goal of issue 9 (at least 2,000 rich notifications a second
//! decrypted and verified, p99 to the 202 under 5 ms at that load), and writes the section
//! between [`BEGIN`] and [`END`] of `docs/performance.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use graph_subs_catalogue::quote::thousands;

use crate::bench::Machine;
use crate::json_bench::{self, Percentiles, Spec, Verdict, us};

/// The line after which the generated section starts.
pub const BEGIN: &str = "<!-- rich-bench:begin -->";
/// The line before which it ends.
pub const END: &str = "<!-- rich-bench:end -->";
/// The bench, its results file and its section.
pub const SPEC: Spec = Spec {
    package: "graph-subs-receiver",
    bench: "rich",
    results: "rich-bench.json",
    begin: BEGIN,
    end: END,
};
/// Rich notifications verified and decrypted a second, at least.
pub const THROUGHPUT: f64 = 2_000.0;
/// Their 99th percentile time to the 202 at that load, under this many microseconds.
pub const P99_US: f64 = 5_000.0;

/// One run of the bench.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Run {
    /// The rate asked for (paced runs).
    #[serde(default)]
    pub target_rate: Option<f64>,
    /// The measured time.
    pub seconds: f64,
    /// Answered 202.
    pub accepted: u64,
    /// Other answers.
    pub errors: u64,
    /// Accepted a second.
    pub throughput: f64,
    /// Times to the 202 (paced runs: from the scheduled time when the connection was
    /// still waiting for its previous answer then, else from the send).
    pub latency_us: Percentiles,
    /// Paced runs: how late the generator sent the requests whose connection was free
    /// at their scheduled time (its timer's lateness, not counted in their latency).
    #[serde(default)]
    pub sent_late_us: Option<Percentiles>,
}

/// What the bench wrote.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Results {
    /// Connections.
    pub concurrency: u64,
    /// Distinct bodies sent in turn.
    pub distinct_bodies: u64,
    /// As fast as answered.
    pub saturation: Run,
    /// At the goal's rate, or 90% of the saturation rate when lower.
    pub paced: Run,
    /// At half the saturation rate.
    pub half: Run,
    /// Notifications the receiver queued.
    pub delivered: u64,
    /// Taken off the queue by the app.
    pub drained: u64,
    /// Taken off decrypted.
    pub decrypted: u64,
    /// Rejected.
    pub rejected: u64,
    /// A `--quick` run.
    pub quick: bool,
}

impl Results {
    /// The goal: the rate reached at saturation, and the p99 of the run paced at 2,000 a
    /// second, with every notification delivered decrypted.
    pub fn verdict(&self) -> Verdict {
        let paced_at_goal = self.paced.target_rate.unwrap_or(0.0) >= THROUGHPUT;
        Verdict::of(
            self.saturation.errors + self.paced.errors + self.half.errors == 0
                && self.rejected == 0
                && self.drained == self.delivered
                && self.decrypted == self.drained
                && self.saturation.throughput >= THROUGHPUT
                && paced_at_goal
                && self.paced.latency_us.p99 < P99_US,
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
        "\n| goal | target | measured | verdict |\n|---|---|---|:---:|\n| rich notifications, {} connections | ≥ {} a second decrypted and verified, p99 < {} at that load | {} a second at most; paced at {} a second: p99 {} | {} |\n",
        r.concurrency,
        thousands(THROUGHPUT as u64),
        us(P99_US),
        thousands(r.saturation.throughput.round() as u64),
        thousands(r.paced.target_rate.unwrap_or(0.0).round() as u64),
        us(r.paced.latency_us.p99),
        r.verdict().cell()
    );
    let _ = write!(
        s,
        "\n| run | asked | accepted | errors | per second | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for (name, run) in [
        ("saturation", &r.saturation),
        ("paced", &r.paced),
        ("half", &r.half),
    ] {
        let p = run.latency_us;
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.target_rate
                .map_or("as fast as answered".to_owned(), |t| format!(
                    "{} a second",
                    thousands(t.round() as u64)
                )),
            thousands(run.accepted),
            run.errors,
            thousands(run.throughput.round() as u64),
            us(p.p50),
            us(p.p90),
            us(p.p99),
            us(p.p999),
            us(p.max),
        );
    }
    for (name, run) in [("paced", &r.paced), ("half", &r.half)] {
        if let Some(late) = run.sent_late_us {
            let _ = writeln!(
                s,
                "\n{name}: the generator's timer sent the requests whose connection was free up to {} late (p50 {}, p99 {}); their latency counts from the send, the others' from their scheduled time.",
                us(late.max),
                us(late.p50),
                us(late.p99),
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{} distinct bodies sent in turn; {} queued, {} taken by the app, {} of them decrypted; {} rejected.",
        thousands(r.distinct_bodies),
        thousands(r.delivered),
        thousands(r.drained),
        thousands(r.decrypted),
        r.rejected
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(target: Option<f64>, throughput: f64, p99: f64) -> Run {
        Run {
            target_rate: target,
            seconds: 10.0,
            accepted: (throughput * 10.0) as u64,
            errors: 0,
            throughput,
            latency_us: Percentiles {
                p50: p99 / 4.0,
                p90: p99 / 2.0,
                p99,
                p999: p99 * 2.0,
                max: p99 * 4.0,
            },
            sent_late_us: target.map(|_| Percentiles {
                p50: 800.0,
                p90: 1_400.0,
                p99: 1_700.0,
                p999: 2_400.0,
                max: 6_900.0,
            }),
        }
    }

    fn results() -> Results {
        Results {
            concurrency: 32,
            distinct_bodies: 5_000,
            saturation: run(None, 2_500.0, 40_000.0),
            paced: run(Some(2_000.0), 2_000.0, 4_000.0),
            half: run(Some(1_250.0), 1_250.0, 2_000.0),
            delivered: 60_000,
            drained: 60_000,
            decrypted: 60_000,
            rejected: 0,
            quick: false,
        }
    }

    #[test]
    fn the_goal_is_judged_on_the_paced_run_and_written() {
        let text = render(&results(), &Machine::for_tests());
        assert!(text.contains("| rich notifications, 32 connections | ≥ 2,000 a second decrypted and verified, p99 < 5.00 ms at that load | 2,500 a second at most; paced at 2,000 a second: p99 4.00 ms | PASS |"), "{text}");
        assert!(
            text.contains("| paced | 2,000 a second | 20,000 | 0 | 2,000 |"),
            "{text}"
        );
        assert!(
            text.contains("| saturation | as fast as answered |"),
            "{text}"
        );
        assert!(
            text.contains("paced: the generator's timer sent the requests whose connection was free up to 6.90 ms late (p50 800 µs, p99 1.70 ms)"),
            "{text}"
        );
    }

    #[test]
    fn below_the_rate_or_over_the_latency_fails() {
        let mut slow = results();
        slow.saturation.throughput = 1_900.0;
        slow.paced.target_rate = Some(1_710.0);
        assert_eq!(slow.verdict(), Verdict::Fail);
        let mut late = results();
        late.paced.latency_us.p99 = 6_000.0;
        assert_eq!(late.verdict(), Verdict::Fail);
        let mut encrypted = results();
        encrypted.decrypted -= 1;
        assert_eq!(encrypted.verdict(), Verdict::Fail);
    }
}
