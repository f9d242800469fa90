//! `list`, `get`, `create`, `renew`, `delete`, `reauthorize` against the emulator over real
//! HTTP, run in-process; the token never shows in any output.

use std::sync::{Arc, Mutex, OnceLock};

use graph_subs_cli::{Exit, run};
use graph_subs_emulator::{App, Emulator, TokenSpec};
use serde_json::{Value, json};

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";

struct Shared {
    base: String,
    root: String,
    tenant: String,
    token: String,
}

/// The app's secret on the emulator: a canary no output may show.
const SECRET: &str = "canary-client-secret-9Zq";

/// One emulator for the file, on a runtime of its own (the commands start theirs).
fn emulator() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let e = Emulator::builder()
                    .endpoint_validation(false)
                    .app(App::new(APP, SECRET, &["Mail.Read"]))
                    .build()
                    .start()
                    .await
                    .unwrap();
                let token = e.token(&TokenSpec::application(
                    e.tenant_id(),
                    APP,
                    &["Mail.Read", "Calendars.Read"],
                ));
                tx.send(Shared {
                    base: format!("{}/v1.0", e.base_url()),
                    root: e.base_url().to_owned(),
                    tenant: e.tenant_id().to_owned(),
                    token,
                })
                .unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    })
}

struct Run {
    exit: Exit,
    stdout: String,
    stderr: String,
}

