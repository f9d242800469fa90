//! The keeper at scale (issue 10): 100,000 mail subscriptions across 100 tenants kept
//! alive on the emulator over 7 simulated days, with 0 lapses, no request answered 429
//! by Graph's throttling, and a peak RSS under 256 MiB; the store's size reported.
//!
//! The emulator runs as a child process (the release `graph-subs emulator`, Graph's
//! throttling on, endpoint validation off, its log at `warn` in a file of the temporary
//! folder), so that this process's peak RSS (`getrusage(RUSAGE_SELF)`'s `ru_maxrss`) is
//! the keeper's and this harness's, never the emulator's. The keeper is the library
//! `graph-subs keep run` drives, driven the way its tests drive a simulated week
//! (`crates/graph-subs-keeper/tests/keeper.rs`):
//!
//! 1. a configuration of 100 tenants × 1,000 subscriptions to `users/u{n}/messages`
//!    (client credentials of the emulator's app, `base_url` and `authority` the
//!    emulator) is written to a temporary folder, read back and checked
//!    (`config::check`), then turned into tenants (`setup::tenants`), each with its own
//!    client, its own token and so its own share of Graph's limits;
//! 2. a SQLite store is opened there, and one full round per tenant creates everything
//!    ([`TENANTS_AT_ONCE`] tenants at a time);
//! 3. 7 days pass in 15-minute steps: the emulator's clock is advanced, then every tenant
//!    renews what is due from the store (`renew_due`), with a full round (Graph listed)
//!    every 8 simulated hours instead.
//!
//! A lapse is a subscription created after the first round (Graph no longer had it) or a
//! failed call or round. "No tenant exceeds Graph's write limit" is the emulator's own
//! count of requests it answered 429 (`GET /emulator/stats`): each tenant's client paces
//! itself to Graph's limits (1,000 writes per 20 s per app and tenant), and the emulator
//! enforces the same limits per app and tenant; the largest number of renewals one tenant
//! sent in one step is reported beside it. The store's size is its file plus its `-wal`,
//! at the end of the week with the store still open.
//!
//! `--quick`: 10 tenants × 100 subscriptions, for trying the harness (about 20 s); judged
//! by no goal. It still simulates 7 days: a mail subscription lasts up to 7 days (10,080
//! minutes) and falls due 6 hours before its end, so a shorter run would renew nothing
//! and leave the renewal path untried. `--tenants N`, `--per-tenant N` and `--days N`
//! choose other sizes for hand runs (judged only at the goal's size or more).
//!
//! The results name the commit measured (`git rev-parse`), and whether the keeper's
//! sources differed from it: the keeper is worked on while this runs.
//!
//! ```text
//! cargo bench -p graph-subs-cli --bench keeper -- [--quick] [--json PATH]
//!     [--tenants N] [--per-tenant N] [--days N]
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use graph_subs_benchkit::{Result, cpu_seconds, status_kib};
use graph_subs_keeper::config::{self, System};
use graph_subs_keeper::run::{Keeper, KeeperError, Report};
use graph_subs_keeper::setup;
use graph_subs_keeper::store::Store;
use serde_json::{Value, json};

/// The emulator's app: the tenants' client credentials.
const APP: &str = "3c1f6f1a-5d2e-4b7c-9a40-6b0d2c7e8f11";
/// Its secret, in a file of the temporary folder (never on a command line).
const SECRET: &str = "keeper-bench-secret";
/// One simulated step: the clock moves this far, then every tenant is kept.
const STEP_SECONDS: i64 = 15 * 60;
/// A full round (List) every this many steps: 8 simulated hours, as in the keeper's
/// week test. Between them the keeper renews from the store, as `keep run` does between
/// its poll intervals.
const FULL_ROUND_EVERY: usize = 32;
/// Tenants worked on at once, each in a task of its own on the runtime's workers, as
/// `keep run` runs them. `keep run` starts every tenant's task at once and lets each wait
/// for its own next renewal; a step here has every tenant due at the same moment, so
/// they are bounded, as the keeper bounds its own calls (8 creates at once per tenant),
/// rather than all 100 queued on the store's one SQLite connection at once.
const TENANTS_AT_ONCE: usize = 8;

