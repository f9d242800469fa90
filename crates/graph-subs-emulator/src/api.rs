//! The HTTP surface: Graph's subscription API under `/v1.0` and `/beta`, the identity
//! platform's token endpoint and metadata, and the emulator's own endpoints under
//! `/emulator/`. Every rule comes from `graph-subs-core`; this module only maps requests
//! and answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, RawQuery, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use graph_subs_core::Operation;
use graph_subs_core::catalogue::Resource;
use graph_subs_core::grants::Denied;
use graph_subs_core::lifetime::{self, ExpirationVerdict};
use graph_subs_core::permissions::PermissionType;
use graph_subs_core::request::{BodyError, Properties};
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::subscription::{EncryptionCertificate, Subscription, Timestamp, Unknown};
use graph_subs_core::validate::{self, Context};
use graph_subs_core::visibility::{self, Owner};
use serde::Deserialize;
use serde_json::json;

use crate::Shared;
use crate::error::{GraphError, OAuthError, RequestIds};
use crate::faults::Fault;
use crate::identity::{Principal, TokenError, TokenSpec};
use crate::persist::Change;
use crate::store::{Edit, Place, Store};
use crate::throttle::{self, Class};

/// The API versions the emulator serves.
const VERSIONS: [&str; 2] = ["v1.0", "beta"];

/// Gives every request its ids: `request-id` (new), `client-request-id` (the caller's, or
/// the request id), both echoed as headers and written in error bodies.
pub(crate) async fn request_ids(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = shared.clock.now();
    let ids = RequestIds::issue(
        request
            .headers()
            .get("client-request-id")
            .and_then(|v| v.to_str().ok()),
        iso_date(now),
    );
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(ids.clone());
    let mut response = next.run(request).await;
    if answered_by_axum(&response) {
        response = graph_shaped(response, &method, &path, &ids).await;
    }
    // The emulator's time, not the host's: a client that follows Graph's clock (the
    // keeper's renewals) follows the emulator's when it is moved.
    let date = http_date(shared.clock.now());
    let headers = response.headers_mut();
    for (name, value) in [
        ("request-id", ids.request_id.clone()),
        ("client-request-id", ids.client_request_id.clone()),
        ("date", date),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    tracing::info!(%method, path = %graph_subs_core::quote::shortened(&path), status = response.status().as_u16(), "request");
    response
}

/// The time in an error body's `innerError.date`.
pub(crate) fn iso_date(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The time in a `Date` header.
fn http_date(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Whether an error answer came from axum rather than a handler (a method the path does
/// not allow, a body past the router's limit, a path that is not UTF-8): every handler
/// answers its errors in JSON.
fn answered_by_axum(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && !response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
}

/// axum's own error answer in Graph's shape, with a message that says what to do.
async fn graph_shaped(
    response: Response,
    method: &axum::http::Method,
    path: &str,
    ids: &RequestIds,
) -> Response {
    let (parts, body) = response.into_parts();
    let said = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, message) = match parts.status {
        // The router adds `Allow` after this middleware.
        StatusCode::METHOD_NOT_ALLOWED => (
            "BadRequest",
            format!(
                "The method {method} is not allowed on {}; the Allow header lists the methods it takes.",
                graph_subs_core::quote::shortened(path),
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "BadRequest",
            format!(
                "Unable to read JSON request payload: the body has more than {} bytes; at most {} are read: {}",
                2 * graph_subs_core::request::MAX_BODY_BYTES,
                graph_subs_core::request::MAX_BODY_BYTES,
                BodyError::TooLarge { size: 0 }.hint()
            ),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("UnsupportedMediaType", said),
        status if status.is_client_error() => (
            "BadRequest",
            if said.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("Bad request")
                    .to_owned()
            } else {
                said
            },
        ),
        _ => ("InternalServerError", said),
    };
    GraphError::new(parts.status, code, message)
        .with_ids(ids)
        .into_response()
}

pub(crate) fn check_version(version: &str, ids: &RequestIds) -> Result<(), GraphError> {
    if VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "Invalid version: {}; use v1.0 or beta",
                graph_subs_core::quote::shortened(version)
            ),
        )
        .with_ids(ids))
    }
}

