//! Every row of every vendored page, asked of the CLI: `graph-subs permissions <the row's
//! path, or a documented example> --op <the page's operation> --json` must return exactly
//! that row's cells (errata applied), in the docs' order; or, for a row of a page that is
//! not a seed, the cells of the seed page's row for the same resource, which the table
//! follows.

use graph_subs_cli::Exit;
use graph_subs_core::catalogue::ResourceKind;
use graph_subs_core::permissions::AccountScope;
use graph_subs_tests::{corrected_pages, graph_subs};
use serde_json::{Value, json};
use xtask::corpus::{COLUMNS, classify};
use xtask::page::Cell;

fn cell_json(cell: &Cell) -> Value {
    match cell {
        None => Value::Null,
        Some(permissions) => permissions
            .iter()
            .map(
                |p| json!({"name": p.name, "resourceSpecificConsent": p.resource_specific_consent}),
            )
            .collect(),
    }
}

#[test]
fn every_documented_row_is_what_the_cli_answers() {
    let pages = corrected_pages().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut overruled = Vec::new();
    for page in &pages {
        for row in &page.rows {
            let key =
                classify(row).unwrap_or_else(|e| panic!("{} line {}: {e}", page.name, row.line));
            // Where a seed page of the operation has the resource, the table follows it.
            let seed_row = pages
                .iter()
                .filter(|p| p.is_seed() && p.operation == page.operation)
                .flat_map(|p| &p.rows)
                .find(|r| classify(r).ok() == Some(key));
            let expected_row = match seed_row {
                Some(seed_row) if !page.is_seed() => seed_row,
                _ => row,
            };
            let is_overruled = expected_row.cells() != row.cells();
            if is_overruled {
                overruled.push(format!("{} line {}", page.name, row.line));
            }
            let resource = match &row.path {
                Some(path) => path.clone(),
                None => ResourceKind::from_name(key.kind).unwrap().spec().examples[0].to_owned(),
            };
            let op = page.operation.as_str();
            let run = graph_subs(&["permissions", &resource, "--op", op, "--json"]);
            assert_eq!(
                run.exit,
                Exit::Success,
                "{resource} --op {op}: {}",
                run.stderr
            );
            let answer: Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(answer["operation"], op);
            assert_eq!(answer["kind"], key.kind, "{resource}");
            assert_eq!(answer["documented"], true, "{resource} --op {op}");
            // A non-seed page is named in a note exactly where the table overrules its row
            // with the seed's cells.
            if !page.is_seed() {
                let names_page = answer["notes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|n| n.as_str().unwrap().contains(&format!("({})", page.name)));
                assert_eq!(names_page, is_overruled, "{resource} --op {op}: {answer}");
            }
            // An account-scoped row (driveItem) answers for its own accounts only.
            let columns: &[usize] = match key.scope {
                AccountScope::Any => &[0, 1, 2],
                AccountScope::Personal => &[1],
                AccountScope::Organizational => &[0, 2],
            };
            for &c in columns {
                let expected = cell_json(expected_row.cells()[c]);
                let got = &answer["permissions"][COLUMNS[c]];
                if *got != expected {
                    failures.push(format!(
                        "{} line {} `{}` --op {op}: {}\n  page: {expected}\n  cli:  {got}",
                        page.name,
                        row.line,
                        row.title(),
                        COLUMNS[c]
                    ));
                }
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 46 + 44 + 30 French rows, 18 + 32 English rows.
    assert_eq!(checked, 170);
    // The English Update page's channel rows lack ChannelSettings.ReadWrite.All.
    assert_eq!(overruled, ["update.en.md line 9", "update.en.md line 10"]);
}

/// The French Update page, the specification, lists ChannelSettings.ReadWrite.All in both
/// columns of the channel rows that have permissions; the English page does not, and the
/// table follows the French page.
#[test]
fn the_channel_update_rows_follow_the_french_seed() {
    let read_write =
        json!({"name": "ChannelSettings.ReadWrite.All", "resourceSpecificConsent": false});
    for (resource, columns) in [
        ("teams/getAllChannels", &["application"][..]),
        ("teams/{id}/channels", &["delegatedWork", "application"][..]),
    ] {
        let run = graph_subs(&["permissions", resource, "--op", "update", "--json"]);
        assert_eq!(run.exit, Exit::Success, "{}", run.stderr);
        let answer: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(answer["documented"], true, "{resource}");
        for column in ["delegatedWork", "delegatedPersonal", "application"] {
            let cell = &answer["permissions"][column];
            if columns.contains(&column) {
                assert_eq!(
                    cell.as_array().and_then(|c| c.last()),
                    Some(&read_write),
                    "{resource} {column}: {cell}"
                );
            } else {
                assert!(cell.is_null(), "{resource} {column}: {cell}");
            }
        }
    }
}

#[test]
fn auth_selects_one_column_and_the_account_scoped_row() {
    let run = graph_subs(&[
        "permissions",
        "me/drive/root",
        "--op",
        "update",
        "--auth",
        "delegated-personal",
        "--json",
    ]);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        answer["permissions"],
        json!({"delegatedPersonal": [{"name": "Files.ReadWrite", "resourceSpecificConsent": false}]})
    );
    let run = graph_subs(&[
        "permissions",
        "drives/{id}/root",
        "--auth",
        "application",
        "--json",
    ]);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        answer["permissions"],
        json!({"application": [{"name": "Files.ReadWrite.All", "resourceSpecificConsent": false}]})
    );
}

#[test]
fn an_operation_without_a_row_says_so_and_shows_the_closest() {
    // The Delete page has no presence row; the Update page has one.
    let run = graph_subs(&[
        "permissions",
        "communications/presences/{id}",
        "--op",
        "delete",
        "--json",
    ]);
    assert_eq!(run.exit, Exit::Success);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(answer["documented"], false);
    assert_eq!(answer["closestOperation"], "update");
    assert_eq!(
        answer["permissions"]["delegatedWork"],
        json!([{"name": "Presence.Read.All", "resourceSpecificConsent": false}])
    );
    // Documented answers carry no closestOperation.
    let run = graph_subs(&[
        "permissions",
        "communications/presences/{id}",
        "--op",
        "update",
        "--json",
    ]);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(answer["documented"], true);
    assert!(answer.get("closestOperation").is_none());
}

#[test]
fn op_defaults_to_create() {
    let explicit = graph_subs(&["permissions", "me/events", "--op", "create", "--json"]);
    let default = graph_subs(&["permissions", "me/events", "--json"]);
    assert_eq!(explicit.stdout, default.stdout);
    let answer: Value = serde_json::from_str(&default.stdout).unwrap();
    assert_eq!(answer["operation"], "create");
}

#[test]
fn unknown_and_malformed_resources_exit_2_with_the_closest_known() {
    let run = graph_subs(&["permissions", "teams/{id}/chanels"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("teams/{id}/channels"), "{}", run.stderr);

    let run = graph_subs(&["permissions", "presence"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        run.stderr.contains("communications/presences/{id}"),
        "{}",
        run.stderr
    );

    let run = graph_subs(&["permissions", "users//messages"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(run.stderr.contains("segment 2"), "{}", run.stderr);

    let run = graph_subs(&["permissions", "me/messages", "--op", "renew"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(run.stderr.contains("possible values"), "{}", run.stderr);
}

#[test]
fn a_known_resource_no_page_documents_exits_1() {
    let run = graph_subs(&["permissions", "teams/getAllMembers"]);
    assert_eq!(run.exit, Exit::No, "{}", run.stdout);
    assert!(run.stderr.contains("conversationMember"), "{}", run.stderr);
}
