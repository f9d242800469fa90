//! `cargo xtask bench`: runs the criterion benchmarks and writes their results into
//! `docs/performance.md`, between [`BEGIN`] and [`END`].
//!
//! The xtask links neither the core nor the CLI: it spawns `cargo bench` and reads what
//! criterion leaves in `target/criterion/**/new/` (`benchmark.json`: the id and the
//! throughput; `estimates.json`: mean and median in nanoseconds, with their 95%
//! confidence intervals).
//!
//! Two tables are written: every benchmark against the [`TARGET_NS`] target, and for the
//! groups named `linear-<shape>` (one input shape at several sizes) the time and the time
//! per KiB at each size, with the ratio of the largest to the smallest.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The document, relative to the workspace root.
pub const DOC: &str = "docs/performance.md";
/// The line after which the generated tables start.
pub const BEGIN: &str = "<!-- bench:begin -->";
/// The line before which they end.
pub const END: &str = "<!-- bench:end -->";
/// Every case must take less: 20 ms (per path for `permissions`).
pub const TARGET_NS: f64 = 20e6;
/// The prefix of the groups that measure one input shape at several sizes.
pub const LINEAR_PREFIX: &str = "linear-";
/// Past this growth of the time per byte from the smallest to the largest size, a shape
/// is called super-linear. Linear is 1; quadratic is the size ratio (16 for 64 KiB to 1
/// MiB). Caches and a shared machine move a linear shape by some tens of percent.
pub const SUPERLINEAR_GROWTH: f64 = 2.0;

/// One criterion estimate, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Estimate {
    /// The point estimate.
    pub point_estimate: f64,
    /// The 95% confidence interval.
    pub confidence_interval: Interval,
}

/// A confidence interval, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Interval {
    /// Its lower bound.
    pub lower_bound: f64,
    /// Its upper bound.
    pub upper_bound: f64,
}

#[derive(Debug, Deserialize)]
struct Estimates {
    mean: Estimate,
    median: Estimate,
}

#[derive(Debug, Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    full_id: String,
    throughput: Option<serde_json::Value>,
}

/// What one iteration processes, as the benchmark declared it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throughput {
    /// Bytes of input.
    Bytes(u64),
    /// Items (such as catalogue paths).
    Elements(u64),
}

impl Throughput {
    /// Reads criterion's serialisation: `{"Bytes": 65536}`, `{"Elements": 63}`,
    /// `{"BytesDecimal": n}`, `{"ElementsAndBytes": {"elements": n, "bytes": m}}`.
    fn from_json(value: &serde_json::Value) -> Option<Throughput> {
        let object = value.as_object()?;
        let (kind, amount) = object.iter().next()?;
        match kind.as_str() {
            "Bytes" | "BytesDecimal" => amount.as_u64().map(Throughput::Bytes),
            "Elements" => amount.as_u64().map(Throughput::Elements),
            "ElementsAndBytes" => amount["elements"].as_u64().map(Throughput::Elements),
            _ => None,
        }
    }
}

/// One benchmark's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// `group/function/value`.
    pub id: String,
    /// The group.
    pub group: String,
    /// The function within the group, when the id has one.
    pub function: Option<String>,
    /// The parameter, such as `64KiB`.
    pub value: Option<String>,
    /// What one iteration processes.
    pub throughput: Option<Throughput>,
    /// The mean time of one iteration.
    pub mean: Estimate,
    /// The median time of one iteration.
    pub median: Estimate,
    /// When criterion wrote the estimates.
    pub written: Option<SystemTime>,
}

impl Measurement {
    /// The time the target applies to: one iteration, or one element of it.
    pub fn per_unit_ns(&self) -> f64 {
        match self.throughput {
            Some(Throughput::Elements(n)) if n > 0 => self.mean.point_estimate / n as f64,
            _ => self.mean.point_estimate,
        }
    }

    fn bytes(&self) -> Option<u64> {
        match self.throughput {
            Some(Throughput::Bytes(n)) => Some(n),
            _ => None,
        }
    }
}

