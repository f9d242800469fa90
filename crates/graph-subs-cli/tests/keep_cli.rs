//! `graph-subs keep check`: the examples pass and fail as the README says, JSON for
//! scripts, exit statuses as documented.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_graph-subs");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/keeper");

fn keep_check(file: &str, json: bool) -> (Option<i32>, String) {
    let mut command = Command::new(BIN);
    command
        .args(["keep", "check"])
        .arg(format!("{EXAMPLES}/{file}"))
        .args(["--now", "2026-11-23T12:00:00Z"]);
    if json {
        command.arg("--json");
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap() + &String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_example_passes_and_the_broken_one_fails_with_its_lines() {
    let (code, out) = keep_check("keeper.toml", true);
    assert_eq!(code, Some(0), "{out}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["ok"], true);
    assert_eq!(
        (answer["tenants"].as_u64(), answer["subscriptions"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        answer["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["severity"] == "warning"),
        "{out}"
    );
    assert!(!out.contains("keeper-example-secret"), "{out}");
    assert!(!out.contains("keeper-example-client-state"), "{out}");

    let (code, out) = keep_check("broken.toml", true);
    assert_eq!(code, Some(1), "{out}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["ok"], false);
    let lines: Vec<u64> = answer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [8, 13, 16], "{out}");
}

#[test]
fn a_missing_configuration_is_a_usage_error() {
    let (code, out) = keep_check("no-such-file.toml", false);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("cannot read the configuration"), "{out}");
}

#[path = "../../graph-subs-keeper/tests/support/mod.rs"]
mod postgres;

mod run {
    //! `graph-subs keep run` and `keep status` as processes, against an emulator in this
    //! test's runtime.

    use std::io::{BufRead as _, BufReader};
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use graph_subs_emulator::{App, Emulator, RunningEmulator, Throttle};
    use serde_json::{Value, json};

    use super::BIN;

    const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";
    const SECRET: &str = "CANARY-keeper-cli-secret";
    const STATE: &str = "CANARY-keeper-cli-client-state";

    fn emulator(runtime: &tokio::runtime::Runtime, validation: bool) -> RunningEmulator {
        runtime.block_on(async {
            Emulator::builder()
                .endpoint_validation(validation)
                .throttle(Throttle::OFF)
                .app(App::new(APP, SECRET, &["Mail.Read"]))
                .build()
                .start()
                .await
                .unwrap()
        })
    }

    /// A configuration of `count` mail subscriptions notifying `hooks`, in `dir`.
    fn config(dir: &Path, e: &RunningEmulator, count: usize, hooks: &str) -> std::path::PathBuf {
        std::fs::write(dir.join("client-secret"), SECRET).unwrap();
        std::fs::write(dir.join("client-state"), STATE).unwrap();
        let base = e.base_url();
        let mut text = format!(
            r#"[[tenant]]
name = "contoso"
tenant_id = "{tenant}"
base_url = "{base}/v1.0"

[tenant.credentials]
client_id = "{APP}"
client_secret_file = "client-secret"
authority = "{base}"
"#,
            tenant = e.tenant_id()
        );
        for i in 0..count {
            text.push_str(&format!(
                r#"
[[tenant.subscription]]
name = "user{i}-mail"
resource = "users/user{i}/messages"
change_types = ["created"]
notification_url = "{hooks}/notifications"
lifecycle_notification_url = "{hooks}/lifecycle"
client_state_file = "client-state"
"#
            ));
        }
        let path = dir.join("keeper.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn keep(args: &[&str]) -> (Option<i32>, String, String) {
        let output = Command::new(BIN).arg("keep").args(args).output().unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    }

    fn status(config: &Path, store: Option<&str>) -> Vec<Value> {
        let mut args = vec!["status", config.to_str().unwrap(), "--json"];
        if let Some(store) = store {
            args.extend(["--store", store]);
        }
        let (code, out, err) = keep(&args);
        assert_eq!(code, Some(0), "{out}{err}");
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    async fn graph_ids(e: &RunningEmulator) -> Vec<String> {
        let token = e.token(&graph_subs_emulator::TokenSpec::application(
            e.tenant_id(),
            APP,
            &["Mail.Read"],
        ));
        let mut ids = Vec::new();
        let mut next = Some(format!("{}/v1.0/subscriptions", e.base_url()));
        while let Some(url) = next {
            let page: Value = reqwest::Client::new()
                .get(url)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            ids.extend(
                page["value"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["id"].as_str().unwrap().to_owned()),
            );
            next = page["@odata.nextLink"].as_str().map(str::to_owned);
        }
        ids
    }

    #[test]
    fn keep_run_serves_the_receiver_and_operators_and_acts_on_lifecycle_events() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        // Graph validates the notification URLs: the keeper's own receiver answers.
        let e = emulator(&runtime, true);
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let hooks = format!("http://127.0.0.1:{port}");
        let config = config(dir.path(), &e, 2, &hooks);
        let mut child = Command::new(BIN)
            .args(["keep", "run"])
            .arg(&config)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--log-format",
                "json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
            text
        });
        let client = reqwest::Client::new();
        // (status, body) of a GET, 0 when nothing answers.
        let get = |url: String| {
            runtime.block_on(async {
                match client.get(url).send().await {
                    Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                    Err(_) => (0, String::new()),
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if get(format!("{hooks}/readyz")).0 == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "never ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(get(format!("{hooks}/healthz")).0, 200);
        let rows = status(&config, None);
        assert_eq!(rows.len(), 2);
        assert!(
            rows.iter()
                .all(|r| r["state"] == "active" && r["lastOutcome"] == "created")
        );
        let first = rows[0]["graphId"].as_str().unwrap().to_owned();

        // Graph removes one: the lifecycle event reaches the keeper's receiver, and the
        // keeper creates it again at once, without waiting for its interval (5 minutes).
        let emulator_post = |path: &str, body: Value| {
            let status = runtime.block_on(async {
                client
                    .post(format!("{}{path}", e.base_url()))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            assert!(status.is_success(), "{path}: {status}");
        };
        emulator_post(
            "/emulator/lifecycle",
            json!({"subscriptionId": first, "lifecycleEvent": "subscriptionRemoved"}),
        );
        let again = loop {
            let rows = status(&config, None);
            let id = rows[0]["graphId"].as_str().map(str::to_owned);
            if let Some(id) = id.filter(|id| *id != first) {
                break id;
            }
            assert!(Instant::now() < deadline, "not created again: {rows:?}");
            std::thread::sleep(Duration::from_millis(50));
        };
        // A change to the new subscription's resource comes out as a JSON line, its
        // clientState checked against the new id's and not printed.
        emulator_post(
            "/emulator/changes",
            json!({"resource": "users/user0/messages", "changeType": "created"}),
        );
        let mut lines = Vec::new();
        while lines.len() < 2 {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0);
            lines.push(serde_json::from_str::<Value>(&line).unwrap());
        }
        assert_eq!(lines[0]["lifecycleEvent"], "subscriptionRemoved");
        assert_eq!(lines[1]["subscriptionId"], again.as_str());
        assert_eq!(lines[1]["changeType"], "created");

        let metrics = get(format!("{hooks}/metrics")).1;
        for line in [
            "graph_subs_keeper_subscriptions{tenant=\"contoso\",state=\"active\"} 2",
            "graph_subs_keeper_actions_total{action=\"created\"} 3",
            "graph_subs_keeper_lifecycle_events_total{event=\"subscriptionRemoved\"} 1",
        ] {
            assert!(metrics.contains(line), "{line} in:\n{metrics}");
        }

        let term = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let code = child.wait().unwrap();
        let logs = logs.join().unwrap();
        assert!(code.success(), "{code:?}\n{logs}");
        assert!(logs.contains("graph-subs keep run stopped"), "{logs}");
        // JSON log lines, and no secret in them.
        assert!(
            logs.lines()
                .any(|l| l.starts_with('{') && l.contains("\"round done\"")),
            "{logs}"
        );
        assert!(!logs.contains(SECRET) && !logs.contains(STATE), "{logs}");
        drop(e);
    }

    #[test]
    fn keep_run_once_summarises_and_keep_status_explains_an_empty_store() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let e = emulator(&runtime, false);
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), &e, 3, "https://hooks.example.com");
        let path = config.to_str().unwrap();

        let (code, out, err) = keep(&["status", path]);
        assert_eq!(code, Some(2), "{out}{err}");
        assert!(
            err.contains("the keeper has not run with this configuration"),
            "{err}"
        );

        let (code, out, err) = keep(&["run", path, "--once", "--json"]);
        assert_eq!(code, Some(0), "{out}{err}");
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["ok"], true);
        assert_eq!(summary["tenants"][0]["created"], 3);
        let (code, out, _) = keep(&["run", path, "--once"]);
        assert_eq!(code, Some(0));
        assert_eq!(
            out,
            "contoso: 0 created, 0 adopted, 0 renewed, 0 deleted, 0 forgotten, 0 failed\n"
        );
        let (code, table, _) = keep(&["status", path]);
        assert_eq!(code, Some(0));
        assert!(table.starts_with("TENANT"), "{table}");
        assert_eq!(table.lines().count(), 4, "{table}");
        assert!(
            table.contains("user2-mail") && table.contains("created"),
            "{table}"
        );
        assert!(!table.contains(STATE), "{table}");

        // A secret declared but missing here (a warning for `keep check`, which may run
        // elsewhere) stops `keep run`: it would replace every subscription with one
        // without a clientState.
        let original = std::fs::read_to_string(&config).unwrap();
        std::fs::write(
            &config,
            original.replace(
                "client_state_file = \"client-state\"",
                "client_state_env = \"GRAPH_SUBS_TEST_UNSET_STATE\"",
            ),
        )
        .unwrap();
        let (code, _, err) = keep(&["run", path, "--once"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("GRAPH_SUBS_TEST_UNSET_STATE") && err.contains("did not start"),
            "{err}"
        );
        std::fs::write(&config, original).unwrap();

        // A configuration with errors does not start.
        std::fs::write(
            &config,
            std::fs::read_to_string(&config)
                .unwrap()
                .replace("users/user1", "users/../x"),
        )
        .unwrap();
        let (code, _, err) = keep(&["run", path, "--once"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("the keeper did not start"), "{err}");
        drop(e);
    }

    /// kill -9 at points spread over a round that creates 400 subscriptions (two chunks
    /// of intents), then restarts: at the end every subscription exists once in Graph and
    /// once in the store, and the last round has nothing to repair but adoptions. On
    /// PostgreSQL each process is a replica: the next one takes the tenant over once the
    /// killed one's lease has ended.
    fn killed_and_restarted(store: Option<&str>) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let e = emulator(&runtime, false);
        let dir = tempfile::tempdir().unwrap();
        let count = 400;
        let config = config(dir.path(), &e, count, "https://hooks.example.com");
        let path = config.to_str().unwrap().to_owned();
        let run = |extra: &[&str]| {
            let mut command = Command::new(BIN);
            command.args(["keep", "run", &path, "--once"]).args(extra);
            if let Some(store) = store {
                command.args(["--store", store]);
            }
            command
        };
        // How long an uninterrupted round takes here, to spread the kills over it.
        let started = Instant::now();
        let probe = run(&[]).arg("--help").output().unwrap();
        assert!(probe.status.success());
        let startup = started.elapsed();
        let mut kills = 0;
        let mut cut_mid_create = 0;
        for delay_ms in [20u64, 60, 100, 150, 220, 300, 400, 550, 700, 900] {
            let mut child = run(&[])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(startup + Duration::from_millis(delay_ms));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
            }
            child.wait().unwrap();
            if store.is_some() {
                // A killed replica keeps its lease on the tenant (60 s of Graph's time)
                // until it ends: the next one takes over then.
                runtime.block_on(async {
                    let moved = reqwest::Client::new()
                        .post(format!("{}/emulator/clock", e.base_url()))
                        .json(&json!({"advanceSeconds": 61}))
                        .send()
                        .await
                        .unwrap();
                    assert!(moved.status().is_success());
                });
            }
            // Cut between an intent and its outcome: creates that may or may not have
            // reached Graph.
            if dir.path().join("graph-subs-keeper.db").exists() || store.is_some() {
                let rows = status(&config, store);
                if rows.iter().any(|r| r["state"] == "creating") {
                    cut_mid_create += 1;
                }
            }
        }
        assert!(
            kills >= 3,
            "only {kills} runs were cut short: the round is too quick to kill"
        );
        assert!(
            cut_mid_create >= 1,
            "no kill landed between an intent and its outcome"
        );
        let output = run(&["--json"]).output().unwrap();
        let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{summary}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(summary["tenants"][0]["failed"], 0, "{summary}");

        let rows = status(&config, store);
        assert_eq!(rows.len(), count);
        assert!(rows.iter().all(|r| r["state"] == "active"), "{rows:?}");
        let mut remembered: Vec<String> = rows
            .iter()
            .map(|r| r["graphId"].as_str().unwrap().to_owned())
            .collect();
        let mut graph = runtime.block_on(graph_ids(&e));
        remembered.sort();
        graph.sort();
        assert_eq!(graph.len(), count, "nothing created twice, nothing lost");
        assert_eq!(remembered, graph);
    }

    #[test]
    fn kill_9_at_any_point_loses_nothing_and_creates_nothing_twice_on_sqlite() {
        killed_and_restarted(None);
    }

    #[test]
    fn kill_9_at_any_point_loses_nothing_and_creates_nothing_twice_on_postgres() {
        let pg = super::postgres::Postgres::start();
        killed_and_restarted(Some(&pg.url));
    }
}
