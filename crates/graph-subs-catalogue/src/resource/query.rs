//! The query string of a resource path: `model=A`, `$filter=...`,
//! `notifyOnUserSpecificProperties=true`.

use std::fmt;

/// A payment model for the Teams limited APIs, given as `model=A` or `model=B` in the
/// resource's query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaymentModel {
    /// `model=A`: for apps that need security and compliance functions.
    A,
    /// `model=B`: for apps that do not.
    B,
}

impl PaymentModel {
    /// `"A"` or `"B"`, as written in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentModel::A => "A",
            PaymentModel::B => "B",
        }
    }
}

impl fmt::Display for PaymentModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters after `?`, in the order written. Values are kept as written, so the
/// path prints back exactly; the parameters Graph gives a meaning to are checked when
/// parsed and read through typed accessors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Query {
    params: Vec<(String, String)>,
}

/// What is wrong with a query string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `?` followed by nothing.
    #[error("the query string after `?` is empty")]
    Empty,
    /// `a=1&&b=2`, or `=x`.
    #[error("query parameter {position} has no name")]
    MissingName {
        /// 1-based position of the parameter.
        position: usize,
    },
    /// `model` with no `=`.
    #[error("query parameter `{}` has no value", crate::quote::shortened(.name))]
    MissingValue {
        /// The parameter as written.
        name: String,
    },
    /// The same known parameter twice.
    #[error("query parameter `{}` is given twice", crate::quote::shortened(.name))]
    Duplicate {
        /// The parameter as written the second time.
        name: String,
    },
    /// `model=C`.
    #[error("`{}` is not a payment model", crate::quote::shortened(.value))]
    InvalidModel {
        /// The value as written.
        value: String,
    },
    /// `notifyOnUserSpecificProperties=yes`.
    #[error("`notifyOnUserSpecificProperties` must be `true` or `false`, not `{}`", crate::quote::shortened(.value))]
    InvalidBoolean {
        /// The value as written.
        value: String,
    },
    /// A control character (a line break, a tab...) or an invisible one (a zero-width
    /// space...) in the query string.
    #[error("the query string contains the invisible or control character {}", crate::quote::shortened(&.found.to_string()))]
    ControlCharacter {
        /// The character found.
        found: char,
    },
}

impl QueryError {
    /// How to fix it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            QueryError::Empty => "remove the `?`, or add parameters such as `model=B`".into(),
            QueryError::MissingName { .. } => {
                "separate parameters with a single `&` and write each as `name=value`".into()
            }
            QueryError::MissingValue { name } => {
                format!("write `{}=value`", crate::quote::shortened(name))
            }
            QueryError::Duplicate { name } => format!("keep one `{name}` parameter"),
            QueryError::InvalidModel { .. } => {
                "use `model=A` or `model=B`, or leave `model` out for evaluation mode".into()
            }
            QueryError::InvalidBoolean { .. } => {
                "write `notifyOnUserSpecificProperties=true`".into()
            }
            QueryError::ControlCharacter { found } => match crate::quote::describe(*found) {
                Some(s) => format!("delete {s}"),
                None => "remove line breaks and tabs from the resource".into(),
            },
        })
    }
}

const MODEL: &str = "model";
const FILTER: &str = "$filter";
const NOTIFY_ON_USER_SPECIFIC_PROPERTIES: &str = "notifyOnUserSpecificProperties";
/// Parameters Graph reads; given twice, the request is ambiguous.
const KNOWN: [&str; 3] = [MODEL, FILTER, NOTIFY_ON_USER_SPECIFIC_PROPERTIES];

