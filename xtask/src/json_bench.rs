//! What the two halves of `cargo xtask bench` that read JSON share ([`crate::emulator_bench`]
//! and [`crate::manage_bench`]): run a `harness = false` bench that writes its
//! measurements as JSON, read them back, and write a generated section of
//! `docs/performance.md`; and the verdict of a goal.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::bench::{Before, DOC, Machine, splice_between};

/// One bench: where it is, where its results go, which section it writes.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The package holding it.
    pub package: &'static str,
    /// The bench target.
    pub bench: &'static str,
    /// Its results file, in the target directory.
    pub results: &'static str,
    /// The markers of its section in [`DOC`].
    pub begin: &'static str,
    /// ...
    pub end: &'static str,
}

/// Where `spec`'s results go: `$CARGO_TARGET_DIR/<results>`, else `target/<results>`.
pub fn results_path(root: &Path, spec: &Spec) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), |t| root.join(t))
        .join(spec.results)
}

/// Runs the bench (unless `no_run`; `--quick` when `quick`, with `env` set), reads its
/// results, and writes `render`'s text into its section of [`DOC`].
pub fn run<T: DeserializeOwned>(
    root: &Path,
    spec: &Spec,
    no_run: bool,
    quick: bool,
    env: &[(&str, OsString)],
    render: impl Fn(&T, &Machine) -> String,
) -> Result<T> {
    let path = results_path(root, spec);
    let before = (!no_run).then(Before::now);
    if !no_run {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .args([
                "bench",
                "-p",
                spec.package,
                "--bench",
                spec.bench,
                "--",
                "--json",
            ])
            .arg(&path)
            .envs(env.iter().map(|(k, v)| (k, v)));
        if quick {
            command.arg("--quick");
        }
        let status = command
            .current_dir(root)
            .status()
            .context("cannot run `cargo bench`")?;
        if !status.success() {
            bail!(
                "`cargo bench -p {} --bench {}` failed ({status})",
                spec.package,
                spec.bench
            );
        }
    }
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read `{}`: run `cargo xtask bench` without --no-run first",
            path.display()
        )
    })?;
    let results: T =
        serde_json::from_str(&text).with_context(|| format!("in `{}`", path.display()))?;
    let written = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| SystemTime::now());
    let machine = Machine::here(root, written, before);
    let doc_path = root.join(DOC);
    let doc = std::fs::read_to_string(&doc_path)
        .with_context(|| format!("cannot read `{}`", doc_path.display()))?;
    let updated = splice_between(&doc, spec.begin, spec.end, &render(&results, &machine))
        .with_context(|| format!("in `{DOC}`"))?;
    std::fs::write(&doc_path, updated)
        .with_context(|| format!("cannot write `{}`", doc_path.display()))?;
    Ok(results)
}

/// Latency percentiles, in microseconds.
/// `Commit measured: ...` for a bench that names its commit (`+` when the sources it
/// measures differed from it), or nothing.
pub fn commit_line(commit: Option<&str>) -> String {
    commit.map_or_else(String::new, |commit| {
        format!(
            "Commit measured: `{commit}`{}.\n",
            if commit.ends_with('+') {
                " (`+`: the keeper's sources differed from it)"
            } else {
                ""
            }
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Percentiles {
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The 99.9th percentile.
    pub p999: f64,
    /// The slowest.
    pub max: f64,
}

/// Microseconds as a table shows them: `950 µs`, `4.32 ms`.
pub fn us(value: f64) -> String {
    if value >= 1000.0 {
        format!("{:.2} ms", value / 1000.0)
    } else {
        format!("{value:.0} µs")
    }
}

/// One goal's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Met.
    Pass,
    /// Missed.
    Fail,
    /// Not measured at the goal's size (a quick run).
    NotJudged,
}

impl Verdict {
    /// `met`, when `judged`.
    pub fn of(met: bool, judged: bool) -> Verdict {
        match (judged, met) {
            (false, _) => Verdict::NotJudged,
            (true, true) => Verdict::Pass,
            (true, false) => Verdict::Fail,
        }
    }

    /// How a table shows it.
    pub fn cell(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "**FAIL**",
            Verdict::NotJudged => "not judged (quick run)",
        }
    }
}
