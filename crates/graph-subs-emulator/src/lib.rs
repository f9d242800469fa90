//! A local Microsoft Graph subscription service, and the token issuer in front of it:
//! the whole subscription lifecycle with no tenant.
//!
//! The emulator serves Graph's subscription API under `/v1.0` and `/beta` (create, get,
//! update, delete, list with paging, reauthorize), with Graph's JSON, headers and error
//! shapes, and enforces the rules of `graph-subs-core`, never a copy of them: request
//! validation, the permission each operation needs for each permission type, maximum
//! lifetimes and the 45-minute floor, duplicates, the List page's visibility scenarios
//! (`clientState` never listed), and expiry. It signs its own access tokens (RS256, with
//! the identity platform's claims), publishes its key (OpenID configuration and JWKS), and
//! answers the client-credentials flow for the apps it was started with. Its clock can be
//! moved forward (`POST /emulator/clock`), so tests see days of lifetimes in
//! milliseconds; the wall clock is read in exactly one place (`clock.rs`).
//!
//! It plays Graph's side of the notification protocol too (`delivery.rs`): it validates
//! notification and lifecycle endpoints on create and update, delivers the changes and
//! lifecycle events reported to `POST /emulator/changes` and `POST /emulator/lifecycle`
//! with retries, and logs every delivery (`GET /emulator/deliveries`).
//!
//! It serves plain HTTP on loopback, or HTTPS with a certificate it makes at start
//! ([`EmulatorBuilder::tls`], `tls.rs`), since the official SDKs' token providers accept
//! only an `https://` authority.
//!
//! # Overview
//!
//! - [`Emulator`]: the configuration, built with [`Emulator::builder`], started with
//!   [`Emulator::start`] on a given or free port of the loopback interface.
//! - [`RunningEmulator`]: the handle, with its [`base_url`](RunningEmulator::base_url)
//!   and [`token`](RunningEmulator::token) to play any caller.
//! - [`App`]: an app registration the token endpoint knows.
//! - [`TlsSettings`]: HTTPS, and the names its certificate is for.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use graph_subs_emulator::{Emulator, TokenSpec};
//!
//! let emulator = Emulator::builder().build().start().await?;
//! let token = emulator.token(&TokenSpec::application(
//!     emulator.tenant_id(),
//!     "11111111-2222-3333-4444-555555555555",
//!     &["Mail.Read"],
//! ));
//! assert!(emulator.base_url().starts_with("http://127.0.0.1:"));
//! assert_eq!(token.split('.').count(), 3);
//! emulator.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod api;
mod authorize;
mod batch;
mod clock;
mod delivery;
mod error;
mod faults;
mod identity;
mod persist;
mod stats;
mod store;
mod throttle;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

pub use delivery::{RetryPolicy, VALIDATION_TIMEOUT};
pub use faults::{Faults, FaultsSyntaxError};
pub use identity::KeyError;
pub use identity::{
    CONSUMER_TENANT, Claims, GLOBAL_ADMINISTRATOR, GRAPH_APP_ID, GRAPH_AUDIENCE, Principal,
    TokenError, TokenSpec,
};
pub use persist::StateError;
pub use stats::Stats;
pub use throttle::{Limit, Throttle, ThrottleSyntaxError};
pub use tls::TlsSettings;

/// The tenant the emulator plays unless told otherwise.
pub const DEFAULT_TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The app a token is for unless told otherwise.
pub const DEFAULT_APP_ID: &str = "24d3b144-21ae-4080-943f-7067b395b913";
/// How many subscriptions a List page holds unless told otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// An app registration: a client id, its secret, and the application permissions (app
/// roles) an admin consented to. The secret never shows in `Debug`.
#[derive(Clone)]
pub struct App {
    /// The application (client) id.
    pub client_id: String,
    secret: String,
    /// Application permissions its tokens carry in `roles`.
    pub roles: Vec<String>,
}

