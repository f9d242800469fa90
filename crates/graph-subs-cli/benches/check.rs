//! The cost of `graph-subs check` and `graph-subs permissions`, run in-process through
//! [`graph_subs_cli::run`] as a user runs them (arguments parsed, the body read from a
//! file, the answer written as JSON into a buffer).
//!
//! - `examples`: `check` on each request of `examples/`, as `examples/README.md` runs it.
//! - `permissions`: `permissions --json` on every catalogue pattern, one after the other.
//! - `linear-<shape>`: hostile bodies of one shape at 64 KiB, 256 KiB and 1 MiB (the body
//!   limit), so that the time per byte can be compared across sizes.
//! - `core-1mib`: the same 1 MiB bodies through the core alone (`Properties::from_json`
//!   then `validate::check`), without arguments, file or output.
//!
//! `cargo xtask bench` runs this and writes the tables into `docs/performance.md`.

#![allow(clippy::print_stderr)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use graph_subs_cli::{Exit, run};
use graph_subs_core::catalogue::ResourceKind;
use graph_subs_core::request::{MAX_BODY_BYTES, Properties};
use graph_subs_core::validate::{self, Context, Request};

/// `--now` for the bodies below, whose expiration is two days later.
const NOW: &str = "2016-11-18T18:23:45Z";

const KIB: usize = 1024;

/// The sizes of the linearity benchmarks; the last is the body limit.
const SIZES: [(&str, usize); 3] = [
    ("64KiB", 64 * KIB),
    ("256KiB", 256 * KIB),
    ("1MiB", MAX_BODY_BYTES),
];

/// The required properties of a valid `me/messages` subscription, less `resource` and
/// `notificationUrl`, which some shapes make huge.
const BASE: &str = r#"{"changeType":"created","expirationDateTime":"2016-11-20T18:23:45Z""#;
const URL: &str = r#","notificationUrl":"https://webhook.example.com/api/notify""#;
const RESOURCE: &str = r#","resource":"me/messages""#;

/// A hostile body shape, grown to a given size.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A valid subscription among unknown properties: 50,000 in all at 1 MiB.
    ManyProperties,
    /// `resource` is one unknown segment of nearly the whole body.
    UnknownResource,
    /// `resource` is `a/a/a/...`, nearly the whole body.
    ManySegments,
    /// A valid subscription whose `clientState` is nearly the whole body.
    ClientState,
    /// `notificationUrl` is `https://webhook.example.com/aaa...`.
    NotificationUrl,
    /// A property holding arrays nested 100 deep, side by side (serde_json stops at 128).
    NestedArrays,
    /// `resource` is `me/messages?p0=0&p1=1&...`.
    QueryParameters,
    /// `clientState` given again and again.
    RepeatedProperty,
}

impl Shape {
    const ALL: [Shape; 8] = [
        Shape::ManyProperties,
        Shape::UnknownResource,
        Shape::ManySegments,
        Shape::ClientState,
        Shape::NotificationUrl,
        Shape::NestedArrays,
        Shape::QueryParameters,
        Shape::RepeatedProperty,
    ];

