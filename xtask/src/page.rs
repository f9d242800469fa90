//! Reading the permission table of one documentation page.
//!
//! Pages of this family come in three renders, all handled by the same code:
//!
//! - plain text, cells separated by single spaces (`contact Contacts.Read Contacts.Read
//!   Contacts.Read`), a row's label sometimes on lines of its own (label, path,
//!   description, then the cells);
//! - pipe tables, a row sometimes split over two lines;
//! - Markdown, with links, `\(` and `\*` escapes, backticks and `<br>` inside cells.
//!
//! The parser relies only on what every render shares: a header row naming two delegated
//! columns and an application column, three permission cells per row that are either a
//! "not supported" phrase or a comma-separated list of permission names (`*` marking
//! resource-specific consent), and a first cell holding the resource label, an optional
//! path and an optional description.

use std::fmt;

use serde::Serialize;

/// One permission as written in a cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// `Chat.Read.All`, without the asterisk.
    pub name: String,
    /// The asterisk: resource-specific consent.
    pub resource_specific_consent: bool,
}

/// A cell: `None` is "not supported".
pub type Cell = Option<Vec<Permission>>;

/// One row of a page's permission table, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageRow {
    /// The line the row starts on, from 1.
    #[serde(skip)]
    pub line: usize,
    /// The resource label, without path or description: `chatMessage`, `canal`,
    /// `driveItem(OneDrive personnel de l’utilisateur)`.
    pub label: String,
    /// The resource path the row names, with a leading `/`, or `None`.
    pub path: Option<String>,
    /// The description after the path, if any.
    #[serde(skip)]
    pub description: Option<String>,
    /// Delegated (work or school account).
    pub delegated_work: Cell,
    /// Delegated (personal Microsoft account).
    pub delegated_personal: Cell,
    /// Application.
    pub application: Cell,
}

impl PageRow {
    /// The three permission cells, in column order.
    pub fn cells(&self) -> [&Cell; 3] {
        [
            &self.delegated_work,
            &self.delegated_personal,
            &self.application,
        ]
    }

    /// The three permission cells, mutable.
    pub fn cells_mut(&mut self) -> [&mut Cell; 3] {
        [
            &mut self.delegated_work,
            &mut self.delegated_personal,
            &mut self.application,
        ]
    }

    /// The label with the path, as a reader would quote the row: `canal (/teams/{id}/channels)`.
    pub fn title(&self) -> String {
        match &self.path {
            Some(path) => format!("{} ({path})", self.label),
            None => self.label.clone(),
        }
    }
}

/// The JSON `cargo xtask parse-permissions FILE --json` prints:
/// `{"rows":[{"label", "path", "delegatedWork", "delegatedPersonal", "application"}]}`,
/// a cell being `null` ("not supported") or `[{"name", "resourceSpecificConsent"}]`.
pub fn rows_json(rows: &[PageRow]) -> String {
    #[derive(Serialize)]
    struct Rows<'a> {
        rows: &'a [PageRow],
    }
    serde_json::to_string_pretty(&Rows { rows }).expect("rows serialize")
}

/// A page that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line, from 1; 0 when the problem is the page as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

fn error(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// The ways the pages say "not supported", lowercase, without the final period.
const NOT_SUPPORTED: &[&str] = &[
    "not supported",
    "non pris en charge",
    "non prise en charge",
    "non supporté",
    "non supportée",
    "nicht unterstützt",
    "no compatible",
    "no admitido",
    "sem suporte",
    "não suportado",
    "non supportato",
];

/// How many lines a row's label may span before the cells (label, path, description).
const MAX_LABEL_LINES: usize = 4;

/// Parses the permission table of a page. Rows come in page order.
pub fn parse_page(text: &str) -> Result<Vec<PageRow>, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let headers: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| is_header(l))
        .map(|(i, _)| i)
        .collect();
    let header = match headers.as_slice() {
        [] => {
            return Err(error(
                0,
                "no permission table: expected a header row naming the supported resource, \
                 two delegated columns and the application column",
            ));
        }
        [one] => *one,
        [first, second, ..] => {
            return Err(error(
                second + 1,
                format!(
                    "a second permission table (the first starts on line {}); a page holds one",
                    first + 1
                ),
            ));
        }
    };
    let body = &lines[header + 1..];
    let first_line = header + 2;
    let rows = if lines[header].contains('|') {
        parse_pipe_rows(body, first_line)?
    } else {
        parse_plain_rows(body, first_line)?
    };
    if rows.is_empty() {
        return Err(error(header + 1, "the permission table has no rows"));
    }
    Ok(rows)
}

