//! `POST /{version}/$batch`: Graph's JSON batching, for the subscription API.
//!
//! A batch holds at most 20 requests (more: 400). Each is served as if sent alone with
//! the batch's `Authorization` header (renewals, deletions and reads of one subscription
//! by the same operations a request alone calls, the others through the emulator's own
//! router), and answered with its own status, headers and body; each counts against
//! throttling. An answer's headers are its own (`Content-Type`, `Retry-After`,
//! `WWW-Authenticate`); the ids and `Date` are the batch's, on its own answer, as Graph
//! gives them, and an error's body still names its request's own request id.
//!
//! A request runs after the requests its `dependsOn` names; when one of them failed (not 2xx), it is not run and is
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
use axum::http;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
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
struct BatchBody<'a> {
    #[serde(borrow)]
    requests: Vec<Item<'a>>,
}

/// A request of the batch, its strings read in place from the batch's body (copied only
/// when they hold escapes).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    url: Cow<'a, str>,
    #[serde(default, borrow)]
    headers: ItemHeaders<'a>,
    /// Passed on as written: the request's operation reads it.
    #[serde(borrow)]
    body: Option<&'a RawValue>,
    #[serde(default, borrow)]
    depends_on: Vec<Cow<'a, str>>,
}

/// A request's headers, an object of strings, as given; a name given more than once (in
/// any case) has its last value.
#[derive(Debug, Default)]
struct ItemHeaders<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> ItemHeaders<'a> {
    /// The value of header `name`, in any case.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(h, _)| h.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Each header once, with its last value, in the order given.
    fn last_values(&self) -> Vec<(&str, &str)> {
        let mut seen = HashSet::new();
        let mut last: Vec<(&str, &str)> = self
            .0
            .iter()
            .rev()
            .filter(|(name, _)| seen.insert(name.to_ascii_lowercase()))
            .map(|(name, value)| (&**name, &**value))
            .collect();
        last.reverse();
        last
    }

    /// Whether every header is one HTTP can carry: the router refuses the others.
    fn valid(&self) -> bool {
        self.0.iter().all(|(name, value)| {
            http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && http::HeaderValue::from_str(value).is_ok()
        })
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ItemHeaders<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = ItemHeaders<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of header names and string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut headers: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
                while let Some((name, value)) = map.next_entry::<Borrowed<'a>, Borrowed<'a>>()? {
                    headers.push((name.0, value.0));
                }
                Ok(ItemHeaders(headers))
            }
        }
        d.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

