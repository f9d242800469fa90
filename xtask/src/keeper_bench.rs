//! `cargo xtask bench`, the keeper's part: runs `crates/graph-subs-cli/benches/keeper.rs`
//! (100,000 subscriptions across 100 tenants kept alive on the emulator over 7 simulated
//! days), judges it against the scale goal of issue 10 and writes the section between
//! [`BEGIN`] and [`END`] of `docs/performance.md`.
//!
//! The goal, as the issue states it: 0 lapses, renewals spread so that no tenant exceeds
//! Graph's write limit, peak RSS under 256 MiB, the store's size reported. Each part is a
//! verdict of its own, so that a miss says which:
//!
//! - **lapses**: no subscription created again after the first round (Graph no longer had
//!   it), no failed call or round, every subscription created by the first round and
//!   alive (a Graph id, a future expiration) at the end;
//! - **Graph's write limit**: no request answered 429 by the emulator's throttling, which
//!   enforces Graph's limits per app and tenant (the emulator's own count); the most
//!   renewals one tenant sent in one step is shown beside it, as how the renewals were
//!   spread;
//! - **memory**: the keeper's process (the emulator runs in another) peaked under 256 MiB;
//! - **the store**: its size, reported, not judged.
//!
//! Only a run at the goal's size or more is judged: a `--quick` run, or a smaller hand
//! run, is shown as not judged.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use graph_subs_catalogue::quote::thousands;

use crate::bench::Machine;
use crate::json_bench::{self, Spec, Verdict};

/// The line after which the generated section starts.
pub const BEGIN: &str = "<!-- keeper-bench:begin -->";
/// The line before which it ends.
pub const END: &str = "<!-- keeper-bench:end -->";
/// The bench, its results file and its section.
pub const SPEC: Spec = Spec {
    package: "graph-subs-cli",
    bench: "keeper",
    results: "keeper-bench.json",
    begin: BEGIN,
    end: END,
};
/// The goal's size: subscriptions...
pub const SUBSCRIPTIONS: u64 = 100_000;
/// ...across this many tenants...
pub const TENANTS: u64 = 100;
/// ...over this many simulated days.
pub const DAYS: u64 = 7;
/// The keeper's peak resident memory must stay under this.
pub const PEAK_RSS_BYTES: u64 = 256 << 20;

/// The first round, which creates everything.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FirstRound {
    /// How long it took.
    pub seconds: f64,
    /// Subscriptions created.
    pub created: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Tenants whose round failed.
    pub round_errors: u64,
}

/// The simulated week.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Week {
    /// 15-minute steps.
    pub steps: u64,
    /// How long they took.
    pub seconds: f64,
    /// Renewals sent and answered.
    pub renewed: u64,
    /// Subscriptions created again (Graph no longer had them): lapses.
    pub created: u64,
    /// Adopted from List (a create cut short): none expected.
    pub adopted: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Rounds that failed (a tenant not kept in a step).
    pub round_errors: u64,
    /// `created + failed + round_errors`.
    pub lapses: u64,
    /// The most renewals one tenant sent in one step.
    pub max_tenant_step_renewals: u64,
    /// The most renewals all tenants sent in one step.
    pub max_step_renewals: u64,
    /// Steps in which some renewal was sent.
    pub renewal_steps: u64,
    /// The slowest step.
    pub slowest_step_seconds: f64,
    /// Time in the steps with a full round (List).
    pub full_round_steps_seconds: f64,
    /// Time in the steps renewing from the store.
    pub renew_due_steps_seconds: f64,
}

/// What the emulator counted and spent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmulatorSide {
    /// Requests to Graph's API (each inside a `$batch` too).
    pub requests: u64,
    /// Of which answered 429 by its throttling.
    pub throttled: u64,
    /// Its CPU time.
    pub cpu_seconds: f64,
    /// Its peak resident memory.
    pub peak_rss_bytes: u64,
}

