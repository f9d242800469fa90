//! Resource paths: the `resource` property of a subscription, such as
//! `me/mailFolders('Inbox')/messages` or `chats/getAllMessages?model=A`.
//!
//! [`ResourcePath`] is syntax only: it knows segments, keys and the query string, not
//! which resources exist. [`crate::catalogue::resolve`] decides what a path names.

mod query;

use std::fmt;
use std::str::FromStr;

pub use query::{MAX_PARAMETERS, PaymentModel, Query, QueryError};

use crate::quote::{self, shortened};

/// A resource path, parsed.
///
/// Paths are relative to the Graph version root and may start with `/`. A segment is a
/// name (`messages`, `19:abc@thread.v2`, `{id}`), a name with a key in parentheses
/// (`groups('{id}')`, `mailFolders('Inbox')`), or a OneDrive path address
/// (`root:/Documents/Reports:`). Printing a path gives its canonical text: no leading `/`,
/// everything else as written, so that `parse(print(p)) == p`.
///
/// ```
/// use graph_subs_catalogue::resource::{PaymentModel, ResourcePath};
///
/// let path: ResourcePath = "/chats/getAllMessages?model=A".parse()?;
/// assert_eq!(path.segments().len(), 2);
/// assert_eq!(path.query().payment_model(), Some(PaymentModel::A));
/// assert_eq!(path.to_string(), "chats/getAllMessages?model=A");
/// # Ok::<(), graph_subs_catalogue::resource::PathError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourcePath {
    segments: Vec<Segment>,
    query: Query,
}

/// One segment of a [`ResourcePath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A plain segment: `messages`, `getAllMessages`, an id such as `19:abc@thread.v2`.
    Name(String),
    /// A segment with a key in parentheses: `groups('{id}')` has name `groups` and key
    /// `'{id}'` (quotes kept as written).
    Keyed {
        /// The text before `(`.
        name: String,
        /// The text between the parentheses, as written.
        key: String,
    },
    /// A OneDrive path address: `root:/Documents/Reports:` has name `root` and path
    /// `/Documents/Reports`.
    Addressed {
        /// The text before `:/`.
        name: String,
        /// The path between the two colons, starting with `/`.
        path: String,
    },
}

impl Segment {
    /// The segment's name: the whole plain segment, or the text before its key or address.
    pub fn name(&self) -> &str {
        match self {
            Segment::Name(name) | Segment::Keyed { name, .. } | Segment::Addressed { name, .. } => {
                name
            }
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Name(name) => f.write_str(name),
            Segment::Keyed { name, key } => write!(f, "{name}({key})"),
            Segment::Addressed { name, path } => write!(f, "{name}:{path}:"),
        }
    }
}