impl App {
    /// An app with a secret and roles.
    pub fn new(client_id: impl Into<String>, secret: impl Into<String>, roles: &[&str]) -> App {
        App {
            client_id: client_id.into(),
            secret: secret.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    /// Reads `CLIENT_ID=SECRET:Role1,Role2`, the form of `graph-subs emulator --app`.
    pub fn parse(text: &str) -> Result<App, AppSyntaxError> {
        let (client_id, rest) = text.split_once('=').ok_or(AppSyntaxError)?;
        let (secret, roles) = rest.split_once(':').unwrap_or((rest, ""));
        if client_id.trim().is_empty() || secret.is_empty() {
            return Err(AppSyntaxError);
        }
        let roles: Vec<&str> = roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        Ok(App::new(client_id.trim(), secret, &roles))
    }

    /// Compares a presented secret in time that does not depend on where they differ.
    fn secret_matches(&self, given: &str) -> bool {
        graph_subs_core::subscription::constant_time_eq(self.secret.as_bytes(), given.as_bytes())
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("client_id", &self.client_id)
            .field("secret", &"***")
            .field("roles", &self.roles)
            .finish()
    }
}

/// `--app` text that is not `CLIENT_ID=SECRET:Role1,Role2`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an app is written CLIENT_ID=SECRET:Role1,Role2 (roles optional)")]
pub struct AppSyntaxError;

/// How the emulator is configured.
#[derive(Debug, Clone)]
pub struct Config {
    listen: SocketAddr,
    tenant_id: String,
    page_size: usize,
    apps: Vec<App>,
    start_at: Option<DateTime<Utc>>,
    throttle: Throttle,
    faults: Faults,
    seed: u64,
    state: Option<PathBuf>,
    delivery: delivery::Settings,
    tls: Option<TlsSettings>,
}

/// An emulator, configured, not yet started.
#[derive(Debug, Clone)]
pub struct Emulator {
    config: Config,
}

/// Builds an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    config: Config,
}

impl Emulator {
    /// A builder with the defaults: `127.0.0.1`, a free port, page size 100, no apps.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            config: Config {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                tenant_id: DEFAULT_TENANT_ID.to_owned(),
                page_size: DEFAULT_PAGE_SIZE,
                apps: Vec::new(),
                start_at: None,
                throttle: Throttle::GRAPH,
                faults: Faults::default(),
                seed: 0,
                state: None,
                delivery: delivery::Settings::default(),
                tls: None,
            },
        }
    }

    /// Binds and serves in the background; the emulator stops when the handle is shut
    /// down or dropped.
    pub async fn start(self) -> Result<RunningEmulator, StartError> {
        let delivery =
            delivery::Deliveries::new(&self.config.delivery).map_err(StartError::Certificate)?;
        let listener = tokio::net::TcpListener::bind(self.config.listen)
            .await
            .map_err(|e| StartError::Bind(self.config.listen, e.to_string()))?;
        let address = listener
            .local_addr()
            .map_err(|e| StartError::Bind(self.config.listen, e.to_string()))?;
        // HTTPS (`tls.rs`): the certificate is made for the bound address.
        let certificates = match &self.config.tls {
            Some(settings) => Some(
                tls::generate(settings, address.ip(), clock::wall().date_naive())
                    .map_err(StartError::Tls)?,
            ),
            None => None,
        };
        let scheme = if certificates.is_some() {
            "https"
        } else {
            "http"
        };
        let base_url = format!("{scheme}://{address}");
        let loaded = match &self.config.state {
            Some(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || persist::load(&path))
                    .await
                    .map_err(|e| StartError::State(e.to_string()))?
                    .map(Some)
                    .map_err(|e| StartError::State(e.to_string()))?
            }
            None => None,
        };
        let (store, clock, identity) = match loaded {
            // A fresh state file starts like an emulator without one.
            Some(loaded) if loaded.signing_key.is_some() => (
                loaded.store,
                clock::Clock::with_offset_millis(loaded.clock_offset_millis),
                identity::Identity::from_der(loaded.signing_key.as_deref().unwrap_or_default())
                    .map_err(|e| StartError::State(e.to_string()))?,
            ),
            Some(loaded) => (
                loaded.store,
                clock::Clock::new(self.config.start_at),
                identity::Identity::new(),
            ),
            None => (
                store::Store::default(),
                clock::Clock::new(self.config.start_at),
                identity::Identity::new(),
            ),
        };
        let shared = Arc::new(Shared {
            clock,
            identity,
            store: Mutex::new(store),
            base_url: base_url.clone(),
            throttler: std::sync::Mutex::new(throttle::Throttler::default()),
            faults: faults::Injector::new(self.config.faults.clone(), self.config.seed),
            state: OnceLock::new(),
            delivery,
            counters: stats::Counters::default(),
            batch_router: std::sync::Mutex::new(None),
            config: self.config,
        });
        if let Some(path) = shared.config.state.clone() {
            // Start from one snapshot and an empty journal.
            let (writer, to) = (shared.clone(), path.clone());
            tokio::task::spawn_blocking(move || persist::flush_to(&writer, &to))
                .await
                .map_err(|e| StartError::State(e.to_string()))?
                .map_err(|e| StartError::State(e.to_string()))?;
            let journal = persist::Journal::start(path.clone(), Arc::downgrade(&shared))
                .map_err(|e| StartError::State(e.to_string()))?;
            let _ = shared.state.set(persist::State { path, journal });
            tracing::info!(
                subscriptions = shared.store.lock().await.len(),
                "state loaded"
            );
        }
        let app = router(shared.clone());
        *shared
            .batch_router
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(app.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let ca_pem = certificates.as_ref().map(|c| c.ca_pem.clone());
        let server = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            let result = match certificates {
                Some(certificates) => {
                    let listener =
                        graph_subs_tls::TlsListener::new(listener, address, certificates.server);
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stopped)
                        .await
                }
                None => {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stopped)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "the emulator stopped");
            }
        });
        tracing::info!(%base_url, "emulator listening");
        Ok(RunningEmulator {
            shared,
            address,
            ca_pem,
            stop: Some(stop),
            server: Some(server),
        })
    }
}

