//! `graph-subs emulator`: runs the local Graph subscription service until Ctrl-C or
//! SIGTERM; `graph-subs emulator token`: prints a token from a running one.
//!
//! # HTTPS (`--tls`)
//!
//! With `--tls` the emulator serves HTTPS with a certificate it makes at start, signed by
//! a CA made for this run (see the emulator's `tls.rs`), and writes that CA's certificate
//! (PEM, public: no key) to `--tls-cert-out`, by default `graph-subs-emulator-ca.pem` in
//! the current directory. The path is printed as an absolute path with the start-up
//! lines (`caCertificate` with `--json`). The default is a fixed name in the working
//! directory, not a file beside `--state`, so that the same command finds it whether or
//! not state is kept; two emulators started from one directory need their own
//! `--tls-cert-out`. The file is replaced atomically at each start (a new CA each time)
//! and left in place at exit. `graph-subs emulator token --ca FILE` trusts it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args as ClapArgs, Subcommand};
use graph_subs_emulator::{App, Emulator, Faults, Throttle};

use crate::Exit;
use crate::report::Report;

/// Run a local Microsoft Graph subscription service (and token issuer).
#[derive(Debug, ClapArgs)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print an access token from a running emulator, for curl and tests: delegated with
    /// --scopes or --user-id, application with --roles.
    Token(TokenArgs),
}

#[derive(Debug, ClapArgs)]
struct RunArgs {
    /// The address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// Keep subscriptions, the clock and the signing key in FILE across restarts (crash
    /// safe). Without it, state is in memory.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Subscriptions per List page.
    #[arg(long, default_value_t = 100, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    page_size: u16,
    /// An app for the client-credentials flow: CLIENT_ID=SECRET:Role1,Role2. Repeatable.
    /// A secret on the command line is visible to other local users: prefer --apps-file.
    #[arg(long = "app", value_name = "CLIENT_ID=SECRET:ROLES", value_parser = parse_app)]
    apps: Vec<App>,
    /// Apps from a TOML file: `[[app]]` tables with `client_id`, `secret` and `roles`.
    #[arg(long, value_name = "FILE")]
    apps_file: Option<PathBuf>,
    /// The tenant tokens and subscriptions belong to by default.
    #[arg(long, default_value = graph_subs_emulator::DEFAULT_TENANT_ID, value_name = "ID")]
    tenant_id: String,
    /// Graph's throttling: `on` (40 List and 1,000 other requests per 20 s per app and
    /// tenant), `off`, or limits such as `list=40/20s,other=1000/20s`.
    #[arg(long, default_value = "on", value_name = "on|off|LIMITS")]
    throttle: Throttle,
    /// Faults to inject, such as `429:0.1,503:0.05,504:0.05,drop:0.02,delay:200ms`.
    #[arg(long, value_name = "FAULTS")]
    faults: Option<Faults>,
    /// The seed of the fault generator: the same seed, the same faults.
    #[arg(long, default_value_t = 0, value_name = "N")]
    seed: u64,
    /// Do not call notification URLs to validate them on create and update (for load
    /// tests; Graph always validates).
    #[arg(long)]
    no_endpoint_validation: bool,
    /// Also trust this CA (PEM) when calling HTTPS notification URLs, for local receivers
    /// with their own certificates. Repeatable.
    #[arg(long = "ca", value_name = "PEM")]
    cas: Vec<PathBuf>,
    /// Serve HTTPS with a certificate made at start (for localhost, 127.0.0.1, ::1 and the
    /// listen address), signed by a CA whose certificate is written to --tls-cert-out.
    #[arg(long)]
    tls: bool,
    /// Where --tls writes the CA certificate (PEM) clients must trust.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CA_FILE, requires = "tls")]
    tls_cert_out: PathBuf,
    /// Another DNS name or IP address for the --tls certificate (for a wildcard --listen
    /// reached by name). Repeatable.
    #[arg(long = "tls-name", value_name = "NAME", requires = "tls")]
    tls_names: Vec<String>,
    /// Start the emulator's clock at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    start_at: Option<String>,
    /// Print the start-up facts as one JSON line (for scripts).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, ClapArgs)]
struct TokenArgs {
    /// The emulator's base URL, as `graph-subs emulator` printed it.
    #[arg(long, value_name = "URL")]
    url: String,
    /// Trust this CA certificate (PEM), as `graph-subs emulator --tls` wrote it, for an
    /// https:// URL.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The token's tenant (`tid`); the emulator's default tenant otherwise.
    #[arg(long, value_name = "ID")]
    tenant_id: Option<String>,
    /// The calling app (`appid`).
    #[arg(long, value_name = "ID")]
    app_id: Option<String>,
    /// The signed-in user (`oid`): makes the token delegated.
    #[arg(long, value_name = "ID")]
    user_id: Option<String>,
    /// Delegated permissions (`scp`), space separated: makes the token delegated.
    #[arg(long, value_name = "\"A B\"")]
    scopes: Option<String>,
    /// Application permissions (`roles`), space separated.
    #[arg(long, value_name = "\"A B\"")]
    roles: Option<String>,
    /// The signed-in user is a global administrator (`wids`).
    #[arg(long)]
    admin: bool,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS",
          value_parser = clap::value_parser!(i64).range(1..=31_536_000))]
    expires_in: i64,
}

