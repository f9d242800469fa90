//! `cargo xtask bench`, the emulator's half: runs
//! `crates/graph-subs-emulator/benches/emulator.rs`, which writes its measurements as
//! JSON ([`RESULTS`]), judges them against the goals of issue 7 and writes the section
//! between [`BEGIN`] and [`END`] of `docs/performance.md`.
//!
//! Like the criterion half, the xtask links nothing of the emulator: it spawns
//! `cargo bench` and reads a file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use graph_subs_catalogue::quote::thousands;

use crate::bench::Machine;
use crate::json_bench::{self, Percentiles, Spec, Verdict, us};

/// The line after which the emulator's generated section starts.
pub const BEGIN: &str = "<!-- emulator-bench:begin -->";
/// The line before which it ends.
pub const END: &str = "<!-- emulator-bench:end -->";
/// Where the bench writes its measurements, relative to the target directory.
pub const RESULTS: &str = "emulator-bench.json";

/// Goal 1: PATCH renewals per second at concurrency 32, at least.
pub const PATCH_THROUGHPUT: f64 = 20_000.0;
/// Goal 1: their 99th percentile latency, under this many microseconds.
pub const PATCH_P99_US: f64 = 5_000.0;
/// Goal 2: this many stored subscriptions...
pub const MEMORY_SUBSCRIPTIONS: u64 = 1_000_000;
/// ...in less resident memory than this (1 GiB).
pub const MEMORY_BYTES: u64 = 1 << 30;
/// Goal 3: List's page 1 is called flat when its median latency at the largest size is
/// at most this many times the one at the smallest (linear growth would be 1,000 times
/// from 1k to 1M).
pub const LIST_FLAT_RATIO: f64 = 2.0;

/// One PATCH load.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PatchRun {
    /// `in-process` or `separate-process`.
    pub setup: String,
    /// The HTTP client.
    pub client: String,
    /// Concurrent clients.
    pub concurrency: u32,
    /// Subscriptions renewed in turn.
    pub subscriptions: u64,
    /// The measured time.
    pub seconds: f64,
    /// Renewals answered 200 in the measured time.
    pub requests: u64,
    /// Other answers in the measured time.
    pub errors: u64,
    /// Requests answered, warm-up included: what the CPU times cover.
    pub all_requests: u64,
    /// Renewals per second.
    pub throughput: f64,
    /// Their latencies.
    pub latency_us: Percentiles,
    /// CPU time of the one process (client and emulator), in seconds.
    #[serde(default)]
    pub cpu_seconds_process: Option<f64>,
    /// CPU time of the client's process.
    #[serde(default)]
    pub cpu_seconds_client: Option<f64>,
    /// CPU time of the emulator's process.
    #[serde(default)]
    pub cpu_seconds_server: Option<f64>,
}

/// The memory measurement.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MemoryRun {
    /// Subscriptions stored.
    pub subscriptions: u64,
    /// `VmRSS` of the started emulator before.
    pub rss_before_bytes: u64,
    /// `VmRSS` after.
    pub rss_after_bytes: u64,
    /// The difference.
    pub rss_added_bytes: u64,
    /// `VmHWM`: the peak.
    pub peak_rss_bytes: u64,
    /// The difference per subscription.
    pub bytes_per_subscription: f64,
    /// How long storing them took.
    pub fill_seconds: f64,
}

/// List's first page at one size.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListSize {
    /// Subscriptions stored.
    pub stored: u64,
    /// Requests measured.
    pub requests: u64,
    /// Their latencies.
    pub latency_us: Percentiles,
}

/// List's first page for a caller who sees none of what is stored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListBlind {
    /// Who.
    pub caller: String,
    /// Subscriptions stored.
    pub stored: u64,
    /// Requests measured.
    pub requests: u64,
    /// Their latencies.
    pub latency_us: Percentiles,
}

