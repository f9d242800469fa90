//! The commands that call Graph: `list`, `get`, `create`, `renew`, `delete`,
//! `reauthorize`, through `graph-subs-http`.
//!
//! Where they connect: `--base-url` (or `GRAPH_SUBS_BASE_URL`), else the `--cloud`'s
//! Graph root with `v1.0`. Who they are, one of:
//! - `--token` (or `GRAPH_SUBS_TOKEN`): a bearer token as is;
//! - `--tenant-id` and `--client-id`, with the secret in `GRAPH_SUBS_CLIENT_SECRET` or a
//!   file (`--client-secret-file`), never in a flag: the client-credentials flow against
//!   the cloud's login root, or `--authority` (an emulator's base URL);
//! - `--azure-cli`: `az account get-access-token`.

use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args as ClapArgs;
use futures_util::TryStreamExt as _;
use graph_subs_core::catalogue;
use graph_subs_core::cloud::Cloud;
use graph_subs_core::lifetime::{self, Extension, RenewalPolicy, Tracked};
use graph_subs_core::quote;
use graph_subs_core::resource::ResourcePath;
use graph_subs_http::{
    AzureCli, BulkOutcome, ClientCredentials, Error, GraphClient, Mode, Pacing, Preflight, Secret,
    StaticToken, Subscription,
};

use crate::Exit;
use crate::report::Report;

/// How to reach Graph and who to be.
#[derive(Debug, ClapArgs)]
pub(crate) struct Connection {
    /// The national cloud.
    #[arg(
        long,
        default_value = "global",
        value_name = "global|usgov-l4|usgov-l5|china"
    )]
    cloud: Cloud,
    /// The service root with its version (an emulator's `http://127.0.0.1:8080/v1.0`).
    #[arg(long, env = "GRAPH_SUBS_BASE_URL", value_name = "URL")]
    base_url: Option<String>,
    /// A bearer token (prefer the GRAPH_SUBS_TOKEN environment variable: a flag lands in
    /// shell history).
    #[arg(
        long,
        env = "GRAPH_SUBS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// The tenant, for client credentials.
    #[arg(long, value_name = "ID")]
    tenant_id: Option<String>,
    /// The app (client) id, for client credentials; the secret comes from
    /// GRAPH_SUBS_CLIENT_SECRET or --client-secret-file.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// A file holding the client secret.
    #[arg(long, value_name = "FILE")]
    client_secret_file: Option<PathBuf>,
    /// The login root for client credentials (default: the cloud's).
    #[arg(long, value_name = "URL")]
    authority: Option<String>,
    /// Tokens from the Azure CLI.
    #[arg(long)]
    azure_cli: bool,
    /// Also trust this CA (PEM): for an emulator served over HTTPS.
    #[arg(long, value_name = "PEM")]
    ca: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// The client's own pacing: `graph` stays within Graph's documented limits (40 List
    /// requests and 1,000 others per 20 s, per app and tenant); `off` sends as fast as
    /// the concurrency allows (an emulator started with `--throttle off`).
    #[arg(long, value_enum, default_value_t = PacingChoice::Graph, value_name = "graph|off")]
    pacing: PacingChoice,
    /// Send even what the core's validation refuses.
    #[arg(long)]
    no_validate: bool,
    /// Send even when the token holds none of the documented permissions.
    #[arg(long)]
    no_permission_check: bool,
}

/// `--pacing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PacingChoice {
    /// Graph's documented limits.
    Graph,
    /// None.
    Off,
}

/// `graph-subs list`.
#[derive(Debug, ClapArgs)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    connection: Connection,
    /// One JSON array of subscriptions, in Graph's JSON.
    #[arg(long, conflicts_with = "jsonl")]
    json: bool,
    /// One subscription a line, streamed.
    #[arg(long)]
    jsonl: bool,
}

/// `graph-subs get ID`.
#[derive(Debug, ClapArgs)]
pub(crate) struct GetArgs {
    /// The subscription id.
    id: String,
    #[command(flatten)]
    connection: Connection,
    /// The subscription in Graph's JSON.
    #[arg(long)]
    json: bool,
}

