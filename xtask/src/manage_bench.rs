//! `cargo xtask bench`, the client's half: runs `crates/graph-subs-cli/benches/manage.rs`
//! (renewals by each client, renewals under Graph's throttling, `graph-subs list --jsonl`
//! over a million), judges its measurements against the goals of issue 8 and writes the
//! section between [`BEGIN`] and [`END`] of `docs/performance.md`.
//!
//! The Python SDK's renewals need a Python with `msgraph-sdk`: [`python_sdk`] makes one
//! in `examples/python/.venv` from `examples/python/requirements.txt` (PyPI), unless it
//! exists; without it the bench runs and that goal is reported as not measured.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use serde::Deserialize;

use graph_subs_catalogue::quote::thousands;

use crate::bench::Machine;
use crate::json_bench::{self, Spec, Verdict};

/// The line after which the generated section starts.
pub const BEGIN: &str = "<!-- manage-bench:begin -->";
/// The line before which it ends.
pub const END: &str = "<!-- manage-bench:end -->";
/// The bench, its results file and its section.
pub const SPEC: Spec = Spec {
    package: "graph-subs-cli",
    bench: "manage",
    results: "manage-bench.json",
    begin: BEGIN,
    end: END,
};

/// The load generator's name in the results: the server's limit.
pub const RAW: &str = "raw-http1";
/// The client renewing one subscription a request.
pub const SINGLE: &str = "graph-subs-http (one request each)";
/// The client renewing through `$batch`.
pub const BATCHED: &str = "graph-subs-http ($batch)";
/// The official Python SDK.
pub const PYTHON: &str = "msgraph-sdk (Python)";

/// Goal 1a: renewing one a request, at least this share of the raw loop's rate.
pub const SINGLE_SHARE: f64 = 0.9;
/// Goal 1b: through `$batch`, at least this many times the raw loop's rate.
pub const BATCHED_TIMES: f64 = 3.0;
/// Goal 1c: at least this many times the Python SDK's rate.
pub const PYTHON_TIMES: f64 = 10.0;
/// Goal 2: at least this share of the rate Graph's limits allow...
pub const THROTTLED_SHARE: f64 = 0.95;
/// ...with fewer than this share of requests answered 429.
pub const THROTTLED_429: f64 = 0.01;
/// Goal 3: `list --jsonl` over a million in less peak resident memory than this.
pub const LIST_PEAK_BYTES: u64 = 64 << 20;
/// The sizes the goals are judged at (a `--quick` run is smaller).
pub const RENEWALS: u64 = 10_000;
/// ...
pub const THROTTLED_RENEWALS: u64 = 2_000;
/// ...
pub const LISTED: u64 = 1_000_000;

/// One client's renewals.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RenewRun {
    /// Which client.
    pub client: String,
    /// Renewals answered 2xx, all passes.
    pub renewed: u64,
    /// Renewals that failed.
    pub failed: u64,
    /// Passes over the subscriptions.
    pub passes: u64,
    /// Each pass's time.
    pub pass_seconds: Vec<f64>,
    /// The median pass's rate.
    pub per_second: f64,
    /// The median over rounds of its pass's rate over the raw loop's pass in the same
    /// round (not for the raw loop, nor the Python SDK, measured once).
    #[serde(default)]
    pub paired_ratio: Option<f64>,
    /// Requests in flight.
    pub concurrency: u64,
    /// The Python SDK's versions.
    #[serde(default)]
    pub versions: Option<serde_json::Value>,
}

/// Goal 1's measurements.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Renew {
    /// Subscriptions renewed per pass.
    pub subscriptions: u64,
    /// Each client's.
    pub runs: Vec<RenewRun>,
    /// Why the Python SDK was not measured.
    #[serde(default)]
    pub python_missing: Option<String>,
    /// The CPU the emulator was kept on, when pinned.
    #[serde(default)]
    pub server_cpu: Option<u64>,
    /// The CPU the clients were kept on.
    #[serde(default)]
    pub client_cpu: Option<u64>,
}

impl Renew {
    fn rate(&self, client: &str) -> Option<f64> {
        self.runs
            .iter()
            .find(|r| r.client == client && r.failed == 0)
            .map(|r| r.per_second)
    }

    /// A client's rate over the raw loop's: the median of the rounds' ratios when the
    /// clients took turns, else the ratio of the median rates.
    fn to_raw(&self, client: &str) -> Option<f64> {
        let run = self
            .runs
            .iter()
            .find(|r| r.client == client && r.failed == 0)?;
        run.paired_ratio.or_else(|| {
            let raw = self.rate(RAW)?;
            (raw > 0.0).then(|| run.per_second / raw)
        })
    }

