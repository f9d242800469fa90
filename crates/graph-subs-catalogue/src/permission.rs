//! The shape of a permission table: columns, cells, rows. The rows themselves are
//! generated from the documentation into `graph-subs-core` (`permissions::rows`); keeping
//! their types here lets `cargo xtask codegen` regenerate that table whatever state it is in.

use std::fmt;
use std::str::FromStr;

use crate::Operation;

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

/// One row of one operation's table, after the errata were applied and the French and
/// English pages merged, the French (seed) page's cells winning where they differ.
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
    /// What a reader must know about where the row comes from: one sentence per way a
    /// page of the operation differs from the seed page the row follows (see
    /// `docs/upstream/README.md`). Empty when the pages agree.
    pub notes: &'static [&'static str],
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
