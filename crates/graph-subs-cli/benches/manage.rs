//! The performance goals of `graph-subs-http` and the commands on it (issue 8), against
//! the emulator over loopback:
//!
//! 1. `renew`: 10,000 stored subscriptions, endpoint validation and throttling off, the
//!    emulator kept on CPU 0 and the clients on CPU 1, every client at the same
//!    concurrency (16, the client's default), each after a warm-up of 320 renewals, in 5
//!    passes over all 10,000, the clients taking turns (the median pass counts):
//!    - a minimal HTTP/1.1 loop (`graph_subs_benchkit::RawConnection`, 16 keep-alive
//!      connections): the emulator's limit on its CPU;
//!    - reqwest alone sending the same PATCHes: the HTTP stack's own cost, which
//!      graph-subs-http's one request each cannot go below;
//!    - `GraphClient::renew_many`, one request a renewal (`Mode::Single`), then through
//!      `$batch` (`Mode::Batched`, 20 a request);
//!    - the official Python SDK (`msgraph-sdk`, `examples/python/renew_bench.py`) over
//!      2,000 of them once, when a Python with it is given in `GRAPH_SUBS_BENCH_PYTHON`
//!      (`cargo xtask bench` prepares one): at about 50 a second, more would take minutes.
//! 2. `throttled`: 2,000 renewals through `$batch` on an emulator with Graph's limits
//!    (1,000 writes per 20 s per app and tenant) and the client's default pacing: the
//!    time taken against the least the limit allows, and the 429s the emulator counted.
//! 3. `list`: `graph-subs list --jsonl --pacing off` (the release binary) over 1,000,000
//!    stored subscriptions, its output counted line by line: time and peak RSS (its
//!    `ru_maxrss`, read by a small process that starts nothing else).
//!
//! Each part runs in child processes (this binary again, with `GRAPH_SUBS_BENCH_ROLE`);
//! each prints one JSON line, gathered here and written with `--json PATH` for `cargo
//! xtask bench`, which judges them and writes `docs/performance.md`. `--quick` runs
//! smaller sizes for trying the harness; its numbers are judged by no goal.
//!
//! ```text
//! cargo bench -p graph-subs-cli --bench manage -- [--json PATH] [--quick]
//! cargo bench -p graph-subs-cli --bench manage -- --profile raw|reqwest|single|batch
//! ```
//!
//! `--profile CLIENT` runs only goal 1's renewals, by that one client, for 20 passes
//! (about 5 to 10 seconds), and judges nothing: a steady load to `perf record`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use graph_subs_benchkit::fill::{fill, rfc3339, server_runtime};
use graph_subs_benchkit::{RawConnection, Result, print_line, status_kib};
use graph_subs_emulator::{DEFAULT_APP_ID, Emulator, RunningEmulator, Throttle, TokenSpec};
use graph_subs_http::{GraphClient, Mode, Pacing, StaticToken};
use serde_json::{Value, json};

/// The variable that tells a child process which part it runs.
const ROLE: &str = "GRAPH_SUBS_BENCH_ROLE";
/// A Python interpreter with `msgraph-sdk` installed.
const PYTHON: &str = "GRAPH_SUBS_BENCH_PYTHON";
/// Requests in flight, for every client: the client's default.
const CONCURRENCY: usize = 16;
/// Renewals before each client's measured passes (20 a connection), not counted.
const WARM_UP: usize = 320;
/// Measured passes over every subscription, per client, the clients in turns (a round):
/// the median counts, and a client's median ratio to the raw loop's pass of the same
/// round.
const PASSES: usize = 9;
/// The Python SDK renews this many of the subscriptions, once: at about 50 a second
/// (`docs/performance.md`), all of them three times would take ten minutes.
const PYTHON_RENEWALS: usize = 2_000;
/// Roles the stored subscriptions' app holds: enough for `users/{id}/messages`.
const ROLES: [&str; 1] = ["Mail.Read"];