/// Where `--tls` writes the CA certificate unless told otherwise.
const DEFAULT_CA_FILE: &str = "graph-subs-emulator-ca.pem";

fn parse_app(text: &str) -> Result<App, String> {
    App::parse(text).map_err(|e| e.to_string())
}

/// `--apps-file`: app registrations, kept out of the command line.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AppsFile {
    #[serde(default)]
    app: Vec<AppEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AppEntry {
    client_id: String,
    secret: String,
    #[serde(default)]
    roles: Vec<String>,
}

impl std::fmt::Debug for AppEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppEntry")
            .field("client_id", &self.client_id)
            .field("secret", &"***")
            .field("roles", &self.roles)
            .finish()
    }
}

fn read_apps_file(path: &std::path::Path) -> Result<Vec<App>, Report> {
    let unreadable = |message: String| {
        Report::new(Exit::Usage, message)
            .code("unreadable-input")
            .hint("write `[[app]]` tables with `client_id = \"...\"`, `secret = \"...\"` and `roles = [\"Mail.Read\"]`")
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        unreadable(format!("cannot read the apps file {}", path.display())).caused_by(&e)
    })?;
    // The parser's message may quote the line, and the line may hold a secret: keep
    // only where the mistake is.
    let file: AppsFile = toml::from_str(&text).map_err(|e| {
        let place = e
            .span()
            .map(|span| {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!(" at line {line}")
            })
            .unwrap_or_default();
        unreadable(format!(
            "the apps file {} is not valid{place}: {}",
            path.display(),
            e.message()
        ))
    })?;
    file.app
        .into_iter()
        .map(|a| {
            if a.client_id.trim().is_empty() || a.secret.is_empty() {
                return Err(unreadable(format!(
                    "an app in {} has an empty client_id or secret",
                    path.display()
                )));
            }
            let roles: Vec<&str> = a.roles.iter().map(String::as_str).collect();
            Ok(App::new(a.client_id.trim(), a.secret, &roles))
        })
        .collect()
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Report::new(Exit::Failure, "cannot start the async runtime")
                .caused_by(&e)
                .code("runtime")
        })?;
    match &args.command {
        Some(Command::Token(token)) => runtime.block_on(print_token(token, out)),
        None => runtime.block_on(serve(&args.run, out, err)),
    }
}