    fn judged(&self, quick: bool) -> bool {
        !quick && self.subscriptions >= RENEWALS
    }

    /// Goal 1a: the single-request client against the raw loop.
    pub fn single_verdict(&self, quick: bool) -> Verdict {
        let met = self.to_raw(SINGLE).is_some_and(|r| r >= SINGLE_SHARE);
        Verdict::of(met, self.judged(quick))
    }

    /// Goal 1b: `$batch` against the raw loop.
    pub fn batched_verdict(&self, quick: bool) -> Verdict {
        let met = self.to_raw(BATCHED).is_some_and(|r| r >= BATCHED_TIMES);
        Verdict::of(met, self.judged(quick))
    }

    /// Goal 1c: `$batch` (the commands' default) against the Python SDK.
    pub fn python_verdict(&self, quick: bool) -> Option<Verdict> {
        let python = self.rate(PYTHON)?;
        let met = self
            .rate(BATCHED)
            .is_some_and(|b| b >= PYTHON_TIMES * python);
        Some(Verdict::of(met, self.judged(quick)))
    }
}

/// Goal 2's measurement.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Throttled {
    /// Renewals asked.
    pub renewals: u64,
    /// Done.
    pub renewed: u64,
    /// Failed.
    pub failed: u64,
    /// How long they took.
    pub seconds: f64,
    /// The least the limit allows from an empty window.
    pub least_seconds: f64,
    /// `least_seconds / seconds`.
    pub share_of_allowed_rate: f64,
    /// Requests the emulator counted (each inside a `$batch` too).
    pub requests: u64,
    /// Of which answered 429 by throttling.
    pub throttled: u64,
    /// The limit, in words.
    pub limit: String,
}

impl Throttled {
    /// Share of requests answered 429.
    pub fn share_429(&self) -> f64 {
        self.throttled as f64 / self.requests.max(1) as f64
    }

    /// Goal 2.
    pub fn verdict(&self, quick: bool) -> Verdict {
        Verdict::of(
            self.failed == 0
                && self.share_of_allowed_rate >= THROTTLED_SHARE
                && self.share_429() < THROTTLED_429,
            !quick && self.renewals >= THROTTLED_RENEWALS,
        )
    }
}

/// Goal 3's measurement.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct List {
    /// Subscriptions stored.
    pub subscriptions: u64,
    /// Lines written.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
    /// How long.
    pub seconds: f64,
    /// Lines a second.
    pub per_second: f64,
    /// `graph-subs`'s peak resident memory.
    pub peak_rss_bytes: u64,
    /// The peak of the process that started it (a floor of the figure above).
    pub starter_peak_rss_bytes: u64,
}

impl List {
    /// Goal 3.
    pub fn verdict(&self, quick: bool) -> Verdict {
        Verdict::of(
            self.peak_rss_bytes < LIST_PEAK_BYTES,
            !quick && self.subscriptions >= LISTED,
        )
    }
}

/// What the bench wrote.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Results {
    /// Goal 1.
    pub renew: Renew,
    /// Goal 2.
    pub throttled: Throttled,
    /// Goal 3.
    pub list: List,
    /// A `--quick` run.
    pub quick: bool,
    /// How long the bench ran.
    pub seconds: f64,
}

/// Runs the bench (unless `no_run`), with the Python SDK when `python` names an
/// interpreter that has it, then writes its section of `docs/performance.md`.
pub fn run(root: &Path, no_run: bool, quick: bool, python: Option<PathBuf>) -> Result<Results> {
    let env: Vec<(&str, OsString)> = python
        .map(|p| ("GRAPH_SUBS_BENCH_PYTHON", p.into_os_string()))
        .into_iter()
        .collect();
    json_bench::run(root, &SPEC, no_run, quick, &env, render)
}

/// A Python with `msgraph-sdk`: `examples/python/.venv`, made from
/// `examples/python/requirements.txt` when missing. `Err` says why there is none.
pub fn python_sdk(root: &Path) -> std::result::Result<PathBuf, String> {
    let dir = root.join("examples/python");
    let venv = dir.join(".venv");
    let python = venv.join("bin/python");
    let run = |command: &mut Command, what: &str| -> std::result::Result<(), String> {
        match command.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("{what} failed ({status})")),
            Err(e) => Err(format!("{what} could not start: {e}")),
        }
    };
    if !python.exists() {
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv examples/python/.venv",
        )?;
    }
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(dir.join("requirements.txt")),
        "pip install -r examples/python/requirements.txt",
    )?;
    Ok(python)
}