/// Where criterion writes: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
/// `target/criterion` in the workspace.
pub fn criterion_dir(root: &Path) -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return root.join(home);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |t| root.join(t));
    target.join("criterion")
}

/// Every benchmark under `dir` (a `target/criterion`), those whose estimates were written
/// at `since` or later when it is given; ordered examples, permissions, `linear-*`,
/// `core-*`, then other groups, by group, function and size (or parameter) within them.
pub fn read_results(dir: &Path, since: Option<SystemTime>) -> Result<Vec<Measurement>> {
    let mut found = Vec::new();
    find_new_dirs(dir, &mut found)
        .with_context(|| format!("cannot read criterion's results in `{}`", dir.display()))?;
    let mut results = Vec::new();
    for new in found {
        let estimates_path = new.join("estimates.json");
        let written = std::fs::metadata(&estimates_path)
            .and_then(|m| m.modified())
            .ok();
        if let Some(since) = since
            && written.is_none_or(|w| w < since)
        {
            continue;
        }
        let benchmark: BenchmarkJson = read_json(&new.join("benchmark.json"))?;
        let estimates: Estimates = read_json(&estimates_path)?;
        results.push(Measurement {
            id: benchmark.full_id,
            group: benchmark.group_id,
            function: benchmark.function_id,
            value: benchmark.value_str,
            throughput: benchmark
                .throughput
                .as_ref()
                .and_then(Throughput::from_json),
            mean: estimates.mean,
            median: estimates.median,
            written,
        });
    }
    results.sort_by(|a, b| {
        let key = |m: &Measurement| {
            (
                group_rank(&m.group),
                m.group.clone(),
                m.function.clone(),
                m.bytes().unwrap_or(0),
                m.value.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(results)
}

fn group_rank(group: &str) -> u8 {
    match group {
        "examples" => 0,
        "permissions" => 1,
        g if g.starts_with(LINEAR_PREFIX) => 2,
        g if g.starts_with("core") => 3,
        _ => 4,
    }
}

/// The `new` directories below `dir` that hold a `benchmark.json` (criterion's `base`
/// and `change` copies and its `report` folders are skipped).
fn find_new_dirs(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for path in entries {
        if !path.is_dir() {
            continue;
        }
        match path.file_name().and_then(|n| n.to_str()) {
            Some("new") if path.join("benchmark.json").is_file() => found.push(path),
            Some("base" | "change" | "report" | "new") => {}
            _ => find_new_dirs(&path, found)?,
        }
    }
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("in `{}`", path.display()))
}

/// The machine the numbers come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// When the results were written, `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// How many CPUs the process may use.
    pub cpus: usize,
    /// `/proc/loadavg`'s three load averages before and after the run, when there was
    /// one.
    pub load: Option<(String, String)>,
    /// The share of the machine's CPU time that its hypervisor gave to others during the
    /// run (`steal` in `/proc/stat`), when there was one: on a shared virtual machine, the
    /// neighbours' load, which no load average shows.
    pub stolen: Option<f64>,
}

/// What is read before a run, to say afterwards what the machine did during it.
#[derive(Debug, Clone)]
pub struct Before {
    load: Option<String>,
    cpu: Option<CpuTimes>,
}

impl Before {
    /// The load average and the CPU times now.
    pub fn now() -> Before {
        Before {
            load: load_average(),
            cpu: CpuTimes::read(),
        }
    }
}

/// The machine's CPU time since boot, in clock ticks: all of it, and the part stolen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CpuTimes {
    total: u64,
    steal: u64,
}

impl CpuTimes {
    fn read() -> Option<CpuTimes> {
        CpuTimes::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// `/proc/stat`'s `cpu` line: user, nice, system, idle, iowait, irq, softirq,
    /// steal, then guest and guest_nice, which user and nice already count.
    fn parse(stat: &str) -> Option<CpuTimes> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        Some(CpuTimes {
            total: fields.iter().take(8).sum(),
            steal: *fields.get(7)?,
        })
    }

    /// The share stolen between `self` and `later`.
    fn stolen_until(self, later: CpuTimes) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        let steal = later.steal.checked_sub(self.steal)?;
        (total > 0).then(|| steal as f64 / total as f64)
    }
}

