//! An async client for Microsoft Graph's subscription API, built on `graph-subs-core`.
//!
//! It knows before the call: `create` and `update` run the core's validation and refuse
//! a request with errors, and every operation whose resource is known checks the token's
//! permissions (`scp` / `roles`) against the documented table before anything is sent
//! (both can be turned off: the tables may lag Graph). It retries what can be retried
//! (429, 503, 504, dropped connections) after `Retry-After` or a jittered backoff, paces
//! itself under Graph's per app and tenant limits, streams List across pages, and maps
//! Graph's error answers to one [`Error`] type in one place.
//!
//! # Overview
//!
//! - [`GraphClient`], built with [`GraphClient::builder`]: a cloud or a base URL, a
//!   [`TokenProvider`], a [`RetryPolicy`], [`Pacing`], timeouts and a concurrency limit.
//! - Token providers: [`StaticToken`], [`ClientCredentials`] (cached, one refresh in
//!   flight), [`AzureCli`].
//! - The core's types, re-exported: [`Subscription`], [`CreateSubscription`],
//!   [`UpdateSubscription`].
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), graph_subs_http::Error> {
//! use futures_util::TryStreamExt as _;
//! use graph_subs_http::{GraphClient, StaticToken};
//!
//! let client = GraphClient::builder()
//!     .base_url("https://graph.microsoft.com/v1.0")
//!     .token_provider(StaticToken::new("eyJ0eXAi..."))
//!     .build()?;
//! let all: Vec<_> = client.list().try_collect().await?;
//! for subscription in &all {
//!     println!("{} {}", subscription.id, subscription.expiration_date_time);
//! }
//! # Ok(())
//! # }
//! ```

mod bulk;
mod error;
mod retry;
mod token;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use graph_subs_core::Operation;
use graph_subs_core::catalogue::{self, Resource};
use graph_subs_core::cloud::Cloud;
use graph_subs_core::grants::{Denied, Grants};
use graph_subs_core::quote;
use graph_subs_core::request::Properties;
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::validate::{self, Context, Diagnostic};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

pub use bulk::{BATCH_SIZE, BulkOutcome, ItemFailure, Mode};
pub use error::Error;
pub use graph_subs_core::subscription::{
    CreateSubscription, Subscription, Timestamp, UpdateSubscription,
};
pub use retry::{PACING_MARGIN, Pacing, Rate, RetryPolicy};
pub use token::{
    AccessToken, AzureCli, ClientCredentials, REFRESH_MARGIN, Secret, StaticToken, TokenError,
    TokenProvider,
};

/// Graph's API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// `v1.0`.
    #[default]
    V1,
    /// `beta`.
    Beta,
}

impl Version {
    fn as_str(self) -> &'static str {
        match self {
            Version::V1 => "v1.0",
            Version::Beta => "beta",
        }
    }
}

/// Which checks run before a request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preflight {
    /// The core's validation of create and update bodies.
    pub validate: bool,
    /// The token's permissions against the documented table.
    pub permissions: bool,
}

impl Default for Preflight {
    fn default() -> Self {
        Preflight {
            validate: true,
            permissions: true,
        }
    }
}

/// Builds a [`GraphClient`].
#[derive(Debug)]
pub struct GraphClientBuilder {
    cloud: Cloud,
    base_url: Option<String>,
    version: Version,
    tokens: Option<Arc<dyn TokenProvider>>,
    retry: RetryPolicy,
    pacing: Pacing,
    timeout: Duration,
    connect_timeout: Duration,
    concurrency: usize,
    preflight: Preflight,
    roots: Vec<Vec<u8>>,
    allow_http_loopback: bool,
}

