//! `graph-subs receive`: the webhook side of subscriptions, on its own. It serves
//! `graph-subs-receiver`'s endpoint (the validation handshake, `clientState` checked on
//! every notification, lifecycle events) and writes each notification it accepts as one
//! JSON line, as Graph sent it but without its `clientState`, for `jq` or a queue. With
//! `--decrypt-key`, rich notifications are verified (validation tokens, signature) and
//! written decrypted: the resource is the line's `resourceData`. With `--forward URL`,
//! each line is POSTed there instead (see [`Forward`]). On stderr: where it listens, a
//! one-line summary each minute something changed, and a last one when it stops (Ctrl-C
//! or SIGTERM).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use graph_subs_core::notification_url::redact;

use graph_subs_core::cloud::Cloud;
use graph_subs_core::subscription::ClientState;
use graph_subs_receiver::rich::{DecryptionKeys, IssuerKeys, TokenVerifier};
use graph_subs_receiver::{
    ClientStates, DEFAULT_LIFECYCLE_PATH, DEFAULT_NOTIFICATION_PATH, DEFAULT_QUEUE, Event,
    Receiver, Stats,
};

use crate::Exit;
use crate::report::Report;

/// Receive notifications: the validation handshake, clientState checked, one JSON line each.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to listen (port 0: a free one, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "ADDR")]
    listen: SocketAddr,
    /// A file holding the clientState every notification must carry (a secret: never a
    /// flag value). The GRAPH_SUBS_CLIENT_STATE environment variable works too.
    #[arg(long, value_name = "FILE")]
    client_state_file: Option<PathBuf>,
    /// Where the JSON lines go: a file (appended to), or `-` for standard output.
    #[arg(long, default_value = "-", value_name = "FILE|-")]
    out: String,
    /// POST each line to this URL instead (`application/json`), in order, retrying until
    /// it answers 2xx; meanwhile the queue fills and Graph is answered 503, so nothing is
    /// lost. Lines it refuses (4xx) are counted and skipped; lines not forwarded within
    /// 10 seconds of a stop go to --out.
    #[arg(long, value_name = "URL")]
    forward: Option<String>,
    /// The path of the notificationUrl.
    #[arg(long, default_value = DEFAULT_NOTIFICATION_PATH, value_name = "PATH")]
    notification_path: String,
    /// The path of the lifecycleNotificationUrl.
    #[arg(long, default_value = DEFAULT_LIFECYCLE_PATH, value_name = "PATH")]
    lifecycle_path: String,
    /// Notifications that may wait to be written; past it, Graph is answered 503 and
    /// sends them again.
    #[arg(long, default_value_t = DEFAULT_QUEUE, value_name = "N")]
    queue: usize,
    /// The private key of the subscriptions' encryptionCertificate (PEM: PKCS#8 or PKCS#1,
    /// with the certificate in the same file if you like): rich notifications are then
    /// verified and decrypted. Repeat it during a certificate rollover.
    #[arg(long, value_name = "PEM")]
    decrypt_key: Vec<PathBuf>,
    /// The id of the app whose subscriptions post here: validation tokens must be for it.
    /// Repeat it for several apps; needed with --decrypt-key.
    #[arg(long, value_name = "ID")]
    app_id: Vec<String>,
    /// Where the validation tokens' signing keys are published (a JWKS URL). Default: the
    /// --cloud's, `{login root}/common/discovery/v2.0/keys`; an emulator's is
    /// `{emulator}/common/discovery/v2.0/keys`.
    #[arg(long, value_name = "URL")]
    jwks: Option<String>,
    /// Serve HTTPS with this certificate (PEM: the server's certificate, then its
    /// intermediates); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM, not encrypted).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The national cloud whose keys sign validation tokens.
    #[arg(
        long,
        default_value = "global",
        value_name = "global|usgov-l4|usgov-l5|china"
    )]
    cloud: Cloud,
}