/// The run's size.
#[derive(Debug, Clone, Copy)]
struct Size {
    tenants: usize,
    per_tenant: usize,
    days: usize,
}

fn main() {
    graph_subs_benchkit::exit_on_error(run());
}

fn run() -> Result<()> {
    let mut json_path = None;
    let mut quick = false;
    let mut size = Size {
        tenants: 100,
        per_tenant: 1_000,
        days: 7,
    };
    let mut custom = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> Result<usize> {
            args.next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{what} needs a whole number above 0").into())
        };
        match arg.as_str() {
            "--json" => json_path = Some(args.next().ok_or("--json needs a path")?),
            "--quick" => quick = true,
            "--tenants" => custom.push(("tenants", number("--tenants")?)),
            "--per-tenant" => custom.push(("per_tenant", number("--per-tenant")?)),
            "--days" => custom.push(("days", number("--days")?)),
            // Cargo passes `--bench` to every bench binary; a filter is not used.
            _ => {}
        }
    }
    if quick {
        size = Size {
            tenants: 10,
            per_tenant: 100,
            days: 7,
        };
    }
    for (what, n) in custom {
        match what {
            "tenants" => size.tenants = n,
            "per_tenant" => size.per_tenant = n,
            _ => size.days = n,
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // At the start: the keeper may be committed to while this runs.
    let commit = commit();
    let started = Instant::now();
    let mut results = runtime.block_on(bench(size))?;
    results["quick"] = json!(quick);
    results["commit"] = json!(commit);
    results["seconds"] = json!(started.elapsed().as_secs_f64());
    eprintln!(
        "keeper bench: {} subscriptions, {} tenants, {} days: {} lapses, {} throttled, peak RSS {:.1} MiB, store {:.1} MiB",
        results["subscriptions"],
        results["tenants"],
        results["days"],
        results["week"]["lapses"],
        results["emulator"]["throttled"],
        results["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
        results["store"]["bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
    );
    if let Some(path) = json_path {
        if let Some(parent) = Path::new(&path).parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")?;
        eprintln!("keeper bench: wrote {path}");
    }
    Ok(())
}

/// The commit measured, `abc1234` (`abc1234+` when the keeper's or the client's sources
/// differ from it), or `unknown` outside a git checkout.
fn commit() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(&root)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".to_owned();
    };
    let changed = git(&[
        "status",
        "--porcelain",
        "--",
        "crates/graph-subs-keeper",
        "crates/graph-subs-http",
    ])
    .is_some_and(|s| !s.is_empty());
    if changed { format!("{head}+") } else { head }
}

/// The emulator in its own process, killed (by its own handle) when dropped, so that an
/// error anywhere in the harness leaves nothing running.
struct EmulatorProcess {
    child: Child,
    base_url: String,
    /// Kept open: the emulator wrote its start-up line there, and may write again.
    _stdout: BufReader<ChildStdout>,
}

impl EmulatorProcess {
    /// `graph-subs emulator` on a free port with Graph's throttling and the app, its log
    /// in `folder/emulator.log`.
    fn start(folder: &Path) -> Result<EmulatorProcess> {
        let apps = folder.join("apps.toml");
        std::fs::write(
            &apps,
            format!(
                "[[app]]\nclient_id = \"{APP}\"\nsecret = \"{SECRET}\"\nroles = [\"Mail.Read\"]\n"
            ),
        )?;
        let log = std::fs::File::create(folder.join("emulator.log"))?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_graph-subs"))
            .args([
                "emulator",
                "--listen",
                "127.0.0.1:0",
                "--json",
                "--throttle",
                "on",
                "--no-endpoint-validation",
                "--apps-file",
            ])
            .arg(&apps)
            // One line a request at `info`: millions over the week. Throttled requests
            // are logged at `warn`, and counted in its stats whatever the log says.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no emulator stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let facts: Value = serde_json::from_str(&line).map_err(|e| {
            let log = std::fs::read_to_string(folder.join("emulator.log")).unwrap_or_default();
            format!("the emulator did not start ({e}): {log}")
        })?;
        let base_url = facts["baseUrl"]
            .as_str()
            .ok_or("the emulator's start-up line has no baseUrl")?
            .to_owned();
        Ok(EmulatorProcess {
            child,
            base_url,
            _stdout: stdout,
        })
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/PID/status` given in kB, in bytes (0 when unreadable).
fn status_bytes(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// This process's resident size now, in bytes.
fn rss_now() -> u64 {
    status_kib("VmRSS").map_or(0, |kib| kib * 1024)
}

/// This process's resident size now and its peak so far (`VmHWM`), in bytes: the peak
/// after each phase says which phase set it.
fn memory_now() -> (u64, u64) {
    (rss_now(), status_kib("VmHWM").map_or(0, |kib| kib * 1024))
}

/// This process's peak resident size, in bytes (`ru_maxrss`, KiB on Linux).
fn peak_rss() -> Result<u64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF)?;
    Ok(u64::try_from(usage.max_rss())? * 1024)
}

/// The emulator's API beside Graph's: its clock and its counters.
struct Control {
    http: reqwest::Client,
    base_url: String,
}

impl Control {
    async fn now(&self) -> Result<DateTime<Utc>> {
        let answer: Value = self
            .http
            .get(format!("{}/emulator/clock", self.base_url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(answer["now"].as_str().ok_or("no now")?.parse()?)
    }

    async fn advance(&self, seconds: i64) -> Result<DateTime<Utc>> {
        let answer: Value = self
            .http
            .post(format!("{}/emulator/clock", self.base_url))
            .json(&json!({ "advanceSeconds": seconds }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(answer["now"].as_str().ok_or("no now")?.parse()?)
    }

    /// `{requests, throttled, faultsInjected}`.
    async fn stats(&self) -> Result<Value> {
        Ok(self
            .http
            .get(format!("{}/emulator/stats", self.base_url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

/// A tenant's id: a GUID of its own, so that each has its own token and limits.
fn tenant_id(t: usize) -> String {
    format!("7e9a0000-0000-4000-8000-{t:012x}")
}

/// The configuration: `size.tenants` tenants of `size.per_tenant` mail subscriptions
/// each, every one on a mailbox of its own (Graph's quota is 1,000 a mailbox).
fn configuration(size: Size, base_url: &str) -> String {
    let mut text = String::with_capacity(size.tenants * size.per_tenant * 320);
    text.push_str("[keeper]\nprune = false\n");
    for t in 0..size.tenants {
        let _ = write!(
            text,
            r#"
[[tenant]]
name = "t{t:03}"
tenant_id = "{}"
base_url = "{base_url}/v1.0"

[tenant.credentials]
client_id = "{APP}"
client_secret_file = "client-secret"
authority = "{base_url}"
"#,
            tenant_id(t)
        );
        for s in 0..size.per_tenant {
            let n = t * size.per_tenant + s;
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
"#
            );
        }
    }
    text
}

/// A round for every tenant (a full one when `full`, else `renew_due`), each in a task of
/// its own as `keep run` runs them (on the runtime's workers, in parallel), at most
/// [`TENANTS_AT_ONCE`] at a time: each tenant's outcome, in the order they finish.
async fn every_tenant(keeper: &Arc<Keeper>, full: bool) -> Result<Vec<Outcome>> {
    let tasks: Vec<_> = futures_util::stream::iter(0..keeper.tenant_names().len())
        .map(|i| {
            let keeper = keeper.clone();
            tokio::spawn(async move {
                if full {
                    keeper.reconcile(i).await
                } else {
                    keeper.renew_due(i).await
                }
            })
        })
        .buffer_unordered(TENANTS_AT_ONCE)
        .collect()
        .await;
    Ok(tasks.into_iter().collect::<std::result::Result<_, _>>()?)
}

/// A tenant's round.
type Outcome = std::result::Result<Report, KeeperError>;

/// What the week added up to.
#[derive(Debug, Default)]
struct Week {
    renewed: usize,
    created: usize,
    adopted: usize,
    failed: usize,
    round_errors: usize,
    /// The most renewals one tenant sent in one step.
    max_tenant_step: usize,
    /// The most renewals all tenants sent in one step.
    max_step: usize,
    /// Steps in which some renewal was sent: how the renewals were spread over the week.
    renewal_steps: usize,
    slowest_step: f64,
    full_round_seconds: f64,
    renew_due_seconds: f64,
}

async fn bench(size: Size) -> Result<Value> {
    let dir = tempfile::tempdir()?;
    let folder = dir.path();
    let emulator = EmulatorProcess::start(folder)?;
    let control = Control {
        http: reqwest::Client::new(),
        base_url: emulator.base_url.clone(),
    };
    std::fs::write(folder.join("client-secret"), SECRET)?;
    std::fs::write(folder.join("client-state"), "keeper-bench-client-state")?;
    let config_path = folder.join("keeper.toml");
    std::fs::write(&config_path, configuration(size, &emulator.base_url))?;
    let config_bytes = std::fs::metadata(&config_path)?.len();
    let subscriptions = size.tenants * size.per_tenant;
    eprintln!(
        "keeper bench: {subscriptions} subscriptions in {} tenants over {} simulated days (configuration {:.1} MiB)",
        size.tenants,
        size.days,
        config_bytes as f64 / 1048576.0
    );

    // As `keep run` starts: the file read and checked, the tenants made, the store opened.
    let started = Instant::now();
    let now = control.now().await?;
    let text = std::fs::read_to_string(&config_path)?;
    let checked = config::check(&text, folder, &System, now);
    let check_seconds = started.elapsed().as_secs_f64();
    if checked.has_errors() {
        let first: Vec<String> = checked
            .problems
            .iter()
            .take(5)
            .map(|p| p.render("keeper.toml"))
            .collect();
        return Err(format!("the configuration has errors:\n{}", first.join("")).into());
    }
    let memory_after_check = memory_now();
    eprintln!("  checked in {check_seconds:.1} s");
    let started = Instant::now();
    let settings = setup::settings(&checked, Duration::from_secs(300));
    drop(text);
    let tenants = setup::tenants(checked, folder, &System)?;
    let store_path = folder.join("keeper.db");
    let store = Store::open(&format!("sqlite://{}", store_path.display()), now).await?;
    let keeper = Arc::new(Keeper::new(store, tenants, settings));
    let setup_seconds = started.elapsed().as_secs_f64();
    let memory_after_setup = memory_now();

    // Everything created: one full round per tenant.
    let started = Instant::now();
    let mut first = Report::default();
    let mut first_errors = Vec::new();
    for outcome in every_tenant(&keeper, true).await? {
        match outcome {
            Ok(r) => {
                first.created += r.created;
                first.failed += r.failed;
            }
            Err(e) => first_errors.push(e.to_string()),
        }
    }
    let first_round_seconds = started.elapsed().as_secs_f64();
    let memory_after_first_round = memory_now();
    eprintln!(
        "  first round: {} created, {} failed, {} rounds failed, in {first_round_seconds:.1} s",
        first.created,
        first.failed,
        first_errors.len()
    );
    for e in first_errors.iter().take(3) {
        eprintln!("    {e}");
    }

    // The week.
    let steps = size.days * 24 * 3600 / STEP_SECONDS as usize;
    let mut week = Week::default();
    let mut now = now;
    let started = Instant::now();
    for step in 1..=steps {
        now = control.advance(STEP_SECONDS).await?;
        let step_started = Instant::now();
        let full = step % FULL_ROUND_EVERY == 0;
        let outcomes = every_tenant(&keeper, full).await?;
        let mut step_renewals = 0;
        for outcome in outcomes {
            match outcome {
                Ok(r) => {
                    week.renewed += r.renewed;
                    week.created += r.created;
                    week.adopted += r.adopted;
                    week.failed += r.failed;
                    week.max_tenant_step = week.max_tenant_step.max(r.renewed);
                    step_renewals += r.renewed;
                }
                Err(e) => {
                    if week.round_errors < 5 {
                        eprintln!("  step {step}: {e}");
                    }
                    week.round_errors += 1;
                }
            }
        }
        week.max_step = week.max_step.max(step_renewals);
        week.renewal_steps += usize::from(step_renewals > 0);
        let seconds = step_started.elapsed().as_secs_f64();
        week.slowest_step = week.slowest_step.max(seconds);
        if full {
            week.full_round_seconds += seconds;
        } else {
            week.renew_due_seconds += seconds;
        }
        if step % 96 == 0 {
            eprintln!(
                "  day {}: {} renewed, {} lapses so far, {:.0} s, RSS {:.1} MiB",
                step / 96,
                week.renewed,
                week.created + week.failed + week.round_errors,
                started.elapsed().as_secs_f64(),
                rss_now() as f64 / 1048576.0
            );
        }
    }
    let week_seconds = started.elapsed().as_secs_f64();

    let memory_after_week = memory_now();

    // The end: every subscription remembered, with a Graph id, expiring in the future,
    // counted tenant by tenant (as the keeper reads its store) so that the count does
    // not hold every row at once and set a peak of its own.
    let mut alive = 0;
    for name in keeper.tenant_names() {
        alive += keeper
            .store()
            .rows(name)
            .await?
            .iter()
            .filter(|r| r.graph_id.is_some() && r.expires_at.is_some_and(|at| at > now))
            .count();
    }
    let size_of = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let db_bytes = size_of(&store_path);
    let wal_bytes = size_of(&folder.join("keeper.db-wal"));
    let stats = control.stats().await?;
    let emulator_cpu = cpu_seconds(&emulator.pid());
    let emulator_peak = status_bytes(&emulator.pid(), "VmHWM");
    let keeper_cpu = cpu_seconds("self");
    let peak = peak_rss()?;
    let memory_end = memory_now();
    keeper.store().close().await;
    drop(keeper);
    drop(emulator);
    let lapses = week.created + week.failed + week.round_errors;
    Ok(json!({
        "tenants": size.tenants,
        "subscriptions": subscriptions,
        "per_tenant": size.per_tenant,
        "days": size.days,
        "step_minutes": STEP_SECONDS / 60,
        "full_round_every_hours": FULL_ROUND_EVERY as i64 * STEP_SECONDS / 3600,
        "tenants_at_once": TENANTS_AT_ONCE,
        "cpus": std::thread::available_parallelism().map_or(1, usize::from),
        "config_bytes": config_bytes,
        "check_seconds": check_seconds,
        "setup_seconds": setup_seconds,
        "first_round": {
            "seconds": first_round_seconds,
            "created": first.created,
            "failed": first.failed,
            "round_errors": first_errors.len(),
        },
        "week": {
            "steps": steps,
            "seconds": week_seconds,
            "renewed": week.renewed,
            "created": week.created,
            "adopted": week.adopted,
            "failed": week.failed,
            "round_errors": week.round_errors,
            "lapses": lapses,
            "max_tenant_step_renewals": week.max_tenant_step,
            "max_step_renewals": week.max_step,
            "renewal_steps": week.renewal_steps,
            "slowest_step_seconds": week.slowest_step,
            "full_round_steps_seconds": week.full_round_seconds,
            "renew_due_steps_seconds": week.renew_due_seconds,
        },
        "alive_at_end": alive,
        "emulator": {
            "requests": stats["requests"],
            "throttled": stats["throttled"],
            "cpu_seconds": emulator_cpu,
            "peak_rss_bytes": emulator_peak,
        },
        "keeper_cpu_seconds": keeper_cpu,
        "peak_rss_bytes": peak,
        "rss_bytes": {
            "after_check": memory_after_check.0,
            "after_setup": memory_after_setup.0,
            "after_first_round": memory_after_first_round.0,
            "after_week": memory_after_week.0,
            "end": memory_end.0,
        },
        "hwm_bytes": {
            "after_check": memory_after_check.1,
            "after_setup": memory_after_setup.1,
            "after_first_round": memory_after_first_round.1,
            "after_week": memory_after_week.1,
            "end": memory_end.1,
        },
        "store": {
            "db_bytes": db_bytes,
            "wal_bytes": wal_bytes,
            "bytes": db_bytes + wal_bytes,
        },
    }))
}
