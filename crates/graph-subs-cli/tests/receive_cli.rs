//! `graph-subs receive` as a process: the emulator (as Graph) validates it, sends it a
//! change and a lifecycle event; each comes out as one JSON line without its
//! `clientState`; a notification with another `clientState` does not; SIGTERM stops it
//! with a summary.

use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use graph_subs_emulator::{Emulator, TokenSpec};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_graph-subs");
const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";
const SECRET: &str = "CANARY-receive-client-state-8w";

/// Creates a subscription on the emulator: its answer, which must be 201.
async fn subscribe(
    http: &reqwest::Client,
    e: &graph_subs_emulator::RunningEmulator,
    token: &str,
    body: Value,
) -> Value {
    let created = http
        .post(format!("{}/v1.0/subscriptions", e.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = created.status();
    let answer: Value = created.json().await.unwrap();
    assert_eq!(status, reqwest::StatusCode::CREATED, "{answer}");
    answer
}

/// Starts `graph-subs receive` as `configure` says, with the clientState in the
/// environment: the process, its stderr past the first line, and the address that line
/// gives.
fn spawn_receive(
    configure: impl FnOnce(&mut Command) -> &mut Command,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    String,
) {
    let mut command = Command::new(BIN);
    configure(&mut command)
        .env("GRAPH_SUBS_CLIENT_STATE", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    (child, stderr, base)
}

#[test]
fn receive_writes_each_checked_notification_as_a_json_line() {
    let (mut child, mut stderr, base) =
        spawn_receive(|c| c.args(["receive", "--listen", "127.0.0.1:0"]));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lines = runtime.block_on(async {
        let e = Emulator::builder().build().start().await.unwrap();
        let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
        let http = reqwest::Client::new();
        for (user, state) in [("ada", SECRET), ("grace", "another-secret")] {
            let created = subscribe(&http, &e, &token, json!({
                    "changeType": "created",
                    "notificationUrl": format!("{base}/notifications"),
                    "lifecycleNotificationUrl": format!("{base}/lifecycle"),
                    "resource": format!("users/{user}@contoso.com/messages"),
                    "expirationDateTime": (e.now() + chrono::Duration::hours(24)).to_rfc3339(),
                    "clientState": state,
                })).await;
            let id = created["id"].as_str().unwrap().to_owned();
            for (path, body) in [
                (
                    "changes",
                    json!({"resource": format!("users/{user}@contoso.com/messages"), "changeType": "created"}),
                ),
                (
                    "lifecycle",
                    json!({"subscriptionId": id, "lifecycleEvent": "missed"}),
                ),
            ] {
                let answer = http
                    .post(format!("{}/emulator/{path}", e.base_url()))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(answer.status().is_success());
            }
        }
        // Ada's two come out; Grace's (another clientState) never do.
        let lines = tokio::task::spawn_blocking(move || {
            let mut lines = Vec::new();
            for _ in 0..2 {
                let mut line = String::new();
                stdout.read_line(&mut line).unwrap();
                lines.push(line);
            }
            lines
        })
        .await
        .unwrap();
        // Every delivery answered (Grace's with 202 too) before the emulator stops.
        for _ in 0..400 {
            let log: Value = http
                .get(format!("{}/emulator/deliveries", e.base_url()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let sent: Vec<&Value> = log["value"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"] != "validation")
                .collect();
            if sent.len() == 4 && sent.iter().all(|d| d["state"] == "delivered") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        lines
    });
    // The emulator delivers each from a task of its own: in either order.
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let change = parsed
        .iter()
        .find(|v| v.get("lifecycleEvent").is_none())
        .unwrap_or_else(|| panic!("no change notification in {lines:?}"));
    let lifecycle = parsed
        .iter()
        .find(|v| v.get("lifecycleEvent").is_some())
        .unwrap_or_else(|| panic!("no lifecycle event in {lines:?}"));
    assert_eq!(change["changeType"], "created");
    assert!(
        change["resource"]
            .as_str()
            .unwrap()
            .starts_with("users/ada@contoso.com/messages/")
    );
    assert_eq!(lifecycle["lifecycleEvent"], "missed");
    for line in &lines {
        assert!(!line.contains(SECRET), "the clientState is printed: {line}");
        assert!(!line.contains("clientState"), "{line}");
    }

    // Grace's deliveries were answered (202) but rejected.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(
        rest.contains("stopped: received 4, delivered 2, rejected 2 (clientState 2)"),
        "{rest}"
    );
    assert!(rest.contains("4 validation handshakes"), "{rest}");
}

#[test]
fn receive_needs_a_client_state_and_says_where_to_put_it() {
    let output = Command::new(BIN)
        .args(["receive", "--listen", "127.0.0.1:0"])
        .env_remove("GRAPH_SUBS_CLIENT_STATE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--client-state-file"), "{stderr}");
}

const VECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../graph-subs-receiver/tests/vectors/rich"
);

#[test]
fn receive_writes_rich_notifications_decrypted_after_checking_them() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let e = runtime
        .block_on(Emulator::builder().build().start())
        .unwrap();
    let (mut child, mut stderr, base) = spawn_receive(|c| {
        c.args(["receive", "--listen", "127.0.0.1:0", "--app-id", APP])
            .arg("--decrypt-key")
            .arg(format!("{VECTOR}/key.pem"))
            .arg("--jwks")
            .arg(format!("{}/common/discovery/v2.0/keys", e.base_url()))
    });
    let mut second = String::new();
    stderr.read_line(&mut second).unwrap();
    assert!(
        second.contains(&format!("verified for app {APP}")),
        "{second}"
    );
    let mut stdout = BufReader::new(child.stdout.take().unwrap());

    let line = runtime.block_on(async {
        let token = e.token(&TokenSpec::application(
            e.tenant_id(),
            APP,
            &["Chat.Read.All"],
        ));
        let http = reqwest::Client::new();
        let certificate = std::fs::read_to_string(format!("{VECTOR}/cert.der.b64")).unwrap();
        subscribe(
            &http,
            &e,
            &token,
            json!({
                "changeType": "created",
                "notificationUrl": format!("{base}/notifications"),
                "lifecycleNotificationUrl": format!("{base}/lifecycle"),
                "resource": "chats/getAllMessages",
                "expirationDateTime": (e.now() + chrono::Duration::minutes(50)).to_rfc3339(),
                "clientState": SECRET,
                "includeResourceData": true,
                "encryptionCertificate": certificate.trim(),
                "encryptionCertificateId": "vector",
            }),
        )
        .await;
        for tamper in [Some("dataSignature"), Some("forgedToken"), None] {
            let mut change = json!({"resource": "chats/getAllMessages", "changeType": "created",
                "resourceData": {"id": "m1", "body": {"content": "hello"}}});
            if let Some(tamper) = tamper {
                change["tamper"] = json!(tamper);
            }
            let answer = http
                .post(format!("{}/emulator/changes", e.base_url()))
                .json(&change)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success());
        }
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap()
    });
    let change: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(change["resourceData"]["body"]["content"], "hello", "{line}");
    assert!(change.get("encryptedContent").is_none(), "{line}");
    assert!(!line.contains(SECRET), "{line}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    // The two forgeries may still be on their way; when counted, they are rejected.
    assert!(rest.contains("delivered 1"), "{rest}");
    assert!(!rest.contains("delivered 2"), "{rest}");
}

#[test]
fn rich_options_without_their_partners_are_usage_errors() {
    for (args, expected) in [
        (vec!["--decrypt-key", "key.pem"], "--app-id"),
        (vec!["--app-id", APP], "--decrypt-key"),
        (
            vec!["--decrypt-key", "/nonexistent/key.pem", "--app-id", APP],
            "cannot read the key file",
        ),
    ] {
        let output = Command::new(BIN)
            .args(["receive", "--listen", "127.0.0.1:0"])
            .args(&args)
            .env("GRAPH_SUBS_CLIENT_STATE", SECRET)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn receive_serves_https_with_the_given_certificate_and_graph_validates_it() {
    let dir = tempfile::tempdir().unwrap();
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    let (mut child, _stderr, base) = spawn_receive(|c| {
        c.args(["receive", "--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let line = runtime.block_on(async {
        // Graph (the emulator) trusts the receiver's certificate, as it would a public CA's.
        let e = Emulator::builder()
            .extra_root_certificate(made.cert.pem())
            .build()
            .start()
            .await
            .unwrap();
        let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
        let http = reqwest::Client::new();
        subscribe(
            &http,
            &e,
            &token,
            json!({
                "changeType": "created",
                "notificationUrl": format!("{base}/notifications"),
                "resource": "users/ada@contoso.com/messages",
                "expirationDateTime": (e.now() + chrono::Duration::hours(24)).to_rfc3339(),
                "clientState": SECRET,
            }),
        )
        .await;
        let answer = http
            .post(format!("{}/emulator/changes", e.base_url()))
            .json(&json!({"resource": "users/ada@contoso.com/messages", "changeType": "created"}))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap()
    });
    let change: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(change["changeType"], "created", "{line}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());

    // A key that is not the certificate's is a usage error, said before listening.
    let other = dir.path().join("other.pem");
    std::fs::write(&other, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let output = Command::new(BIN)
        .args(["receive", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&other)
        .env("GRAPH_SUBS_CLIENT_STATE", SECRET)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("cannot serve HTTPS"), "{stderr}");
}

/// A destination for `--forward`: answers 503 to its first request, 400 to a body that
/// mentions `refuse-me`, 200 to the others, and keeps what it took.
async fn destination() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::http::StatusCode;
    let taken = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (kept, count) = (taken.clone(), calls.clone());
    let app = axum::Router::new().route(
        "/in",
        axum::routing::post(move |body: String| {
            let (kept, count) = (kept.clone(), count.clone());
            async move {
                if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                if body.contains("refuse-me") {
                    return StatusCode::BAD_REQUEST;
                }
                kept.lock().unwrap().push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/in?code=CANARY-forward-key",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, taken)
}

#[test]
fn receive_forwards_each_line_in_order_through_a_failing_destination() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (url, taken) = runtime.block_on(destination());
    let (mut child, mut stderr, base) =
        spawn_receive(|c| c.args(["receive", "--listen", "127.0.0.1:0", "--forward", &url]));
    runtime.block_on(async {
        let e = Emulator::builder().build().start().await.unwrap();
        let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
        let http = reqwest::Client::new();
        subscribe(
            &http,
            &e,
            &token,
            json!({
                "changeType": "created,updated",
                "notificationUrl": format!("{base}/notifications"),
                "resource": "users/ada@contoso.com/messages",
                "expirationDateTime": (e.now() + chrono::Duration::hours(24)).to_rfc3339(),
                "clientState": SECRET,
            }),
        )
        .await;
        // One at a time (each answered before the next is reported), so that their order
        // is known; the receiver answers at once, and forwards behind.
        for (n, id) in ["m1", "refuse-me", "m3"].into_iter().enumerate() {
            http.post(format!("{}/emulator/changes", e.base_url()))
                .json(&json!({"resource": "users/ada@contoso.com/messages",
                    "changeType": "created", "resourceData": {"id": id}}))
                .send()
                .await
                .unwrap();
            for _ in 0..400 {
                let log: Value = http
                    .get(format!("{}/emulator/deliveries", e.base_url()))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let delivered = log["value"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["kind"] == "change" && d["state"] == "delivered")
                    .count();
                if delivered > n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        for _ in 0..400 {
            if taken.lock().unwrap().len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
    let kept = taken.lock().unwrap().clone();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept[0].contains("\"m1\"") && kept[1].contains("\"m3\""),
        "{kept:?}"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(stdout, "", "forwarded lines are not written");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(
        rest.contains("failed (it answered 503 Service Unavailable); trying again"),
        "{rest}"
    );
    assert!(rest.contains("works again"), "{rest}");
    assert!(
        rest.contains("refused a notification for subscription"),
        "{rest}"
    );
    assert!(
        rest.contains("forwarded 2, refused by the destination 1"),
        "{rest}"
    );
    assert!(
        !rest.contains("CANARY-forward-key"),
        "the URL's key is shown: {rest}"
    );
}

#[test]
fn a_forward_url_that_is_not_http_is_a_usage_error() {
    let output = Command::new(BIN)
        .args([
            "receive",
            "--listen",
            "127.0.0.1:0",
            "--forward",
            "ftp://x/?k=CANARY-9",
        ])
        .env("GRAPH_SUBS_CLIENT_STATE", SECRET)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("is not an http:// or https:// URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("CANARY-9"), "{stderr}");
}

// Stops: how long SIGTERM takes when a destination or a client misbehaves (each bounded:
// the grace is 10 s).

/// `receive` with `extra` flags, its stderr drained by a thread: the process and the
/// `host:port` it listens on.
fn spawn_draining(extra: &[&str]) -> (std::process::Child, String) {
    let (child, mut stderr, base) =
        spawn_receive(|c| c.args(["receive", "--listen", "127.0.0.1:0"]).args(extra));
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
    (child, base.trim_start_matches("http://").to_owned())
}

fn post(address: &str, body: &str) -> String {
    let mut s = TcpStream::connect(address).unwrap();
    write!(
        s,
        "POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

/// Seconds from SIGTERM to exit (killed after `limit`).
fn stop(child: &mut Child, limit: Duration) -> Duration {
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    while started.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    started.elapsed()
}

/// `--forward` promises "lines not forwarded within 10 seconds of a stop go to --out": with
/// a destination that accepts and never answers, the stop ends within that grace, not
/// after an attempt per line.
#[test]
fn a_stop_with_a_hanging_destination_ends_within_the_grace() {
    let destination = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/in", destination.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in destination.incoming() {
            held.push(s); // never answered
        }
    });
    let (mut child, address) = spawn_draining(&["--forward", &url]);
    let item = format!(
        r#"{{"subscriptionId":"s","subscriptionExpirationDateTime":"2026-11-23T09:00:00Z","changeType":"created","resource":"r","clientState":"{SECRET}"}}"#
    );
    let body = format!("{{\"value\":[{}]}}", vec![item; 5].join(","));
    assert!(post(&address, &body).starts_with("HTTP/1.1 202"));
    std::thread::sleep(Duration::from_secs(1));
    let took = stop(&mut child, Duration::from_secs(120));
    assert!(took < Duration::from_secs(25), "the stop took {took:?}");
}

/// A client that sends its headers and part of a body, then nothing, does not hold the
/// stop: its request times out.
#[test]
fn a_stop_is_not_held_by_a_client_that_trickles_its_body() {
    let (mut child, address) = spawn_draining(&[]);
    let mut s = TcpStream::connect(&address).unwrap();
    write!(
        s,
        "POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let took = stop(&mut child, Duration::from_secs(30));
    drop(s);
    assert!(took < Duration::from_secs(15), "the stop took {took:?}");
}

/// Nor does one that sends half its headers: the stop closes it after the grace.
#[test]
fn a_stop_is_not_held_by_a_client_that_trickles_its_headers() {
    let (mut child, address) = spawn_draining(&[]);
    let mut s = TcpStream::connect(&address).unwrap();
    write!(s, "POST /notifications HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let took = stop(&mut child, Duration::from_secs(30));
    drop(s);
    assert!(took < Duration::from_secs(15), "the stop took {took:?}");
}