/// The caller, from `Authorization: Bearer <token>`.
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    ids: &RequestIds,
) -> Result<Principal, GraphError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110): `BEARER` is Bearer.
        .and_then(|v| {
            v.get(..7)
                .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
                .map(|_| &v[7..])
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let result = match token {
        None => Err(TokenError::Missing),
        Some(token) => shared
            .identity
            .verify(&shared.base_url, token, shared.clock.now()),
    };
    let code = |e: &TokenError| match e {
        TokenError::Missing => "InvalidAuthenticationToken",
        TokenError::Invalid(_) => "InvalidAuthenticationToken",
        TokenError::Expired | TokenError::NotYetValid => "InvalidAuthenticationToken",
    };
    result.map(|claims| claims.principal()).map_err(|e| {
        let message = match e {
            // Graph's words, and what to send; never the header's value (a credential).
            TokenError::Missing if headers.contains_key("authorization") => format!(
                "{e} The Authorization header is not `Bearer {{access token}}`: send the token with the Bearer scheme."
            ),
            TokenError::Missing => {
                format!("{e} Send the token as `Authorization: Bearer {{access token}}`.")
            }
            _ => e.to_string(),
        };
        GraphError::new(StatusCode::UNAUTHORIZED, code(&e), message).with_ids(ids)
    })
}

/// Counts a request of the caller against Graph's throttling limits, or refuses it with
/// 429 and `Retry-After`.
fn admit(
    shared: &Shared,
    principal: &Principal,
    class: Class,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    let throttle = &shared.config.throttle;
    if !throttle.enabled {
        return Ok(());
    }
    let result = shared
        .throttler
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .admit(
            throttle,
            &principal.tenant_id,
            &principal.app_id,
            class,
            shared.clock.now(),
        );
    result.map_err(|wait| {
        let seconds = throttle::retry_after_seconds(wait);
        let (limit, what) = match class {
            Class::List => (throttle.list, "List requests"),
            Class::Other => (throttle.other, "create, get, update and delete requests"),
        };
        shared.counters.throttled();
        tracing::warn!(app = %principal.app_id, tenant = %principal.tenant_id, ?class, "throttled");
        GraphError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "Too many requests. The subscription API admits {} {what} per {} seconds for each app and tenant; retry after {seconds} seconds.",
                limit.requests,
                limit.window.num_seconds()
            ),
        )
        .retry_after(seconds)
        .with_ids(ids)
    })
}

/// Journals a change with `--state`; call it with the store locked, then await
/// [`durable`] before answering.
pub(crate) fn record(
    shared: &Shared,
    change: Change,
) -> Option<tokio::sync::oneshot::Receiver<Result<(), String>>> {
    shared.state.get().map(|state| state.journal.record(change))
}

/// Waits until a recorded change is on disk: an answer is a promise the change is kept.
pub(crate) async fn durable(
    saved: Option<tokio::sync::oneshot::Receiver<Result<(), String>>>,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    let Some(saved) = saved else {
        return Ok(());
    };
    let failure = match saved.await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(e)) => e,
        Err(_) => "the state writer has stopped".to_owned(),
    };
    Err(GraphError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        format!("The emulator could not save its state: {failure}. The change may be lost on restart; fix the state file's disk and retry."),
    )
    .retry_after(1)
    .with_ids(ids))
}

/// Marks a request made from inside a `$batch`: faults are drawn for the batch, not for
/// each of its requests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchItem;

/// Injects the configured faults (`--faults`) into the subscription API.
pub(crate) async fn faults(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    shared.counters.request();
    if shared.faults.is_empty() || request.extensions().get::<BatchItem>().is_some() {
        return next.run(request).await;
    }
    let delay = shared.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let ids = request.extensions().get::<RequestIds>().cloned();
    match shared.faults.draw() {
        Fault::None => next.run(request).await,
        Fault::Answer(status) => {
            let (status, code, message) = match status {
                429 => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Too many requests (an injected fault).",
                ),
                504 => (
                    StatusCode::GATEWAY_TIMEOUT,
                    "GatewayTimeout",
                    "The gateway timed out (an injected fault).",
                ),
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "The service is unavailable (an injected fault).",
                ),
            };
            shared.counters.fault();
            tracing::info!(status = status.as_u16(), "fault injected");
            let error = GraphError::new(status, code, message)
                .retry_after_duration(shared.faults.retry_after());
            match ids {
                Some(ids) => error.with_ids(&ids),
                None => error,
            }
            .into_response()
        }
        Fault::Drop => {
            // Carried out, then the answer is lost: the connection closes without it.
            let _ = next.run(request).await;
            shared.counters.fault();
            tracing::info!("fault injected: answer dropped");
            let lost = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("answer dropped by --faults"))
            });
            Response::new(axum::body::Body::from_stream(lost))
        }
    }
}