#[derive(Debug, Clone, Copy)]
struct Options {
    quick: bool,
    /// `--profile`: goal 1's renewals by this client only, for a profiler.
    profile: Option<Client>,
}

/// The clients of goal 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Raw,
    /// reqwest alone, the same PATCHes as the raw loop: the HTTP stack's share of a
    /// request's cost, beside graph-subs-http's (`Single`).
    Reqwest,
    Single,
    Batched,
}

impl Client {
    const ALL: [Client; 4] = [
        Client::Raw,
        Client::Reqwest,
        Client::Single,
        Client::Batched,
    ];

    fn name(self) -> &'static str {
        match self {
            Client::Raw => "raw-http1",
            Client::Reqwest => "reqwest alone (no graph-subs)",
            Client::Single => "graph-subs-http (one request each)",
            Client::Batched => "graph-subs-http ($batch)",
        }
    }

    /// The `--profile` argument.
    fn arg(self) -> &'static str {
        match self {
            Client::Raw => "raw",
            Client::Reqwest => "reqwest",
            Client::Single => "single",
            Client::Batched => "batch",
        }
    }
}

impl Options {
    fn renewals(self) -> usize {
        if self.quick { 2_000 } else { 10_000 }
    }

    fn throttled_renewals(self) -> usize {
        // Past one window's 1,000 either way: the pacing must wait once.
        if self.quick { 1_200 } else { 2_000 }
    }

    fn listed(self) -> usize {
        if self.quick { 100_000 } else { 1_000_000 }
    }
}

fn main() {
    graph_subs_benchkit::exit_on_error(run());
}

fn run() -> Result<()> {
    let mut json_path = None;
    let mut options = Options {
        quick: false,
        profile: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json_path = Some(args.next().ok_or("--json needs a path")?),
            "--quick" => options.quick = true,
            "--profile" => {
                let name = args
                    .next()
                    .ok_or("--profile needs raw, reqwest, single or batch")?;
                options.profile = Some(
                    Client::ALL
                        .into_iter()
                        .find(|c| c.arg() == name)
                        .ok_or_else(|| {
                            format!("--profile {name:?}: give raw, reqwest, single or batch")
                        })?,
                );
            }
            // Cargo passes `--bench` to every bench binary; a filter is not used.
            _ => {}
        }
    }
    match std::env::var(ROLE).ok().as_deref() {
        None => orchestrate(options, json_path.as_deref()),
        Some("renew-server") => renew_server(options),
        Some("renew-client") => print_line(&renew_client(options)?),
        Some("throttled") => print_line(&throttled(options)?),
        Some("list-server") => list_server(options),
        Some("list-client") => print_line(&list_client()?),
        Some(other) => Err(format!("unknown {ROLE} {other:?}").into()),
    }
}

/// This binary again, running `role`.
fn role_command(role: &str, options: Options) -> Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command.env(ROLE, role).stderr(Stdio::inherit());
    if options.quick {
        command.arg("--quick");
    }
    if let Some(client) = options.profile {
        command.args(["--profile", client.arg()]);
    }
    Ok(command)
}

