//! The client's errors, one enum for every layer, and the one function that turns Graph's
//! error answers into them ([`from_response`]).

use std::time::Duration;

use graph_subs_core::Operation;
use graph_subs_core::permissions::PermissionType;
use graph_subs_core::quote;
use graph_subs_core::validate::Diagnostic;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::token::TokenError;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Graph answered with an error.
    #[error("Graph answered {status} {code}: {message}{}", request_suffix(.request_id))]
    Api {
        /// The HTTP status.
        status: u16,
        /// Graph's code (`InvalidRequest`, `ExtensionError`, `TooManyRequests`...).
        code: String,
        /// Graph's message.
        message: String,
        /// Graph's `request-id`, for Microsoft support.
        request_id: Option<String>,
        /// How long Graph asked to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The subscription does not exist (any more).
    #[error(
        "subscription {id} does not exist: it expired, was deleted, or Graph removed it; retrying or renewing it cannot help, create it again{}",
        request_suffix(.request_id)
    )]
    NotFound {
        /// The id asked for.
        id: String,
        /// Graph's `request-id`.
        request_id: Option<String>,
    },
    /// The request would be refused: the core found errors in it (nothing was sent).
    #[error("the request was not sent: {}", first_error(.diagnostics))]
    Invalid {
        /// Every diagnostic, errors and warnings.
        diagnostics: Vec<Diagnostic>,
    },
    /// The token holds none of the permissions that would allow the operation (nothing
    /// was sent).
    #[error(
        "the request was not sent: the token's {} permissions hold none of those that allow {operation} on {kind} ({resource}); any one of {} would do",
        permission_type.title().to_lowercase(), needed.join(", ")
    )]
    MissingPermission {
        /// The operation.
        operation: Operation,
        /// The resource kind.
        kind: String,
        /// The resource path, as given (shortened).
        resource: String,
        /// The token's permission type.
        permission_type: PermissionType,
        /// Any one of these would do.
        needed: Vec<String>,
    },
    /// The resource cannot be used with the token's permission type at all (nothing was
    /// sent).
    #[error(
        "the request was not sent: {kind} ({resource}) does not support {} permissions for {operation}",
        permission_type.title().to_lowercase()
    )]
    PermissionTypeNotSupported {
        /// The operation.
        operation: Operation,
        /// The resource kind.
        kind: String,
        /// The resource path (shortened).
        resource: String,
        /// The token's permission type.
        permission_type: PermissionType,
    },
    /// No token could be had.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The request did not reach Graph, or its answer did not come back.
    #[error("cannot reach {url}: {message}")]
    Transport {
        /// The URL, redacted.
        url: String,
        /// What failed.
        message: String,
        /// Whether sending again may help: not for a certificate the client does not
        /// trust.
        retryable: bool,
    },
    /// Graph's answer is not what the API documents.
    #[error("cannot read Graph's answer from {url}: {message} at {path}")]
    Decode {
        /// The URL, redacted.
        url: String,
        /// Where in the JSON (`value[3].expirationDateTime`), `.` for the whole answer.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A List page links back to a page already read.
    #[error("the list does not end: page {page} links to a page already read ({url})")]
    NextLinkLoop {
        /// The page number (1-based).
        page: usize,
        /// The repeated link, redacted.
        url: String,
    },
    /// Retries did not succeed in the time or attempts allowed.
    #[error("gave up after {attempts} attempts in {:.1} s: {last}", elapsed.as_secs_f64())]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// How long it took.
        elapsed: Duration,
        /// The last failure.
        last: Box<Error>,
    },
    /// The client is configured wrongly.
    #[error("{0}")]
    Config(String),
}

fn request_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_deref()
        .map(|id| format!(" (request-id {id})"))
        .unwrap_or_default()
}