/// `graph-subs create FILE`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CreateArgs {
    /// The request body (JSON), or `-` for standard input; or give --resource and the
    /// other flags instead.
    #[arg(required_unless_present = "resource", conflicts_with = "resource")]
    file: Option<PathBuf>,
    /// The resource to subscribe to (instead of a file).
    #[arg(long, value_name = "PATH", requires_all = ["change_type", "notification_url"])]
    resource: Option<String>,
    /// Change types, comma separated: created,updated,deleted.
    #[arg(long, value_name = "TYPES")]
    change_type: Option<String>,
    /// Where Graph sends notifications.
    #[arg(long, value_name = "URL")]
    notification_url: Option<String>,
    /// Where Graph sends lifecycle notifications.
    #[arg(long, value_name = "URL")]
    lifecycle_url: Option<String>,
    /// How long it lasts: `max` (the resource's maximum) or a duration (`48h`, `3d`).
    #[arg(long, default_value = "max", value_name = "max|DUR")]
    expires: String,
    /// A file holding the clientState (a secret: never a flag value). The
    /// GRAPH_SUBS_CLIENT_STATE environment variable works too.
    #[arg(long, value_name = "FILE")]
    client_state_file: Option<PathBuf>,
    #[command(flatten)]
    connection: Connection,
    /// The created subscription in Graph's JSON.
    #[arg(long)]
    json: bool,
}

/// `graph-subs renew`.
#[derive(Debug, ClapArgs)]
pub(crate) struct RenewArgs {
    /// Subscription ids.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    ids: Vec<String>,
    /// Every subscription the caller sees, following the core's renewal plan.
    #[arg(long)]
    all: bool,
    /// With --all: only those expiring within this (`90m`, `48h`, `3d`).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, requires = "all")]
    expiring_within: Option<chrono::Duration>,
    /// The new expiration: `max` (the resource's maximum) or a duration from now.
    #[arg(long, default_value = "max", value_name = "max|DUR")]
    to: String,
    /// Print the plan; call nothing that changes anything.
    #[arg(long)]
    dry_run: bool,
    /// One request per renewal instead of `$batch`.
    #[arg(long)]
    no_batch: bool,
    #[command(flatten)]
    connection: Connection,
    /// `{"renewed", "skipped", "failed": [...]}`.
    #[arg(long)]
    json: bool,
}

/// `graph-subs delete`.
#[derive(Debug, ClapArgs)]
pub(crate) struct DeleteArgs {
    /// Subscription ids.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    ids: Vec<String>,
    /// Every subscription the caller sees.
    #[arg(long)]
    all: bool,
    /// Do not ask before deleting everything.
    #[arg(long)]
    yes: bool,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// One request per deletion instead of `$batch`.
    #[arg(long)]
    no_batch: bool,
    #[command(flatten)]
    connection: Connection,
    /// `{"deleted", "skipped", "failed": [...]}`.
    #[arg(long)]
    json: bool,
}

/// `graph-subs reauthorize ID`.
#[derive(Debug, ClapArgs)]
pub(crate) struct ReauthorizeArgs {
    /// The subscription id.
    id: String,
    #[command(flatten)]
    connection: Connection,
}

/// `90m`, `48h`, `3d`, `45s`: the core's reading, shared with the keeper's configuration.
pub(crate) fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    graph_subs_core::lifetime::parse_duration(text)
}

fn usage(message: impl Into<String>, hint: &str) -> Report {
    Report::new(Exit::Usage, message).hint(hint.to_owned())
}

