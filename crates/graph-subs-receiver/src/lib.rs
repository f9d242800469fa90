//! The receiving side of Microsoft Graph subscriptions: the endpoint Graph calls.
//!
//! [`Receiver::builder`] makes an axum [`Router`] that any app can mount (or serve on its
//! own with [`serve`]) and the [`Events`] stream it hands notifications to:
//!
//! - **The validation handshake.** When a subscription is created, or its
//!   `notificationUrl` moved, Graph POSTs `?validationToken=...` to each URL and wants the
//!   decoded token back as `text/plain` with 200 within 10 seconds: it is answered at
//!   once, before anything else is read.
//! - **`clientState` on every notification.** Each item's `clientState` is compared, in
//!   constant time, with the secret the app gave ([`ClientStates`]: one for every
//!   subscription, or one per subscription). An item that does not match is counted and
//!   dropped, never delivered; the POST is still answered 202, so that Graph (or whoever
//!   forged it) does not send it again.
//! - **A bounded queue, never a lost notification.** The items of a POST are queued
//!   together or not at all: when the queue has no room for all of them, the answer is
//!   503 with `Retry-After`, and Graph sends them again later. Otherwise 202, at once.
//! - **Lifecycle events** (`reauthorizationRequired`, `subscriptionRemoved`, `missed`, and
//!   any newer one, kept as written) are their own [`Event::Lifecycle`], told apart by
//!   their `lifecycleEvent`, whichever URL they arrive on.
//! - **Rich notifications** ([`ReceiverBuilder::rich`]): the `validationTokens` verified
//!   against the issuer's keys, then each item's `encryptedContent` signature checked and
//!   its resource decrypted ([`rich`]); the app gets the decrypted resource as the
//!   notification's `resourceData`, and `encryptedContent` no more. An item no token
//!   vouches for, or whose signature does not match, is counted and dropped (answered
//!   202, as a wrong `clientState`). An item a token vouched for but no configured key
//!   unwraps is the receiver's own misconfiguration (a certificate rollover half done),
//!   and a token that cannot be checked now (the issuer's keys did not answer) is the
//!   network's: the POST is answered 503 and Graph sends it again, so that nothing is
//!   lost. Resource data in clear (beyond `id` and `@odata.*`) also needs a token, so that
//!   a forged resource cannot pass for a decrypted one. Tokens are judged once per
//!   tenant of a POST. Without [`ReceiverBuilder::rich`], rich items are delivered as
//!   they came, encrypted.
//! - **Slow clients**: a request that takes over [`REQUEST_TIMEOUT`] (10 s; Graph waits 3)
//!   to arrive is answered 408.
//! - **Bad input** (a body over the limit, not JSON, not Graph's shape) gets 413 or 400
//!   and is counted; nothing panics.
//!
//! The payloads are the core's types ([`graph_subs_core::notification`]), the same the
//! emulator writes. What the receiver saw is counted in [`Stats`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use graph_subs_core::notification::{ChangeNotification, LifecycleNotification, Notifications};

pub mod rich;
/// HTTPS: the configuration from PEM files, and the listener [`serve_tls`] uses.
pub use graph_subs_tls as tls;

use graph_subs_core::quote;
use graph_subs_core::subscription::ClientState;
use rich::{DecryptionKeys, RichProblem, TokenVerifier};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

/// The largest body read: Graph's notifications are a few kilobytes each, rich ones with
/// resource data some more; 4 MiB holds a full batch of them.
pub const DEFAULT_MAX_BODY: usize = 4 << 20;
/// Notifications waiting for the app, by default.
pub const DEFAULT_QUEUE: usize = 10_000;
/// Where change notifications are received, by default.
pub const DEFAULT_NOTIFICATION_PATH: &str = "/notifications";
/// Where lifecycle notifications are received, by default.
pub const DEFAULT_LIFECYCLE_PATH: &str = "/lifecycle";
/// POSTs of rich notifications decrypted at once, per CPU, by default. Measured
/// (`benches/rich.rs`, 2 CPUs without AVX-512 IFMA): one per CPU gave 1,450
/// notifications/s, two 1,700/s, 32 2,140/s: the RSA work then gets the CPUs' time ahead
/// of the HTTP threads. With IFMA (RSA about 0.3 ms), 2 and 32 a CPU both hold 2,000/s
/// with a p99 under 5 ms. Each is a thread of tokio's blocking pool holding one POST (at
/// most the body limit).
pub const DEFAULT_RICH_WORKERS_PER_CPU: usize = 32;
/// The `Retry-After` of a 503 for a full queue, in seconds.
const RETRY_AFTER_SECONDS: &str = "5";