/// The keys and token verifier of `--decrypt-key`, if given.
fn rich(args: &Args) -> Result<Option<(DecryptionKeys, TokenVerifier)>, Report> {
    if args.decrypt_key.is_empty() {
        if !args.app_id.is_empty() || args.jwks.is_some() {
            return Err(Report::new(
                Exit::Usage,
                "--app-id and --jwks verify rich notifications, which need --decrypt-key",
            )
            .code("usage")
            .hint("give the certificate's private key with --decrypt-key PEM"));
        }
        return Ok(None);
    }
    if args.app_id.is_empty() {
        return Err(Report::new(
            Exit::Usage,
            "rich notifications are checked against the app they are for, and no --app-id was given",
        )
        .code("usage")
        .hint("give the app (client) id that created the subscriptions: --app-id ID"));
    }
    let mut keys = DecryptionKeys::new();
    for path in &args.decrypt_key {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            Report::new(
                Exit::Usage,
                format!("cannot read the key file {}", path.display()),
            )
            .caused_by(&e)
            .code("unreadable-input")
            .hint("give the PEM file of the certificate's private key")
        })?;
        keys.add_pem(&pem).map_err(|e| {
            Report::new(
                Exit::Usage,
                format!("{} holds no usable private key", path.display()),
            )
            .caused_by(&e)
            .code("bad-key")
        })?;
    }
    let jwks = args
        .jwks
        .clone()
        .unwrap_or_else(|| format!("{}/common/discovery/v2.0/keys", args.cloud.login_root()));
    let verifier = TokenVerifier::new(args.app_id.clone(), IssuerKeys::Url(jwks));
    Ok(Some((keys, verifier)))
}

/// `--forward`: each line POSTed to a URL, in order.
///
/// Decisions: a line is sent again (backoff from 250 ms to 30 s) on a connection error, a
/// timeout (10 s), 408, 429 and 5xx, for as long as it takes: the next lines wait in the
/// receiver's queue, which, once full, answers Graph 503, so Graph keeps them. Any other
/// 4xx is the destination refusing that line: sending it again cannot help, so it is
/// counted, said on stderr (with its subscription, never its content) and skipped. At a
/// stop, what is left is forwarded for at most [`STOP_GRACE`], then written to --out.
struct Forward {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL as messages show it (query values and credentials hidden).
    shown: String,
    forwarded: u64,
    refused: u64,
}

/// How long a stopping `receive` keeps forwarding what it accepted.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What became of a forwarded line.
enum Sent {
    Done,
    Refused(reqwest::StatusCode),
}