async fn serve(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, Report> {
    // One line per request on stderr; `RUST_LOG` chooses more or less.
    crate::log_to_stderr("info");
    let mut builder = Emulator::builder()
        .listen(args.listen)
        .page_size(usize::from(args.page_size))
        .tenant_id(&args.tenant_id)
        .throttle(args.throttle)
        .faults(args.faults.clone().unwrap_or_default(), args.seed);
    for app in &args.apps {
        builder = builder.app(app.clone());
    }
    if let Some(path) = &args.apps_file {
        for app in read_apps_file(path)? {
            builder = builder.app(app);
        }
    }
    builder = builder.endpoint_validation(!args.no_endpoint_validation);
    for path in &args.cas {
        let pem = std::fs::read(path).map_err(|e| {
            Report::new(
                Exit::Usage,
                format!("cannot read the CA certificate {}", path.display()),
            )
            .caused_by(&e)
            .code("unreadable-input")
        })?;
        builder = builder.extra_root_certificate(pem);
    }
    if let Some(path) = &args.state {
        builder = builder.state(path);
    }
    if args.tls {
        let settings = args.tls_names.iter().fold(
            graph_subs_emulator::TlsSettings::self_signed(),
            |settings, name| settings.subject_alt_name(name),
        );
        builder = builder.tls(settings);
    }
    if let Some(text) = &args.start_at {
        let at = graph_subs_core::subscription::Timestamp::parse(text).map_err(|e| {
            Report::new(Exit::Usage, "--start-at is not an RFC 3339 time")
                .caused_by(&e)
                .hint("write it as 2026-11-23T09:00:00Z")
        })?;
        builder = builder.start_at(at.get());
    }
    let emulator = builder.build().start().await.map_err(|e| {
        let hint = match &e {
            graph_subs_emulator::StartError::Bind(..) => {
                "another process may hold the port: choose another with --listen, or port 0 for a free one"
            }
            _ => "move the state file away to start empty, or fix what the message names",
        };
        Report::new(Exit::Failure, "the emulator could not start")
            .caused_by(&e)
            .code("emulator-start")
            .hint(hint)
    })?;
    let base = emulator.base_url().to_owned();
    let tenant = emulator.tenant_id().to_owned();
    let token_endpoint = format!("{base}/{tenant}/oauth2/v2.0/token");
    let ca_file = match emulator.ca_pem() {
        Some(pem) => Some(write_ca(&args.tls_cert_out, pem)?),
        None => None,
    };
    let ca_flag = ca_file
        .as_ref()
        .map(|path| format!(" --ca {}", shell_word(&path.display().to_string())))
        .unwrap_or_default();
    let token_command = format!(
        "graph-subs emulator token --url {base}{ca_flag} --roles \"Mail.Read Chat.Read.All\""
    );
    if args.json {
        let mut facts = serde_json::json!({
            "baseUrl": base,
            "graph": format!("{base}/v1.0"),
            "tenantId": tenant,
            "tokenEndpoint": token_endpoint,
            "tokenCommand": token_command,
        });
        if let Some(path) = &ca_file {
            facts["caCertificate"] = serde_json::Value::String(path.display().to_string());
        }
        writeln!(out, "{facts}")?;
    } else {
        writeln!(out, "graph-subs emulator listening on {base}")?;
        writeln!(
            out,
            "  Graph API:      {base}/v1.0/subscriptions (and /beta)"
        )?;
        writeln!(out, "  token endpoint: {token_endpoint}")?;
        if let Some(path) = &ca_file {
            writeln!(
                out,
                "  CA certificate: {} (trust it: curl --cacert, SSL_CERT_FILE, REQUESTS_CA_BUNDLE)",
                path.display()
            )?;
        }
        writeln!(out, "  a token:        {token_command}")?;
        writeln!(out, "Stop it with Ctrl-C.")?;
    }
    out.flush()?;
    crate::stop_signal().await;
    tracing::info!("stopping");
    emulator.shutdown().await.map_err(|e| {
        Report::new(Exit::Failure, "the emulator could not save its state")
            .caused_by(&e)
            .code("emulator-state")
    })?;
    let _ = writeln!(err, "graph-subs emulator stopped");
    Ok(Exit::Success)
}

/// Writes the CA certificate to `path` atomically (a temporary file beside it, then a
/// rename), and answers its absolute path.
fn write_ca(path: &std::path::Path, pem: &str) -> Result<PathBuf, Report> {
    let unwritable = |e: &std::io::Error| {
        Report::new(
            Exit::Failure,
            format!("cannot write the CA certificate to {}", path.display()),
        )
        .caused_by(e)
        .code("emulator-start")
        .hint("choose a writable file with --tls-cert-out")
    };
    let absolute = std::path::absolute(path).map_err(|e| unwritable(&e))?;
    let mut temporary = absolute.clone().into_os_string();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, pem)
        .and_then(|()| std::fs::rename(&temporary, &absolute))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            unwritable(&e)
        })?;
    Ok(absolute)
}

