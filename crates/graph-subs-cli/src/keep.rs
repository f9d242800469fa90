//! `graph-subs keep`: the subscription keeper (issue 10).
//!
//! - `keep check CONFIG` judges a configuration offline: every problem at once, each at
//!   its line, with a hint.
//! - `keep run CONFIG` keeps its subscriptions alive until Ctrl-C or SIGTERM (or for
//!   one round with `--once`), remembering in `--store`; with `--listen`, it serves the
//!   receiver (Graph's validation of the notification URLs answered; lifecycle events
//!   drive it at once; change notifications become JSON lines on `--out`) and
//!   `/healthz`, `/readyz`, `/metrics`. A PostgreSQL store makes each process a
//!   replica: a tenant is worked on by the holder of its lease.
//! - `keep status` shows what the store remembers.
//!
//! **Decisions.** The store defaults to `graph-subs-keeper.db` beside the configuration
//! (SQLite), so `run` and `status` agree without flags. A configuration with errors
//! does not start (exit 2, the problems on stderr). Logs go to stderr (`tracing`; text,
//! or JSON lines with `--log-format json`; `RUST_LOG` filters); stdout carries only
//! what scripts read: `--once`'s summary and notifications.

use std::io::{Read as _, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use graph_subs_core::validate::Severity;
use graph_subs_keeper::config;
use graph_subs_keeper::run::{Keeper, Replica, Report as Round};
use graph_subs_keeper::store::{Store, StoreError};
use graph_subs_keeper::{ops, setup};
use graph_subs_receiver::{ClientStates, Event, LiveClientStates, Receiver};
use serde_json::json;

use crate::Exit;
use crate::report::Report;

/// The largest configuration read: a keeper of 100,000 subscriptions writes some 30 MB.
const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Keep subscriptions alive from a declarative configuration.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: KeepCommand,
}

#[derive(Debug, Subcommand)]
enum KeepCommand {
    /// Check a configuration offline: every problem at once, each at its line.
    Check(CheckArgs),
    /// Keep the configuration's subscriptions alive (until Ctrl-C or SIGTERM).
    Run(RunArgs),
    /// Show each remembered subscription, its expiry and its last outcome, from the store.
    Status(StatusArgs),
}

/// The store's file beside the configuration.
const DEFAULT_STORE_FILE: &str = "graph-subs-keeper.db";

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The configuration file (see `keep check --help`).
    config: PathBuf,
    /// Where the keeper remembers: sqlite://PATH, or postgres://USER@HOST/DATABASE for
    /// several replicas. Default: graph-subs-keeper.db beside the configuration.
    #[arg(long, value_name = "URL", env = "GRAPH_SUBS_KEEPER_STORE")]
    store: Option<String>,
    /// Serve the receiver (notification and lifecycle URLs) and /healthz, /readyz,
    /// /metrics on this address (port 0: a free one, printed on stderr).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Where change notifications received with --listen go, one JSON line each: a file
    /// (appended to) or - for standard output.
    #[arg(
        long,
        default_value = "-",
        value_name = "FILE|-",
        requires = "listen",
        conflicts_with = "once"
    )]
    out: String,
    /// The longest time between two lists of Graph's subscriptions (renewals happen when
    /// due, whatever this is): `5m`, `30s`.
    #[arg(long, default_value = "5m", value_name = "DUR", value_parser = crate::manage::parse_duration)]
    interval: chrono::Duration,
    /// One round for each tenant, a summary on stdout, then exit: 1 if a call failed, 4
    /// if a tenant could not be listed. With --listen, the receiver answers Graph's
    /// validation of the notification URLs during the round.
    #[arg(long)]
    once: bool,
    /// With --once: the summary as JSON.
    #[arg(long, requires = "once")]
    json: bool,
    /// With a PostgreSQL store, how long a replica's lease on a tenant lasts: another
    /// replica takes the tenant over this long after this one stops answering.
    #[arg(long, default_value = "60s", value_name = "DUR", value_parser = crate::manage::parse_duration)]
    lease: chrono::Duration,
    /// Logs on stderr as text, or as JSON lines for a log pipeline.
    #[arg(long, default_value = "text", value_name = "text|json")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The configuration file, to find the store beside it.
    #[arg(required_unless_present = "store")]
    config: Option<PathBuf>,
    /// The store, instead of the one beside the configuration.
    #[arg(long, value_name = "URL", env = "GRAPH_SUBS_KEEPER_STORE")]
    store: Option<String>,
    /// Print JSON: an array of {tenant, name, state, graphId, expiresAt, lastOutcome,
    /// lastError, intentAt}.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The file (TOML): [keeper] prune, renew_margin; [[tenant]] name, tenant_id, cloud, base_url; \