/// Whether the caller holds a permission the documentation lists for `operation` on
/// `resource` with its permission type.
fn authorize(
    principal: &Principal,
    resource: &Resource,
    operation: Operation,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    let forbidden = |message: String| {
        GraphError::new(StatusCode::FORBIDDEN, "Forbidden", message).with_ids(ids)
    };
    // The core's rule, the same the client applies before sending.
    match principal.grants.authorize(resource, operation) {
        Ok(()) => Ok(()),
        Err(Denied::NotSupported { permission_type }) => Err(forbidden(format!(
            "Operation: {operation}; {} ({}) does not support {} permissions.",
            resource.kind(),
            resource.pattern().path(),
            permission_type.title().to_lowercase()
        ))),
        Err(Denied::Missing {
            permission_type,
            needed,
        }) => Err(forbidden(format!(
            "Insufficient privileges to complete the operation. Operation: {operation} on {} ({}) with {} permissions requires one of: {}.",
            resource.kind(),
            resource.pattern().path(),
            permission_type.title().to_lowercase(),
            needed.join(", ")
        ))),
    }
}

fn resolve(text: &str) -> Option<Resource> {
    ResourcePath::parse(text)
        .ok()
        .and_then(|p| Resource::try_from(p).ok())
}

/// One subscription as Graph answers it, with `@odata.context` first: written straight
/// from the subscription in Graph's property order (no `serde_json::Value` in between,
/// which costs a map per answer and sorts the properties), and embedded as it is in a
/// batch's answer.
pub(crate) fn entity_json(
    shared: &Shared,
    version: &str,
    subscription: &Subscription,
    ids: &RequestIds,
) -> Result<String, GraphError> {
    let write = || -> serde_json::Result<String> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(b"{\"@odata.context\":");
        serde::Serializer::collect_str(
            &mut serde_json::Serializer::new(&mut out),
            &format_args!(
                "{}/{version}/$metadata#subscriptions/$entity",
                shared.base_url
            ),
        )?;
        out.push(b',');
        let start = out.len();
        serde_json::to_writer(&mut out, subscription)?;
        // The subscription's own `{`: the context opened the object.
        out.remove(start);
        String::from_utf8(out).map_err(serde::ser::Error::custom)
    };
    write().map_err(|e| {
        GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!("The subscription could not be written: {e}."),
        )
        .with_ids(ids)
    })
}

/// An answer with a JSON body.
fn json_response(json: String) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}

/// Graph reads JSON only, and says so when a write request with a body does not declare
/// it: no `Content-Type` is 400 with Graph's message, another type 415.
pub(crate) fn check_content_type(
    content_type: Option<&[u8]>,
    body: &[u8],
    ids: &RequestIds,
) -> Result<(), GraphError> {
    if body.is_empty() {
        return Ok(());
    }
    let Some(value) = content_type else {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Write requests (excluding DELETE) must contain the Content-Type header declaration: send `Content-Type: application/json`.",
        )
        .with_ids(ids));
    };
    let text = String::from_utf8_lossy(value);
    let essence = text.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(GraphError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
        format!(
            "The Content-Type {} is not supported: send the body as JSON with `Content-Type: application/json`.",
            graph_subs_core::quote::shortened(&text)
        ),
    )
    .with_ids(ids))
}

/// A request's `Content-Type`, as sent.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<&[u8]> {
    headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes)
}

fn read_body(
    body: &[u8],
    content_type: Option<&[u8]>,
    ids: &RequestIds,
) -> Result<Properties, GraphError> {
    check_content_type(content_type, body, ids)?;
    Properties::from_json(body).map_err(|e| {
        let status = match e {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Syntax { .. } | BodyError::Empty | BodyError::Utf16 => {
                StatusCode::BAD_REQUEST
            }
        };
        GraphError::new(
            status,
            "BadRequest",
            format!("Unable to read JSON request payload: {e}; {}", e.hint()),
        )
        .with_ids(ids)
    })
}