/// The List measurement.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListRun {
    /// Subscriptions per page.
    pub page_size: u64,
    /// Page 1 at each size.
    pub sizes: Vec<ListSize>,
    /// Page 1 for callers who see nothing.
    pub blind: Vec<ListBlind>,
}

/// What the bench wrote.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Results {
    /// The PATCH loads.
    pub patch: Vec<PatchRun>,
    /// The memory measurement.
    pub memory: MemoryRun,
    /// The List measurement.
    pub list: ListRun,
    /// A `--quick` run: smaller, and judged by no goal.
    pub quick: bool,
    /// How long the bench ran.
    pub seconds: f64,
}

/// The load generator goal 1 is judged by: the bench's minimal HTTP/1.1 client. The
/// load by reqwest (the client `graph-subs` uses) is reported beside it, not judged.
pub const GOAL_CLIENT: &str = "raw-http1";

impl PatchRun {
    /// Whether this load is judged by goal 1.
    pub fn judged(&self) -> bool {
        self.client == GOAL_CLIENT
    }

    /// Goal 1.
    pub fn verdict(&self, quick: bool) -> Verdict {
        Verdict::of(
            self.errors == 0
                && self.throughput >= PATCH_THROUGHPUT
                && self.latency_us.p99 < PATCH_P99_US,
            !quick,
        )
    }

    /// CPU microseconds per request: (client, emulator) when they ran apart, or their
    /// sum in the one process.
    fn cpu_us_per_request(&self) -> (Option<f64>, Option<f64>, Option<f64>) {
        let per = |s: Option<f64>| s.map(|s| s * 1e6 / self.all_requests.max(1) as f64);
        (
            per(self.cpu_seconds_client),
            per(self.cpu_seconds_server),
            per(self.cpu_seconds_process),
        )
    }
}

impl MemoryRun {
    /// Goal 2.
    pub fn verdict(&self, quick: bool) -> Verdict {
        Verdict::of(
            self.rss_added_bytes < MEMORY_BYTES,
            !quick && self.subscriptions >= MEMORY_SUBSCRIPTIONS,
        )
    }
}

impl ListRun {
    /// The median latency at the largest size over the one at the smallest.
    pub fn growth(&self) -> Option<f64> {
        let (first, last) = (self.sizes.first()?, self.sizes.last()?);
        Some(last.latency_us.p50 / first.latency_us.p50.max(1e-9))
    }

    /// Goal 3.
    pub fn verdict(&self, quick: bool) -> Verdict {
        let largest = self.sizes.last().map_or(0, |s| s.stored);
        Verdict::of(
            self.growth().is_some_and(|g| g <= LIST_FLAT_RATIO),
            !quick && largest >= MEMORY_SUBSCRIPTIONS,
        )
    }
}

/// The bench, its results file and its section.
pub const SPEC: Spec = Spec {
    package: "graph-subs-emulator",
    bench: "emulator",
    results: RESULTS,
    begin: BEGIN,
    end: END,
};

/// Runs the bench (unless `no_run`), then writes its section of `docs/performance.md`.
/// `quick` runs the bench's small version.
pub fn run(root: &Path, no_run: bool, quick: bool) -> Result<Results> {
    json_bench::run(root, &SPEC, no_run, quick, &[], render)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1 << 20) as f64)
}

fn setup_name(setup: &str) -> &str {
    match setup {
        "in-process" => "client and emulator in one process",
        "separate-process" => "client in a process of its own",
        other => other,
    }
}

