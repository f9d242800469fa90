//! The emulator's performance goals (issue 7), measured over loopback HTTP with endpoint
//! validation and throttling off:
//!
//! 1. `patch`: PATCH renewals (`{"expirationDateTime": ...}`) by 32 concurrent keep-alive
//!    HTTP/1.1 connections for a fixed time: throughput and latency percentiles. The load
//!    generator is a minimal HTTP/1.1 client (a request written whole, the answer read by
//!    `httparse` and its `Content-Length`), as `wrk` or `oha` would be, so that the
//!    client's CPU, which shares the 2 CPUs with the emulator, is as small as it can be:
//!    once with client and emulator in one process (two tokio runtimes), once with the
//!    client in a process of its own. A third load, by reqwest (the client `graph-subs`
//!    uses) in a process of its own, is reported beside them and judged by no goal.
//! 2. `memory`: the resident memory (`VmRSS`) one million stored subscriptions add, in a
//!    process that does nothing else.
//! 3. `list`: the latency of List's first page with 1k, 10k, 100k and 1M stored, for a
//!    caller who sees them all; and, at the largest size, for callers who see none of
//!    them (another app of the tenant, another tenant).
//!
//! Each part runs in a child process (this binary, started again with
//! `GRAPH_SUBS_BENCH_ROLE`), so that one part's memory and threads do not weigh on the
//! next. Each child prints one JSON line; this process gathers them, prints a summary to
//! stderr and, with `--json PATH`, writes them for `cargo xtask bench`, which judges them
//! against the goals and writes `docs/performance.md`.
//!
//! ```text
//! cargo bench -p graph-subs-emulator --bench emulator -- [--json PATH] [--seconds S] [--quick]
//! ```
//!
//! `--quick` (2-second loads, 100k stored at most) is for trying the harness, not for
//! numbers. Stored subscriptions are filled through a hidden entry point
//! ([`RunningEmulator::store_unchecked`]) in the shape `POST /subscriptions` stores
//! them: a million creates over HTTP would take minutes.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_subs_benchkit::fill::{client_runtime, fill, rfc3339, server_runtime, user_id};
use graph_subs_benchkit::{
    RawConnection, Result, cpu_seconds, percentiles, print_line, status_kib,
};
use graph_subs_emulator::{DEFAULT_APP_ID, Emulator, RunningEmulator, Throttle, TokenSpec};
use serde_json::{Value, json};

/// The variable that tells a child process which part it runs.
const ROLE: &str = "GRAPH_SUBS_BENCH_ROLE";
/// Concurrent clients of the PATCH load (the goal's).
const CONCURRENCY: usize = 32;
/// Subscriptions the PATCH load renews, created through the API.
const PATCH_SUBSCRIPTIONS: usize = 1000;
/// Warm-up before the PATCH load is measured: connections opened, caches filled.
const WARM_UP: Duration = Duration::from_secs(1);
/// The sizes of the List measurement.
const LIST_SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
/// Page-1 requests measured at each size, after [`LIST_WARM_UP`] unmeasured ones.
const LIST_REQUESTS: usize = 300;
const LIST_WARM_UP: usize = 30;
/// Page-1 requests of the callers who see nothing (each may read every subscription).
const LIST_BLIND_REQUESTS: usize = 10;
/// The subscriptions of the memory measurement.
const MEMORY_SUBSCRIPTIONS: usize = 1_000_000;
/// Roles the stored subscriptions' app holds: enough for `users/{id}/messages`.
const ROLES: [&str; 1] = ["Mail.Read"];
/// Another app of the same tenant, with no subscriptions.
const OTHER_APP_ID: &str = "9f2c1a8e-0000-4000-8000-000000000002";
/// Another tenant, with no subscriptions.
const OTHER_TENANT_ID: &str = "0b6c1a8e-0000-4000-8000-000000000003";

#[derive(Debug, Clone)]
struct Options {
    json: Option<String>,
    seconds: f64,
    quick: bool,
    client: Client,
}

/// The HTTP client of a PATCH load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// The minimal load generator: what the goal is judged by.
    Raw,
    /// reqwest, as `graph-subs-http` uses it.
    Reqwest,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Raw => "raw-http1",
            Client::Reqwest => "reqwest",
        }
    }
}

