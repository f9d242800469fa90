//! `POST /{version}/$batch`: Graph's JSON batching, for the subscription API.
//!
//! A batch holds at most 20 requests (more: 400). Each is served by the emulator's own
//! router, as if sent alone with the batch's `Authorization` header, and answered with its
//! own status, headers and body; each counts against throttling. A request runs after the
//! requests its `dependsOn` names; when one of them failed (not 2xx), it is not run and is
//! answered 424 `FailedDependency`, as Graph does. Requests without dependencies run in
//! the order given (Graph may run them in any order; one order is a valid one).
//!
//! Decisions where Graph's documentation is silent: a `dependsOn` naming an unknown id,
//! or dependencies that form a cycle, make the whole batch a 400; duplicate ids are a
//! 400; `url` is relative to the version (`/subscriptions/{id}` or `subscriptions`), and
//! an absolute URL or one that leaves the version is refused for that request with 400;
//! a url outside the subscription API (the token endpoint, `$batch` itself) gets 404.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, http};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::Shared;
use crate::api::BatchItem;
use crate::error::{GraphError, RequestIds};
use crate::identity::Principal;

/// Graph's limit on requests in one batch.
pub(crate) const MAX_REQUESTS: usize = 20;

#[derive(Debug, Deserialize)]
struct BatchBody {
    requests: Vec<Item>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: HashMap<String, String>,
    /// Passed on as written: the request's handler reads it.
    body: Option<Box<RawValue>>,
    #[serde(default)]
    depends_on: Vec<String>,
}

/// `POST /{version}/$batch`.
pub(crate) async fn batch(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    crate::api::check_version(&version, &ids)?;
    crate::api::check_content_type(crate::api::content_type(&headers), &body, &ids)?;
    let bad = |message: String| {
        GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message).with_ids(&ids)
    };
    let batch: BatchBody = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "Invalid batch payload: {e}. Send {{\"requests\": [{{\"id\": \"1\", \"method\": \"GET\", \"url\": \"/subscriptions\"}}]}}."
        ))
    })?;
    if batch.requests.is_empty() {
        return Err(bad("The batch has no requests.".into()));
    }
    if batch.requests.len() > MAX_REQUESTS {
        return Err(bad(format!(
            "The batch has {} requests; the maximum number of requests in a batch is {MAX_REQUESTS}. Split it into several batches.",
            batch.requests.len()
        )));
    }
    let order = order(&batch.requests).map_err(bad)?;
    let router = shared
        .batch_router
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_else(|| crate::router(shared.clone()));
    // What every request of the batch shares: its caller (each is sent with the batch's
    // `Authorization`) and its time.
    let now = shared.clock.now();
    let common = Common {
        headers: &headers,
        principal: crate::api::authenticate(&shared, &headers, &ids).ok(),
        iso_date: crate::api::iso_date(now),
        http_date: crate::api::http_date(now),
    };
    let mut answers: HashMap<&str, Answer> = HashMap::new();
    let mut succeeded: HashSet<&str> = HashSet::new();
    for index in order {
        let item = &batch.requests[index];
        let answer = if let Some(failed) = item
            .depends_on
            .iter()
            .find(|d| !succeeded.contains(d.as_str()))
        {
            Answer::error(
                item,
                424,
                "FailedDependency",
                format!(
                    "The request depends on request {} of the batch, which failed.",
                    graph_subs_core::quote::shortened(failed)
                ),
            )
        } else {
            let answer = match direct(item) {
                Some((method, id)) => serve(&shared, &common, &version, item, method, id).await,
                None => run(&router, &version, &headers, item).await,
            };
            if (200..300).contains(&answer.status) {
                succeeded.insert(&item.id);
            }
            answer
        };
        answers.insert(&item.id, answer);
    }
    // Answers in the order the requests were given.
    let responses: Vec<Answer> = batch
        .requests
        .iter()
        .filter_map(|item| answers.remove(item.id.as_str()))
        .collect();
    // Written straight from the typed answers: through a `Value`, every answer's body
    // would be parsed into a tree again.
    Ok(Json(Responses { responses }).into_response())
}