fn graph_subs(args: &[&str]) -> Run {
    let e = emulator();
    let mut all = vec!["graph-subs"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--base-url", &e.base, "--token", &e.token]);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = run(all, &mut out, &mut err);
    let run = Run {
        exit,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    };
    assert!(
        !run.stdout.contains(&e.token) && !run.stderr.contains(&e.token),
        "the token leaks: {args:?}"
    );
    run
}

fn body_file(dir: &tempfile::TempDir, resource: &str, hours: i64) -> String {
    let path = dir
        .path()
        .join(format!("{}.json", resource.replace('/', "_")));
    let body = json!({
        "changeType": "created",
        "notificationUrl": "https://webhook.example.com/notify",
        "resource": resource,
        "expirationDateTime": (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339(),
        "clientState": "cli-client-state",
    });
    std::fs::write(&path, body.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn the_commands_manage_subscriptions_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let created = graph_subs(&[
        "create",
        &body_file(&dir, "users/ada/messages", 24),
        "--json",
    ]);
    assert_eq!(created.exit, Exit::Success, "{}", created.stderr);
    let subscription: Value = serde_json::from_str(&created.stdout).unwrap();
    let id = subscription["id"].as_str().unwrap().to_owned();
    let second = graph_subs(&["create", &body_file(&dir, "users/ada/events", 24)]);
    assert_eq!(second.exit, Exit::Success, "{}", second.stderr);
    assert!(second.stdout.starts_with("created "), "{}", second.stdout);

    // The same from flags, the clientState from a file.
    let state = dir.path().join("client-state");
    std::fs::write(&state, "flag-client-state\n").unwrap();
    let flags = graph_subs(&[
        "create",
        "--resource",
        "users/cy/messages",
        "--change-type",
        "created,updated",
        "--notification-url",
        "https://webhook.example.com/notify",
        "--expires",
        "2d",
        "--client-state-file",
        state.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(flags.exit, Exit::Success, "{}", flags.stderr);
    let from_flags: Value = serde_json::from_str(&flags.stdout).unwrap();
    assert_eq!(from_flags["clientState"], "flag-client-state");
    let missing = graph_subs(&["create", "--resource", "users/cy/events"]);
    assert_eq!(missing.exit, Exit::Usage, "{}", missing.stderr);
    // The service root is on this machine (an emulator): an http:// endpoint on loopback
    // passes the check before the call, with its warnings.
    let local = graph_subs(&[
        "create",
        "--resource",
        "users/dee/messages",
        "--change-type",
        "created",
        "--notification-url",
        "http://127.0.0.1:9/notifications",
    ]);
    assert_eq!(local.exit, Exit::Success, "{}", local.stderr);
    assert!(local.stderr.contains("url-not-https"), "{}", local.stderr);

    let list = graph_subs(&["list", "--json"]);
    let all: Vec<Value> = serde_json::from_str(&list.stdout).unwrap();
    assert!(all.iter().any(|s| s["id"] == id.as_str()));
    let lines = graph_subs(&["list", "--jsonl"]);
    assert_eq!(lines.stdout.lines().count(), all.len());
    // Without the client's own pacing (an emulator with --throttle off), the same list.
    let unpaced = graph_subs(&["list", "--jsonl", "--pacing", "off"]);
    assert_eq!(unpaced.stdout, lines.stdout);
    let bad = graph_subs(&["list", "--pacing", "fast"]);
    assert_eq!(bad.exit, Exit::Usage);
    assert!(bad.stderr.contains("graph, off"), "{}", bad.stderr);
    let table = graph_subs(&["list"]);
    assert!(table.stdout.starts_with("ID "), "{}", table.stdout);
    assert!(table.stdout.contains(&id) && table.stdout.contains("users/ada/messages"));

    let get = graph_subs(&["get", &id, "--json"]);
    let got: Value = serde_json::from_str(&get.stdout).unwrap();
    assert_eq!(got["resource"], "users/ada/messages");

    let renew = graph_subs(&["renew", &id, "--to", "48h", "--json"]);
    assert_eq!(renew.exit, Exit::Success, "{}", renew.stderr);
    let answer: Value = serde_json::from_str(&renew.stdout).unwrap();
    assert_eq!(answer["renewed"], 1);
    assert_eq!(answer["failed"], json!([]));
    let plan = graph_subs(&["renew", "--all", "--expiring-within", "3d", "--dry-run"]);
    assert!(plan.stdout.contains("would renew"), "{}", plan.stdout);
    assert_eq!(graph_subs(&["reauthorize", &id]).exit, Exit::Success);

    // Refused before sending, with every reason.
    let refused = graph_subs(&["create", &body_file(&dir, "users/bob/messages", 24 * 30)]);
    assert_eq!(refused.exit, Exit::No);
    assert!(
        refused.stderr.contains("was not sent"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("expiration-beyond-maximum"),
        "{}",
        refused.stderr
    );
    let forbidden = graph_subs(&["create", &body_file(&dir, "users/bob/contacts", 24)]);
    assert_eq!(forbidden.exit, Exit::No);
    assert!(
        forbidden.stderr.contains("Contacts.Read"),
        "{}",
        forbidden.stderr
    );

    // delete --all asks first; without a terminal to ask on, it needs --yes.
    let unconfirmed = graph_subs(&["delete", "--all"]);
    assert_eq!(unconfirmed.exit, Exit::Usage);
    assert!(
        unconfirmed.stderr.contains("--yes"),
        "{}",
        unconfirmed.stderr
    );
    let deleted = graph_subs(&["delete", &id, "--json"]);
    let answer: Value = serde_json::from_str(&deleted.stdout).unwrap();
    assert_eq!(answer["deleted"], 1);
    let gone = graph_subs(&["get", &id]);
    assert_eq!(gone.exit, Exit::No);
    assert!(gone.stderr.contains("create it again"), "{}", gone.stderr);
    let rest = graph_subs(&["delete", "--all", "--yes", "--json"]);
    assert_eq!(rest.exit, Exit::Success, "{}", rest.stderr);
    assert_eq!(graph_subs(&["list", "--json"]).stdout.trim(), "[]");
}

#[test]
fn credentials_and_durations_are_checked_before_anything_runs() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = run(
        [
            "graph-subs",
            "list",
            "--base-url",
            "http://127.0.0.1:9/v1.0",
        ],
        &mut out,
        &mut err,
    );
    assert_eq!(exit, Exit::Usage);
    let stderr = String::from_utf8(err).unwrap();
    assert!(
        stderr.contains("GRAPH_SUBS_TOKEN") && stderr.contains("--azure-cli"),
        "{stderr}"
    );
    let bad = graph_subs(&["renew", "--all", "--expiring-within", "3w"]);
    assert_eq!(bad.exit, Exit::Usage);
    assert!(bad.stderr.contains("90m, 48h or 3d"), "{}", bad.stderr);
}

#[test]
fn the_demo_walks_the_whole_lifecycle_with_no_tenant() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = run(["graph-subs", "demo"], &mut out, &mut err);
    let stdout = String::from_utf8(out).unwrap();
    assert_eq!(
        exit,
        Exit::Success,
        "{stdout}\n{}",
        String::from_utf8_lossy(&err)
    );
    for expected in [
        "1. Get a token",
        "application permissions in the token: Mail.Read, Calendars.Read",
        "created ",
        "the request was not sent: ",
        "expiration-beyond-maximum",
        "any one of Chat.Read.All would do",
        "(neither was sent: the emulator holds 2 subscriptions)",
        "renewed ",
        "(clientState checked)",
        "with includeResourceData",
        "validation token and dataSignature checked, then decrypted",
        "Grace wrote \"Ship it on Friday?\"",
        "received: reauthorizationRequired",
        "deleted 3, failed 0",
        "0 subscriptions left",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn client_credentials_come_from_a_file_and_no_secret_is_ever_shown() {
    let log = captured_log();
    let e = emulator();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("secret");
    std::fs::write(&good, format!("{SECRET}\n")).unwrap();
    let bad = dir.path().join("wrong");
    std::fs::write(&bad, "canary-wrong-secret-4Kt").unwrap();
    let with = |file: &std::path::Path, args: &[&str]| {
        let mut all = vec!["graph-subs"];
        all.extend_from_slice(args);
        let file = file.to_str().unwrap().to_owned();
        all.extend_from_slice(&[
            "--base-url",
            &e.base,
            "--authority",
            &e.root,
            "--tenant-id",
            &e.tenant,
        ]);
        all.extend_from_slice(&["--client-id", APP, "--client-secret-file", &file]);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let exit = run(all, &mut out, &mut err);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        for canary in [SECRET, "canary-wrong-secret-4Kt"] {
            assert!(!text.contains(canary), "{args:?} shows a secret: {text}");
        }
        (exit, text)
    };
    for command in [
        &["list"][..],
        &["list", "--json"],
        &["get", "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"],
        &["renew", "--all", "--dry-run"],
        &["delete", "--all", "--dry-run"],
    ] {
        let (exit, text) = with(&good, command);
        assert!(
            matches!(exit, Exit::Success | Exit::No),
            "{command:?}: {text}"
        );
        let (exit, text) = with(&bad, command);
        assert_eq!(exit, Exit::Failure, "{command:?}: {text}");
        assert!(text.contains("AADSTS7000215"), "{command:?}: {text}");
    }
    // The static token too, through every command, failures included (a subscription
    // that does not exist: the emulator is shared with the other tests, which count
    // theirs).
    let id = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07".to_owned();
    for command in [
        &["get", id.as_str()][..],
        &["renew", id.as_str(), "--to", "2d"],
        &["reauthorize", id.as_str()],
        &["delete", id.as_str()],
        &["get", id.as_str()],
        &["renew", "--all", "--json"],
        &[
            "create",
            "--resource",
            "chats/getAllMessages",
            "--change-type",
            "created",
            "--notification-url",
            "https://webhook.example.com/n",
        ],
    ] {
        graph_subs(command);
    }
    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert!(log.contains("graph_subs"), "nothing was logged: {log}");
    for canary in [SECRET, "canary-wrong-secret-4Kt", &e.token] {
        assert!(!log.contains(canary), "the log shows a secret: {log}");
    }
}

/// Everything the client, the commands and the emulator log in this test binary, at every
/// level: no secret may be in it.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    graph_subs_benchkit::log::captured(
        "graph_subs_http=trace,graph_subs_cli=trace,graph_subs_emulator=trace",
    )
}