impl Options {
    fn parse() -> Result<Options> {
        let mut options = Options {
            json: None,
            seconds: 10.0,
            quick: false,
            client: Client::Raw,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--json" => options.json = Some(args.next().ok_or("--json needs a path")?),
                "--seconds" => {
                    options.seconds = args
                        .next()
                        .and_then(|s| s.parse().ok())
                        .filter(|s: &f64| *s > 0.0 && *s <= 600.0)
                        .ok_or("--seconds needs a number of seconds (at most 600)")?;
                }
                "--quick" => {
                    options.quick = true;
                    options.seconds = 2.0;
                }
                "--client" => {
                    options.client = match args.next().as_deref() {
                        Some("raw-http1") => Client::Raw,
                        Some("reqwest") => Client::Reqwest,
                        _ => return Err("--client needs raw-http1 or reqwest".into()),
                    }
                }
                // Cargo passes `--bench` to every bench binary; a filter is not used.
                _ => {}
            }
        }
        Ok(options)
    }

    fn memory_subscriptions(&self) -> usize {
        if self.quick {
            100_000
        } else {
            MEMORY_SUBSCRIPTIONS
        }
    }

    fn list_sizes(&self) -> Vec<usize> {
        LIST_SIZES
            .into_iter()
            .filter(|n| !self.quick || *n <= 100_000)
            .collect()
    }
}

fn main() {
    graph_subs_benchkit::exit_on_error(run());
}

fn run() -> Result<()> {
    let options = Options::parse()?;
    match std::env::var(ROLE).ok().as_deref() {
        None => orchestrate(&options),
        Some("patch-in-process") => print_line(&patch_in_process(&options)?),
        Some("patch-server") => patch_server(),
        Some("patch-client") => print_line(&patch_client(&options)?),
        Some("memory") => print_line(&memory(&options)?),
        Some("list") => print_line(&list(&options)?),
        Some(other) => Err(format!("unknown {ROLE} {other:?}").into()),
    }
}

/// Runs each part in a child process and gathers their lines.
fn orchestrate(options: &Options) -> Result<()> {
    let started = Instant::now();
    eprintln!("emulator bench: PATCH load, client and emulator in one process...");
    let in_process = child("patch-in-process", options)?;
    report_patch(&in_process);
    eprintln!("emulator bench: PATCH load, client in its own process...");
    let separate = patch_separate(options)?;
    report_patch(&separate);
    eprintln!("emulator bench: PATCH load, reqwest in its own process...");
    let reqwest = patch_separate(&Options {
        client: Client::Reqwest,
        ..options.clone()
    })?;
    report_patch(&reqwest);
    eprintln!("emulator bench: memory...");
    let memory = child("memory", options)?;
    eprintln!(
        "  {} subscriptions: {:.0} MiB more resident ({:.0} bytes each), in {:.1} s",
        memory["subscriptions"],
        memory["rss_added_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
        memory["bytes_per_subscription"].as_f64().unwrap_or(0.0),
        memory["fill_seconds"].as_f64().unwrap_or(0.0),
    );
    eprintln!("emulator bench: List page 1...");
    let list = child("list", options)?;
    for size in list["sizes"].as_array().into_iter().flatten() {
        eprintln!(
            "  {:>8} stored: p50 {:.0} µs, p99 {:.0} µs",
            size["stored"],
            size["latency_us"]["p50"].as_f64().unwrap_or(0.0),
            size["latency_us"]["p99"].as_f64().unwrap_or(0.0),
        );
    }
    for blind in list["blind"].as_array().into_iter().flatten() {
        eprintln!(
            "  {} ({} stored): p50 {:.0} µs",
            blind["caller"],
            blind["stored"],
            blind["latency_us"]["p50"].as_f64().unwrap_or(0.0),
        );
    }
    let results = json!({
        "patch": [in_process, separate, reqwest],
        "memory": memory,
        "list": list,
        "quick": options.quick,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some(path) = &options.json {
        if let Some(parent) = std::path::Path::new(path).parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&results)? + "\n")?;
        eprintln!("emulator bench: wrote {path}");
    }
    Ok(())
}

fn report_patch(result: &Value) {
    eprintln!(
        "  {} ({}): {:.0} requests/s, p50 {:.0} µs, p99 {:.0} µs, {} errors",
        result["setup"],
        result["client"],
        result["throughput"].as_f64().unwrap_or(0.0),
        result["latency_us"]["p50"].as_f64().unwrap_or(0.0),
        result["latency_us"]["p99"].as_f64().unwrap_or(0.0),
        result["errors"],
    );
}

/// This binary again, running `role`, with the same options.
fn command(role: &str, options: &Options) -> Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env(ROLE, role)
        .arg("--seconds")
        .arg(options.seconds.to_string())
        .arg("--client")
        .arg(options.client.name());
    if options.quick {
        command.arg("--quick");
    }
    Ok(command)
}

