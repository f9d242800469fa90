//! Graph's side of the notification protocol: endpoint validation on create and update,
//! change and lifecycle notifications delivered with retries, and a log of every request
//! sent.
//!
//! # Endpoint validation
//!
//! Before it stores a subscription, the emulator POSTs `{notificationUrl}?validationToken=
//! {token}` (`&validationToken=` when the URL has a query) with an empty `text/plain`
//! body, and does the same for `lifecycleNotificationUrl` when one is given. The token is
//! fresh, random, opaque text in the form of Graph's (`Validation: Testing client
//! application reachability for subscription Request-Id: {uuid}`), URL-encoded as a form
//! value. The endpoint must answer within the validation timeout (10 seconds, as Graph;
//! [`EmulatorBuilder::validation_timeout`]) with 200 and a body that is exactly the
//! decoded token. Otherwise create answers 400 `InvalidRequest` with Graph's message:
//! "Subscription validation request failed. Notification endpoint must respond with 200
//! OK to validation request." or "Subscription validation request timed out.". A PATCH
//! that changes `notificationUrl` validates the new URL the same way. Why an endpoint
//! failed is in `GET /emulator/deliveries` (kind `validation`) and in the log.
//!
//! # Emulator endpoints (not Graph's; never under `/v1.0` or `/beta`)
//!
//! Bad input to any of them gets 400 in Graph's error shape (`BadRequest`), with a
//! message that says what is wrong and what to send.
//!
//! - `POST /emulator/changes` with `{"resource": "me/messages", "changeType":
//!   "created" | "updated" | "deleted", "resourceData": {...} (optional), "tenantId":
//!   "..." (optional, the emulator's tenant by default), "tamper": "..." (optional, see
//!   below)}` reports a change. Every live subscription of that tenant on that resource
//!   whose `changeType` includes it gets a change notification at its `notificationUrl`:
//!   `{"value": [{"subscriptionId", "subscriptionExpirationDateTime", "changeType",
//!   "resource", "resourceData": {..., "@odata.type", "@odata.id", "id"}, "clientState",
//!   "tenantId"}]}` (`clientState` only when the subscription has one). Answer: 202
//!   `{"matched": N, "deliveries": ["<delivery id>", ...]}`, one delivery per matched
//!   subscription; sending happens in the background.
//!
//!   A subscription with `includeResourceData` gets a **rich notification**: the whole
//!   `resourceData` encrypted for its `encryptionCertificate` into `encryptedContent`
//!   (`data`, `dataSignature`, `dataKey`, `encryptionCertificateId`,
//!   `encryptionCertificateThumbprint`; `delivery/rich.rs`), `resourceData` reduced to
//!   `id`, `@odata.type` and `@odata.id`, and `"validationTokens": [jwt]`: claims
//!   [`graph_subs_core::notification::ValidationTokenClaims`] for the subscription's app
//!   and tenant, valid an hour on the emulator's clock, signed with the key of the JWKS
//!   at `/{tenant}/discovery/v2.0/keys`. `"tamper"` breaks one thing in it, to test a
//!   receiver: `"dataSignature"`, `"data"`, `"expiredToken"`, `"foreignToken"` (made for
//!   another app), `"forgedToken"` (a signature that is not the issuer's) or `"noToken"`;
//!   it changes nothing in plain notifications.
//! - `POST /emulator/lifecycle` with `{"subscriptionId": "...", "lifecycleEvent":
//!   "reauthorizationRequired" | "subscriptionRemoved" | "missed", "tenantId": "..."
//!   (optional)}` sends `{"value": [{"subscriptionId", "subscriptionExpirationDateTime",
//!   "tenantId", "clientState", "lifecycleEvent"}]}` to the subscription's
//!   `lifecycleNotificationUrl`. Answer: 202 `{"delivery": "<delivery id>", "removed":
//!   bool}`; 404 `ResourceNotFound` for an unknown id, 400 when the subscription has no
//!   lifecycle URL. `subscriptionRemoved` also removes the subscription, as Graph does.
//! - `GET /emulator/deliveries` (optionally `?subscriptionId=...`) answers `{"value":
//!   [{"id", "subscriptionId", "kind": "change" | "lifecycle" | "validation", "url"
//!   (redacted), "changeType" | "lifecycleEvent", "state": "pending" | "delivered" |
//!   "failed", "note" (when nothing was sent), "attempts": [{"at", "durationMs",
//!   "status", "error"}]}]}`, oldest first: the last 10,000 deliveries.
//!
//! # Decisions
//!
//! - **Which subscriptions a change reaches.** Resource paths are compared
//!   case-insensitively, without leading or trailing `/` and without the query: the
//!   emulator has no items, so it evaluates neither `$filter` nor `model=`, and `me/...`
//!   is not equated with `users/{id}/...` (report the path the subscription was created
//!   with). Expired subscriptions (on the emulator's clock) are never notified.
//! - **The payload.** `resourceData` is what the reporter sent, completed with `id` (new
//!   when not given), `@odata.id` (`{resource path}/{id}`, also the notification's
//!   `resource`, as in Graph's examples) and `@odata.type` (`#microsoft.graph.{kind}`
//!   from the core's catalogue), each kept when given. Timestamps come from the
//!   emulator's clock.
//! - **Delivery.** Each notification is sent by a task of its own: a POST of
//!   `application/json`, accepted on any 2xx within the attempt timeout (3 seconds, as
//!   Graph). Anything else (another status, a timeout, no connection) is retried with
//!   exponential backoff until the [`RetryPolicy`] gives up (4 hours by default, as
//!   Graph, and a bounded number of attempts). Backoff uses real time, not the emulator's
//!   clock. The tasks hold the emulator weakly: when it stops, retries stop.
//! - **Which URLs are called.** `https://` with certificate verification (the webpki
//!   roots plus [`EmulatorBuilder::extra_root_certificate`]), and `http://` on loopback
//!   only: the core accepts that form only locally, and the emulator warns that it is a
//!   deviation from Graph. `EventHub:` and `EventGrid:` destinations are neither
//!   validated nor delivered to: their deliveries are logged as failed with a note.
//!   Redirects are never followed (Graph does not), proxies from the environment are not
//!   used, and `latestSupportedTlsVersion` is not enforced.
//! - **The validation answer.** Its body must equal the token byte for byte (no trailing
//!   newline); a `Content-Type` other than `text/plain` is accepted with a warning, since
//!   Graph documents `text/plain` without saying it refuses others. An update validates
//!   only a `notificationUrl` that differs from the stored one. Validation comes after
//!   the core's checks and permissions and before the duplicate check (a duplicate's
//!   endpoint is called too); the validation records of a refused create carry the id
//!   the subscription would have had.
//!   [`EmulatorBuilder::endpoint_validation`] turns validation off (load tests).
//! - **Rich notifications.** A fresh symmetric key per notification, as the documentation
//!   implies (it does not say whether Graph reuses keys); `create` and a PATCH of
//!   `encryptionCertificate` refuse (400) a certificate that is not X.509 with an RSA key
//!   of at least 2048 bits, where Graph would fail later, at the first notification.
//! - **Secrets.** URLs are logged and recorded redacted (user-info and query values as
//!   `***`); `clientState` goes only into the payloads; transport errors are described
//!   without their URL.

