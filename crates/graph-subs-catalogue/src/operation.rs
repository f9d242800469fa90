//! The four operations of the subscription API, each documented on its own page.

use std::fmt;
use std::str::FromStr;

/// An operation on `/subscriptions`. Each has its own documentation page and so its own
/// permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `POST /subscriptions`.
    Create,
    /// `PATCH /subscriptions/{id}` (renewal).
    Update,
    /// `DELETE /subscriptions/{id}`.
    Delete,
    /// `GET /subscriptions`.
    List,
}

impl Operation {
    /// Every operation, in the order the tables are generated.
    pub const ALL: [Operation; 4] = [
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::List,
    ];

    /// The lowercase name used on the command line and in file names (`create`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::List => "list",
        }
    }

    /// The other operations, closest first: where to look when this operation's page
    /// documents no row for a resource.
    ///
    /// Update and Delete manage an existing subscription and their pages carry the same
    /// table; Create needs the read scope the management pages repeat; List only adds
    /// `Subscription.Read.All`, and its scenarios start from "the permissions used to
    /// create the subscription", so List falls back to Create first.
    pub fn closest_others(self) -> [Operation; 3] {
        match self {
            Operation::Create => [Operation::Update, Operation::Delete, Operation::List],
            Operation::Update => [Operation::Delete, Operation::Create, Operation::List],
            Operation::Delete => [Operation::Update, Operation::Create, Operation::List],
            Operation::List => [Operation::Create, Operation::Update, Operation::Delete],
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown operation `{0}`: expected one of create, update, delete, list")]
pub struct UnknownOperation(pub String);

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownOperation(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_name_case_insensitively() {
        for op in Operation::ALL {
            assert_eq!(op.as_str().parse::<Operation>(), Ok(op));
            assert_eq!(op.as_str().to_uppercase().parse::<Operation>(), Ok(op));
        }
        assert_eq!(
            "renew".parse::<Operation>(),
            Err(UnknownOperation("renew".into()))
        );
    }

    #[test]
    fn closest_others_lists_each_other_operation_once() {
        for op in Operation::ALL {
            let others = op.closest_others();
            assert!(!others.contains(&op));
            let mut sorted = others.to_vec();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 3, "{op}");
        }
    }
}