/// Runs `role` in a child process; its one line of JSON.
fn child(role: &str, options: &Options) -> Result<Value> {
    let output = command(role, options)?.stderr(Stdio::inherit()).output()?;
    if !output.status.success() {
        return Err(format!("the {role} part failed ({})", output.status).into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn bench_emulator() -> Emulator {
    Emulator::builder()
        .endpoint_validation(false)
        .throttle(Throttle::OFF)
        .build()
}

/// What the PATCH clients need: where, as whom, which subscriptions, and the renewal.
#[derive(Debug, Clone)]
struct Target {
    base_url: String,
    token: String,
    ids: Vec<String>,
    expiration: String,
}

impl Target {
    fn to_json(&self) -> Value {
        json!({
            "base_url": self.base_url,
            "token": self.token,
            "ids": self.ids,
            "expiration": self.expiration,
        })
    }

    fn from_json(value: &Value) -> Result<Target> {
        let text = |name: &str| -> Result<String> {
            Ok(value[name]
                .as_str()
                .ok_or_else(|| format!("no {name} in the server's line"))?
                .to_owned())
        };
        Ok(Target {
            base_url: text("base_url")?,
            token: text("token")?,
            ids: value["ids"]
                .as_array()
                .ok_or("no ids in the server's line")?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            expiration: text("expiration")?,
        })
    }
}

/// Starts an emulator and creates the subscriptions the PATCH load renews, through the
/// API.
async fn patch_target() -> Result<(RunningEmulator, Target)> {
    let emulator = bench_emulator().start().await?;
    let token = emulator.token(&TokenSpec::application(
        emulator.tenant_id(),
        DEFAULT_APP_ID,
        &ROLES,
    ));
    let client = reqwest::Client::builder().http1_only().build()?;
    let url = format!("{}/v1.0/subscriptions", emulator.base_url());
    let expiration = rfc3339(emulator.now() + chrono::Duration::days(2));
    let mut ids = Vec::with_capacity(PATCH_SUBSCRIPTIONS);
    for i in 0..PATCH_SUBSCRIPTIONS {
        let body = json!({
            "changeType": "created,updated",
            "notificationUrl": "https://webhook.example.com/api/notify",
            "resource": format!("users/{}/messages", user_id(i)),
            "expirationDateTime": expiration,
            "clientState": "secretClientValue",
        });
        let answer = client
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        if answer.status() != reqwest::StatusCode::CREATED {
            return Err(format!("create answered {}", answer.status()).into());
        }
        let created: Value = answer.json().await?;
        ids.push(
            created["id"]
                .as_str()
                .ok_or("a created subscription without id")?
                .to_owned(),
        );
    }
    let target = Target {
        base_url: emulator.base_url().to_owned(),
        token,
        ids,
        // Renewals move the expiration one day further than creation did.
        expiration: rfc3339(emulator.now() + chrono::Duration::days(1)),
    };
    Ok((emulator, target))
}

/// Client and emulator in one process, each on its own runtime.
fn patch_in_process(options: &Options) -> Result<Value> {
    let server = server_runtime()?;
    let (emulator, target) = server.block_on(patch_target())?;
    let cpu_before = cpu_seconds("self");
    let mut result = client_runtime()?.block_on(load(&target, options.seconds, options.client))?;
    result["setup"] = json!("in-process");
    result["cpu_seconds_process"] = json!(cpu_seconds("self") - cpu_before);
    server.block_on(emulator.shutdown())?;
    Ok(result)
}

/// The emulator alone: prints its target, then serves until its stdin closes.
fn patch_server() -> Result<()> {
    let server = server_runtime()?;
    let (emulator, target) = server.block_on(patch_target())?;
    print_line(&target.to_json())?;
    let mut rest = String::new();
    while std::io::stdin().read_line(&mut rest)? > 0 {}
    server.block_on(emulator.shutdown())?;
    Ok(())
}

/// The client alone, against the target on its stdin.
fn patch_client(options: &Options) -> Result<Value> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let target = Target::from_json(&serde_json::from_str(&line)?)?;
    let cpu_before = cpu_seconds("self");
    let mut result = client_runtime()?.block_on(load(&target, options.seconds, options.client))?;
    result["cpu_seconds_client"] = json!(cpu_seconds("self") - cpu_before);
    Ok(result)
}

/// The emulator in one child process, the client in another.
fn patch_separate(options: &Options) -> Result<Value> {
    let mut server = command("patch-server", options)?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().ok_or("no server stdout")?).read_line(&mut line)?;
    let server_pid = server.id().to_string();
    let cpu_before = cpu_seconds(&server_pid);
    let mut client = command("patch-client", options)?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    client
        .stdin
        .take()
        .ok_or("no client stdin")?
        .write_all(line.as_bytes())?;
    let output = client.wait_with_output()?;
    let cpu_server = cpu_seconds(&server_pid) - cpu_before;
    // Closing its stdin stops the server.
    drop(server.stdin.take());
    let status = server.wait()?;
    if !output.status.success() || !status.success() {
        return Err(format!(
            "the separate-process PATCH load failed (client {}, server {status})",
            output.status
        )
        .into());
    }
    let mut result: Value = serde_json::from_slice(&output.stdout)?;
    result["setup"] = json!("separate-process");
    result["cpu_seconds_server"] = json!(cpu_server);
    Ok(result)
}

/// 32 keep-alive clients renewing the target's subscriptions for `seconds` after a
/// warm-up; every answer must be 200.
async fn load(target: &Target, seconds: f64, client: Client) -> Result<Value> {
    let target = Arc::new(target.clone());
    let start = Instant::now();
    let measure_from = start + WARM_UP;
    let end = measure_from + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for worker in 0..CONCURRENCY {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            match client {
                Client::Raw => renew_raw(&target, worker, measure_from, end).await,
                Client::Reqwest => renew(&target, worker, measure_from, end).await,
            }
        }));
    }
    let mut latencies: Vec<u64> = Vec::new();
    let (mut errors, mut last, mut all) = (0u64, measure_from, 0u64);
    for task in tasks {
        let outcome = task.await??;
        latencies.extend(outcome.latencies_ns);
        errors += outcome.errors;
        all += outcome.all;
        last = last.max(outcome.last);
    }
    let elapsed = last.duration_since(measure_from).as_secs_f64();
    latencies.sort_unstable();
    Ok(json!({
        "client": client.name(),
        "concurrency": CONCURRENCY,
        "subscriptions": target.ids.len(),
        "seconds": elapsed,
        "requests": latencies.len(),
        "errors": errors,
        "all_requests": all,
        "throughput": latencies.len() as f64 / elapsed.max(1e-9),
        "latency_us": percentiles(&latencies),
    }))
}