impl GraphClientBuilder {
    /// Lets the pre-flight validation accept `http://` notification URLs on loopback, as
    /// the emulator does (Graph itself wants HTTPS).
    pub fn allow_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }

    /// A national cloud (its Graph root); the default is the global service.
    pub fn cloud(mut self, cloud: Cloud) -> Self {
        self.cloud = cloud;
        self
    }

    /// The service root with its version, such as `https://graph.microsoft.com/v1.0` or
    /// an emulator's `http://127.0.0.1:8080/v1.0`; overrides the cloud and version.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// `v1.0` (default) or `beta`, with a cloud.
    pub fn version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// Where tokens come from (required).
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Arc::new(provider));
        self
    }

    /// A shared token provider.
    pub fn shared_token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.tokens = Some(provider);
        self
    }

    /// When to retry.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client's own pacing ([`Pacing::GRAPH`] by default).
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// The time one attempt may take, answer included (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requests in flight at once (default 16).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// Which checks run before sending.
    pub fn preflight(mut self, preflight: Preflight) -> Self {
        self.preflight = preflight;
        self
    }

    /// Also trusts this CA (PEM), for an emulator served over HTTPS.
    pub fn add_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// The client.
    pub fn build(self) -> Result<GraphClient, Error> {
        let tokens = self.tokens.ok_or_else(|| {
            Error::Config(
                "no token provider: give a token, client credentials or the Azure CLI".into(),
            )
        })?;
        let root = match &self.base_url {
            Some(url) => {
                let parsed = url::Url::parse(url.trim()).map_err(|e| {
                    Error::Config(format!(
                        "the base URL {} is not a URL ({e}); write it as https://graph.microsoft.com/v1.0",
                        quote::redact_url(url, 200)
                    ))
                })?;
                if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
                    return Err(Error::Config(format!(
                        "the base URL {} is not an http(s) URL with a host; write it as https://graph.microsoft.com/v1.0",
                        quote::redact_url(url, 200)
                    )));
                }
                if parsed.query().is_some()
                    || !parsed.username().is_empty()
                    || parsed.password().is_some()
                {
                    return Err(Error::Config(format!(
                        "the base URL {} has a query or credentials; give only the service root and version, such as https://graph.microsoft.com/v1.0",
                        quote::redact_url(url, 200)
                    )));
                }
                parsed.as_str().trim_end_matches('/').to_owned()
            }
            None => format!(
                "{}/{}",
                self.cloud.graph_root().trim_end_matches('/'),
                self.version.as_str()
            ),
        };
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("graph-subs/", env!("CARGO_PKG_VERSION")));
        for pem in &self.roots {
            let certificate = reqwest::Certificate::from_pem(pem).map_err(|e| {
                Error::Config(format!("the extra root certificate is not PEM: {e}"))
            })?;
            http = http.add_root_certificate(certificate);
        }
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(GraphClient {
            inner: Arc::new(Inner {
                http,
                root,
                cloud: self.cloud,
                tokens,
                retry: self.retry,
                list_window: retry::Window::new(self.pacing.list),
                other_window: retry::Window::new(self.pacing.other),
                limit: Semaphore::new(self.concurrency),
                preflight: self.preflight,
                allow_http_loopback: self.allow_http_loopback,
                clock: ServerClock::default(),
                grants: std::sync::Mutex::new(None),
            }),
        })
    }
}

/// A client for one app in one tenant (one token provider). Cheap to clone.
#[derive(Debug, Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    root: String,
    cloud: Cloud,
    tokens: Arc<dyn TokenProvider>,
    retry: RetryPolicy,
    list_window: retry::Window,
    other_window: retry::Window,
    limit: Semaphore,
    preflight: Preflight,
    allow_http_loopback: bool,
    /// Graph's time, from the `Date` of its answers.
    clock: ServerClock,
    /// The grants of the last token read: a token is read on every request, and the
    /// same one for an hour. (The token is a [`Secret`]: `Debug` never shows it.)
    grants: std::sync::Mutex<Option<(Secret, Option<Grants>)>>,
}

/// How far Graph's clock is ahead of this machine's, from the `Date` header (whole
/// seconds: the middle of its second is taken). Differences under a second are noise of
/// that rounding and are ignored.
#[derive(Debug, Default)]
struct ServerClock {
    /// Milliseconds; 0 until an answer says otherwise.
    offset_millis: std::sync::atomic::AtomicI64,
}