/// Why a string is not a resource path. Positions count segments from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Nothing, white space, or a lone `/`.
    #[error("the resource path is empty")]
    Empty,
    /// A full URL where a path relative to the Graph root is expected.
    #[error("the resource is a URL, not a path relative to the Microsoft Graph root")]
    AbsoluteUrl {
        /// The path the URL names, when it could be read.
        relative: Option<String>,
    },
    /// The path starts with `v1.0/` or `beta/`.
    #[error("the resource path starts with the API version `{version}`")]
    VersionPrefix {
        /// `v1.0` or `beta`, as written.
        version: String,
        /// The path without it.
        relative: String,
    },
    /// `users//messages`, or a trailing `/`.
    #[error("segment {position} of the resource path is empty")]
    EmptySegment {
        /// Which segment.
        position: usize,
    },
    /// A character no resource path contains (white space, `#`, `"`, `\`...).
    #[error(
        "segment {position} `{}` contains {}, which a resource path cannot contain",
        shortened(.segment),
        shown_char(*.found)
    )]
    InvalidCharacter {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
        /// The offending character.
        found: char,
    },
    /// `groups('{id}'/conversations`.
    #[error("segment {position} `{}` opens a parenthesis it never closes", shortened(.segment))]
    UnclosedParenthesis {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// `groups{id})`.
    #[error("segment {position} `{}` closes a parenthesis it never opened", shortened(.segment))]
    UnopenedParenthesis {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// `mailFolders('Inbox)`.
    #[error("segment {position} `{}` opens a quote it never closes", shortened(.segment))]
    UnclosedQuote {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// `groups('{id}')x`.
    #[error("segment {position} `{}` has text after its closing parenthesis", shortened(.segment))]
    TextAfterKey {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// `root:/folder:x`.
    #[error("segment {position} `{}` has text after the `:` that closes its OneDrive path address", shortened(.segment))]
    TextAfterAddress {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// `('{id}')`.
    #[error("segment {position} `{}` has a key but no name before `(`", shortened(.segment))]
    MissingName {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// `root:/Documents` with no closing `:`, or `root:/:`.
    #[error("segment {position} `{}` starts a OneDrive path address that does not end with `:`", shortened(.segment))]
    UnclosedAddress {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// `root:` at the end of the path.
    #[error("segment {position} `{}` ends with `:`", shortened(.segment))]
    TrailingColon {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// `users/..`, `users/%2e%2e/messages`, `root:/a/../b:`: a segment that would move up
    /// or stay in place. Graph does not resolve them; they hide what is addressed.
    #[error("segment {position} `{}` is a dot segment (`.` or `..`)", shortened(.segment))]
    DotSegment {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// More than [`MAX_SEGMENTS`] segments.
    #[error("the resource path has more than {MAX_SEGMENTS} segments")]
    TooManySegments,
    /// `users('')`, `users()`: a key with nothing in it.
    #[error("segment {position} `{}` has an empty key", shortened(.segment))]
    EmptyKey {
        /// Which segment.
        position: usize,
        /// The segment as written.
        segment: String,
    },
    /// The query string is malformed.
    #[error("invalid query string: {0}")]
    Query(#[from] QueryError),
}

impl PathError {
    /// How to fix it, in one sentence.
    pub fn hint(&self) -> Option<String> {
        match self {
            PathError::Empty => Some("give a resource such as `me/messages`".into()),
            PathError::AbsoluteUrl { relative: Some(r) } => {
                Some(format!("use `{}`", shown_relative(r)))
            }
            PathError::AbsoluteUrl { relative: None } => Some(
                "drop the scheme, host and API version: `me/messages`, not `https://graph.microsoft.com/v1.0/me/messages`".into(),
            ),
            PathError::VersionPrefix { relative, .. } => Some(format!(
                "the API version is chosen by the endpoint, not the resource: use `{}`",
                shortened(relative)
            )),
            PathError::EmptySegment { .. } => {
                Some("remove the doubled or trailing `/`".into())
            }
            PathError::InvalidCharacter { found, .. } => Some(match quote::describe(*found) {
                Some(s) if s.looks_like.is_none() => format!(
                    "delete the invisible {}: it was probably pasted with the path; retype the segment",
                    shown_char(*found)
                ),
                _ => "spaces and quotes belong only inside a key such as `mailFolders('Sent Items')` or after `?`".into(),
            }),
            PathError::DotSegment { .. } => Some(
                "write the path the subscription is for, without `.` or `..` segments (plain or percent-encoded)".into(),
            ),
            PathError::TooManySegments => Some(
                "give the path of one resource, such as `users/{id}/messages`".into(),
            ),
            PathError::EmptyKey { .. } => Some(
                "put the id between the parentheses, `users('{id}')`, or drop them: `users/{id}`".into(),
            ),
            PathError::UnclosedParenthesis { .. } => Some("close the key with `)`".into()),
            PathError::UnopenedParenthesis { .. } => {
                Some("write a key as `name('value')`".into())
            }
            PathError::UnclosedQuote { .. } => Some("close the quote with `'`".into()),
            PathError::TextAfterKey { .. } => {
                Some("put a `/` after the `)` that closes the key".into())
            }
            PathError::TextAfterAddress { .. } => Some(
                "put a `/` after the `:` that closes the address: `root:/folder:/children`".into(),
            ),
            PathError::MissingName { .. } => {
                Some("write the collection before the key: `groups('{id}')`".into())
            }
            PathError::UnclosedAddress { .. } => {
                Some("write a OneDrive path address as `root:/folder/subfolder:`".into())
            }
            PathError::TrailingColon { .. } => Some(
                "remove the `:`, or write a OneDrive path address as `root:/folder:`".into(),
            ),
            PathError::Query(q) => q.hint(),
        }
    }
}

/// Characters no segment name may contain. `(`, `)`, `/` and `?` are structure.
fn forbidden_in_name(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || quote::is_invisible(c)
        || matches!(c, '"' | '#' | '\\' | '<' | '>' | '`' | '|' | '^')
}

/// A character in a message: its Unicode name when it would be misread, else quoted.
fn shown_char(c: char) -> String {
    match quote::describe(c) {
        Some(s) => format!("U+{:04X} {}", u32::from(c), s.name),
        None => format!("{c:?}"),
    }
}

/// `.`, `..`, or either with its dots percent-encoded (`%2e%2E`).
fn is_dot_segment(name: &str) -> bool {
    let mut rest = name.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() && dots <= 2 {
        if rest[0] == b'.' {
            rest = &rest[1..];
        } else if rest.len() >= 3
            && rest[0] == b'%'
            && rest[1] == b'2'
            && rest[2].eq_ignore_ascii_case(&b'e')
        {
            rest = &rest[3..];
        } else {
            return false;
        }
        dots += 1;
    }
    rest.is_empty() && (1..=2).contains(&dots)
}

/// The most segments a resource path may have: no resource has more than a dozen, and
/// the limit bounds the work on hostile input.
pub const MAX_SEGMENTS: usize = 64;

const VERSIONS: [&str; 2] = ["v1.0", "beta"];

impl ResourcePath {
    /// Parses a resource path. Same as `str::parse`.
    pub fn parse(text: &str) -> Result<ResourcePath, PathError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        let unslashed = text.trim_start_matches('/');
        let starts = |prefix: &str| {
            unslashed
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        };
        if starts("https://") || starts("http://") {
            return Err(PathError::AbsoluteUrl {
                relative: relative_part_of_url(unslashed),
            });
        }
        let (path, query) = split_query(text);
        let path = path.strip_prefix('/').unwrap_or(path);
        if path.is_empty() {
            return Err(PathError::Empty);
        }
        let segments = parse_segments(path)?;
        if let Some(Segment::Name(first)) = segments.first()
            && VERSIONS.iter().any(|v| v.eq_ignore_ascii_case(first))
        {
            let rest = &path[first.len()..];
            return Err(PathError::VersionPrefix {
                version: first.clone(),
                relative: rest.trim_start_matches('/').to_owned(),
            });
        }
        let query = match query {
            Some(q) => Query::parse(q)?,
            None => Query::default(),
        };
        Ok(ResourcePath { segments, query })
    }

    /// The segments, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The query string.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The same path with other segments (used to normalise the case of known names).
    pub(crate) fn with_segments(&self, segments: Vec<Segment>) -> ResourcePath {
        ResourcePath {
            segments,
            query: self.query.clone(),
        }
    }
}

impl FromStr for ResourcePath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourcePath::parse(s)
    }
}

impl fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            write!(f, "{segment}")?;
        }
        if !self.query.is_empty() {
            write!(f, "?{}", self.query)?;
        }
        Ok(())
    }
}

/// A path taken from a URL, as a hint shows it: the query values Graph reads
/// (`model`, `$filter`, `notifyOnUserSpecificProperties`) kept, any other redacted, since a
/// pasted URL may carry a key.
fn shown_relative(relative: &str) -> String {
    let (path, query) = match relative.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (relative, None),
    };
    let mut shown = shortened(path).to_string();
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, value)) if query::is_known(name) => {
                    format!("{}={}", shortened(name), shortened(value))
                }
                Some((name, _)) => format!("{}=***", shortened(name)),
                None => "***".to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&params.join("&"));
    }
    // Each part is short, but a URL may have any number of them.
    quote::shortened_to(&shown, 200).to_string()
}