[tenant.credentials] client_id with client_secret_file or client_secret_env, or azure_cli = true, or token_env; \
[[tenant.subscription]] name, resource, change_types, notification_url, lifecycle_notification_url, \
client_state_file or client_state_env, include_resource_data, encryption_certificate_file, \
encryption_certificate_id, lifetime. A complete example is in the README."
)]
struct CheckArgs {
    /// The configuration file.
    config: PathBuf,
    /// Check as if the keeper started at this time (RFC 3339) instead of now.
    #[arg(long, value_parser = crate::check::parse_time)]
    now: Option<DateTime<Utc>>,
    /// Print JSON: {"ok": bool, "tenants": N, "subscriptions": N, "problems": [...]}.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(
    args: &Args,
    out: &mut dyn Write,
    err: &mut dyn Write,
    now: DateTime<Utc>,
) -> Result<Exit, Report> {
    match &args.command {
        KeepCommand::Check(args) => check(args, out, now),
        KeepCommand::Run(args) => keep_run(args, out, err, now),
        KeepCommand::Status(args) => status(args, out, now),
    }
}

/// The configuration's text and folder.
fn read_config(path: &Path) -> Result<(String, PathBuf), Report> {
    let unreadable = |e: std::io::Error| {
        Report::new(
            Exit::Usage,
            format!("cannot read the configuration {}", path.display()),
        )
        .caused_by(&e)
        .code("unreadable-input")
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(unreadable)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(unreadable)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Report::new(
            Exit::Usage,
            format!(
                "the configuration {} is over {} MiB",
                path.display(),
                MAX_CONFIG_BYTES >> 20
            ),
        )
        .code("input-too-large"));
    }
    let folder = path.parent().map(PathBuf::from).unwrap_or_default();
    Ok((text, folder))
}