/// A header row: the resource column, two delegated columns, the application column.
fn is_header(line: &str) -> bool {
    let lower = strip_markup(line).to_lowercase();
    let delegated = lower.matches("délég").count() + lower.matches("deleg").count();
    let resource = ["resource", "ressource", "recurso", "risorsa"]
        .iter()
        .any(|w| lower.contains(w));
    delegated >= 2 && resource && lower.contains("application")
}

fn parse_plain_rows(body: &[&str], first_line: usize) -> Result<Vec<PageRow>, ParseError> {
    let mut rows = Vec::new();
    let mut pending: Vec<(usize, String)> = Vec::new();
    for (offset, raw) in body.iter().enumerate() {
        let line_no = first_line + offset;
        let line = strip_markup(raw).trim().to_owned();
        if line.is_empty() {
            if rows.is_empty() && pending.is_empty() {
                continue;
            }
            break;
        }
        match split_trailing_cells(&line) {
            Some((prefix, cells)) => {
                let start = pending.first().map_or(line_no, |(n, _)| *n);
                let mut label_lines: Vec<String> = pending.drain(..).map(|(_, l)| l).collect();
                if !prefix.is_empty() {
                    label_lines.push(prefix);
                }
                if label_lines.is_empty() {
                    return Err(error(
                        line_no,
                        "permission cells with no resource label before them",
                    ));
                }
                rows.push(make_row(start, &label_lines.join("\n"), cells)?);
            }
            None => {
                pending.push((line_no, line));
                if pending.len() > MAX_LABEL_LINES {
                    // The table ended on the last row; what follows is prose.
                    pending.clear();
                    break;
                }
            }
        }
    }
    if let Some((line_no, line)) = pending.first() {
        return Err(error(
            *line_no,
            format!("`{line}` starts a row that never reaches its permission cells"),
        ));
    }
    Ok(rows)
}

fn parse_pipe_rows(body: &[&str], first_line: usize) -> Result<Vec<PageRow>, ParseError> {
    let mut rows = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut fragment = String::new();
    let mut start = 0;
    for (offset, raw) in body.iter().enumerate() {
        let line_no = first_line + offset;
        let line = raw.trim();
        let in_row = !cells.is_empty() || !fragment.is_empty();
        if line.is_empty() {
            if rows.is_empty() && !in_row {
                continue;
            }
            if in_row {
                continue;
            }
            break;
        }
        if is_separator(line) {
            continue;
        }
        if !has_unescaped_pipe(line) {
            if !in_row {
                break;
            }
            fragment.push('\n');
            fragment.push_str(line);
            continue;
        }
        if !in_row {
            start = line_no;
        }
        let ends_row_cell = line.ends_with('|') && !line.ends_with("\\|");
        let line = line.strip_prefix('|').unwrap_or(line);
        let line = if ends_row_cell {
            &line[..line.len() - 1]
        } else {
            line
        };
        let mut parts = split_unescaped_pipes(line);
        // A line that does not end with `|` continues its last cell on the next line.
        let carry = if ends_row_cell { None } else { parts.pop() };
        for (i, part) in parts.into_iter().enumerate() {
            if i == 0 && !fragment.is_empty() {
                cells.push(format!("{}\n{part}", std::mem::take(&mut fragment)));
            } else {
                cells.push(part);
            }
        }
        if let Some(carry) = carry {
            fragment = if fragment.is_empty() {
                carry
            } else {
                format!("{fragment}\n{carry}")
            };
        }
        if cells.len() >= 4 {
            if cells.len() > 4 || !fragment.is_empty() {
                return Err(error(
                    start,
                    format!(
                        "the row has {} cells; a permission row has 4 (resource, two delegated, application)",
                        cells.len() + usize::from(!fragment.is_empty())
                    ),
                ));
            }
            let [label, work, personal, app]: [String; 4] =
                std::mem::take(&mut cells).try_into().expect("four cells");
            let parsed = [
                parse_cell(&work).map_err(|m| error(start, m))?,
                parse_cell(&personal).map_err(|m| error(start, m))?,
                parse_cell(&app).map_err(|m| error(start, m))?,
            ];
            rows.push(make_row(start, &strip_markup(&label), parsed)?);
        }
    }
    if !cells.is_empty() || !fragment.is_empty() {
        return Err(error(
            start,
            "the last row of the table is cut short: a permission row has 4 cells",
        ));
    }
    Ok(rows)
}