impl EmulatorBuilder {
    /// The address to listen on; port 0 picks a free one. Loopback unless told otherwise.
    pub fn listen(mut self, address: SocketAddr) -> Self {
        self.config.listen = address;
        self
    }

    /// The tenant id tokens and subscriptions belong to by default.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.config.tenant_id = tenant_id.into();
        self
    }

    /// How many subscriptions a List page holds (at least 1).
    pub fn page_size(mut self, size: usize) -> Self {
        self.config.page_size = size.max(1);
        self
    }

    /// Registers an app for the client-credentials flow.
    pub fn app(mut self, app: App) -> Self {
        self.config.apps.push(app);
        self
    }

    /// Starts the emulator's clock at this time instead of the wall clock's.
    pub fn start_at(mut self, time: DateTime<Utc>) -> Self {
        self.config.start_at = Some(time);
        self
    }

    /// Graph's throttling ([`Throttle::GRAPH`], the default) or another, or
    /// [`Throttle::OFF`].
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.config.throttle = throttle;
        self
    }

    /// Faults to inject in the subscription API, drawn from a generator seeded with
    /// `seed` (see [`Faults`]).
    pub fn faults(mut self, faults: Faults, seed: u64) -> Self {
        self.config.faults = faults;
        self.config.seed = seed;
        self
    }

    /// Keeps subscriptions, the clock and the signing key in `path` across restarts,
    /// safe against a crash at any moment. Without it, state lives in memory only.
    pub fn state(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.state = Some(path.into());
        self
    }

    /// The emulator.
    pub fn build(self) -> Emulator {
        Emulator {
            config: self.config,
        }
    }
}