/// The generated section: the machine, the goals with their verdicts, then each
/// measurement in full.
pub fn render(results: &Results, machine: &Machine) -> String {
    let mut s = machine.header();
    if results.quick {
        let _ = writeln!(
            s,
            "\nA quick run (`--quick`): short loads and smaller stores, judged by no goal."
        );
    }
    s.push_str("\n### Goals\n\n| goal | target | measured | verdict |\n|---|---|---|:---:|\n");
    for run in results.patch.iter().filter(|r| r.judged()) {
        let _ = writeln!(
            s,
            "| 1. PATCH renewals, concurrency {}, {} | ≥ {} per second, p99 < {} | {} per second, p99 {}{} | {} |",
            run.concurrency,
            setup_name(&run.setup),
            thousands(PATCH_THROUGHPUT as u64),
            us(PATCH_P99_US),
            thousands(run.throughput.round() as u64),
            us(run.latency_us.p99),
            if run.errors > 0 {
                format!(", {} errors", run.errors)
            } else {
                String::new()
            },
            run.verdict(results.quick).cell()
        );
    }
    let memory = &results.memory;
    let _ = writeln!(
        s,
        "| 2. {} stored subscriptions | < {} resident | {} ({:.0} bytes each) | {} |",
        thousands(memory.subscriptions),
        mib(MEMORY_BYTES),
        mib(memory.rss_added_bytes),
        memory.bytes_per_subscription,
        memory.verdict(results.quick).cell()
    );
    let list = &results.list;
    if let (Some(first), Some(last), Some(growth)) =
        (list.sizes.first(), list.sizes.last(), list.growth())
    {
        let _ = writeln!(
            s,
            "| 3. List page 1 flat in the number stored | median at {} ≤ {LIST_FLAT_RATIO} × median at {} | {} → {} (× {growth:.2}) | {} |",
            thousands(last.stored),
            thousands(first.stored),
            us(first.latency_us.p50),
            us(last.latency_us.p50),
            list.verdict(results.quick).cell()
        );
    }

    s.push_str("\n### PATCH renewals\n\n");
    s.push_str("| setup | client | measured | renewals | errors | per second | p50 | p90 | p99 | p99.9 | max | CPU per request |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for run in &results.patch {
        let cpu = match run.cpu_us_per_request() {
            (Some(client), Some(server), _) => {
                format!("emulator {}, client {}", us(server), us(client))
            }
            (_, _, Some(both)) => format!("{} (both)", us(both)),
            _ => String::new(),
        };
        let p = run.latency_us;
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} s | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            setup_name(&run.setup),
            run.client,
            run.seconds,
            thousands(run.requests),
            run.errors,
            thousands(run.throughput.round() as u64),
            us(p.p50),
            us(p.p90),
            us(p.p99),
            us(p.p999),
            us(p.max),
            cpu
        );
    }
    let apart: Vec<(&str, f64, f64)> = results
        .patch
        .iter()
        .filter_map(|r| match r.cpu_us_per_request() {
            (Some(client), Some(server), _) => Some((r.client.as_str(), client, server)),
            _ => None,
        })
        .collect();
    if !apart.is_empty() {
        s.push_str("\nCPU time per renewal, measured apart:\n\n");
        for (name, client, server) in &apart {
            let _ = writeln!(
                s,
                "- with {name}: the emulator {}, the client {}; on {} otherwise idle CPUs, together at most about {} renewals per second;",
                us(*server),
                us(*client),
                machine.cpus,
                thousands((machine.cpus as f64 * 1e6 / (client + server)).round() as u64),
            );
        }
        let fastest = apart.iter().map(|a| a.2).fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            s,
            "- the emulator alone (at its {} per renewal), about {}.",
            us(fastest),
            thousands((machine.cpus as f64 * 1e6 / fastest).round() as u64),
        );
    }

    let _ = write!(
        s,
        "\n### Memory\n\n| stored | resident before | after | added | per subscription | peak | time to store |\n|---:|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {:.0} bytes | {} | {:.1} s |\n",
        thousands(memory.subscriptions),
        mib(memory.rss_before_bytes),
        mib(memory.rss_after_bytes),
        mib(memory.rss_added_bytes),
        memory.bytes_per_subscription,
        mib(memory.peak_rss_bytes),
        memory.fill_seconds
    );

    let _ = write!(
        s,
        "\n### List page 1\n\nPages of {} subscriptions, one client, one request at a time.\n\n| stored | caller | requests | p50 | p90 | p99 | max |\n|---:|---|---:|---:|---:|---:|---:|\n",
        list.page_size
    );
    for size in &list.sizes {
        let p = size.latency_us;
        let _ = writeln!(
            s,
            "| {} | the owner (sees all) | {} | {} | {} | {} | {} |",
            thousands(size.stored),
            size.requests,
            us(p.p50),
            us(p.p90),
            us(p.p99),
            us(p.max)
        );
    }
    for blind in &list.blind {
        let p = blind.latency_us;
        let _ = writeln!(
            s,
            "| {} | {} (sees none) | {} | {} | {} | {} | {} |",
            thousands(blind.stored),
            blind.caller,
            blind.requests,
            us(p.p50),
            us(p.p90),
            us(p.p99),
            us(p.max)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Results {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emulator-bench.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn machine() -> Machine {
        Machine::for_tests()
    }

    #[test]
    fn goals_are_judged_and_every_measurement_is_written() {
        let results = fixture();
        let text = render(&results, &machine());
        for line in [
            "Measured 2026-11-23 10:00 UTC with rustc 1.95.0, on 2 CPU(s) (Test CPU).",
            "| 1. PATCH renewals, concurrency 32, client and emulator in one process | ≥ 20,000 per second, p99 < 5.00 ms | 8,000 per second, p99 9.00 ms | **FAIL** |",
            "| 1. PATCH renewals, concurrency 32, client in a process of its own | ≥ 20,000 per second, p99 < 5.00 ms | 21,000 per second, p99 4.00 ms | PASS |",
            "| client in a process of its own | reqwest | 10.0 s | 150,000 | 0 | 15,000 | 1.50 ms | 3.00 ms | 6.00 ms | 7.00 ms | 8.00 ms | emulator 40 µs, client 45 µs |",
            "| 2. 1,000,000 stored subscriptions | < 1024 MiB resident | 954 MiB (1000 bytes each) | PASS |",
            "| 3. List page 1 flat in the number stored | median at 1,000,000 ≤ 2 × median at 1,000 | 500 µs → 600 µs (× 1.20) | PASS |",
            "| client in a process of its own | raw-http1 | 10.0 s | 210,000 | 0 | 21,000 | 1.00 ms | 2.00 ms | 4.00 ms | 5.00 ms | 6.00 ms | emulator 40 µs, client 30 µs |",
            "- with raw-http1: the emulator 40 µs, the client 30 µs; on 2 otherwise idle CPUs, together at most about 28,571 renewals per second;",
            "- with reqwest: the emulator 40 µs, the client 45 µs; on 2 otherwise idle CPUs, together at most about 23,529 renewals per second;",
            "- the emulator alone (at its 40 µs per renewal), about 50,000.",
            "| 1,000,000 | another tenant (sees none) | 10 | 90 µs | 100 µs | 110 µs | 120 µs |",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn the_reqwest_load_is_reported_but_not_judged() {
        let text = render(&fixture(), &machine());
        let goals = text.split("### PATCH renewals").next().unwrap();
        assert_eq!(goals.matches("| 1. PATCH renewals").count(), 2, "{goals}");
        assert!(!goals.contains("15,000 per second"), "{goals}");
    }

    #[test]
    fn a_quick_run_is_judged_by_no_goal() {
        let mut results = fixture();
        results.quick = true;
        results.memory.subscriptions = 100_000;
        let text = render(&results, &machine());
        assert!(!text.contains("PASS") && !text.contains("FAIL"), "{text}");
        assert!(text.contains("not judged (quick run)"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(us(950.4), "950 µs");
        assert_eq!(us(4321.0), "4.32 ms");
        assert_eq!(mib(1 << 30), "1024 MiB");
    }
}