impl Connection {
    fn client(&self) -> Result<GraphClient, Report> {
        let graph_root = graph_subs_http::token_root(self.cloud, self.base_url.as_deref());
        // A service root on this machine is an emulator (Graph is never on loopback), and
        // the emulator accepts http:// endpoints on loopback: so does the check before
        // the call, then.
        let local_service = graph_subs_http::is_local_service(self.base_url.as_deref());
        let mut builder = GraphClient::builder()
            .cloud(self.cloud)
            .allow_http_loopback(local_service)
            .concurrency(usize::from(self.concurrency))
            .pacing(match self.pacing {
                PacingChoice::Graph => Pacing::GRAPH,
                PacingChoice::Off => Pacing::OFF,
            })
            .preflight(Preflight {
                validate: !self.no_validate,
                permissions: !self.no_permission_check,
            });
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url);
        }
        let mut http = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if let Some(path) = &self.ca {
            let pem = std::fs::read(path).map_err(|e| {
                usage(
                    format!("cannot read the CA certificate {}", path.display()),
                    "give a PEM file",
                )
                .caused_by(&e)
                .code("unreadable-input")
            })?;
            let certificate = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                usage(
                    format!("{} is not a PEM certificate", path.display()),
                    "give a PEM file",
                )
                .caused_by(&e)
            })?;
            http = http.add_root_certificate(certificate);
            builder = builder.add_root_certificate(pem);
        }
        builder = match (&self.token, self.azure_cli, &self.client_id) {
            (Some(token), false, None) => builder.token_provider(StaticToken::new(token.trim())),
            (None, true, None) => builder.token_provider(AzureCli::new(&graph_root)),
            (None, false, Some(client_id)) => {
                let tenant = self.tenant_id.as_deref().ok_or_else(|| {
                    usage(
                        "--client-id needs --tenant-id",
                        "give the tenant the app is registered in",
                    )
                })?;
                let secret = self.client_secret()?;
                let authority = self.authority.as_deref().unwrap_or(self.cloud.login_root());
                let http = http.build().map_err(|e| {
                    Report::new(Exit::Failure, "cannot build the HTTP client").caused_by(&e)
                })?;
                builder.token_provider(
                    ClientCredentials::new(authority, tenant, client_id, secret, &graph_root)
                        .with_http_client(http),
                )
            }
            (None, false, None) => {
                return Err(usage(
                    "no credentials: say who calls Graph",
                    "set GRAPH_SUBS_TOKEN, or give --tenant-id and --client-id with GRAPH_SUBS_CLIENT_SECRET, or --azure-cli",
                )
                .code("no-credentials"));
            }
            _ => {
                return Err(usage(
                    "give one kind of credentials: a token, client credentials, or --azure-cli",
                    "drop all but one of --token (GRAPH_SUBS_TOKEN), --client-id, --azure-cli",
                ));
            }
        };
        builder
            .build()
            .map_err(|e| usage("cannot set up the client", "check --base-url").caused_by(&e))
    }

    fn client_secret(&self) -> Result<Secret, Report> {
        if let Some(path) = &self.client_secret_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                usage(
                    format!("cannot read the client secret file {}", path.display()),
                    "give a file holding only the secret",
                )
                .caused_by(&e)
                .code("unreadable-input")
            })?;
            return Ok(Secret::new(text.trim()));
        }
        match std::env::var("GRAPH_SUBS_CLIENT_SECRET") {
            Ok(secret) if !secret.is_empty() => Ok(Secret::new(secret)),
            _ => Err(usage(
                "client credentials need a secret",
                "set GRAPH_SUBS_CLIENT_SECRET or give --client-secret-file (never a flag: it would land in shell history)",
            )
            .code("no-credentials")),
        }
    }
}

/// An error from the client as the user sees it, with what to do.
fn reported(error: Error) -> Report {
    let (exit, code, hint) = match &error {
        Error::Invalid { .. } => (
            Exit::No,
            "refused-before-sending",
            Some("fix the request, or send it anyway with --no-validate"),
        ),
        Error::MissingPermission { .. } | Error::PermissionTypeNotSupported { .. } => (
            Exit::No,
            "missing-permission",
            Some(
                "grant one of those permissions, or send anyway with --no-permission-check (the table may lag Graph)",
            ),
        ),
        Error::NotFound { .. } => (Exit::No, "not-found", None),
        Error::Api { .. } | Error::RetriesExhausted { .. } => (Exit::No, "graph-error", None),
        Error::Token(_) => (
            Exit::Failure,
            "token",
            Some("check the credentials and the --authority"),
        ),
        Error::Transport {
            retryable: false, ..
        } => (
            Exit::Failure,
            "untrusted-certificate",
            Some(
                "the server's certificate is not trusted: for an emulator started with --tls, add --ca with the CA file it printed",
            ),
        ),
        Error::Transport { .. } | Error::Decode { .. } | Error::NextLinkLoop { .. } => (
            Exit::Failure,
            "unreachable",
            Some("check --base-url and the network"),
        ),
        Error::Config(_) => (Exit::Usage, "usage", None),
    };
    let mut report = Report::new(exit, error.to_string()).code(code);
    if let Error::Invalid { diagnostics } = &error {
        for d in diagnostics {
            report = report.cause(format!(
                "{}[{}]: {}",
                d.severity.as_str(),
                d.code.as_str(),
                d.message
            ));
        }
    }
    if let Some(hint) = hint {
        report = report.hint(hint);
    }
    report
}

fn runtime() -> Result<tokio::runtime::Runtime, Report> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Report::new(Exit::Failure, "cannot start the async runtime").caused_by(&e))
}

