//! `graph-subs check --explain CODE`: every code's documentation from the command line,
//! and the documented examples checked by the command as the reference says.
//!
//! `--explain` prints documentation; it checks nothing, so it takes no FILE and none of
//! the flags that describe a request (`--op`, `--resource`, `--auth`, `--cloud`, `--now`):
//! those are refused as bad usage. `--json` is accepted.

use std::io::Write as _;

use graph_subs_cli::Exit;
use graph_subs_core::validate::{self, DiagnosticCode, Example, Severity};
use graph_subs_tests::graph_subs;
use serde_json::Value;

#[test]
fn every_code_is_explained() {
    for code in DiagnosticCode::ALL {
        let run = graph_subs(&["check", "--explain", code.as_str()]);
        assert_eq!(run.exit, Exit::Success, "{code}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{code}: {}", run.stderr);
        let explained = code.explanation();
        assert!(
            run.stdout.starts_with(&format!("# `{code}`\n")),
            "{code}: {}",
            run.stdout
        );
        assert!(run.stdout.contains(explained.text), "{code}");
        assert!(run.stdout.contains("## Bad example"), "{code}");
        assert!(run.stdout.contains("## Good example"), "{code}");
        assert!(
            run.stdout.contains(&format!("[{code}]: ")),
            "{code}: the bad example's diagnostic is shown"
        );
        assert_eq!(run.stdout, validate::explanation_markdown(code));
    }
}

#[test]
fn codes_are_read_as_written_in_any_case() {
    let run = graph_subs(&["check", "--explain", "URL-Not-HTTPS"]);
    assert_eq!(run.exit, Exit::Success, "{}", run.stderr);
    assert!(run.stdout.starts_with("# `url-not-https`\n"));
}

#[test]
fn every_code_is_explained_in_json() {
    for code in DiagnosticCode::ALL {
        let run = graph_subs(&["check", "--explain", code.as_str(), "--json"]);
        assert_eq!(run.exit, Exit::Success, "{code}: {}", run.stderr);
        let json: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{code}: {e}\n{}", run.stdout));
        let explained = code.explanation();
        assert_eq!(json["code"], code.as_str());
        assert_eq!(json["severity"], explained.severity.as_str());
        assert_eq!(json["summary"], code.summary());
        assert_eq!(json["explanation"], explained.text);
        let codes = |example: &str| -> Vec<(String, String)> {
            json[example]["diagnostics"]
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
        };
        assert!(
            codes("bad").iter().any(|(c, _)| c == code.as_str()),
            "{code}: {:?}",
            codes("bad")
        );
        assert!(
            codes("good")
                .iter()
                .all(|(c, s)| c != code.as_str() && s != "error"),
            "{code}: {:?}",
            codes("good")
        );
        for example in ["bad", "good"] {
            let body = json[example]["body"].as_str().unwrap();
            assert!(
                serde_json::from_str::<Value>(body).is_ok_and(|b| b.is_object()),
                "{code} {example}: {body}"
            );
            let command = json[example]["command"].as_str().unwrap();
            assert!(
                command.starts_with("graph-subs check request.json"),
                "{command}"
            );
            assert!(json[example]["arguments"].is_array());
        }
    }
}

