//! The `graph-subs` command: what a Microsoft Graph change-notification subscription
//! needs, before the call.
//!
//! This crate parses arguments, calls `graph-subs-core`, and prints. It is a library so
//! that tests can run the whole command in-process: [`run`] takes the arguments and two
//! writers and returns the [`Exit`] status; `main` only wires it to the process.
//!
//! # Example
//!
//! ```
//! use graph_subs_cli::{run, Exit};
//!
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! let exit = run(["graph-subs", "permissions", "me/messages", "--json"], &mut out, &mut err);
//! assert_eq!(exit, Exit::Success);
//! let json: serde_json::Value = serde_json::from_slice(&out)?;
//! assert_eq!(json["kind"], "message");
//! # Ok::<(), serde_json::Error>(())
//! ```

mod check;
mod demo;
mod emulator;
mod exit;
mod explain;
mod keep;
mod manage;
mod permissions;
mod receive;
mod report;

use std::ffi::OsString;
use std::io::Write;

use clap::{Parser, Subcommand};

pub use exit::Exit;
use report::Report;

/// Know what a Microsoft Graph subscription needs before you call Graph.
#[derive(Debug, Parser)]
#[command(name = "graph-subs", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 success; 1 the answer is no (nothing documented); \
                        2 bad usage or input (unknown resource, malformed path); \
                        3 the output could not be written (closed pipe, full disk); \
                        4 a service could not run or be reached (emulator port or state file)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Which permission a subscription operation needs on a resource.
    Permissions(permissions::Args),
    /// Check a subscription request body (create or update) before sending it.
    Check(check::Args),
    /// Everything known about a resource: permissions, lifetime, change types, rich
    /// notifications, payment models, clouds, quotas.
    Explain(explain::Args),
    /// Run a local Microsoft Graph subscription service and token issuer (no tenant
    /// needed), or get a token from one.
    Emulator(Box<emulator::Args>),
    /// Walk through a subscription's whole lifecycle on the built-in emulator: no tenant.
    Demo(demo::Args),
    /// Receive notifications: the validation handshake, clientState checked, one JSON line each.
    Receive(Box<receive::Args>),
    /// List the subscriptions the caller sees (every page).
    List(Box<manage::ListArgs>),
    /// Show one subscription.
    Get(Box<manage::GetArgs>),
    /// Create a subscription from a request body, checked before it is sent.
    Create(Box<manage::CreateArgs>),
    /// Renew subscriptions: some, or all following the renewal plan.
    Renew(Box<manage::RenewArgs>),
    /// Delete subscriptions.
    Delete(Box<manage::DeleteArgs>),
    /// Reauthorize a subscription (after a reauthorizationRequired lifecycle event).
    Reauthorize(Box<manage::ReauthorizeArgs>),
    /// Keep subscriptions alive from a declarative configuration (`keep check CONFIG`).
    Keep(Box<keep::Args>),
}

/// Logs of the long-running commands (`emulator`, `receive`) on stderr, at `default`
/// unless `RUST_LOG` says otherwise.
pub(crate) fn log_to_stderr(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs the command line `args` (the first item is the program name), writing results
/// to `out` and diagnostics to `err`.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Known before parsing, so that even a usage error answers a script in JSON.
    let json = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json" || a.to_str().is_some_and(|a| a.starts_with("--json=")));
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let written = write!(out, "{}", e.render()).map(|()| Exit::Success);
                return finish(written.map_err(Report::from), out, err, false);
            }
            // clap quotes the arguments it refuses: cut long ones, redact URLs.
            let _ = write!(err, "{}", sanitized(&e.render().to_string()));
            if json {
                let message = e.kind().as_str().unwrap_or("invalid usage").to_owned();
                let detail = sanitized(&e.to_string());
                let first = detail
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_owned();
                let report =
                    Report::new(Exit::Usage, if first.is_empty() { message } else { first })
                        .code("usage")
                        .hint("run `graph-subs --help`");
                if report.write_json(out).and_then(|()| out.flush()).is_err() {
                    return Exit::Output;
                }
            }
            return Exit::Usage;
        }
    };
    let result = match cli.command {
        Command::Permissions(args) => permissions::run(&args, out),
        // The one place the command reads the clock; the core takes `now` as an argument.
        Command::Check(args) => check::run(&args, out, chrono::Utc::now()),
        Command::Explain(args) => explain::run(&args, out, chrono::Utc::now()),
        Command::Emulator(args) => emulator::run(&args, out, err),
        Command::Demo(args) => demo::run(&args, out),
        Command::Receive(args) => receive::run(&args, out, err),
        Command::List(args) => manage::list(&args, out),
        Command::Get(args) => manage::get(&args, out),
        Command::Create(args) => manage::create(&args, out, err),
        Command::Renew(args) => manage::renew(&args, out),
        Command::Delete(args) => manage::delete(&args, out, err),
        Command::Reauthorize(args) => manage::reauthorize(&args, out),
        Command::Keep(args) => keep::run(&args, out, err, chrono::Utc::now()),
    };
    finish(result, out, err, json)
}

/// A usage message as it may be shown: each word that holds a URL redacted
/// (`https://***@host/?code=***`), each long one cut.
fn sanitized(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4096));
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains("://") {
            out.push_str(&graph_subs_core::quote::redact_url(word, 200));
        } else if word.chars().count() > 80 {
            out.push_str(&graph_subs_core::quote::shortened(word).to_string());
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || c == '\'' || c == '"' || c == '`' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Flushes the answer, or reports why there is none: on stderr for people, and with
/// `--json` as an error object on stdout for scripts.
fn finish(
    result: Result<Exit, Report>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    json: bool,
) -> Exit {
    let result = result.and_then(|exit| out.flush().map(|()| exit).map_err(Report::from));
    match result {
        Ok(exit) => exit,
        Err(report) => {
            let exit = report.exit();
            // Nothing sensible is left to do when stderr itself is gone.
            let _ = report.write_to(err);
            if json && report.write_json(out).and_then(|()| out.flush()).is_err() {
                return Exit::Output;
            }
            exit
        }
    }
}

/// Waits for Ctrl-C, or SIGTERM on Unix: how the long-running commands (`emulator`,
/// `receive`) are told to stop.
pub(crate) async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