/// The secrets a notification's `clientState` must match.
#[derive(Clone)]
pub enum ClientStates {
    /// One for every subscription.
    Shared(ClientState),
    /// One per subscription id; a notification for another subscription is rejected.
    PerSubscription(HashMap<String, ClientState>),
    /// One per subscription id, from a map its owner changes while the receiver runs
    /// (the keeper, as subscriptions are created again under new ids).
    Live(LiveClientStates),
}

/// Subscription ids and their `clientState`s, shared between a receiver and whoever
/// creates the subscriptions. Cheap to clone (one map behind a lock).
#[derive(Clone, Default)]
pub struct LiveClientStates(Arc<std::sync::RwLock<HashMap<String, ClientState>>>);

impl LiveClientStates {
    /// An empty map.
    pub fn new() -> LiveClientStates {
        LiveClientStates::default()
    }

    /// `id`'s secret is `state` from now on.
    pub fn insert(&self, id: impl Into<String>, state: ClientState) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.into(), state);
    }

    /// `id` is no longer a subscription notifications may come for.
    pub fn remove(&self, id: &str) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// How many subscriptions it knows.
    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for LiveClientStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LiveClientStates({} subscriptions)", self.len())
    }
}

impl std::fmt::Debug for ClientStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientStates::Shared(_) => f.write_str("ClientStates::Shared(***)"),
            ClientStates::PerSubscription(map) => {
                write!(
                    f,
                    "ClientStates::PerSubscription({} subscriptions)",
                    map.len()
                )
            }
            ClientStates::Live(live) => write!(f, "ClientStates::{live:?}"),
        }
    }
}

impl ClientStates {
    /// Why `given` is not the secret of `subscription_id`, if it is not.
    fn check(&self, subscription_id: &str, given: Option<&ClientState>) -> Result<(), Rejection> {
        let judge = |expected: &ClientState| match given {
            Some(given) if expected.matches(given.expose()) => Ok(()),
            Some(_) => Err(Rejection::ClientState),
            None => Err(Rejection::NoClientState),
        };
        match self {
            ClientStates::Shared(secret) => judge(secret),
            ClientStates::PerSubscription(map) => judge(
                map.get(subscription_id)
                    .ok_or(Rejection::UnknownSubscription)?,
            ),
            ClientStates::Live(live) => judge(
                live.0
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(subscription_id)
                    .ok_or(Rejection::UnknownSubscription)?,
            ),
        }
    }
}

/// What the app receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A change to a subscribed resource, its `clientState` checked.
    Change(ChangeNotification),
    /// An event about a subscription, its `clientState` checked.
    Lifecycle(LifecycleNotification),
}

/// The stream of checked notifications, in the order they were received.
pub type Events = mpsc::Receiver<Event>;

/// Why a notification or a POST was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Its `clientState` is not the subscription's.
    ClientState,
    /// It has no `clientState` while one is expected.
    NoClientState,
    /// It is for a subscription the receiver was given no secret for.
    UnknownSubscription,
    /// The body is not Graph's `{"value": [...]}` of notifications.
    Malformed,
    /// The body is over the limit.
    TooLarge,
    /// The queue had no room: answered 503, for Graph to send again.
    QueueFull,
    /// A rich notification no validation token vouches for.
    ValidationToken,
    /// A rich notification whose `dataSignature` does not match its `data`.
    Signature,
    /// A rich notification that does not decrypt (not base64, bad padding, not JSON).
    Undecryptable,
    /// A rich notification for a certificate the receiver has no key for: answered 503,
    /// for Graph to send again once the key is added.
    NoDecryptionKey,
    /// A rich notification whose token cannot be checked now (the issuer's keys did not
    /// answer): answered 503, for Graph to send again.
    KeysUnavailable,
}

