//! `cargo xtask bench`, the keeper's replicas: runs
//! `crates/graph-subs-keeper/benches/replicas.rs` (three replicas on one PostgreSQL, one
//! killed every simulated hour), judges it against issue 10's goal and writes the section
//! between [`BEGIN`] and [`END`] of `docs/performance.md`.
//!
//! The goal, as the issue states it: 0 lapses, no subscription renewed by two replicas
//! in the same round, takeover within one lease period. Each is a verdict of its own:
//!
//! - **lapses**: nothing created again after the start, no failed call, no round failed
//!   other than by a lease, every subscription alive at the end in the store and in
//!   Graph, each with the id it was created with;
//! - **one replica a round**: no tenant's round worked by two replicas in one step or
//!   probe (a replica refused by the lease does nothing), at the start included;
//! - **takeover**: every dead replica's tenants worked again, the slowest within the
//!   lease and one probe of the kill (the survivors ask every probe, as `keep run`'s
//!   tasks ask again when the holder's lease ends).
//!
//! A `--quick` run is shown as not judged.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use graph_subs_catalogue::quote::thousands;

use crate::bench::Machine;
use crate::json_bench::{self, Spec, Verdict};

/// The line after which the generated section starts.
pub const BEGIN: &str = "<!-- replicas-bench:begin -->";
/// The line before which it ends.
pub const END: &str = "<!-- replicas-bench:end -->";
/// The bench, its results file and its section.
pub const SPEC: Spec = Spec {
    package: "graph-subs-keeper",
    bench: "replicas",
    results: "replicas-bench.json",
    begin: BEGIN,
    end: END,
};

/// Graph's time is known from its `Date` header, to the second: a lease's end and a
/// replica's idea of the time can each be up to a second early.
pub const CLOCK_RESOLUTION_SECONDS: u64 = 1;

/// The start: every replica asks for every tenant at once.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Start {
    /// How long it took.
    pub seconds: f64,
    /// Subscriptions created.
    pub created: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Rounds failed other than by a lease.
    pub round_errors: u64,
    /// Tenants worked by more than one replica.
    pub doubly_worked: u64,
    /// Tenants worked by none.
    pub unworked: u64,
}

/// The simulated days.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Days {
    /// 15-minute steps.
    pub steps: u64,
    /// How long they took.
    pub seconds: f64,
    /// Renewals sent and answered.
    pub renewed: u64,
    /// Subscriptions created again: lapses.
    pub created: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Rounds failed other than by a lease.
    pub round_errors: u64,
    /// Tenant rounds worked by two replicas or more in one step or probe.
    pub doubly_worked: u64,
    /// Tenant rounds worked by none in a step.
    pub unworked: u64,
    /// Replicas killed.
    pub kills: u64,
    /// Tenants taken over from a dead replica.
    pub takeovers: u64,
    /// Tenants not taken over within the probes given.
    pub lost_takeovers: u64,
    /// The slowest takeover, from the kill, in Graph's time.
    pub slowest_takeover_seconds: f64,
    /// The mean takeover.
    pub mean_takeover_seconds: f64,
    /// The slowest time from the end of the dead replica's lease to the takeover.
    pub slowest_after_lease_seconds: f64,
}

/// What the emulator counted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmulatorSide {
    /// Requests to Graph's API.
    pub requests: u64,
    /// Of which answered 429 by its throttling.
    pub throttled: u64,
}

/// What the bench writes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Results {
    /// Tenants.
    pub tenants: u64,
    /// Subscriptions per tenant.
    pub per_tenant: u64,
    /// Subscriptions in all.
    pub subscriptions: u64,
    /// Simulated days.
    pub days: u64,
    /// Replicas alive at once.
    pub replicas: u64,
    /// One step.
    pub step_minutes: u64,
    /// The replicas' lease.
    pub lease_seconds: u64,
    /// The clock's move between two probes after a kill.
    pub probe_seconds: u64,
    /// CPUs.
    pub cpus: u64,
    /// The start.
    pub start: Start,
    /// The days.
    pub week: Days,
    /// Subscriptions alive in the store at the end.
    pub alive_at_end: u64,
    /// Every subscription kept the id it was created with.
    pub same_ids: bool,
    /// Subscriptions Graph has at the end.
    pub in_graph: u64,
    /// Lapses of every kind, added up.
    pub lapses: u64,
    /// The emulator's side.
    pub emulator: EmulatorSide,
    /// A `--quick` run.
    pub quick: bool,
    /// How long the bench ran.
    pub seconds: f64,
    /// The commit measured (`+` when the keeper's sources differed from it).
    #[serde(default)]
    pub commit: Option<String>,
}

impl Results {
    fn judged(&self) -> bool {
        !self.quick
    }

    /// No lapse of any kind.
    pub fn lapses_verdict(&self) -> Verdict {
        Verdict::of(
            self.lapses == 0
                && self.start.created == self.subscriptions
                && self.week.created == 0
                && self.alive_at_end == self.subscriptions
                && self.in_graph == self.subscriptions
                && self.same_ids,
            self.judged(),
        )
    }

    /// No round worked by two replicas, none left unworked.
    pub fn exclusive_verdict(&self) -> Verdict {
        Verdict::of(
            self.start.doubly_worked == 0
                && self.week.doubly_worked == 0
                && self.start.unworked == 0
                && self.week.unworked == 0,
            self.judged(),
        )
    }

