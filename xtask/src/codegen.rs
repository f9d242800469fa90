//! `cargo xtask codegen`: the permission table of `graph-subs-core`, generated from the
//! pages in `docs/upstream/` and their errata; then `docs/diagnostics.md`, the reference of
//! the diagnostic codes, which the core renders.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use graph_subs_catalogue::permission::AccountScope;

use crate::corpus::{self, Difference, Disagreement, MergedRow, PageFile};
use crate::errata::{self, Applied};
use crate::page::Cell;

/// Where the generated table lives, relative to the workspace root.
pub const TABLE: &str = "crates/graph-subs-core/src/permissions/table.rs";
/// Where the pages live, relative to the workspace root.
pub const DOCS: &str = "docs/upstream";
/// The errata file, relative to the pages.
pub const ERRATA: &str = "errata.toml";
/// The reference of the diagnostic codes, relative to the workspace root.
pub const DIAGNOSTICS: &str = "docs/diagnostics.md";
/// The core's example that prints the reference of the diagnostic codes.
pub const DIAGNOSTICS_EXAMPLE: &str = "diagnostics_reference";

/// What a generation found and produced.
#[derive(Debug)]
pub struct Generated {
    /// The formatted Rust source of the table.
    pub source: String,
    /// The pages read, with their row counts.
    pub pages: Vec<(String, usize)>,
    /// The disagreements found before the errata.
    pub found: Vec<Disagreement>,
    /// The errata applied.
    pub applied: Vec<Applied>,
    /// Where a seed page and another page differ, errata applied: the table follows the
    /// seed and the row carries these notes.
    pub differences: Vec<Difference>,
    /// Rows only some pages of an operation have.
    pub coverage: Vec<String>,
    /// How many rows the table has.
    pub rows: usize,
    pages_for_messages: Vec<PageFile>,
}

impl Generated {
    /// A summary for people: pages, rows per page, disagreements and how each was resolved.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "pages: {}", self.pages.len());
        for (name, rows) in &self.pages {
            let _ = writeln!(s, "  {name:<16} {rows:>3} rows");
        }
        let _ = writeln!(
            s,
            "disagreements: {} found, {} resolved by {} errata in {DOCS}/{ERRATA}",
            self.found.len(),
            self.found.len(),
            self.applied.len()
        );
        for d in &self.found {
            let fixes: Vec<String> = self
                .applied
                .iter()
                .filter(|a| d.rows.contains(&a.target))
                .map(|a| format!("erratum {}", a.number))
                .collect();
            let _ = writeln!(s, "  - {}\n    resolved by {}", d.message, fixes.join(", "));
        }
        for a in &self.applied {
            let page = &self.pages_for_messages[a.target.page];
            let row = &page.rows[a.target.row];
            let _ = writeln!(
                s,
                "  erratum {}: {} line {}: {}",
                a.number,
                page.name,
                row.line,
                a.changes.join("; ")
            );
        }
        let _ = writeln!(
            s,
            "seed differences: {} (the table follows the seed page and notes the other)",
            self.differences.len()
        );
        for d in &self.differences {
            let _ = writeln!(s, "  - {}", d.message);
            for note in &d.notes {
                let _ = writeln!(s, "    note: {note}");
            }
        }
        for note in &self.coverage {
            let _ = writeln!(s, "coverage: {note}");
        }
        let _ = writeln!(s, "table: {} rows", self.rows);
        s
    }
}

