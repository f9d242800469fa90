//! Which permission a subscription operation needs, for a resource and a permission type.
//!
//! The rows come from the documentation's permission tables, one per operation page,
//! through `cargo xtask codegen` (see `docs/upstream/README.md`). [`required`] finds the
//! rows for a resolved resource; when the operation's page has no row for it, the answer
//! says so and carries the row of the closest operation that has one.

mod table;

use std::fmt;
use std::str::FromStr;

use crate::Operation;
use crate::catalogue::Resource;

/// The three permission columns of every table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PermissionType {
    /// Delegated, work or school account.
    DelegatedWork,
    /// Delegated, personal Microsoft account.
    DelegatedPersonal,
    /// Application (app-only).
    Application,
}

impl PermissionType {
    /// The three columns, in the tables' order.
    pub const ALL: [PermissionType; 3] = [
        PermissionType::DelegatedWork,
        PermissionType::DelegatedPersonal,
        PermissionType::Application,
    ];

    /// The command-line spelling: `delegated-work`, `delegated-personal`, `application`.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionType::DelegatedWork => "delegated-work",
            PermissionType::DelegatedPersonal => "delegated-personal",
            PermissionType::Application => "application",
        }
    }

    /// The column heading, in words.
    pub fn title(self) -> &'static str {
        match self {
            PermissionType::DelegatedWork => "Delegated (work or school account)",
            PermissionType::DelegatedPersonal => "Delegated (personal Microsoft account)",
            PermissionType::Application => "Application",
        }
    }
}

impl fmt::Display for PermissionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no permission type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown permission type `{0}`: expected one of delegated-work, delegated-personal, application"
)]
pub struct UnknownPermissionType(pub String);

impl FromStr for PermissionType {
    type Err = UnknownPermissionType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PermissionType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownPermissionType(s.to_owned()))
    }
}

/// One permission of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission {
    /// `Chat.Read.All`.
    pub name: &'static str,
    /// Marked `*` in the docs: a resource-specific consent (RSC) permission, granted by a
    /// team or chat owner rather than tenant-wide.
    pub resource_specific_consent: bool,
}

impl Permission {
    /// A tenant-wide permission.
    pub const fn new(name: &'static str) -> Permission {
        Permission {
            name,
            resource_specific_consent: false,
        }
    }

    /// A resource-specific consent permission (marked `*` in the docs).
    pub const fn resource_specific(name: &'static str) -> Permission {
        Permission {
            name,
            resource_specific_consent: true,
        }
    }
}

/// One cell of a table: `None` is "not supported"; otherwise the permissions, least
/// privileged first, as the docs order them.
pub type Cell = Option<&'static [Permission]>;

/// Which accounts a row is for. Only driveItem splits its rows this way: a personal
/// OneDrive and OneDrive for Business have a row each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountScope {
    /// The row applies whatever the account.
    Any,
    /// Personal Microsoft accounts (a personal OneDrive).
    Personal,
    /// Work or school accounts and applications (OneDrive for Business).
    Organizational,
}

/// One row of one operation's table, after the French and English pages were merged and
/// the errata applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The page's operation.
    pub operation: Operation,
    /// The catalogue kind the row is for.
    pub kind: &'static str,
    /// The catalogue pattern the row is for; `None` when the row names no path and so
    /// covers every pattern of its kind.
    pub pattern: Option<&'static str>,
    /// Which accounts the row is for.
    pub account_scope: AccountScope,
    /// The row's first cell, as documented (English where an English page has the row).
    pub label: &'static str,
    /// Delegated, work or school account.
    pub delegated_work: Cell,
    /// Delegated, personal Microsoft account.
    pub delegated_personal: Cell,
    /// Application.
    pub application: Cell,
    /// The vendored pages the row comes from (`update.fr.txt`...).
    pub sources: &'static [&'static str],
}

impl Row {
    /// The cell of one column.
    pub fn cell(&self, permission_type: PermissionType) -> Cell {
        match permission_type {
            PermissionType::DelegatedWork => self.delegated_work,
            PermissionType::DelegatedPersonal => self.delegated_personal,
            PermissionType::Application => self.application,
        }
    }
}

/// Every row of every operation, generated from `docs/upstream/`.
pub fn rows() -> &'static [Row] {
    table::ROWS
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
    let kind = resource.kind().name();
    let of_kind = || {
        rows()
            .iter()
            .filter(move |r| r.operation == operation && r.kind == kind)
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