impl Machine {
    /// The lines every generated section starts with: when, with what, on what, under
    /// which load.
    pub fn header(&self) -> String {
        let mut s = format!(
            "Measured {} with {}, on {} CPU(s) ({}).\n",
            self.date, self.rustc, self.cpus, self.cpu
        );
        if let Some((before, after)) = &self.load {
            let _ = writeln!(
                s,
                "Load average (1, 5, 15 min) before the run: {before}; after: {after}."
            );
        }
        if let Some(stolen) = self.stolen {
            let _ = writeln!(
                s,
                "CPU time taken by the hypervisor for other machines during the run (steal, the build included): {:.1}%.",
                stolen * 100.0
            );
        }
        s
    }

    /// A fixed machine for the renderers' tests.
    pub fn for_tests() -> Machine {
        Machine {
            date: "2026-11-23 10:00 UTC".into(),
            rustc: "rustc 1.95.0".into(),
            cpu: "Test CPU".into(),
            cpus: 2,
            load: Some(("1.00 0.50 0.25".into(), "2.00 1.00 0.50".into())),
            stolen: Some(0.125),
        }
    }

    /// This machine, for results written at `date`; `before` is what was read before
    /// the run, if this process ran it.
    pub fn here(root: &Path, date: SystemTime, before: Option<Before>) -> Machine {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let rustc = Command::new(rustc)
            .arg("--version")
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map_or_else(
                || "rustc (unknown version)".to_owned(),
                |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            );
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine {
            date: chrono::DateTime::<chrono::Utc>::from(date)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
            rustc,
            cpu,
            cpus,
            load: before
                .as_ref()
                .and_then(|b| b.load.clone())
                .zip(load_average()),
            stolen: before
                .and_then(|b| b.cpu)
                .zip(CpuTimes::read())
                .and_then(|(then, now)| then.stolen_until(now)),
        }
    }
}

/// The 1-, 5- and 15-minute load averages, when the system says.
pub fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    (fields.len() == 3).then(|| fields.join(" "))
}