/// The order to run the requests in: given order, each after its dependencies.
fn order(items: &[Item]) -> Result<Vec<usize>, String> {
    let mut index = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if item.id.is_empty() {
            return Err(format!(
                "Request {} of the batch has no id; every request needs a unique id.",
                i + 1
            ));
        }
        if index.insert(item.id.as_str(), i).is_some() {
            return Err(format!(
                "The batch has two requests with the id {}; ids must be unique.",
                graph_subs_core::quote::shortened(&item.id)
            ));
        }
    }
    for item in items {
        if let Some(unknown) = item
            .depends_on
            .iter()
            .find(|d| !index.contains_key(d.as_str()))
        {
            return Err(format!(
                "Request {} depends on {}, which is not in the batch.",
                graph_subs_core::quote::shortened(&item.id),
                graph_subs_core::quote::shortened(unknown)
            ));
        }
    }
    let mut done = vec![false; items.len()];
    let mut order = Vec::with_capacity(items.len());
    while order.len() < items.len() {
        let next = (0..items.len()).find(|&i| {
            !done[i]
                && items[i]
                    .depends_on
                    .iter()
                    .all(|d| index.get(d.as_str()).is_some_and(|&j| done[j]))
        });
        let Some(i) = next else {
            return Err(
                "The requests' dependsOn form a cycle; a request cannot depend, even indirectly, on itself."
                    .into(),
            );
        };
        done[i] = true;
        order.push(i);
    }
    Ok(order)
}

/// The batch's answer.
#[derive(Debug, Serialize)]
struct Responses {
    responses: Vec<Answer>,
}

/// One request's answer in the batch's `responses`.
#[derive(Debug, Serialize)]
struct Answer {
    id: String,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Headers>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<AnswerBody>,
}

/// An answer's headers, written as a JSON object.
#[derive(Debug, Default)]
struct Headers(Vec<(Cow<'static, str>, String)>);

impl Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

/// A body as the request's handler wrote it (JSON, passed on without being parsed
/// again), or one the batch writes.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum AnswerBody {
    Written(Box<RawValue>),
    Value(Value),
}

impl Answer {
    /// An answer in Graph's error shape, for a request the batch does not run.
    fn error(item: &Item, status: u16, code: &str, message: String) -> Answer {
        Answer {
            id: item.id.clone(),
            status,
            headers: None,
            body: Some(AnswerBody::Value(
                json!({"error": {"code": code, "message": message}}),
            )),
        }
    }
}

/// What the requests of a batch share.
struct Common<'a> {
    /// The batch's headers: its `Authorization` is every request's.
    headers: &'a HeaderMap,
    /// The batch's caller, when its token is accepted.
    principal: Option<Principal>,
    /// The batch's time, in an error's `innerError.date` and in the `Date` header.
    iso_date: String,
    http_date: String,
}

/// The operations a batch serves without its router: those of bulk renewals and
/// deletions (and reading one), `GET`, `PATCH` and `DELETE` on `/subscriptions/{id}`.
/// The method and the id, when `item` is one of them; any other request goes through the
/// router, like an id that would need decoding.
fn direct(item: &Item) -> Option<(Method, &str)> {
    let method = match item.method.as_str() {
        m if m.eq_ignore_ascii_case("GET") => Method::GET,
        m if m.eq_ignore_ascii_case("PATCH") => Method::PATCH,
        m if m.eq_ignore_ascii_case("DELETE") => Method::DELETE,
        _ => return None,
    };
    let url = item.url.trim();
    let id = url
        .strip_prefix('/')
        .unwrap_or(url)
        .strip_prefix("subscriptions/")?;
    let plain = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    (plain && !id.contains("..")).then_some((method, id))
}