pub(crate) fn expires_in(expiration: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = expiration - now;
    if left <= chrono::Duration::zero() {
        return "expired".to_owned();
    }
    let (d, h, m) = (
        left.num_days(),
        left.num_hours() % 24,
        left.num_minutes() % 60,
    );
    match (d, h) {
        (0, 0) => format!("in {m}m"),
        (0, _) => format!("in {h}h {m}m"),
        _ => format!("in {d}d {h}h"),
    }
}

fn table(
    subscriptions: &[Subscription],
    out: &mut dyn Write,
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    if subscriptions.is_empty() {
        return writeln!(out, "no subscriptions");
    }
    let rows: Vec<[String; 4]> = subscriptions
        .iter()
        .map(|s| {
            [
                quote::shortened(&s.id).to_string(),
                format!(
                    "{} ({})",
                    s.expiration_date_time.get().format("%Y-%m-%d %H:%M"),
                    expires_in(s.expiration_date_time.get(), now)
                ),
                quote::shortened(&s.change_type).to_string(),
                quote::value(&s.resource),
            ]
        })
        .collect();
    let header = ["ID", "EXPIRES", "CHANGE TYPE", "RESOURCE"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    writeln!(
        out,
        "{:<w0$}  {:<w1$}  {:<w2$}  {}",
        header[0], header[1], header[2], header[3]
    )?;
    for [id, expires, change, resource] in &rows {
        writeln!(out, "{id:<w0$}  {expires:<w1$}  {change:<w2$}  {resource}")?;
    }
    writeln!(
        out,
        "{} subscription{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    )
}

pub(crate) fn list(args: &ListArgs, out: &mut dyn Write) -> Result<Exit, Report> {
    let client = args.connection.client()?;
    runtime()?.block_on(async {
        let mut stream = std::pin::pin!(client.list());
        if args.jsonl {
            while let Some(s) = stream.try_next().await.map_err(reported)? {
                serde_json::to_writer(&mut *out, &s)
                    .map_err(|e| Report::from(std::io::Error::from(e)))?;
                out.write_all(b"\n")?;
            }
            return Ok(Exit::Success);
        }
        let all: Vec<Subscription> = stream.try_collect().await.map_err(reported)?;
        if args.json {
            serde_json::to_writer_pretty(&mut *out, &all)
                .map_err(|e| Report::from(std::io::Error::from(e)))?;
            writeln!(out)?;
        } else {
            table(&all, out, Utc::now())?;
        }
        Ok(Exit::Success)
    })
}

pub(crate) fn get(args: &GetArgs, out: &mut dyn Write) -> Result<Exit, Report> {
    let client = args.connection.client()?;
    let s = runtime()?
        .block_on(client.get(&args.id))
        .map_err(reported)?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &s)
            .map_err(|e| Report::from(std::io::Error::from(e)))?;
        writeln!(out)?;
    } else {
        table(std::slice::from_ref(&s), out, Utc::now())?;
    }
    Ok(Exit::Success)
}

pub(crate) fn create(
    args: &CreateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Report> {
    let body = match &args.file {
        Some(file) => {
            let (name, body) = crate::check::read_body(file)?;
            crate::check::parse_body(&name, &body)?;
            body
        }
        None => body_from_flags(args)?,
    };
    let client = args.connection.client()?;
    let created = runtime()?
        .block_on(client.create_json(&body))
        .map_err(reported)?;
    for w in &created.warnings {
        let _ = writeln!(err, "warning[{}]: {}", w.code.as_str(), w.message);
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &created.subscription)
            .map_err(|e| Report::from(std::io::Error::from(e)))?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "created {} on {}, expires {}",
            created.subscription.id,
            quote::value(&created.subscription.resource),
            created.subscription.expiration_date_time
        )?;
    }
    Ok(Exit::Success)
}

