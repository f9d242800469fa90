//! `graph-subs emulator` as a process: its start-up line, `emulator token`, a clean stop
//! on SIGTERM with its state written, and a bounded load of 8 concurrent clients
//! (loopback only) that loses and duplicates nothing, even when the process is killed
//! with SIGKILL in the middle of it.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_graph-subs");
const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";

/// A running `graph-subs emulator` and what it printed when it came up.
struct Process {
    child: Child,
    facts: Value,
}

impl Process {
    fn start(extra: &[&str]) -> Process {
        let mut child = Command::new(BIN)
            .args(["emulator", "--listen", "127.0.0.1:0", "--json"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let facts: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the first line is not JSON ({e}): {line:?}"));
        Process { child, facts }
    }

    fn base(&self) -> String {
        self.facts["baseUrl"].as_str().unwrap().to_owned()
    }

    fn token(&self, roles: &str) -> String {
        let out = Command::new(BIN)
            .args(["emulator", "token", "--url", &self.base(), "--app-id", APP])
            .args(["--roles", roles])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap();
        assert_eq!(token.trim().split('.').count(), 3, "{token}");
        token.trim().to_owned()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_body(resource: &str) -> Value {
    json!({
        "changeType": "created",
        "notificationUrl": "https://webhook.example.com/notify",
        "resource": resource,
        "expirationDateTime": "2098-12-02T00:00:00Z",
        "clientState": "load-test-secret",
    })
}

/// Every subscription the caller sees, following `@odata.nextLink`.
async fn list_all(client: &reqwest::Client, base: &str, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut next = Some(format!("{base}/v1.0/subscriptions"));
    while let Some(url) = next {
        let page: Value = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    all
}

#[test]
fn the_command_prints_where_it_listens_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let process = Process::start(&["--state", state.to_str().unwrap()]);
    let base = process.base();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(
        process.facts["tokenEndpoint"],
        format!(
            "{base}/{}/oauth2/v2.0/token",
            process.facts["tenantId"].as_str().unwrap()
        )
    );
    let token = process.token("Mail.Read");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let created = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/v1.0/subscriptions"))
            .bearer_auth(&token)
            .json(&json!({
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "users/ada/messages",
                "expirationDateTime": "2099-01-01T00:00:00Z",
            }))
            .send()
            .await
            .unwrap()
            .status()
    });
    // Endpoint validation is on by default: nobody serves that URL.
    assert_eq!(created.as_u16(), 400);

    let mut process = process;
    process.signal("TERM");
    let status = process.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let snapshot: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(snapshot["format"], "graph-subs-emulator-state");

    // A token from an emulator that is not there: exit 4, a hint, no panic.
    let out = Command::new(BIN)
        .args(["emulator", "token", "--url", &base, "--roles", "Mail.Read"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hint: start it with `graph-subs emulator`"),
        "{stderr}"
    );
    // Bad flags are usage errors that say what to write.
    let out = Command::new(BIN)
        .args(["emulator", "--throttle", "fast"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("list=40/20s"));
}

/// What the clients were told, to compare with what the emulator holds.
#[derive(Debug, Default)]
struct Acknowledged {
    /// Created (201) and not deleted (204), with the last renewal acknowledged.
    live: HashMap<String, String>,
    /// Deleted (204).
    deleted: HashSet<String>,
    /// A request sent without an answer (the process was killed): (id, renewal) or a
    /// create whose id nobody learned.
    in_flight: Vec<(Option<String>, Option<String>)>,
}

/// One client: creates, renews and deletes subscriptions on its own resources until it
/// has done `operations` or the emulator stops answering.
async fn client_load(
    base: String,
    token: String,
    round: &'static str,
    client: usize,
    operations: usize,
) -> Acknowledged {
    let http = reqwest::Client::new();
    let mut ack = Acknowledged::default();
    let mut i = 0;
    while i < operations {
        let resource = format!("users/{round}-client{client}-{i}@contoso.com/messages");
        let sent = http
            .post(format!("{base}/v1.0/subscriptions"))
            .bearer_auth(&token)
            .json(&create_body(&resource))
            .send()
            .await;
        let Ok(response) = sent else {
            ack.in_flight.push((None, None));
            return ack;
        };
        let status = response.status().as_u16();
        let Ok(created) = response.json::<Value>().await else {
            ack.in_flight.push((None, None));
            return ack;
        };
        assert_eq!(status, 201, "{resource}: {created}");
        let id = created["id"].as_str().unwrap().to_owned();
        ack.live.insert(
            id.clone(),
            created["expirationDateTime"].as_str().unwrap().to_owned(),
        );
        i += 1;

        let renewal = format!("2098-12-{:02}T01:00:00Z", 1 + (i % 6));
        let sent = http
            .patch(format!("{base}/v1.0/subscriptions/{id}"))
            .bearer_auth(&token)
            .json(&json!({ "expirationDateTime": renewal }))
            .send()
            .await;
        match sent {
            Ok(response) if response.status().as_u16() == 200 => {
                ack.live.insert(id.clone(), renewal);
            }
            Ok(response) => panic!("renewal answered {}", response.status()),
            Err(_) => {
                ack.in_flight.push((Some(id), Some(renewal)));
                return ack;
            }
        }
        i += 1;

        if i % 3 == 0 {
            let sent = http
                .delete(format!("{base}/v1.0/subscriptions/{id}"))
                .bearer_auth(&token)
                .send()
                .await;
            match sent {
                Ok(response) if response.status().as_u16() == 204 => {
                    ack.live.remove(&id);
                    ack.deleted.insert(id);
                }
                Ok(response) => panic!("delete answered {}", response.status()),
                Err(_) => {
                    ack.in_flight.push((Some(id), None));
                    return ack;
                }
            }
            i += 1;
        }
    }
    ack
}

fn run_load(
    base: &str,
    token: &str,
    round: &'static str,
    operations: usize,
    kill: Option<&Process>,
) -> Acknowledged {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let clients: Vec<_> = (0..8)
            .map(|c| {
                tokio::spawn(client_load(
                    base.to_owned(),
                    token.to_owned(),
                    round,
                    c,
                    operations,
                ))
            })
            .collect();
        if let Some(process) = kill {
            // Let the load build up, then kill the process outright.
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            process.signal("KILL");
        }
        let mut all = Acknowledged::default();
        for client in clients {
            let ack = client.await.unwrap();
            all.live.extend(ack.live);
            all.deleted.extend(ack.deleted);
            all.in_flight.extend(ack.in_flight);
        }
        all
    })
}

fn check_against(held: &[Value], ack: &Acknowledged) {
    let mut seen = HashSet::new();
    for s in held {
        let id = s["id"].as_str().unwrap();
        assert!(seen.insert(id.to_owned()), "{id} listed twice");
        assert!(
            !ack.deleted.contains(id),
            "{id} was deleted (204) but is back"
        );
    }
    for (id, expiration) in &ack.live {
        let Some(s) = held.iter().find(|s| s["id"] == id.as_str()) else {
            // Only a delete sent when the process died may have removed it.
            let deleting = ack
                .in_flight
                .iter()
                .any(|(i, r)| i.as_deref() == Some(id.as_str()) && r.is_none());
            assert!(deleting, "{id} was acknowledged (201) and is lost");
            continue;
        };
        let stored = s["expirationDateTime"].as_str().unwrap();
        // The last acknowledged renewal, or one sent when the process died.
        let unanswered = ack
            .in_flight
            .iter()
            .any(|(i, r)| i.as_deref() == Some(id.as_str()) && r.as_deref() == Some(stored));
        assert!(
            stored == expiration || unanswered,
            "{id}: {stored}, acknowledged {expiration}"
        );
    }
    // Anything else held is a request that was in flight: at most one per client.
    let unexplained = held
        .iter()
        .filter(|s| !ack.live.contains_key(s["id"].as_str().unwrap()))
        .count();
    assert!(
        unexplained <= ack.in_flight.len(),
        "{unexplained} unexplained subscriptions"
    );
}

fn wait_for_exit(process: &mut Process) {
    let _ = process.child.wait();
}

fn state_file(dir: &Path) -> String {
    dir.join("state.json").to_str().unwrap().to_owned()
}

#[test]
fn eight_clients_lose_and_duplicate_nothing_even_through_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_file(dir.path());
    let flags = [
        "--state",
        state.as_str(),
        "--throttle",
        "off",
        "--no-endpoint-validation",
        // Renewals are dates in December 2098, within a message subscription's 7 days.
        "--start-at",
        "2098-11-30T00:00:00Z",
    ];

    // A bounded load to its end: what the clients were told is exactly what is held.
    let process = Process::start(&flags);
    let token = process.token("Mail.Read");
    let ack = run_load(&process.base(), &token, "first", 150, None);
    assert!(ack.in_flight.is_empty());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let held = runtime.block_on(list_all(&reqwest::Client::new(), &process.base(), &token));
    assert_eq!(held.len(), ack.live.len());
    check_against(&held, &ack);
    let first_round = ack;

    // The same, killed with SIGKILL in the middle: restarted on the same state, every
    // acknowledged write is there and nothing deleted came back.
    let ack = run_load(&process.base(), &token, "second", 100_000, Some(&process));
    let mut process = process;
    wait_for_exit(&mut process);
    assert!(
        !ack.live.is_empty(),
        "the load should have run before the kill"
    );
    let restarted = Process::start(&flags);
    let token = restarted.token("Mail.Read");
    let held = runtime.block_on(list_all(&reqwest::Client::new(), &restarted.base(), &token));
    let mut all = ack;
    all.live.extend(first_round.live);
    all.deleted.extend(first_round.deleted);
    check_against(&held, &all);
}

#[test]
fn apps_come_from_a_file_and_a_bad_file_never_shows_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let apps = dir.path().join("apps.toml");
    std::fs::write(
        &apps,
        "[[app]]\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nsecret = \"file-secret-7Qx\"\nroles = [\"Mail.Read\"]\n",
    )
    .unwrap();
    let process = Process::start(&["--apps-file", apps.to_str().unwrap()]);
    let token_endpoint = process.facts["tokenEndpoint"].as_str().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer: Value = runtime.block_on(async {
        reqwest::Client::new()
            .post(&token_endpoint)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "11111111-2222-3333-4444-555555555555"),
                ("client_secret", "file-secret-7Qx"),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert!(answer["access_token"].is_string(), "{answer}");
    drop(process);

    std::fs::write(
        &apps,
        "[[app]]\nclient_id = \"x\"\nsecret = \"file-secret-7Qx\"\nrole = [\"Mail.Read\"]\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["emulator", "--listen", "127.0.0.1:0", "--apps-file"])
        .arg(&apps)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 4") && stderr.contains("[[app]]"),
        "{stderr}"
    );
    assert!(!stderr.contains("file-secret-7Qx"), "{stderr}");
}
