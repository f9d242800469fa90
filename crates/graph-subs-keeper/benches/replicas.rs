//! Three keepers on one PostgreSQL, one of them killed every simulated hour (issue 10):
//! 0 lapses, no subscription renewed by two replicas in the same round, and a dead
//! replica's tenants taken over within one lease period.
//!
//! - **PostgreSQL** is a throwaway server from the Debian package (the keeper's test
//!   support: a cluster in a temporary folder, on a Unix socket), **the emulator** runs
//!   in this process with Graph's throttling on.
//! - **The configuration**: 20 tenants (each its own tenant id, client credentials of the
//!   emulator's app) of 100 mail subscriptions each, half of them with `lifetime = "60m"`
//!   (renewed about every half hour, so that kills fall between renewals all the time),
//!   half with `lifetime = "1d"`; 7 simulated days (168 kills).
//! - **Three replicas** (`Replica { id, lease: 60 s }`), each a `Keeper` with its own
//!   store connections, as three `keep run` processes would be. At the start all three
//!   ask for every tenant at once; per tenant, one wins the lease and creates.
//! - **The days** pass in 15-minute steps (the emulator's clock advanced): every replica
//!   asks to work every tenant (`renew_due`, a full round every 8 simulated hours
//!   instead), and each tenant must be worked by exactly one; a replica refused with
//!   `Leased` did nothing. **Every simulated hour**, right after its round (its leases
//!   just renewed, the worst moment to die), the replica holding the most tenants is
//!   killed: dropped without releasing anything, as a kill -9 would leave it, and a new
//!   replica (a new id) is started in its place, as a supervisor would. Then the clock
//!   moves 50 s, then 5 s at a time, every live replica asking for the dead one's
//!   tenants at each probe, until each is worked again: **the takeover**, timed from the
//!   kill in Graph's time, must come within the lease (60 s), one probe (5 s) and the
//!   second to which Graph's time is known (its `Date` header). The time from the end of
//!   the dead replica's lease (as the refusals before the takeover gave it) to the
//!   takeover is reported beside.
//! - The replicas' clients do not pace themselves (`setup::tenants_paced` with
//!   `Pacing::OFF`): Graph's limits are the emulator's, counted on its clock, which runs
//!   far faster than real time here; a real-time pacing (40 List requests in 20 s, and a
//!   lease is taken after a List page that gives Graph's time) would only stretch the
//!   simulated time between a kill and a takeover. The emulator's count of 429s says
//!   whether Graph's limits were kept.
//! - **A lapse** is a subscription created again (Graph no longer had it), a failed call,
//!   a round failed other than by a lease, or a subscription not alive at the end (in the
//!   store with a future expiry, and in Graph).
//!
//! ```text
//! cargo bench -p graph-subs-keeper --bench replicas -- [--quick] [--json PATH] [--days N]
//! ```
//!
//! `--quick`: 3 tenants × 20 subscriptions over one simulated day, for trying the harness.

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use graph_subs_emulator::{App, Emulator, RunningEmulator, Throttle};
use graph_subs_http::Pacing;
use graph_subs_keeper::config::{self, Sources};
use graph_subs_keeper::run::{Keeper, KeeperError, Replica, Report};
use graph_subs_keeper::setup;
use graph_subs_keeper::store::Store;
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const APP: &str = "3c1f6f1a-5d2e-4b7c-9a40-6b0d2c7e8f11";
const SECRET: &str = "replicas-bench-secret";
const STEP_SECONDS: i64 = 15 * 60;
/// A full round every this many steps (8 simulated hours), as in the keeper's scale bench.
const FULL_ROUND_EVERY: usize = 32;
/// A replica killed every this many steps: every simulated hour.
const KILL_EVERY: usize = 4;
/// The replicas' lease.
const LEASE_SECONDS: i64 = 60;
/// After a kill, the clock moves this far between two probes.
const PROBE_SECONDS: i64 = 5;
/// A takeover slower than this many probes is given up (and fails the goal).
const MAX_PROBES: usize = 60;
const REPLICAS: usize = 3;