/// The request body `create`'s flags describe.
fn body_from_flags(args: &CreateArgs) -> Result<Vec<u8>, Report> {
    let resource = args.resource.as_deref().unwrap_or_default();
    let kind = ResourcePath::parse(resource)
        .ok()
        .and_then(|p| catalogue::resolve(&p).ok())
        .map(|r| r.kind());
    let now = Utc::now();
    let expires = match (args.expires.as_str(), kind) {
        ("max", Some(kind)) => lifetime::latest_expiration(kind, false, now),
        ("max", None) => {
            return Err(usage(
                format!(
                    "`{}` is not a resource graph-subs knows, so its maximum lifetime is unknown",
                    quote::value(resource)
                ),
                "give --expires as a duration, such as --expires 48h",
            ));
        }
        (text, _) => {
            now + parse_duration(text)
                .map_err(|e| usage(e, "write --expires max or --expires 48h"))?
        }
    };
    let mut body = serde_json::json!({
        "changeType": args.change_type,
        "notificationUrl": args.notification_url,
        "resource": resource,
        "expirationDateTime": lifetime::rfc3339(expires),
    });
    if let Some(url) = &args.lifecycle_url {
        body["lifecycleNotificationUrl"] = serde_json::json!(url);
    }
    if let Some(state) = client_state_from(args.client_state_file.as_deref())? {
        body["clientState"] = serde_json::json!(state);
    }
    serde_json::to_vec(&body).map_err(|e| Report::from(std::io::Error::from(e)))
}

/// A `clientState`: from `file` when given (trimmed), else from the
/// `GRAPH_SUBS_CLIENT_STATE` environment variable, never from a flag's value.
pub(crate) fn client_state_from(file: Option<&std::path::Path>) -> Result<Option<String>, Report> {
    Ok(match file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| {
                    usage(
                        format!("cannot read the clientState file {}", path.display()),
                        "give a file holding only the clientState",
                    )
                    .caused_by(&e)
                    .code("unreadable-input")
                })?
                .trim()
                .to_owned(),
        ),
        None => std::env::var("GRAPH_SUBS_CLIENT_STATE")
            .ok()
            .filter(|s| !s.is_empty()),
    })
}

pub(crate) fn reauthorize(args: &ReauthorizeArgs, out: &mut dyn Write) -> Result<Exit, Report> {
    let client = args.connection.client()?;
    runtime()?
        .block_on(client.reauthorize(&args.id))
        .map_err(reported)?;
    writeln!(out, "reauthorized {}", quote::shortened(&args.id))?;
    Ok(Exit::Success)
}