mod log;
mod payload;
pub(crate) mod rich;
mod send;
mod validation;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use graph_subs_core::change_type::{ChangeType, ChangeTypes};
use graph_subs_core::lifetime;
use graph_subs_core::notification_url::{Delivery, NotificationUrl};
use graph_subs_core::quote::shortened;
use graph_subs_core::subscription::Subscription;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use self::log::{Attempt, Entry, Kind, Log, Record, State as DeliveryState};
use self::validation::Failure;
use crate::error::{GraphError, RequestIds};
use crate::{EmulatorBuilder, Shared};
use graph_subs_core::notification::LifecycleEvent;

/// How long an endpoint has to answer a validation request, as Graph documents.
pub const VALIDATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Graph's message when an endpoint answers a validation request wrongly or not at all.
const VALIDATION_FAILED: &str = "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.";
/// Graph's message when an endpoint does not answer a validation request in time.
const VALIDATION_TIMED_OUT: &str = "Subscription validation request timed out.";

/// How the emulator retries a notification the endpoint did not accept: attempts
/// `first_backoff` apart, doubling up to `max_backoff`, while the next attempt would
/// start within `window` of the first and at most `max_attempts` in all.
///
/// The default follows Graph (3-second attempts, retries for up to 4 hours): attempts
/// 5 s, 10 s, 20 s... apart, at most 15 minutes apart, at most 30 attempts. Tests set
/// shorter times:
///
/// ```
/// use std::time::Duration;
/// use graph_subs_emulator::{Emulator, RetryPolicy};
///
/// let emulator = Emulator::builder()
///     .delivery_retry(RetryPolicy {
///         first_backoff: Duration::from_millis(50),
///         window: Duration::from_secs(5),
///         ..RetryPolicy::default()
///     })
///     .build();
/// # drop(emulator);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long one attempt may take before it counts as failed (Graph: 3 seconds).
    pub attempt_timeout: Duration,
    /// The wait after the first failed attempt; each further wait doubles.
    pub first_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// How long after the first attempt a retry may still start (Graph: 4 hours).
    pub window: Duration,
    /// The most attempts, the first included (at least 1).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempt_timeout: Duration::from_secs(3),
            first_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(15 * 60),
            window: Duration::from_secs(4 * 60 * 60),
            max_attempts: 30,
        }
    }
}

