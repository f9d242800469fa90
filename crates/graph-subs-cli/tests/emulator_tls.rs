//! `graph-subs emulator --tls` as a user runs it: the real binary serves HTTPS, writes
//! the CA certificate where it says, and `emulator token --ca` trusts it.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn graph_subs() -> Command {
    Command::new(env!("CARGO_BIN_EXE_graph-subs"))
}

/// A running `graph-subs emulator`, stopped with SIGTERM when dropped.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Starts the emulator in `dir` with `args` and returns it with its first stdout line.
fn start(dir: &Path, args: &[&str]) -> (Running, String) {
    let mut child = graph_subs()
        .arg("emulator")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let running = Running { child };
    let line = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the emulator prints its start-up line");
    (running, line)
}

fn token(url: &str, ca: Option<&str>) -> Output {
    let mut command = graph_subs();
    command.args(["emulator", "token", "--url", url, "--roles", "Mail.Read"]);
    if let Some(ca) = ca {
        command.args(["--ca", ca]);
    }
    command.output().expect("the binary runs")
}

#[test]
fn tls_writes_the_ca_it_prints_and_token_trusts_it_with_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (_emulator, line) = start(
        dir.path(),
        &["--tls", "--json", "--tls-cert-out", "certs-ca.pem"],
    );
    let facts: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = facts["baseUrl"].as_str().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{facts}");
    let ca = facts["caCertificate"].as_str().unwrap();
    assert!(Path::new(ca).is_absolute(), "{ca}");
    assert_eq!(
        Path::new(ca).canonicalize().unwrap(),
        dir.path().join("certs-ca.pem").canonicalize().unwrap()
    );
    let pem = std::fs::read_to_string(ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(!pem.contains("PRIVATE KEY"));
    assert!(
        facts["tokenCommand"]
            .as_str()
            .unwrap()
            .contains(&format!("--ca {ca}")),
        "{facts}"
    );

    let trusted = token(url, Some(ca));
    assert_eq!(trusted.status.code(), Some(0), "{trusted:?}");
    assert_eq!(
        String::from_utf8_lossy(&trusted.stdout).split('.').count(),
        3
    );

    // Without --ca: exit 4, the certificate named, the flag hinted.
    let untrusted = token(url, None);
    assert_eq!(untrusted.status.code(), Some(4), "{untrusted:?}");
    assert!(untrusted.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(stderr.contains("--ca"), "{stderr}");

    // A --ca that is not a certificate is bad input.
    let bad = dir.path().join("not-a-certificate.pem");
    std::fs::write(&bad, "hello").unwrap();
    let refused = token(url, Some(bad.to_str().unwrap()));
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
}

#[test]
fn tls_writes_the_ca_in_the_working_directory_by_default_and_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_emulator, line) = start(dir.path(), &["--tls"]);
    let ca = dir.path().join("graph-subs-emulator-ca.pem");
    assert!(line.starts_with("graph-subs emulator listening on https://127.0.0.1:"));
    assert!(ca.is_file());
}

#[test]
fn tls_options_need_tls() {
    for args in [
        &["emulator", "--tls-cert-out", "ca.pem"][..],
        &["emulator", "--tls-name", "emulator.test"],
    ] {
        let out = graph_subs().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--tls"));
    }
}

#[test]
fn an_unwritable_ca_file_stops_the_start_with_4() {
    let dir = tempfile::tempdir().unwrap();
    let out = graph_subs()
        .args(["emulator", "--tls", "--listen", "127.0.0.1:0"])
        .args(["--tls-cert-out", "no/such/dir/ca.pem"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write the CA certificate"),
        "{stderr}"
    );
}
