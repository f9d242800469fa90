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
                }
                Exit::No => assert!(e["permissions"][op].is_null(), "{example} {op}"),
                Exit::Usage | Exit::Output => panic!("{example}: {}", run.stderr),
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