/// Runs `role` in a child process: its one line of JSON.
fn child(role: &str, options: Options) -> Result<Value> {
    let output = role_command(role, options)?.output()?;
    if !output.status.success() {
        return Err(format!("the {role} part failed ({})", output.status).into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn orchestrate(options: Options, json_path: Option<&str>) -> Result<()> {
    let started = Instant::now();
    eprintln!("manage bench: renewals...");
    let renew = renew(options)?;
    if options.profile.is_some() {
        eprintln!("{renew}");
        return Ok(());
    }
    for run in renew["runs"].as_array().into_iter().flatten() {
        eprintln!(
            "  {}: {:.0} renewals/s ({} renewed, {} failed)",
            run["client"],
            run["per_second"].as_f64().unwrap_or(0.0),
            run["renewed"],
            run["failed"]
        );
    }
    if let Some(reason) = renew["python_missing"].as_str() {
        eprintln!("  msgraph-sdk: not measured: {reason}");
    }
    eprintln!("manage bench: renewals under Graph's throttling (20 s or more)...");
    let throttled = child("throttled", options)?;
    eprintln!(
        "  {} renewals in {:.1} s (the limit allows {:.0} s at best), {} of {} requests answered 429",
        throttled["renewals"],
        throttled["seconds"].as_f64().unwrap_or(0.0),
        throttled["least_seconds"].as_f64().unwrap_or(0.0),
        throttled["throttled"],
        throttled["requests"]
    );
    eprintln!("manage bench: list --jsonl...");
    let list = list(options)?;
    eprintln!(
        "  {} lines in {:.1} s, peak RSS {:.1} MiB",
        list["lines"],
        list["seconds"].as_f64().unwrap_or(0.0),
        list["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1048576.0
    );
    let results = json!({
        "renew": renew,
        "throttled": throttled,
        "list": list,
        "quick": options.quick,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some(path) = json_path {
        if let Some(parent) = Path::new(path).parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&results)? + "\n")?;
        eprintln!("manage bench: wrote {path}");
    }
    Ok(())
}

/// An emulator with `stored` subscriptions of the default app, and a token for it.
async fn filled(throttle: Throttle, stored: usize) -> Result<(RunningEmulator, String)> {
    let emulator = Emulator::builder()
        .endpoint_validation(false)
        .throttle(throttle)
        .build()
        .start()
        .await?;
    fill(&emulator, 0, stored).await?;
    let token = emulator.token(&TokenSpec::application(
        emulator.tenant_id(),
        DEFAULT_APP_ID,
        &ROLES,
    ));
    Ok((emulator, token))
}

/// The ids of every stored subscription, through List (throttling off).
async fn stored_ids(client: &GraphClient) -> Result<Vec<String>> {
    use futures_util::TryStreamExt as _;
    let mut ids: Vec<String> = client
        .list()
        .map_ok(|s| s.id)
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    ids.sort();
    Ok(ids)
}

fn client(base_url: &str, token: &str, pacing: Pacing) -> Result<GraphClient> {
    Ok(GraphClient::builder()
        .base_url(format!("{base_url}/v1.0"))
        .token_provider(StaticToken::new(token))
        .concurrency(CONCURRENCY)
        .pacing(pacing)
        .build()
        .map_err(|e| e.to_string())?)
}

/// The median over rounds of a client's rate over the raw loop's in the same round: the
/// host's speed changes from minute to minute, and passes a second apart see nearly the
/// same host.
fn paired_ratio(passes: &[(usize, usize, f64)], raw: &[(usize, usize, f64)]) -> f64 {
    let rate = |(renewed, _, seconds): &(usize, usize, f64)| *renewed as f64 / seconds.max(1e-9);
    let mut ratios: Vec<f64> = passes
        .iter()
        .zip(raw)
        .map(|(pass, raw)| rate(pass) / rate(raw).max(1e-9))
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or(0.0)
}

/// One client's passes, each `(renewed, failed, seconds)`: its rate is the median
/// pass's.
fn run_line(client: &str, passes: &[(usize, usize, f64)]) -> Value {
    let mut rates: Vec<f64> = passes
        .iter()
        .map(|(renewed, _, seconds)| *renewed as f64 / seconds.max(1e-9))
        .collect();
    rates.sort_by(f64::total_cmp);
    json!({
        "client": client,
        "renewed": passes.iter().map(|p| p.0).sum::<usize>(),
        "failed": passes.iter().map(|p| p.1).sum::<usize>(),
        "passes": passes.len(),
        "pass_seconds": passes.iter().map(|p| p.2).collect::<Vec<_>>(),
        "per_second": rates.get(rates.len() / 2).copied().unwrap_or(0.0),
        "concurrency": CONCURRENCY,
    })
}

/// Goal 1: the same renewals by each client. The emulator runs in a process of its own
/// on CPU 0 (one tokio worker), the clients in another on CPU 1: the server's limit is
/// then one CPU's worth of emulator, whatever the client, and a client's own cost shows
/// as how close it comes to that limit (on shared CPUs it would take from the server).
fn renew(options: Options) -> Result<Value> {
    server_and_client("renew-server", "renew-client", options)
}

/// Keeps this process (and what it starts) on one CPU, when the machine has two or more.
fn pin(cpu: usize) -> Result<Option<usize>> {
    use nix::sched::{CpuSet, sched_setaffinity};
    use nix::unistd::Pid;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus < 2 {
        return Ok(None);
    }
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)?;
    Ok(Some(cpu))
}

/// A tokio runtime with one worker: the process has one CPU.
fn one_worker() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?)
}

/// The emulator of goal 1, on CPU 0: prints where it is and a token, then serves until
/// its stdin closes.
fn renew_server(options: Options) -> Result<()> {
    let cpu = pin(0)?;
    let server = one_worker()?;
    let n = options.renewals();
    let (emulator, token) = server.block_on(filled(Throttle::OFF, n))?;
    print_line(&json!({
        "base_url": emulator.base_url(),
        "token": token,
        "subscriptions": n,
        "now": rfc3339(emulator.now()),
        "cpu": cpu,
    }))?;
    let mut rest = String::new();
    while std::io::stdin().read_line(&mut rest)? > 0 {}
    server.block_on(emulator.shutdown())?;
    Ok(())
}

/// The clients of goal 1, on CPU 1, taking turns over the same subscriptions.
fn renew_client(options: Options) -> Result<Value> {
    let cpu = pin(1)?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let target: Value = serde_json::from_str(&line)?;
    let (Some(base_url), Some(token), Some(n), Some(now)) = (
        target["base_url"].as_str(),
        target["token"].as_str(),
        target["subscriptions"].as_u64(),
        target["now"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
    ) else {
        return Err("the server's line lacks base_url, token, subscriptions or now".into());
    };
    let n = n as usize;
    // One thread drives every request: the process has one CPU, and a worker thread
    // beside the caller's would only add wake-ups between the two.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let graph = client(base_url, token, Pacing::OFF)?;
    let ids = runtime.block_on(stored_ids(&graph))?;
    if ids.len() != n {
        return Err(format!("{} subscriptions listed, {n} stored", ids.len()).into());
    }
    // Each pass renews to a time of its own, so every renewal changes the subscription.
    let base = now.with_timezone(&Utc) + chrono::Duration::days(2);
    let mut minute = 0;
    let mut next_time = || {
        minute += 1;
        base + chrono::Duration::minutes(minute)
    };
    let items = |ids: &[String], to| -> Vec<(String, DateTime<Utc>)> {
        ids.iter().map(|id| (id.clone(), to)).collect()
    };
    let (clients, passes_each) = match options.profile {
        Some(client) => (vec![client], 4 * PASSES),
        None => (Client::ALL.to_vec(), PASSES),
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    // One pass of one client over `ids`: (renewed, failed, seconds).
    let mut pass = |client: Client, ids: &[String]| -> Result<(usize, usize, f64)> {
        let to = next_time();
        let mode = match client {
            Client::Raw | Client::Reqwest => {
                let (renewed, seconds) = if client == Client::Raw {
                    raw_loop(base_url, token, ids, to, &runtime)?
                } else {
                    runtime.block_on(reqwest_loop(&http, base_url, token, ids, to))
                };
                return Ok((renewed, ids.len() - renewed, seconds));
            }
            Client::Single => Mode::Single,
            Client::Batched => Mode::Batched,
        };
        let all = items(ids, to);
        let started = Instant::now();
        let outcome = runtime.block_on(graph.renew_many(&all, mode));
        let seconds = started.elapsed().as_secs_f64();
        Ok((outcome.succeeded.len(), outcome.failed.len(), seconds))
    };
    for &client in &clients {
        pass(client, &ids[..WARM_UP])?;
    }
    // The clients' passes take turns, a round each: on a shared virtual machine the CPU
    // left to this one varies from second to second, and a client measured after another
    // could otherwise be judged against a different machine. Each round starts with the
    // next client (raw, reqwest, single, batched; then reqwest, single, batched, raw...),
    // so that none always follows the same one (a `$batch` pass leaves the emulator's
    // memory otherwise than a pass of single requests).
    let mut passes = vec![Vec::with_capacity(passes_each); clients.len()];
    for round in 0..passes_each {
        for turn in 0..clients.len() {
            let c = (round + turn) % clients.len();
            passes[c].push(pass(clients[c], &ids)?);
        }
    }
    let raw = clients
        .iter()
        .position(|&c| c == Client::Raw)
        .map(|i| passes[i].clone());
    let mut runs: Vec<Value> = clients
        .iter()
        .zip(&passes)
        .map(|(&client, passes)| {
            let mut line = run_line(client.name(), passes);
            if let Some(raw) = raw.as_deref().filter(|_| client != Client::Raw) {
                line["paired_ratio"] = json!(paired_ratio(passes, raw));
            }
            line
        })
        .collect();

    let mut python_missing = None;
    match std::env::var_os(PYTHON) {
        _ if options.profile.is_some() => {}
        Some(python) => {
            let to = rfc3339(next_time());
            let subset = &ids[..ids.len().min(PYTHON_RENEWALS)];
            runs.push(python_sdk(
                Path::new(&python),
                base_url,
                token,
                subset,
                &to,
            )?);
        }
        None => python_missing = Some(format!("{PYTHON} is not set")),
    }
    Ok(json!({
        "subscriptions": n,
        "runs": runs,
        "python_missing": python_missing,
        "server_cpu": target["cpu"],
        "client_cpu": cpu,
    }))
}

/// `ids` renewed to `to` by [`CONCURRENCY`] raw connections, each taking every 16th:
/// how many answered 200, and the seconds it took.
fn raw_loop(
    base_url: &str,
    token: &str,
    ids: &[String],
    to: DateTime<Utc>,
    runtime: &tokio::runtime::Runtime,
) -> Result<(usize, f64)> {
    let ids = Arc::new(ids.to_vec());
    let body = format!(r#"{{"expirationDateTime":"{}"}}"#, rfc3339(to));
    runtime.block_on(async {
        let mut connections = Vec::with_capacity(CONCURRENCY);
        for _ in 0..CONCURRENCY {
            connections.push(RawConnection::connect(base_url).await?);
        }
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(CONCURRENCY);
        for (worker, mut connection) in connections.into_iter().enumerate() {
            let (ids, body, token) = (ids.clone(), body.clone(), token.to_owned());
            tasks.push(tokio::spawn(async move {
                let mut ok = 0usize;
                for id in ids.iter().skip(worker).step_by(CONCURRENCY) {
                    let request = connection.request(
                        "PATCH",
                        &format!("/v1.0/subscriptions/{id}"),
                        &token,
                        &body,
                    );
                    if connection.send(&request).await?.status == 200 {
                        ok += 1;
                    }
                }
                Ok::<usize, Box<dyn std::error::Error + Send + Sync>>(ok)
            }));
        }
        let mut renewed = 0;
        for task in tasks {
            renewed += task.await??;
        }
        Ok((renewed, started.elapsed().as_secs_f64()))
    })
}

/// `ids` renewed to `to` by reqwest alone, [`CONCURRENCY`] at a time, as the raw loop
/// sends them: how many answered 200, and the seconds it took.
async fn reqwest_loop(
    http: &reqwest::Client,
    base_url: &str,
    token: &str,
    ids: &[String],
    to: DateTime<Utc>,
) -> (usize, f64) {
    use futures_util::StreamExt as _;
    let body = format!(r#"{{"expirationDateTime":"{}"}}"#, rfc3339(to));
    let started = Instant::now();
    let renewed = futures_util::stream::iter(ids)
        .map(|id| {
            let request = http
                .patch(format!("{base_url}/v1.0/subscriptions/{id}"))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.clone());
            async move {
                let response = request.send().await.ok()?;
                let renewed = response.status() == reqwest::StatusCode::OK;
                response.bytes().await.ok()?;
                Some(renewed)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|renewed| std::future::ready(*renewed == Some(true)))
        .count()
        .await;
    (renewed, started.elapsed().as_secs_f64())
}

/// `examples/python/renew_bench.py` over the same ids.
fn python_sdk(
    python: &Path,
    base_url: &str,
    token: &str,
    ids: &[String],
    to: &str,
) -> Result<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python/renew_bench.py");
    let dir = tempfile::tempdir()?;
    let ids_file = dir.path().join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n") + "\n")?;
    let output = Command::new(python)
        .arg(&script)
        .arg("--base-url")
        .arg(format!("{base_url}/v1.0"))
        .arg("--ids-file")
        .arg(&ids_file)
        .arg("--expiration")
        .arg(to)
        .arg("--concurrency")
        .arg(CONCURRENCY.to_string())
        .env("GRAPH_SUBS_TOKEN", token)
        .stderr(Stdio::inherit())
        .output()?;
    let line: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "{} printed no JSON line ({e}; exit {})",
            script.display(),
            output.status
        )
    })?;
    let renewed = line["renewed"].as_u64().unwrap_or(0) as usize;
    let failed = line["errors"].as_u64().unwrap_or(0) as usize;
    let mut run = run_line(
        "msgraph-sdk (Python)",
        &[(
            renewed,
            failed,
            line["seconds"].as_f64().unwrap_or(f64::INFINITY),
        )],
    );
    run["versions"] = json!({"msgraph-sdk": line["version"], "python": line["python"]});
    Ok(run)
}

/// Graph's limit on writes: 1,000 per 20 seconds per app and tenant.
const WRITES: usize = 1_000;
const WINDOW: Duration = Duration::from_secs(20);

/// Goal 2: renewals through `$batch` under Graph's limits, with the client's pacing.
fn throttled(options: Options) -> Result<Value> {
    let server = server_runtime()?;
    let n = options.throttled_renewals();
    // The ids are listed with throttling off, then the limits apply from an empty
    // window: a new emulator would give new ids, so the same one is used and the
    // listing, a List request, counts only against List's own limit.
    let (emulator, token) = server.block_on(filled(Throttle::GRAPH, n))?;
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let graph = client(emulator.base_url(), &token, Pacing::GRAPH)?;
    let ids = client_runtime.block_on(stored_ids(&graph))?;
    let before = emulator.stats();
    let to = emulator.now() + chrono::Duration::days(3);
    let items: Vec<(String, DateTime<Utc>)> = ids.iter().map(|id| (id.clone(), to)).collect();
    let started = Instant::now();
    let outcome = client_runtime.block_on(graph.renew_many(&items, Mode::Batched));
    let seconds = started.elapsed().as_secs_f64();
    let after = emulator.stats();
    server.block_on(emulator.shutdown())?;
    // From an empty window, renewal k (from 0) can be sent at (k / 1,000) windows at the
    // earliest: the last one bounds the run.
    let least_seconds = ((n - 1) / WRITES) as f64 * WINDOW.as_secs_f64();
    Ok(json!({
        "renewals": n,
        "renewed": outcome.succeeded.len(),
        "failed": outcome.failed.len(),
        "seconds": seconds,
        "least_seconds": least_seconds,
        "share_of_allowed_rate": least_seconds / seconds.max(1e-9),
        "requests": after.requests - before.requests,
        "throttled": after.throttled - before.throttled,
        "limit": format!("{WRITES} per {} s", WINDOW.as_secs()),
    }))
}

/// Goal 3: `graph-subs list --jsonl` over many subscriptions. The emulator runs in one
/// child process, and `graph-subs` is started by another that holds little memory: a
/// process started by a large one inherits its high-water mark in `ru_maxrss`.
fn list(options: Options) -> Result<Value> {
    server_and_client("list-server", "list-client", options)
}

/// Runs `server_role` in a child process until `client_role`, in another, has read the
/// server's first line on its stdin and printed its own: that line.
fn server_and_client(server_role: &str, client_role: &str, options: Options) -> Result<Value> {
    let mut server = role_command(server_role, options)?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut target = String::new();
    BufReader::new(server.stdout.take().ok_or("no server stdout")?).read_line(&mut target)?;
    let mut client = role_command(client_role, options)?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    client
        .stdin
        .take()
        .ok_or("no client stdin")?
        .write_all(target.as_bytes())?;
    let output = client.wait_with_output()?;
    // Closing its stdin stops the server.
    drop(server.stdin.take());
    let status = server.wait()?;
    if !output.status.success() || !status.success() {
        return Err(format!(
            "{server_role} and {client_role} failed (client {}, server {status})",
            output.status
        )
        .into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The emulator of goal 3: prints where it is and a token, then serves until its stdin
/// closes.
fn list_server(options: Options) -> Result<()> {
    let server = server_runtime()?;
    let n = options.listed();
    let (emulator, token) = server.block_on(filled(Throttle::OFF, n))?;
    print_line(&json!({
        "base_url": emulator.base_url(),
        "token": token,
        "subscriptions": n,
    }))?;
    let mut rest = String::new();
    while std::io::stdin().read_line(&mut rest)? > 0 {}
    server.block_on(emulator.shutdown())?;
    Ok(())
}

/// Runs `graph-subs list --jsonl` against the emulator on stdin's line and counts what it
/// writes.
fn list_client() -> Result<Value> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let target: Value = serde_json::from_str(&line)?;
    let (Some(base_url), Some(token), Some(n)) = (
        target["base_url"].as_str(),
        target["token"].as_str(),
        target["subscriptions"].as_u64(),
    ) else {
        return Err("the server's line lacks base_url, token or subscriptions".into());
    };
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_graph-subs"))
        .args(["list", "--jsonl", "--pacing", "off", "--base-url"])
        .arg(format!("{base_url}/v1.0"))
        .env("GRAPH_SUBS_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = 0u64;
    let mut bytes = 0usize;
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line)? > 0 {
        // Lines must be subscriptions, not only lines: one in a thousand is parsed.
        if lines.is_multiple_of(1000) {
            let parsed: Value = serde_json::from_slice(&line)?;
            if !parsed["id"].is_string() {
                return Err(format!("line {} is not a subscription", lines + 1).into());
            }
        }
        lines += 1;
        bytes += line.len();
        line.clear();
    }
    let (status, peak) = wait_with_peak_rss(&mut child)?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() || lines != n {
        return Err(format!("list exited {status} after {lines} lines of {n}").into());
    }
    Ok(json!({
        "subscriptions": n,
        "lines": lines,
        "bytes": bytes,
        "seconds": seconds,
        "per_second": lines as f64 / seconds.max(1e-9),
        "peak_rss_bytes": peak,
        // What `graph-subs` may have inherited at its start: the starting process's peak.
        "starter_peak_rss_bytes": status_kib("VmHWM")? * 1024,
    }))
}

/// Waits for `child`; its exit status and peak resident memory in bytes: the largest
/// `ru_maxrss` of this process's waited-for children, and it has no other.
fn wait_with_peak_rss(child: &mut std::process::Child) -> Result<(std::process::ExitStatus, u64)> {
    use nix::sys::resource::{UsageWho, getrusage};
    let status = child.wait()?;
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    // Linux gives it in KiB.
    let peak = u64::try_from(usage.max_rss())? * 1024;
    Ok((status, peak))
}
