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
mod exit;
mod explain;
mod permissions;
mod report;

use std::ffi::OsString;
use std::io::{self, Write};

use clap::{Parser, Subcommand};

pub use exit::Exit;
use report::Report;

/// Know what a Microsoft Graph subscription needs before you call Graph.
#[derive(Debug, Parser)]
#[command(name = "graph-subs", version, about, long_about = None)]
#[command(
    after_help = "Exit status: 0 success; 1 the answer is no (nothing documented); \
                        2 bad usage or input (unknown resource, malformed path)."
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
}

/// Runs the command line `args` (the first item is the program name), writing results
/// to `out` and diagnostics to `err`.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let (written, exit) = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    (write!(out, "{}", e.render()), Exit::Success)
                }
                _ => (write!(err, "{}", e.render()), Exit::Usage),
            };
            return match written {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success,
                _ => exit,
            };
        }
    };
    let result = match cli.command {
        Command::Permissions(args) => permissions::run(&args, out),
        // The one place the command reads the clock; the core takes `now` as an argument.
        Command::Check(args) => check::run(&args, out, chrono::Utc::now()),
        Command::Explain(args) => explain::run(&args, out, chrono::Utc::now()),
    };
    match result {
        Ok(exit) => exit,
        Err(Report::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success,
        Err(report) => {
            let exit = report.exit();
            // Nothing sensible is left to do when stderr itself is gone.
            let _ = report.write_to(err);
            exit
        }
    }
}