/// `--store`, or the SQLite file beside the configuration.
fn store_url(store: Option<&str>, config: Option<&Path>) -> String {
    match store {
        Some(url) => url.to_owned(),
        None => {
            let folder = config
                .and_then(Path::parent)
                .filter(|f| !f.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            format!("sqlite://{}", folder.join(DEFAULT_STORE_FILE).display())
        }
    }
}

fn store_error(e: StoreError) -> Report {
    let hint = match &e {
        StoreError::Url(_) => "give sqlite://PATH or postgres://USER@HOST/DATABASE",
        StoreError::Newer { .. } => "run the graph-subs that wrote it",
        StoreError::Database(_) => "check that the database is reachable and writable",
    };
    Report::new(Exit::Failure, "cannot use the keeper's store")
        .caused_by(&e)
        .code("store")
        .hint(hint.to_owned())
}

fn check(args: &CheckArgs, out: &mut dyn Write, now: DateTime<Utc>) -> Result<Exit, Report> {
    let (text, folder) = read_config(&args.config)?;
    let checked = config::check(&text, &folder, &config::System, args.now.unwrap_or(now));
    let (tenants, subscriptions) = checked.counts();
    let errors = checked
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = checked.problems.len() - errors;
    let name = args.config.display().to_string();
    if args.json {
        let problems: Vec<_> = checked
            .problems
            .iter()
            .map(|p| {
                json!({
                    "severity": p.severity.to_string(),
                    "code": p.code,
                    "message": p.message,
                    "hint": p.hint,
                    "line": p.line,
                    "column": p.column,
                    "within": p.within,
                })
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut *out,
            &json!({
                "ok": errors == 0,
                "tenants": tenants,
                "subscriptions": subscriptions,
                "problems": problems,
            }),
        )
        .map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        for problem in &checked.problems {
            writeln!(out, "{}", problem.render(&name))?;
        }
        writeln!(
            out,
            "{name}: {tenants} tenant{}, {subscriptions} subscription{}: {errors} error{}, {warnings} warning{}",
            if tenants == 1 { "" } else { "s" },
            if subscriptions == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
        )?;
    }
    Ok(if errors == 0 { Exit::Success } else { Exit::No })
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

fn keep_run(
    args: &RunArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    now: DateTime<Utc>,
) -> Result<Exit, Report> {
    let (text, folder) = read_config(&args.config)?;
    let checked = config::check(&text, &folder, &config::System, now);
    let blocking = checked.blocking_run();
    if !blocking.is_empty() {
        let name = args.config.display().to_string();
        for problem in blocking {
            write!(err, "{}", problem.render(&name))?;
        }
        return Err(Report::new(
            Exit::Usage,
            format!("the configuration {name} has errors: the keeper did not start"),
        )
        .code("invalid-config")
        .hint(format!(
            "fix them; `graph-subs keep check {name}` shows them again"
        )));
    }
    let interval = args.interval.to_std().map_err(|_| {
        Report::new(Exit::Usage, "--interval must be positive")
            .hint("write --interval 5m".to_owned())
    })?;
    let mut settings = setup::settings(&checked, interval);
    // The file's text is not needed past this point, and the checked configuration
    // becomes the tenants: freed before the keeper's rounds (a configuration of
    // 100,000 subscriptions weighs tens of MiB).
    drop(text);
    let tenants = setup::tenants(checked, &folder, &config::System).map_err(|e| {
        Report::new(Exit::Usage, "cannot set up the tenants' clients")
            .caused_by(&e)
            .code("invalid-config")
    })?;
    let url = store_url(args.store.as_deref(), Some(&args.config));
    // A PostgreSQL store may be shared: each process is a replica with its own id.
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if args.lease <= chrono::Duration::seconds(1) {
            return Err(
                Report::new(Exit::Usage, "--lease must be longer than a second")
                    .hint("write --lease 60s".to_owned()),
            );
        }
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        settings.replica = Some(Replica {
            id: format!("{host}-{}-{:08x}", std::process::id(), rand_part()),
            lease: args.lease,
        });
    }
    init_logs(args.log_format);
    let runtime = tokio::runtime::Runtime::new().map_err(Report::from)?;
    runtime.block_on(async {
        let store = Store::open(&url, now).await.map_err(store_error)?;
        let keeper = Keeper::new(store, tenants, settings);
        let live = LiveClientStates::new();
        let keeper = Arc::new(keeper.with_client_states(live.clone()));
        keeper.share_remembered().await.map_err(store_error)?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut server = None;
        let mut events = None;
        if let Some(listen) = args.listen {
            let (receiver, receiver_events) = Receiver::builder(ClientStates::Live(live)).build();
            let router = receiver.router().merge(ops::router(keeper.clone()));
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
                Report::new(Exit::Failure, format!("cannot listen on {listen}"))
                    .caused_by(&e)
                    .code("keep-start")
                    .hint("another process may hold the port: choose another with --listen, or port 0 for a free one")
            })?;
            let address = listener.local_addr().map_err(Report::from)?;
            writeln!(
                err,
                "graph-subs keep run listening on http://{address} (notifications at /notifications, lifecycle at /lifecycle, /healthz, /readyz, /metrics); stop it with Ctrl-C"
            )?;
            err.flush()?;
            let mut stopped = stop_rx.clone();
            server = Some(tokio::spawn(graph_subs_receiver::serve(listener, router, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })));
            events = Some((receiver, receiver_events));
        }
        if args.once {
            let exit = once(&keeper, args.json, out).await;
            let _ = stop_tx.send(true);
            if let Some(server) = server {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
            }
            return exit;
        }
        let loop_task = tokio::spawn(keeper.clone().run(stop_rx));
        let stop = crate::stop_signal();
        tokio::pin!(stop);
        let mut file = crate::receive::out_file(&args.out)?;
        let sink: &mut dyn Write = match &mut file {
            Some(file) => file,
            None => out,
        };
        match &mut events {
            Some((_, events)) => loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Some(Event::Lifecycle(n)) => {
                            // Its calls to Graph must not hold up the next notifications.
                            let (keeper, event) = (keeper.clone(), n.clone());
                            tokio::spawn(async move {
                                if let Err(e) = keeper.lifecycle(&event).await {
                                    tracing::warn!(error = %e, "cannot act on a lifecycle event");
                                }
                            });
                            crate::receive::write_line(sink, &crate::receive::line_of(Event::Lifecycle(n))?)?;
                        }
                        Some(event) => crate::receive::write_line(sink, &crate::receive::line_of(event)?)?,
                        None => break,
                    },
                    () = &mut stop => break,
                }
            },
            None => stop.await,
        }
        tracing::info!("stopping: finishing the rounds in flight");
        let _ = stop_tx.send(true);
        let _ = loop_task.await;
        if let Some(server) = server {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
        }
        if let Some((receiver, mut events)) = events {
            while let Ok(event) = events.try_recv() {
                crate::receive::write_line(sink, &crate::receive::line_of(event)?)?;
            }
            let stats = receiver.stats();
            tracing::info!(received = stats.received, delivered = stats.delivered, "receiver stopped");
        }
        keeper.store().close().await;
        writeln!(err, "graph-subs keep run stopped")?;
        Ok(Exit::Success)
    })
}