/// Generates the table from the pages in `docs` (and `docs/errata.toml`). Fails, listing
/// every one, when a disagreement is left unresolved or an erratum does not apply. Where
/// a seed page and another page differ, the table follows the seed and notes the other.
pub fn generate(docs: &Path) -> Result<Generated> {
    let mut pages = corpus::load_pages(docs)?;
    let errata = errata::load(&docs.join(ERRATA))?;
    let before = corpus::cross_check(&pages);
    let found = before.disagreements;
    let applied = errata::apply(&mut pages, &errata)?;
    for a in &applied {
        if found.iter().any(|d| d.rows.contains(&a.target)) {
            continue;
        }
        let page = &pages[a.target.page];
        let row = &page.rows[a.target.row];
        if let Some(d) = before
            .differences
            .iter()
            .find(|d| d.seed == a.target || d.other == a.target)
        {
            bail!(
                "erratum {} corrects {} line {} `{}`, which only differs between a seed page \
                 and another page ({}): the seed pages are the specification, so the table \
                 follows the seed and notes the difference; errata correct slips inside a \
                 page that a cross-check flags (a mistranslated label or path, markup lost \
                 by the render), never a value another page disagrees with; remove it",
                a.number,
                page.name,
                row.line,
                row.title(),
                d.message
            );
        }
        bail!(
            "erratum {} corrects {} line {} `{}`, which no cross-check disagrees with: \
             errata resolve disagreements only; remove it",
            a.number,
            page.name,
            row.line,
            row.title()
        );
    }
    let after = corpus::cross_check(&pages);
    let left = after.disagreements;
    if !left.is_empty() {
        let mut message = format!(
            "{} unresolved disagreement(s) between the pages in {}:\n",
            left.len(),
            docs.display()
        );
        for d in &left {
            let _ = writeln!(message, "  - {}", d.message);
        }
        let _ = write!(
            message,
            "hint: check the upstream page; then correct the wrong row with an entry in \
             {}/{ERRATA} (with its reason) if a render or translation slipped, or extend the \
             catalogue in crates/graph-subs-core/src/catalogue.rs if the resource is new",
            docs.display()
        );
        bail!(message);
    }
    let merged = corpus::merge(&pages)?;
    let coverage = corpus::coverage(&pages, &merged);
    let source = rustfmt(&render(&merged))?;
    Ok(Generated {
        source,
        pages: pages
            .iter()
            .map(|p| (p.name.clone(), p.rows.len()))
            .collect(),
        found,
        applied,
        differences: after.differences,
        coverage,
        rows: merged.len(),
        pages_for_messages: pages,
    })
}

fn render_cell(cell: &Cell) -> String {
    match cell {
        None => "None".to_owned(),
        Some(permissions) => {
            let items: Vec<String> = permissions
                .iter()
                .map(|p| {
                    if p.resource_specific_consent {
                        format!("Permission::resource_specific({:?})", p.name)
                    } else {
                        format!("Permission::new({:?})", p.name)
                    }
                })
                .collect();
            format!("Some(&[{}])", items.join(", "))
        }
    }
}

/// The table as Rust source, before formatting.
pub fn render(rows: &[MergedRow]) -> String {
    let mut s = String::new();
    s.push_str(
        "//! Generated by `cargo xtask codegen`, do not edit by hand.\n\
         //!\n\
         //! The permission tables of the pages in `docs/upstream/`, corrected by\n\
         //! `docs/upstream/errata.toml`, the pages of each operation merged.\n\
         //! Change a page or an erratum, then run `cargo xtask codegen`.\n\n\
         use super::{AccountScope, Permission, Row};\n\
         use crate::Operation;\n\n\
         pub(super) static ROWS: &[Row] = &[\n",
    );
    for row in rows {
        let operation = match row.operation {
            graph_subs_catalogue::Operation::Create => "Create",
            graph_subs_catalogue::Operation::Update => "Update",
            graph_subs_catalogue::Operation::Delete => "Delete",
            graph_subs_catalogue::Operation::List => "List",
        };
        let scope = match row.key.scope {
            AccountScope::Any => "Any",
            AccountScope::Personal => "Personal",
            AccountScope::Organizational => "Organizational",
        };
        let pattern = match row.key.pattern {
            Some(p) => format!("Some({p:?})"),
            None => "None".to_owned(),
        };
        let sources: Vec<String> = row.sources.iter().map(|s| format!("{s:?}")).collect();
        let notes: Vec<String> = row.notes.iter().map(|n| format!("{n:?}")).collect();
        let _ = writeln!(
            s,
            "Row {{ operation: Operation::{operation}, kind: {:?}, pattern: {pattern}, \
             account_scope: AccountScope::{scope}, label: {:?}, delegated_work: {}, \
             delegated_personal: {}, application: {}, sources: &[{}], notes: &[{}] }},",
            row.key.kind,
            row.label,
            render_cell(&row.cells[0]),
            render_cell(&row.cells[1]),
            render_cell(&row.cells[2]),
            sources.join(", "),
            notes.join(", ")
        );
    }
    s.push_str("];\n");
    s
}

