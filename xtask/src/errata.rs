//! `docs/upstream/errata.toml`: reviewed corrections to the vendored pages.
//!
//! Each entry names one row of one page as it stands (by any of its label, path and
//! cells), says what to write instead, and why. An entry must match exactly one row, must
//! change something, and must correct a row that a cross-check flags as a disagreement;
//! otherwise codegen fails, so the file cannot drift from the pages it corrects. A seed
//! page differing from another page is not a disagreement but a note
//! ([`crate::corpus::Difference`]): no erratum may rest on it, since errata correct slips
//! inside a page, never a value another page disagrees with.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::corpus::{PageFile, RowRef, show_cell};
use crate::page::{Cell, PageRow, parse_cell};

/// The file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrataFile {
    #[serde(default)]
    erratum: Vec<Erratum>,
}

/// One correction.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Erratum {
    /// The page file name: `update.fr.txt`.
    pub page: String,
    /// Which row: every field given must match.
    pub row: RowMatcher,
    /// The path to write instead.
    pub path: Option<String>,
    /// The delegated (work or school) cell to write instead, in page syntax.
    pub delegated_work: Option<String>,
    /// The delegated (personal) cell to write instead, in page syntax.
    pub delegated_personal: Option<String>,
    /// The application cell to write instead, in page syntax.
    pub application: Option<String>,
    /// Why: the evidence a reviewer can check.
    pub reason: String,
}

/// Selects a row by what it says now.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RowMatcher {
    /// The label, as `parse-permissions` prints it.
    pub label: Option<String>,
    /// The path, as `parse-permissions` prints it.
    pub path: Option<String>,
    /// The delegated (work or school) cell, in page syntax.
    pub delegated_work: Option<String>,
    /// The delegated (personal) cell, in page syntax.
    pub delegated_personal: Option<String>,
    /// The application cell, in page syntax.
    pub application: Option<String>,
}

/// An erratum that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its position in the file, from 1.
    pub number: usize,
    /// The row it changed.
    pub target: RowRef,
    /// What it changed, in words.
    pub changes: Vec<String>,
    /// Its reason.
    pub reason: String,
}

/// Reads the errata file; a missing file is no errata.
pub fn load(path: &Path) -> Result<Vec<Erratum>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let file: ErrataFile =
        toml::from_str(&text).with_context(|| format!("`{}` is not valid", path.display()))?;
    Ok(file.erratum)
}

fn cell_arg(text: &Option<String>, what: &str, number: usize) -> Result<Option<Cell>> {
    text.as_deref()
        .map(parse_cell)
        .transpose()
        .map_err(|e| anyhow::anyhow!("erratum {number}: `{what}`: {e}"))
}

fn matches(row: &PageRow, m: &RowMatcher, cells: &[Option<Cell>; 3]) -> bool {
    m.label.as_ref().is_none_or(|l| *l == row.label)
        && m.path.as_ref().is_none_or(|p| Some(p) == row.path.as_ref())
        && cells
            .iter()
            .zip(row.cells())
            .all(|(want, have)| want.as_ref().is_none_or(|w| w == have))
}

/// Applies the errata to the pages, in file order.
pub fn apply(pages: &mut [PageFile], errata: &[Erratum]) -> Result<Vec<Applied>> {
    let mut applied = Vec::new();
    for (i, erratum) in errata.iter().enumerate() {
        let number = i + 1;
        if erratum.reason.trim().len() < 20 {
            bail!(
                "erratum {number} ({}): give a reason a reviewer can check",
                erratum.page
            );
        }
        let Some(p) = pages.iter().position(|p| p.name == erratum.page) else {
            bail!(
                "erratum {number} names the page `{}`, which docs/upstream does not have",
                erratum.page
            );
        };
        let m = &erratum.row;
        let wanted = [
            cell_arg(&m.delegated_work, "row.delegatedWork", number)?,
            cell_arg(&m.delegated_personal, "row.delegatedPersonal", number)?,
            cell_arg(&m.application, "row.application", number)?,
        ];
        if m.label.is_none() && m.path.is_none() && wanted.iter().all(Option::is_none) {
            bail!("erratum {number}: `row` must name the row by its label, path or cells");
        }
        let hits: Vec<usize> = pages[p]
            .rows
            .iter()
            .enumerate()
            .filter(|(_, row)| matches(row, m, &wanted))
            .map(|(r, _)| r)
            .collect();
        let r = match hits.as_slice() {
            [one] => *one,
            [] => bail!(
                "erratum {number} matches no row of {}: the page changed; review the erratum against it",
                erratum.page
            ),
            many => bail!(
                "erratum {number} matches {} rows of {} (lines {}): add a cell to `row` to tell them apart",
                many.len(),
                erratum.page,
                many.iter()
                    .map(|&r| pages[p].rows[r].line.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let new_cells = [
            cell_arg(&erratum.delegated_work, "delegatedWork", number)?,
            cell_arg(&erratum.delegated_personal, "delegatedPersonal", number)?,
            cell_arg(&erratum.application, "application", number)?,
        ];
        let row = &mut pages[p].rows[r];
        let mut changes = Vec::new();
        if let Some(path) = &erratum.path {
            if row.path.as_ref() == Some(path) {
                bail!("erratum {number} sets the path to what it already is");
            }
            changes.push(format!(
                "path `{}` → `{path}`",
                row.path.as_deref().unwrap_or("none")
            ));
            row.path = Some(path.clone());
        }
        for ((column, new), cell) in crate::corpus::COLUMNS
            .iter()
            .zip(new_cells)
            .zip(row.cells_mut())
        {
            if let Some(new) = new {
                if *cell == new {
                    bail!("erratum {number} sets {column} to what it already is");
                }
                changes.push(format!(
                    "{column} `{}` → `{}`",
                    show_cell(cell),
                    show_cell(&new)
                ));
                *cell = new;
            }
        }
        if changes.is_empty() {
            bail!("erratum {number} changes nothing: give `path` or a cell to write");
        }
        applied.push(Applied {
            number,
            target: RowRef { page: p, row: r },
            changes,
            reason: erratum.reason.trim().to_owned(),
        });
    }
    Ok(applied)
}
