//! Helpers shared by the workspace tests in `tests/tests/`.

use std::path::PathBuf;

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