/// Files from the folder; no variables.
struct Folder;

impl Sources for Folder {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

#[derive(Debug, Clone, Copy)]
struct Size {
    tenants: usize,
    per_tenant: usize,
    days: usize,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut json_path = None;
    let mut size = Size {
        tenants: 20,
        per_tenant: 100,
        days: 7,
    };
    let mut quick = false;
    let mut days = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json_path = Some(args.next().ok_or("--json needs a path")?),
            "--quick" => quick = true,
            "--days" => {
                days = Some(
                    args.next()
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|n| *n > 0)
                        .ok_or("--days needs a whole number above 0")?,
                );
            }
            // Cargo passes `--bench` to every bench binary.
            _ => {}
        }
    }
    if quick {
        size = Size {
            tenants: 3,
            per_tenant: 20,
            days: 1,
        };
    }
    if let Some(days) = days {
        size.days = days;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // At the start: the keeper may be committed to while this runs.
    let commit = commit();
    let started = Instant::now();
    let mut results = runtime.block_on(bench(size))?;
    results["quick"] = json!(quick);
    results["seconds"] = json!(started.elapsed().as_secs_f64());
    results["commit"] = json!(commit);
    let w = &results["week"];
    eprintln!(
        "replicas bench: {} kills, {} lapses, {} rounds worked by two replicas, slowest takeover {} s (lease {LEASE_SECONDS} s)",
        w["kills"], results["lapses"], w["doubly_worked"], w["slowest_takeover_seconds"]
    );
    if let Some(path) = json_path {
        std::fs::write(&path, serde_json::to_string_pretty(&results)?)?;
        eprintln!("replicas bench: wrote {path}");
    }
    Ok(())
}

/// The commit measured, `+` when the keeper's sources differ from it.
fn commit() -> Option<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let dirty = git(&["status", "--porcelain", "--", "."]).is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{head}+") } else { head })
}

fn configuration(size: Size, base_url: &str) -> String {
    let mut text = String::from("[keeper]\nprune = false\n");
    for t in 0..size.tenants {
        let _ = write!(
            text,
            r#"
[[tenant]]
name = "t{t:02}"
tenant_id = "7e9a0000-0000-4000-8000-{t:012x}"
base_url = "{base_url}/v1.0"

[tenant.credentials]
client_id = "{APP}"
client_secret_file = "client-secret"
authority = "{base_url}"
"#
        );
        for s in 0..size.per_tenant {
            let n = t * size.per_tenant + s;
            let lifetime = if s % 2 == 0 {
                "lifetime = \"60m\""
            } else {
                "lifetime = \"1d\""
            };
            let _ = write!(
                text,
                r#"
[[tenant.subscription]]
name = "u{n}-mail"
resource = "users/u{n}/messages"
change_types = ["created", "updated"]
notification_url = "https://hooks.example.com/notifications"
lifecycle_notification_url = "https://hooks.example.com/lifecycle"
client_state_file = "client-state"
{lifetime}
"#
            );
        }
    }
    text
}

struct Bench {
    emulator: RunningEmulator,
    folder: tempfile::TempDir,
    text: String,
    store_url: String,
    http: reqwest::Client,
    next_id: usize,
}

impl Bench {
    /// A new replica, as `keep run --store postgres://...` starts one.
    async fn replica(&mut self) -> Result<(String, Keeper)> {
        self.next_id += 1;
        let id = format!("replica-{}", self.next_id);
        let now = self.emulator.now();
        let checked = config::check(&self.text, self.folder.path(), &Folder, now);
        if checked.has_errors() {
            return Err(format!("the configuration has errors: {:?}", checked.problems).into());
        }
        let mut settings = setup::settings(&checked, Duration::from_secs(300));
        settings.replica = Some(Replica {
            id: id.clone(),
            lease: chrono::Duration::seconds(LEASE_SECONDS),
        });
        // Graph's limits are the emulator's, on its clock: in real time they would only
        // slow the simulated days (and stretch the takeovers measured in its time).
        let tenants = setup::tenants_paced(checked, self.folder.path(), &Folder, Pacing::OFF)?;
        let store = Store::open(&self.store_url, now).await?;
        Ok((id, Keeper::new(store, tenants, settings)))
    }