/// `--once`: one full round per tenant, and what it did.
async fn once(keeper: &Keeper, json: bool, out: &mut dyn Write) -> Result<Exit, Report> {
    let mut rows = Vec::new();
    let (mut failed, mut unreachable) = (false, false);
    for (index, name) in keeper.tenant_names().iter().enumerate() {
        match keeper.reconcile(index).await {
            Ok(round) => {
                failed |= round.failed > 0;
                rows.push((name.to_string(), Ok(round)));
            }
            Err(e) => {
                unreachable = true;
                rows.push((name.to_string(), Err(e.to_string())));
            }
        }
    }
    keeper.release().await;
    keeper.store().close().await;
    if json {
        let tenants: Vec<_> = rows
            .iter()
            .map(|(name, result)| match result {
                Ok(r) => json!({
                    "tenant": name, "ok": r.failed == 0, "created": r.created, "adopted": r.adopted,
                    "renewed": r.renewed, "deleted": r.deleted, "forgotten": r.forgotten, "failed": r.failed,
                    "nextReview": r.next_review.map(graph_subs_core::lifetime::rfc3339),
                }),
                Err(e) => json!({"tenant": name, "ok": false, "error": e}),
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut *out,
            &json!({ "ok": !failed && !unreachable, "tenants": tenants }),
        )
        .map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        for (name, result) in &rows {
            match result {
                Ok(Round {
                    created,
                    adopted,
                    renewed,
                    deleted,
                    forgotten,
                    failed,
                    ..
                }) => writeln!(
                    out,
                    "{name}: {created} created, {adopted} adopted, {renewed} renewed, {deleted} deleted, {forgotten} forgotten, {failed} failed"
                )?,
                Err(e) => writeln!(out, "{name}: round failed: {e}")?,
            }
        }
    }
    Ok(if unreachable {
        Exit::Failure
    } else if failed {
        Exit::No
    } else {
        Exit::Success
    })
}

fn status(args: &StatusArgs, out: &mut dyn Write, now: DateTime<Utc>) -> Result<Exit, Report> {
    let url = store_url(args.store.as_deref(), args.config.as_deref());
    if args.store.is_none()
        && let Some(path) = url.strip_prefix("sqlite://")
        && !Path::new(path).exists()
    {
        return Err(Report::new(
            Exit::Usage,
            format!("no store at {path}: the keeper has not run with this configuration"),
        )
        .code("store")
        .hint("run `graph-subs keep run CONFIG` first, or give --store URL".to_owned()));
    }
    let runtime = tokio::runtime::Runtime::new().map_err(Report::from)?;
    let rows = runtime.block_on(async {
        let store = Store::open(&url, now).await.map_err(store_error)?;
        let rows = store.all_rows().await.map_err(store_error);
        store.close().await;
        rows
    })?;
    let time = graph_subs_core::lifetime::rfc3339;
    if args.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "tenant": r.tenant,
                    "name": r.name,
                    "state": r.state.as_str(),
                    "graphId": r.graph_id,
                    "expiresAt": r.expires_at.map(time),
                    "lastOutcome": r.last_outcome,
                    "lastError": r.last_error,
                    "intentAt": time(r.intent_at),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(Exit::Success);
    }
    if rows.is_empty() {
        writeln!(out, "the store remembers no subscription")?;
        return Ok(Exit::Success);
    }
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.tenant.clone(),
                r.name.clone(),
                match (&r.graph_id, r.state.as_str()) {
                    (None, "active") => "missing".to_owned(),
                    (_, state) => state.to_owned(),
                },
                r.expires_at.map_or_else(
                    || "-".to_owned(),
                    |at| format!("{} ({})", time(at), crate::manage::expires_in(at, now)),
                ),
                match (&r.last_outcome, &r.last_error) {
                    (Some(o), Some(e)) => format!("{o}: {}", graph_subs_core::quote::shortened(e)),
                    (Some(o), None) => o.clone(),
                    (None, _) => "-".to_owned(),
                },
                r.graph_id.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let header = [
        "TENANT",
        "NAME",
        "STATE",
        "EXPIRES",
        "LAST OUTCOME",
        "GRAPH ID",
    ];
    let mut widths = header.map(str::len);
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(&header.map(str::to_owned)))?;
    for row in &table {
        writeln!(out, "{}", line(row))?;
    }
    Ok(Exit::Success)
}

/// A random part for a replica's id, so that two processes with the same pid on two
/// hosts without /etc/hostname still differ.
fn rand_part() -> u32 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish() as u32
}