/// A string read in place when it has no escapes.
struct Borrowed<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        Text::deserialize(d).map(|t| Borrowed(t.0))
    }
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
    let batch: BatchBody<'_> = serde_json::from_slice(&body).map_err(|e| {
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
    let (order, index) = order(&batch.requests).map_err(bad)?;
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
        principal: std::sync::OnceLock::new(),
        iso_date: crate::api::iso_date(now),
    };
    // By the requests' places in the batch.
    let mut answers: Vec<Option<Answer>> = batch.requests.iter().map(|_| None).collect();
    let mut succeeded = vec![false; batch.requests.len()];
    for at in order {
        let item = &batch.requests[at];
        let answer = if let Some(failed) = item
            .depends_on
            .iter()
            .find(|d| !index.get(d.as_ref()).is_some_and(|&j| succeeded[j]))
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
            succeeded[at] = (200..300).contains(&answer.status);
            answer
        };
        answers[at] = Some(answer);
    }
    // Answers in the order the requests were given.
    let responses: Vec<Answer> = answers.into_iter().flatten().collect();
    let body = write_responses(&responses).map_err(|e| {
        GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("The batch's answer could not be written: {e}."),
        )
        .with_ids(&ids)
    })?;
    Ok((
        [(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// `{"responses": [...]}`, written by hand: each answer's body is embedded as its
/// operation wrote it, without being parsed or copied into another string first.
fn write_responses(responses: &[Answer]) -> serde_json::Result<Vec<u8>> {
    let size: usize = responses
        .iter()
        .map(|a| match &a.body {
            Some(AnswerBody::Json(json)) => json.len() + 128,
            _ => 512,
        })
        .sum();
    let mut out = Vec::with_capacity(size + 32);
    out.extend_from_slice(b"{\"responses\":[");
    for (i, answer) in responses.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":");
        serde_json::to_writer(&mut out, &answer.id)?;
        out.extend_from_slice(b",\"status\":");
        serde_json::to_writer(&mut out, &answer.status)?;
        if let Some(headers) = &answer.headers {
            out.extend_from_slice(b",\"headers\":");
            serde_json::to_writer(&mut out, headers)?;
        }
        match &answer.body {
            Some(AnswerBody::Json(json)) => {
                out.extend_from_slice(b",\"body\":");
                out.extend_from_slice(json.as_bytes());
            }
            Some(AnswerBody::Value(value)) => {
                out.extend_from_slice(b",\"body\":");
                serde_json::to_writer(&mut out, value)?;
            }
            None => {}
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// The order to run the requests in (given order, each after its dependencies), and
/// each request's place by its id.
fn order<'i>(items: &'i [Item<'_>]) -> Result<(Vec<usize>, HashMap<&'i str, usize>), String> {
    let mut index = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if item.id.is_empty() {
            return Err(format!(
                "Request {} of the batch has no id; every request needs a unique id.",
                i + 1
            ));
        }
        if index.insert(&*item.id, i).is_some() {
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
            .find(|d| !index.contains_key(d.as_ref()))
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
                    .all(|d| index.get(&**d).is_some_and(|&j| done[j]))
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
    Ok((order, index))
}

/// One request's answer in the batch's `responses`.
#[derive(Debug)]
struct Answer {
    id: String,
    status: u16,
    headers: Option<Headers>,
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

/// A body as the request's operation wrote it (JSON, embedded without being parsed
/// again), or one the batch writes.
#[derive(Debug)]
enum AnswerBody {
    Json(String),
    Value(Value),
}

impl Answer {
    /// An answer in Graph's error shape, for a request the batch does not run.
    fn error(item: &Item<'_>, status: u16, code: &str, message: String) -> Answer {
        Answer {
            id: item.id.to_string(),
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
    /// The batch's caller, when its token is accepted: authenticated at the first
    /// request served without the router.
    principal: std::sync::OnceLock<Option<Principal>>,
    /// The batch's time, in an error's `innerError.date`.
    iso_date: String,
}

/// The operations a batch serves without its router: those of bulk renewals and
/// deletions (and reading one), `GET`, `PATCH` and `DELETE` on `/subscriptions/{id}`.
/// The method and the id, when `item` is one of them; any other request goes through the
/// router, like an id that would need decoding or a header HTTP cannot carry (the
/// router's 400).
fn direct<'a>(item: &'a Item<'_>) -> Option<(Method, &'a str)> {
    let method = match &*item.method {
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
    (plain && !id.contains("..") && item.headers.valid()).then_some((method, id))
}

/// Serves a request [`direct`] accepts, as the router would: the same operations
/// (`api::get_one`, `update_one`, `delete_one`), headers, count and log, and ids drawn
/// the same way; an error's `innerError.date` is the batch's time.
async fn serve(
    shared: &Shared,
    common: &Common<'_>,
    version: &str,
    item: &Item<'_>,
    method: Method,
    id: &str,
) -> Answer {
    shared.counters.request();
    let header = |name: &str| item.headers.get(name);
    // Drawn for an error alone: a success in a batch shows no ids of its own.
    let ids = RequestIds::unissued();
    let result = async {
        let authenticated;
        let batch_principal = common
            .principal
            .get_or_init(|| crate::api::authenticate(shared, common.headers, &ids).ok());
        let principal = match batch_principal {
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
                let body = item.body.map_or(&[][..], |b| b.get().as_bytes());
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
    let answer = match result {
        Ok(Some(json)) => Answer {
            id: item.id.to_string(),
            status: 200,
            headers: Some(Headers(vec![(
                Cow::Borrowed("content-type"),
                "application/json".to_owned(),
            )])),
            body: Some(AnswerBody::Json(json)),
        },
        Ok(None) => Answer {
            id: item.id.to_string(),
            status: 204,
            headers: Some(Headers::default()),
            body: None,
        },
        Err(mut error) => {
            error.ids = Some(Box::new(RequestIds::issue(
                header("client-request-id"),
                common.iso_date.clone(),
            )));
            answer(item, error.into_response()).await
        }
    };
    tracing::info!(%method, path = %graph_subs_core::quote::shortened(&format!("/{version}/subscriptions/{id}")), status = answer.status, "request");
    answer
}

/// Serves one request of the batch through the emulator's router.
async fn run(router: &axum::Router, version: &str, outer: &HeaderMap, item: &Item<'_>) -> Answer {
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
    for (name, value) in item.headers.last_values() {
        if name.eq_ignore_ascii_case("authorization") {
            continue;
        }
        request = request.header(name, value);
    }
    let body = match &item.body {
        Some(body) => {
            if item.headers.get("content-type").is_none() {
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
async fn answer(item: &Item<'_>, response: Response) -> Answer {
    let status = response.status().as_u16();
    let mut headers = Headers::default();
    for (name, value) in response.headers() {
        // The length is the batch's; the ids and date are the batch's answer's.
        if [http::header::CONTENT_LENGTH, http::header::DATE].contains(name)
            || ["request-id", "client-request-id"].contains(&name.as_str())
        {
            continue;
        }
        if let Ok(value) = value.to_str() {
            // A header given twice is one JSON key, its values joined (RFC 9110, 5.3).
            match headers.0.iter_mut().find(|(n, _)| n == name.as_str()) {
                Some((_, joined)) => {
                    joined.push_str(", ");
                    joined.push_str(value);
                }
                None => headers
                    .0
                    .push((Cow::Owned(name.as_str().to_owned()), value.to_owned())),
            }
        }
    }
    let bytes = axum::body::to_bytes(response.into_body(), 4 << 20)
        .await
        .unwrap_or_default();
    let body = (!bytes.is_empty()).then(|| {
        // The handlers answer JSON; anything else goes as a string.
        match String::from_utf8(bytes.to_vec()) {
            Ok(json) if serde_json::from_str::<serde::de::IgnoredAny>(&json).is_ok() => {
                AnswerBody::Json(json)
            }
            _ => AnswerBody::Value(Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        }
    });
    Answer {
        id: item.id.to_string(),
        status,
        headers: Some(headers),
        body,
    }
}