fn is_separator(line: &str) -> bool {
    line.contains('-') && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn has_unescaped_pipe(line: &str) -> bool {
    split_unescaped_pipes(line).len() > 1
}

fn split_unescaped_pipes(line: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                parts.last_mut().expect("non-empty").push('|');
                chars.next();
            }
            '|' => parts.push(String::new()),
            _ => parts.last_mut().expect("non-empty").push(c),
        }
    }
    parts
}

fn make_row(line: usize, label_text: &str, cells: [Cell; 3]) -> Result<PageRow, ParseError> {
    let (label, path, description) = split_label(label_text);
    if label.is_empty() {
        return Err(error(line, "the row names no resource before its path"));
    }
    let [delegated_work, delegated_personal, application] = cells;
    Ok(PageRow {
        line,
        label,
        path,
        description,
        delegated_work,
        delegated_personal,
        application,
    })
}

/// Removes Markdown and HTML markup: links keep their text, `<br>` becomes a line break,
/// backslash escapes and backticks go, `&nbsp;` is a space.
pub fn strip_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['[', '<', '\\', '`', '&']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some((link_text, after)) = markdown_link(tail) {
            out.push_str(link_text);
            rest = after;
        } else if let Some(after) = strip_prefix_ci(tail, &["<br />", "<br/>", "<br>"]) {
            out.push('\n');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("&nbsp;") {
            out.push(' ');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("&amp;") {
            out.push('&');
            rest = after;
        } else if let Some(after) = tail.strip_prefix('`') {
            rest = after;
        } else if let Some(escaped) = tail.strip_prefix('\\')
            && let Some(c) = escaped.chars().next()
            && c.is_ascii_punctuation()
        {
            out.push(c);
            rest = &escaped[c.len_utf8()..];
        } else {
            let c = tail.chars().next().expect("non-empty");
            out.push(c);
            rest = &tail[c.len_utf8()..];
        }
    }
    out.push_str(rest);
    out
}

fn strip_prefix_ci<'a>(text: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| {
        text.get(..p.len())
            .filter(|head| head.eq_ignore_ascii_case(p))
            .map(|_| &text[p.len()..])
    })
}

/// `[text](target)` at the start of `text`: the link text and what follows the link.
fn markdown_link(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('[')?;
    let close = rest.find(']')?;
    let after = rest[close + 1..].strip_prefix('(')?;
    let end = after.find(')')?;
    if after[..end].contains(char::is_whitespace) {
        return None;
    }
    Some((&rest[..close], &after[end + 1..]))
}

