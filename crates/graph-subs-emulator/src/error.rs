//! Graph's error answers: `{"error": {"code", "message", "innerError": {"date",
//! "request-id", "client-request-id"}}}`, with Graph's PascalCase codes, and the identity
//! platform's (`{"error": "invalid_client", "error_description": "AADSTS7000215: ..."}`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use graph_subs_core::validate::Diagnostic;
use serde_json::json;

/// The ids and time of one request, for headers and error bodies.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    pub(crate) request_id: String,
    pub(crate) client_request_id: String,
    pub(crate) date: String,
}

impl RequestIds {
    /// Ids not drawn yet, for a request whose answer shows them only if it is an error
    /// (one in a batch): the error is given [`RequestIds::issue`]'s before it is written.
    pub(crate) fn unissued() -> RequestIds {
        RequestIds {
            request_id: String::new(),
            client_request_id: String::new(),
            date: String::new(),
        }
    }

    /// A request's ids at `date` (`innerError.date`): a new request id, and the caller's
    /// `client-request-id` when it gave a usable one (1 to 128 visible ASCII characters,
    /// what a header can echo), else the request id.
    pub(crate) fn issue(client_request_id: Option<&str>, date: String) -> RequestIds {
        // From the thread's generator: a system call per request (`Uuid::new_v4`) is a
        // measurable part of a renewal's cost.
        let request_id = uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string();
        let client_request_id = client_request_id
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 128
                    && v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            })
            .map_or_else(|| request_id.clone(), str::to_owned);
        RequestIds {
            request_id,
            client_request_id,
            date,
        }
    }
}

/// An answer Graph gives when it refuses a request.
#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// graph-subs diagnostics behind a 400: OData `details`.
    pub(crate) details: Vec<Diagnostic>,
    pub(crate) ids: Option<Box<RequestIds>>,
    /// The `Retry-After` header (429, 503, 504): whole seconds, or fractional ones.
    pub(crate) retry_after: Option<String>,
}

impl GraphError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            ids: None,
            retry_after: None,
        }
    }

    /// Sets `Retry-After`, in seconds.
    pub(crate) fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after = Some(seconds.to_string());
        self
    }

    /// Sets `Retry-After` to a duration, in seconds with up to three decimals.
    pub(crate) fn retry_after_duration(mut self, wait: std::time::Duration) -> Self {
        let millis = wait.as_millis();
        self.retry_after = Some(if millis.is_multiple_of(1000) {
            (millis / 1000).to_string()
        } else {
            format!("{}.{:03}", millis / 1000, millis % 1000)
        });
        self
    }

    pub(crate) fn with_ids(mut self, ids: &RequestIds) -> Self {
        self.ids = Some(Box::new(ids.clone()));
        self
    }

    /// 404 for a subscription that does not exist (or no longer does).
    pub(crate) fn not_found(id: &str) -> Self {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The object was not found. Subscription Id {} does not exist.",
                graph_subs_core::quote::shortened(id)
            ),
        )
    }

    /// 400 with the core's diagnostics: the first error as Graph's message, all of them
    /// as `details`.
    pub(crate) fn invalid(diagnostics: Vec<Diagnostic>) -> Self {
        let message = diagnostics
            .iter()
            .find(|d| d.severity == graph_subs_core::validate::Severity::Error)
            .map_or_else(|| "Invalid request.".to_owned(), |d| d.message.clone());
        GraphError {
            details: diagnostics,
            ..GraphError::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let ids = self.ids.map(|ids| *ids).unwrap_or_else(|| RequestIds {
            request_id: String::new(),
            client_request_id: String::new(),
            date: String::new(),
        });
        let mut error = json!({
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": ids.date,
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        });
        if !self.details.is_empty() {
            error["details"] = self
                .details
                .iter()
                .map(|d| {
                    json!({
                        "code": d.code.as_str(),
                        "message": d.message,
                        "target": d.field,
                        "severity": d.severity.as_str(),
                    })
                })
                .collect();
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds)
        {
            response.headers_mut().insert("Retry-After", value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "WWW-Authenticate",
                HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
            );
        }
        response
    }
}

/// The identity platform's error: `invalid_client`, `invalid_request`,
/// `unsupported_grant_type`.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
    pub(crate) codes: Vec<u32>,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({
                "error": self.error,
                "error_description": self.description,
                "error_codes": self.codes,
            })),
        )
            .into_response()
    }
}