/// A duration for people: three significant digits, in ns, µs, ms or s.
pub fn duration(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

/// `64 KiB`, `1 MiB`, `1000 B`.
pub fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    if bytes >= KIB * KIB && bytes.is_multiple_of(KIB * KIB) {
        format!("{} MiB", bytes / (KIB * KIB))
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// The generated part of the document: the machine, every result, the linearity table.
pub fn render(results: &[Measurement], machine: &Machine) -> String {
    let mut s = machine.header();
    let _ = writeln!(
        s,
        "Times are criterion's estimates of one iteration: the mean, its 95% confidence interval, the median."
    );
    s.push('\n');
    s.push_str("### Every case\n\n");
    s.push_str(
        "| benchmark | mean | 95% interval of the mean | median | per unit | under 20 ms |\n",
    );
    s.push_str("|---|---:|---:|---:|---:|:---:|\n");
    for m in results {
        let ci = m.mean.confidence_interval;
        let per_unit = match m.throughput {
            Some(Throughput::Elements(n)) => {
                format!("{} per item ({n})", duration(m.per_unit_ns()))
            }
            Some(Throughput::Bytes(n)) => format!("{} per KiB", duration(per_kib(m, n))),
            None => String::new(),
        };
        let verdict = if m.per_unit_ns() < TARGET_NS {
            "yes"
        } else {
            "**no**"
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} – {} | {} | {} | {} |",
            m.id,
            duration(m.mean.point_estimate),
            duration(ci.lower_bound),
            duration(ci.upper_bound),
            duration(m.median.point_estimate),
            per_unit,
            verdict
        );
    }
    let over: Vec<&str> = results
        .iter()
        .filter(|m| m.per_unit_ns() >= TARGET_NS)
        .map(|m| m.id.as_str())
        .collect();
    s.push('\n');
    if over.is_empty() {
        let _ = writeln!(s, "Every case is under the 20 ms target.");
    } else {
        let _ = writeln!(
            s,
            "Over the 20 ms target: {}.",
            over.iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    render_linearity(&mut s, results);
    s
}

fn per_kib(m: &Measurement, bytes: u64) -> f64 {
    m.mean.point_estimate / (bytes as f64 / 1024.0)
}

/// One row per `linear-*` group and function: time and time per KiB at each size, the
/// ratio of the largest size's time to the smallest's, and the growth of the time per
/// byte between them.
fn render_linearity(s: &mut String, results: &[Measurement]) {
    let linear: Vec<&Measurement> = results
        .iter()
        .filter(|m| m.group.starts_with(LINEAR_PREFIX) && m.bytes().is_some())
        .collect();
    if linear.is_empty() {
        return;
    }
    let mut sizes: Vec<u64> = linear.iter().filter_map(|m| m.bytes()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut rows: Vec<(String, Vec<&Measurement>)> = Vec::new();
    for m in &linear {
        let shape = m.group[LINEAR_PREFIX.len()..].to_owned();
        let label = match &m.function {
            Some(f) => format!("{shape} ({f})"),
            None => shape,
        };
        match rows.iter_mut().find(|(l, _)| *l == label) {
            Some((_, ms)) => ms.push(m),
            None => rows.push((label, vec![m])),
        }
    }
    let (smallest, largest) = (sizes[0], sizes[sizes.len() - 1]);
    let size_ratio = largest as f64 / smallest as f64;
    let _ = write!(
        s,
        "\n### Linearity\n\nEach shape at {}: the time, then the time per KiB, at each size; then the time at {} over the time at {} (linear ≈ {size_ratio:.0}, quadratic ≈ {:.0}) and how much the time per byte grew (linear ≈ 1, quadratic ≈ {size_ratio:.0}).\n\n",
        sizes
            .iter()
            .map(|&b| size(b))
            .collect::<Vec<_>>()
            .join(", "),
        size(largest),
        size(smallest),
        size_ratio * size_ratio,
    );
    s.push_str("| shape |");
    for &b in &sizes {
        let _ = write!(s, " {} |", size(b));
    }
    for &b in &sizes {
        let _ = write!(s, " per KiB at {} |", size(b));
    }
    let _ = writeln!(
        s,
        " {} / {} | per-byte growth | reading |",
        size(largest),
        size(smallest)
    );
    s.push_str("|---|");
    for _ in 0..2 * sizes.len() + 2 {
        s.push_str("---:|");
    }
    s.push_str("---|\n");
    for (label, ms) in rows {
        let at = |b: u64| ms.iter().find(|m| m.bytes() == Some(b));
        let _ = write!(s, "| {label} |");
        for &b in &sizes {
            let cell = at(b).map_or_else(String::new, |m| duration(m.mean.point_estimate));
            let _ = write!(s, " {cell} |");
        }
        for &b in &sizes {
            let cell = at(b).map_or_else(String::new, |m| duration(per_kib(m, b)));
            let _ = write!(s, " {cell} |");
        }
        match (at(smallest), at(largest)) {
            (Some(small), Some(large)) => {
                let ratio = large.mean.point_estimate / small.mean.point_estimate;
                let growth = ratio / size_ratio;
                let reading = if growth <= SUPERLINEAR_GROWTH {
                    "linear"
                } else {
                    "**super-linear**"
                };
                let _ = writeln!(s, " {ratio:.1} | {growth:.2} | {reading} |");
            }
            _ => s.push_str(" | | |\n"),
        }
    }
}

/// `doc` with the text between its [`BEGIN`] and [`END`] lines replaced by `generated`.
pub fn splice(doc: &str, generated: &str) -> Result<String> {
    splice_between(doc, BEGIN, END, generated)
}

/// `doc` with the text between its `begin` and `end` lines replaced by `generated`.
pub fn splice_between(
    doc: &str,
    begin_marker: &str,
    end_marker: &str,
    generated: &str,
) -> Result<String> {
    let Some(begin) = doc.find(begin_marker) else {
        bail!(
            "no `{begin_marker}` line: the generated tables go between `{begin_marker}` and `{end_marker}`"
        );
    };
    let after_begin = begin + begin_marker.len();
    let Some(end) = doc[after_begin..].find(end_marker).map(|i| after_begin + i) else {
        bail!("no `{end_marker}` line after `{begin_marker}`");
    };
    Ok(format!(
        "{}\n{}{}",
        &doc[..after_begin],
        generated.trim_end_matches('\n').to_owned() + "\n",
        &doc[end..]
    ))
}

/// What `cargo xtask bench` runs and writes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The package holding the benches.
    pub package: String,
    /// The bench target.
    pub bench: String,
    /// Write the document from the results criterion has, without running.
    pub no_run: bool,
    /// More arguments for the benchmark binary (a filter, `--sample-size`...).
    pub criterion_args: Vec<String>,
}

/// Runs the benchmarks (unless `no_run`) and writes the tables into [`DOC`]. Returns
/// the results written.
pub fn run(root: &Path, options: &Options) -> Result<Vec<Measurement>> {
    let before = (!options.no_run).then(Before::now);
    let since = if options.no_run {
        None
    } else {
        // Criterion keeps every benchmark it ever ran: only this run's count. The margin
        // covers file systems with coarse modification times.
        let start = SystemTime::now() - Duration::from_secs(2);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "bench",
                "-p",
                &options.package,
                "--bench",
                &options.bench,
                "--",
            ])
            .args(&options.criterion_args)
            .current_dir(root)
            .status()
            .context("cannot run `cargo bench`")?;
        if !status.success() {
            bail!("`cargo bench` failed ({status})");
        }
        Some(start)
    };
    let results = read_results(&criterion_dir(root), since)?;
    if results.is_empty() {
        bail!("criterion wrote no results");
    }
    let newest = results
        .iter()
        .filter_map(|m| m.written)
        .max()
        .unwrap_or_else(SystemTime::now);
    let machine = Machine::here(root, newest, before);
    let path = root.join(DOC);
    let doc = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let updated =
        splice(&doc, &render(&results, &machine)).with_context(|| format!("in `{DOC}`"))?;
    std::fs::write(&path, updated).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/criterion")
    }

    fn machine() -> Machine {
        Machine::for_tests()
    }

    #[test]
    fn the_share_stolen_is_read_from_proc_stat() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let before = CpuTimes::parse("cpu  100 0 50 800 10 0 0 40 7 0\ncpu0 1 2 3\n").unwrap();
        assert_eq!(
            before,
            CpuTimes {
                total: 1000,
                steal: 40
            }
        );
        let after = CpuTimes::parse("cpu  400 0 100 1200 10 0 0 290 99 0\n").unwrap();
        assert_eq!(before.stolen_until(after), Some(0.25));
        assert_eq!(
            after.stolen_until(before),
            None,
            "a counter gone back is no reading"
        );
        assert_eq!(
            before.stolen_until(before),
            None,
            "no time passed, no share"
        );
        assert_eq!(CpuTimes::parse("cpu0 1 2 3\n"), None);
        assert_eq!(CpuTimes::parse("cpu  1 2 x 4 5 6 7 8\n"), None);
        assert_eq!(
            CpuTimes::parse("cpu  1 2 3\n"),
            None,
            "a kernel without steal"
        );
    }

    #[test]
    fn the_header_says_what_the_hypervisor_took() {
        let header = machine().header();
        assert!(
            header.contains("(steal, the build included): 12.5%."),
            "{header}"
        );
        let quiet = Machine {
            stolen: None,
            ..machine()
        };
        assert!(!quiet.header().contains("steal"));
    }

    #[test]
    fn reads_criterion_results_in_report_order() {
        let results = read_results(&fixture(), None).unwrap();
        let ids: Vec<&str> = results.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "examples/check/create-subscription.json",
                "permissions/every-pattern",
                "linear-query-parameters/cli/64KiB",
                "linear-query-parameters/cli/1MiB",
                "linear-unknown-resource/cli/64KiB",
                "linear-unknown-resource/cli/1MiB",
            ]
        );
        let permissions = &results[1];
        assert_eq!(permissions.throughput, Some(Throughput::Elements(63)));
        assert_eq!(permissions.mean.point_estimate, 3_150_000.0);
        assert_eq!(permissions.per_unit_ns(), 50_000.0);
        assert_eq!(results[2].value.as_deref(), Some("64KiB"));
        assert_eq!(results[2].throughput, Some(Throughput::Bytes(65536)));
        assert_eq!(results[0].median.confidence_interval.upper_bound, 46_000.0);
        // Results older than `since` are left out.
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert!(read_results(&fixture(), Some(later)).unwrap().is_empty());
    }

    #[test]
    fn renders_every_case_and_the_linearity_table() {
        let results = read_results(&fixture(), None).unwrap();
        let text = render(&results, &machine());
        assert!(
            text.starts_with(
                "Measured 2026-11-23 10:00 UTC with rustc 1.95.0, on 2 CPU(s) (Test CPU).\n"
            ),
            "{text}"
        );
        assert!(text.contains("before the run: 1.00 0.50 0.25; after: 2.00 1.00 0.50."));
        for line in [
            "| `examples/check/create-subscription.json` | 45.0 µs | 44.0 µs – 47.0 µs | 45.5 µs |  | yes |",
            "| `permissions/every-pattern` | 3.15 ms | 3.00 ms – 3.30 ms | 3.10 ms | 50.0 µs per item (63) | yes |",
            "| `linear-query-parameters/cli/1MiB` | 320 ms | 300 ms – 340 ms | 318 ms | 312 µs per KiB | **no** |",
            "| shape | 64 KiB | 1 MiB | per KiB at 64 KiB | per KiB at 1 MiB | 1 MiB / 64 KiB | per-byte growth | reading |",
            "| query-parameters (cli) | 10.0 ms | 320 ms | 156 µs | 312 µs | 32.0 | 2.00 | linear |",
            "| unknown-resource (cli) | 500 µs | 12.0 ms | 7.81 µs | 11.7 µs | 24.0 | 1.50 | linear |",
            "Over the 20 ms target: `linear-query-parameters/cli/1MiB`.",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("(linear ≈ 16, quadratic ≈ 256)"), "{text}");
    }

    #[test]
    fn super_linear_growth_is_called_so() {
        let mut results = read_results(&fixture(), None).unwrap();
        let large = results
            .iter_mut()
            .find(|m| m.id == "linear-unknown-resource/cli/1MiB")
            .unwrap();
        large.mean.point_estimate = 128e6; // 256 times the 64 KiB time
        let text = render(&results, &machine());
        assert!(
            text.contains("| unknown-resource (cli) | 500 µs | 128 ms | 7.81 µs | 125 µs | 256.0 | 16.00 | **super-linear** |"),
            "{text}"
        );
    }

    #[test]
    fn splices_between_the_markers_only() {
        let doc = format!("# Title\n\nintro\n\n{BEGIN}\nold\ntables\n{END}\n\nafter\n");
        let updated = splice(&doc, "new table\n").unwrap();
        assert_eq!(
            updated,
            format!("# Title\n\nintro\n\n{BEGIN}\nnew table\n{END}\n\nafter\n")
        );
        assert_eq!(splice(&updated, "new table").unwrap(), updated);
        assert!(splice("no markers", "x").is_err());
        assert!(splice(&format!("{END}\n{BEGIN}\n"), "x").is_err());
    }

    #[test]
    fn durations_and_sizes_read_well() {
        assert_eq!(duration(512.0), "512 ns");
        assert_eq!(duration(45_000.0), "45.0 µs");
        assert_eq!(duration(1_234_567.0), "1.23 ms");
        assert_eq!(duration(20e9), "20.0 s");
        assert_eq!(size(65536), "64 KiB");
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(1000), "1000 B");
    }
}