impl Forward {
    fn new(url: &str) -> Result<Forward, Report> {
        let shown = redact(url);
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                Report::new(
                    Exit::Usage,
                    format!("--forward {shown} is not an http:// or https:// URL"),
                )
                .code("usage")
                .hint("give the full URL to POST each notification to: --forward https://queue.example.com/graph")
            })?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Report::new(Exit::Failure, "cannot build the HTTP client").caused_by(&e)
            })?;
        Ok(Forward {
            client,
            url: parsed,
            shown,
            forwarded: 0,
            refused: 0,
        })
    }

    /// Sends `line` until it is taken or refused; Err (the last failure) when `deadline`
    /// passes first.
    async fn send(
        &self,
        line: &str,
        deadline: Option<Instant>,
        err: &mut dyn Write,
    ) -> Result<Sent, String> {
        let mut backoff = Duration::from_millis(250);
        let mut complained = false;
        loop {
            let attempt = self
                .client
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(line.to_owned())
                .send();
            // Past a deadline, an attempt in flight is given up, not waited for.
            let answer = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match tokio::time::timeout(left, attempt).await {
                        Ok(answer) => answer,
                        Err(_) => return Err("no answer before the deadline".to_owned()),
                    }
                }
                None => attempt.await,
            };
            let failure = match answer {
                Ok(answer) if answer.status().is_success() => {
                    if complained {
                        let _ = writeln!(err, "forwarding to {} works again", self.shown);
                    }
                    return Ok(Sent::Done);
                }
                Ok(answer)
                    if answer.status().is_server_error()
                        || matches!(answer.status().as_u16(), 408 | 429) =>
                {
                    format!("it answered {}", answer.status())
                }
                Ok(answer) => return Ok(Sent::Refused(answer.status())),
                Err(e) => format!("{}", e.without_url()),
            };
            if !complained {
                let _ = writeln!(
                    err,
                    "forwarding to {} failed ({failure}); trying again, Graph is answered 503 once the queue is full",
                    self.shown
                );
                complained = true;
            }
            let mut pause = backoff;
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(failure);
                }
                pause = pause.min(left);
            }
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// Counts what became of a line.
    fn settle(&mut self, sent: Sent, line: &str, err: &mut dyn Write) -> Result<(), Report> {
        match sent {
            Sent::Done => self.forwarded += 1,
            Sent::Refused(status) => {
                self.refused += 1;
                let subscription = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["subscriptionId"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                writeln!(
                    err,
                    "{} refused a notification for subscription {} ({status}); skipped",
                    self.shown,
                    graph_subs_core::quote::shortened(&subscription)
                )?;
            }
        }
        Ok(())
    }
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<Exit, Report> {
    let secret = crate::manage::client_state_from(args.client_state_file.as_deref())?
        .ok_or_else(|| {
            Report::new(Exit::Usage, "no clientState to check notifications against")
                .code("usage")
                .hint("put it in a file and give --client-state-file FILE, or set GRAPH_SUBS_CLIENT_STATE")
        })?;
    let secret = ClientState::new(secret).map_err(|e| {
        Report::new(Exit::Usage, "the clientState is not one Graph accepts").caused_by(&e)
    })?;
    for path in [&args.notification_path, &args.lifecycle_path] {
        if !path.starts_with('/') {
            return Err(Report::new(
                Exit::Usage,
                format!(
                    "the path {} does not start with /",
                    graph_subs_core::quote::shortened(path)
                ),
            )
            .hint("write it as /notifications"));
        }
    }
    let mut file = out_file(&args.out)?;
    let sink: &mut dyn Write = match &mut file {
        Some(file) => file,
        None => out,
    };
    let rich = rich(args)?;
    let mut forward = args.forward.as_deref().map(Forward::new).transpose()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |path: &PathBuf, what: &str| {
                std::fs::read_to_string(path).map_err(|e| {
                    Report::new(
                        Exit::Usage,
                        format!("cannot read the {what} file {}", path.display()),
                    )
                    .caused_by(&e)
                    .code("unreadable-input")
                })
            };
            let config = graph_subs_receiver::tls::server_config_from_pem(
                &read(cert, "TLS certificate")?,
                &read(key, "TLS key")?,
            )
            .map_err(|e| {
                Report::new(
                    Exit::Usage,
                    "the TLS certificate and key cannot serve HTTPS",
                )
                .caused_by(&e)
                .code("bad-key")
            })?;
            Some(config)
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let decrypting = rich.is_some();
    // Why notifications are refused, why a JWKS could not be fetched: warnings on stderr
    // (`RUST_LOG` for more or less).
    crate::log_to_stderr("warn");
    let runtime = tokio::runtime::Runtime::new().map_err(Report::from)?;
    runtime.block_on(async {
        let mut builder = Receiver::builder(ClientStates::Shared(secret))
            .queue(args.queue)
            .notification_path(&args.notification_path)
            .lifecycle_path(&args.lifecycle_path);
        if let Some((keys, verifier)) = rich {
            builder = builder.rich(keys, verifier);
        }
        let (receiver, mut events) = builder.build();
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| {
                Report::new(Exit::Failure, format!("cannot listen on {}", args.listen))
                    .caused_by(&e)
                    .code("receive-start")
                    .hint("another process may hold the port: choose another with --listen, or port 0 for a free one")
            })?;
        let address = listener.local_addr().map_err(Report::from)?;
        writeln!(
            err,
            "graph-subs receive listening on {scheme}://{address} (notifications at {}, lifecycle at {}); stop it with Ctrl-C",
            args.notification_path, args.lifecycle_path
        )?;
        if decrypting {
            writeln!(
                err,
                "rich notifications: verified for app {} and decrypted ({} key{})",
                args.app_id.join(", "),
                args.decrypt_key.len(),
                if args.decrypt_key.len() == 1 { "" } else { "s" }
            )?;
        }
        if !address.ip().is_loopback() && tls.is_none() {
            writeln!(
                err,
                "note: Graph calls only https:// endpoints: put this behind a TLS proxy or tunnel"
            )?;
        }
        err.flush()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stopped = async move {
            let _ = stop_rx.await;
        };
        let server = match tls {
            Some(config) => tokio::spawn(graph_subs_receiver::serve_tls(
                listener,
                config,
                receiver.router(),
                stopped,
            )),
            None => tokio::spawn(graph_subs_receiver::serve(
                listener,
                receiver.router(),
                stopped,
            )),
        };
        let stop = crate::stop_signal();
        tokio::pin!(stop);
        let mut minute = tokio::time::interval(Duration::from_secs(60));
        minute.tick().await;
        let mut last = receiver.stats();
        // Lines taken off the queue but not yet forwarded when the stop came.
        let mut left = Vec::new();
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => {
                        let line = line_of(event)?;
                        match &mut forward {
                            None => write_line(sink, &line)?,
                            Some(forward) => tokio::select! {
                                sent = forward.send(&line, None, err) => {
                                    // Without a deadline it ends only taken or refused.
                                    if let Ok(sent) = sent {
                                        forward.settle(sent, &line, err)?;
                                    }
                                }
                                () = &mut stop => {
                                    left.push(line);
                                    break;
                                }
                            },
                        }
                    }
                    None => break,
                },
                _ = minute.tick() => {
                    let now = receiver.stats();
                    if now != last {
                        writeln!(err, "{}", summary(&now, forward.as_ref()))?;
                        last = now;
                    }
                }
                () = &mut stop => break,
            }
        }
        let _ = stop_tx.send(());
        // In-flight requests finish; a client that holds its connection open (trickling
        // its headers) does not hold the stop past the grace.
        let mut server = server;
        if tokio::time::timeout(STOP_GRACE, &mut server).await.is_err() {
            server.abort();
            writeln!(err, "connections still open {} s after the stop were closed", STOP_GRACE.as_secs())?;
        }
        // What was accepted before the stop is written or forwarded, not lost.
        while let Ok(event) = events.try_recv() {
            left.push(line_of(event)?);
        }
        let deadline = Instant::now() + STOP_GRACE;
        let mut spilled = 0;
        for line in left {
            match &mut forward {
                None => write_line(sink, &line)?,
                // Past the grace, the rest is written without trying.
                Some(_) if Instant::now() >= deadline => {
                    write_line(sink, &line)?;
                    spilled += 1;
                }
                Some(forward) => match forward.send(&line, Some(deadline), err).await {
                    Ok(sent) => forward.settle(sent, &line, err)?,
                    Err(_) => {
                        write_line(sink, &line)?;
                        spilled += 1;
                    }
                },
            }
        }
        sink.flush()?;
        if spilled > 0 {
            writeln!(
                err,
                "{spilled} notifications could not be forwarded before the stop: written to {} instead",
                if args.out == "-" { "standard output" } else { &args.out }
            )?;
        }
        writeln!(err, "stopped: {}", summary(&receiver.stats(), forward.as_ref()))?;
        Ok(Exit::Success)
    })
}

