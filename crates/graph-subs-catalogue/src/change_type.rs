//! `changeType`: which changes a subscription notifies about, comma-separated.

use std::fmt;
use std::str::FromStr;

/// One kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeType {
    /// An item was created.
    Created,
    /// An item was updated.
    Updated,
    /// An item was deleted.
    Deleted,
}

impl ChangeType {
    /// As written in `changeType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Created => "created",
            ChangeType::Updated => "updated",
            ChangeType::Deleted => "deleted",
        }
    }
}

impl fmt::Display for ChangeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `changeType` value: one or more change types, each once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangeTypes(Vec<ChangeType>);

/// Why a `changeType` value is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeTypeError {
    /// `""`.
    #[error("`changeType` is empty")]
    Empty,
    /// `created,,updated` or a trailing comma.
    #[error("`changeType` has an empty item")]
    EmptyItem,
    /// `created,modified`.
    #[error("`{}` is not a change type", crate::quote::shortened(.0))]
    Unknown(String),
    /// `created,created`.
    #[error("`{}` is listed twice", crate::quote::shortened(.0))]
    Duplicate(String),
}

impl ChangeTypeError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            ChangeTypeError::Unknown(word) if word.eq_ignore_ascii_case("modified") => {
                "Graph calls it `updated`".into()
            }
            ChangeTypeError::Unknown(word) if crate::quote::suspicious(word).is_some() => format!(
                "it contains {}: retype it as one of created, updated, deleted",
                crate::quote::suspicious(word).map(|s| s.to_string()).unwrap_or_default()
            ),
            _ => "write one or more of created, updated, deleted, separated by commas: `created,updated`".into(),
        }
    }
}

impl ChangeTypes {
    /// The change types, in the order written.
    pub fn iter(&self) -> impl Iterator<Item = ChangeType> + '_ {
        self.0.iter().copied()
    }
}

impl FromStr for ChangeTypes {
    type Err = ChangeTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(ChangeTypeError::Empty);
        }
        let mut types = Vec::new();
        for word in s.split(',').map(str::trim) {
            if word.is_empty() {
                return Err(ChangeTypeError::EmptyItem);
            }
            let t = [
                ChangeType::Created,
                ChangeType::Updated,
                ChangeType::Deleted,
            ]
            .into_iter()
            .find(|t| t.as_str() == word)
            .ok_or_else(|| ChangeTypeError::Unknown(word.to_owned()))?;
            if types.contains(&t) {
                return Err(ChangeTypeError::Duplicate(word.to_owned()));
            }
            types.push(t);
        }
        Ok(ChangeTypes(types))
    }
}

impl fmt::Display for ChangeTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|t| t.as_str()).collect();
        f.write_str(&words.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comma_separated_change_types() {
        let ok = |s: &str| s.parse::<ChangeTypes>().map(|c| c.to_string());
        assert_eq!(ok("created,updated"), Ok("created,updated".into()));
        assert_eq!(ok("deleted, updated"), Ok("deleted,updated".into()));
        assert_eq!(ok(""), Err(ChangeTypeError::Empty));
        assert_eq!(ok("created,"), Err(ChangeTypeError::EmptyItem));
        assert_eq!(
            ok("created,modified"),
            Err(ChangeTypeError::Unknown("modified".into()))
        );
        assert_eq!(
            ok("Created"),
            Err(ChangeTypeError::Unknown("Created".into()))
        );
        assert_eq!(
            ok("updated,updated"),
            Err(ChangeTypeError::Duplicate("updated".into()))
        );
        assert_eq!(
            ChangeTypeError::Unknown("modified".into()).hint(),
            "Graph calls it `updated`"
        );
    }
}