impl ServerClock {
    fn observe(&self, headers: &reqwest::header::HeaderMap, received: DateTime<Utc>) {
        let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        else {
            return;
        };
        let offset = (date.with_timezone(&Utc) + chrono::Duration::milliseconds(500) - received)
            .num_milliseconds();
        let offset = if offset.abs() < 1_000 { 0 } else { offset };
        let before = self
            .offset_millis
            .swap(offset, std::sync::atomic::Ordering::Relaxed);
        if (offset - before).abs() > 60_000 {
            tracing::info!(
                offset_seconds = offset / 1000,
                "Graph's clock is this far ahead of this machine's (negative: behind); the client follows Graph's"
            );
        }
    }

    fn now(&self) -> DateTime<Utc> {
        let offset = self
            .offset_millis
            .load(std::sync::atomic::Ordering::Relaxed);
        let now = Utc::now();
        now.checked_add_signed(chrono::Duration::milliseconds(offset))
            .unwrap_or(now)
    }
}

/// Which pacing window a request counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    List,
    Other,
}

/// One request, as sent (and sent again).
struct Call<'a> {
    method: Method,
    url: String,
    body: Option<Vec<u8>>,
    class: Class,
    /// How many requests it counts as (a `$batch` counts each of its requests).
    weight: u32,
    /// The subscription it is about, for a 404.
    id: Option<&'a str>,
}

/// An answer: status, headers, body.
struct Answer {
    status: StatusCode,
    body: bytes::Bytes,
    /// Whether an earlier attempt of the same call got no answer (it may have happened).
    after_lost_attempt: bool,
}

/// A created subscription, and what the core warned about.
#[derive(Debug, Clone)]
pub struct Created {
    /// The subscription as Graph returned it.
    pub subscription: Subscription,
    /// The core's warnings on the request.
    pub warnings: Vec<Diagnostic>,
    /// True when a retried create met 409: the first attempt had created it.
    pub already_existed: bool,
}

/// A subscription id as it can be put in a URL: Graph's are GUIDs.
fn check_id(id: &str) -> Result<(), Error> {
    if id.is_empty()
        || id.len() > 256
        || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    {
        return Err(Error::Config(format!(
            "{} is not a subscription id (Graph's ids are GUIDs such as 7f105c7d-2dc5-4530-97cd-4e7ae6534c07)",
            quote::shortened(id)
        )));
    }
    Ok(())
}

/// A reqwest error as a message, without its URL (which may hold a secret query).
pub(crate) fn transport_message(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else if error.is_request() {
        "the request failed"
    } else {
        "transport error"
    };
    let mut message = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&quote::redact_url(&cause.to_string(), 200));
        source = cause.source();
    }
    message
}

/// Whether a transport failure is a certificate the client does not trust (or one that
/// is invalid): waiting cannot change it. rustls says so in its messages
/// (`invalid peer certificate: UnknownIssuer`).
fn is_certificate_error(message: &str) -> bool {
    message.contains("certificate")
}

impl GraphClient {
    /// A builder: the global cloud, `v1.0`, default retries and pacing, concurrency 16.
    pub fn builder() -> GraphClientBuilder {
        GraphClientBuilder {
            cloud: Cloud::Global,
            base_url: None,
            version: Version::V1,
            tokens: None,
            retry: RetryPolicy::default(),
            pacing: Pacing::GRAPH,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            concurrency: 16,
            preflight: Preflight::default(),
            roots: Vec::new(),
            allow_http_loopback: false,
        }
    }

    /// The service root the client calls, with its version.
    pub fn root(&self) -> &str {
        &self.inner.root
    }

    /// Graph's time: this machine's clock corrected by how far Graph's was from it in
    /// the `Date` header of the last answer (this machine's alone before any answer).
    /// Expirations are judged by Graph's clock, so the client validates with this, and
    /// the keeper plans its renewals with it: a host clock minutes off, or an
    /// emulator whose clock was moved, still gets renewals in time.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// What the current token grants, read from its claims (no signature check); `None`
    /// for a token that is not a JWT.
    pub async fn grants(&self) -> Result<Option<Grants>, Error> {
        let token = self.inner.tokens.token().await?;
        let mut last = self.inner.grants.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((text, grants)) = last.as_ref()
            && text.expose() == token.secret()
        {
            return Ok(grants.clone());
        }
        let grants = grants_of(token.secret());
        *last = Some((Secret::new(token.secret()), grants.clone()));
        Ok(grants)
    }