/// Why the emulator did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, String),
    /// The `--state` file could not be read or started.
    #[error("{0}")]
    State(String),
    /// An [`EmulatorBuilder::extra_root_certificate`] holds no usable certificate.
    #[error("cannot trust the extra root certificate: {0}")]
    Certificate(String),
    /// The TLS certificate ([`EmulatorBuilder::tls`]) could not be made.
    #[error("cannot make the TLS certificate: {0}")]
    Tls(String),
}

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) clock: clock::Clock,
    pub(crate) identity: identity::Identity,
    pub(crate) store: Mutex<store::Store>,
    pub(crate) base_url: String,
    pub(crate) throttler: std::sync::Mutex<throttle::Throttler>,
    pub(crate) faults: faults::Injector,
    pub(crate) state: OnceLock<persist::State>,
    pub(crate) delivery: delivery::Deliveries,
    pub(crate) counters: stats::Counters,
    /// The router `$batch` serves its requests through, built once: it holds this
    /// `Shared`, so stopping the emulator takes it out again (no cycle outlives it).
    pub(crate) batch_router: std::sync::Mutex<Option<Router>>,
    pub(crate) config: Config,
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // Graph's API: faults (`--faults`) are injected here only.
    let graph = Router::new()
        .route("/{version}/subscriptions", get(api::list).post(api::create))
        .route(
            "/{version}/subscriptions/{id}",
            get(api::get).patch(api::update).delete(api::delete),
        )
        .route(
            "/{version}/subscriptions/{id}/reauthorize",
            post(api::reauthorize),
        )
        .route("/{version}/$batch", post(batch::batch))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            api::faults,
        ));
    Router::new()
        .merge(graph)
        .route("/{tenant}/oauth2/v2.0/token", post(api::oauth_token))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::authorize))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(api::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(api::jwks))
        .route("/emulator/clock", get(api::clock_now).post(api::clock_move))
        .route("/emulator/stats", get(api::stats))
        .route("/emulator/token", post(api::emulator_token))
        .merge(delivery::routes())
        .fallback(api::not_found)
        // Bodies past the core's limit get the core's error (413 in Graph's shape); far
        // larger ones are cut by axum before they are read.
        .layer(DefaultBodyLimit::max(
            2 * graph_subs_core::request::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            api::request_ids,
        ))
        .with_state(shared)
}

/// A running emulator.
#[derive(Debug)]
pub struct RunningEmulator {
    shared: Arc<Shared>,
    address: SocketAddr,
    ca_pem: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT` (`https://` with [`EmulatorBuilder::tls`]): the root for
    /// `/v1.0/subscriptions`, the token endpoint and `/emulator/`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// With [`EmulatorBuilder::tls`], the PEM of the CA that signed the emulator's server
    /// certificate: what clients trust. `None` over plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The tenant it plays by default.
    pub fn tenant_id(&self) -> &str {
        &self.shared.config.tenant_id
    }

    /// A signed access token for any caller, valid on this emulator's clock.
    pub fn token(&self, spec: &TokenSpec) -> String {
        self.shared
            .identity
            .issue(&self.shared.base_url, spec, self.shared.clock.now())
    }

    /// The emulator's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// What it has answered so far: requests, throttled requests, injected faults.
    pub fn stats(&self) -> Stats {
        self.shared.counters.read()
    }

    /// How many subscriptions it holds (expired ones included until a request purges them).
    pub async fn subscription_count(&self) -> usize {
        self.shared.store.lock().await.len()
    }

    /// Stores subscriptions as they are, in `tenant`, without a request: no check, no
    /// duplicate test, no journal. For the benchmarks (`benches/emulator.rs`), which fill
    /// the emulator with a million subscriptions; not part of the API.
    #[doc(hidden)]
    pub async fn store_unchecked(
        &self,
        tenant: &str,
        subscriptions: impl IntoIterator<Item = graph_subs_core::subscription::Subscription>,
    ) {
        let mut store = self.shared.store.lock().await;
        for subscription in subscriptions {
            store.insert(tenant, subscription);
        }
    }

    /// Stops serving, waits for in-flight requests to finish, and with `--state` writes
    /// a final snapshot.
    pub async fn shutdown(mut self) -> Result<(), StateError> {
        self.stop_now();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || persist::flush(&shared))
            .await
            .unwrap_or(Ok(()))
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.shared
            .batch_router
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_are_read_from_the_command_line_form_and_never_print_their_secret() {
        let app = App::parse("11111111-aaaa=s3cr3t:Mail.Read, Chat.Read.All").unwrap();
        assert_eq!(app.client_id, "11111111-aaaa");
        assert_eq!(app.roles, ["Mail.Read", "Chat.Read.All"]);
        assert!(app.secret_matches("s3cr3t"));
        assert!(!app.secret_matches("s3cr3"));
        assert!(!format!("{app:?}").contains("s3cr3t"));
        assert_eq!(
            App::parse("client=secret").unwrap().roles,
            Vec::<String>::new()
        );
        for bad in ["client", "=secret", "client=", "client=:Role"] {
            assert_eq!(App::parse(bad).unwrap_err(), AppSyntaxError, "{bad}");
        }
    }
}