    async fn advance(&self, seconds: i64) -> Result<DateTime<Utc>> {
        let answer: Value = self
            .http
            .post(format!("{}/emulator/clock", self.emulator.base_url()))
            .json(&json!({ "advanceSeconds": seconds }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(answer["now"]
            .as_str()
            .ok_or("the clock's answer has no `now`")?
            .parse()?)
    }
}

/// What the days added up to.
#[derive(Debug, Default)]
struct Days {
    renewed: usize,
    created: usize,
    failed: usize,
    /// Rounds that failed other than by a lease.
    round_errors: usize,
    /// Tenant rounds worked by two replicas or more in one step (or one takeover).
    doubly_worked: usize,
    /// Tenant rounds worked by no replica in a step.
    unworked: usize,
    kills: usize,
    takeovers: Vec<f64>,
    /// From the end of the dead replica's lease (as the refusals gave it) to the takeover.
    after_lease: Vec<f64>,
    /// Takeovers that did not come within [`MAX_PROBES`].
    lost: usize,
    errors: Vec<String>,
}

impl Days {
    /// Counts one replica's round: whether it worked the tenant.
    fn count(&mut self, outcome: &std::result::Result<Report, KeeperError>) -> bool {
        match outcome {
            Ok(r) => {
                self.renewed += r.renewed;
                self.created += r.created;
                self.failed += r.failed;
                true
            }
            Err(KeeperError::Leased { .. }) => false,
            Err(e) => {
                self.round_errors += 1;
                if self.errors.len() < 5 {
                    self.errors.push(e.to_string());
                }
                false
            }
        }
    }
}

async fn round(
    keeper: &Keeper,
    tenant: usize,
    full: bool,
) -> std::result::Result<Report, KeeperError> {
    if full {
        keeper.reconcile(tenant).await
    } else {
        keeper.renew_due(tenant).await
    }
}

async fn bench(size: Size) -> Result<Value> {
    let pg = support::Postgres::start();
    let emulator = Emulator::builder()
        .endpoint_validation(false)
        .throttle(Throttle::GRAPH)
        .app(App::new(APP, SECRET, &["Mail.Read"]))
        .build()
        .start()
        .await?;
    let folder = tempfile::tempdir()?;
    std::fs::write(folder.path().join("client-secret"), SECRET)?;
    std::fs::write(
        folder.path().join("client-state"),
        "replicas-bench-client-state",
    )?;
    let text = configuration(size, emulator.base_url());
    let mut bench = Bench {
        emulator,
        folder,
        text,
        store_url: pg.url.clone(),
        http: reqwest::Client::new(),
        next_id: 0,
    };
    let subscriptions = size.tenants * size.per_tenant;
    eprintln!(
        "replicas bench: {subscriptions} subscriptions in {} tenants, {REPLICAS} replicas on PostgreSQL, {} simulated days",
        size.tenants, size.days
    );
    let mut replicas = Vec::new();
    for _ in 0..REPLICAS {
        replicas.push(bench.replica().await?);
    }

    // The start: all three ask for every tenant at once; one wins each.
    let started = Instant::now();
    let mut first = Days::default();
    for tenant in 0..size.tenants {
        let outcomes =
            futures_util::future::join_all(replicas.iter().map(|(_, k)| k.reconcile(tenant))).await;
        let worked = outcomes
            .iter()
            .map(|o| first.count(o))
            .filter(|w| *w)
            .count();
        first.doubly_worked += usize::from(worked > 1);
        first.unworked += usize::from(worked == 0);
    }
    let first_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "  start: {} created, {} failed, {} rounds failed, in {first_seconds:.1} s",
        first.created, first.failed, first.round_errors
    );
    let ids_at_start = graph_ids(&replicas[0].1, size.tenants).await?;

    let steps = size.days * 24 * 3600 / STEP_SECONDS as usize;
    let mut days = Days::default();
    let started = Instant::now();
    for step in 1..=steps {
        bench.advance(STEP_SECONDS).await?;
        let full = step % FULL_ROUND_EVERY == 0;
        // Tenants at once (each replica's client paces each tenant on its own, in real
        // time); within a tenant the replicas ask one after the other. Leases end
        // between steps (60 s against 15 minutes), so the first to ask takes a tenant:
        // they ask in turns, as their tasks' timers would interleave, and share the
        // tenants.
        let replicas_now = &replicas;
        let asked = futures_util::future::join_all((0..size.tenants).map(|tenant| async move {
            let mut outcomes = Vec::new();
            let order = (0..replicas_now.len()).map(|i| (i + tenant + step) % replicas_now.len());
            for (id, keeper) in order.map(|i| &replicas_now[i]) {
                outcomes.push((id.clone(), round(keeper, tenant, full).await));
            }
            (tenant, outcomes)
        }))
        .await;
        // Who worked each tenant this step.
        let mut holder: HashMap<usize, String> = HashMap::new();
        for (tenant, outcomes) in asked {
            let mut worked = 0;
            for (id, outcome) in outcomes {
                if days.count(&outcome) {
                    worked += 1;
                    holder.insert(tenant, id);
                }
            }
            days.doubly_worked += usize::from(worked > 1);
            days.unworked += usize::from(worked == 0);
        }
        if step % KILL_EVERY != 0 {
            continue;
        }
        // The kill: the replica holding the most tenants, right after its round.
        let mut held: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (tenant, id) in &holder {
            held.entry(id.as_str()).or_default().push(*tenant);
        }
        let Some((victim, orphans)) = held
            .into_iter()
            .max_by_key(|(_, tenants)| tenants.len())
            .map(|(id, tenants)| (id.to_owned(), tenants))
        else {
            continue;
        };
        let position = replicas
            .iter()
            .position(|(id, _)| *id == victim)
            .ok_or("the victim is not a replica")?;
        drop(replicas.remove(position));
        days.kills += 1;
        replicas.push(bench.replica().await?);
        // Graph's time at the kill: the victim's last lease was taken before it.
        let killed_at = bench.emulator.now();
        let mut waiting = orphans;
        // The dead replica's lease end for each orphan, as the refusals said it.
        let mut lease_end: HashMap<usize, DateTime<Utc>> = HashMap::new();
        for probe in 0..MAX_PROBES {
            if waiting.is_empty() {
                break;
            }
            // The first probe 10 s before the lease ends (where it must still hold),
            // then every 5 s.
            let jump = if probe == 0 {
                LEASE_SECONDS - 2 * PROBE_SECONDS
            } else {
                PROBE_SECONDS
            };
            bench.advance(jump).await?;
            let replicas_now = &replicas;
            let asked = futures_util::future::join_all(waiting.iter().map(|&tenant| async move {
                let mut outcomes = Vec::new();
                for (_, keeper) in replicas_now {
                    outcomes.push(keeper.renew_due(tenant).await);
                }
                (tenant, outcomes)
            }))
            .await;
            // Graph's time once the probe's rounds are done: no takeover of this probe
            // came later (an upper bound, by the time the rounds took).
            let probed_at = bench.emulator.now();
            let mut still = Vec::new();
            for (tenant, outcomes) in asked {
                let mut worked = 0;
                let mut refused_until = None;
                for outcome in &outcomes {
                    worked += usize::from(days.count(outcome));
                    if let Err(KeeperError::Leased { until, .. }) = outcome {
                        refused_until = Some(*until);
                    }
                }
                days.doubly_worked += usize::from(worked > 1);
                if worked == 0 {
                    // Every replica refused by the dead one's lease: its end. (A refusal
                    // in the probe of the takeover may be by the new holder's lease.)
                    if let Some(until) = refused_until {
                        lease_end.insert(tenant, until);
                    }
                    still.push(tenant);
                } else {
                    let seconds = |d: chrono::Duration| d.num_milliseconds() as f64 / 1000.0;
                    days.takeovers.push(seconds(probed_at - killed_at));
                    if let Some(end) = lease_end.get(&tenant) {
                        days.after_lease.push(seconds(probed_at - *end));
                    }
                }
            }
            waiting = still;
        }
        days.lost += waiting.len();
        if step % 96 == 0 {
            eprintln!(
                "  day {}: {} renewed, {} kills, {:.0} s",
                step / 96,
                days.renewed,
                days.kills,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let days_seconds = started.elapsed().as_secs_f64();

    // The end: every subscription alive in the store (a future expiry) and in Graph,
    // each the one created at the start.
    let now = bench.emulator.now();
    let store = replicas[0].1.store();
    let mut alive = 0;
    for name in replicas[0].1.tenant_names() {
        alive += store
            .rows(name)
            .await?
            .iter()
            .filter(|r| r.graph_id.is_some() && r.expires_at.is_some_and(|at| at > now))
            .count();
    }
    let ids_at_end = graph_ids(&replicas[0].1, size.tenants).await?;
    let same_ids = ids_at_end == ids_at_start;
    let in_graph = bench.emulator.subscription_count().await;
    let stats: Value = bench
        .http
        .get(format!("{}/emulator/stats", bench.emulator.base_url()))
        .send()
        .await?
        .json()
        .await?;
    for (_, keeper) in &replicas {
        keeper.release().await;
    }
    let lapses = days.created
        + days.failed
        + days.round_errors
        + first.failed
        + first.round_errors
        + (subscriptions - alive.min(subscriptions))
        + usize::from(!same_ids);
    for e in first.errors.iter().chain(&days.errors) {
        eprintln!("    {e}");
    }
    let slowest = days.takeovers.iter().copied().fold(0.0, f64::max);
    let mean = if days.takeovers.is_empty() {
        0.0
    } else {
        days.takeovers.iter().sum::<f64>() / days.takeovers.len() as f64
    };
    Ok(json!({
        "tenants": size.tenants,
        "per_tenant": size.per_tenant,
        "subscriptions": subscriptions,
        "days": size.days,
        "replicas": REPLICAS,
        "step_minutes": STEP_SECONDS / 60,
        "lease_seconds": LEASE_SECONDS,
        "probe_seconds": PROBE_SECONDS,
        "cpus": std::thread::available_parallelism().map_or(1, usize::from),
        "start": {
            "seconds": first_seconds,
            "created": first.created,
            "failed": first.failed,
            "round_errors": first.round_errors,
            "doubly_worked": first.doubly_worked,
            "unworked": first.unworked,
        },
        "week": {
            "steps": steps,
            "seconds": days_seconds,
            "renewed": days.renewed,
            "created": days.created,
            "failed": days.failed,
            "round_errors": days.round_errors,
            "doubly_worked": days.doubly_worked,
            "unworked": days.unworked,
            "kills": days.kills,
            "takeovers": days.takeovers.len(),
            "lost_takeovers": days.lost,
            "slowest_takeover_seconds": slowest,
            "mean_takeover_seconds": mean,
            "slowest_after_lease_seconds": days.after_lease.iter().copied().fold(0.0, f64::max),
        },
        "alive_at_end": alive,
        "same_ids": same_ids,
        "in_graph": in_graph,
        "lapses": lapses,
        "emulator": {
            "requests": stats["requests"],
            "throttled": stats["throttled"],
        },
    }))
}

/// Every remembered Graph id, by tenant and name.
async fn graph_ids(keeper: &Keeper, tenants: usize) -> Result<BTreeMap<(String, String), String>> {
    let mut ids = BTreeMap::new();
    for name in keeper.tenant_names().into_iter().take(tenants) {
        for row in keeper.store().rows(name).await? {
            if let Some(id) = row.graph_id {
                ids.insert((row.tenant, row.name), id);
            }
        }
    }
    Ok(ids)
}