    async fn send(&self, call: Call<'_>) -> Result<Answer, Error> {
        let started = tokio::time::Instant::now();
        let mut attempt = 0u32;
        let mut lost = false;
        loop {
            attempt += 1;
            let result = self.attempt(&call).await;
            let error = match result {
                Ok((status, _, body)) if status.is_success() => {
                    return Ok(Answer {
                        status,
                        body,
                        after_lost_attempt: lost,
                    });
                }
                // A create retried after a lost answer: its 409 is the first attempt's
                // success; the caller resolves it.
                Ok((status, _, body)) if status == StatusCode::CONFLICT && lost => {
                    return Ok(Answer {
                        status,
                        body,
                        after_lost_attempt: true,
                    });
                }
                Ok((status, headers, body)) => {
                    error::from_response(status, &headers, &body, call.id, self.now())
                }
                Err(error) => error,
            };
            if !error.is_retryable() {
                return Err(error);
            }
            if matches!(error, Error::Transport { .. }) {
                lost = true;
            }
            let elapsed = started.elapsed();
            match self.inner.retry.wait(attempt, elapsed, error.retry_after()) {
                Some(wait) => {
                    tracing::info!(
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        status = error.status(),
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
                None if attempt == 1 => return Err(error),
                None => {
                    return Err(Error::RetriesExhausted {
                        attempts: attempt,
                        elapsed,
                        last: Box::new(error),
                    });
                }
            }
        }
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, bytes::Bytes), Error> {
        match call.class {
            Class::List => self.inner.list_window.admit(call.weight).await,
            Class::Other => self.inner.other_window.admit(call.weight).await,
        }
        let _permit = self
            .inner
            .limit
            .acquire()
            .await
            .map_err(|_| Error::Config("the client is shutting down".into()))?;
        // Written only for an error or an enabled debug line: most calls need neither.
        let redacted = || quote::redact_url(&call.url, 200);
        let transport = |e: &reqwest::Error| {
            let message = transport_message(e);
            Error::Transport {
                url: redacted(),
                retryable: !is_certificate_error(&message),
                message,
            }
        };
        let mut refreshed = false;
        loop {
            let token = self.inner.tokens.token().await?;
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), &call.url)
                .bearer_auth(token.secret())
                // From the thread's generator: `Uuid::new_v4` makes a system call each
                // time, a measurable part of a request on loopback.
                .header(
                    "client-request-id",
                    uuid::Builder::from_random_bytes(rand::random())
                        .into_uuid()
                        .to_string(),
                );
            if let Some(body) = &call.body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = request.send().await.map_err(|e| transport(&e))?;
            let received = Utc::now();
            let status = response.status();
            // Graph's answers carry Graph's time; a proxy's error page (407, 5xx) may
            // carry the proxy's.
            if status.as_u16() < 500 && status != StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                self.inner.clock.observe(response.headers(), received);
            }
            // A success is read for its body alone; an error's headers say more.
            let headers = if status.is_success() {
                reqwest::header::HeaderMap::new()
            } else {
                response.headers().clone()
            };
            let body = response.bytes().await.map_err(|e| transport(&e))?;
            tracing::debug!(method = %call.method, url = %redacted(), status = status.as_u16(), "graph");
            // A token Graph refuses may only look fresh to this machine's clock, or have
            // been revoked: one new token, once, before the 401 is an answer.
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                refreshed = true;
                tracing::info!("Graph refused the token (401); getting a new one");
                self.inner.tokens.reject(&token, self.now()).await;
                continue;
            }
            return Ok((status, headers, body));
        }
    }

    fn decode<T: DeserializeOwned>(&self, url: &str, body: &[u8]) -> Result<T, Error> {
        // Plain serde first; only a body that fails is read again to name the path
        // (tracking it costs as much as the parse itself).
        if let Ok(value) = serde_json::from_slice(body) {
            return Ok(value);
        }
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            Error::Decode {
                url: quote::redact_url(url, 200),
                path: if path.is_empty() {
                    ".".to_owned()
                } else {
                    path
                },
                message: quote::shortened_to(&e.into_inner().to_string(), 300).to_string(),
            }
        })
    }

    fn subscription_url(&self, id: &str) -> Result<String, Error> {
        check_id(id)?;
        Ok(format!("{}/subscriptions/{id}", self.inner.root))
    }

    /// Refuses what the core or the table say Graph would refuse, unless turned off.
    fn authorize(
        &self,
        grants: Option<&Grants>,
        resource: &str,
        operation: Operation,
    ) -> Result<(), Error> {
        if !self.inner.preflight.permissions {
            return Ok(());
        }
        let (Some(grants), Some(resolved)) = (grants, resolve(resource)) else {
            return Ok(());
        };
        let kind = resolved.kind().name().to_owned();
        let shown = quote::shortened(resource).to_string();
        match grants.authorize(&resolved, operation) {
            Ok(()) => Ok(()),
            Err(Denied::Missing {
                permission_type,
                needed,
            }) => Err(Error::MissingPermission {
                operation,
                kind,
                resource: shown,
                permission_type,
                needed: needed.into_iter().map(str::to_owned).collect(),
            }),
            Err(Denied::NotSupported { permission_type }) => {
                Err(Error::PermissionTypeNotSupported {
                    operation,
                    kind,
                    resource: shown,
                    permission_type,
                })
            }
        }
    }

    fn context(&self, grants: Option<&Grants>) -> Context {
        Context {
            permission_type: grants.map(|g| g.permission_type),
            cloud: self.inner.cloud,
            allow_http_loopback: self.inner.allow_http_loopback,
            ..Context::new(self.now())
        }
    }

    /// Asks Graph for its time (the `Date` of List's first page, paced like List) and
    /// returns it as [`GraphClient::now`] then knows it. For a caller that must compare
    /// times with other machines' through Graph's clock (the keeper's leases) after a
    /// while without requests.
    pub async fn sync_clock(&self) -> Result<DateTime<Utc>, Error> {
        self.send(Call {
            method: Method::GET,
            url: format!("{}/subscriptions", self.inner.root),
            body: None,
            class: Class::List,
            weight: 1,
            id: None,
        })
        .await?;
        Ok(self.now())
    }

    /// `GET /subscriptions/{id}`.
    pub async fn get(&self, id: &str) -> Result<Subscription, Error> {
        let url = self.subscription_url(id)?;
        let answer = self
            .send(Call {
                method: Method::GET,
                url: url.clone(),
                body: None,
                class: Class::Other,
                weight: 1,
                id: Some(id),
            })
            .await?;
        self.decode(&url, &answer.body)
    }

    /// `POST /subscriptions`, after the core's checks.
    pub async fn create(&self, request: &CreateSubscription) -> Result<Created, Error> {
        let raw = serde_json::to_vec(request)
            .map_err(|e| Error::Config(format!("cannot write the request: {e}")))?;
        self.create_checked(&Properties::from(request), raw).await
    }

    /// `POST /subscriptions` with a JSON body as read from a file, after the core's
    /// checks (with validation off, the body is sent as given).
    pub async fn create_json(&self, body: &[u8]) -> Result<Created, Error> {
        let properties = Properties::from_json(body)
            .map_err(|e| Error::Config(format!("the request body is not usable: {e}")))?;
        self.create_checked(&properties, body.to_vec()).await
    }

    async fn create_checked(&self, body: &Properties, raw: Vec<u8>) -> Result<Created, Error> {
        let grants = self.grants().await?;
        let ctx = self.context(grants.as_ref());
        let (request, warnings) = if self.inner.preflight.validate {
            let checked = validate::create(body, &ctx)
                .map_err(|diagnostics| Error::Invalid { diagnostics })?;
            let request = serde_json::to_vec(&checked.request)
                .map_err(|e| Error::Config(format!("cannot write the request: {e}")))?;
            (request, checked.warnings)
        } else {
            (raw, Vec::new())
        };
        if let Some(resource) = body.string("resource") {
            self.authorize(grants.as_ref(), resource, Operation::Create)?;
        }
        let url = format!("{}/subscriptions", self.inner.root);
        let answer = self
            .send(Call {
                method: Method::POST,
                url: url.clone(),
                body: Some(request),
                class: Class::Other,
                weight: 1,
                id: None,
            })
            .await?;
        if answer.status == StatusCode::CONFLICT {
            // "Subscription Id {id} already exists for the requested combination".
            let value: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            let message = value["error"]["message"].as_str().unwrap_or_default();
            let id = message
                .split_whitespace()
                .skip_while(|w| *w != "Id")
                .nth(1)
                .unwrap_or_default();
            let subscription = self.get(id).await?;
            tracing::info!(id = %subscription.id, "a retried create had already created the subscription");
            return Ok(Created {
                subscription,
                warnings,
                already_existed: answer.after_lost_attempt,
            });
        }
        Ok(Created {
            subscription: self.decode(&url, &answer.body)?,
            warnings,
            already_existed: false,
        })
    }

    /// `PATCH /subscriptions/{id}`. With `resource` (the subscription's), the core checks
    /// the update against it and the token's permissions are checked.
    pub async fn update(
        &self,
        id: &str,
        update: &UpdateSubscription,
        resource: Option<&str>,
    ) -> Result<Subscription, Error> {
        let (url, answer) = self.send_update(id, update, resource).await?;
        self.decode(&url, &answer.body)
    }

    /// A renewal of many (`renew_many` one request each): the answer read for the
    /// expiration Graph gave, which is all a bulk renewal reports; the rest of the
    /// subscription is skipped, not built.
    pub(crate) async fn renew_one(&self, id: &str, to: Timestamp) -> Result<DateTime<Utc>, Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Renewed {
            expiration_date_time: Timestamp,
        }
        let (url, answer) = self
            .send_update(id, &UpdateSubscription::renewal(to), None)
            .await?;
        self.decode::<Renewed>(&url, &answer.body)
            .map(|r| r.expiration_date_time.get())
    }

    /// Checks and sends an update; its URL and answer.
    async fn send_update(
        &self,
        id: &str,
        update: &UpdateSubscription,
        resource: Option<&str>,
    ) -> Result<(String, Answer), Error> {
        let url = self.subscription_url(id)?;
        let grants = self.grants().await?;
        let body = Properties::from(update);
        let request = if self.inner.preflight.validate {
            let ctx = Context {
                subscription_resource: resource.map(str::to_owned),
                ..self.context(grants.as_ref())
            };
            let checked = validate::update(&body, &ctx)
                .map_err(|diagnostics| Error::Invalid { diagnostics })?;
            serde_json::to_vec(&checked.request)
        } else {
            serde_json::to_vec(update)
        }
        .map_err(|e| Error::Config(format!("cannot write the request: {e}")))?;
        if let Some(resource) = resource {
            self.authorize(grants.as_ref(), resource, Operation::Update)?;
        }
        let answer = self
            .send(Call {
                method: Method::PATCH,
                url: url.clone(),
                body: Some(request),
                class: Class::Other,
                weight: 1,
                id: Some(id),
            })
            .await?;
        Ok((url, answer))
    }

    /// Renews a subscription to `to`.
    pub async fn renew(
        &self,
        subscription: &Subscription,
        to: DateTime<Utc>,
    ) -> Result<Subscription, Error> {
        let to = Timestamp::new(to).map_err(|e| Error::Config(e.to_string()))?;
        self.update(
            &subscription.id,
            &UpdateSubscription::renewal(to),
            Some(&subscription.resource),
        )
        .await
    }

    /// `DELETE /subscriptions/{id}`. With `resource`, the token's permissions are checked.
    pub async fn delete(&self, id: &str, resource: Option<&str>) -> Result<(), Error> {
        let url = self.subscription_url(id)?;
        if let Some(resource) = resource {
            let grants = self.grants().await?;
            self.authorize(grants.as_ref(), resource, Operation::Delete)?;
        }
        self.send(Call {
            method: Method::DELETE,
            url,
            body: None,
            class: Class::Other,
            weight: 1,
            id: Some(id),
        })
        .await
        .map(|_| ())
    }

    /// `POST /subscriptions/{id}/reauthorize`.
    pub async fn reauthorize(&self, id: &str) -> Result<(), Error> {
        let url = format!("{}/reauthorize", self.subscription_url(id)?);
        self.send(Call {
            method: Method::POST,
            url,
            body: None,
            class: Class::Other,
            weight: 1,
            id: Some(id),
        })
        .await
        .map(|_| ())
    }

    /// `GET /subscriptions`, every page, as a stream: each page is retried like any
    /// request; a `nextLink` to another host or back to a page already read is an error.
    pub fn list(&self) -> impl Stream<Item = Result<Subscription, Error>> + '_ {
        struct State {
            next: Option<String>,
            seen: HashSet<String>,
            page: usize,
        }
        let first = format!("{}/subscriptions", self.inner.root);
        let origin = origin_of(&first);
        let pages = futures_util::stream::try_unfold(
            State {
                next: Some(first),
                seen: HashSet::new(),
                page: 0,
            },
            move |mut state| {
                let origin = origin.clone();
                async move {
                    let Some(url) = state.next.take() else {
                        return Ok(None);
                    };
                    state.page += 1;
                    if !state.seen.insert(url.clone()) {
                        return Err(Error::NextLinkLoop {
                            page: state.page,
                            url: quote::redact_url(&url, 200),
                        });
                    }
                    if origin_of(&url) != origin {
                        return Err(Error::Decode {
                            url: quote::redact_url(&url, 200),
                            path: "@odata.nextLink".into(),
                            message:
                                "the next page is on another host; the token is not sent there"
                                    .into(),
                        });
                    }
                    let answer = self
                        .send(Call {
                            method: Method::GET,
                            url: url.clone(),
                            body: None,
                            class: Class::List,
                            weight: 1,
                            id: None,
                        })
                        .await?;
                    let page: Page = self.decode(&url, &answer.body)?;
                    state.next = page.next_link;
                    Ok(Some((page.value, state)))
                }
            },
        );
        futures_util::TryStreamExt::try_flatten(futures_util::TryStreamExt::map_ok(
            pages,
            |value: Vec<Subscription>| {
                futures_util::stream::iter(value.into_iter().map(Ok::<_, Error>))
            },
        ))
    }
}

