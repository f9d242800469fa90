//! `graph-subs check FILE|- [--op create|update] [--resource R] [--auth TYPE] [--cloud CLOUD] [--now RFC3339] [--json]`.

use std::io::{Read, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::ValueEnum;
use graph_subs_core::cloud::Cloud;
use graph_subs_core::lifetime;
use graph_subs_core::request::{BodyError, MAX_BODY_BYTES};
use graph_subs_core::validate::{self, Context, Diagnostic, Properties, Request, Severity};
use serde::Serialize;

use crate::permissions::AuthArg;
use crate::{Exit, Report};

/// Check a subscription request body before sending it: every problem at once.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 no error (warnings allowed); 1 the request has errors; \
                        2 the input cannot be read or is not JSON.\n\nExamples:\n  \
    graph-subs check examples/create-subscription.json --now 2016-11-18T18:23:45Z\n  \
    echo '{\"expirationDateTime\":\"2026-12-01T00:00:00Z\"}' | graph-subs check - --op update --resource me/messages"
)]
pub(crate) struct Args {
    /// The request body (JSON), or `-` for standard input.
    file: PathBuf,
    /// Which request the body is for.
    #[arg(long, value_enum, default_value_t = CheckOp::Create)]
    op: CheckOp,
    /// For an update: the resource of the subscription being updated.
    #[arg(long, value_name = "RESOURCE")]
    resource: Option<String>,
    /// The permission type the request will be sent with (checks it is supported).
    #[arg(long, value_enum)]
    auth: Option<AuthArg>,
    /// The national cloud the request goes to.
    #[arg(long, value_enum, default_value_t = CloudArg::Global)]
    cloud: CloudArg,
    /// Check as if sent at this time (RFC 3339) instead of now.
    #[arg(long, value_parser = parse_time)]
    now: Option<DateTime<Utc>>,
    /// Print JSON: {"ok": bool, "diagnostics": [...]}.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckOp {
    Create,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CloudArg {
    Global,
    UsgovL4,
    UsgovL5,
    China,
}

impl From<CloudArg> for Cloud {
    fn from(c: CloudArg) -> Cloud {
        match c {
            CloudArg::Global => Cloud::Global,
            CloudArg::UsgovL4 => Cloud::UsGovL4,
            CloudArg::UsgovL5 => Cloud::UsGovL5,
            CloudArg::China => Cloud::China,
        }
    }
}

/// `--now`: an RFC 3339 time whose results (now plus the longest lifetime) can still be
/// written in RFC 3339.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}: write an RFC 3339 time such as 2026-11-22T09:00:00Z"))?;
    let latest = lifetime::latest_supported_now();
    if t > latest {
        return Err(format!(
            "expiration times computed from it would pass the year 9999, which RFC 3339 cannot write: use {} or earlier",
            lifetime::rfc3339(latest)
        ));
    }
    Ok(t)
}

/// The request body, from a file or standard input: at most one byte past the limit is
/// read, so `check /dev/zero` stops at once.
fn read_body(file: &PathBuf) -> Result<(String, Vec<u8>), Report> {
    let (name, reader): (String, Box<dyn Read>) = if file.as_os_str() == "-" {
        ("<stdin>".into(), Box::new(std::io::stdin()))
    } else {
        let name = file.display().to_string();
        let f = std::fs::File::open(file).map_err(|e| {
            Report::new(Exit::Usage, format!("cannot read `{name}`"))
                .code("unreadable-input")
                .caused_by(&e)
                .hint("give the path of a JSON request body, or `-` to read standard input")
        })?;
        (name, Box::new(f))
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            Report::new(Exit::Usage, format!("cannot read `{name}`"))
                .code("unreadable-input")
                .caused_by(&e)
        })?;
    Ok((name, bytes))
}

/// Parses the body as a JSON object.
pub(crate) fn parse_body(name: &str, bytes: &[u8]) -> Result<Properties, Report> {
    Properties::from_json(bytes).map_err(|e| {
        let (code, message) = match &e {
            BodyError::TooLarge { .. } => (
                "body-too-large",
                format!("`{name}` is larger than {MAX_BODY_BYTES} bytes"),
            ),
            BodyError::Syntax { .. } => {
                ("invalid-json", format!("`{name}` is not valid JSON: {e}"))
            }
        };
        Report::new(Exit::Usage, message).code(code).hint(e.hint())
    })
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, now: DateTime<Utc>) -> Result<Exit, Report> {
    let (name, bytes) = read_body(&args.file)?;
    let body = parse_body(&name, &bytes)?;
    let request = match args.op {
        CheckOp::Create => Request::Create,
        CheckOp::Update => Request::Update,
    };
    if request == Request::Create && args.resource.is_some() {
        return Err(Report::new(
            Exit::Usage,
            "`--resource` gives the resource of the subscription an update is for",
        )
        .hint("with `--op create`, the resource is the body's `resource` property"));
    }
    if let Some(resource) = &args.resource {
        // A bad `--resource` is bad usage, not a problem of the request body.
        crate::permissions::resolve(resource)?;
    }
    let context = Context {
        now: args.now.unwrap_or(now),
        permission_type: args.auth.map(Into::into),
        cloud: args.cloud.into(),
        subscription_resource: args.resource.clone(),
    };
    let diagnostics = validate::check(request, &body, &context);
    if args.json {
        write_json(out, &diagnostics)?;
    } else {
        write_human(out, &name, &diagnostics)?;
    }
    Ok(if validate::has_errors(&diagnostics) {
        Exit::No
    } else {
        Exit::Success
    })
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: &'static str,
    code: &'static str,
    field: Option<&'a str>,
    message: &'a str,
    hint: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

fn write_json(out: &mut dyn Write, diagnostics: &[Diagnostic]) -> Result<(), Report> {
    let report = JsonReport {
        ok: !validate::has_errors(diagnostics),
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                severity: d.severity.as_str(),
                code: d.code.as_str(),
                field: d.field.as_deref(),
                message: &d.message,
                hint: d.hint.as_deref(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// `error[code]: message`, then where and how to fix it, the way rustc does.
pub(crate) fn write_human(
    out: &mut dyn Write,
    name: &str,
    diagnostics: &[Diagnostic],
) -> Result<(), Report> {
    for d in diagnostics {
        writeln!(out, "{}[{}]: {}", d.severity, d.code, d.message)?;
        match &d.field {
            Some(field) => writeln!(out, "  --> {name}: {field}")?,
            None => writeln!(out, "  --> {name}")?,
        }
        if let Some(hint) = &d.hint {
            writeln!(out, "   = help: {hint}")?;
        }
        writeln!(out)?;
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if errors > 0 {
        writeln!(
            out,
            "{name}: {}, {}: Graph would refuse this request",
            plural(errors, "error"),
            plural(warnings, "warning")
        )?;
    } else if warnings > 0 {
        writeln!(out, "{name}: ok, with {}", plural(warnings, "warning"))?;
    } else {
        writeln!(out, "{name}: ok")?;
    }
    Ok(())
}