/// `https://graph.microsoft.com/v1.0/me/messages` → `me/messages`.
fn relative_part_of_url(url: &str) -> Option<String> {
    let after_scheme = url.split_once("://")?.1;
    // User-info may hold anything, `/` included: the host starts after the last `@`.
    let after_scheme = after_scheme
        .rsplit_once('@')
        .map_or(after_scheme, |(_, h)| h);
    let (_host, rest) = after_scheme.split_once('/')?;
    let (version, rest) = rest.split_once('/')?;
    VERSIONS
        .iter()
        .any(|v| v.eq_ignore_ascii_case(version))
        .then(|| rest.to_owned())
        .filter(|r| !r.is_empty())
}

/// Splits at the first `?` outside parentheses and quotes.
fn split_query(text: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '\'' if depth > 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            '?' if depth == 0 && !quoted => return (&text[..i], Some(&text[i + 1..])),
            _ => {}
        }
    }
    (text, None)
}

fn parse_segments(path: &str) -> Result<Vec<Segment>, PathError> {
    let mut segments = Vec::new();
    let mut rest = path;
    loop {
        let position = segments.len() + 1;
        if position > MAX_SEGMENTS {
            return Err(PathError::TooManySegments);
        }
        let (segment, after) = parse_segment(rest, position)?;
        segments.push(segment);
        match after {
            None => return Ok(segments),
            Some("") => {
                return Err(PathError::EmptySegment {
                    position: position + 1,
                });
            }
            Some(next) => rest = next,
        }
    }
}