    fn name(self) -> &'static str {
        match self {
            Shape::ManyProperties => "many-properties",
            Shape::UnknownResource => "unknown-resource",
            Shape::ManySegments => "many-segments",
            Shape::ClientState => "client-state",
            Shape::NotificationUrl => "notification-url",
            Shape::NestedArrays => "nested-arrays",
            Shape::QueryParameters => "query-parameters",
            Shape::RepeatedProperty => "repeated-property",
        }
    }

    /// A body of exactly `size` bytes (trailing spaces fill what the shape leaves).
    fn body(self, size: usize) -> Vec<u8> {
        let mut body = String::with_capacity(size);
        match self {
            Shape::ManyProperties => many_properties(&mut body, size),
            Shape::UnknownResource => {
                body.push_str(BASE);
                body.push_str(URL);
                body.push_str(r#","resource":""#);
                let n = size - body.len() - 2;
                body.extend(std::iter::repeat_n('a', n));
                body.push_str("\"}");
            }
            Shape::ManySegments => {
                body.push_str(BASE);
                body.push_str(URL);
                body.push_str(r#","resource":"a"#);
                while body.len() + 2 + 2 <= size {
                    body.push_str("/a");
                }
                body.push_str("\"}");
            }
            Shape::ClientState => {
                body.push_str(BASE);
                body.push_str(URL);
                body.push_str(RESOURCE);
                body.push_str(r#","clientState":""#);
                let n = size - body.len() - 2;
                body.extend(std::iter::repeat_n('s', n));
                body.push_str("\"}");
            }
            Shape::NotificationUrl => {
                body.push_str(BASE);
                body.push_str(RESOURCE);
                body.push_str(r#","notificationUrl":"https://webhook.example.com/"#);
                let n = size - body.len() - 2;
                body.extend(std::iter::repeat_n('a', n));
                body.push_str("\"}");
            }
            Shape::NestedArrays => {
                body.push_str(BASE);
                body.push_str(URL);
                body.push_str(RESOURCE);
                body.push_str(r#","nested":["#);
                let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
                let mut first = true;
                while body.len() + deep.len() + 1 + 2 <= size {
                    if !first {
                        body.push(',');
                    }
                    first = false;
                    body.push_str(&deep);
                }
                body.push_str("]}");
            }
            Shape::QueryParameters => {
                body.push_str(BASE);
                body.push_str(URL);
                body.push_str(r#","resource":"me/messages?p0=0"#);
                let mut i = 1;
                loop {
                    let param = format!("&p{i}={i}");
                    if body.len() + param.len() + 2 > size {
                        break;
                    }
                    body.push_str(&param);
                    i += 1;
                }
                body.push_str("\"}");
            }
            Shape::RepeatedProperty => {
                body.push_str(BASE);
                body.push_str(URL);
                body.push_str(RESOURCE);
                let repeat = r#","clientState":"x""#;
                // Leaves room for the closing brace.
                while body.len() + repeat.len() < size {
                    body.push_str(repeat);
                }
                body.push('}');
            }
        }
        assert!(
            body.len() <= size,
            "{} at {size}: {}",
            self.name(),
            body.len()
        );
        body.extend(std::iter::repeat_n(' ', size - body.len()));
        assert!(body.len() <= MAX_BODY_BYTES);
        body.into_bytes()
    }
}

/// A valid subscription and unknown properties, 50,000 properties at 1 MiB (and as many
/// per byte at smaller sizes), their names as long as it takes to fill `size` exactly.
fn many_properties(body: &mut String, size: usize) {
    body.push_str(BASE);
    body.push_str(URL);
    body.push_str(RESOURCE);
    let count = 50_000 * size / MAX_BODY_BYTES - 4;
    // Each is `,"NAME":0`, five bytes around the name; the closing brace is the last byte.
    let room = size - body.len() - 1;
    let (each, extra) = (room / count, room % count);
    for i in 0..count {
        let len = each - 5 + usize::from(i < extra);
        let digits = format!("{i:05}");
        let prefix: String = "unknownProperty"
            .chars()
            .cycle()
            .take(len - digits.len())
            .collect();
        body.push_str(",\"");
        body.push_str(&prefix);
        body.push_str(&digits);
        body.push_str("\":0");
    }
    body.push('}');
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the command, its output into buffers; returns the exit and the output.
fn invoke(args: &[String]) -> (Exit, Vec<u8>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = run(args.iter().map(String::as_str), &mut out, &mut err);
    (exit, out)
}

/// The arguments of `check` on a file.
fn check_args(file: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["graph-subs", "check"].map(String::from).into();
    args.push(file.display().to_string());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.push("--json".to_owned());
    args
}

/// Runs the case once before measuring it: the benchmark must measure the answer, not a
/// usage error. Says on stderr how big the answer is.
fn dry_run(name: &str, args: &[String]) {
    let (exit, out) = invoke(args);
    let diagnostics = serde_json::from_slice::<serde_json::Value>(&out)
        .ok()
        .and_then(|v| v["diagnostics"].as_array().map(Vec::len));
    assert_ne!(
        exit,
        Exit::Usage,
        "{name}: {}",
        String::from_utf8_lossy(&out)
    );
    eprintln!(
        "{name}: exit {exit:?}, {} bytes of output, {} diagnostics",
        out.len(),
        diagnostics.map_or("no".to_owned(), |n| n.to_string())
    );
}

fn examples(c: &mut Criterion) {
    let dir = workspace_root().join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .map(|e| e.expect("examples/ is readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut group = c.benchmark_group("examples");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // As examples/README.md runs them: the renewal is an update of a message
        // subscription, a day before it expires.
        let extra: &[&str] = if name.starts_with("renew") {
            &[
                "--op",
                "update",
                "--resource",
                "me/messages",
                "--now",
                "2016-11-21T18:23:45Z",
            ]
        } else {
            &["--now", NOW]
        };
        let args = check_args(&file, extra);
        dry_run(&format!("examples/{name}"), &args);
        group.bench_function(BenchmarkId::new("check", &name), |b| {
            b.iter(|| black_box(invoke(black_box(&args))));
        });
    }
    group.finish();
}

fn permissions(c: &mut Criterion) {
    let runs: Vec<Vec<String>> = ResourceKind::all()
        .flat_map(|k| k.patterns())
        .map(|p| {
            ["graph-subs", "permissions", p.path(), "--json"]
                .map(String::from)
                .into()
        })
        .collect();
    for args in &runs {
        let (exit, out) = invoke(args);
        assert_ne!(
            exit,
            Exit::Usage,
            "{args:?}: {}",
            String::from_utf8_lossy(&out)
        );
    }
    eprintln!("permissions: {} catalogue patterns", runs.len());
    let mut group = c.benchmark_group("permissions");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .throughput(Throughput::Elements(runs.len() as u64));
    group.bench_function("every-pattern", |b| {
        b.iter(|| {
            for args in &runs {
                black_box(invoke(black_box(args)));
            }
        });
    });
    group.finish();
}

/// Big cases: few samples, each of the same number of iterations.
fn configure_big(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10);
}

fn linearity(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for shape in Shape::ALL {
        let mut group = c.benchmark_group(format!("linear-{}", shape.name()));
        configure_big(&mut group);
        for (label, size) in SIZES {
            let file = dir.path().join(format!("{}-{label}.json", shape.name()));
            std::fs::write(&file, shape.body(size)).expect("the body is written");
            let args = check_args(&file, &["--now", NOW]);
            dry_run(&format!("{} {label}", shape.name()), &args);
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::new("cli", label), |b| {
                b.iter(|| black_box(invoke(black_box(&args))));
            });
        }
        group.finish();
    }
}

fn core(c: &mut Criterion) {
    let now: DateTime<Utc> = NOW.parse().expect("an RFC 3339 time");
    let context = Context::new(now);
    let mut group = c.benchmark_group("core-1mib");
    configure_big(&mut group);
    group.throughput(Throughput::Bytes(MAX_BODY_BYTES as u64));
    for shape in Shape::ALL {
        let body = shape.body(MAX_BODY_BYTES);
        group.bench_function(shape.name(), |b| {
            b.iter(|| {
                let properties = Properties::from_json(black_box(&body)).expect("a JSON object");
                black_box(validate::check(Request::Create, &properties, &context))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, examples, permissions, linearity, core);
criterion_main!(benches);