/// `POST /{version}/subscriptions`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    check_version(&version, &ids)?;
    let principal = authenticate(&shared, &headers, &ids)?;
    admit(&shared, &principal, Class::Other, &ids)?;
    let properties = read_body(&body, content_type(&headers), &ids)?;
    let now = shared.clock.now();
    let ctx = Context {
        permission_type: Some(principal.grants.permission_type),
        allow_http_loopback: true,
        ..Context::new(now)
    };
    let checked =
        validate::create(&properties, &ctx).map_err(|d| GraphError::invalid(d).with_ids(&ids))?;
    let request = checked.request;
    let resource = resolve(&request.resource).ok_or_else(|| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Unknown resource.",
        )
        .with_ids(&ids)
    })?;
    authorize(&principal, &resource, Operation::Create, &ids)?;
    let include_resource_data = request.include_resource_data.unwrap_or(false);
    if include_resource_data {
        // The core checked that a certificate is there; whether it can encrypt needs it
        // parsed (delivery/rich.rs).
        if let Some(certificate) = &request.encryption_certificate {
            certificate_can_encrypt(certificate, &ids)?;
        }
    }
    let requested = request.expiration_date_time.get();
    let expiration =
        match lifetime::judge_expiration(resource.kind(), include_resource_data, requested, now) {
            ExpirationVerdict::RaisedToMinimum { effective } => effective,
            _ => requested,
        };
    let subscription = Subscription {
        id: uuid::Uuid::new_v4().to_string(),
        resource: request.resource.clone(),
        application_id: Some(principal.app_id.clone()),
        change_type: request.change_type.to_string(),
        client_state: request.client_state.clone(),
        notification_url: request.notification_url.clone(),
        lifecycle_notification_url: request.lifecycle_notification_url.clone(),
        expiration_date_time: Timestamp::new(expiration).map_err(|_| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Expiration out of range.",
            )
            .with_ids(&ids)
        })?,
        creator_id: Some(principal.object_id.clone()),
        latest_supported_tls_version: Some(
            request
                .latest_supported_tls_version
                .clone()
                .unwrap_or_else(|| "v1_2".to_owned()),
        ),
        encryption_certificate: Some(
            request
                .encryption_certificate
                .clone()
                .unwrap_or_else(|| EncryptionCertificate::new("")),
        ),
        encryption_certificate_id: Some(
            request
                .encryption_certificate_id
                .clone()
                .unwrap_or_default(),
        ),
        include_resource_data: Some(include_resource_data),
        notification_content_type: Some(
            request
                .notification_content_type
                .clone()
                .unwrap_or_else(|| "application/json".to_owned()),
        ),
        notification_query_options: request.notification_query_options.clone(),
        notification_url_app_id: request.notification_url_app_id.clone(),
        unknown: Unknown::default(),
    };
    // Graph calls the endpoints before it stores anything (delivery.rs).
    crate::delivery::validate_on_create(&shared, &subscription, &ids).await?;
    let mut store = shared.store.lock().await;
    store.purge(now);
    if let Some(existing) = store.duplicate_of(&principal.tenant_id, &subscription) {
        return Err(GraphError::new(
            StatusCode::CONFLICT,
            "ExtensionError",
            format!("Subscription Id {existing} already exists for the requested combination"),
        )
        .with_ids(&ids));
    }
    if let Some(quota) = store.quota_exceeded(&principal.tenant_id, &subscription) {
        let summary = resource.kind().quota_summary().unwrap_or_default();
        tracing::warn!(kind = %resource.kind(), limit = quota.limit, "quota reached");
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "ExtensionError",
            format!(
                "Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of subscriptions has been reached] (documented quota: {summary})"
            ),
        )
        .with_ids(&ids));
    }
    // Written before it is stored: an answer that cannot be written stores nothing.
    let answer = entity_json(&shared, &version, &subscription, &ids)?;
    store.insert(&principal.tenant_id, subscription.clone());
    let saved = record(
        &shared,
        Change::Put {
            tenant: principal.tenant_id.clone(),
            subscription: Box::new(subscription.clone()),
        },
    );
    drop(store);
    durable(saved, &ids).await?;
    tracing::info!(id = %subscription.id, resource = %graph_subs_core::quote::shortened(&subscription.resource), "subscription created");
    Ok((StatusCode::CREATED, json_response(answer)).into_response())
}

/// 400 for an `encryptionCertificate` rich notifications cannot be encrypted for.
fn certificate_can_encrypt(
    certificate: &EncryptionCertificate,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    crate::delivery::rich::check_certificate(certificate).map_err(|e| {
        GraphError::new(StatusCode::BAD_REQUEST, "InvalidRequest", e.to_string()).with_ids(ids)
    })
}

/// The stored subscription `id` and where it is, when the caller may see it.
fn visible_in<'s>(
    store: &'s Store,
    principal: &Principal,
    id: &str,
    ids: &RequestIds,
) -> Result<(Place, &'s Subscription), GraphError> {
    store
        .find(&principal.tenant_id, id)
        .and_then(|place| store.at(place).map(|e| (place, &e.subscription)))
        .filter(|(_, s)| visibility::can_see(principal.caller(), Owner::of(s)))
        .ok_or_else(|| GraphError::not_found(id).with_ids(ids))
}