/// The builder's delivery options.
#[derive(Clone)]
pub(crate) struct Settings {
    validate_endpoints: bool,
    validation_timeout: Duration,
    /// PEM blocks of CAs trusted besides the webpki roots.
    extra_roots: Vec<Vec<u8>>,
    pub(crate) retry: RetryPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            validate_endpoints: true,
            validation_timeout: VALIDATION_TIMEOUT,
            extra_roots: Vec::new(),
            retry: RetryPolicy::default(),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("validate_endpoints", &self.validate_endpoints)
            .field("validation_timeout", &self.validation_timeout)
            .field("extra_roots", &self.extra_roots.len())
            .field("retry", &self.retry)
            .finish()
    }
}

/// The notification protocol's options (see `delivery.rs` for what the emulator sends).
impl EmulatorBuilder {
    /// Whether create and update validate `notificationUrl` and `lifecycleNotificationUrl`
    /// by calling them, as Graph does (default: true). Turn it off for load tests or for
    /// URLs nobody serves.
    pub fn endpoint_validation(mut self, validate: bool) -> Self {
        self.config.delivery.validate_endpoints = validate;
        self
    }

    /// How long an endpoint has to answer a validation request (default: 10 seconds, as
    /// Graph).
    pub fn validation_timeout(mut self, timeout: Duration) -> Self {
        self.config.delivery.validation_timeout = timeout;
        self
    }

    /// Trusts the CA certificates in `pem` (one or more `BEGIN CERTIFICATE` blocks) for
    /// `https://` endpoints, besides the public roots: for local receivers with their own
    /// CA. A PEM without a certificate makes [`Emulator::start`](crate::Emulator::start)
    /// fail.
    pub fn extra_root_certificate(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.config.delivery.extra_roots.push(pem.as_ref().to_vec());
        self
    }

    /// How notifications the endpoint did not accept are retried (default: Graph's 4
    /// hours).
    pub fn delivery_retry(mut self, policy: RetryPolicy) -> Self {
        self.config.delivery.retry = policy;
        self
    }
}

/// The HTTP client that calls endpoints, and the delivery log.
#[derive(Debug)]
pub(crate) struct Deliveries {
    client: reqwest::Client,
    log: Mutex<Log>,
}

impl Deliveries {
    /// The client for `settings`; an error names a PEM that holds no usable certificate.
    pub(crate) fn new(settings: &Settings) -> Result<Deliveries, String> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        for (i, pem) in settings.extra_roots.iter().enumerate() {
            let number = i + 1;
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("extra root certificate {number}: {}", send::describe(e)))?;
            if certificates.is_empty() {
                return Err(format!(
                    "extra root certificate {number} holds no `-----BEGIN CERTIFICATE-----` block"
                ));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(send::describe)?;
        Ok(Deliveries {
            client,
            log: Mutex::new(Log::with_capacity(log::CAPACITY)),
        })
    }

    fn push(&self, record: Record) -> Entry {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record)
    }

    fn update(&self, entry: Entry, change: impl FnOnce(&mut Record)) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .update(entry, change);
    }

    fn records(&self, keep: impl Fn(&Record) -> bool) -> Vec<Record> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .records(keep)
    }
}