/// `Chat.Read.All`, `ChannelMessage.Read.Group*`.
fn is_permission(token: &str) -> bool {
    let name = token.strip_suffix('*').unwrap_or(token);
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    first.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && first.chars().all(|c| c.is_ascii_alphanumeric())
        && !rest.is_empty()
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn permission(token: &str) -> Permission {
    match token.strip_suffix('*') {
        Some(name) => Permission {
            name: name.to_owned(),
            resource_specific_consent: true,
        },
        None => Permission {
            name: token.to_owned(),
            resource_specific_consent: false,
        },
    }
}

fn normalize_phrase(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches('.')
        .trim()
        .to_lowercase()
}

/// Reads one permission cell written in a page's syntax: a "not supported" phrase, or
/// permission names separated by commas (or line breaks).
pub fn parse_cell(text: &str) -> Result<Cell, String> {
    let text = strip_markup(text);
    let phrase = normalize_phrase(&text);
    if phrase.is_empty() {
        return Err("an empty permission cell: write the permissions or \"Not supported\"".into());
    }
    if NOT_SUPPORTED.contains(&phrase.as_str()) {
        return Ok(None);
    }
    let mut permissions = Vec::new();
    for part in text.split([',', ';', '\n']) {
        let token = part.trim();
        if token.is_empty() {
            continue;
        }
        if !is_permission(token) {
            return Err(format!(
                "`{token}` in the cell `{}` is neither a permission name nor \"not supported\"",
                text.trim()
            ));
        }
        permissions.push(permission(token));
    }
    Ok(Some(permissions))
}

/// Reads three cells off the end of a plain-text row. Returns the text before them and
/// the cells, or `None` when the line does not end with three cells.
fn split_trailing_cells(line: &str) -> Option<(String, [Cell; 3])> {
    let joined = line.replace(" ,", ",");
    let tokens: Vec<&str> = joined.split_whitespace().collect();
    let mut end = tokens.len();
    let mut cells: Vec<Cell> = Vec::with_capacity(3);
    for _ in 0..3 {
        let (cell, start) = take_cell(&tokens[..end])?;
        cells.push(cell);
        end = start;
    }
    cells.reverse();
    let [a, b, c]: [Cell; 3] = cells.try_into().ok()?;
    Some((tokens[..end].join(" "), [a, b, c]))
}

/// Takes one cell off the end of `tokens`: a "not supported" phrase, or a run of
/// permissions in which every one but the last ends with a comma.
fn take_cell(tokens: &[&str]) -> Option<(Cell, usize)> {
    for phrase in NOT_SUPPORTED {
        let words = phrase.split(' ').count();
        if tokens.len() >= words {
            let start = tokens.len() - words;
            if normalize_phrase(&tokens[start..].join(" ")) == *phrase {
                return Some((None, start));
            }
        }
    }
    let last = *tokens.last()?;
    if !is_permission(last) {
        return None;
    }
    let mut start = tokens.len() - 1;
    while start > 0 {
        let previous = tokens[start - 1];
        match previous.strip_suffix(',') {
            Some(name) if is_permission(name) => start -= 1,
            _ => break,
        }
    }
    let cell = tokens[start..]
        .iter()
        .map(|t| permission(t.trim_end_matches(',')))
        .collect();
    Some((Some(cell), start))
}

/// Splits a row's first cell into label, path and description:
/// `canal (/teams/getAllChannels : tous les canaux)` → `canal`, `/teams/getAllChannels`,
/// `tous les canaux`.
fn split_label(text: &str) -> (String, Option<String>, Option<String>) {
    let spaced = text.replace("--", " -- ").replace(['–', '—'], " -- ");
    let mut offset = 0;
    for token in spaced.split_inclusive(char::is_whitespace) {
        let word = token.trim();
        if let Some(path) = path_in(word) {
            let before = spaced[..offset].trim().trim_end_matches('(').trim();
            let opened = spaced[..offset].contains('(');
            let mut after = spaced[offset + token.len()..].trim();
            after = after.trim_start_matches([':', '-', ')', ' ', '\n']).trim();
            if opened {
                after = after.strip_suffix(')').unwrap_or(after).trim();
            }
            let description = (!after.is_empty()).then(|| collapse(after));
            return (collapse(before), Some(path), description);
        }
        offset += token.len();
    }
    // No path: the first line is the label, the rest describes it.
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let label = collapse(lines.next().unwrap_or_default());
    let rest: Vec<&str> = lines.collect();
    let description = (!rest.is_empty()).then(|| collapse(&rest.join(" ")));
    (label, None, description)
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The resource path a label word holds, with a leading `/`: `(/chats/{id})` →
/// `/chats/{id}`; `communications/onlineMeetings/getAllRecordings` → with a `/` added.
fn path_in(word: &str) -> Option<String> {
    let mut w = word.trim_start_matches('(');
    while w.ends_with(')') && w.matches(')').count() > w.matches('(').count() {
        w = &w[..w.len() - 1];
    }
    let w = w.trim_end_matches([',', ':', ';', '.']);
    let allowed = |c: char| c.is_ascii_alphanumeric() || "{}/_.-:@'()=$?,".contains(c);
    if !w.contains('/') || w.contains("://") || !w.chars().all(allowed) || w.len() < 2 {
        return None;
    }
    let segments: Vec<&str> = w.trim_start_matches('/').split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    // Without a leading `/`, insist on something only paths have, so that prose such as
    // "and/or" is not taken for one.
    let looks_like_api = segments.len() >= 3
        || segments
            .iter()
            .any(|s| s.contains('{') || s.chars().any(|c| c.is_ascii_uppercase()));
    if !w.starts_with('/') && !looks_like_api {
        return None;
    }
    Some(if w.starts_with('/') {
        w.to_owned()
    } else {
        format!("/{w}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(names: &[&str]) -> Cell {
        Some(names.iter().map(|n| permission(n)).collect())
    }

    #[track_caller]
    fn check_row(text: &str, label: &str, path: Option<&str>, cells: [Cell; 3]) {
        let page = format!(
            "Supported resource | Delegated (work or school account) | Delegated (personal Microsoft account) | Application |\n---|---|---|---|\n{text}\n"
        );
        let rows = parse_page(&page).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1, "{rows:#?}");
        let row = &rows[0];
        assert_eq!(row.label, label);
        assert_eq!(row.path.as_deref(), path);
        assert_eq!(
            [
                row.delegated_work.clone(),
                row.delegated_personal.clone(),
                row.application.clone()
            ],
            cells
        );
    }

    #[track_caller]
    fn check_plain(text: &str, expected: &[(&str, Option<&str>, [Cell; 3])]) {
        let page = format!(
            "Ressource prise en charge Déléguée (compte professionnel ou scolaire) Déléguée (compte Microsoft personnel) Application\n{text}\n\nRemarque : fin."
        );
        let rows = parse_page(&page).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(&str, Option<&str>, [Cell; 3])> = rows
            .iter()
            .map(|r| {
                (
                    r.label.as_str(),
                    r.path.as_deref(),
                    [
                        r.delegated_work.clone(),
                        r.delegated_personal.clone(),
                        r.application.clone(),
                    ],
                )
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn plain_rows_split_cells_by_their_shape() {
        check_plain(
            "message Mail.ReadBasic, Mail.Read Mail.ReadBasic, Mail.Read Mail.Read",
            &[(
                "message",
                None,
                [
                    perms(&["Mail.ReadBasic", "Mail.Read"]),
                    perms(&["Mail.ReadBasic", "Mail.Read"]),
                    perms(&["Mail.Read"]),
                ],
            )],
        );
        check_plain(
            "alerte de sécurité SecurityEvents.ReadWrite.All Non pris en charge SecurityEvents.ReadWrite.All",
            &[(
                "alerte de sécurité",
                None,
                [
                    perms(&["SecurityEvents.ReadWrite.All"]),
                    None,
                    perms(&["SecurityEvents.ReadWrite.All"]),
                ],
            )],
        );
        check_plain(
            "chat (/chats/{id}) Chat.ReadBasic, Chat.Read Non pris en charge ChatSettings.Read.Chat , Chat.Manage.Chat*, Chat.Read.All",
            &[(
                "chat",
                Some("/chats/{id}"),
                [
                    perms(&["Chat.ReadBasic", "Chat.Read"]),
                    None,
                    perms(&[
                        "ChatSettings.Read.Chat",
                        "Chat.Manage.Chat*",
                        "Chat.Read.All",
                    ]),
                ],
            )],
        );
    }

    #[test]
    fn plain_rows_may_put_the_label_on_lines_of_its_own() {
        check_plain(
            "callRecording\ncommunications/onlineMeetings/getAllRecordings\nTous les enregistrements.\nNon prise en charge. Non prise en charge. OnlineMeetingRecording.Read.All\nshift\n(/teams/{id}/schedule/shifts)\nModifications.\nSchedule.Read.All, Schedule.ReadWrite.All Non prise en charge. Schedule.Read.All\ntodoTask Tasks.ReadWrite Tasks.ReadWrite Not supported.  ",
            &[
                (
                    "callRecording",
                    Some("/communications/onlineMeetings/getAllRecordings"),
                    [None, None, perms(&["OnlineMeetingRecording.Read.All"])],
                ),
                (
                    "shift",
                    Some("/teams/{id}/schedule/shifts"),
                    [
                        perms(&["Schedule.Read.All", "Schedule.ReadWrite.All"]),
                        None,
                        perms(&["Schedule.Read.All"]),
                    ],
                ),
                (
                    "todoTask",
                    None,
                    [
                        perms(&["Tasks.ReadWrite"]),
                        perms(&["Tasks.ReadWrite"]),
                        None,
                    ],
                ),
            ],
        );
    }

    #[test]
    fn labels_carry_paths_in_every_notation() {
        check_row(
            "canal (/teams/getAllChannels : tous les canaux d'une organisation) | Non pris en charge | Non pris en charge | Channel.ReadBasic.All |",
            "canal",
            Some("/teams/getAllChannels"),
            [None, None, perms(&["Channel.ReadBasic.All"])],
        );
        check_row(
            "|[chatMessage](../resources/chatmessage.md) (/teams/getAllMessages -- all channel messages in organization) | Not supported | Not supported | ChannelMessage.Read.All  |",
            "chatMessage",
            Some("/teams/getAllMessages"),
            [None, None, perms(&["ChannelMessage.Read.All"])],
        );
        check_row(
            "| chatMessage (/teams/getAllMessages--tous les messages) | Not supported | Not supported | ChannelMessage.Read.All |",
            "chatMessage",
            Some("/teams/getAllMessages"),
            [None, None, perms(&["ChannelMessage.Read.All"])],
        );
        check_row(
            "|[chat](../resources/chat.md) <br />/appCatalogs/teamsApps/{id}/installedToChats <br />All chats where an app is installed.| Not supported | Not supported. | Chat.Read.WhereInstalled |",
            "chat",
            Some("/appCatalogs/teamsApps/{id}/installedToChats"),
            [None, None, perms(&["Chat.Read.WhereInstalled"])],
        );
        check_row(
            "| [chat](https://learn.microsoft.com/en-us/graph/api/resources/chat?view=graph-rest-1.0) \\(/chats/{id}\\) | Chat.ReadBasic | Not supported | ChatSettings.Read.Chat\\*, Chat.Read.All |",
            "chat",
            Some("/chats/{id}"),
            [
                perms(&["Chat.ReadBasic"]),
                None,
                perms(&["ChatSettings.Read.Chat*", "Chat.Read.All"]),
            ],
        );
        check_row(
            "| [callRecording](https://learn.microsoft.com/x)  <br>`users/{userId}/onlineMeetings/getAllRecordings`  <br>A call recording. | OnlineMeetingRecording.Read.All | Not supported. | OnlineMeetingRecording.Read.All |",
            "callRecording",
            Some("/users/{userId}/onlineMeetings/getAllRecordings"),
            [
                perms(&["OnlineMeetingRecording.Read.All"]),
                None,
                perms(&["OnlineMeetingRecording.Read.All"]),
            ],
        );
        check_row(
            "|[driveItem](../resources/driveitem.md) (user's personal OneDrive) | Not supported | Files.ReadWrite | Not supported |",
            "driveItem (user's personal OneDrive)",
            None,
            [None, perms(&["Files.ReadWrite"]), None],
        );
    }

    #[test]
    fn pipe_rows_may_span_two_lines() {
        check_row(
            "callRecording communications/onlineMeetings/getAllRecordings Tous les enregistrements. |\nNon prise en charge. | Non prise en charge. | OnlineMeetingRecording.Read.All |",
            "callRecording",
            Some("/communications/onlineMeetings/getAllRecordings"),
            [None, None, perms(&["OnlineMeetingRecording.Read.All"])],
        );
    }

    #[test]
    fn prose_is_not_a_path() {
        assert_eq!(path_in("and/or"), None);
        assert_eq!(path_in("https://learn.microsoft.com/a/b"), None);
        assert_eq!(path_in("(/chats/{id})").as_deref(), Some("/chats/{id}"));
        assert_eq!(path_in("me/drive/root").as_deref(), Some("/me/drive/root"));
    }

    #[test]
    fn cells_that_are_neither_phrase_nor_permissions_are_errors() {
        assert_eq!(parse_cell("Not supported."), Ok(None));
        assert_eq!(parse_cell(" Non prise en charge.  "), Ok(None));
        assert_eq!(parse_cell("A.B, C.D*"), Ok(perms(&["A.B", "C.D*"])));
        assert!(parse_cell("").unwrap_err().contains("empty"));
        assert!(
            parse_cell("Ask your admin")
                .unwrap_err()
                .contains("`Ask your admin`")
        );
    }

    #[test]
    fn a_page_without_a_table_or_with_a_broken_row_says_where() {
        assert_eq!(parse_page("nothing here").unwrap_err().line, 0);
        let page = "Supported resource | Delegated (work) | Delegated (personal) | Application |\n|---|---|---|---|\n| user | User.Read.All | User.Read.All |\n";
        let err = parse_page(page).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        let page = "Supported resource | Delegated (work) | Delegated (personal) | Application |\n|---|---|---|---|\n| user | Ask | User.Read.All | User.Read.All |\n";
        let err = parse_page(page).unwrap_err();
        assert!(err.to_string().contains("`Ask`"), "{err}");
        let page =
            "Supported resource Delegated (work) Delegated (personal) Application\nuser\n\nprose";
        let err = parse_page(page).unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }
}