/// The resource of a stored subscription, when the catalogue knows it; the caller must
/// hold a permission it takes for `operation`.
fn authorized(
    subscription: &Subscription,
    principal: &Principal,
    operation: Operation,
    ids: &RequestIds,
) -> Result<Option<Resource>, GraphError> {
    let resource = resolve(&subscription.resource);
    if let Some(resource) = &resource {
        authorize(principal, resource, operation, ids)?;
    }
    Ok(resource)
}

/// Checks that the caller may `operation` subscription `id`.
async fn check_visible(
    shared: &Shared,
    principal: &Principal,
    id: &str,
    operation: Operation,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    let now = shared.clock.now();
    let mut store = shared.store.lock().await;
    store.purge(now);
    let (_, subscription) = visible_in(&store, principal, id, ids)?;
    authorized(subscription, principal, operation, ids).map(drop)
}

/// `GET /{version}/subscriptions/{id}`.
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    check_version(&version, &ids)?;
    let principal = authenticate(&shared, &headers, &ids)?;
    Ok(json_response(
        get_one(&shared, &principal, &version, &id, &ids).await?,
    ))
}

/// Gets subscription `id` for `principal` (who is authenticated): the subscription's JSON.
/// A request alone and one in a batch are served by this.
pub(crate) async fn get_one(
    shared: &Shared,
    principal: &Principal,
    version: &str,
    id: &str,
    ids: &RequestIds,
) -> Result<String, GraphError> {
    admit(shared, principal, Class::Other, ids)?;
    let now = shared.clock.now();
    let mut store = shared.store.lock().await;
    store.purge(now);
    let (_, subscription) = visible_in(&store, principal, id, ids)?;
    authorized(subscription, principal, Operation::List, ids)?;
    entity_json(shared, version, subscription, ids)
}

/// `PATCH /{version}/subscriptions/{id}`: renew, move the notification URL, rotate the
/// certificate.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    check_version(&version, &ids)?;
    let principal = authenticate(&shared, &headers, &ids)?;
    let json = update_one(
        &shared,
        &principal,
        &version,
        &id,
        (content_type(&headers), &body),
        &ids,
    )
    .await?;
    Ok(json_response(json))
}

/// Updates subscription `id` for `principal` (who is authenticated) with the request's
/// `(Content-Type, body)`: the updated subscription's JSON. A request alone and one in a
/// batch are served by this.
pub(crate) async fn update_one(
    shared: &Shared,
    principal: &Principal,
    version: &str,
    id: &str,
    (content_type, body): (Option<&[u8]>, &[u8]),
    ids: &RequestIds,
) -> Result<String, GraphError> {
    admit(shared, principal, Class::Other, ids)?;
    let properties = read_body(body, content_type, ids)?;
    // Whether a new certificate can encrypt rich notifications, judged before the store
    // is locked (it parses the certificate); it matters if the subscription has them.
    let certificate = properties
        .string(validate::property::CERTIFICATE)
        .map(|c| certificate_can_encrypt(&EncryptionCertificate::new(c), ids));
    let now = shared.clock.now();
    // Checked and applied in place under one lock: a renewal copies no subscription.
    let mut store = shared.store.lock().await;
    store.purge(now);
    let (mut place, existing) = visible_in(&store, principal, id, ids)?;
    let resource = authorized(existing, principal, Operation::Update, ids)?;
    let update = checked_update(
        &properties,
        certificate,
        existing,
        resource.as_ref(),
        principal,
        now,
        ids,
    )?;
    // A new notificationUrl is validated before it is stored (delivery.rs): the endpoint
    // is called with the store unlocked, and the update applied after.
    if update
        .notification_url
        .as_ref()
        .is_some_and(|url| url.as_str() != existing.notification_url.as_str())
    {
        let before = existing.notification_url.clone();
        let mut after = existing.clone();
        drop(store);
        apply_update(&mut Edit::of(&mut after), &update);
        crate::delivery::validate_on_update(shared, &before, &after, ids).await?;
        store = shared.store.lock().await;
        store.purge(now);
        // Gone since it was looked up (deleted while its endpoint was called, or expired).
        place = store
            .find(&principal.tenant_id, id)
            .ok_or_else(|| GraphError::not_found(id).with_ids(ids))?;
    }
    let edited = store.edit_at(place, id, |edit| {
        apply_update(edit, &update);
        let updated = edit.subscription();
        let journaled = shared.state.get().map(|_| Change::Put {
            tenant: principal.tenant_id.clone(),
            subscription: Box::new(updated.clone()),
        });
        (entity_json(shared, version, updated, ids), journaled)
    });
    let (answer, journaled) = edited.ok_or_else(|| GraphError::not_found(id).with_ids(ids))?;
    // The change is made: journaled whatever becomes of its answer.
    let saved = journaled.and_then(|change| record(shared, change));
    drop(store);
    durable(saved, ids).await?;
    answer
}