/// Formats Rust source with the pinned toolchain's rustfmt.
fn rustfmt(source: &str) -> Result<String> {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = Command::new(&rustfmt)
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run rustfmt: install it with `rustup component add rustfmt`")?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(source.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "rustfmt rejected the generated table:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("rustfmt wrote something that is not UTF-8")
}

/// The workspace root: the parent of this crate's folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// What `cargo xtask codegen` should do with a fresh generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write the table when it changed.
    Write,
    /// Only compare: `--check`.
    Check,
}

/// What `cargo xtask codegen` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The committed table already matched.
    UpToDate,
    /// The table was (re)written.
    Written,
    /// `--check`: the committed table differs; nothing was written.
    Stale,
}

/// Generates the table of the workspace at `root` and writes or checks it.
pub fn run(root: &Path, mode: Mode) -> Result<(Generated, Outcome)> {
    let generated = generate(&root.join(DOCS))?;
    let outcome = settle(&root.join(TABLE), &generated.source, mode)?;
    Ok((generated, outcome))
}

/// Writes `content` to `target` unless it is already there; with [`Mode::Check`], only
/// says whether it is.
fn settle(target: &Path, content: &str, mode: Mode) -> Result<Outcome> {
    let fresh = std::fs::read_to_string(target).is_ok_and(|committed| committed == content);
    Ok(match (fresh, mode) {
        (true, _) => Outcome::UpToDate,
        (false, Mode::Check) => Outcome::Stale,
        (false, Mode::Write) => {
            std::fs::write(target, content)
                .with_context(|| format!("cannot write `{}`", target.display()))?;
            Outcome::Written
        }
    })
}

/// The reference of the diagnostic codes, as the core renders it
/// (`graph_subs_core::validate::reference_markdown`). The xtask does not link the core,
/// which compiles the table it writes: it has cargo build and run the core's
/// `diagnostics_reference` example in the workspace at `root`, with the table as it is
/// on disk (so run it after the table is written).
pub fn diagnostics_reference(root: &Path) -> Result<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["run", "--quiet", "-p", "graph-subs-core", "--example"])
        .arg(DIAGNOSTICS_EXAMPLE)
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run `{}`", cargo.to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "the core's `{DIAGNOSTICS_EXAMPLE}` example failed ({}): {DIAGNOSTICS} was not generated",
            output.status
        );
    }
    String::from_utf8(output.stdout)
        .with_context(|| format!("`{DIAGNOSTICS_EXAMPLE}` printed something that is not UTF-8"))
}

/// Renders `docs/diagnostics.md` for the workspace at `root` and writes or checks it.
pub fn run_diagnostics(root: &Path, mode: Mode) -> Result<Outcome> {
    let reference = diagnostics_reference(root)?;
    settle(&root.join(DIAGNOSTICS), &reference, mode)
}

/// Whether the committed table matches what the pages generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The committed file is what codegen writes.
    Fresh,
    /// It differs, or is missing.
    Stale,
}

/// Compares the committed table with a generation.
pub fn freshness(root: &Path, generated: &Generated) -> Freshness {
    match std::fs::read_to_string(root.join(TABLE)) {
        Ok(committed) if committed == generated.source => Freshness::Fresh,
        _ => Freshness::Stale,
    }
}