/// How the emulator reaches a notification URL.
enum Target<'a> {
    /// A webhook it POSTs to: the URL as written.
    Call(&'a str),
    /// Azure Event Hubs or Event Grid: not emulated.
    OtherService,
    /// A scheme Graph does not call (the core refuses these first).
    Refused,
}

fn target(url: &NotificationUrl) -> Target<'_> {
    let parsed = url.url();
    match (url.delivery(), parsed.as_ref().map(|u| u.scheme())) {
        (Delivery::EventHub | Delivery::EventGrid, _) => Target::OtherService,
        (Delivery::Webhook, Some("https")) => Target::Call(url.as_str()),
        (Delivery::Webhook, Some("http")) if url.is_loopback() => Target::Call(url.as_str()),
        (Delivery::Webhook, _) => Target::Refused,
    }
}

const NOT_EMULATED: &str =
    "EventHub: and EventGrid: destinations are not emulated: nothing was sent";
const NOT_CALLED: &str = "only https:// endpoints (and http:// on loopback) are called";

/// Validates the endpoints of a subscription about to be created: `notificationUrl`,
/// then `lifecycleNotificationUrl`.
pub(crate) async fn validate_on_create(
    shared: &Shared,
    subscription: &Subscription,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    validate_endpoint(
        shared,
        &subscription.id,
        "notificationUrl",
        &subscription.notification_url,
        ids,
    )
    .await?;
    if let Some(url) = &subscription.lifecycle_notification_url {
        validate_endpoint(
            shared,
            &subscription.id,
            "lifecycleNotificationUrl",
            url,
            ids,
        )
        .await?;
    }
    Ok(())
}

/// Validates the `notificationUrl` an update sets, when it differs from the stored one.
pub(crate) async fn validate_on_update(
    shared: &Shared,
    before: &NotificationUrl,
    after: &Subscription,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    if before.as_str() == after.notification_url.as_str() {
        return Ok(());
    }
    validate_endpoint(
        shared,
        &after.id,
        "notificationUrl",
        &after.notification_url,
        ids,
    )
    .await
}

async fn validate_endpoint(
    shared: &Shared,
    subscription_id: &str,
    field: &'static str,
    url: &NotificationUrl,
    ids: &RequestIds,
) -> Result<(), GraphError> {
    let target = target(url);
    if matches!(target, Target::Call(_)) && url.url().is_some_and(|u| u.scheme() == "http") {
        tracing::warn!(
            field,
            url = %url.redacted(),
            "an http:// endpoint on loopback: the emulator accepts it, Graph calls only https:// endpoints"
        );
    }
    let settings = &shared.config.delivery;
    if !settings.validate_endpoints {
        return Ok(());
    }
    let failed = || {
        GraphError::new(StatusCode::BAD_REQUEST, "InvalidRequest", VALIDATION_FAILED).with_ids(ids)
    };
    let mut record = Record::new(subscription_id, Kind::Validation, url.redacted());
    let raw = match target {
        Target::Call(raw) => raw,
        Target::OtherService => {
            tracing::debug!(field, "EventHub:/EventGrid: destination: not validated");
            return Ok(());
        }
        Target::Refused => {
            record.state = DeliveryState::Failed;
            record.note = Some(NOT_CALLED.to_owned());
            shared.delivery.push(record);
            return Err(failed());
        }
    };
    let at = lifetime::rfc3339(shared.clock.now());
    let outcome = validation::call(&shared.delivery.client, raw, settings.validation_timeout).await;
    let error = match &outcome.failure {
        None => None,
        Some(Failure::TimedOut) => Some(format!(
            "no complete answer within {} ms",
            settings.validation_timeout.as_millis()
        )),
        Some(Failure::Refused(why)) => Some(why.clone()),
    };
    record.state = if outcome.failure.is_none() {
        DeliveryState::Delivered
    } else {
        DeliveryState::Failed
    };
    record.attempts.push(Attempt {
        at,
        duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
        status: outcome.status,
        error: error.clone(),
    });
    let delivery = record.id.clone();
    shared.delivery.push(record);
    match outcome.failure {
        None => {
            tracing::info!(field, url = %url.redacted(), "endpoint validated");
            Ok(())
        }
        Some(failure) => {
            tracing::warn!(
                field,
                url = %url.redacted(),
                %delivery,
                error = error.as_deref().unwrap_or_default(),
                "endpoint validation failed"
            );
            Err(match failure {
                Failure::TimedOut => GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    VALIDATION_TIMED_OUT,
                )
                .with_ids(ids),
                Failure::Refused(_) => failed(),
            })
        }
    }
}

