//! No secret in any output: canary secrets fed into every secret-bearing place of every
//! request (clientState, certificates, a URL's user-info, query values and fragment, the
//! values of unknown properties) never appear in what `check` prints, in text or JSON,
//! on stdout or stderr, whatever else is wrong with the request; nor in the core's
//! `Debug` of a body or of a checked request.

use std::io::Write as _;

use graph_subs_core::request::Properties;
use graph_subs_core::validate::{self, Context};
use graph_subs_tests::graph_subs;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Letters and digits only, so that it is valid wherever a value may go (base64 too).
const CANARY: &str = "CANARYq7Z9x2";

const NOW: &str = "2026-11-22T09:00:00Z";

/// A notification URL with the canary in a secret-bearing part, valid or not.
fn url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "https://",
        "http://",
        "ftp://",
        "EventHub:https://",
        "https:/",
        "",
    ]);
    let host = prop::sample::select(vec![
        "webhook.example.com",
        "127.0.0.1:7071",
        "10.0.0.1",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
        "exa mple.com",
        "a..b.example.com",
        "webhook.example.com:99999",
        "",
        "localhost.",
    ]);
    let user_info = prop::sample::select(vec![
        String::new(),
        format!("{CANARY}@"),
        format!("admin:{CANARY}@"),
        format!(":{CANARY}@"),
        format!("a@b:{CANARY}@"),
    ]);
    let query = prop::sample::select(vec![
        String::new(),
        format!("?code={CANARY}"),
        format!("?a=1&code={CANARY}&b"),
        format!("?{CANARY}"),
        format!("?x=%20{CANARY}%20"),
    ]);
    let fragment = prop::sample::select(vec![
        String::new(),
        format!("#{CANARY}"),
        format!("#access_token={CANARY}"),
    ]);
    let space = prop::sample::select(vec!["", " ", "\u{200b}"]);
    (scheme, user_info, host, query, fragment, space).prop_map(
        |(scheme, user, host, query, fragment, space)| {
            format!("{space}{scheme}{user}{host}/api/notify{query}{fragment}")
        },
    )
}

/// A request body with canaries in every secret-bearing property.
fn body() -> impl Strategy<Value = Value> {
    let client_state = prop::sample::select(vec![
        json!(CANARY),
        json!(CANARY.repeat(20)),
        json!(format!(" {CANARY}\u{200b}")),
        json!(null),
        json!(7),
    ]);
    let certificate = prop::sample::select(vec![
        json!(null),
        json!(CANARY),
        json!(format!("-----BEGIN CERTIFICATE-----{CANARY}")),
        json!(format!("{CANARY}==")),
        json!(true),
    ]);
    let resource = prop::sample::select(vec![
        "me/messages",
        "chats/getAllMessages",
        "users/ada@contoso.com/events",
        "me/drive/root:/Documents:",
        "nope/nothing",
        "users/{id}/messages",
        "me//messages",
    ]);
    let expiration = prop::sample::select(vec![
        "2026-11-22T09:30:00Z",
        "2026-11-23T09:00:00Z",
        "2027-11-23T09:00:00Z",
        "2026-11-21T09:00:00Z",
        "tomorrow",
    ]);
    (
        client_state,
        certificate,
        url(),
        prop::option::of(url()),
        resource,
        expiration,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                client_state,
                certificate,
                notification,
                lifecycle,
                resource,
                expiration,
                rich,
                unknown,
            )| {
                let mut body = json!({
                    "changeType": "created",
                    "notificationUrl": notification,
                    "resource": resource,
                    "expirationDateTime": expiration,
                    "clientState": client_state,
                    "encryptionCertificate": certificate,
                    "encryptionCertificateId": "cert-1",
                    "includeResourceData": rich,
                });
                if let Some(lifecycle) = lifecycle {
                    body["lifecycleNotificationUrl"] = json!(lifecycle);
                }
                if unknown {
                    body["mySecret"] = json!(CANARY);
                    body["clientstate"] = json!(CANARY);
                }
                body
            },
        )
}

fn args() -> impl Strategy<Value = Vec<&'static str>> {
    let op = prop::sample::select(vec![
        vec![],
        vec!["--op", "update", "--resource", "me/messages"],
        vec!["--op", "update"],
    ]);
    let auth = prop::sample::select(vec![
        vec![],
        vec!["--auth", "application"],
        vec!["--auth", "delegated-work"],
    ]);
    let json = prop::sample::select(vec![vec![], vec!["--json"]]);
    (op, auth, json).prop_map(|(a, b, c)| [a, b, c].concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn canary_secrets_never_reach_any_output(body in body(), extra in args()) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(body.to_string().as_bytes()).unwrap();
        let path = file.path().to_str().unwrap().to_owned();
        let mut all = vec!["check", path.as_str(), "--now", NOW];
        all.extend_from_slice(&extra);
        let run = graph_subs(&all);
        prop_assert!(!run.stdout.contains(CANARY), "stdout: {}", run.stdout);
        prop_assert!(!run.stderr.contains(CANARY), "stderr: {}", run.stderr);

        // The core's values print redacted too.
        let properties = Properties::from_json(body.to_string().as_bytes()).unwrap();
        let debug = format!("{properties:?}");
        prop_assert!(!debug.contains(CANARY), "{debug}");
        let ctx = Context::new(chrono::DateTime::parse_from_rfc3339(NOW).unwrap().into());
        let shown = match validate::create(&properties, &ctx) {
            Ok(checked) => format!("{checked:?}"),
            Err(diagnostics) => format!("{diagnostics:?}"),
        };
        prop_assert!(!shown.contains(CANARY), "{shown}");
    }
}

#[test]
fn the_canary_is_detectable_where_it_is_not_secret() {
    // A test that could not fail would prove nothing: the canary shows when it is put
    // where messages legitimately quote (a resource path).
    let body = json!({"changeType": "created", "notificationUrl": "https://webhook.example.com/n",
        "resource": format!("me/{CANARY}"), "expirationDateTime": "2026-11-23T09:00:00Z"});
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(body.to_string().as_bytes()).unwrap();
    let run = graph_subs(&["check", file.path().to_str().unwrap(), "--now", NOW]);
    assert!(run.stdout.contains(CANARY), "{}", run.stdout);
}
