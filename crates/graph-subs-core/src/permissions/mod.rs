//! Which permission a subscription operation needs, for a resource and a permission type.
//!
//! The rows come from the documentation's permission tables, one per operation page,
//! through `cargo xtask codegen` (see `docs/upstream/README.md`). [`required`] finds the
//! rows for a resolved resource; when the operation's page has no row for it, the answer
//! says so and carries the row of the closest operation that has one.

mod table;

pub use graph_subs_catalogue::permission::{
    AccountScope, Cell, Permission, PermissionType, Row, UnknownPermissionType,
};

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::Operation;
use crate::catalogue::Resource;

/// Every row of every operation, generated from `docs/upstream/`.
pub fn rows() -> &'static [Row] {
    table::ROWS
}

/// The rows of each kind and operation, in the table's order: every check of a request
/// reads them, and the table has hundreds.
fn by_kind_and_operation() -> &'static HashMap<(&'static str, Operation), Vec<&'static Row>> {
    static INDEX: OnceLock<HashMap<(&'static str, Operation), Vec<&'static Row>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: HashMap<(&'static str, Operation), Vec<&'static Row>> = HashMap::new();
        for row in rows() {
            index
                .entry((row.kind, row.operation))
                .or_default()
                .push(row);
        }
        index
    })
}

/// What an operation on a resource requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The operation asked about.
    pub operation: Operation,
    /// Whether that operation's page documents the resource. When it does not, the
    /// rows are those of [`Requirement::source_operation`].
    pub documented: bool,
    /// The operation whose page the rows come from.
    pub source_operation: Operation,
    rows: Vec<&'static Row>,
}

impl Requirement {
    /// The permissions for one permission type. For driveItem, personal accounts read
    /// the personal-OneDrive row and everyone else the OneDrive-for-Business row.
    pub fn cell(&self, permission_type: PermissionType) -> Cell {
        let preferred = match permission_type {
            PermissionType::DelegatedPersonal => AccountScope::Personal,
            PermissionType::DelegatedWork | PermissionType::Application => {
                AccountScope::Organizational
            }
        };
        [preferred, AccountScope::Any]
            .into_iter()
            .find_map(|scope| self.rows.iter().find(|r| r.account_scope == scope))
            .and_then(|row| row.cell(permission_type))
    }

    /// The documented rows the answer is made of: one, or two for account-scoped kinds.
    pub fn rows(&self) -> &[&'static Row] {
        &self.rows
    }

    /// What a reader must know about the rows the answer is made of: where another page
    /// of their operation differs from the seed (French) page they follow, one sentence
    /// each ([`Row::notes`]), without repeats. Empty when the pages agree.
    ///
    /// ```
    /// use graph_subs_core::catalogue::resolve;
    /// use graph_subs_core::permissions::required;
    /// use graph_subs_core::Operation;
    ///
    /// let resource = resolve(&"teams/{id}/channels".parse()?)?;
    /// let update = required(&resource, Operation::Update).expect("documented");
    /// assert!(update.notes()[0].starts_with("the English Update page (update.en.md) lists"));
    /// let delete = required(&resource, Operation::Delete).expect("documented");
    /// assert!(delete.notes().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn notes(&self) -> Vec<&'static str> {
        let mut notes: Vec<&'static str> = Vec::new();
        for &note in self.rows.iter().flat_map(|row| row.notes) {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        notes
    }

    /// True when some cell lists a resource-specific consent permission.
    pub fn uses_resource_specific_consent(&self) -> bool {
        PermissionType::ALL
            .into_iter()
            .filter_map(|t| self.cell(t))
            .flatten()
            .any(|p| p.resource_specific_consent)
    }
}

/// The rows of one operation's page for a resource: those scoped to its pattern, or
/// else those that name no path and so cover its whole kind.
fn rows_for(resource: &Resource, operation: Operation) -> Vec<&'static Row> {
    let of_kind = || {
        by_kind_and_operation()
            .get(&(resource.kind().name(), operation))
            .into_iter()
            .flatten()
            .copied()
    };
    let scoped: Vec<&Row> = of_kind()
        .filter(|r| r.pattern == Some(resource.pattern().path()))
        .collect();
    if !scoped.is_empty() {
        return scoped;
    }
    of_kind().filter(|r| r.pattern.is_none()).collect()
}

/// What `operation` on `resource` requires, or `None` when no page documents the
/// resource at all.
///
/// ```
/// use graph_subs_core::catalogue::resolve;
/// use graph_subs_core::permissions::{required, PermissionType};
/// use graph_subs_core::Operation;
///
/// let resource = resolve(&"chats/getAllMessages".parse()?)?;
/// let answer = required(&resource, Operation::Update).expect("documented");
/// let names: Vec<_> = answer.cell(PermissionType::Application).unwrap().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["Chat.Read.All"]);
/// assert_eq!(answer.cell(PermissionType::DelegatedWork), None); // not supported
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn required(resource: &Resource, operation: Operation) -> Option<Requirement> {
    std::iter::once(operation)
        .chain(operation.closest_others())
        .find_map(|source| {
            let rows = rows_for(resource, source);
            (!rows.is_empty()).then(|| Requirement {
                operation,
                documented: source == operation,
                source_operation: source,
                rows,
            })
        })
}
