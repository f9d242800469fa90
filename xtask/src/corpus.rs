//! The vendored pages as a whole: loading them, mapping each row to the core catalogue,
//! finding where the pages disagree, and merging the pages of one operation. The French
//! pages are the seeds ([`SEED_LANGUAGE`]): where another page differs from a seed, the
//! merged row follows the seed and notes the difference.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use graph_subs_catalogue::Operation;
use graph_subs_catalogue::catalogue::{ResourceKind, resolve};
use graph_subs_catalogue::permission::{AccountScope, PermissionType};
use graph_subs_catalogue::resource::ResourcePath;

use crate::page::{Cell, PageRow, Permission, parse_page};

/// One vendored page: `docs/upstream/{operation}.{language}.{txt|md}`.
#[derive(Debug, Clone)]
pub struct PageFile {
    /// The file name: `update.fr.txt`.
    pub name: String,
    /// The operation the page documents.
    pub operation: Operation,
    /// The page's language: `fr`, `en`.
    pub language: String,
    /// Its permission table, in page order.
    pub rows: Vec<PageRow>,
}

/// The language of the seed pages: the French renders of the Update, Delete and List
/// pages are this project's specification. Where a seed and another page of the same
/// operation give a resource different cells, the table follows the seed and the row
/// carries a note saying how the other page differs ([`Difference`]); errata correct only
/// slips inside a page, never a value another page disagrees with.
pub const SEED_LANGUAGE: &str = "fr";

impl PageFile {
    /// Whether the page is a seed, written in [`SEED_LANGUAGE`].
    pub fn is_seed(&self) -> bool {
        self.language == SEED_LANGUAGE
    }

    /// How a note names the page: `French Update`.
    fn title(&self) -> String {
        let language = match self.language.as_str() {
            "fr" => "French",
            "en" => "English",
            other => other,
        };
        let operation = match self.operation {
            Operation::Create => "Create",
            Operation::Update => "Update",
            Operation::Delete => "Delete",
            Operation::List => "List",
        };
        format!("{language} {operation}")
    }
}

/// A row of a page: indexes into a `[PageFile]` slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowRef {
    /// The page's index.
    pub page: usize,
    /// The row's index in that page.
    pub row: usize,
}

/// What a row is about: two rows with the same key say the same thing, or disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The catalogue kind.
    pub kind: &'static str,
    /// The catalogue pattern, or `None` for a row that covers the whole kind.
    pub pattern: Option<&'static str>,
    /// Which accounts the row is for.
    pub scope: AccountScope,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind)?;
        if let Some(pattern) = self.pattern {
            write!(f, " ({pattern})")?;
        }
        match self.scope {
            AccountScope::Any => Ok(()),
            AccountScope::Personal => f.write_str(" [personal accounts]"),
            AccountScope::Organizational => f.write_str(" [work or school accounts]"),
        }
    }
}

/// Something the pages contradict themselves or each other on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The rows involved.
    pub rows: Vec<RowRef>,
    /// What is wrong, naming pages, lines and values.
    pub message: String,
}

/// A seed page and another page of the same operation giving one resource different
/// cells. Not a disagreement: the seed is the specification, so the table follows it and
/// the merged row carries [`Difference::notes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The resource.
    pub key: Key,
    /// The seed page's row, which the table follows.
    pub seed: RowRef,
    /// The other page's row.
    pub other: RowRef,
    /// Where and on which cells, naming pages and lines.
    pub message: String,
    /// What differs, as the generated row's notes say it ([`seed_notes`]).
    pub notes: Vec<String>,
}

/// What the cross-checks found in a set of pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossCheck {
    /// What codegen fails on unless an erratum resolves it.
    pub disagreements: Vec<Disagreement>,
    /// Where a seed and another page differ: notes in the table, not failures.
    pub differences: Vec<Difference>,
}