    /// The lease, one probe, and the second to which Graph's time is known.
    pub fn takeover_bound(&self) -> f64 {
        (self.lease_seconds + self.probe_seconds + CLOCK_RESOLUTION_SECONDS) as f64
    }

    /// Every takeover within the lease, one probe and Graph's clock resolution.
    pub fn takeover_verdict(&self) -> Verdict {
        Verdict::of(
            self.week.kills > 0
                && self.week.lost_takeovers == 0
                && self.week.slowest_takeover_seconds <= self.takeover_bound(),
            self.judged(),
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
    s.push_str(&json_bench::commit_line(r.commit.as_deref()));
    if r.quick {
        s.push_str("\nA quick run (`--quick`): a smaller size, judged by no goal.\n");
    }
    let w = &r.week;
    let _ = write!(
        s,
        "\n{} replicas on one PostgreSQL, {} subscriptions across {} tenants ({} each: half of 60 minutes, half of a day), {} simulated days in {}-minute steps, a replica killed every simulated hour ({} kills), lease {} s, {} CPU(s).\n",
        r.replicas,
        thousands(r.subscriptions),
        r.tenants,
        thousands(r.per_tenant),
        r.days,
        r.step_minutes,
        w.kills,
        r.lease_seconds,
        r.cpus
    );
    s.push_str("\n| goal | target | measured | verdict |\n|---|---|---|:---:|\n");
    let _ = writeln!(
        s,
        "| no lapse | 0 created again, 0 failed; all {} alive at the end with their first id | {} created again, {} failed calls, {} failed rounds; {} alive in the store, {} in Graph, ids {} | {} |",
        thousands(r.subscriptions),
        w.created,
        w.failed + r.start.failed,
        w.round_errors + r.start.round_errors,
        thousands(r.alive_at_end),
        thousands(r.in_graph),
        if r.same_ids {
            "unchanged"
        } else {
            "**changed**"
        },
        r.lapses_verdict().cell()
    );
    let _ = writeln!(
        s,
        "| no subscription renewed by two replicas in the same round | every tenant's round worked by exactly one replica | {} rounds worked by two or more, {} by none; {} renewals | {} |",
        w.doubly_worked + r.start.doubly_worked,
        w.unworked + r.start.unworked,
        thousands(w.renewed),
        r.exclusive_verdict().cell()
    );
    let _ = writeln!(
        s,
        "| takeover within one lease period | a dead replica's tenants worked again within {:.0} s of the kill (the lease, one {} s probe, and the second to which Graph's time is known) | {} tenants taken over after {} kills, {} not; slowest {:.1} s, mean {:.1} s; at most {:.1} s after the dead replica's lease ended | {} |",
        r.takeover_bound(),
        r.probe_seconds,
        thousands(w.takeovers),
        w.kills,
        w.lost_takeovers,
        w.slowest_takeover_seconds,
        w.mean_takeover_seconds,
        w.slowest_after_lease_seconds,
        r.takeover_verdict().cell()
    );
    let _ = writeln!(
        s,
        "\nThe start took {:.1} s, the days {:.1} s ({} steps), the whole bench {:.1} s; the emulator answered {} requests, {} of them 429.",
        r.start.seconds,
        w.seconds,
        w.steps,
        r.seconds,
        thousands(r.emulator.requests),
        thousands(r.emulator.throttled)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Results {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replicas-bench.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn goals_are_judged_and_written() {
        let text = render(&fixture(), &Machine::for_tests());
        for line in [
            "3 replicas on one PostgreSQL, 1,000 subscriptions across 10 tenants (100 each: half of 60 minutes, half of a day), 2 simulated days in 15-minute steps, a replica killed every simulated hour (48 kills), lease 60 s, 2 CPU(s).",
            "| no lapse | 0 created again, 0 failed; all 1,000 alive at the end with their first id | 0 created again, 0 failed calls, 0 failed rounds; 1,000 alive in the store, 1,000 in Graph, ids unchanged | PASS |",
            "| 0 rounds worked by two or more, 0 by none; 48,000 renewals | PASS |",
            "| 160 tenants taken over after 48 kills, 0 not; slowest 64.9 s, mean 63.1 s; at most 4.8 s after the dead replica's lease ended | PASS |",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn each_miss_fails_its_own_goal() {
        let mut r = fixture();
        r.same_ids = false;
        assert_eq!(r.lapses_verdict(), Verdict::Fail, "a subscription replaced");
        assert_eq!(r.exclusive_verdict(), Verdict::Pass);
        let mut r = fixture();
        r.in_graph -= 1;
        assert_eq!(r.lapses_verdict(), Verdict::Fail, "one gone from Graph");
        let mut r = fixture();
        r.week.doubly_worked = 1;
        assert_eq!(r.exclusive_verdict(), Verdict::Fail);
        let mut r = fixture();
        r.start.unworked = 1;
        assert_eq!(r.exclusive_verdict(), Verdict::Fail);
        let mut r = fixture();
        r.week.slowest_takeover_seconds = 66.1;
        assert_eq!(r.takeover_verdict(), Verdict::Fail);
        let mut r = fixture();
        r.week.lost_takeovers = 1;
        assert_eq!(r.takeover_verdict(), Verdict::Fail);
        let mut r = fixture();
        r.week.kills = 0;
        assert_eq!(r.takeover_verdict(), Verdict::Fail, "nothing was killed");
        let mut r = fixture();
        r.quick = true;
        let text = render(&r, &Machine::for_tests());
        assert!(!text.contains("PASS") && !text.contains("FAIL"), "{text}");
    }
}