/// The file of `--out FILE|-`, opened to append: `None` for `-` (standard output).
pub(crate) fn out_file(out: &str) -> Result<Option<std::fs::File>, Report> {
    if out == "-" {
        return Ok(None);
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .map(Some)
        .map_err(|e| {
            Report::new(Exit::Usage, format!("cannot open {out} to append to it"))
                .caused_by(&e)
                .hint("give a writable file, or - for standard output")
        })
}

/// One notification as a JSON line, without its `clientState`.
pub(crate) fn line_of(event: Event) -> Result<String, Report> {
    match event {
        Event::Change(mut n) => {
            n.client_state = None;
            serde_json::to_string(&n)
        }
        Event::Lifecycle(mut n) => {
            n.client_state = None;
            serde_json::to_string(&n)
        }
    }
    .map_err(|e| Report::from(std::io::Error::from(e)))
}

pub(crate) fn write_line(sink: &mut dyn Write, line: &str) -> Result<(), Report> {
    writeln!(sink, "{line}")?;
    sink.flush()?;
    Ok(())
}

/// `received 12, delivered 10, rejected 2 (clientState 2)`.
fn summary(stats: &Stats, forward: Option<&Forward>) -> String {
    let rejected: u64 = stats.rejected.values().sum();
    let reasons: Vec<String> = stats
        .rejected
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    let mut text = format!(
        "received {}, delivered {}, rejected {rejected}",
        stats.received, stats.delivered
    );
    if !reasons.is_empty() {
        text.push_str(&format!(" ({})", reasons.join(", ")));
    }
    text.push_str(&format!("; {} validation handshakes", stats.validations));
    if let Some(forward) = forward {
        text.push_str(&format!(
            "; forwarded {}, refused by the destination {}",
            forward.forwarded, forward.refused
        ));
    }
    text
}