/// The root that tokens are asked for (`{root}/.default`): the cloud's Graph root, or
/// the origin of a base URL given instead (an emulator's).
pub fn token_root(cloud: Cloud, base_url: Option<&str>) -> String {
    base_url
        .and_then(|url| url::Url::parse(url.trim()).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .unwrap_or_else(|| cloud.graph_root().to_owned())
}

/// Whether a base URL is a service on this machine (an emulator: Graph is never on
/// loopback), which accepts `http://` notification URLs on loopback.
pub fn is_local_service(base_url: Option<&str>) -> bool {
    base_url
        .and_then(|u| url::Url::parse(u.trim()).ok())
        .is_some_and(|u| {
            u.host()
                .is_some_and(graph_subs_core::notification_url::is_loopback_host)
        })
}

/// One List page.
#[derive(serde::Deserialize)]
struct Page {
    value: Vec<Subscription>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

fn resolve(resource: &str) -> Option<Resource> {
    ResourcePath::parse(resource)
        .ok()
        .and_then(|p| catalogue::resolve(&p).ok())
}

/// The grants in a JWT's claims, unverified; `None` for an opaque token.
fn grants_of(token: &str) -> Option<Grants> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let strings = |name: &str| -> Vec<String> {
        claims[name]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(Grants::from_claims(
        claims["tid"].as_str().unwrap_or_default(),
        claims["scp"].as_str(),
        &strings("roles"),
        &strings("wids"),
    ))
}