/// An update of `existing` checked by the core, with the expiration it will have (raised
/// to the resource's minimum lifetime, or refused beyond its maximum, which the core
/// cannot judge without knowing whether the subscription includes resource data), and
/// a new certificate's `certificate` verdict applied when rich notifications are
/// encrypted with it.
fn checked_update(
    properties: &Properties,
    certificate: Option<Result<(), GraphError>>,
    existing: &Subscription,
    resource: Option<&Resource>,
    principal: &Principal,
    now: chrono::DateTime<chrono::Utc>,
    ids: &RequestIds,
) -> Result<graph_subs_core::subscription::UpdateSubscription, GraphError> {
    let ctx = Context {
        permission_type: Some(principal.grants.permission_type),
        allow_http_loopback: true,
        ..Context::new(now)
    };
    // Resolved once: to authorize the caller, and here.
    let checked = match resource {
        Some(resource) => validate::update_of(properties, &ctx, resource),
        None => validate::update(
            properties,
            &Context {
                subscription_resource: Some(existing.resource.clone()),
                ..ctx
            },
        ),
    };
    let mut update = checked
        .map_err(|d| GraphError::invalid(d).with_ids(ids))?
        .request;
    let rich = existing.include_resource_data.unwrap_or(false);
    if let (Some(expiration), Some(resource)) = (update.expiration_date_time, resource) {
        let requested = expiration.get();
        let effective = match lifetime::judge_expiration(resource.kind(), rich, requested, now) {
            ExpirationVerdict::BeyondMaximum { .. } => {
                return Err(GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    format!(
                        "Subscription expiration can only be {} minutes in the future for {} subscriptions{}.",
                        lifetime::max_lifetime(resource.kind(), rich).num_minutes(),
                        resource.kind(),
                        if rich { " with resource data" } else { "" }
                    ),
                )
                .with_ids(ids));
            }
            ExpirationVerdict::RaisedToMinimum { effective } => effective,
            _ => requested,
        };
        update.expiration_date_time = Some(Timestamp::new(effective).unwrap_or(expiration));
    }
    if rich
        && update.encryption_certificate.is_some()
        && let Some(verdict) = certificate
    {
        verdict?;
    }
    Ok(update)
}

/// Applies a checked `update` (a renewal copies nothing: its expiration is a number).
fn apply_update(edit: &mut Edit<'_>, update: &graph_subs_core::subscription::UpdateSubscription) {
    if let Some(at) = update.expiration_date_time {
        edit.set_expiration(at);
    }
    if let Some(url) = &update.notification_url {
        edit.set_notification_url(url.clone());
    }
    if let Some(certificate) = &update.encryption_certificate {
        edit.set_encryption_certificate(certificate.clone());
    }
    if let Some(certificate_id) = &update.encryption_certificate_id {
        edit.set_encryption_certificate_id(certificate_id.clone());
    }
}

/// `DELETE /{version}/subscriptions/{id}`.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    check_version(&version, &ids)?;
    let principal = authenticate(&shared, &headers, &ids)?;
    delete_one(&shared, &principal, &id, &ids).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deletes subscription `id` for `principal` (who is authenticated). A request alone and
/// one in a batch are served by this.
pub(crate) async fn delete_one(
    shared: &Shared,
    principal: &Principal,
    id: &str,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    admit(shared, principal, Class::Other, ids)?;
    check_visible(shared, principal, id, Operation::Delete, ids).await?;
    let mut store = shared.store.lock().await;
    if store.remove(id).is_none() {
        // Another request deleted it (or it expired) since it was looked up: one delete
        // of a subscription succeeds, as in Graph.
        return Err(GraphError::not_found(id).with_ids(ids));
    }
    let saved = record(shared, Change::Remove { id: id.to_owned() });
    drop(store);
    durable(saved, ids).await
}