/// Parses one segment from the start of `text`. Returns the segment and, when a `/`
/// follows, the text after that `/`.
fn parse_segment(text: &str, position: usize) -> Result<(Segment, Option<&str>), PathError> {
    // The segment as written, for error messages: up to the next `/` outside parentheses.
    let written = |from: &str| -> String {
        let mut depth = 0usize;
        for (i, c) in from.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                '/' if depth == 0 => return from[..i].to_owned(),
                _ => {}
            }
        }
        from.to_owned()
    };

    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '/' => {
                if i == 0 {
                    return Err(PathError::EmptySegment { position });
                }
                return name_segment(&text[..i], position).map(|s| (s, Some(&text[i + 1..])));
            }
            '(' => {
                let name = leading_name(&text[..i], position, &written(text))?;
                let close = find_closing_paren(&text[i..], position, &written(text))? + i;
                let key = &text[i + 1..close];
                if key.is_empty() || key == "''" {
                    return Err(PathError::EmptyKey {
                        position,
                        segment: written(text),
                    });
                }
                let segment = Segment::Keyed {
                    name: name.to_owned(),
                    key: key.to_owned(),
                };
                return followed_by(segment, &text[close + 1..], position, written(text));
            }
            ')' => {
                return Err(PathError::UnopenedParenthesis {
                    position,
                    segment: written(text),
                });
            }
            ':' if matches!(chars.peek(), Some((_, '/'))) => {
                let name = leading_name(&text[..i], position, &written(text))?;
                let address_start = i + 1;
                let Some(close) = text[address_start..].find(':').map(|j| j + address_start) else {
                    return Err(PathError::UnclosedAddress {
                        position,
                        segment: text.to_owned(),
                    });
                };
                let address = &text[address_start..close];
                let whole = &text[..=close];
                if address.len() < 2 || address.chars().any(char::is_control) {
                    return Err(PathError::UnclosedAddress {
                        position,
                        segment: whole.to_owned(),
                    });
                }
                if let Some(found) = address.chars().find(|&c| quote::is_invisible(c)) {
                    return Err(PathError::InvalidCharacter {
                        position,
                        segment: whole.to_owned(),
                        found,
                    });
                }
                if address.split('/').any(is_dot_segment) {
                    return Err(PathError::DotSegment {
                        position,
                        segment: whole.to_owned(),
                    });
                }
                let segment = Segment::Addressed {
                    name: name.to_owned(),
                    path: address.to_owned(),
                };
                let after = &text[close + 1..];
                if !after.is_empty() && !after.starts_with('/') {
                    return Err(PathError::TextAfterAddress {
                        position,
                        segment: written(text),
                    });
                }
                return followed_by(segment, after, position, whole.to_owned());
            }
            _ => {}
        }
    }
    name_segment(text, position).map(|s| (s, None))
}

/// The name before a key or a path address: present, and of valid characters.
fn leading_name<'a>(name: &'a str, position: usize, segment: &str) -> Result<&'a str, PathError> {
    if name.is_empty() {
        return Err(PathError::MissingName {
            position,
            segment: segment.to_owned(),
        });
    }
    check_name(name, position, segment)?;
    Ok(name)
}

/// After a key or a path address comes the end of the path or a `/`.
fn followed_by(
    segment: Segment,
    after: &str,
    position: usize,
    written: String,
) -> Result<(Segment, Option<&str>), PathError> {
    match after.strip_prefix('/') {
        _ if after.is_empty() => Ok((segment, None)),
        Some(rest) => Ok((segment, Some(rest))),
        None => Err(PathError::TextAfterKey {
            position,
            segment: written,
        }),
    }
}

fn name_segment(name: &str, position: usize) -> Result<Segment, PathError> {
    check_name(name, position, name)?;
    if is_dot_segment(name) {
        return Err(PathError::DotSegment {
            position,
            segment: name.to_owned(),
        });
    }
    if name.ends_with(':') {
        return Err(PathError::TrailingColon {
            position,
            segment: name.to_owned(),
        });
    }
    Ok(Segment::Name(name.to_owned()))
}

