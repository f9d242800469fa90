//! Architecture invariant: graph-subs-core depends on no runtime, HTTP or file API and
//! never reads the clock or the environment. Time is always an argument.

use std::collections::BTreeSet;
use std::path::Path;

use graph_subs_tests::{dependencies, workspace_root};

/// The pure crates: the core and the catalogue it re-exports.
const PURE: &[&str] = &["graph-subs-core", "graph-subs-catalogue"];

/// The core's direct dependencies. Extending this list is an architecture decision: say
/// why in the commit.
/// chrono comes without its `clock` feature: it gives the core dates and durations, and
/// `Utc::now()` does not exist in it (clippy.toml and the scan below also forbid it).
/// serde and serde_json give the typed subscription model and read request bodies; url
/// parses notification URLs (WHATWG, IDNA). All three are pure: no I/O, no clock.
const DIRECT: &[&str] = &[
    "chrono",
    "graph-subs-catalogue",
    "serde",
    "serde_json",
    "strsim",
    "thiserror",
    "url",
];

/// Everything the core may pull in, transitively (including proc-macro build deps).
const TRANSITIVE: &[&str] = &[
    "autocfg",
    "chrono",
    "displaydoc",
    "form_urlencoded",
    "graph-subs-catalogue",
    "icu_collections",
    "icu_locale_core",
    "icu_normalizer",
    "icu_normalizer_data",
    "icu_properties",
    "icu_properties_data",
    "icu_provider",
    "idna",
    "idna_adapter",
    "itoa",
    "litemap",
    "memchr",
    "num-traits",
    "percent-encoding",
    "potential_utf",
    "proc-macro2",
    "quote",
    "serde",
    "serde_core",
    "serde_derive",
    "serde_json",
    "smallvec",
    "stable_deref_trait",
    "strsim",
    "syn",
    "synstructure",
    "thiserror",
    "thiserror-impl",
    "tinystr",
    "unicode-ident",
    "url",
    "utf8_iter",
    "utf_types",
    "writeable",
    "yoke",
    "yoke-derive",
    "zerofrom",
    "zerofrom-derive",
    "zerotrie",
    "zerovec",
    "zerovec-derive",
    "zmij",
];

/// APIs that reach outside the process or read the clock or environment.
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::env",
    // std::net's address types (IpAddr, Ipv4Addr) are plain values and allowed; its
    // sockets and name resolution are not.
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "ToSocketAddrs",
    "to_socket_addrs",
    "lookup_host",
    "std::process",
    "std::io::stdin",
    "std::io::stdout",
    "SystemTime",
    "Instant::now",
    "Utc::now",
    "Local::now",
    "OffsetDateTime::now",
    "Timestamp::now",
    "Zoned::now",
    "println!",
    "eprintln!",
    "print!",
    "tokio",
    "reqwest",
    "hyper",
];

#[test]
fn core_dependencies_stay_on_the_allow_list() {
    let (direct, closure) = dependencies("graph-subs-core");
    let allowed: BTreeSet<String> = DIRECT.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        direct, allowed,
        "graph-subs-core's direct dependencies changed"
    );
    let outside: Vec<&String> = closure
        .iter()
        .filter(|name| !TRANSITIVE.contains(&name.as_str()))
        .collect();
    assert!(
        outside.is_empty(),
        "graph-subs-core pulls in {outside:?}: the core may not depend on runtimes, HTTP, files or clocks"
    );
}

/// Code with comments and doc comments removed, so that docs may name what code may not use.
fn code_lines(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.split("//").next().unwrap_or_default()))
}

fn violations(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (line_no, code) in code_lines(source) {
        for forbidden in FORBIDDEN {
            if code.contains(forbidden) {
                found.push(format!("line {line_no}: `{forbidden}`"));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn core_source_calls_no_clock_file_environment_or_network_api() {
    let mut files = Vec::new();
    for package in PURE {
        rust_files(
            &workspace_root().join("crates").join(package).join("src"),
            &mut files,
        );
    }
    assert!(files.len() >= 12, "the scan found the pure crates' sources");
    let mut report = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for v in violations(&source) {
            report.push(format!("{}: {v}", file.display()));
        }
    }
    assert!(
        report.is_empty(),
        "graph-subs-core must stay pure:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_scan_catches_what_it_looks_for() {
    assert_eq!(
        violations("let now = std::time::SystemTime::now();"),
        ["line 1: `SystemTime`"]
    );
    assert_eq!(
        violations("// docs may say std::fs\nlet t = std::fs::read(\"x\");"),
        ["line 2: `std::fs`"]
    );
    assert_eq!(violations("let x = std::env::var(\"HOME\");").len(), 1);
    assert!(violations("/// the core never calls SystemTime::now").is_empty());
    assert!(violations("use std::net::{IpAddr, Ipv4Addr};").is_empty());
    assert_eq!(
        violations("let s = std::net::TcpStream::connect(a);").len(),
        1
    );
    assert_eq!(
        violations("let a = (\"h\", 443).to_socket_addrs();").len(),
        1
    );
}