fn first_error(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.severity == graph_subs_core::validate::Severity::Error)
        .collect();
    match errors.as_slice() {
        [] => "the core refused it".to_owned(),
        [one] => format!("{} ({})", one.message, one.code.as_str()),
        [one, rest @ ..] => format!(
            "{} ({}), and {} more error{}",
            one.message,
            one.code.as_str(),
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

impl Error {
    /// Whether waiting and sending again may help: 429, 503, 504, and requests that did
    /// not get an answer.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => matches!(status, 429 | 503 | 504),
            Error::Transport { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Graph's `Retry-After`, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status Graph answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::NotFound { .. } => Some(404),
            Error::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Graph's error code, when it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            Error::NotFound { .. } => Some("ResourceNotFound"),
            Error::RetriesExhausted { last, .. } => last.code(),
            _ => None,
        }
    }
}

/// `Retry-After`: seconds (fractional too, as Graph sometimes writes `2.128`) or an HTTP
/// date, relative to `now`.
pub(crate) fn retry_after(
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    parse_retry_after(
        headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?,
        now,
    )
}

/// A `Retry-After` value, from a header or a `$batch` item's headers.
pub(crate) fn parse_retry_after(
    value: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.to_utc() - now;
    Some(
        wait.to_std()
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(86_400)),
    )
}

/// Graph's error answer as an [`Error`]: the one place its shape is read. `id` is the
/// subscription the request was about, for a 404.
pub(crate) fn from_response(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    id: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Error {
    let request_id = headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| quote::shortened(v).to_string());
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().map(|v| &v["error"]);
    let text = |field: &str| {
        error
            .and_then(|e| e[field].as_str())
            .map(|s| quote::shortened_to(s, 400).to_string())
    };
    let code = text("code").unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("UnknownError")
            .replace(' ', "")
    });
    let message = text("message").unwrap_or_else(|| {
        // Not Graph's shape: an HTML page from a proxy, a truncated body. Say what came.
        let kind = if body.is_empty() {
            "an empty body".to_owned()
        } else if body.trim_ascii_start().starts_with(b"<") {
            "an HTML page, not Graph's JSON error".to_owned()
        } else {
            format!("{} bytes that are not Graph's JSON error", body.len())
        };
        format!("no error message ({kind})")
    });
    if status == StatusCode::NOT_FOUND
        && let Some(id) = id
    {
        return Error::NotFound {
            id: quote::shortened(id).to_string(),
            request_id,
        };
    }
    Error::Api {
        status: status.as_u16(),
        code,
        message,
        request_id,
        retry_after: retry_after(headers, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn retry_after_is_read_in_seconds_fractions_and_dates() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("2", Some(Duration::from_secs(2))),
            ("2.128", Some(Duration::from_millis(2128))),
            (
                "Wed, 21 Oct 2015 07:28:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Wed, 21 Oct 2015 07:27:00 GMT", Some(Duration::ZERO)),
            ("-1", None),
            ("NaN", None),
            ("soon", None),
        ] {
            headers.insert("retry-after", HeaderValue::from_static(value));
            assert_eq!(retry_after(&headers, now()), expected, "{value}");
        }
    }

    #[test]
    fn graphs_error_body_and_what_is_not_one() {
        let mut headers = HeaderMap::new();
        headers.insert("request-id", HeaderValue::from_static("r-1"));
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let body = br#"{"error":{"code":"TooManyRequests","message":"Slow down."}}"#;
        let e = from_response(StatusCode::TOO_MANY_REQUESTS, &headers, body, None, now());
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            e.to_string(),
            "Graph answered 429 TooManyRequests: Slow down. (request-id r-1)"
        );
        let e = from_response(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>oops</html>",
            None,
            now(),
        );
        assert_eq!(e.code(), Some("BadGateway"));
        assert!(e.to_string().contains("an HTML page"), "{e}");
        let e = from_response(StatusCode::NOT_FOUND, &headers, b"{}", Some("abc"), now());
        assert!(matches!(e, Error::NotFound { .. }));
        assert!(e.to_string().contains("create it again"), "{e}");
    }
}
