//! Issue 6, "Why": each defect found by trying the core as a hostile or careless user
//! would, as the user meets it (from the command line), with the behaviour now expected.

use std::io::Write as _;

use graph_subs_cli::Exit;
use graph_subs_tests::{Run, graph_subs};
use serde_json::{Value, json};

const NOW: &str = "2026-11-22T09:00:00Z";

fn base() -> Value {
    json!({
        "changeType": "created,updated",
        "notificationUrl": "https://webhook.example.com/notify",
        "resource": "me/messages",
        "expirationDateTime": "2026-11-23T09:00:00Z",
        "clientState": "secretClientValue"
    })
}

fn with(changes: Value) -> Value {
    let mut body = base();
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn check(body: &Value, extra: &[&str]) -> Run {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(body.to_string().as_bytes()).unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let mut args = vec!["check", path.as_str(), "--now", NOW, "--json"];
    args.extend_from_slice(extra);
    graph_subs(&args)
}

/// (code, severity) of every diagnostic.
fn found(run: &Run) -> Vec<(String, String)> {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(run: &Run, code: &str, severity: &str) -> bool {
    found(run).iter().any(|(c, s)| c == code && s == severity)
}

#[test]
fn notification_urls_are_judged_by_a_url_parser() {
    // (url, code expected or None for a clean URL, its severity)
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        // A public host whose first label is 127 is not this machine.
        ("https://127.example.com/notify", None),
        (
            "https://127.0.0.1/notify",
            Some(("url-loopback", "warning")),
        ),
        (
            "https://localhost./notify",
            Some(("url-loopback", "warning")),
        ),
        (
            "https://[::ffff:127.0.0.1]/notify",
            Some(("url-loopback", "warning")),
        ),
        (
            "https://0.0.0.0/notify",
            Some(("url-unreachable-address", "error")),
        ),
        (
            "https://10.0.0.5/notify",
            Some(("url-private-address", "warning")),
        ),
        (
            "https://169.254.169.254/notify",
            Some(("url-link-local", "warning")),
        ),
        (
            "https://webhook.example.com:99999/notify",
            Some(("invalid-url", "error")),
        ),
        (
            "https://web hook.example.com/notify",
            Some(("invalid-url", "error")),
        ),
        (
            "https://webhook..example.com/notify",
            Some(("invalid-url", "error")),
        ),
        ("https:///notify", Some(("invalid-url", "error"))),
        (
            "https://user:pw@webhook.example.com/notify",
            Some(("url-credentials", "warning")),
        ),
        (
            "https://webhook.example.com/notify#x",
            Some(("url-fragment", "warning")),
        ),
        (
            "EventHub:https://ns.servicebus.windows.net/eventhubname/hub?tenantId=contoso.com",
            None,
        ),
        (
            "EventGrid:?azuresubscriptionid=8aa&resourcegroup=rg&partnertopic=t&location=westus",
            None,
        ),
        (
            "EventGrid:?azuresubscriptionid=8aa",
            Some(("event-grid-parameter-missing", "error")),
        ),
    ];
    for (url, expected) in cases {
        let run = check(&with(json!({ "notificationUrl": url })), &[]);
        match expected {
            None => assert_eq!(found(&run), [], "{url}"),
            Some((code, severity)) => {
                assert!(has(&run, code, severity), "{url}: {:?}", found(&run))
            }
        }
    }
}

#[test]
fn url_secrets_are_redacted_in_text_and_json() {
    let body = with(json!({
        "notificationUrl": "http://admin:hunter2@webhook.example.com/api?code=fn-key-123",
        "lifecycleNotificationUrl": "https://admin:hunter2@webhook..example.com/l?code=fn-key-123",
    }));
    for extra in [&[][..], &["--json"]] {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(body.to_string().as_bytes()).unwrap();
        let path = file.path().to_str().unwrap().to_owned();
        let mut args = vec!["check", path.as_str(), "--now", NOW];
        args.extend_from_slice(extra);
        let run = graph_subs(&args);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            !all.contains("hunter2") && !all.contains("fn-key-123"),
            "{all}"
        );
        assert!(
            all.contains("https://***@webhook.example.com/api?code=***"),
            "{all}"
        );
    }
}