fn check_name(name: &str, position: usize, segment: &str) -> Result<(), PathError> {
    match name.chars().find(|&c| forbidden_in_name(c)) {
        Some(found) => Err(PathError::InvalidCharacter {
            position,
            segment: segment.to_owned(),
            found,
        }),
        None => Ok(()),
    }
}

/// `text` starts with `(`; returns the byte offset of the matching `)`.
fn find_closing_paren(text: &str, position: usize, segment: &str) -> Result<usize, PathError> {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        if c.is_control() || quote::is_invisible(c) {
            return Err(PathError::InvalidCharacter {
                position,
                segment: segment.to_owned(),
                found: c,
            });
        }
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
    }
    if quoted {
        Err(PathError::UnclosedQuote {
            position,
            segment: segment.to_owned(),
        })
    } else {
        Err(PathError::UnclosedParenthesis {
            position,
            segment: segment.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Segment {
        Segment::Name(s.into())
    }
    fn keyed(n: &str, k: &str) -> Segment {
        Segment::Keyed {
            name: n.into(),
            key: k.into(),
        }
    }

    fn check(text: &str, segments: &[Segment], canonical: &str) {
        let path = ResourcePath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(path.segments(), segments, "{text}");
        assert_eq!(path.to_string(), canonical, "{text}");
        assert_eq!(ResourcePath::parse(canonical).as_ref(), Ok(&path), "{text}");
    }

    fn check_err(text: &str, expected: PathError) {
        let got = ResourcePath::parse(text);
        assert_eq!(got, Err(expected.clone()), "{text}");
        assert!(expected.hint().is_some(), "{text}: every error has a hint");
    }

    #[test]
    fn parses_the_shapes_the_docs_use() {
        check(
            "me/messages",
            &[name("me"), name("messages")],
            "me/messages",
        );
        check("/users", &[name("users")], "users");
        check(
            "groups('{id}')/conversations",
            &[keyed("groups", "'{id}'"), name("conversations")],
            "groups('{id}')/conversations",
        );
        check(
            "me/mailFolders('Inbox')/messages",
            &[
                name("me"),
                keyed("mailFolders", "'Inbox'"),
                name("messages"),
            ],
            "me/mailFolders('Inbox')/messages",
        );
        check(
            "teams/19:abc@thread.v2/channels/19:def@thread.tacv2/messages",
            &[
                name("teams"),
                name("19:abc@thread.v2"),
                name("channels"),
                name("19:def@thread.tacv2"),
                name("messages"),
            ],
            "teams/19:abc@thread.v2/channels/19:def@thread.tacv2/messages",
        );
        check(
            "/communications/presences?$filter=id in ('a','b')",
            &[name("communications"), name("presences")],
            "communications/presences?$filter=id in ('a','b')",
        );
        check(
            "sites/{site-id}/lists/{list-id}",
            &[
                name("sites"),
                name("{site-id}"),
                name("lists"),
                name("{list-id}"),
            ],
            "sites/{site-id}/lists/{list-id}",
        );
        check(
            "me/drive/root:/Documents/Q3 Reports:",
            &[
                name("me"),
                name("drive"),
                Segment::Addressed {
                    name: "root".into(),
                    path: "/Documents/Q3 Reports".into(),
                },
            ],
            "me/drive/root:/Documents/Q3 Reports:",
        );
        check(
            "solutions/virtualEvents/events/getEventsFromOrganizers(organizerIds=['id1', 'id2'])",
            &[
                name("solutions"),
                name("virtualEvents"),
                name("events"),
                keyed("getEventsFromOrganizers", "organizerIds=['id1', 'id2']"),
            ],
            "solutions/virtualEvents/events/getEventsFromOrganizers(organizerIds=['id1', 'id2'])",
        );
        check(
            "  me/mailFolders('Sent Items')/messages ",
            &[
                name("me"),
                keyed("mailFolders", "'Sent Items'"),
                name("messages"),
            ],
            "me/mailFolders('Sent Items')/messages",
        );
    }

    #[test]
    fn messages_name_invisible_characters_and_cut_long_segments() {
        let e = ResourcePath::parse("me/\u{200b}messages").unwrap_err();
        assert_eq!(
            e.to_string(),
            "segment 2 `\\u{200b}messages` contains U+200B ZERO WIDTH SPACE, which a resource path cannot contain"
        );
        assert!(
            e.hint()
                .unwrap()
                .contains("invisible U+200B ZERO WIDTH SPACE"),
            "{:?}",
            e.hint()
        );
        let long = format!("me/{}#", "x".repeat(1_000_000));
        let message = ResourcePath::parse(&long).unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
        assert!(message.contains("(999941 more characters)"), "{message}");
        assert!(ResourcePath::parse("users/o'brien@contoso.com/messages").is_ok());
        assert!(ResourcePath::parse("users/.well/messages").is_ok());
    }

    #[test]
    fn reads_the_query_string() {
        let p = ResourcePath::parse("chats/getAllMessages?model=A").unwrap();
        assert_eq!(p.query().payment_model(), Some(PaymentModel::A));
        let p = ResourcePath::parse("chats/{id}?notifyOnUserSpecificProperties=true").unwrap();
        assert_eq!(p.query().notify_on_user_specific_properties(), Some(true));
        let p = ResourcePath::parse("mailFolders('a?b')/messages").unwrap();
        assert!(p.query().is_empty(), "a `?` inside a key is not a query");
    }

    #[test]
    fn names_the_offending_segment() {
        check_err("", PathError::Empty);
        check_err(" / ", PathError::Empty);
        check_err("/?model=A", PathError::Empty);
        check_err(
            "https://graph.microsoft.com/v1.0/me/messages",
            PathError::AbsoluteUrl {
                relative: Some("me/messages".into()),
            },
        );
        check_err(
            "http://example.com",
            PathError::AbsoluteUrl { relative: None },
        );
        check_err(
            "v1.0/me/messages",
            PathError::VersionPrefix {
                version: "v1.0".into(),
                relative: "me/messages".into(),
            },
        );
        check_err("users//messages", PathError::EmptySegment { position: 2 });
        check_err("me/messages/", PathError::EmptySegment { position: 3 });
        check_err(
            "me/my messages",
            PathError::InvalidCharacter {
                position: 2,
                segment: "my messages".into(),
                found: ' ',
            },
        );
        check_err(
            "me/messages#top",
            PathError::InvalidCharacter {
                position: 2,
                segment: "messages#top".into(),
                found: '#',
            },
        );
        check_err(
            "groups('{id}'/conversations",
            PathError::UnclosedParenthesis {
                position: 1,
                segment: "groups('{id}'/conversations".into(),
            },
        );
        check_err(
            "me/mailFolders('Inbox)/messages",
            PathError::UnclosedQuote {
                position: 2,
                segment: "mailFolders('Inbox)".into(),
            },
        );
        check_err(
            "groups{id})/conversations",
            PathError::UnopenedParenthesis {
                position: 1,
                segment: "groups{id})".into(),
            },
        );
        check_err(
            "groups('{id}')x/conversations",
            PathError::TextAfterKey {
                position: 1,
                segment: "groups('{id}')x".into(),
            },
        );
        check_err(
            "('{id}')/conversations",
            PathError::MissingName {
                position: 1,
                segment: "('{id}')".into(),
            },
        );
        check_err(
            "me/drive/root:/Documents",
            PathError::UnclosedAddress {
                position: 3,
                segment: "root:/Documents".into(),
            },
        );
        check_err(
            "me/drive/root:",
            PathError::TrailingColon {
                position: 3,
                segment: "root:".into(),
            },
        );
        check_err(
            "users/..",
            PathError::DotSegment {
                position: 2,
                segment: "..".into(),
            },
        );
        check_err(
            "users/%2e%2E/messages",
            PathError::DotSegment {
                position: 2,
                segment: "%2e%2E".into(),
            },
        );
        check_err(
            "./me/messages",
            PathError::DotSegment {
                position: 1,
                segment: ".".into(),
            },
        );
        check_err(
            "me/drive/root:/Documents/../Secret:",
            PathError::DotSegment {
                position: 3,
                segment: "root:/Documents/../Secret:".into(),
            },
        );
        check_err(
            "users('')/messages",
            PathError::EmptyKey {
                position: 1,
                segment: "users('')".into(),
            },
        );
        check_err(
            "me/events()",
            PathError::EmptyKey {
                position: 2,
                segment: "events()".into(),
            },
        );
        check_err(
            "me/\u{200b}messages",
            PathError::InvalidCharacter {
                position: 2,
                segment: "\u{200b}messages".into(),
                found: '\u{200b}',
            },
        );
        check_err(
            "users('ada\u{feff}')/messages",
            PathError::InvalidCharacter {
                position: 1,
                segment: "users('ada\u{feff}')".into(),
                found: '\u{feff}',
            },
        );
        check_err(
            "chats/getAllMessages?model=C",
            PathError::Query(QueryError::InvalidModel { value: "C".into() }),
        );
    }
}
