//! The real binary: documented exit statuses, streams, help.

use std::process::{Command, Output};

fn graph_subs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graph-subs"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn success_is_0_and_prints_to_stdout() {
    let out = graph_subs(&["permissions", "me/messages", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kind"], "message");
}

#[test]
fn nothing_documented_is_1() {
    let out = graph_subs(&["permissions", "teams/getAllMembers"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
}

#[test]
fn bad_input_is_2() {
    for args in [
        &["permissions", "nope/nothing"][..],
        &["permissions", "users//x"],
        &["permissions", "me/messages", "--op", "patch"],
        &["frobnicate"],
        &[],
    ] {
        let out = graph_subs(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn help_and_version_go_to_stdout_with_0() {
    let out = graph_subs(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("permissions"), "{help}");
    assert!(help.contains("Exit status"), "{help}");
    let out = graph_subs(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("graph-subs ")
    );
}

#[test]
fn check_reads_standard_input() {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_graph-subs"))
        .args([
            "check",
            "-",
            "--op",
            "update",
            "--resource",
            "me/messages",
            "--now",
            "2026-11-22T09:00:00Z",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"expirationDateTime": "2026-11-22T12:00:00Z"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
}

#[test]
fn check_exits_1_on_errors() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/create-chat-messages.json"
    );
    let out = graph_subs(&["check", example, "--now", "2016-11-18T18:23:45Z"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[lifecycle-url-required]"));
}

#[test]
fn a_closed_output_pipe_is_an_error_not_a_silent_success() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // nobody will read the answer
    let out = Command::new(env!("CARGO_BIN_EXE_graph-subs"))
        .args(["permissions", "me/messages", "--json"])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot write the output"),
        "{stderr}"
    );
}

#[test]
fn a_full_device_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux: nothing to test against
    };
    let out = Command::new(env!("CARGO_BIN_EXE_graph-subs"))
        .args(["explain", "me/messages"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn an_endless_input_is_refused_at_the_limit() {
    let out = graph_subs(&["check", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is larger than 1048576 bytes"), "{stderr}");
}