struct Outcome {
    latencies_ns: Vec<u64>,
    errors: u64,
    /// Requests answered, warm-up included (CPU time is measured over them all).
    all: u64,
    last: Instant,
}

impl Outcome {
    fn new(measure_from: Instant) -> Outcome {
        Outcome {
            latencies_ns: Vec::with_capacity(1 << 16),
            errors: 0,
            all: 0,
            last: measure_from,
        }
    }
}

/// One client: its own connection, renewing every 32nd subscription in turn.
async fn renew(
    target: &Target,
    worker: usize,
    measure_from: Instant,
    end: Instant,
) -> Result<Outcome> {
    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(1)
        .build()?;
    let body = format!(r#"{{"expirationDateTime":"{}"}}"#, target.expiration);
    let authorization = format!("Bearer {}", target.token);
    let mine: Vec<String> = target
        .ids
        .iter()
        .skip(worker)
        .step_by(CONCURRENCY)
        .map(|id| format!("{}/v1.0/subscriptions/{id}", target.base_url))
        .collect();
    let mut outcome = Outcome::new(measure_from);
    for url in mine.iter().cycle() {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let answer = client
            .patch(url)
            .header("authorization", &authorization)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        let ok = answer.status() == reqwest::StatusCode::OK;
        answer.bytes().await?;
        let done = Instant::now();
        outcome.all += 1;
        if sent >= measure_from {
            if ok {
                outcome.latencies_ns.push((done - sent).as_nanos() as u64);
            } else {
                outcome.errors += 1;
            }
            outcome.last = done;
        }
    }
    Ok(outcome)
}

/// One connection of the minimal client ([`RawConnection`]), renewing every 32nd
/// subscription in turn.
async fn renew_raw(
    target: &Target,
    worker: usize,
    measure_from: Instant,
    end: Instant,
) -> Result<Outcome> {
    let mut connection = RawConnection::connect(&target.base_url).await?;
    let body = format!(r#"{{"expirationDateTime":"{}"}}"#, target.expiration);
    let requests: Vec<Vec<u8>> = target
        .ids
        .iter()
        .skip(worker)
        .step_by(CONCURRENCY)
        .map(|id| {
            connection.request(
                "PATCH",
                &format!("/v1.0/subscriptions/{id}"),
                &target.token,
                &body,
            )
        })
        .collect();
    let mut outcome = Outcome::new(measure_from);
    for request in requests.iter().cycle() {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let answer = connection.send(request).await?;
        outcome.all += 1;
        if sent >= measure_from {
            if answer.status == 200 {
                outcome
                    .latencies_ns
                    .push((answer.done - sent).as_nanos() as u64);
            } else {
                outcome.errors += 1;
            }
            outcome.last = answer.done;
        }
    }
    Ok(outcome)
}

/// The memory a million stored subscriptions add to an emulator's process.
fn memory(options: &Options) -> Result<Value> {
    let runtime = server_runtime()?;
    let emulator = runtime.block_on(bench_emulator().start())?;
    let before = status_kib("VmRSS")?;
    let started = Instant::now();
    let n = options.memory_subscriptions();
    runtime.block_on(fill(&emulator, 0, n))?;
    let fill_seconds = started.elapsed().as_secs_f64();
    let after = status_kib("VmRSS")?;
    let peak = status_kib("VmHWM")?;
    let stored = runtime.block_on(emulator.subscription_count());
    if stored != n {
        return Err(format!("stored {stored} of {n}").into());
    }
    let added = (after.saturating_sub(before)) * 1024;
    Ok(json!({
        "subscriptions": n,
        "rss_before_bytes": before * 1024,
        "rss_after_bytes": after * 1024,
        "rss_added_bytes": added,
        "peak_rss_bytes": peak * 1024,
        "bytes_per_subscription": added as f64 / n as f64,
        "fill_seconds": fill_seconds,
    }))
}

/// List's first page at each size, then for callers who see none of the largest.
fn list(options: &Options) -> Result<Value> {
    let runtime = server_runtime()?;
    let emulator = runtime.block_on(bench_emulator().start())?;
    let tenant = emulator.tenant_id().to_owned();
    let token =
        |tenant: &str, app: &str| emulator.token(&TokenSpec::application(tenant, app, &ROLES));
    let owner = token(&tenant, DEFAULT_APP_ID);
    let other_app = token(&tenant, OTHER_APP_ID);
    let other_tenant = token(OTHER_TENANT_ID, DEFAULT_APP_ID);
    let url = format!("{}/v1.0/subscriptions", emulator.base_url());
    let client_runtime = client_runtime()?;
    let client = reqwest::Client::builder().http1_only().build()?;
    let mut sizes = Vec::new();
    let mut stored = 0;
    for size in options.list_sizes() {
        runtime.block_on(fill(&emulator, stored, size))?;
        stored = size;
        let latencies = client_runtime.block_on(page_one(
            &client,
            &url,
            &owner,
            LIST_REQUESTS,
            LIST_WARM_UP,
            100,
        ))?;
        sizes.push(json!({
            "stored": stored,
            "requests": latencies.len(),
            "latency_us": percentiles(&latencies),
        }));
    }
    let mut blind = Vec::new();
    for (caller, token) in [
        ("another app of the tenant", &other_app),
        ("another tenant", &other_tenant),
    ] {
        let latencies =
            client_runtime.block_on(page_one(&client, &url, token, LIST_BLIND_REQUESTS, 1, 0))?;
        blind.push(json!({
            "caller": caller,
            "stored": stored,
            "requests": latencies.len(),
            "latency_us": percentiles(&latencies),
        }));
    }
    runtime.block_on(emulator.shutdown())?;
    Ok(
        json!({ "page_size": graph_subs_emulator::DEFAULT_PAGE_SIZE, "sizes": sizes, "blind": blind }),
    )
}

/// `requests` sequential GETs of List's first page after `warm_up` unmeasured ones, each
/// checked to hold `expected` subscriptions; their sorted latencies in nanoseconds.
async fn page_one(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    requests: usize,
    warm_up: usize,
    expected: usize,
) -> Result<Vec<u64>> {
    let mut latencies = Vec::with_capacity(requests);
    for i in 0..warm_up + requests {
        let sent = Instant::now();
        let answer = client.get(url).bearer_auth(token).send().await?;
        let status = answer.status();
        let page: Value = answer.json().await?;
        let done = Instant::now();
        let held = page["value"].as_array().map_or(0, Vec::len);
        if status != reqwest::StatusCode::OK || held != expected {
            return Err(format!(
                "List answered {status} with {held} subscriptions, expected {expected}"
            )
            .into());
        }
        if i >= warm_up {
            latencies.push((done - sent).as_nanos() as u64);
        }
    }
    latencies.sort_unstable();
    Ok(latencies)
}