/// Logs a notification and sends it in the background; its delivery id.
fn dispatch(
    shared: &Arc<Shared>,
    mut record: Record,
    url: &NotificationUrl,
    body: Vec<u8>,
) -> String {
    let id = record.id.clone();
    match target(url) {
        Target::Call(raw) => {
            let entry = shared.delivery.push(record);
            send::spawn(
                shared,
                send::Job {
                    entry,
                    url: raw.to_owned(),
                    body,
                },
            );
        }
        Target::OtherService => {
            record.state = DeliveryState::Failed;
            record.note = Some(NOT_EMULATED.to_owned());
            shared.delivery.push(record);
        }
        Target::Refused => {
            record.state = DeliveryState::Failed;
            record.note = Some(NOT_CALLED.to_owned());
            shared.delivery.push(record);
        }
    }
    id
}

/// The emulator's own notification endpoints, under `/emulator/`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/emulator/changes", post(changes))
        .route("/emulator/lifecycle", post(lifecycle))
        .route("/emulator/deliveries", get(deliveries))
}

fn bad_request(message: impl Into<String>, ids: &RequestIds) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message).with_ids(ids)
}

/// Reads a JSON body; a 400 that shows `expected` when it is not one.
fn read<T: DeserializeOwned>(
    body: &Bytes,
    expected: &str,
    ids: &RequestIds,
) -> Result<T, GraphError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad_request(
            format!("the body is empty; send {expected}"),
            ids,
        ));
    }
    serde_json::from_slice(body).map_err(|e| bad_request(format!("send {expected}: {e}"), ids))
}

const CHANGE_SHAPE: &str = r#"{"resource": "me/messages", "changeType": "created", "resourceData": {...} (optional), "tenantId": "..." (optional), "tamper": "dataSignature" | "data" | "expiredToken" | "foreignToken" | "forgedToken" | "noToken" (optional)}"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChangeReport {
    resource: String,
    change_type: String,
    #[serde(default)]
    resource_data: Option<Map<String, Value>>,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    tamper: Option<payload::Tamper>,
}

/// `POST /emulator/changes`.
async fn changes(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), GraphError> {
    let report: ChangeReport = read(&body, CHANGE_SHAPE, &ids)?;
    let resource = report.resource.trim();
    if resource.trim_matches('/').is_empty() {
        return Err(bad_request(
            format!(
                "`resource` is empty; send the resource path the subscriptions were created with: {CHANGE_SHAPE}"
            ),
            &ids,
        ));
    }
    let change_type = report
        .change_type
        .parse::<ChangeTypes>()
        .ok()
        .and_then(|types| {
            let mut types = types.iter();
            match (types.next(), types.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        })
        .ok_or_else(|| {
            bad_request(
                format!(
                    "`changeType` is `{}`; report one change at a time: `created`, `updated` or `deleted`",
                    shortened(&report.change_type)
                ),
                &ids,
            )
        })?;
    let tenant = report
        .tenant_id
        .unwrap_or_else(|| shared.config.tenant_id.clone());
    let matched = live_matching(&shared, &tenant, resource, change_type).await;
    let signing = payload::Signing {
        identity: &shared.identity,
        now: shared.clock.now(),
        tamper: report.tamper,
    };
    let deliveries: Vec<String> = matched
        .iter()
        .map(|subscription| {
            let mut record = Record::new(
                &subscription.id,
                Kind::Change,
                subscription.notification_url.redacted(),
            );
            record.change_type = Some(change_type.as_str().to_owned());
            match payload::change(
                subscription,
                &tenant,
                change_type,
                report.resource_data.as_ref(),
                &signing,
            ) {
                Ok(body) => dispatch(&shared, record, &subscription.notification_url, body),
                Err(e) => {
                    // Only a subscription stored before certificates were checked.
                    tracing::error!(id = %subscription.id, error = %e, "rich notification not sent");
                    record.state = DeliveryState::Failed;
                    record.note = Some(e.to_string());
                    let id = record.id.clone();
                    shared.delivery.push(record);
                    id
                }
            }
        })
        .collect();
    tracing::info!(
        resource = %shortened(resource),
        change_type = change_type.as_str(),
        matched = matched.len(),
        "change reported"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "matched": matched.len(), "deliveries": deliveries })),
    ))
}

