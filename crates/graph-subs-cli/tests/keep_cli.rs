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
