//! `graph-subs keep`: the subscription keeper (issue 10). `keep check CONFIG` judges a
//! configuration offline: every problem at once, each at its line, with a hint.

use std::io::{Read as _, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use graph_subs_core::validate::Severity;
use graph_subs_keeper::config;
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

pub(crate) fn run(args: &Args, out: &mut dyn Write, now: DateTime<Utc>) -> Result<Exit, Report> {
    match &args.command {
        KeepCommand::Check(args) => check(args, out, now),
    }
}

fn check(args: &CheckArgs, out: &mut dyn Write, now: DateTime<Utc>) -> Result<Exit, Report> {
    let unreadable = |e: std::io::Error| {
        Report::new(
            Exit::Usage,
            format!("cannot read the configuration {}", args.config.display()),
        )
        .caused_by(&e)
        .code("unreadable-input")
    };
    let mut text = String::new();
    std::fs::File::open(&args.config)
        .map_err(unreadable)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(unreadable)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Report::new(
            Exit::Usage,
            format!(
                "the configuration {} is over {} MiB",
                args.config.display(),
                MAX_CONFIG_BYTES >> 20
            ),
        )
        .code("input-too-large"));
    }
    let folder = args.config.parent().map(PathBuf::from).unwrap_or_default();
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