/// The unexpired subscriptions of `tenant` that a change reaches.
async fn live_matching(
    shared: &Shared,
    tenant: &str,
    resource: &str,
    change_type: ChangeType,
) -> Vec<Subscription> {
    let mut store = shared.store.lock().await;
    store.purge(shared.clock.now());
    // One page as large as the store: every subscription of the tenant that matches.
    let (all, _) = store.page(tenant, None, usize::MAX, |s| {
        payload::reaches(s, resource, change_type)
    });
    all.into_iter().cloned().collect()
}

const LIFECYCLE_SHAPE: &str = r#"{"subscriptionId": "...", "lifecycleEvent": "reauthorizationRequired" | "subscriptionRemoved" | "missed", "tenantId": "..." (optional)}"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LifecycleReport {
    subscription_id: String,
    lifecycle_event: String,
    #[serde(default)]
    tenant_id: Option<String>,
}

/// `POST /emulator/lifecycle`.
async fn lifecycle(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), GraphError> {
    let report: LifecycleReport = read(&body, LIFECYCLE_SHAPE, &ids)?;
    let event = Some(LifecycleEvent::from_wire(&report.lifecycle_event))
        .filter(|e| !matches!(e, LifecycleEvent::Other(_)))
        .ok_or_else(|| {
            let names: Vec<&str> = LifecycleEvent::KNOWN.iter().map(|e| e.as_str()).collect();
            bad_request(
                format!(
                    "`lifecycleEvent` is `{}`; send one of {}",
                    shortened(&report.lifecycle_event),
                    names.join(", ")
                ),
                &ids,
            )
        })?;
    let tenant = report
        .tenant_id
        .unwrap_or_else(|| shared.config.tenant_id.clone());
    let id = report.subscription_id;
    let mut store = shared.store.lock().await;
    store.purge(shared.clock.now());
    let subscription = store
        .get(&tenant, &id)
        .map(|e| e.subscription.clone())
        .ok_or_else(|| GraphError::not_found(&id).with_ids(&ids))?;
    let Some(url) = subscription.lifecycle_notification_url.clone() else {
        return Err(bad_request(
            format!(
                "subscription {} has no `lifecycleNotificationUrl`, where lifecycle notifications go; create it with one (a PATCH cannot add it)",
                shortened(&id)
            ),
            &ids,
        ));
    };
    let removed = event == LifecycleEvent::SubscriptionRemoved;
    let saved = if removed {
        store.remove(&id);
        crate::api::record(&shared, crate::persist::Change::Remove { id: id.clone() })
    } else {
        None
    };
    drop(store);
    crate::api::durable(saved, &ids).await?;
    let body = payload::lifecycle(&subscription, &tenant, event.clone());
    let mut record = Record::new(&subscription.id, Kind::Lifecycle, url.redacted());
    record.lifecycle_event = Some(event.as_str().to_owned());
    let delivery = dispatch(&shared, record, &url, body);
    tracing::info!(
        subscription = %shortened(&id),
        event = event.as_str(),
        removed,
        "lifecycle event reported"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "delivery": delivery, "removed": removed })),
    ))
}

/// The answer of `GET /emulator/deliveries`, each record's fields in the documented
/// order.
#[derive(Debug, serde::Serialize)]
struct DeliveryLog {
    value: Vec<Record>,
}

/// `GET /emulator/deliveries[?subscriptionId=...]`.
async fn deliveries(
    State(shared): State<Arc<Shared>>,
    Extension(ids): Extension<RequestIds>,
    RawQuery(query): RawQuery,
) -> Result<Json<DeliveryLog>, GraphError> {
    let mut subscription = None;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name == "subscriptionId" {
            subscription = Some(value.into_owned());
        } else {
            return Err(bad_request(
                format!(
                    "unknown query parameter `{}`; the only one is `subscriptionId`",
                    shortened(&name)
                ),
                &ids,
            ));
        }
    }
    let records = shared.delivery.records(|r| {
        subscription
            .as_deref()
            .is_none_or(|id| r.subscription_id == id)
    });
    Ok(Json(DeliveryLog { value: records }))
}