/// Reads the operation and language from a page's file name, or `None` for files that
/// are not pages (`README.md`, `errata.toml`).
pub fn page_name(file_name: &str) -> Option<Result<(Operation, String)>> {
    let parts: Vec<&str> = file_name.split('.').collect();
    let [operation, language, extension] = parts.as_slice() else {
        return None;
    };
    if !matches!(*extension, "txt" | "md") {
        return None;
    }
    Some((|| {
        let operation: Operation = operation.parse().with_context(|| {
            format!("cannot tell the operation of `{file_name}`: name pages `{{operation}}.{{language}}.{{txt|md}}`")
        })?;
        if language.len() != 2 || !language.chars().all(|c| c.is_ascii_lowercase()) {
            bail!(
                "`{language}` in `{file_name}` is not a two-letter language code: name pages `{{operation}}.{{language}}.{{txt|md}}`"
            );
        }
        Ok((operation, (*language).to_owned()))
    })())
}

/// Loads and parses every page of a folder, sorted by file name.
pub fn load_pages(dir: &Path) -> Result<Vec<PageFile>> {
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("cannot list `{}`", dir.display()))?
    {
        let entry = entry?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    names.sort();
    let mut pages = Vec::new();
    for name in names {
        let Some(parsed) = page_name(&name) else {
            continue;
        };
        let (operation, language) = parsed?;
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let rows = parse_page(&text).with_context(|| format!("in `{}`", path.display()))?;
        pages.push(PageFile {
            name,
            operation,
            language,
            rows,
        });
    }
    if pages.is_empty() {
        bail!(
            "no pages in `{}`: name them `{{operation}}.{{language}}.{{txt|md}}`",
            dir.display()
        );
    }
    Ok(pages)
}

/// The words by which a label's parenthesis says which accounts a row is for:
/// `driveItem (user's personal OneDrive)`, `driveItem(Microsoft OneDrive Entreprise)`.
const ACCOUNT_WORDS: &[(&str, AccountScope)] = &[
    ("personal", AccountScope::Personal),
    ("personnel", AccountScope::Personal),
    ("business", AccountScope::Organizational),
    ("entreprise", AccountScope::Organizational),
];

/// `driveItem(OneDrive personnel)` → `driveItem`, `OneDrive personnel`.
fn split_qualifier(label: &str) -> (&str, Option<&str>) {
    if let Some(inner) = label.strip_suffix(')')
        && let Some((name, qualifier)) = inner.split_once('(')
    {
        return (name.trim(), Some(qualifier.trim()));
    }
    (label, None)
}

/// Maps a row to the catalogue, or says why it cannot be.
pub fn classify(row: &PageRow) -> Result<Key, String> {
    let (name, qualifier) = split_qualifier(&row.label);
    let by_label = ResourceKind::from_doc_label(name);
    let scope = match qualifier {
        None => AccountScope::Any,
        Some(q) => {
            let lower = q.to_lowercase();
            ACCOUNT_WORDS
                .iter()
                .find(|(word, _)| lower.contains(word))
                .map(|(_, scope)| *scope)
                .ok_or_else(|| {
                    format!(
                        "the parenthesis `({q})` names no account type: \
                         expected personal or business (OneDrive) wording"
                    )
                })?
        }
    };
    let Some(path_text) = &row.path else {
        let kind = by_label.ok_or_else(|| {
            format!(
                "the label `{name}` names no kind in the catalogue: add it to that kind's \
                 `doc_labels` in crates/graph-subs-core/src/catalogue.rs"
            )
        })?;
        // A row for a kind with a single pattern is a row for that pattern.
        let mut patterns = kind.patterns();
        let only = match (patterns.next(), patterns.next()) {
            (Some(p), None) => Some(p.path()),
            _ => None,
        };
        return Ok(Key {
            kind: kind.name(),
            pattern: only,
            scope,
        });
    };
    let path = ResourcePath::parse(path_text)
        .map_err(|e| format!("the path `{path_text}` does not parse: {e}"))?;
    let resource = resolve(&path).map_err(|_| {
        format!(
            "the path `{path_text}` names no resource in the catalogue \
             (crates/graph-subs-core/src/catalogue.rs)"
        )
    })?;
    if let Some(kind) = by_label
        && kind != resource.kind()
    {
        return Err(format!(
            "the label `{name}` names {kind} but the path `{path_text}` is a {} resource",
            resource.kind()
        ));
    }
    Ok(Key {
        kind: resource.kind().name(),
        pattern: Some(resource.pattern().path()),
        scope,
    })
}

