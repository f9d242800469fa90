//! `config::check`: a good configuration passes; a bad one gets every problem at once,
//! each at its line, and never shows a secret.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use graph_subs_core::validate::Severity;
use graph_subs_keeper::config::{Sources, check};

const CERT: &str = include_str!("../../graph-subs-receiver/tests/vectors/rich/cert.pem");

struct Fake {
    files: HashMap<PathBuf, String>,
    vars: HashMap<String, String>,
}

impl Sources for Fake {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

fn sources() -> Fake {
    Fake {
        files: HashMap::from([
            (
                PathBuf::from("/etc/keeper/secrets/contoso"),
                "CANARY-client-secret\n".to_owned(),
            ),
            (
                PathBuf::from("/etc/keeper/secrets/client-state"),
                "CANARY-client-state\n".to_owned(),
            ),
            (PathBuf::from("/etc/keeper/secrets/empty"), "\n".to_owned()),
            (PathBuf::from("/etc/keeper/cert.pem"), CERT.to_owned()),
        ]),
        vars: HashMap::from([("FABRIKAM_TOKEN".to_owned(), "CANARY-token".to_owned())]),
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

const GOOD: &str = r#"
[keeper]
prune = false
renew_margin = "1h"

[[tenant]]
name = "contoso"
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"

[tenant.credentials]
client_id = "24d3b144-21ae-4080-943f-7067b395b913"
client_secret_file = "secrets/contoso"

[[tenant.subscription]]
name = "ada-mail"
resource = "users/ada@contoso.com/messages"
change_types = ["created", "updated"]
notification_url = "https://hooks.example.com/notifications"
lifecycle_notification_url = "https://hooks.example.com/lifecycle"
client_state_file = "secrets/client-state"

[[tenant.subscription]]
name = "team-messages"
resource = "teams/getAllMessages?model=A"
change_types = ["created"]
notification_url = "https://hooks.example.com/notifications"
lifecycle_notification_url = "https://hooks.example.com/lifecycle"
client_state_file = "secrets/client-state"
include_resource_data = true
encryption_certificate_file = "cert.pem"
encryption_certificate_id = "notifications-2026"
lifetime = "50m"

[[tenant]]
name = "fabrikam"
tenant_id = "fabrikam.onmicrosoft.com"
cloud = "usgov-l4"

[tenant.credentials]
token_env = "FABRIKAM_TOKEN"

[[tenant.subscription]]
name = "users"
resource = "users"
change_types = ["updated", "deleted"]
notification_url = "https://hooks.example.com/notifications"
"#;

#[test]
fn a_good_configuration_has_no_error() {
    let checked = check(GOOD, Path::new("/etc/keeper"), &sources(), now());
    let errors: Vec<String> = checked
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.render("keeper.toml"))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(checked.counts(), (2, 3));
}

const BAD: &str = r#"
[keeper]
renew_margin = "soon"

[[tenant]]
name = "contoso"
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
cloud = "mars"

[tenant.credentials]
client_id = "24d3b144-21ae-4080-943f-7067b395b913"
client_secret_file = "secrets/missing"

[[tenant.subscription]]
name = "ada-mail"
resource = "users/ada@contoso.com/messages"
change_types = ["created"]
notification_url = "http://hooks.example.com/notifications"
client_state_file = "secrets/empty"

[[tenant.subscription]]
name = "ada-mail"
resource = "users/ada@contoso.com/messages"
change_types = ["created"]
notification_url = "http://hooks.example.com/notifications"
client_state_env = "NOT_SET_ANYWHERE"
lifetime = "30d"

[[tenant.subscription]]
name = "drive"
resource = "users/ada/drive/root/children"
change_types = ["updated"]
notification_url = "https://hooks.example.com/notifications"
encryption_certificate_file = "secrets/contoso"

[[tenant]]
name = "contoso"
tenant_id = ""

[tenant.credentials]
azure_cli = true
token_env = "X"
"#;

#[test]
fn every_problem_is_reported_at_its_line_without_secrets() {
    let checked = check(BAD, Path::new("/etc/keeper"), &sources(), now());
    assert!(checked.has_errors());
    let found: Vec<(usize, &str)> = checked
        .problems
        .iter()
        .map(|p| (p.line, p.code.as_str()))
        .collect();
    for expected in [
        (3, "config-duration"),
        (8, "config-cloud"),
        (12, "config-secret"),
        (18, "url-not-https"),
        (19, "config-secret"),
        (22, "config-duplicate-name"),
        (23, "config-duplicate-subscription"),
        (25, "url-not-https"),
        (26, "config-secret"),
        (27, "expiration-beyond-maximum"),
        (31, "unknown-resource"),
        (34, "invalid-certificate"),
        (37, "config-duplicate-name"),
        (38, "config-tenant"),
        (40, "config-credentials"),
    ] {
        assert!(
            found.contains(&expected),
            "{expected:?} missing from {found:?}\n{}",
            checked
                .problems
                .iter()
                .map(|p| p.render("keeper.toml"))
                .collect::<String>()
        );
    }
    let all: String = checked
        .problems
        .iter()
        .map(|p| p.render("keeper.toml"))
        .collect();
    assert!(!all.contains("CANARY"), "{all}");
    assert!(
        all.contains("  --> keeper.toml:22:8 (tenant contoso, subscription ada-mail)"),
        "{all}"
    );
}

#[test]
fn syntax_errors_and_unknown_keys_are_placed_and_explained() {
    let checked = check(
        "[[tenant]]\nname = \"a\"\ntenant_id = \"t\"\nnotification_ur = \"x\"\n",
        Path::new("/"),
        &sources(),
        now(),
    );
    let problem = &checked.problems[0];
    assert_eq!(
        (problem.line, problem.code.as_str()),
        (4, "config-syntax"),
        "{problem:?}"
    );
    assert!(problem.message.contains("notification_ur"), "{problem:?}");
    let broken = check("[keeper\nprune = true", Path::new("/"), &sources(), now());
    assert_eq!(broken.problems[0].line, 1);
    assert!(broken.tenants.is_empty() && broken.wanted.is_empty());
}

#[test]
fn each_wanted_subscription_has_its_request_and_a_fingerprint_of_it() {
    let checked = check(GOOD, Path::new("/etc/keeper"), &sources(), now());
    let names: Vec<(&str, &str)> = checked
        .wanted
        .iter()
        .map(|w| (&*w.tenant, w.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("contoso", "ada-mail"),
            ("contoso", "team-messages"),
            ("fabrikam", "users")
        ]
    );
    let mail = &checked.wanted[0];
    assert_eq!(mail.body()["clientState"], "CANARY-client-state");
    assert!(mail.body().get("expirationDateTime").is_none());
    assert_eq!(mail.lifetime(), None);
    assert_eq!(
        checked.wanted[1].lifetime(),
        Some(chrono::Duration::minutes(50))
    );
    let desired = mail.desired();
    assert_eq!(desired.change_type, "created,updated");
    assert_eq!(desired.fingerprint, mail.fingerprint());
    assert_eq!(mail.fingerprint().len(), 64);
    assert!(!format!("{mail:?}").contains("CANARY"), "{mail:?}");

    // The same file gives the same fingerprints; a rotated clientState another.
    let again = check(GOOD, Path::new("/etc/keeper"), &sources(), now());
    assert_eq!(again.wanted[0].fingerprint(), mail.fingerprint());
    let mut rotated = sources();
    rotated.files.insert(
        PathBuf::from("/etc/keeper/secrets/client-state"),
        "CANARY-rotated\n".to_owned(),
    );
    let after = check(GOOD, Path::new("/etc/keeper"), &rotated, now());
    assert_ne!(after.wanted[0].fingerprint(), mail.fingerprint());
    assert_eq!(after.wanted[2].fingerprint(), again.wanted[2].fingerprint());
}

#[test]
fn the_same_tenant_and_app_twice_is_an_error() {
    let again = GOOD.to_owned()
        + r#"
[[tenant]]
name = "contoso-again"
tenant_id = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"

[tenant.credentials]
client_id = "24d3b144-21ae-4080-943f-7067b395b913"
client_secret_file = "secrets/contoso"
"#;
    let checked = check(&again, Path::new("/etc/keeper"), &sources(), now());
    let duplicate: Vec<_> = checked
        .problems
        .iter()
        .filter(|p| p.code == "config-duplicate-tenant")
        .collect();
    assert_eq!(duplicate.len(), 1, "{:#?}", checked.problems);
    assert!(duplicate[0].message.contains("line 8"), "{duplicate:?}");
    assert!(!check(GOOD, Path::new("/etc/keeper"), &sources(), now()).has_errors());
}

/// What `check` found, comparable: problems as rendered, tenants, subscriptions with
/// their fingerprints, and `[keeper]`.
fn summary(checked: &graph_subs_keeper::config::Checked) -> String {
    let problems: Vec<String> = checked
        .problems
        .iter()
        .map(|p| p.render("keeper.toml"))
        .collect();
    let tenants: Vec<&str> = checked.tenants.iter().map(|t| t.name.as_str()).collect();
    let wanted: Vec<String> = checked
        .wanted
        .iter()
        .map(|w| format!("{}/{} {}", w.tenant, w.name, w.fingerprint()))
        .collect();
    format!(
        "{}{tenants:?}\n{wanted:#?}\nprune={} margin={:?}",
        problems.join(""),
        checked.keeper.prune,
        checked.keeper.renew_margin.as_ref().map(|m| m.get_ref())
    )
}

/// The file is parsed one `[[tenant]]` at a time (memory: `docs/performance.md`), which
/// must read it exactly as a parse of the whole would: positions in later tenants,
/// `[keeper]` after the tenants, a `[[tenant]]` line inside a multi-line string, a
/// `[keeper]` given twice.
#[test]
fn reading_tenant_by_tenant_reads_the_file_as_a_whole() {
    let dir = Path::new("/etc/keeper");
    // A problem in the second tenant, at its line in the file.
    let bad = GOOD.replace("resource = \"users\"", "resource = \"users/..\"");
    let checked = check(&bad, dir, &sources(), now());
    let line = bad
        .lines()
        .position(|l| l.contains("users/.."))
        .expect("the line")
        + 1;
    let problem = checked
        .problems
        .iter()
        .find(|p| p.severity == Severity::Error)
        .expect("the dot segment is an error");
    assert_eq!(
        (problem.line, problem.column),
        (line, 12),
        "{}",
        summary(&checked)
    );
    assert_eq!(
        problem.within.as_deref(),
        Some("tenant fabrikam, subscription users")
    );

    // `[keeper]` at the end: the same as at the start.
    let keeper_first = check(GOOD, dir, &sources(), now());
    let (head, rest) = GOOD.split_at(GOOD.find("[[tenant]]").unwrap());
    let keeper_last = format!("{rest}\n{head}");
    let moved = check(&keeper_last, dir, &sources(), now());
    assert!(moved.keeper.renew_margin.is_some() && !moved.has_errors());
    assert_eq!(moved.wanted.len(), keeper_first.wanted.len());
    for (a, b) in moved.wanted.iter().zip(&keeper_first.wanted) {
        assert_eq!((&a.name, a.fingerprint()), (&b.name, b.fingerprint()));
    }

    // `[keeper]` twice: TOML's redefinition error, at the second.
    let twice = format!("{GOOD}\n[keeper]\nprune = true\n");
    let checked = check(&twice, dir, &sources(), now());
    let syntax: Vec<_> = checked
        .problems
        .iter()
        .filter(|p| p.code == "config-syntax")
        .collect();
    assert_eq!(syntax.len(), 1, "{}", summary(&checked));
    assert_eq!(syntax[0].line, twice.lines().count() - 1);

    // A `[[tenant]]` line inside a multi-line string is text, not a header: one
    // tenant, named with it.
    let inside = GOOD.replace(
        "name = \"fabrikam\"",
        "name = \"\"\"fab\n[[tenant]]\nrikam\"\"\"",
    );
    let checked = check(&inside, dir, &sources(), now());
    assert_eq!(checked.counts(), (2, 3), "{}", summary(&checked));
    assert_eq!(checked.tenants[1].name, "fab\n[[tenant]]\nrikam");
}
