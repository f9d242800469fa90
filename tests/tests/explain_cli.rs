//! `graph-subs explain` agrees with `permissions` and with the core's rules.

use graph_subs_cli::Exit;
use graph_subs_core::catalogue::ResourceKind;
use graph_subs_tests::graph_subs;
use serde_json::Value;

fn explain(resource: &str) -> Value {
    let run = graph_subs(&[
        "explain",
        resource,
        "--now",
        "2026-11-22T09:00:00Z",
        "--json",
    ]);
    assert_eq!(run.exit, Exit::Success, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn every_kind_is_explained_consistently_with_permissions() {
    for kind in ResourceKind::all() {
        let example = kind.spec().examples[0];
        let e = explain(example);
        assert_eq!(e["kind"], kind.name());
        assert_eq!(
            e["lifetime"]["maximumMinutes"],
            kind.spec().max_lifetime_minutes
        );
        for op in ["create", "update", "delete", "list"] {
            let run = graph_subs(&["permissions", example, "--op", op, "--json"]);
            match run.exit {
                Exit::Success => {
                    let p: Value = serde_json::from_str(&run.stdout).unwrap();
                    for column in ["delegatedWork", "delegatedPersonal", "application"] {
                        assert_eq!(
                            e["permissions"][op][column], p["permissions"][column],
                            "{example} {op} {column}"
                        );
                    }
                    assert_eq!(
                        e["permissions"][op]["documented"], p["documented"],
                        "{example} {op}"
                    );
                    // The rows' notes, which `permissions` prints among its own.
                    for note in e["permissions"][op]["notes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        assert!(
                            p["notes"].as_array().unwrap().contains(note),
                            "{example} {op}: {note}"
                        );
                    }
                }
                Exit::No => assert!(e["permissions"][op].is_null(), "{example} {op}"),
                Exit::Usage | Exit::Output | Exit::Failure => {
                    panic!("{example}: {}", run.stderr)
                }
            }
        }
    }
}

#[test]
fn explain_states_the_rules_of_a_resource() {
    let e = explain("me/messages");
    assert_eq!(e["lifetime"]["maximumMinutes"], 10_080);
    assert_eq!(e["lifetime"]["withResourceDataMinutes"], 1_440);
    assert_eq!(e["lifetime"]["latestExpiration"], "2026-11-29T09:00:00Z");
    assert_eq!(e["richNotifications"]["supported"], true);
    assert_eq!(e["paymentModels"]["limitedApi"], false);

    let e = explain("me/chats/getAllMessages");
    assert_eq!(e["paymentModels"]["accepted"], serde_json::json!(["B"]));
    assert_eq!(e["paymentModels"]["given"], Value::Null);
    assert_eq!(
        e["lifetime"]["lifecycleNotificationUrlRequiredBeyondMinutes"],
        60
    );

    let e = explain("me/drive/root");
    assert_eq!(e["changeTypes"], serde_json::json!(["updated"]));
    assert_eq!(e["richNotifications"]["supported"], false);

    let e = explain("me/todo/lists/{id}/tasks");
    assert_eq!(e["clouds"], serde_json::json!(["global"]));

    let e = explain("communications/presences/{id}");
    assert_eq!(e["permissions"]["delete"]["documented"], false);
    assert_eq!(e["permissions"]["delete"]["closestOperation"], "update");
    assert_eq!(e["quota"], "650 users per subscription (in the `$filter`)");
}

/// The note of the channel rows: the English Update page lacks ChannelSettings.ReadWrite.All,
/// which the French Update page (the specification, and the table) lists.
const CHANNEL_NOTE: &str = "the English Update page (update.en.md) lists Channel.ReadBasic.All, \
    ChannelSettings.Read.All for Delegated (work or school account) and Application; this table \
    follows the French Update page (update.fr.txt), which adds ChannelSettings.ReadWrite.All";

#[test]
fn permissions_shows_where_the_english_page_differs_from_the_seed() {
    let args = ["permissions", "teams/{id}/channels", "--op", "update"];
    let run = graph_subs(&args);
    assert_eq!(run.exit, Exit::Success, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("\nnote: {CHANNEL_NOTE}\n")),
        "{}",
        run.stdout
    );

    let run = graph_subs(&[&args[..], &["--json"]].concat());
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(answer["notes"], serde_json::json!([CHANNEL_NOTE]));

    // The Delete page's row has no English counterpart, so no note.
    let run = graph_subs(&[
        "permissions",
        "teams/{id}/channels",
        "--op",
        "delete",
        "--json",
    ]);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(answer.get("notes").is_none(), "{answer}");
}

#[test]
fn explain_shows_the_note_under_the_operation_whose_row_has_it() {
    let e = explain("teams/{id}/channels");
    assert_eq!(
        e["permissions"]["update"]["notes"],
        serde_json::json!([CHANNEL_NOTE])
    );
    assert!(e["permissions"]["delete"].get("notes").is_none());
    assert!(e["permissions"]["list"].get("notes").is_none());

    let run = graph_subs(&[
        "explain",
        "teams/{id}/channels",
        "--now",
        "2026-11-22T09:00:00Z",
    ]);
    assert_eq!(run.exit, Exit::Success, "{}", run.stderr);
    let update = run
        .stdout
        .split("\n  update\n")
        .nth(1)
        .and_then(|rest| rest.split("\n  delete\n").next())
        .unwrap_or_else(|| panic!("an update section:\n{}", run.stdout));
    assert!(
        update.contains(&format!("\n    note: {CHANNEL_NOTE}")),
        "{}",
        run.stdout
    );
}
