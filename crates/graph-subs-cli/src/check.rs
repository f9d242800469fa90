//! `graph-subs check FILE|- [--op create|update] [--resource R] [--auth TYPE] [--cloud CLOUD] [--now RFC3339] [--json]`,
//! and `graph-subs check --explain CODE [--json]`.

use std::io::{Read, Write};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::ValueEnum;
use graph_subs_core::cloud::Cloud;
use graph_subs_core::lifetime;
use graph_subs_core::request::{BodyError, MAX_BODY_BYTES};
use graph_subs_core::validate::{
    self, Context, Diagnostic, DiagnosticCode, Example, Properties, Request, Severity,
};
use serde::Serialize;

use crate::permissions::AuthArg;
use crate::{Exit, Report};

/// Check a subscription request body before sending it: every problem at once.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 no error (warnings allowed); 1 the request has errors; \
                        2 the input cannot be read or is not JSON, or CODE is no diagnostic code.\n\nExamples:\n  \
    graph-subs check examples/create-subscription.json --now 2016-11-18T18:23:45Z\n  \
    echo '{\"expirationDateTime\":\"2026-12-01T00:00:00Z\"}' | graph-subs check - --op update --resource me/messages\n  \
    graph-subs check --explain expiration-beyond-maximum"
)]
pub(crate) struct Args {
    /// The request body (JSON), or `-` for standard input.
    #[arg(required_unless_present = "explain")]
    file: Option<PathBuf>,
    /// Print the documentation of a diagnostic code (what it means, a bad and a good
    /// example) instead of checking a request; every code is in docs/diagnostics.md.
    #[arg(
        long,
        value_name = "CODE",
        conflicts_with_all = ["file", "op", "resource", "auth", "cloud", "now"]
    )]
    explain: Option<String>,
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
    /// Print JSON: {"ok": bool, "diagnostics": [...]}; with --explain, the code's
    /// documentation as one object.
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
    if graph_subs_core::subscription::Timestamp::new(t).is_err() {
        return Err("it is before the year 0000, which RFC 3339 cannot write: use 0000-01-01T00:00:00Z or later".into());
    }
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
pub(crate) fn read_body(file: &PathBuf) -> Result<(String, Vec<u8>), Report> {
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
            BodyError::Syntax { .. } | BodyError::Empty | BodyError::Utf16 => {
                ("invalid-json", format!("`{name}` is not valid JSON: {e}"))
            }
        };
        Report::new(Exit::Usage, message).code(code).hint(e.hint())
    })
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, now: DateTime<Utc>) -> Result<Exit, Report> {
    if let Some(code) = &args.explain {
        return explain(code, args.json, out);
    }
    // clap requires FILE without --explain; this only keeps a broken parser from panicking.
    let Some(file) = &args.file else {
        return Err(Report::new(Exit::Usage, "give the request body to check")
            .hint("give a FILE, `-` for standard input, or `--explain CODE`"));
    };
    let (name, bytes) = read_body(file)?;
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
        allow_http_loopback: false,
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

fn json_diagnostics(diagnostics: &[Diagnostic]) -> Vec<JsonDiagnostic<'_>> {
    diagnostics
        .iter()
        .map(|d| JsonDiagnostic {
            severity: d.severity.as_str(),
            code: d.code.as_str(),
            field: d.field.as_deref(),
            message: &d.message,
            hint: d.hint.as_deref(),
        })
        .collect()
}

fn write_json(out: &mut dyn Write, diagnostics: &[Diagnostic]) -> Result<(), Report> {
    let report = JsonReport {
        ok: !validate::has_errors(diagnostics),
        diagnostics: json_diagnostics(diagnostics),
    };
    serde_json::to_writer_pretty(&mut *out, &report).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// `error[code]: message`, then where and how to fix it, the way rustc does; then a
/// summary, and where to read more about the codes.
pub(crate) fn write_human(
    out: &mut dyn Write,
    name: &str,
    diagnostics: &[Diagnostic],
) -> Result<(), Report> {
    for d in diagnostics {
        write!(out, "{}", d.render(name))?;
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
    let mut codes: Vec<DiagnosticCode> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    match codes.as_slice() {
        [] => {}
        [code] => writeln!(
            out,
            "For more information about this code, run `graph-subs check --explain {code}`."
        )?,
        _ => writeln!(
            out,
            "For more information about a code, run `graph-subs check --explain CODE`."
        )?,
    }
    Ok(())
}

/// `--explain CODE`: the code's section of docs/diagnostics.md, or with `--json` the same
/// as one object.
fn explain(code: &str, json: bool, out: &mut dyn Write) -> Result<Exit, Report> {
    let code: DiagnosticCode = code.parse().map_err(|e: validate::UnknownDiagnosticCode| {
        let hint = match e.closest {
            Some(closest) => format!("did you mean `{closest}`?"),
            None => "docs/diagnostics.md lists every code".to_owned(),
        };
        Report::new(Exit::Usage, e.to_string())
            .code("unknown-diagnostic-code")
            .hint(hint)
    })?;
    if json {
        let explained = code.explanation();
        // The core's tests keep every example a JSON object; say so if one is not.
        let check = |example: &Example| {
            example.check().map_err(|e| {
                Report::new(
                    Exit::Usage,
                    format!("the example of `{code}` cannot be checked: {e}"),
                )
                .code("invalid-example")
            })
        };
        let (bad, good) = (check(&explained.bad)?, check(&explained.good)?);
        let document = JsonExplanation {
            code: code.as_str(),
            severity: explained.severity.as_str(),
            summary: code.summary(),
            explanation: explained.text,
            bad: json_example(&explained.bad, &bad),
            good: json_example(&explained.good, &good),
        };
        serde_json::to_writer_pretty(&mut *out, &document).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", validate::explanation_markdown(code))?;
    }
    Ok(Exit::Success)
}

#[derive(Serialize)]
struct JsonExplanation<'a> {
    code: &'static str,
    severity: &'static str,
    summary: &'static str,
    explanation: &'static str,
    bad: JsonExample<'a>,
    good: JsonExample<'a>,
}

#[derive(Serialize)]
struct JsonExample<'a> {
    /// `create` or `update`.
    request: &'static str,
    /// What follows `graph-subs check FILE` to check it.
    arguments: Vec<String>,
    /// The whole command line, the body in `request.json`.
    command: String,
    /// The JSON body, as written (a property given twice stays twice).
    body: String,
    /// What the check reports on it.
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

fn json_example<'a>(example: &Example, diagnostics: &'a [Diagnostic]) -> JsonExample<'a> {
    JsonExample {
        request: match example.request {
            Request::Create => "create",
            Request::Update => "update",
        },
        arguments: example.arguments(),
        command: example.command_line(validate::EXAMPLE_FILE),
        body: example.json(),
        diagnostics: json_diagnostics(diagnostics),
    }
}