/// `POST /{version}/subscriptions/{id}/reauthorize`.
pub(crate) async fn reauthorize(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    check_version(&version, &ids)?;
    let principal = authenticate(&shared, &headers, &ids)?;
    admit(&shared, &principal, Class::Other, &ids)?;
    check_visible(&shared, &principal, &id, Operation::Update, &ids).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The `$skiptoken` of a List request: the id of the last subscription of the page before,
/// as the emulator writes it in `@odata.nextLink`. Anything else is refused rather than
/// read as a place in the list (a garbage token would silently skip subscriptions).
/// Other query options are ignored.
fn skiptoken(query: Option<&str>, ids: &RequestIds) -> Result<Option<String>, GraphError> {
    let bad = |message: String| {
        GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message).with_ids(ids)
    };
    let mut found = None;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if !name.eq_ignore_ascii_case("$skiptoken") {
            continue;
        }
        if found.is_some() {
            return Err(bad(
                "$skiptoken is given more than once; follow @odata.nextLink as given.".into(),
            ));
        }
        found = Some(value.into_owned());
    }
    match found {
        Some(token) if uuid::Uuid::try_parse(&token).is_err() => Err(bad(format!(
            "The $skiptoken {} is not one the emulator wrote; follow @odata.nextLink as given.",
            graph_subs_core::quote::shortened(&token)
        ))),
        found => Ok(found),
    }
}

/// `GET /{version}/subscriptions`: the caller's subscriptions (the List page's four
/// scenarios), `clientState` never returned, paged by `@odata.nextLink`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    Path(version): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    check_version(&version, &ids)?;
    let principal = authenticate(&shared, &headers, &ids)?;
    admit(&shared, &principal, Class::List, &ids)?;
    let skiptoken = skiptoken(query.as_deref(), &ids)?;
    let caller = principal.caller();
    let now = shared.clock.now();
    let mut store = shared.store.lock().await;
    store.purge(now);
    let visible = |s: &Subscription| {
        visibility::can_see(caller, Owner::of(s))
            && resolve(&s.resource).is_none_or(|r| {
                authorize(&principal, &r, Operation::List, &ids).is_ok()
                    || (principal.grants.permission_type != PermissionType::Application
                        && principal.grants.has("Subscription.Read.All"))
            })
    };
    let (page, last) = store.page(
        &principal.tenant_id,
        skiptoken.as_deref(),
        shared.config.page_size,
        visible,
    );
    let value: Vec<Subscription> = page.into_iter().map(visibility::as_listed).collect();
    drop(store);
    let mut answer = json!({
        "@odata.context": format!("{}/{version}/$metadata#subscriptions", shared.base_url),
        "value": value,
    });
    if let Some(last) = last {
        answer["@odata.nextLink"] = json!(format!(
            "{}/{version}/subscriptions?$skiptoken={last}",
            shared.base_url
        ));
    }
    Ok(Json(answer).into_response())
}

/// `GET /emulator/stats`: requests answered, throttled, faults injected.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Json<crate::Stats> {
    Json(shared.counters.read())
}