impl Query {
    /// Parses the text after `?`.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.is_empty() {
            return Err(QueryError::Empty);
        }
        if let Some(found) = text
            .chars()
            .find(|&c| c.is_control() || crate::quote::is_invisible(c))
        {
            return Err(QueryError::ControlCharacter { found });
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for (index, param) in text.split('&').enumerate() {
            let Some((name, value)) = param.split_once('=') else {
                if param.is_empty() {
                    return Err(QueryError::MissingName {
                        position: index + 1,
                    });
                }
                return Err(QueryError::MissingValue { name: param.into() });
            };
            if name.is_empty() {
                return Err(QueryError::MissingName {
                    position: index + 1,
                });
            }
            let known = KNOWN.iter().any(|k| k.eq_ignore_ascii_case(name));
            if known && params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(QueryError::Duplicate { name: name.into() });
            }
            if name.eq_ignore_ascii_case(MODEL) {
                parse_model(value)?;
            }
            if name.eq_ignore_ascii_case(NOTIFY_ON_USER_SPECIFIC_PROPERTIES) {
                parse_bool(value)?;
            }
            params.push((name.into(), value.into()));
        }
        Ok(Query { params })
    }

    /// True when there is no query string.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The parameters as written, in order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The value of a parameter, its name compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `model=A` or `model=B`; `None` when absent (evaluation mode).
    pub fn payment_model(&self) -> Option<PaymentModel> {
        self.get(MODEL).and_then(|v| parse_model(v).ok())
    }

    /// The `$filter` expression, as written.
    pub fn filter(&self) -> Option<&str> {
        self.get(FILTER)
    }

    /// The `notifyOnUserSpecificProperties` flag; `None` when absent.
    pub fn notify_on_user_specific_properties(&self) -> Option<bool> {
        self.get(NOTIFY_ON_USER_SPECIFIC_PROPERTIES)
            .and_then(|v| parse_bool(v).ok())
    }

    /// Parameters Graph gives no meaning to on a subscription resource.
    pub fn unknown_params(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !KNOWN.iter().any(|k| k.eq_ignore_ascii_case(n)))
    }
}

fn parse_model(value: &str) -> Result<PaymentModel, QueryError> {
    match value {
        "A" | "a" => Ok(PaymentModel::A),
        "B" | "b" => Ok(PaymentModel::B),
        _ => Err(QueryError::InvalidModel {
            value: value.into(),
        }),
    }
}

fn parse_bool(value: &str) -> Result<bool, QueryError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(QueryError::InvalidBoolean {
            value: value.into(),
        })
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Payment model, filter, notifyOnUserSpecificProperties.
    type Read<'a> = (Option<PaymentModel>, Option<&'a str>, Option<bool>);

    fn check(text: &str, expected: Result<Read<'_>, QueryError>) {
        let got = Query::parse(text).map(|q| {
            (
                q.payment_model(),
                q.filter().map(str::to_owned),
                q.notify_on_user_specific_properties(),
            )
        });
        let expected = expected.map(|(m, f, n)| (m, f.map(str::to_owned), n));
        assert_eq!(got, expected, "{text}");
    }

    #[test]
    fn reads_the_parameters_graph_knows() {
        check("model=A", Ok((Some(PaymentModel::A), None, None)));
        check("model=b", Ok((Some(PaymentModel::B), None, None)));
        check(
            "$filter=status eq 'New'",
            Ok((None, Some("status eq 'New'"), None)),
        );
        check(
            "$filter=id in ('a','b')&model=B",
            Ok((Some(PaymentModel::B), Some("id in ('a','b')"), None)),
        );
        check(
            "notifyOnUserSpecificProperties=true",
            Ok((None, None, Some(true))),
        );
        check(
            "NotifyOnUserSpecificProperties=False",
            Ok((None, None, Some(false))),
        );
        check("other=1", Ok((None, None, None)));
    }

    #[test]
    fn rejects_malformed_parameters() {
        check("", Err(QueryError::Empty));
        check(
            "model=C",
            Err(QueryError::InvalidModel { value: "C".into() }),
        );
        check("model=", Err(QueryError::InvalidModel { value: "".into() }));
        check(
            "model",
            Err(QueryError::MissingValue {
                name: "model".into(),
            }),
        );
        check("a=1&&b=2", Err(QueryError::MissingName { position: 2 }));
        check("=x", Err(QueryError::MissingName { position: 1 }));
        check(
            "model=A&Model=B",
            Err(QueryError::Duplicate {
                name: "Model".into(),
            }),
        );
        check(
            "notifyOnUserSpecificProperties=yes",
            Err(QueryError::InvalidBoolean {
                value: "yes".into(),
            }),
        );
        check(
            "model=A\n",
            Err(QueryError::ControlCharacter { found: '\n' }),
        );
    }

    #[test]
    fn unknown_parameters_are_kept_and_listed() {
        let q = Query::parse("model=A&$select=id&x=").unwrap();
        assert_eq!(q.unknown_params().collect::<Vec<_>>(), ["$select", "x"]);
        assert_eq!(q.to_string(), "model=A&$select=id&x=");
    }
}