/// `renewing [#########-----------] 450/1000`.
fn progress_bar(what: &str, done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    format!(
        "{what} [{}{}] {done}/{total}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    )
}

/// A progress line on stderr, when stderr is a terminal.
struct Progress {
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            shown: std::io::stderr().is_terminal(),
        }
    }

    fn say(&self, text: &str) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[2K{text}");
        }
    }

    fn done(&self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

fn kind_of(s: &Subscription) -> Option<catalogue::ResourceKind> {
    ResourcePath::parse(&s.resource)
        .ok()
        .and_then(|p| catalogue::resolve(&p).ok())
        .map(|r| r.kind())
}

/// Prints a bulk outcome; exit 1 when an item failed.
fn finish_bulk(
    verb: &str,
    outcome: &BulkOutcome,
    skipped: usize,
    json: bool,
    out: &mut dyn Write,
) -> Result<Exit, Report> {
    let skipped = skipped + outcome.skipped.len();
    if json {
        let failed: Vec<serde_json::Value> = outcome
            .failed
            .iter()
            .map(|f| serde_json::json!({"id": f.id, "status": f.status, "code": f.code, "message": f.message}))
            .collect();
        let mut answer = serde_json::json!({ "skipped": skipped, "failed": failed });
        answer[verb] = serde_json::json!(outcome.succeeded.len());
        serde_json::to_writer_pretty(&mut *out, &answer)
            .map_err(|e| Report::from(std::io::Error::from(e)))?;
        writeln!(out)?;
    } else {
        for f in &outcome.failed {
            writeln!(
                out,
                "failed {}: {}{}",
                quote::shortened(&f.id),
                f.status.map(|s| format!("{s} ")).unwrap_or_default(),
                f.message
            )?;
        }
        writeln!(
            out,
            "{verb} {}, skipped {skipped}, failed {}",
            outcome.succeeded.len(),
            outcome.failed.len()
        )?;
    }
    Ok(if outcome.failed.is_empty() {
        Exit::Success
    } else {
        Exit::No
    })
}

pub(crate) fn renew(args: &RenewArgs, out: &mut dyn Write) -> Result<Exit, Report> {
    let explicit_to = match args.to.as_str() {
        "max" => None,
        text => Some(parse_duration(text).map_err(|e| usage(e, "write --to max or --to 48h"))?),
    };
    let client = args.connection.client()?;
    let mode = if args.no_batch {
        Mode::Single
    } else {
        Mode::Batched
    };
    let progress = Progress::new();
    runtime()?.block_on(async {
        let now = Utc::now();
        let subscriptions: Vec<Subscription> = if args.all {
            progress.say("listing subscriptions...");
            client.list().try_collect().await.map_err(reported)?
        } else {
            let mut got = Vec::new();
            for id in &args.ids {
                got.push(client.get(id).await.map_err(reported)?);
            }
            got
        };
        let tracked: Vec<Tracked> = subscriptions
            .iter()
            .filter_map(|s| {
                Some(Tracked {
                    id: s.id.clone(),
                    kind: kind_of(s)?,
                    include_resource_data: s.include_resource_data.unwrap_or(false),
                    expires: s.expiration_date_time.get(),
                    lifetime: None,
                })
            })
            .collect();
        let unknown = subscriptions.len() - tracked.len();
        let target = |t: &Tracked| {
            let latest = lifetime::latest_expiration(t.kind, t.include_resource_data, now);
            explicit_to.map_or(latest, |d| (now + d).min(latest))
        };
        let planned: Vec<(String, DateTime<Utc>)> = if args.all {
            let defaults = RenewalPolicy::default();
            let policy = RenewalPolicy {
                renew_before: args.expiring_within.unwrap_or(defaults.renew_before),
                extension: Extension::ToMaximum,
                ..defaults
            };
            let plan = lifetime::plan_renewals(&tracked, now, &policy);
            plan.renew
                .iter()
                .map(|r| {
                    // The plan's spread target, or the one asked for.
                    let to = match explicit_to {
                        Some(_) => tracked
                            .iter()
                            .find(|t| t.id == r.id)
                            .map_or(r.new_expiration, target),
                        None => r.new_expiration,
                    };
                    (r.id.to_owned(), to)
                })
                .collect()
        } else {
            tracked.iter().map(|t| (t.id.clone(), target(t))).collect()
        };
        let skipped = subscriptions.len() - planned.len();
        if args.dry_run {
            progress.done();
            for (id, to) in &planned {
                writeln!(out, "would renew {id} to {}", lifetime::rfc3339(*to))?;
            }
            writeln!(
                out,
                "would renew {}, skip {skipped} ({unknown} on resources graph-subs does not know)",
                planned.len()
            )?;
            return Ok(Exit::Success);
        }
        let outcome = client
            .renew_many_with_progress(&planned, mode, &|done, total| {
                progress.say(&progress_bar("renewing", done, total));
            })
            .await;
        progress.done();
        finish_bulk("renewed", &outcome, skipped, args.json, out)
    })
}

pub(crate) fn delete(
    args: &DeleteArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, Report> {
    let client = args.connection.client()?;
    let mode = if args.no_batch {
        Mode::Single
    } else {
        Mode::Batched
    };
    let progress = Progress::new();
    runtime()?.block_on(async {
        let ids: Vec<String> = if args.all {
            progress.say("listing subscriptions...");
            let all: Vec<Subscription> = client.list().try_collect().await.map_err(reported)?;
            all.into_iter().map(|s| s.id).collect()
        } else {
            args.ids.clone()
        };
        progress.done();
        if args.dry_run {
            for id in &ids {
                writeln!(out, "would delete {}", quote::shortened(id))?;
            }
            writeln!(out, "would delete {}", ids.len())?;
            return Ok(Exit::Success);
        }
        if args.all && !args.yes && !ids.is_empty() {
            if !std::io::stdin().is_terminal() {
                return Err(usage(
                    format!(
                        "refusing to delete all {} subscriptions without confirmation",
                        ids.len()
                    ),
                    "add --yes (standard input is not a terminal to ask on)",
                ));
            }
            let _ = write!(err, "delete all {} subscriptions? [y/N] ", ids.len());
            let _ = err.flush();
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                writeln!(out, "nothing deleted")?;
                return Ok(Exit::No);
            }
        }
        let outcome = client
            .delete_many_with_progress(&ids, mode, &|done, total| {
                progress.say(&progress_bar("deleting", done, total));
            })
            .await;
        progress.done();
        finish_bulk("deleted", &outcome, 0, args.json, out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_bar_fills_with_the_work() {
        assert_eq!(
            progress_bar("renewing", 0, 10),
            format!("renewing [{}] 0/10", "-".repeat(30))
        );
        assert_eq!(
            progress_bar("renewing", 5, 10),
            format!("renewing [{}{}] 5/10", "#".repeat(15), "-".repeat(15))
        );
        assert_eq!(
            progress_bar("deleting", 0, 0),
            format!("deleting [{}] 0/0", "#".repeat(30))
        );
    }
}