impl Rejection {
    /// Every reason, in declaration order (the counters' order).
    pub const ALL: [Rejection; 11] = [
        Rejection::ClientState,
        Rejection::NoClientState,
        Rejection::UnknownSubscription,
        Rejection::Malformed,
        Rejection::TooLarge,
        Rejection::QueueFull,
        Rejection::ValidationToken,
        Rejection::Signature,
        Rejection::Undecryptable,
        Rejection::NoDecryptionKey,
        Rejection::KeysUnavailable,
    ];

    /// Its name in [`Stats`] and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::ClientState => "clientState",
            Rejection::NoClientState => "noClientState",
            Rejection::UnknownSubscription => "unknownSubscription",
            Rejection::Malformed => "malformed",
            Rejection::TooLarge => "tooLarge",
            Rejection::QueueFull => "queueFull",
            Rejection::ValidationToken => "validationToken",
            Rejection::Signature => "dataSignature",
            Rejection::Undecryptable => "undecryptable",
            Rejection::NoDecryptionKey => "noDecryptionKey",
            Rejection::KeysUnavailable => "keysUnavailable",
        }
    }
}

/// What the receiver has seen since it was built.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Validation handshakes answered.
    pub validations: u64,
    /// Notifications (items) received, whatever became of them.
    pub received: u64,
    /// Notifications handed to the app.
    pub delivered: u64,
    /// Notifications or POSTs not delivered, by [`Rejection::as_str`].
    pub rejected: std::collections::BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
struct Counters {
    validations: AtomicU64,
    received: AtomicU64,
    delivered: AtomicU64,
    rejected: [AtomicU64; Rejection::ALL.len()],
}

impl Counters {
    fn reject(&self, why: Rejection, count: u64) {
        // `ALL` lists the reasons in declaration order: the discriminant is the index.
        self.rejected[why as usize].fetch_add(count, Ordering::Relaxed);
        tracing::warn!(reason = why.as_str(), count, "notifications rejected");
    }