#[test]
fn an_unknown_code_is_bad_usage_with_a_hint() {
    let run = graph_subs(&["check", "--explain", "url-loopbak"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(run.stdout.is_empty());
    assert_eq!(
        run.stderr,
        "error: `url-loopbak` is not a diagnostic code\nhint: did you mean `url-loopback`?\n"
    );

    let run = graph_subs(&["check", "--explain", "E0308"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(
        run.stderr
            .contains("hint: docs/diagnostics.md lists every code"),
        "{}",
        run.stderr
    );

    // Scripts get the error as one JSON document on stdout.
    let run = graph_subs(&["check", "--explain", "url-loopbak", "--json"]);
    assert_eq!(run.exit, Exit::Usage);
    let error: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(error["error"]["code"], "unknown-diagnostic-code");
    assert_eq!(
        error["error"]["message"],
        "`url-loopbak` is not a diagnostic code"
    );
    assert_eq!(error["error"]["hint"], "did you mean `url-loopback`?");
}

#[test]
fn explain_takes_no_file_and_no_request_flags() {
    for extra in [
        &["request.json"][..],
        &["-"],
        &["--op", "update"],
        &["--resource", "me/messages"],
        &["--auth", "application"],
        &["--cloud", "china"],
        &["--now", "2026-11-22T09:00:00Z"],
    ] {
        let mut args = vec!["check", "--explain", "url-not-https"];
        args.extend_from_slice(extra);
        let run = graph_subs(&args);
        assert_eq!(run.exit, Exit::Usage, "{extra:?}");
        assert!(
            run.stderr.contains("cannot be used with"),
            "{extra:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{extra:?}");
    }
    // Without --explain, FILE is required.
    let run = graph_subs(&["check", "--now", "2026-11-22T09:00:00Z"]);
    assert_eq!(run.exit, Exit::Usage);
    assert!(run.stderr.contains("<FILE>"), "{}", run.stderr);
}

/// Checks `example` with the command, as its command line says.
fn check_with_cli(example: &Example, json: bool) -> (graph_subs_tests::Run, String) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(example.json().as_bytes()).unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let arguments = example.arguments();
    let mut args: Vec<&str> = vec!["check", &path];
    args.extend(arguments.iter().map(String::as_str));
    if json {
        args.push("--json");
    }
    (graph_subs(&args), path)
}

/// The reference shows what the command reports: the same diagnostics, printed the way
/// the reference prints them, and the exit status they call for.
#[test]
fn the_command_reports_what_the_reference_shows() {
    let mut failures = Vec::new();
    for code in DiagnosticCode::ALL {
        let explained = code.explanation();
        for (which, example) in [("bad", &explained.bad), ("good", &explained.good)] {
            let expected = example.check().unwrap();
            let (run, path) = check_with_cli(example, false);
            if !example.command_accepts_now() {
                // time-out-of-range: the command refuses such a time before checking.
                if run.exit != Exit::Usage || !run.stderr.contains("RFC 3339") {
                    failures.push(format!("{code} {which}: {:?} {}", run.exit, run.stderr));
                }
                continue;
            }
            let shown: String = expected
                .iter()
                .map(|d| format!("{}\n", d.render(&path)))
                .collect();
            if !run.stdout.starts_with(&shown) {
                failures.push(format!(
                    "{code} {which}: the command prints\n{}\nthe reference shows\n{shown}",
                    run.stdout
                ));
            }
            let exit = if validate::has_errors(&expected) {
                Exit::No
            } else {
                Exit::Success
            };
            if run.exit != exit {
                failures.push(format!("{code} {which}: exit {:?}", run.exit));
            }
            let (run, _) = check_with_cli(example, true);
            let json: Value = serde_json::from_str(&run.stdout).unwrap();
            let got: Vec<(&str, &str, &str)> = json["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["severity"].as_str().unwrap(),
                        d["code"].as_str().unwrap(),
                        d["message"].as_str().unwrap(),
                    )
                })
                .collect();
            let want: Vec<(&str, &str, &str)> = expected
                .iter()
                .map(|d| (d.severity.as_str(), d.code.as_str(), d.message.as_str()))
                .collect();
            if got != want {
                failures.push(format!("{code} {which}: --json gives {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn human_output_ends_with_where_to_read_more() {
    let explained = DiagnosticCode::UrlNotHttps.explanation();
    let (run, _) = check_with_cli(&explained.bad, false);
    assert!(
        run.stdout.ends_with(
            "1 error, 0 warnings: Graph would refuse this request\n\
             For more information about this code, run `graph-subs check --explain url-not-https`.\n"
        ),
        "{}",
        run.stdout
    );
    let explained = DiagnosticCode::PaymentModelChange.explanation();
    let (run, _) = check_with_cli(&explained.bad, false);
    assert!(
        run.stdout.ends_with(
            "For more information about a code, run `graph-subs check --explain CODE`.\n"
        ),
        "{}",
        run.stdout
    );
    // Nothing to explain, nothing said.
    let (run, _) = check_with_cli(&explained.good, false);
    assert!(run.stdout.ends_with(": ok\n"), "{}", run.stdout);
    assert!(!run.stdout.contains("--explain"));
    // A warning is a code too.
    let explained = DiagnosticCode::UrlLoopback.explanation();
    let (run, _) = check_with_cli(&explained.bad, false);
    assert!(
        run.stdout
            .contains("ok, with 1 warning\nFor more information about this code"),
        "{}",
        run.stdout
    );
    assert!(
        explained
            .bad
            .check()
            .unwrap()
            .iter()
            .all(|d| d.severity == Severity::Warning)
    );
}