/// Serves a request [`direct`] accepts, as the router would: the same operations
/// (`api::get_one`, `update_one`, `delete_one`), ids, headers, count and log.
async fn serve(
    shared: &Shared,
    common: &Common<'_>,
    version: &str,
    item: &Item,
    method: Method,
    id: &str,
) -> Answer {
    shared.counters.request();
    let header = |name: &str| {
        item.headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let ids = RequestIds::issue(header("client-request-id"), common.iso_date.clone());
    let result = async {
        let authenticated;
        let principal = match &common.principal {
            Some(principal) => principal,
            // Authenticated again, for this request's ids in the error.
            None => {
                authenticated = crate::api::authenticate(shared, common.headers, &ids)?;
                &authenticated
            }
        };
        match method {
            Method::GET => crate::api::get_one(shared, principal, version, id, &ids)
                .await
                .map(Some),
            Method::PATCH => {
                let body = item.body.as_ref().map_or(&[][..], |b| b.get().as_bytes());
                let content_type = header("content-type").map(str::as_bytes).or(item
                    .body
                    .is_some()
                    .then_some(b"application/json".as_slice()));
                crate::api::update_one(shared, principal, version, id, (content_type, body), &ids)
                    .await
                    .map(Some)
            }
            _ => crate::api::delete_one(shared, principal, id, &ids)
                .await
                .map(|()| None),
        }
    }
    .await;
    let id_headers = crate::api::id_headers(&ids, common.http_date.clone());
    let answer = match result {
        Ok(json) => {
            let mut headers = Vec::with_capacity(4);
            if json.is_some() {
                headers.push((Cow::Borrowed("content-type"), "application/json".to_owned()));
            }
            headers.extend(id_headers.into_iter().map(|(n, v)| (Cow::Borrowed(n), v)));
            Answer {
                id: item.id.clone(),
                status: if json.is_some() { 200 } else { 204 },
                headers: Some(Headers(headers)),
                body: json.map(AnswerBody::Written),
            }
        }
        Err(error) => {
            let mut response = error.into_response();
            for (name, value) in id_headers {
                if let Ok(value) = http::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            answer(item, response).await
        }
    };
    tracing::info!(%method, path = %graph_subs_core::quote::shortened(&item.url), status = answer.status, "request");
    answer
}

/// Serves one request of the batch through the emulator's router.
async fn run(router: &axum::Router, version: &str, outer: &HeaderMap, item: &Item) -> Answer {
    let refuse = |message: String| Answer::error(item, 400, "BadRequest", message);
    let Ok(method) = Method::from_bytes(item.method.to_ascii_uppercase().as_bytes()) else {
        return refuse(format!(
            "Invalid method {}.",
            graph_subs_core::quote::shortened(&item.method)
        ));
    };
    let url = item.url.trim();
    if url.contains("://")
        || url.contains("..")
        || url.starts_with("//")
        || url.to_ascii_lowercase().contains("$batch")
    {
        return refuse(
            "A batch request's url is relative to the version, such as /subscriptions/{id}.".into(),
        );
    }
    let relative = url.trim_start_matches('/');
    // The router behind the batch also serves the identity platform's endpoints under
    // `/{tenant}/` (a version is a tenant to it): a batch reaches the subscription API
    // only.
    let segment = relative.split(['/', '?']).next().unwrap_or_default();
    if segment != "subscriptions" {
        return Answer::error(
            item,
            404,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'; the emulator's batch serves the subscription API: /subscriptions, /subscriptions/{{id}}, /subscriptions/{{id}}/reauthorize.",
                graph_subs_core::quote::shortened(segment)
            ),
        );
    }
    let uri = format!("/{version}/{relative}");
    let mut request = http::Request::builder().method(method).uri(&uri);
    if let Some(authorization) = outer.get("authorization") {
        request = request.header("authorization", authorization);
    }
    for (name, value) in &item.headers {
        if name.eq_ignore_ascii_case("authorization") {
            continue;
        }
        request = request.header(name.as_str(), value.as_str());
    }
    let body = match &item.body {
        Some(body) => {
            if !item
                .headers
                .keys()
                .any(|h| h.eq_ignore_ascii_case("content-type"))
            {
                request = request.header("content-type", "application/json");
            }
            Body::from(body.get().to_owned())
        }
        None => Body::empty(),
    };
    let request = match request.extension(BatchItem).body(body) {
        Ok(request) => request,
        Err(e) => return refuse(format!("Invalid request: {e}.")),
    };
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    answer(item, response).await
}

/// A request's answer, as the batch gives it.
async fn answer(item: &Item, response: Response) -> Answer {
    let status = response.status().as_u16();
    let mut headers = Headers::default();
    for (name, value) in response.headers() {
        if name == http::header::CONTENT_LENGTH {
            continue;
        }
        if let Ok(value) = value.to_str() {
            headers
                .0
                .push((Cow::Owned(name.as_str().to_owned()), value.to_owned()));
        }
    }
    let bytes = axum::body::to_bytes(response.into_body(), 4 << 20)
        .await
        .unwrap_or_default();
    let body = (!bytes.is_empty()).then(|| {
        // The handlers answer JSON; anything else goes as a string.
        match String::from_utf8(bytes.to_vec()).map(RawValue::from_string) {
            Ok(Ok(raw)) => AnswerBody::Written(raw),
            _ => AnswerBody::Value(Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        }
    });
    Answer {
        id: item.id.clone(),
        status,
        headers: Some(headers),
        body,
    }
}