#[test]
fn suspect_resources_in_a_body_are_errors() {
    let cases = [
        ("users/../messages", "invalid-resource"),
        ("users/%2e%2e/messages", "invalid-resource"),
        ("users('')/messages", "invalid-resource"),
        ("users/{id}/messages", "resource-placeholder"),
        ("groups('{id}')/conversations", "resource-placeholder"),
        ("users/%7Bid%7D/messages", "resource-placeholder"),
        ("users/{}/messages", "resource-placeholder"),
        ("users(id='{id}')/messages", "resource-placeholder"),
        ("me/drive/root:/{folder}:", "resource-placeholder"),
        (
            "communications/presences?$filter=id in ('{id}','{id}')",
            "resource-placeholder",
        ),
        (" me/messages ", "resource-whitespace"),
        ("me/\u{200b}messages", "invalid-resource"),
    ];
    for (resource, code) in cases {
        let run = check(&with(json!({ "resource": resource })), &[]);
        assert_eq!(run.exit, Exit::No, "{resource}");
        assert!(has(&run, code, "error"), "{resource}: {:?}", found(&run));
    }
    // In `permissions` and `explain`, a placeholder stands for any id, as in the docs.
    let run = graph_subs(&["permissions", "users/{id}/messages"]);
    assert_eq!(run.exit, Exit::Success, "{}", run.stderr);
    // A lookalike letter is named.
    let run = graph_subs(&["permissions", "me/m\u{435}ssages"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        run.stderr.contains("U+0435 CYRILLIC SMALL LETTER IE"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_huge_unknown_resource_gets_a_short_answer() {
    let resource = format!("me/{}", "x".repeat(900_000));
    let run = check(&with(json!({ "resource": resource })), &[]);
    assert_eq!(run.exit, Exit::No);
    assert!(run.stdout.len() < 2_000, "{} bytes", run.stdout.len());
    assert!(run.stdout.contains("more characters"), "{}", run.stdout);
}

#[test]
fn fifty_thousand_properties_get_a_readable_answer() {
    let mut body = base();
    for i in 0..50_000 {
        body[format!("p{i}")] = json!(i);
    }
    let run = check(&body, &[]);
    assert_eq!(run.exit, Exit::No);
    let unknown = found(&run)
        .into_iter()
        .filter(|(c, _)| c == "unknown-property")
        .count();
    assert_eq!(unknown, 21, "20 named and one summary");
    assert!(
        run.stdout.contains("and 49980 more properties"),
        "{}",
        run.stdout
    );
}

#[test]
fn bodies_over_one_mebibyte_are_refused_before_they_are_read() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let padding = " ".repeat(1 << 20);
    file.write_all(format!("{}{padding}", base()).as_bytes())
        .unwrap();
    let run = graph_subs(&["check", file.path().to_str().unwrap(), "--json"]);
    assert_eq!(run.exit, Exit::Usage);
    let error: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(error["error"]["code"], "body-too-large");
}

#[test]
fn times_past_year_9999_are_refused_not_misprinted() {
    for command in ["check", "explain"] {
        let run = graph_subs(&[
            command,
            "me/messages",
            "--now",
            "9999-12-30T00:00:00Z",
            "--json",
        ]);
        assert_eq!(run.exit, Exit::Usage, "{command}");
        assert!(
            run.stderr.contains("year 9999"),
            "{command}: {}",
            run.stderr
        );
        let error: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(error["error"]["code"], "usage", "{command}");
    }
    // The latest accepted `now` still gives RFC 3339 times.
    let latest =
        graph_subs_core::lifetime::rfc3339(graph_subs_core::lifetime::latest_supported_now());
    let run = graph_subs(&["explain", "me/drive/root", "--now", &latest, "--json"]);
    assert_eq!(run.exit, Exit::Success, "{}", run.stderr);
    let e: Value = serde_json::from_str(&run.stdout).unwrap();
    let expiration = e["lifetime"]["latestExpiration"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expiration).is_ok(),
        "{expiration}"
    );
    assert!(!run.stdout.contains("+10000"));
}

#[test]
fn json_scripts_always_get_one_document() {
    let cases: [(&[&str], Exit, &str); 5] = [
        (
            &["permissions", "teams/getAllMembers", "--json"],
            Exit::No,
            "not-documented",
        ),
        (
            &["permissions", "nope/nothing", "--json"],
            Exit::Usage,
            "unknown-resource",
        ),
        (
            &["permissions", "users//x", "--json"],
            Exit::Usage,
            "invalid-resource",
        ),
        (
            &["permissions", "me/messages", "--op", "patch", "--json"],
            Exit::Usage,
            "usage",
        ),
        (
            &["check", "/nonexistent.json", "--json"],
            Exit::Usage,
            "unreadable-input",
        ),
    ];
    for (args, exit, code) in cases {
        let run = graph_subs(args);
        assert_eq!(run.exit, exit, "{args:?}");
        let error: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {:?}", run.stdout));
        assert_eq!(error["error"]["code"], code, "{args:?}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{args:?}"
        );
        assert!(!run.stderr.is_empty(), "people still read stderr: {args:?}");
    }
}

#[test]
fn a_url_pasted_as_a_resource_or_argument_is_quoted_redacted() {
    let url = "https://u:CANARY1@graph.microsoft.com/v1.0/me/messages?code=CANARY2&model=A";
    let runs = [
        graph_subs(&["permissions", url, "--json"]),
        graph_subs(&["explain", &format!("/{url}")]),
        graph_subs(&["check", "body.json", url, "--json"]),
        check(&with(json!({ "resource": url })), &[]),
        check(
            &json!({"expirationDateTime": "2026-11-22T12:00:00Z"}),
            &[
                "--op",
                "update",
                "--resource",
                "https://user:pa/CANARY3@hooks.example.com/x",
            ],
        ),
        check(
            &with(json!({ "notificationUrl": "https://user:pa/CANARY4@hooks.example.com/" })),
            &[],
        ),
    ];
    for run in &runs {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains("CANARY"), "{all}");
    }
    // What Graph reads of the pasted URL stays readable.
    assert!(
        runs[0]
            .stderr
            .contains("use `me/messages?code=***&model=A`"),
        "{}",
        runs[0].stderr
    );
}

#[test]
fn repetitions_are_summed_up_not_repeated() {
    let mut text = String::from("{");
    for _ in 0..5_000 {
        text.push_str("\"clientState\": \"x\", \"a\": 1, ");
    }
    text.push_str(
        "\"changeType\": \"created\", \"notificationUrl\": \"https://webhook.example.com/n\", \
         \"resource\": \"me/messages\", \"expirationDateTime\": \"2026-11-23T09:00:00Z\"}",
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let run = graph_subs(&[
        "check",
        file.path().to_str().unwrap(),
        "--now",
        NOW,
        "--json",
    ]);
    let repeats: Vec<_> = found(&run)
        .into_iter()
        .filter(|(c, _)| c == "duplicate-property")
        .collect();
    assert_eq!(repeats.len(), 2, "one per repeated name");
    assert!(
        run.stdout.contains("`clientState` is given 5000 times"),
        "{}",
        run.stdout
    );
    // Paths and query strings have limits of their own.
    let many = format!("me/messages/{}", "a/".repeat(100));
    let run = graph_subs(&["permissions", &many]);
    assert!(
        run.stderr.contains("more than 64 segments"),
        "{}",
        run.stderr
    );
    let params: Vec<String> = (0..100).map(|i| format!("p{i}=1")).collect();
    let run = graph_subs(&["permissions", &format!("me/messages?{}", params.join("&"))]);
    assert!(
        run.stderr.contains("more than 64 parameters"),
        "{}",
        run.stderr
    );
}

#[test]
fn times_before_year_0000_are_refused() {
    let run = graph_subs(&[
        "explain",
        "me/messages",
        "--now",
        "0000-01-01T00:00:00+01:00",
    ]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        run.stderr.contains("before the year 0000"),
        "{}",
        run.stderr
    );
}

#[test]
fn bodies_in_common_encodings_read_or_say_why_not() {
    let body = base().to_string();
    for (bytes, expected) in [
        ([&b"\xEF\xBB\xBF"[..], body.as_bytes()].concat(), None),
        (b" \n".to_vec(), Some("the body is empty")),
        (b"\xFF\xFE{\x00}\x00".to_vec(), Some("UTF-16")),
    ] {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&bytes).unwrap();
        let run = graph_subs(&["check", file.path().to_str().unwrap(), "--now", NOW]);
        match expected {
            None => assert_eq!(run.exit, Exit::Success, "{}", run.stderr),
            Some(text) => {
                assert_eq!(run.exit, Exit::Usage);
                assert!(run.stderr.contains(text), "{}", run.stderr);
            }
        }
    }
    // `--json=true` asks for JSON too; after `--`, `--json` is an argument.
    let run = graph_subs(&["permissions", "me/messages", "--json=true"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        serde_json::from_str::<Value>(&run.stdout).is_ok(),
        "{:?}",
        run.stdout
    );
    let run = graph_subs(&["permissions", "--", "--json"]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn hints_keep_the_delivery_form_and_name_lookalikes() {
    let run = check(
        &with(json!({
            "changeType": "creat\u{435}d",
            "notificationUrl": "EventHub:http://ns.servicebus.windows.net/h?tenantId=x"
        })),
        &[],
    );
    assert!(
        run.stdout.contains("U+0435 CYRILLIC SMALL LETTER IE"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("`EventHub:https://ns.servicebus.windows.net/h?tenantId=***`"),
        "{}",
        run.stdout
    );
}
