//! Helpers shared by the workspace tests in `tests/tests/`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use graph_subs_cli::Exit;
use xtask::corpus::{PageFile, load_pages};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_path_buf()
}

/// `docs/upstream`.
pub fn docs_dir() -> PathBuf {
    workspace_root().join(xtask::codegen::DOCS)
}

/// The vendored pages, with the errata applied: what the table is generated from.
pub fn corrected_pages() -> Result<Vec<PageFile>, String> {
    let docs = docs_dir();
    let mut pages = load_pages(&docs).map_err(|e| e.to_string())?;
    let errata =
        xtask::errata::load(&docs.join(xtask::codegen::ERRATA)).map_err(|e| e.to_string())?;
    xtask::errata::apply(&mut pages, &errata).map_err(|e| e.to_string())?;
    Ok(pages)
}

/// What one run of `graph-subs` produced.
#[derive(Debug)]
pub struct Run {
    /// The exit status.
    pub exit: Exit,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Everything, for a snapshot: the command, the status and both streams.
    pub fn transcript(&self, args: &[&str]) -> String {
        format!(
            "$ graph-subs {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            self.exit.code(),
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `graph-subs ARGS` in-process.
pub fn graph_subs(args: &[&str]) -> Run {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = graph_subs_cli::run(
        std::iter::once("graph-subs").chain(args.iter().copied()),
        &mut out,
        &mut err,
    );
    Run {
        exit,
        stdout: String::from_utf8(out).expect("stdout is UTF-8"),
        stderr: String::from_utf8(err).expect("stderr is UTF-8"),
    }
}

/// The normal and build dependencies of a package on this host, as `cargo tree` resolves
/// them: the direct ones, and the whole closure.
pub fn dependencies(package: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal,build",
            "--prefix",
            "depth",
            "--format",
            "{p}",
            "-p",
            package,
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut direct = BTreeSet::new();
    let mut closure = BTreeSet::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let depth_end = line
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(line.len());
        let depth: usize = line[..depth_end].parse().unwrap();
        let name = line[depth_end..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        if depth == 1 {
            direct.insert(name.clone());
        }
        if depth >= 1 {
            closure.insert(name);
        }
    }
    (direct, closure)
}