/// `GET /emulator/clock`.
pub(crate) async fn clock_now(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(json!({ "now": lifetime::rfc3339(shared.clock.now()) }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ClockChange {
    advance_seconds: Option<i64>,
    set: Option<String>,
}

/// `POST /emulator/clock`: `{"advanceSeconds": N}` or `{"set": "RFC 3339"}`.
pub(crate) async fn clock_move(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, GraphError> {
    let bad = |message: String| {
        GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message).with_ids(&ids)
    };
    let change: ClockChange = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "expected {{\"advanceSeconds\": N}} or {{\"set\": \"2026-11-23T09:00:00Z\"}}: {e}"
        ))
    })?;
    let now = match (change.advance_seconds, change.set) {
        (Some(seconds), None) => shared.clock.advance(
            Duration::try_seconds(seconds)
                .ok_or_else(|| bad("advanceSeconds is out of range".into()))?,
        ),
        (None, Some(time)) => {
            let to = Timestamp::parse(&time).map_err(|e| bad(format!("`set`: {e}")))?;
            shared.clock.set(to.get())
        }
        _ => return Err(bad("give exactly one of `advanceSeconds` and `set`".into())),
    }
    .map_err(|e| bad(e.to_string()))?;
    let saved = record(
        &shared,
        Change::Clock {
            offset_millis: shared.clock.offset_millis(),
        },
    );
    durable(saved, &ids).await?;
    tracing::info!(now = %lifetime::rfc3339(now), "clock moved");
    Ok(Json(json!({ "now": lifetime::rfc3339(now) })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TokenRequest {
    tenant_id: Option<String>,
    app_id: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    admin: bool,
    expires_in: Option<i64>,
}

/// `POST /emulator/token`: a token for any caller, for tests and
/// `graph-subs emulator token`.
pub(crate) async fn emulator_token(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, GraphError> {
    let request: TokenRequest = serde_json::from_slice(&body).map_err(|e| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("expected {{\"appId\", \"userId\", \"scopes\": [...], \"roles\": [...], \"admin\", \"expiresIn\"}}: {e}"),
        )
        .with_ids(&ids)
    })?;
    let spec = TokenSpec {
        tenant_id: request
            .tenant_id
            .unwrap_or_else(|| shared.config.tenant_id.clone()),
        app_id: request
            .app_id
            .unwrap_or_else(|| crate::DEFAULT_APP_ID.to_owned()),
        user_id: request.user_id,
        scopes: request.scopes,
        roles: request.roles,
        admin: request.admin,
        expires_in: Duration::seconds(request.expires_in.unwrap_or(3600).clamp(1, 86_400 * 365)),
    };
    let token = shared
        .identity
        .issue(&shared.base_url, &spec, shared.clock.now());
    Ok(Json(json!({
        "token_type": "Bearer",
        "expires_in": spec.expires_in.num_seconds(),
        "access_token": token,
    })))
}

/// `POST /{tenant}/oauth2/v2.0/token`: the client-credentials flow, for the apps the
/// emulator was started with.
pub(crate) async fn oauth_token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, OAuthError> {
    let error =
        |status: StatusCode, error: &'static str, code: u32, description: String| OAuthError {
            status,
            error,
            description: format!("AADSTS{code}: {description}"),
            codes: vec![code],
        };
    let body = body.map_err(|rejection| {
        error(
            rejection.status(),
            "invalid_request",
            9002313,
            format!(
                "Invalid request. Request is malformed or invalid: {}.",
                rejection.body_text()
            ),
        )
    })?;
    // The identity platform reads a form and nothing else: a JSON body has no parameters.
    let is_form = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase())
        .is_some_and(|v| v.trim().starts_with("application/x-www-form-urlencoded"));
    let mut form: HashMap<String, String> = HashMap::new();
    if is_form {
        for (name, value) in url::form_urlencoded::parse(&body) {
            if form.contains_key(name.as_ref()) {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    9002313,
                    format!(
                        "Invalid request. Request is malformed or invalid: the parameter '{}' is given more than once; give each parameter once.",
                        graph_subs_core::quote::shortened(&name)
                    ),
                ));
            }
            form.insert(name.into_owned(), value.into_owned());
        }
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let missing = |name: &str| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!(
                "The request body must contain the following parameter: '{name}'.{}",
                if is_form {
                    ""
                } else {
                    " Send the parameters as application/x-www-form-urlencoded."
                }
            ),
        )
    };
    if field("grant_type").is_empty() {
        return Err(missing("grant_type"));
    }
    if field("grant_type") != "client_credentials" {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type; the emulator supports client_credentials.".into(),
        ));
    }
    if field("client_id").is_empty() {
        return Err(missing("client_id"));
    }
    let client_id = field("client_id");
    let Some(app) = shared.config.apps.iter().find(|a| a.client_id == client_id) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{}' was not found in the directory '{}'.",
                graph_subs_core::quote::shortened(client_id),
                graph_subs_core::quote::shortened(&tenant)
            ),
        ));
    };
    if field("client_secret").is_empty() {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(),
        ));
    }
    if !app.secret_matches(field("client_secret")) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.".into(),
        ));
    }
    let scope = field("scope");
    if scope.is_empty() {
        return Err(missing("scope"));
    }
    if !scope.split_whitespace().any(|s| s.ends_with("/.default")) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).".into(),
        ));
    }
    let roles: Vec<&str> = app.roles.iter().map(String::as_str).collect();
    let spec = TokenSpec::application(&tenant, &app.client_id, &roles);
    let token = shared
        .identity
        .issue(&shared.base_url, &spec, shared.clock.now());
    Ok(Json(json!({
        "token_type": "Bearer",
        "expires_in": spec.expires_in.num_seconds(),
        "ext_expires_in": spec.expires_in.num_seconds(),
        "access_token": token,
    })))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Json<serde_json::Value> {
    let base = &shared.base_url;
    Json(json!({
        "issuer": crate::identity::Identity::issuer(base, &tenant),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        // Required by MSAL and OpenID Connect Discovery; not emulated (authorize.rs).
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "grant_types_supported": ["client_credentials"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "emulator",
        "cloud_instance_name": "graph-subs emulator",
    }))
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub(crate) async fn jwks(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(shared.identity.jwks())
}

/// What the emulator answers on a path it does not serve, in Graph's shape.
pub(crate) async fn not_found(Extension(ids): Extension<RequestIds>) -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "BadRequest",
        "Resource not found for the segment; the emulator serves /v1.0/subscriptions, /beta/subscriptions, the token endpoint and /emulator/.",
    )
    .with_ids(&ids)
}