/// `text` as one word for a POSIX shell: as is when it is plain, else single-quoted.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

async fn print_token(args: &TokenArgs, out: &mut dyn Write) -> Result<Exit, Report> {
    let words = |text: &Option<String>| -> Vec<String> {
        text.as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let mut request = serde_json::json!({
        "scopes": words(&args.scopes),
        "roles": words(&args.roles),
        "admin": args.admin,
        "expiresIn": args.expires_in,
    });
    for (name, value) in [
        ("tenantId", &args.tenant_id),
        ("appId", &args.app_id),
        ("userId", &args.user_id),
    ] {
        if let Some(value) = value {
            request[name] = serde_json::Value::String(value.clone());
        }
    }
    if args.scopes.is_some() && args.user_id.is_none() {
        request["userId"] =
            serde_json::Value::String("00000000-0000-4000-8000-00000000c11e".to_owned());
    }
    let base = args.url.trim_end_matches('/');
    let url = format!("{base}/emulator/token");
    let unreachable = |e: &dyn std::error::Error| {
        Report::new(
            Exit::Failure,
            format!(
                "cannot get a token from the emulator at {}",
                graph_subs_core::quote::redact_url(base, 200)
            ),
        )
        .caused_by(e)
        .code("emulator-unreachable")
        .hint(if base.starts_with("https://") && args.ca.is_none() {
            "an https:// emulator (--tls) is trusted with --ca and the CA certificate file it printed"
        } else {
            "start it with `graph-subs emulator` and pass the URL it prints to --url"
        })
    };
    let mut client = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(std::time::Duration::from_secs(30));
    if let Some(path) = &args.ca {
        for certificate in read_ca(path)? {
            client = client.add_root_certificate(certificate);
        }
    }
    let client = client.build().map_err(|e| unreachable(&e))?;
    let response = client
        .post(&url)
        .json(&request)
        .send()
        .await
        .map_err(|e| unreachable(&e))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| unreachable(&e))?;
    let Some(token) = body["access_token"]
        .as_str()
        .filter(|_| status.is_success())
    else {
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no token in the answer");
        return Err(Report::new(
            Exit::Failure,
            format!("the emulator refused the token request ({status}): {message}"),
        )
        .code("emulator-refused"));
    };
    writeln!(out, "{token}")?;
    Ok(Exit::Success)
}

/// The CA certificates in the PEM file `--ca` names (at least one).
fn read_ca(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, Report> {
    let bad = |reason: &dyn std::error::Error| {
        Report::new(
            Exit::Usage,
            format!("cannot read the CA certificate {}", path.display()),
        )
        .caused_by(reason)
        .code("unreadable-input")
        .hint("pass the file `graph-subs emulator --tls` wrote (its start-up lines name it)")
    };
    let pem = std::fs::read(path).map_err(|e| bad(&e))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(&e))?;
    if certificates.is_empty() {
        let missing = std::io::Error::other("no `-----BEGIN CERTIFICATE-----` block");
        return Err(bad(&missing));
    }
    Ok(certificates)
}