fn rate(value: f64) -> String {
    thousands(value.round() as u64)
}

/// The generated section: the machine, the goals with their verdicts, then each
/// measurement.
pub fn render(results: &Results, machine: &Machine) -> String {
    let mut s = machine.header();
    let quick = results.quick;
    if quick {
        let _ = writeln!(
            s,
            "\nA quick run (`--quick`): smaller sizes, judged by no goal."
        );
    }
    let renew = &results.renew;
    let shown = |client: &str| {
        renew.rate(client).map_or_else(
            || "not measured".to_owned(),
            |r| format!("{} per second", rate(r)),
        )
    };
    let ratio = |a: &str, b: &str| match (renew.rate(a), renew.rate(b)) {
        (Some(a), Some(b)) if b > 0.0 => format!(" (× {:.2})", a / b),
        _ => String::new(),
    };
    let to_raw = |client: &str| {
        renew
            .to_raw(client)
            .map_or_else(String::new, |r| format!(" (× {r:.2})"))
    };
    s.push_str("\n### Goals\n\n| goal | target | measured | verdict |\n|---|---|---|:---:|\n");
    let _ = writeln!(
        s,
        "| 1a. renewals, one request each | ≥ {:.0}% of the raw loop ({}) | {}{} | {} |",
        SINGLE_SHARE * 100.0,
        shown(RAW),
        shown(SINGLE),
        to_raw(SINGLE),
        renew.single_verdict(quick).cell()
    );
    let _ = writeln!(
        s,
        "| 1b. renewals through `$batch` | ≥ {BATCHED_TIMES} × the raw loop | {}{} | {} |",
        shown(BATCHED),
        to_raw(BATCHED),
        renew.batched_verdict(quick).cell()
    );
    let python_cell = match (renew.python_verdict(quick), &renew.python_missing) {
        (Some(v), _) => v.cell().to_owned(),
        (None, Some(why)) => format!("not measured: {why}"),
        (None, None) => "not measured".to_owned(),
    };
    let _ = writeln!(
        s,
        "| 1c. against the Python SDK | ≥ {PYTHON_TIMES} × msgraph-sdk ({}) | {}{} | {python_cell} |",
        shown(PYTHON),
        shown(BATCHED),
        ratio(BATCHED, PYTHON),
    );
    let t = &results.throttled;
    let _ = writeln!(
        s,
        "| 2. {} renewals under Graph's limits | ≥ {:.0}% of the allowed rate, < {:.0}% answered 429 | {:.1}% of the allowed rate, {} of {} requests answered 429 ({:.2}%) | {} |",
        thousands(t.renewals),
        THROTTLED_SHARE * 100.0,
        THROTTLED_429 * 100.0,
        t.share_of_allowed_rate * 100.0,
        t.throttled,
        thousands(t.requests),
        t.share_429() * 100.0,
        t.verdict(quick).cell()
    );
    let l = &results.list;
    let _ = writeln!(
        s,
        "| 3. `list --jsonl` over {} | peak RSS < {} MiB | {:.1} MiB | {} |",
        thousands(l.subscriptions),
        LIST_PEAK_BYTES >> 20,
        l.peak_rss_bytes as f64 / 1048576.0,
        l.verdict(quick).cell()
    );

    let _ = write!(
        s,
        "\n### Renewals\n\n{} subscriptions, concurrency {}{}.\n\n| client | passes | renewed | failed | each pass | per second (median pass) | × the raw loop (median of the rounds) |\n|---|---:|---:|---:|---|---:|---:|\n",
        thousands(renew.subscriptions),
        renew.runs.first().map_or(0, |r| r.concurrency),
        match (renew.server_cpu, renew.client_cpu) {
            (Some(server), Some(client)) =>
                format!("; the emulator kept on CPU {server}, the clients on CPU {client}"),
            _ => String::new(),
        }
    );
    for run in &renew.runs {
        let passes: Vec<String> = run
            .pass_seconds
            .iter()
            .map(|p| format!("{p:.2} s"))
            .collect();
        let versions = run
            .versions
            .as_ref()
            .and_then(|v| {
                Some(format!(
                    " (msgraph-sdk {}, Python {})",
                    v["msgraph-sdk"].as_str()?,
                    v["python"].as_str()?
                ))
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "| {}{versions} | {} | {} | {} | {} | {} | {} |",
            run.client,
            run.passes,
            thousands(run.renewed),
            run.failed,
            passes.join(", "),
            rate(run.per_second),
            run.paired_ratio
                .map_or_else(|| "".to_owned(), |r| format!("{r:.2}"))
        );
    }
    let _ = write!(
        s,
        "\n### Under Graph's limits\n\n{} renewals through `$batch` with the client's default pacing, on an emulator that enforces {} per app and tenant: {} renewed, {} failed, in {:.1} s; the limit allows {:.0} s at best from an empty window. The emulator counted {} requests (each inside a batch too), {} answered 429.\n",
        thousands(t.renewals),
        t.limit,
        thousands(t.renewed),
        t.failed,
        t.seconds,
        t.least_seconds,
        thousands(t.requests),
        t.throttled
    );
    let _ = write!(
        s,
        "\n### List\n\n`graph-subs list --jsonl --pacing off` over {} subscriptions: {} lines ({:.0} MiB) in {:.1} s ({} a second); peak RSS {:.1} MiB (the process that started it peaked at {:.1} MiB, which a started process may inherit in `ru_maxrss`).\n",
        thousands(l.subscriptions),
        thousands(l.lines),
        l.bytes as f64 / 1048576.0,
        l.seconds,
        rate(l.per_second),
        l.peak_rss_bytes as f64 / 1048576.0,
        l.starter_peak_rss_bytes as f64 / 1048576.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Results {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manage-bench.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn machine() -> Machine {
        Machine::for_tests()
    }

    #[test]
    fn goals_are_judged_and_every_measurement_is_written() {
        let text = render(&fixture(), &machine());
        for line in [
            "| 1a. renewals, one request each | ≥ 90% of the raw loop (10,000 per second) | 9,500 per second (× 0.95) | PASS |",
            "| 1b. renewals through `$batch` | ≥ 3 × the raw loop | 25,000 per second (× 2.50) | **FAIL** |",
            "| 1c. against the Python SDK | ≥ 10 × msgraph-sdk (50 per second) | 25,000 per second (× 500.00) | PASS |",
            "| 2. 2,000 renewals under Graph's limits | ≥ 95% of the allowed rate, < 1% answered 429 | 98.0% of the allowed rate, 0 of 2,100 requests answered 429 (0.00%) | PASS |",
            "| 3. `list --jsonl` over 1,000,000 | peak RSS < 64 MiB | 20.0 MiB | PASS |",
            "| msgraph-sdk (Python) (msgraph-sdk 1.65.0, Python 3.11.7) | 1 | 2,000 | 0 | 40.00 s | 50 |",
            "| raw-http1 | 3 | 30,000 | 0 | 1.00 s, 1.00 s, 1.00 s | 10,000 |  |",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn a_missing_python_is_said_and_a_quick_run_judged_by_nothing() {
        let mut results = fixture();
        results.renew.runs.retain(|r| r.client != PYTHON);
        results.renew.python_missing = Some("GRAPH_SUBS_BENCH_PYTHON is not set".into());
        let text = render(&results, &machine());
        assert!(text.contains("not measured: GRAPH_SUBS_BENCH_PYTHON is not set"));
        results.quick = true;
        let text = render(&results, &machine());
        assert!(!text.contains("PASS") && !text.contains("FAIL"), "{text}");
    }

    #[test]
    fn a_failed_renewal_fails_its_goal() {
        let mut results = fixture();
        for run in &mut results.renew.runs {
            if run.client == SINGLE {
                run.failed = 1;
            }
        }
        assert_eq!(results.renew.single_verdict(false), Verdict::Fail);
    }

    #[test]
    fn the_rounds_ratios_judge_when_the_clients_took_turns() {
        // The median rates say 0.95 and 2.50; the rounds, measured a second apart, say
        // otherwise, and they are what is judged and shown.
        let mut results = fixture();
        for run in &mut results.renew.runs {
            match run.client.as_str() {
                SINGLE => run.paired_ratio = Some(0.85),
                BATCHED => run.paired_ratio = Some(3.1),
                _ => {}
            }
        }
        assert_eq!(results.renew.single_verdict(false), Verdict::Fail);
        assert_eq!(results.renew.batched_verdict(false), Verdict::Pass);
        let text = render(&results, &machine());
        for line in [
            "| 9,500 per second (× 0.85) | **FAIL** |",
            "| 25,000 per second (× 3.10) | PASS |",
            "| 9,500 | 0.85 |",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