/// The keeper's resident memory after each phase (`VmRSS`), or its peak up to then
/// (`VmHWM`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Phases {
    /// The configuration read and checked.
    pub after_check: u64,
    /// The tenants made, the parsed file dropped, the store opened.
    pub after_setup: u64,
    /// Everything created.
    pub after_first_round: u64,
    /// The week kept, before the harness counts what is alive.
    pub after_week: u64,
    /// After the harness counted what is alive (tenant by tenant, from the store).
    pub end: u64,
}

/// The SQLite store on disk.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoreSize {
    /// The database file.
    pub db_bytes: u64,
    /// Its write-ahead log.
    pub wal_bytes: u64,
    /// Both.
    pub bytes: u64,
}

/// What the bench wrote.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Results {
    /// Tenants.
    pub tenants: u64,
    /// Subscriptions, all tenants.
    pub subscriptions: u64,
    /// Subscriptions per tenant.
    pub per_tenant: u64,
    /// Simulated days.
    pub days: u64,
    /// One step of the emulator's clock.
    pub step_minutes: u64,
    /// A full round every this many simulated hours.
    pub full_round_every_hours: u64,
    /// Tenants worked on at once.
    pub tenants_at_once: u64,
    /// The machine's CPUs.
    pub cpus: u64,
    /// The configuration file's size.
    pub config_bytes: u64,
    /// Reading and checking it.
    pub check_seconds: f64,
    /// Making the tenants and opening the store.
    pub setup_seconds: f64,
    /// The first round.
    pub first_round: FirstRound,
    /// The week.
    pub week: Week,
    /// Subscriptions with a Graph id and a future expiration at the end.
    pub alive_at_end: u64,
    /// The emulator's side.
    pub emulator: EmulatorSide,
    /// The keeper process's CPU time (the harness's included).
    pub keeper_cpu_seconds: f64,
    /// The keeper process's peak resident memory (`ru_maxrss`).
    pub peak_rss_bytes: u64,
    /// Its resident memory after each phase.
    pub rss_bytes: Phases,
    /// Its peak resident memory up to the end of each phase: which phase set the peak.
    pub hwm_bytes: Phases,
    /// The store's size at the end.
    pub store: StoreSize,
    /// A `--quick` run.
    pub quick: bool,
    /// How long the bench ran.
    pub seconds: f64,
    /// The commit measured (`+` when the keeper's sources differed from it).
    #[serde(default)]
    pub commit: Option<String>,
}

impl Results {
    /// At the goal's size (not a quick or smaller run).
    pub fn judged(&self) -> bool {
        !self.quick
            && self.subscriptions >= SUBSCRIPTIONS
            && self.tenants >= TENANTS
            && self.days >= DAYS
    }

    /// No lapse: everything created at first, nothing created again, nothing failed,
    /// everything alive at the end.
    pub fn lapses_verdict(&self) -> Verdict {
        let f = &self.first_round;
        Verdict::of(
            f.created == self.subscriptions
                && f.failed == 0
                && f.round_errors == 0
                && self.week.lapses == 0
                && self.week.created == 0
                && self.week.failed == 0
                && self.week.round_errors == 0
                && self.alive_at_end == self.subscriptions,
            self.judged(),
        )
    }

    /// No request over Graph's limits.
    pub fn throttle_verdict(&self) -> Verdict {
        Verdict::of(self.emulator.throttled == 0, self.judged())
    }

    /// The keeper's peak memory.
    pub fn memory_verdict(&self) -> Verdict {
        Verdict::of(self.peak_rss_bytes < PEAK_RSS_BYTES, self.judged())
    }
}