    fn read(&self) -> Stats {
        Stats {
            validations: self.validations.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            rejected: Rejection::ALL
                .iter()
                .zip(&self.rejected)
                .map(|(r, c)| (r.as_str(), c.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

/// The receiver's time, in seconds since the epoch: the wall clock unless a test or an
/// emulated run gives another ([`ReceiverBuilder::clock`]).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock(Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        }))
    }

    /// Any other.
    pub fn from_fn(now: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    fn now(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// What rich notifications need: the keys that decrypt them and the verifier of their
/// tokens.
#[derive(Debug)]
struct Rich {
    keys: DecryptionKeys,
    tokens: TokenVerifier,
    /// POSTs decrypted at once ([`DEFAULT_RICH_WORKERS_PER_CPU`] per CPU); waiters are
    /// served in order (tokio's semaphore is fair).
    workers: tokio::sync::Semaphore,
}

/// Builds a receiver.
#[derive(Debug)]
pub struct ReceiverBuilder {
    client_states: ClientStates,
    queue: usize,
    max_body: usize,
    notification_path: String,
    lifecycle_path: String,
    rich: Option<Rich>,
    clock: Clock,
}

impl ReceiverBuilder {
    /// How many checked notifications may wait for the app ([`DEFAULT_QUEUE`]).
    pub fn queue(mut self, capacity: usize) -> Self {
        self.queue = capacity.max(1);
        self
    }

    /// The largest body read ([`DEFAULT_MAX_BODY`]); a larger one is answered 413.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Where change notifications arrive ([`DEFAULT_NOTIFICATION_PATH`]).
    pub fn notification_path(mut self, path: impl Into<String>) -> Self {
        self.notification_path = path.into();
        self
    }

    /// Where lifecycle notifications arrive ([`DEFAULT_LIFECYCLE_PATH`]).
    pub fn lifecycle_path(mut self, path: impl Into<String>) -> Self {
        self.lifecycle_path = path.into();
        self
    }

    /// Verifies and decrypts rich notifications: `keys` decrypt them, `tokens` verifies
    /// their validation tokens.
    pub fn rich(mut self, keys: DecryptionKeys, tokens: TokenVerifier) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        self.rich = Some(Rich {
            keys,
            tokens,
            workers: tokio::sync::Semaphore::new(DEFAULT_RICH_WORKERS_PER_CPU * cpus),
        });
        self
    }

    /// How many POSTs of rich notifications are decrypted at once
    /// ([`DEFAULT_RICH_WORKERS_PER_CPU`] per CPU by default); no effect without
    /// [`ReceiverBuilder::rich`].
    pub fn rich_workers(mut self, workers: usize) -> Self {
        if let Some(rich) = &mut self.rich {
            rich.workers = tokio::sync::Semaphore::new(workers.max(1));
        }
        self
    }

    /// The time validation tokens are judged at ([`Clock::system`] by default).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The receiver and the stream of what it accepts.
    pub fn build(self) -> (Receiver, Events) {
        let (sender, events) = mpsc::channel(self.queue);
        let shared = Arc::new(Shared {
            client_states: self.client_states,
            sender,
            counters: Counters::default(),
            rich: self.rich.map(Arc::new),
            clock: self.clock,
        });
        (
            Receiver {
                shared,
                max_body: self.max_body,
                notification_path: self.notification_path,
                lifecycle_path: self.lifecycle_path,
            },
            events,
        )
    }
}

#[derive(Debug)]
struct Shared {
    client_states: ClientStates,
    sender: mpsc::Sender<Event>,
    counters: Counters,
    rich: Option<Arc<Rich>>,
    clock: Clock,
}

/// A receiver: its routes, and what it has seen.
#[derive(Debug, Clone)]
pub struct Receiver {
    shared: Arc<Shared>,
    max_body: usize,
    notification_path: String,
    lifecycle_path: String,
}

impl Receiver {
    /// A receiver that checks `clientState` against `client_states`.
    pub fn builder(client_states: ClientStates) -> ReceiverBuilder {
        ReceiverBuilder {
            client_states,
            queue: DEFAULT_QUEUE,
            max_body: DEFAULT_MAX_BODY,
            notification_path: DEFAULT_NOTIFICATION_PATH.to_owned(),
            lifecycle_path: DEFAULT_LIFECYCLE_PATH.to_owned(),
            rich: None,
            clock: Clock::system(),
        }
    }

    /// The routes: `POST` at the notification and the lifecycle paths. Mount it in an app
    /// with `Router::merge`, or serve it with [`serve`].
    pub fn router(&self) -> Router {
        let mut router = Router::new().route(&self.notification_path, post(receive));
        if self.lifecycle_path != self.notification_path {
            router = router.route(&self.lifecycle_path, post(receive));
        }
        router
            // Past the limit, axum answers 413 before reading further; the handler
            // counts it from the size it was told.
            .layer(DefaultBodyLimit::max(self.max_body))
            .layer(axum::middleware::from_fn(bounded))
            .with_state(self.shared.clone())
    }

    /// What it has seen so far.
    pub fn stats(&self) -> Stats {
        self.shared.counters.read()
    }
}

/// How long one request may take, its body read included (Graph waits 3 seconds for the
/// answer): a client that trickles its body is answered 408 and cut off, so that it holds
/// neither a worker nor a graceful stop.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn bounded(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            "The request took too long to arrive.",
        )
            .into_response(),
    }
}

/// Serves `router` over HTTPS on `listener` until `shutdown` completes: `config` from
/// [`tls::server_config_from_pem`] (the certificate chain and key Graph will see).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: Arc<tls::ServerConfig>,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    axum::serve(tls::TlsListener::new(listener, address, config), router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[derive(Debug, Deserialize)]
struct Validation {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// One POST from Graph: the handshake, or notifications.
async fn receive(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Validation>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Some(token) = query.validation_token {
        // Graph wants the token back exactly, decoded, as plain text.
        shared.counters.validations.fetch_add(1, Ordering::Relaxed);
        tracing::info!("validation handshake answered");
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token,
        )
            .into_response();
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let why = if status == StatusCode::PAYLOAD_TOO_LARGE {
                Rejection::TooLarge
            } else {
                Rejection::Malformed
            };
            shared.counters.reject(why, 1);
            return (status, rejection.body_text()).into_response();
        }
    };
    let (events, tokens) = match parse(&body) {
        Ok(parsed) => parsed,
        Err(message) => {
            shared.counters.reject(Rejection::Malformed, 1);
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    shared
        .counters
        .received
        .fetch_add(events.len() as u64, Ordering::Relaxed);
    let mut accepted = Vec::with_capacity(events.len());
    for event in events {
        let (id, state) = match &event {
            Event::Change(n) => (&n.subscription_id, n.client_state.as_ref()),
            Event::Lifecycle(n) => (&n.subscription_id, n.client_state.as_ref()),
        };
        match shared.client_states.check(id, state) {
            Ok(()) => accepted.push(event),
            Err(why) => shared.counters.reject(why, 1),
        }
    }
    if shared.rich.is_some()
        && accepted
            .iter()
            .any(|e| matches!(e, Event::Change(n) if carries_resource(n)))
    {
        accepted = match open_rich(&shared, accepted, tokens).await {
            Ok(accepted) => accepted,
            Err(response) => return response,
        };
    }
    if accepted.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    // All of them or none: a partial delivery answered 503 would be delivered twice.
    let Ok(permits) = shared.sender.try_reserve_many(accepted.len()) else {
        shared
            .counters
            .reject(Rejection::QueueFull, accepted.len() as u64);
        return retry_later("The receiver's queue is full; send the notifications again later.");
    };
    let count = accepted.len() as u64;
    for (permit, event) in permits.zip(accepted) {
        permit.send(event);
    }
    shared
        .counters
        .delivered
        .fetch_add(count, Ordering::Relaxed);
    StatusCode::ACCEPTED.into_response()
}

/// The rich items of `accepted` verified and decrypted, the others as they are; those
/// that fail are counted and dropped. Err: the answer for the whole POST (503 when a
/// key is missing).
async fn open_rich(
    shared: &Arc<Shared>,
    accepted: Vec<Event>,
    tokens: Vec<String>,
) -> Result<Vec<Event>, Response> {
    let Some(rich) = &shared.rich else {
        return Ok(accepted);
    };
    let now = shared.clock.now();
    // The tokens are checked once per tenant of the POST, not per item.
    let mut verdicts: HashMap<String, Result<(), RichProblem>> = HashMap::new();
    for event in &accepted {
        if let Event::Change(n) = event
            && carries_resource(n)
        {
            let tenant = n.tenant_id.clone().unwrap_or_default();
            if let std::collections::hash_map::Entry::Vacant(slot) = verdicts.entry(tenant) {
                let verdict = rich.tokens.vouches(&tokens, slot.key(), now).await;
                slot.insert(verdict);
            }
        }
    }
    if let Some(problem) = verdicts.values().find_map(|v| {
        v.as_ref()
            .err()
            .filter(|p| matches!(p, RichProblem::KeysUnavailable(_)))
    }) {
        return Err(unavailable(shared, problem, accepted.len()));
    }
    let mut vouched = Vec::with_capacity(accepted.len());
    for event in accepted {
        if let Event::Change(n) = &event
            && carries_resource(n)
            && let Some(Err(problem)) = verdicts.get(n.tenant_id.as_deref().unwrap_or_default())
        {
            refuse(shared, problem);
            continue;
        }
        vouched.push(event);
    }
    // RSA costs 0.3 to 0.8 ms per item (by CPU): off the async workers, a bounded number of
    // POSTs at once (`DEFAULT_RICH_WORKERS_PER_CPU`).
    let _permit = rich.workers.acquire().await;
    let rich = rich.clone();
    let opened = tokio::task::spawn_blocking(move || {
        vouched
            .into_iter()
            .map(|event| match event {
                Event::Change(mut n) => match n.encrypted_content.take() {
                    Some(content) => rich.keys.decrypt(&content).map(|resource| {
                        n.resource_data = Some(resource);
                        Event::Change(n)
                    }),
                    None => Ok(Event::Change(n)),
                },
                other => Ok(other),
            })
            .collect::<Vec<_>>()
    })
    .await;
    // A decryption that did not finish (it panicked) loses nothing: Graph sends again.
    let Ok(opened) = opened else {
        tracing::error!("decrypting rich notifications failed; answered 503");
        return Err(retry_later(
            "The receiver could not open these notifications; send them again later.",
        ));
    };
    if let Some(missing) = opened.iter().find_map(|o| match o {
        Err(p @ RichProblem::NoKey { .. }) => Some(p.clone()),
        _ => None,
    }) {
        return Err(unavailable(shared, &missing, opened.len()));
    }
    Ok(opened
        .into_iter()
        .filter_map(|o| o.map_err(|p| refuse(shared, &p)).ok())
        .collect())
}

/// Whether a change notification carries resource data: encrypted, or in clear beyond
/// the item's identity (`id`, `@odata.type`, `@odata.id`, `@odata.etag`, all a basic
/// notification has). Such an item is delivered only when a validation token vouches for
/// it, so that a forged resource in clear cannot pass for a verified one.
fn carries_resource(n: &ChangeNotification) -> bool {
    n.encrypted_content.is_some()
        || n.resource_data.as_ref().is_some_and(|data| {
            data.keys().any(|k| {
                !matches!(
                    k.as_str(),
                    "id" | "@odata.type" | "@odata.id" | "@odata.etag"
                )
            })
        })
}

/// 503 for a POST of `count` items the receiver cannot open now (a key missing, the
/// issuer's keys unavailable): Graph sends it again.
fn unavailable(shared: &Shared, problem: &RichProblem, count: usize) -> Response {
    let why = match problem {
        RichProblem::KeysUnavailable(_) => Rejection::KeysUnavailable,
        _ => Rejection::NoDecryptionKey,
    };
    shared.counters.reject(why, count as u64);
    tracing::error!(problem = %problem, "rich notifications answered 503");
    retry_later("The receiver cannot open these notifications now; send them again later.")
}

/// 503 with `Retry-After`: Graph sends the POST again later, so nothing is lost.
fn retry_later(message: &'static str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, RETRY_AFTER_SECONDS)],
        message,
    )
        .into_response()
}

/// Counts and logs a rich item that is not delivered.
fn refuse(shared: &Shared, problem: &RichProblem) {
    let why = match problem {
        RichProblem::Token(_) => Rejection::ValidationToken,
        RichProblem::Signature => Rejection::Signature,
        RichProblem::NotBase64(_) | RichProblem::Undecryptable(_) => Rejection::Undecryptable,
        RichProblem::NoKey { .. } => Rejection::NoDecryptionKey,
        RichProblem::KeysUnavailable(_) => Rejection::KeysUnavailable,
    };
    tracing::warn!(problem = %problem, "rich notification refused");
    shared.counters.reject(why, 1);
}

/// The notifications of a body, each typed by whether it has a `lifecycleEvent`, and its
/// validation tokens; a message saying what is wrong otherwise (never quoting the body: it
/// may hold secrets).
fn parse(body: &[u8]) -> Result<(Vec<Event>, Vec<String>), String> {
    let collection: Notifications<Value> = serde_json::from_slice(body).map_err(|e| {
        format!(
            "The body is not Graph's notification collection {{\"value\": [...]}}: {}.",
            json_problem(&e)
        )
    })?;
    let events = collection
        .value
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let event = if item.get("lifecycleEvent").is_some() {
                serde_json::from_value(item).map(Event::Lifecycle)
            } else {
                serde_json::from_value(item).map(Event::Change)
            };
            // serde may quote the value it refused: shortened, whatever its size.
            event.map_err(|e| {
                format!(
                    "Notification {} of the body is not one: {}.",
                    i + 1,
                    quote::shortened_to(&e.to_string(), 300)
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((events, collection.validation_tokens))
}

/// What is wrong with a body serde_json refused, shortly: where its syntax breaks, or
/// what it holds instead of Graph's shape (serde may quote a value: shortened).
fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "it could not be read".into(),
        Category::Syntax => format!("not JSON (line {}, column {})", e.line(), e.column()),
        Category::Data => quote::shortened_to(&e.to_string(), 300).to_string(),
        Category::Eof => "it ends too early".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> ClientState {
        ClientState::new(text).unwrap()
    }

    #[test]
    fn client_states_are_checked_per_subscription_or_shared() {
        let shared = ClientStates::Shared(secret("s"));
        assert_eq!(shared.check("any", Some(&secret("s"))), Ok(()));
        assert_eq!(
            shared.check("any", Some(&secret("t"))),
            Err(Rejection::ClientState)
        );
        assert_eq!(shared.check("any", None), Err(Rejection::NoClientState));
        let per = ClientStates::PerSubscription(HashMap::from([("a".into(), secret("s"))]));
        assert_eq!(per.check("a", Some(&secret("s"))), Ok(()));
        assert_eq!(
            per.check("b", Some(&secret("s"))),
            Err(Rejection::UnknownSubscription)
        );
        assert_eq!(format!("{shared:?}"), "ClientStates::Shared(***)");
        assert_eq!(
            format!("{per:?}"),
            "ClientStates::PerSubscription(1 subscriptions)"
        );
    }

    #[test]
    fn every_reason_counts_in_its_own_counter() {
        let counters = Counters::default();
        for (n, why) in Rejection::ALL.into_iter().enumerate() {
            counters.reject(why, n as u64 + 1);
        }
        let stats = counters.read();
        for (n, why) in Rejection::ALL.into_iter().enumerate() {
            assert_eq!(stats.rejected[why.as_str()], n as u64 + 1);
        }
    }

    #[test]
    fn bodies_that_are_not_notifications_are_refused_without_quoting_them() {
        for body in [
            &b"not json secret-in-body"[..],
            b"{\"value\": 3}",
            b"{\"value\": [{\"changeType\": \"created\"}]}",
            b"[]",
            b"",
        ] {
            let message = parse(body).unwrap_err();
            assert!(!message.contains("secret-in-body"), "{message}");
        }
        let (ok, _) = parse(
            br#"{"value":[{"subscriptionId":"a","subscriptionExpirationDateTime":"2026-11-23T09:00:00Z","changeType":"created","resource":"r"},
                {"subscriptionId":"a","subscriptionExpirationDateTime":"2026-11-23T09:00:00Z","lifecycleEvent":"missed"}]}"#,
        )
        .unwrap();
        assert!(matches!(ok[0], Event::Change(_)));
        assert!(matches!(ok[1], Event::Lifecycle(_)));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// JSON shaped like a notification collection, with any values in any field.
        fn notification_like() -> impl Strategy<Value = String> {
            let value = prop_oneof![
                Just("null".to_owned()),
                any::<i64>().prop_map(|n| n.to_string()),
                ".{0,40}".prop_map(|s| serde_json::to_string(&s).unwrap()),
                Just("\"2026-11-25T00:00:00Z\"".to_owned()),
                Just("[]".to_owned()),
                Just("{}".to_owned()),
            ];
            let field = prop_oneof![
                Just("subscriptionId"),
                Just("subscriptionExpirationDateTime"),
                Just("changeType"),
                Just("resource"),
                Just("resourceData"),
                Just("clientState"),
                Just("tenantId"),
                Just("lifecycleEvent"),
                Just("encryptedContent"),
            ];
            let item = prop::collection::vec((field, value), 0..9).prop_map(|fields| {
                let inner: Vec<String> = fields
                    .into_iter()
                    .map(|(name, value)| format!("\"{name}\":{value}"))
                    .collect();
                format!("{{{}}}", inner.join(","))
            });
            prop::collection::vec(item, 0..4)
                .prop_map(|items| format!("{{\"value\":[{}]}}", items.join(",")))
        }

        proptest! {
            #[test]
            fn any_bytes_parse_or_fail_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse(&bytes);
            }

            #[test]
            fn notification_shaped_json_parses_or_fails_with_a_message(text in notification_like()) {
                match parse(text.as_bytes()) {
                    Ok((events, _)) => prop_assert!(events.len() <= 3),
                    Err(message) => prop_assert!(!message.is_empty() && message.len() < 600),
                }
            }
        }
    }
}