/// How a cell is written back: `Not supported` or `A, B*`.
pub fn show_cell(cell: &Cell) -> String {
    match cell {
        None => "Not supported".to_owned(),
        Some(permissions) => permissions
            .iter()
            .map(|p| {
                if p.resource_specific_consent {
                    format!("{}*", p.name)
                } else {
                    p.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The column names, as the JSON output and the errata file spell them.
pub const COLUMNS: [&str; 3] = ["delegatedWork", "delegatedPersonal", "application"];

fn at(pages: &[PageFile], r: RowRef) -> String {
    let page = &pages[r.page];
    let row = &page.rows[r.row];
    format!("{} line {} `{}`", page.name, row.line, row.title())
}

/// Cross-checks a set of pages. The disagreements are:
///
/// 1. a row that does not map to the catalogue, or whose label and path name different kinds;
/// 2. two rows of one page for the same resource;
/// 3. two pages of one operation giving one resource different cells, unless exactly one
///    of them is a seed: that is a [`Difference`], which the table notes;
/// 4. a permission marked resource-specific (`*`) in one row and not in another (markup a
///    render lost or added, whichever pages they are).
pub fn cross_check(pages: &[PageFile]) -> CrossCheck {
    let mut found = Vec::new();
    let mut differences = Vec::new();
    let mut keys: HashMap<RowRef, Key> = HashMap::new();
    for (p, page) in pages.iter().enumerate() {
        for (r, row) in page.rows.iter().enumerate() {
            let here = RowRef { page: p, row: r };
            match classify(row) {
                Ok(key) => {
                    keys.insert(here, key);
                }
                Err(message) => found.push(Disagreement {
                    rows: vec![here],
                    message: format!("{}: {message}", at(pages, here)),
                }),
            }
        }
    }

    // 2. Duplicates within a page.
    let mut by_page_key: BTreeMap<(usize, Key), Vec<RowRef>> = BTreeMap::new();
    for (&here, &key) in &keys {
        by_page_key.entry((here.page, key)).or_default().push(here);
    }
    for ((p, key), mut rows) in by_page_key.clone() {
        if rows.len() > 1 {
            rows.sort();
            let lines: Vec<String> = rows
                .iter()
                .map(|r| pages[p].rows[r.row].line.to_string())
                .collect();
            found.push(Disagreement {
                message: format!(
                    "{} has {} rows for {key} (lines {}): one of them names the wrong resource",
                    pages[p].name,
                    rows.len(),
                    lines.join(", ")
                ),
                rows,
            });
        }
    }

    // 3. Pages of one operation against each other.
    for a in 0..pages.len() {
        for b in a + 1..pages.len() {
            if pages[a].operation != pages[b].operation {
                continue;
            }
            for ((p, key), rows_a) in by_page_key.range((a, min_key())..(a + 1, min_key())) {
                debug_assert_eq!(*p, a);
                let Some(rows_b) = by_page_key.get(&(b, *key)) else {
                    continue;
                };
                if rows_a.len() != 1 || rows_b.len() != 1 {
                    continue; // duplicates are reported above
                }
                let (ra, rb) = (rows_a[0], rows_b[0]);
                let (row_a, row_b) = (&pages[a].rows[ra.row], &pages[b].rows[rb.row]);
                if pages[a].is_seed() != pages[b].is_seed() {
                    let (seed, other) = if pages[a].is_seed() {
                        (ra, rb)
                    } else {
                        (rb, ra)
                    };
                    let columns: Vec<&str> = COLUMNS
                        .iter()
                        .zip(row_a.cells())
                        .zip(row_b.cells())
                        .filter(|((_, cell_a), cell_b)| cell_a != cell_b)
                        .map(|((column, _), _)| *column)
                        .collect();
                    if !columns.is_empty() {
                        differences.push(Difference {
                            key: *key,
                            seed,
                            other,
                            message: format!(
                                "{} differs from the seed {} on the {} {} of {key}",
                                at(pages, other),
                                at(pages, seed),
                                and_list(&columns),
                                if columns.len() == 1 { "cell" } else { "cells" }
                            ),
                            notes: seed_notes(pages, seed, other),
                        });
                    }
                    continue;
                }
                for ((column, cell_a), cell_b) in
                    COLUMNS.iter().zip(row_a.cells()).zip(row_b.cells())
                {
                    if cell_a != cell_b {
                        found.push(Disagreement {
                            rows: vec![ra, rb],
                            message: format!(
                                "{} and {} disagree on the {column} cell of {key}: `{}` against `{}`",
                                at(pages, ra),
                                at(pages, rb),
                                show_cell(cell_a),
                                show_cell(cell_b)
                            ),
                        });
                    }
                }
            }
        }
    }

    // 4. Resource-specific consent is a property of the permission, not of the page.
    let mut marks: BTreeMap<&str, Vec<(RowRef, bool)>> = BTreeMap::new();
    for (p, page) in pages.iter().enumerate() {
        for (r, row) in page.rows.iter().enumerate() {
            for permission in row.cells().into_iter().flatten().flatten() {
                marks.entry(&permission.name).or_default().push((
                    RowRef { page: p, row: r },
                    permission.resource_specific_consent,
                ));
            }
        }
    }
    for (name, uses) in marks {
        let marked: Vec<RowRef> = uses.iter().filter(|u| u.1).map(|u| u.0).collect();
        let unmarked: Vec<RowRef> = uses.iter().filter(|u| !u.1).map(|u| u.0).collect();
        if !marked.is_empty() && !unmarked.is_empty() {
            let list = |rows: &[RowRef]| {
                rows.iter()
                    .map(|&r| at(pages, r))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let mut rows = marked.clone();
            rows.extend(&unmarked);
            rows.sort();
            rows.dedup();
            found.push(Disagreement {
                rows,
                message: format!(
                    "`{name}` is marked resource-specific (*) in {} but not in {}",
                    list(&marked),
                    list(&unmarked)
                ),
            });
        }
    }
    found.sort_by(|x, y| x.rows.cmp(&y.rows).then(x.message.cmp(&y.message)));
    differences.sort_by_key(|d| (d.seed, d.other));
    CrossCheck {
        disagreements: found,
        differences,
    }
}

/// `A`, `A and B`, `A, B and C`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The permissions of `cell` whose names `than` does not have, in `cell`'s order.
fn names_not_in<'a>(cell: &'a [Permission], than: &[Permission]) -> Vec<&'a str> {
    cell.iter()
        .filter(|p| !than.iter().any(|q| q.name == p.name))
        .map(|p| p.name.as_str())
        .collect()
}

/// The notes of a row the table takes from a seed page while another page of the same
/// operation gives it different cells: one sentence per distinct difference, naming the
/// columns it concerns, what the other page lists and what the seed adds or lacks.
pub fn seed_notes(pages: &[PageFile], seed: RowRef, other: RowRef) -> Vec<String> {
    let (seed_page, other_page) = (&pages[seed.page], &pages[other.page]);
    let (seed_row, other_row) = (&seed_page.rows[seed.row], &other_page.rows[other.row]);
    let mut groups: Vec<(&Cell, &Cell, Vec<&str>)> = Vec::new();
    for ((t, s), o) in PermissionType::ALL
        .iter()
        .zip(seed_row.cells())
        .zip(other_row.cells())
    {
        if s == o {
            continue;
        }
        match groups.iter_mut().find(|g| g.0 == s && g.1 == o) {
            Some(group) => group.2.push(t.title()),
            None => groups.push((s, o, vec![t.title()])),
        }
    }
    groups
        .into_iter()
        .map(|(s, o, columns)| {
            let says = match o {
                None => "lists no permission (not supported)".to_owned(),
                Some(_) => format!("lists {}", show_cell(o)),
            };
            let seed_says = match (s, o) {
                (None, _) => "says it is not supported".to_owned(),
                (Some(_), None) => format!("lists {}", show_cell(s)),
                (Some(s_list), Some(o_list)) => {
                    let added = names_not_in(s_list, o_list);
                    let missing = names_not_in(o_list, s_list);
                    match (added.is_empty(), missing.is_empty()) {
                        (false, true) => format!("adds {}", added.join(", ")),
                        (true, false) => format!("does not list {}", missing.join(", ")),
                        (false, false) => format!(
                            "adds {} and does not list {}",
                            added.join(", "),
                            missing.join(", ")
                        ),
                        (true, true) => format!("lists {}", show_cell(s)),
                    }
                }
            };
            format!(
                "the {} page ({}) {says} for {}; this table follows the {} page ({}), which {seed_says}",
                other_page.title(),
                other_page.name,
                and_list(&columns),
                seed_page.title(),
                seed_page.name,
            )
        })
        .collect()
}

fn min_key() -> Key {
    Key {
        kind: "",
        pattern: None,
        scope: AccountScope::Any,
    }
}

/// One row of the generated table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedRow {
    /// The operation.
    pub operation: Operation,
    /// What the row is about.
    pub key: Key,
    /// The row's title in the first page that has it.
    pub label: String,
    /// Delegated work, delegated personal, application.
    pub cells: [Cell; 3],
    /// The pages that have the row.
    pub sources: Vec<String>,
    /// Sentences for readers of the row: how other pages differ from the one it follows.
    pub notes: Vec<String>,
}

/// Merges the pages of each operation into one table: a row present in several pages
/// appears once, with every page as a source. Its cells are the seed page's where one has
/// the row (otherwise those all its pages share); another page that gives different cells
/// adds [`seed_notes`] to the row. Call on pages without disagreements: cells that differ
/// other than between a seed and another page are an error.
pub fn merge(pages: &[PageFile]) -> Result<Vec<MergedRow>> {
    let mut merged: Vec<(MergedRow, Vec<RowRef>)> = Vec::new();
    for operation in Operation::ALL {
        for (p, page) in pages
            .iter()
            .enumerate()
            .filter(|(_, p)| p.operation == operation)
        {
            for (r, row) in page.rows.iter().enumerate() {
                let here = RowRef { page: p, row: r };
                let key = classify(row)
                    .map_err(|e| anyhow::anyhow!("{} line {}: {e}", page.name, row.line))?;
                match merged
                    .iter_mut()
                    .find(|(m, _)| m.operation == operation && m.key == key)
                {
                    Some((existing, refs)) => {
                        existing.sources.push(page.name.clone());
                        refs.push(here);
                    }
                    None => merged.push((
                        MergedRow {
                            operation,
                            key,
                            label: row.title(),
                            cells: [None, None, None],
                            sources: vec![page.name.clone()],
                            notes: Vec::new(),
                        },
                        vec![here],
                    )),
                }
            }
        }
    }
    let cells = |r: RowRef| -> [Cell; 3] {
        let row = &pages[r.page].rows[r.row];
        [
            row.delegated_work.clone(),
            row.delegated_personal.clone(),
            row.application.clone(),
        ]
    };
    let mut rows = Vec::with_capacity(merged.len());
    for (mut row, refs) in merged {
        let seed = refs.iter().copied().find(|r| pages[r.page].is_seed());
        let base = seed.unwrap_or(refs[0]);
        row.cells = cells(base);
        for &other in &refs {
            if other == base || cells(other) == row.cells {
                continue;
            }
            match seed {
                Some(seed) if !pages[other.page].is_seed() => {
                    row.notes.extend(seed_notes(pages, seed, other));
                }
                _ => bail!(
                    "{} and {} disagree on {}",
                    at(pages, base),
                    at(pages, other),
                    row.key
                ),
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Rows that only some pages of an operation have: not a contradiction (an older page
/// lacks rows a newer one added), reported so a reader can see the coverage.
pub fn coverage(pages: &[PageFile], merged: &[MergedRow]) -> Vec<String> {
    let mut notes = Vec::new();
    for page in pages {
        let others = pages
            .iter()
            .filter(|p| p.operation == page.operation && p.name != page.name)
            .count();
        if others == 0 {
            continue;
        }
        let missing: Vec<String> = merged
            .iter()
            .filter(|m| m.operation == page.operation && !m.sources.contains(&page.name))
            .map(|m| m.key.to_string())
            .collect();
        if !missing.is_empty() {
            notes.push(format!(
                "{} lacks {} row(s) that other {} pages have: {}",
                page.name,
                missing.len(),
                page.operation,
                missing.join(", ")
            ));
        }
    }
    notes
}