/// Runs the bench (unless `no_run`), then writes its section.
pub fn run(root: &Path, no_run: bool, quick: bool) -> Result<Results> {
    json_bench::run(root, &SPEC, no_run, quick, &[], render)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

fn seconds(s: f64) -> String {
    if s >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// The generated section: the machine and commit, the goals with their verdicts, then
/// the phases, memory and CPU.
pub fn render(r: &Results, machine: &Machine) -> String {
    let mut s = machine.header();
    s.push_str(&json_bench::commit_line(r.commit.as_deref()));
    if r.quick {
        s.push_str("\nA quick run (`--quick`): a smaller size, judged by no goal.\n");
    } else if !r.judged() {
        s.push_str("\nA run smaller than the goal's size, judged by no goal.\n");
    }
    let w = &r.week;
    let f = &r.first_round;
    let _ = write!(
        s,
        "\n{} subscriptions across {} tenants ({} each), {} simulated days in {}-minute steps, a full round every {} simulated hours, {} tenants at a time, {} CPU(s).\n",
        thousands(r.subscriptions),
        r.tenants,
        thousands(r.per_tenant),
        r.days,
        r.step_minutes,
        r.full_round_every_hours,
        r.tenants_at_once,
        r.cpus
    );
    s.push_str("\n### Goals\n\n| goal | target | measured | verdict |\n|---|---|---|:---:|\n");
    let _ = writeln!(
        s,
        "| no lapse | 0 created again, 0 failed; all {} alive at the end | {} created again, {} failed calls, {} failed rounds; {} alive at the end | {} |",
        thousands(r.subscriptions),
        w.created,
        w.failed + f.failed,
        w.round_errors + f.round_errors,
        thousands(r.alive_at_end),
        r.lapses_verdict().cell()
    );
    let _ = writeln!(
        s,
        "| within Graph's write limit | 0 requests answered 429 (1,000 writes per 20 s per app and tenant, enforced by the emulator) | {} of {} answered 429; at most {} renewals by one tenant in one step | {} |",
        thousands(r.emulator.throttled),
        thousands(r.emulator.requests),
        thousands(w.max_tenant_step_renewals),
        r.throttle_verdict().cell()
    );
    let _ = writeln!(
        s,
        "| the keeper's memory | peak RSS < {} MiB | {} | {} |",
        PEAK_RSS_BYTES >> 20,
        mib(r.peak_rss_bytes),
        r.memory_verdict().cell()
    );
    let _ = writeln!(
        s,
        "| the store's size | reported | {} (file {}, WAL {}) | reported |",
        mib(r.store.bytes),
        mib(r.store.db_bytes),
        mib(r.store.wal_bytes)
    );
    let _ = write!(
        s,
        "\n### Phases\n\n| phase | time | what it did |\n|---|---:|---|\n| read and check the configuration ({}) | {} | |\n| make the tenants, open the store | {} | |\n| first round | {} | {} created, {} failed |\n| the week: {} steps | {} | {} renewals, sent in {} of the steps (at most {} in one step, {} by one tenant); slowest step {}; steps with a full round {}, renewing from the store {} |\n",
        mib(r.config_bytes),
        seconds(r.check_seconds),
        seconds(r.setup_seconds),
        seconds(f.seconds),
        thousands(f.created),
        f.failed,
        thousands(w.steps),
        seconds(w.seconds),
        thousands(w.renewed),
        w.renewal_steps,
        thousands(w.max_step_renewals),
        thousands(w.max_tenant_step_renewals),
        seconds(w.slowest_step_seconds),
        seconds(w.full_round_steps_seconds),
        seconds(w.renew_due_steps_seconds),
    );
    let (rss, hwm) = (&r.rss_bytes, &r.hwm_bytes);
    let _ = write!(
        s,
        "\n### Memory and CPU\n\n| the keeper's process | after the check | after setup | after the first round | after the week | at the end |\n|---|---:|---:|---:|---:|---:|\n| resident (`VmRSS`) | {} | {} | {} | {} | {} |\n| peak so far (`VmHWM`) | {} | {} | {} | {} | {} |\n\nPeak RSS (`ru_maxrss`): {}. CPU time: the keeper's process {}, the emulator's {} (its peak RSS {}, not the keeper's); the emulator answered {} requests (each inside a `$batch` counted). The whole bench took {}.\n",
        mib(rss.after_check),
        mib(rss.after_setup),
        mib(rss.after_first_round),
        mib(rss.after_week),
        mib(rss.end),
        mib(hwm.after_check),
        mib(hwm.after_setup),
        mib(hwm.after_first_round),
        mib(hwm.after_week),
        mib(hwm.end),
        mib(r.peak_rss_bytes),
        seconds(r.keeper_cpu_seconds),
        seconds(r.emulator.cpu_seconds),
        mib(r.emulator.peak_rss_bytes),
        thousands(r.emulator.requests),
        seconds(r.seconds),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Results {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keeper-bench.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn goals_are_judged_and_every_measurement_is_written() {
        let text = render(&fixture(), &Machine::for_tests());
        for line in [
            "Commit measured: `db4dacd`.",
            "100,000 subscriptions across 100 tenants (1,000 each), 7 simulated days in 15-minute steps, a full round every 8 simulated hours, 8 tenants at a time, 2 CPU(s).",
            "| no lapse | 0 created again, 0 failed; all 100,000 alive at the end | 0 created again, 0 failed calls, 0 failed rounds; 100,000 alive at the end | PASS |",
            "| within Graph's write limit | 0 requests answered 429 (1,000 writes per 20 s per app and tenant, enforced by the emulator) | 0 of 1,234,567 answered 429; at most 1,000 renewals by one tenant in one step | PASS |",
            "| the keeper's memory | peak RSS < 256 MiB | 300.0 MiB | **FAIL** |",
            "| the store's size | reported | 40.0 MiB (file 30.0 MiB, WAL 10.0 MiB) | reported |",
            "| read and check the configuration (26.9 MiB) | 12.0 s | |",
            "| first round | 90.0 s | 100,000 created, 0 failed |",
            "| the week: 672 steps | 20.0 min | 100,000 renewals, sent in 1 of the steps (at most 100,000 in one step, 1,000 by one tenant); slowest step 4.0 min; steps with a full round 2.0 min, renewing from the store 18.0 min |",
            "| resident (`VmRSS`) | 100.0 MiB | 150.0 MiB | 200.0 MiB | 220.0 MiB | 250.0 MiB |",
            "| peak so far (`VmHWM`) | 300.0 MiB | 300.0 MiB | 300.0 MiB | 300.0 MiB | 300.0 MiB |",
            "Peak RSS (`ru_maxrss`): 300.0 MiB.",
            "CPU time: the keeper's process 15.0 min, the emulator's 5.0 min (its peak RSS 500.0 MiB, not the keeper's)",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn a_lapse_or_a_429_fails_its_goal() {
        let mut r = fixture();
        assert_eq!(r.lapses_verdict(), Verdict::Pass);
        r.week.created = 1;
        r.week.lapses = 1;
        assert_eq!(r.lapses_verdict(), Verdict::Fail);
        let mut r = fixture();
        r.alive_at_end -= 1;
        assert_eq!(r.lapses_verdict(), Verdict::Fail, "a subscription lost");
        let mut r = fixture();
        r.emulator.throttled = 1;
        assert_eq!(r.throttle_verdict(), Verdict::Fail);
        r.peak_rss_bytes = PEAK_RSS_BYTES - 1;
        assert_eq!(r.memory_verdict(), Verdict::Pass);
    }

    #[test]
    fn a_quick_or_smaller_run_is_judged_by_nothing() {
        let mut r = fixture();
        r.quick = true;
        let text = render(&r, &Machine::for_tests());
        assert!(text.contains("A quick run (`--quick`)"), "{text}");
        assert!(!text.contains("PASS") && !text.contains("FAIL"), "{text}");
        let mut r = fixture();
        r.days = 3;
        let text = render(&r, &Machine::for_tests());
        assert!(text.contains("smaller than the goal's size"), "{text}");
        assert_eq!(r.memory_verdict(), Verdict::NotJudged);
    }
}
