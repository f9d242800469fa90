//! `graph-subs check`: every rule shown failing from the command line, exit statuses,
//! input errors, output shapes.

use std::io::Write as _;

use graph_subs_cli::Exit;
use graph_subs_tests::{Run, graph_subs, workspace_root};
use proptest::prelude::*;
use serde_json::{Value, json};

const NOW: &str = "2026-11-22T09:00:00Z";

/// A time `minutes` after NOW.
fn at(minutes: i64) -> String {
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    (now + chrono::Duration::minutes(minutes)).to_rfc3339()
}

fn base() -> Value {
    json!({
        "changeType": "created,updated",
        "notificationUrl": "https://webhook.example.com/notify",
        "resource": "me/messages",
        "expirationDateTime": at(24 * 60),
        "clientState": "secretClientValue"
    })
}

fn with(mut body: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn check_body(body: &Value, args: &[&str]) -> Run {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(serde_json::to_string_pretty(body).unwrap().as_bytes())
        .unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let mut all = vec!["check", path.as_str(), "--now", NOW, "--json"];
    all.extend_from_slice(args);
    graph_subs(&all)
}

fn codes(run: &Run) -> Vec<String> {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_rule_fails_from_the_command_line() {
    let teams = || {
        with(
            base(),
            json!({"resource": "chats/AAMkAGI2/messages", "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle"}),
        )
    };
    let rich = json!({"includeResourceData": true, "encryptionCertificate": "MIIBszCCAVmgAwIBAgIUK2k=", "encryptionCertificateId": "c1"});
    let update = |extra: Value| with(json!({"expirationDateTime": at(60)}), extra);
    // (body, extra arguments, the code expected, its exit status)
    let cases: Vec<(Value, Vec<&str>, &str, Exit)> = vec![
        (
            with(base(), json!({"resource": null})),
            vec![],
            "missing-property",
            Exit::No,
        ),
        (
            with(base(), json!({"includeResourceData": "yes"})),
            vec![],
            "wrong-type",
            Exit::No,
        ),
        (
            with(base(), json!({"expirationDate": at(60)})),
            vec![],
            "unknown-property",
            Exit::No,
        ),
        (
            with(base(), json!({"id": "x"})),
            vec![],
            "read-only-property",
            Exit::Success,
        ),
        (
            with(base(), json!({"resource": "me//messages"})),
            vec![],
            "invalid-resource",
            Exit::No,
        ),
        (
            with(base(), json!({"resource": "me/notes"})),
            vec![],
            "unknown-resource",
            Exit::No,
        ),
        (
            with(base(), json!({"changeType": "created,modified"})),
            vec![],
            "invalid-change-type",
            Exit::No,
        ),
        (
            with(
                base(),
                json!({"resource": "me/drive/root", "changeType": "created"}),
            ),
            vec![],
            "change-type-not-supported",
            Exit::No,
        ),
        (
            with(
                base(),
                json!({"notificationUrl": "http://webhook.example.com/n"}),
            ),
            vec![],
            "url-not-https",
            Exit::No,
        ),
        (
            with(
                base(),
                json!({"notificationUrl": "https://localhost:8443/n"}),
            ),
            vec![],
            "url-loopback",
            Exit::Success,
        ),
        (
            with(base(), json!({"notificationUrl": "webhook"})),
            vec![],
            "invalid-url",
            Exit::No,
        ),
        (
            with(base(), json!({"clientState": "k".repeat(129)})),
            vec![],
            "client-state-too-long",
            Exit::No,
        ),
        (
            with(base(), json!({"expirationDateTime": "tomorrow"})),
            vec![],
            "invalid-expiration",
            Exit::No,
        ),
        (
            with(base(), json!({"expirationDateTime": at(-5)})),
            vec![],
            "expiration-not-in-future",
            Exit::No,
        ),
        (
            with(base(), json!({"expirationDateTime": at(10_081)})),
            vec![],
            "expiration-beyond-maximum",
            Exit::No,
        ),
        (
            with(
                with(base(), rich.clone()),
                json!({"expirationDateTime": at(1_441)}),
            ),
            vec![],
            "expiration-beyond-maximum",
            Exit::No,
        ),
        (
            with(base(), json!({"expirationDateTime": at(10)})),
            vec![],
            "expiration-raised",
            Exit::Success,
        ),
        (
            with(
                base(),
                json!({"resource": "chats/AAMkAGI2/messages", "expirationDateTime": at(120)}),
            ),
            vec![],
            "lifecycle-url-required",
            Exit::No,
        ),
        (
            with(base(), json!({"includeResourceData": true})),
            vec![],
            "encryption-required",
            Exit::No,
        ),
        (
            with(
                base(),
                json!({"resource": "communications/presences/AAMkAGI2", "changeType": "updated", "expirationDateTime": at(50), "includeResourceData": true}),
            ),
            vec![],
            "encryption-required",
            Exit::No,
        ),
        (
            with(
                with(base(), rich.clone()),
                json!({"resource": "solutions/virtualEvents/webinars/AAMkAGI2", "expirationDateTime": at(50)}),
            ),
            vec![],
            "rich-notifications-not-supported",
            Exit::No,
        ),
        (
            with(
                with(base(), rich.clone()),
                json!({"encryptionCertificate": "not base64!"}),
            ),
            vec![],
            "invalid-certificate",
            Exit::No,
        ),
        (
            with(
                with(base(), rich.clone()),
                json!({"encryptionCertificateId": "i".repeat(129)}),
            ),
            vec![],
            "certificate-id-too-long",
            Exit::No,
        ),
        (
            with(base(), json!({"latestSupportedTlsVersion": "v1_4"})),
            vec![],
            "invalid-tls-version",
            Exit::No,
        ),
        (
            with(base(), json!({"resource": "me/todo/lists/AAMkAGI2/tasks"})),
            vec!["--cloud", "china"],
            "cloud-not-supported",
            Exit::No,
        ),
        (
            with(base(), json!({"resource": "me/todo/lists/AAMkAGI2/tasks"})),
            vec!["--auth", "application"],
            "permission-type-not-supported",
            Exit::No,
        ),
        (
            with(
                base(),
                json!({"resource": "users/ada@contoso.com/messages"}),
            ),
            vec!["--auth", "delegated-work"],
            "delegated-other-mailbox",
            Exit::Success,
        ),
        (
            with(
                base(),
                json!({"resource": "me/drive/items/AAMkAGI2", "changeType": "updated"}),
            ),
            vec!["--auth", "delegated-work"],
            "onedrive-business-root-only",
            Exit::No,
        ),
        (
            with(
                base(),
                json!({"resource": "me/drive/root:/Reports/q3.xlsx:", "changeType": "updated"}),
            ),
            vec!["--auth", "delegated-personal"],
            "drive-item-looks-like-a-file",
            Exit::Success,
        ),
        (
            with(
                teams(),
                json!({"resource": "me/chats/getAllMessages?model=A"}),
            ),
            vec![],
            "payment-model-not-accepted",
            Exit::No,
        ),
        (
            with(teams(), json!({"resource": "chats/getAllMessages"})),
            vec![],
            "evaluation-mode",
            Exit::Success,
        ),
        (
            with(base(), json!({"resource": "me/messages?model=B"})),
            vec![],
            "payment-model-not-applicable",
            Exit::Success,
        ),
        (
            with(
                teams(),
                json!({"resource": "chats/getAllMessages?model=A&notifyOnUserSpecificProperties=true"}),
            ),
            vec![],
            "user-specific-properties-not-supported",
            Exit::No,
        ),
        (
            with(base(), json!({"resource": "me/messages?foo=1"})),
            vec![],
            "unknown-query-parameter",
            Exit::Success,
        ),
        (
            with(base(), json!({"notificationQueryOptions": "x"})),
            vec![],
            "query-options-ignored",
            Exit::Success,
        ),
        (
            json!({"clientState": "x"}),
            vec!["--op", "update", "--resource", "me/messages"],
            "update-needs-expiration-or-url",
            Exit::No,
        ),
        (
            update(json!({"lifecycleNotificationUrl": "https://h.example.com/l"})),
            vec!["--op", "update", "--resource", "me/messages"],
            "update-cannot-set",
            Exit::No,
        ),
        (
            update(json!({"resource": "me/events"})),
            vec!["--op", "update", "--resource", "me/messages"],
            "update-cannot-set",
            Exit::No,
        ),
        (
            update(json!({"resource": "chats/getAllMessages?model=B"})),
            vec![
                "--op",
                "update",
                "--resource",
                "chats/getAllMessages?model=A",
            ],
            "payment-model-change",
            Exit::No,
        ),
        (
            update(json!({"clientState": "x"})),
            vec!["--op", "update", "--resource", "me/messages"],
            "update-ignored",
            Exit::Success,
        ),
        (
            update(json!({"encryptionCertificate": "MIIB"})),
            vec!["--op", "update", "--resource", "me/messages"],
            "certificate-rotation-incomplete",
            Exit::No,
        ),
        (
            update(json!({"expirationDateTime": at(61)})),
            vec![
                "--op",
                "update",
                "--resource",
                "communications/presences/AAMkAGI2",
            ],
            "expiration-beyond-maximum",
            Exit::No,
        ),
        (
            update(json!({})),
            vec!["--op", "update"],
            "subscription-resource-unknown",
            Exit::Success,
        ),
        (
            update(json!({"expirationDateTime": at(2_000)})),
            vec!["--op", "update", "--resource", "me/messages"],
            "expiration-beyond-rich-maximum",
            Exit::Success,
        ),
    ];
    let mut failures = Vec::new();
    for (body, args, code, exit) in &cases {
        let run = check_body(body, args);
        let got = codes(&run);
        if !got.iter().any(|c| c == code) || run.exit != *exit {
            failures.push(format!(
                "{code} {args:?}: exit {:?}, codes {got:?}\n{body}",
                run.exit
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The base body itself is clean.
    let run = check_body(&base(), &[]);
    assert_eq!(
        (run.exit, codes(&run)),
        (Exit::Success, Vec::<String>::new())
    );
}

#[test]
fn the_create_page_example_passes() {
    let example = workspace_root().join("examples/create-subscription.json");
    let run = graph_subs(&[
        "check",
        example.to_str().unwrap(),
        "--now",
        "2016-11-18T18:23:45Z",
    ]);
    assert_eq!(run.exit, Exit::Success, "{}", run.stdout);
    assert!(run.stdout.ends_with(": ok\n"), "{}", run.stdout);
    assert!(run.stderr.is_empty());
}

#[test]
fn json_output_has_the_documented_shape() {
    let run = check_body(
        &with(
            base(),
            json!({"notificationUrl": "http://x.example.com", "foo": 1, "id": "x"}),
        ),
        &[],
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let first = &report["diagnostics"][0];
    assert_eq!(
        first.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["code", "field", "hint", "message", "severity"]
    );
    let find = |code: &str| {
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(find("unknown-property")["severity"], "error");
    assert_eq!(find("unknown-property")["field"], "foo");
    assert_eq!(find("read-only-property")["severity"], "warning");
    assert_eq!(find("read-only-property")["field"], "id");
    let run = check_body(
        &json!({"expirationDateTime": at(60)}),
        &["--op", "update", "--resource", "me/messages"],
    );
    assert_eq!(
        run.stdout.trim(),
        "{\n  \"ok\": true,\n  \"diagnostics\": []\n}"
    );
}

#[test]
fn unreadable_or_invalid_input_exits_2_with_where() {
    let run = graph_subs(&["check", "/nonexistent/request.json"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        run.stderr
            .contains("cannot read `/nonexistent/request.json`"),
        "{}",
        run.stderr
    );

    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"{\n  \"changeType\": \"created\",\n  \"resource\" \"me/messages\"\n}")
        .unwrap();
    let run = graph_subs(&["check", file.path().to_str().unwrap()]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        run.stderr
            .contains("is not valid JSON: expected `:` at line 3, column 14"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"[1, 2]").unwrap();
    let run = graph_subs(&["check", file.path().to_str().unwrap()]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        run.stderr
            .contains("the body is an array, not a JSON object"),
        "{}",
        run.stderr
    );

    let run = graph_subs(&["check", "x.json", "--now", "yesterday"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(run.stderr.contains("RFC 3339"), "{}", run.stderr);

    let example = workspace_root().join("examples/create-subscription.json");
    let run = graph_subs(&[
        "check",
        example.to_str().unwrap(),
        "--resource",
        "me/messages",
    ]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(run.stderr.contains("--resource"), "{}", run.stderr);
}

#[test]
fn human_output_reads_like_a_compiler() {
    let body = with(
        base(),
        json!({"notificationUrl": "http://webhook.example.com/n", "expirationDateTime": at(20_000), "clientState": "k".repeat(200)}),
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(serde_json::to_string(&body).unwrap().as_bytes())
        .unwrap();
    let run = graph_subs(&["check", file.path().to_str().unwrap(), "--now", NOW]);
    let text = run
        .stdout
        .replace(file.path().to_str().unwrap(), "request.json");
    insta::assert_snapshot!(text);
    assert_eq!(run.exit, Exit::No);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<String>().prop_map(Value::String),
        "[a-zA-Z/{}()'?=&:.0-9-]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-zA-Z]{1,12}",
                    prop::sample::select(vec![
                        "changeType".to_owned(),
                        "resource".to_owned(),
                        "expirationDateTime".to_owned(),
                        "notificationUrl".to_owned(),
                        "includeResourceData".to_owned(),
                        "clientState".to_owned(),
                    ])
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn check_never_panics_on_any_json(body in json_value(), update in any::<bool>()) {
        let args: Vec<&str> = if update { vec!["--op", "update", "--resource", "me/messages"] } else { vec![] };
        let run = check_body(&body, &args);
        match (&body, run.exit) {
            (Value::Object(_), Exit::Success | Exit::No) => {
                let report: Value = serde_json::from_str(&run.stdout).unwrap();
                prop_assert_eq!(report["ok"].as_bool(), Some(run.exit == Exit::Success));
            }
            (Value::Object(_), Exit::Usage) => prop_assert!(false, "an object is always checked: {}", run.stderr),
            (_, exit) => prop_assert_eq!(exit, Exit::Usage),
        }
    }
}

#[test]
fn an_unknown_subscription_resource_is_bad_usage() {
    let run = check_body(
        &json!({"expirationDateTime": at(60)}),
        &["--op", "update", "--resource", "me/notes"],
    );
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        run.stderr.contains("closest known resources"),
        "{}",
        run.stderr
    );
    // With --json, scripts get the error as one JSON document on stdout too.
    let error: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(error["error"]["code"], "unknown-resource");
    assert!(
        error["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("closest known resources")
    );
}
