//! The keeper at work: for each tenant, a round reads what Graph has (List), what the
//! store remembers and what the configuration wants, asks [`reconcile::plan`] what to
//! do, writes the intents, makes the calls with `graph-subs-http`, and writes the
//! outcomes (`docs/keeper.md`). [`Keeper::run`] repeats rounds per tenant, when a
//! renewal falls due, at each poll interval, and at once when a lifecycle event says so.
//!
//! **Decisions.**
//! - **Time is Graph's**: each tenant's `now` is its client's ([`GraphClient::now`],
//!   from the `Date` of Graph's answers), less [`CLOCK_TOLERANCE`], since that `Date` is
//!   to the second: every expiration asked is under Graph's maximum by at least that.
//! - **Intents before calls, in one transaction a batch**: a round's creates are
//!   written `creating` together, then sent (bounded concurrency), then their outcomes
//!   written together; renewals likewise (`renewing`), through `$batch`. A kill -9
//!   anywhere leaves intents that the next round resolves: a `creating` row whose
//!   subscription Graph has is adopted (never created twice), a `renewing` one renewed
//!   again (harmless), a `deleting` one deleted again (404 is the outcome wanted).
//! - **A replacement deletes first**: the old subscription is deleted and its id
//!   dropped before the new one is created, since Graph refuses a second subscription
//!   to the same resource and change types. The row keeps the old spec's fingerprint
//!   until then, so a crash in between replaces again rather than keeping the old one.
//! - **Failures are per subscription**: recorded with their reason and retried next
//!   round; a round whose List fails backs off (doubling, up to the poll interval).
//!   A renewal answered 404 means the subscription is gone: it is created again in the
//!   same round.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures_util::{StreamExt as _, TryStreamExt as _};
use graph_subs_core::lifetime::{self, RenewalPolicy, Tracked, plan_renewals};
use graph_subs_core::notification::{LifecycleEvent, LifecycleNotification};
use graph_subs_core::subscription::ClientState;
use graph_subs_http::{Error as GraphError, GraphClient, Mode};
use graph_subs_receiver::LiveClientStates;
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::config::Wanted;
use crate::metrics::Metrics;
use crate::reconcile::{self, Action, Remembered, Why};
use crate::store::{Change, State, Store, StoreError};

/// How much earlier than Graph's `Date` the keeper takes `now` to be.
pub const CLOCK_TOLERANCE: Duration = Duration::seconds(60);

/// How soon a round with failed calls is followed by another, whatever the interval.
pub const RETRY_FAILED: Duration = Duration::seconds(60);

/// How many creates or deletes of a tenant are in flight at once.
const CONCURRENCY: usize = 8;

/// How many intents are written in one transaction before their calls are made.
const CHUNK: usize = 200;

/// One tenant the keeper keeps.
#[derive(Debug)]
pub struct Tenant {
    /// Its name in the configuration (the store's key).
    pub name: String,
    /// A client for it, with its credentials.
    pub client: GraphClient,
    /// The subscriptions it should have.
    pub wanted: Vec<Wanted>,
    /// The app the credentials are for, when known: only its subscriptions are adopted
    /// or pruned.
    pub app_id: Option<String>,
}

/// How the keeper behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// When to renew and how far (the core's).
    pub policy: RenewalPolicy,
    /// Delete subscriptions of the app that the keeper did not create.
    pub prune: bool,
    /// The longest wait between two rounds of a tenant.
    pub interval: StdDuration,
    /// When several replicas share the store: this one's identity and lease length.
    pub replica: Option<Replica>,
}

/// One of several keepers sharing a PostgreSQL store. A tenant is worked on by one
/// replica at a time, the holder of its lease (`keeper_leases`): Graph's limits are per
/// app and tenant, so one owner per tenant also keeps the pacing honest. A lease is
/// taken or extended before each round and each batch of calls; a replica that dies
/// stops extending it, and another takes the tenant once it ends.
#[derive(Debug, Clone)]
pub struct Replica {
    /// Unique among the replicas (host, process, a random part).
    pub id: String,
    /// How long a lease lasts from its last extension.
    pub lease: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            policy: RenewalPolicy::default(),
            prune: false,
            interval: StdDuration::from_secs(300),
            replica: None,
        }
    }
}

/// Why a round could not run.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another replica holds the tenant's lease: nothing was done.
    #[error("tenant {tenant} is kept by replica {owner} until {until}")]
    Leased {
        /// The tenant's name.
        tenant: String,
        /// The replica holding it.
        owner: String,
        /// Until when (Graph's time).
        until: DateTime<Utc>,
    },
    /// Graph's List failed: nothing can be decided without it.
    #[error("tenant {tenant}: cannot list its subscriptions: {error}")]
    List {
        /// The tenant's name.
        tenant: String,
        /// The client's error.
        error: GraphError,
    },
}

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Subscriptions created (again, after a 404 or `subscriptionRemoved` included).
    pub created: usize,
    /// Found in Graph and recorded (created before a crash).
    pub adopted: usize,
    /// Renewed.
    pub renewed: usize,
    /// Deleted (replaced ones included).
    pub deleted: usize,
    /// Dropped from the store.
    pub forgotten: usize,
    /// Calls that failed (kept for the next round).
    pub failed: usize,
    /// When the next renewal falls due, by Graph's clock.
    pub next_review: Option<DateTime<Utc>>,
}

struct TenantState {
    tenant: Tenant,
    /// Rings for a round now (a lifecycle event, a 404).
    wake: Notify,
    /// A round has succeeded since the start.
    ready: AtomicBool,
    /// Failed rounds in a row.
    failures: AtomicU32,
    /// When Graph was last listed for it (this machine's monotonic clock: the poll
    /// interval is operational, not Graph's time).
    listed: std::sync::Mutex<Option<std::time::Instant>>,
    /// The ids put in the receiver's client states for it.
    shared_ids: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// The keeper: a store, the tenants and their clients.
pub struct Keeper {
    store: Store,
    tenants: Vec<TenantState>,
    settings: Settings,
    metrics: Arc<Metrics>,
    /// The receiver's `clientState`s, kept up to date with the subscriptions' ids.
    client_states: Option<LiveClientStates>,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("tenants", &self.tenants.len())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A short, stable reason for a failed call (a metric label and `keep status`).
pub fn reason(error: &GraphError) -> &'static str {
    match error {
        GraphError::NotFound { .. } => "not-found",
        GraphError::Invalid { .. } => "invalid",
        GraphError::MissingPermission { .. } | GraphError::PermissionTypeNotSupported { .. } => {
            "permission"
        }
        GraphError::Transport { .. } => "transport",
        GraphError::RetriesExhausted { last, .. } => reason(last),
        GraphError::Token(_) => "token",
        other => match other.status() {
            Some(429) => "throttled",
            Some(401) => "unauthorized",
            Some(403) => "forbidden",
            Some(409) => "conflict",
            Some(400) => "refused",
            Some(s) if s >= 500 => "graph-unavailable",
            _ => "other",
        },
    }
}

fn failed(name: &str, error: &GraphError) -> Change {
    Change::Failed {
        name: name.to_owned(),
        outcome: reason(error),
        error: error.to_string(),
    }
}

impl Keeper {
    /// A keeper for `tenants`, remembering in `store`.
    pub fn new(store: Store, tenants: Vec<Tenant>, settings: Settings) -> Keeper {
        Keeper {
            store,
            tenants: tenants
                .into_iter()
                .map(|tenant| TenantState {
                    tenant,
                    wake: Notify::new(),
                    ready: AtomicBool::new(false),
                    failures: AtomicU32::new(0),
                    listed: std::sync::Mutex::new(None),
                    shared_ids: std::sync::Mutex::new(std::collections::HashSet::new()),
                })
                .collect(),
            settings,
            metrics: Arc::new(Metrics::default()),
            client_states: None,
        }
    }

    /// Keeps `states` (a receiver's, [`ClientStates::Live`]) up to date: each
    /// subscription the keeper has, by its current Graph id, with its `clientState`.
    ///
    /// [`ClientStates::Live`]: graph_subs_receiver::ClientStates::Live
    pub fn with_client_states(mut self, states: LiveClientStates) -> Keeper {
        self.client_states = Some(states);
        self
    }

    /// Puts the ids the store remembers in the receiver's client states: at start,
    /// before the first round, so that notifications for subscriptions created by an
    /// earlier run are accepted from the first moment.
    pub async fn share_remembered(&self) -> Result<(), StoreError> {
        if self.client_states.is_none() {
            return Ok(());
        }
        for state in &self.tenants {
            let rows = self.store.rows(&state.tenant.name).await?;
            self.share_states(state, &rows);
        }
        Ok(())
    }

    /// Puts `tenant`'s current ids in the receiver's client states, and takes out the
    /// ids it no longer has.
    fn share_states(&self, state: &TenantState, rows: &[crate::store::Row]) {
        let Some(live) = &self.client_states else {
            return;
        };
        let wanted: HashMap<&str, &Wanted> = state
            .tenant
            .wanted
            .iter()
            .map(|w| (w.name.as_str(), w))
            .collect();
        let mut shared = state.shared_ids.lock().unwrap_or_else(|e| e.into_inner());
        let mut now = std::collections::HashSet::with_capacity(rows.len());
        for row in rows {
            let (Some(id), Some(w)) = (&row.graph_id, wanted.get(row.name.as_str())) else {
                continue;
            };
            // An id keeps its secret for the run (the configuration is read at start): only
            // new ones are put in.
            if !shared.contains(id)
                && let Some(secret) = client_state(w)
            {
                live.insert(id.clone(), secret);
            }
            now.insert(id.clone());
        }
        for gone in shared.difference(&now) {
            live.remove(gone);
        }
        *shared = now;
    }

    /// Its counters and gauges.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether every tenant has had a successful round since the start.
    pub fn ready(&self) -> bool {
        self.tenants.iter().all(|t| t.ready.load(Ordering::Relaxed))
    }

    /// Graph's time, as the first tenant's client knows it (this machine's without
    /// tenants).
    pub fn graph_now(&self) -> DateTime<Utc> {
        self.tenants
            .first()
            .map_or_else(Utc::now, |t| t.tenant.client.now())
    }

    /// The tenants' names, in the configuration's order.
    pub fn tenant_names(&self) -> Vec<&str> {
        self.tenants
            .iter()
            .map(|t| t.tenant.name.as_str())
            .collect()
    }

    /// Takes or extends this replica's lease on `t` (nothing to do with one keeper).
    async fn hold(&self, t: &Tenant) -> Result<(), KeeperError> {
        let Some(replica) = &self.settings.replica else {
            return Ok(());
        };
        // Leases are in Graph's time, compared across machines: each replica asks Graph
        // for it first (one List page), rather than trust what its last answer said.
        let now = match t.client.sync_clock().await {
            Ok(now) => now,
            Err(e) => {
                return Err(KeeperError::List {
                    tenant: t.name.clone(),
                    error: e,
                });
            }
        };
        let holder = self
            .store
            .claim(&t.name, &replica.id, now, now + replica.lease)
            .await?;
        match holder {
            None => {
                self.metrics.lease(&t.name, true);
                Ok(())
            }
            Some((owner, until)) => {
                self.metrics.lease(&t.name, false);
                Err(KeeperError::Leased {
                    tenant: t.name.clone(),
                    owner,
                    until,
                })
            }
        }
    }

    /// Gives up this replica's leases (at a stop): the others take the tenants at once.
    pub async fn release(&self) {
        let Some(replica) = &self.settings.replica else {
            return;
        };
        for state in &self.tenants {
            match self.store.release(&state.tenant.name, &replica.id).await {
                Ok(()) => self.metrics.lease(&state.tenant.name, false),
                Err(e) => {
                    tracing::warn!(tenant = %state.tenant.name, error = %e, "cannot release the lease")
                }
            }
        }
    }

    /// One round for every tenant, one after the other.
    pub async fn reconcile_all(&self) -> Result<Vec<Report>, KeeperError> {
        let mut reports = Vec::with_capacity(self.tenants.len());
        for index in 0..self.tenants.len() {
            reports.push(self.reconcile(index).await?);
        }
        Ok(reports)
    }

    /// [`Keeper::renew_due`] for every tenant, one after the other.
    pub async fn renew_due_all(&self) -> Result<Vec<Report>, KeeperError> {
        let mut reports = Vec::with_capacity(self.tenants.len());
        for index in 0..self.tenants.len() {
            reports.push(self.renew_due(index).await?);
        }
        Ok(reports)
    }

    /// One full round for the tenant at `index` (in the configuration's order): Graph
    /// listed, the plan made and carried out.
    pub async fn reconcile(&self, index: usize) -> Result<Report, KeeperError> {
        let state = &self.tenants[index];
        let result = match self.hold(&state.tenant).await {
            Ok(()) => self.round(&state.tenant).await,
            Err(e) => Err(e),
        };
        match &result {
            Err(KeeperError::Leased { owner, until, .. }) => {
                tracing::debug!(tenant = %state.tenant.name, %owner, %until, "kept by another replica");
                return result;
            }
            Ok(report) => {
                *state.listed.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(std::time::Instant::now());
                state.ready.store(true, Ordering::Relaxed);
                state.failures.store(0, Ordering::Relaxed);
                self.metrics.round(&state.tenant.name, true);
                tracing::info!(
                    tenant = %state.tenant.name,
                    created = report.created,
                    adopted = report.adopted,
                    renewed = report.renewed,
                    deleted = report.deleted,
                    failed = report.failed,
                    "round done"
                );
            }
            Err(error) => {
                state.failures.fetch_add(1, Ordering::Relaxed);
                self.metrics.round(&state.tenant.name, false);
                tracing::warn!(tenant = %state.tenant.name, %error, "round failed");
            }
        }
        if let Ok(rows) = self.store.rows(&state.tenant.name).await {
            self.metrics.tenant_rows(&state.tenant.name, &rows);
            self.share_states(state, &rows);
        }
        result
    }

    /// A round without List, for the time between two full rounds: the renewals that
    /// the store's expirations make due (and the creates of those that lapsed or that a
    /// renewal found gone). Graph is listed at start, at every poll interval and after a
    /// lifecycle event; List is paced far lower than writes (40 requests in 20 s per app
    /// and tenant), and renewing needs only what the store holds.
    pub async fn renew_due(&self, index: usize) -> Result<Report, KeeperError> {
        let state = &self.tenants[index];
        let t = &state.tenant;
        self.hold(t).await?;
        // A subscription to create (recorded gone by a lifecycle event another replica
        // received, or never created): that takes List, a full round.
        let live: std::collections::HashSet<String> =
            self.store.live_names(&t.name).await?.into_iter().collect();
        if t.wanted.iter().any(|w| !live.contains(&w.name)) {
            return self.reconcile(index).await;
        }
        drop(live);
        // The subscription nearest its expiry is read first: Graph's answer gives its
        // time (its `Date`: the client's clock follows Graph's), and whether the most
        // urgent one still exists. One request, paced with writes, not with List.
        let mut gone_now = Vec::new();
        if let Some((name, id, _)) = self.store.nearest(&t.name).await? {
            match t.client.get(&id).await {
                Ok(_) => {}
                Err(GraphError::NotFound { .. }) => {
                    tracing::info!(tenant = %t.name, %name, %id, "gone: creating it again");
                    self.store
                        .write(
                            &t.name,
                            &[Change::Gone {
                                name: name.clone(),
                                outcome: "not-found",
                            }],
                            t.client.now() - CLOCK_TOLERANCE,
                        )
                        .await?;
                    gone_now.push(name);
                }
                Err(e) => {
                    tracing::warn!(tenant = %t.name, error = %e, "cannot read a subscription; planning with the last known time")
                }
            }
        }
        // Only what can fall due now is read: no margin is wider than `renew_before`.
        let now = t.client.now() - CLOCK_TOLERANCE;
        let due = self
            .store
            .due(&t.name, now + self.settings.policy.renew_before)
            .await?;
        let wanted: HashMap<&str, &Wanted> =
            t.wanted.iter().map(|w| (w.name.as_str(), w)).collect();
        let mut names = HashMap::new();
        let tracked: Vec<Tracked> = due
            .rows
            .iter()
            .filter(|r| !gone_now.contains(&r.name))
            .filter_map(|r| {
                let w = wanted.get(r.name.as_str())?;
                let id = r.graph_id.clone()?;
                names.insert(id.clone(), r.name.clone());
                Some(Tracked {
                    id,
                    kind: w.kind?,
                    include_resource_data: w.rich(),
                    expires: r.expires_at?,
                    lifetime: w.lifetime(),
                })
            })
            .collect();
        let plan = plan_renewals(&tracked, now, &self.settings.policy);
        // The others fall due no sooner than `renew_before` before their expiry.
        let later = due.later.map(|at| at - self.settings.policy.renew_before);
        let next_review = match (plan.next_review, later) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut report = Report {
            next_review: next_review.map(|r| r + CLOCK_TOLERANCE),
            ..Report::default()
        };
        let renewals: Vec<(String, String, DateTime<Utc>)> = plan
            .renew
            .iter()
            .map(|r| (names[r.id].clone(), r.id.to_owned(), r.new_expiration))
            .collect();
        let mut creates = gone_now;
        creates.extend(self.renew(t, &renewals, now, &mut report).await?);
        let lapsed: Vec<Change> = plan
            .expired
            .iter()
            .map(|id| {
                tracing::warn!(tenant = %t.name, name = %names[*id], "expired before it could be renewed: creating it again");
                creates.push(names[*id].clone());
                Change::Gone {
                    name: names[*id].clone(),
                    outcome: "expired",
                }
            })
            .collect();
        self.store.write(&t.name, &lapsed, now).await?;
        let changed = !creates.is_empty() || report.renewed + report.failed > 0;
        self.create(t, &creates, now, &mut report).await?;
        retry_soon(&mut report, now);
        // The gauges and the receiver's ids change only if the round changed something:
        // only then is every row read again.
        if changed && let Ok(rows) = self.store.rows(&t.name).await {
            self.metrics.tenant_rows(&t.name, &rows);
            self.share_states(state, &rows);
        }
        Ok(report)
    }

    async fn round(&self, t: &Tenant) -> Result<Report, KeeperError> {
        let observed: Vec<_> =
            t.client
                .list()
                .try_collect()
                .await
                .map_err(|error| KeeperError::List {
                    tenant: t.name.clone(),
                    error,
                })?;
        let now = t.client.now() - CLOCK_TOLERANCE;
        let rows = self.store.rows(&t.name).await?;
        let remembered: Vec<Remembered> = rows
            .iter()
            .map(|r| Remembered {
                name: r.name.clone(),
                graph_id: r.graph_id.clone(),
                fingerprint: r.fingerprint.clone(),
                creating: r.state == State::Creating,
                target: r.target.clone(),
            })
            .collect();
        let by_name: HashMap<&str, &crate::store::Row> =
            rows.iter().map(|r| (r.name.as_str(), r)).collect();
        let desired: Vec<_> = t.wanted.iter().map(Wanted::desired).collect();
        let plan = reconcile::plan(
            &desired,
            &remembered,
            &observed,
            t.app_id.as_deref(),
            &self.settings.policy,
            self.settings.prune,
            now,
        );
        let wanted: HashMap<&str, &Wanted> =
            t.wanted.iter().map(|w| (w.name.as_str(), w)).collect();
        let live: HashMap<&str, &graph_subs_http::Subscription> =
            observed.iter().map(|s| (s.id.as_str(), s)).collect();
        let mut report = Report {
            next_review: plan.next_review.map(|r| r + CLOCK_TOLERANCE),
            ..Report::default()
        };

        let mut creates = Vec::new();
        let mut renewals = Vec::new();
        let mut deletes = Vec::new();
        let mut forgets = Vec::new();
        let mut done = Vec::new();
        for action in plan.actions {
            match action {
                Action::Create { name } => creates.push(name),
                Action::Adopt { name, graph_id } => {
                    let (Some(row), Some(s)) =
                        (by_name.get(name.as_str()), live.get(graph_id.as_str()))
                    else {
                        continue;
                    };
                    tracing::info!(tenant = %t.name, %name, %graph_id, "adopted the subscription a create cut short had made");
                    // The spec it was created from is the intent's: if the configuration
                    // changed since, the next round replaces it.
                    done.push(Change::Active {
                        name: name.clone(),
                        fingerprint: row.fingerprint.clone(),
                        graph_id,
                        expires_at: s.expiration_date_time.get(),
                        outcome: "adopted",
                    });
                    if let Some(review) = wanted.get(name.as_str()).and_then(|w| {
                        review_of(w, s.expiration_date_time.get(), &self.settings.policy)
                    }) {
                        report.next_review =
                            Some(report.next_review.map_or(review, |r| r.min(review)));
                    }
                    report.adopted += 1;
                }
                Action::Conflict { name, graph_id } => {
                    let Some(w) = wanted.get(name.as_str()) else {
                        continue;
                    };
                    tracing::warn!(tenant = %t.name, %name, %graph_id, "another subscription of this app watches the same resource and change types: left alone (prune = false), and this one cannot be created");
                    self.metrics.failure("create", "conflict");
                    done.push(Change::Blocked {
                        name,
                        fingerprint: w.fingerprint(),
                        error: format!(
                            "subscription {graph_id} of this app, not created by this keeper, already watches this resource and change types: delete it, or set prune = true to replace it"
                        ),
                    });
                    report.failed += 1;
                }
                Action::Renew { name, graph_id, to } => renewals.push((name, graph_id, to)),
                Action::Replace { name, graph_id } => {
                    deletes.push((Some(name), graph_id, Why::Undesired, true));
                }
                Action::Delete {
                    graph_id,
                    name,
                    why,
                } => deletes.push((name, graph_id, why, false)),
                Action::Forget { name } => forgets.push(name),
            }
        }
        // List can lag behind Graph: a remembered id it did not show is looked up before
        // it is taken for gone (created again, or forgotten).
        let mut confirmed_creates = Vec::new();
        for name in creates {
            match by_name.get(name.as_str()).and_then(|r| r.graph_id.clone()) {
                None => confirmed_creates.push(name),
                Some(id) => match t.client.get(&id).await {
                    Err(GraphError::NotFound { .. }) => {
                        done.push(Change::Gone {
                            name: name.clone(),
                            outcome: "not-found",
                        });
                        confirmed_creates.push(name);
                    }
                    Ok(s) if s.expiration_date_time.get() <= now => {
                        done.push(Change::Gone {
                            name: name.clone(),
                            outcome: "expired",
                        });
                        confirmed_creates.push(name);
                    }
                    Ok(_) => {
                        tracing::info!(tenant = %t.name, %name, %id, "not in List yet, but Graph has it: kept");
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %t.name, %name, %id, error = %e, "cannot tell whether it still exists: next round");
                        report.failed += 1;
                    }
                },
            }
        }
        for name in forgets {
            let id = by_name.get(name.as_str()).and_then(|r| r.graph_id.clone());
            match id {
                Some(id) => match t.client.get(&id).await {
                    Ok(_) => deletes.push((Some(name), id, Why::Undesired, false)),
                    Err(GraphError::NotFound { .. }) => {
                        done.push(Change::Forget { name });
                        report.forgotten += 1;
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %t.name, %name, %id, error = %e, "cannot tell whether it still exists: next round");
                        report.failed += 1;
                    }
                },
                None => {
                    done.push(Change::Forget { name });
                    report.forgotten += 1;
                }
            }
        }
        let creates = confirmed_creates;
        self.store.write(&t.name, &done, now).await?;
        self.metrics.count("adopted", report.adopted);

        // Deletions first: a replacement's create would be refused as a duplicate, so it
        // is created only once its predecessor is deleted.
        let replaced = self.delete(t, &deletes, now, &mut report).await?;
        let gone = self.renew(t, &renewals, now, &mut report).await?;
        let mut creates_now = creates;
        creates_now.extend(replaced);
        creates_now.extend(gone);
        self.create(t, &creates_now, now, &mut report).await?;
        retry_soon(&mut report, now);
        Ok(report)
    }

    /// Deletes; returns the names whose replacement may now be created.
    async fn delete(
        &self,
        t: &Tenant,
        deletes: &[(Option<String>, String, Why, bool)],
        now: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<Vec<String>, KeeperError> {
        let intents: Vec<Change> = deletes
            .iter()
            .filter_map(|(name, ..)| name.clone())
            .map(|name| Change::Intend {
                name,
                state: State::Deleting,
            })
            .collect();
        self.store.write(&t.name, &intents, now).await?;
        // The futures made first, then run: a closure returning borrowing futures
        // would not be `Send` enough for `tokio::spawn`.
        let calls: Vec<_> = deletes
            .iter()
            .map(|(name, graph_id, why, replace)| async move {
                let result = match t.client.delete(graph_id, None).await {
                    Ok(()) | Err(GraphError::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                };
                (name, graph_id, *why, *replace, result)
            })
            .collect();
        let results: Vec<_> = futures_util::stream::iter(calls)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut outcomes = Vec::new();
        let mut replaced = Vec::new();
        for (name, graph_id, why, replace, result) in results {
            match (result, name) {
                (Ok(()), Some(name)) if replace => {
                    outcomes.push(Change::Gone {
                        name: name.clone(),
                        outcome: "replaced",
                    });
                    replaced.push(name.clone());
                    report.deleted += 1;
                }
                (Ok(()), Some(name)) => {
                    outcomes.push(Change::Forget { name: name.clone() });
                    report.deleted += 1;
                }
                (Ok(()), None) => {
                    tracing::info!(tenant = %t.name, %graph_id, ?why, "pruned a subscription the keeper did not create");
                    report.deleted += 1;
                }
                (Err(e), name) => {
                    tracing::warn!(tenant = %t.name, %graph_id, error = %e, "delete failed");
                    self.metrics.failure("delete", reason(&e));
                    if let Some(name) = name {
                        outcomes.push(failed(name, &e));
                    }
                    report.failed += 1;
                }
            }
        }
        self.store.write(&t.name, &outcomes, now).await?;
        self.metrics.count("deleted", report.deleted);
        Ok(replaced)
    }

    /// Renews through `$batch`; returns the names Graph no longer has (to create again).
    async fn renew(
        &self,
        t: &Tenant,
        renewals: &[(String, String, DateTime<Utc>)],
        now: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<Vec<String>, KeeperError> {
        let mut gone = Vec::new();
        for chunk in renewals.chunks(CHUNK) {
            self.hold(t).await?;
            let intents: Vec<Change> = chunk
                .iter()
                .map(|(name, ..)| Change::Intend {
                    name: name.clone(),
                    state: State::Renewing,
                })
                .collect();
            self.store.write(&t.name, &intents, now).await?;
            let items: Vec<(String, DateTime<Utc>)> =
                chunk.iter().map(|(_, id, to)| (id.clone(), *to)).collect();
            let outcome = t.client.renew_many(&items, Mode::Batched).await;
            let by_id: HashMap<&str, (&str, DateTime<Utc>)> = chunk
                .iter()
                .map(|(name, id, to)| (id.as_str(), (name.as_str(), *to)))
                .collect();
            let mut outcomes = Vec::new();
            for id in &outcome.succeeded {
                if let Some((name, to)) = by_id.get(id.as_str()) {
                    // What Graph answered, which may be sooner than what was asked.
                    let expires_at = outcome.expirations.get(id).copied().unwrap_or(*to);
                    outcomes.push(Change::Renewed {
                        name: (*name).to_owned(),
                        expires_at,
                    });
                    report.renewed += 1;
                }
            }
            for failure in &outcome.failed {
                let Some((name, _)) = by_id.get(failure.id.as_str()) else {
                    continue;
                };
                if failure.status == Some(404) {
                    tracing::info!(tenant = %t.name, name, id = %failure.id, "gone at renewal: creating it again");
                    outcomes.push(Change::Gone {
                        name: (*name).to_owned(),
                        outcome: "not-found",
                    });
                    gone.push((*name).to_owned());
                    self.metrics.failure("renew", "not-found");
                } else {
                    let why = match failure.status {
                        Some(429) => "throttled",
                        Some(403) => "forbidden",
                        Some(s) if s >= 500 => "graph-unavailable",
                        Some(_) => "refused",
                        None => "transport",
                    };
                    tracing::warn!(tenant = %t.name, name, id = %failure.id, error = %failure.message, "renewal failed");
                    outcomes.push(Change::Failed {
                        name: (*name).to_owned(),
                        outcome: why,
                        error: failure.message.clone(),
                    });
                    self.metrics.failure("renew", why);
                    report.failed += 1;
                }
            }
            self.store.write(&t.name, &outcomes, now).await?;
        }
        self.metrics.count("renewed", report.renewed);
        Ok(gone)
    }

    /// Creates `names`: intents, then the calls, then the outcomes, a chunk at a time.
    async fn create(
        &self,
        t: &Tenant,
        names: &[String],
        now: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<(), KeeperError> {
        let wanted: HashMap<&str, &Wanted> =
            t.wanted.iter().map(|w| (w.name.as_str(), w)).collect();
        let names: Vec<&Wanted> = names
            .iter()
            .filter_map(|n| wanted.get(n.as_str()).copied())
            .collect();
        for chunk in names.chunks(CHUNK) {
            self.hold(t).await?;
            let intents: Vec<Change> = chunk
                .iter()
                .map(|w| {
                    let d = w.desired();
                    Change::IntendCreate {
                        name: w.name.clone(),
                        fingerprint: w.fingerprint(),
                        resource: d.resource,
                        change_type: d.change_type,
                    }
                })
                .collect();
            self.store.write(&t.name, &intents, now).await?;
            let calls: Vec<_> = chunk
                .iter()
                .map(|w| async move {
                    let body = create_body(w, now, &self.settings.policy);
                    (*w, t.client.create_json(&body).await)
                })
                .collect();
            let results: Vec<_> = futures_util::stream::iter(calls)
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let mut outcomes = Vec::new();
            for (w, result) in results {
                match result {
                    Ok(created) => {
                        let s = created.subscription;
                        // Notifications may come as soon as Graph answers.
                        if let (Some(live), Some(secret)) = (&self.client_states, client_state(w)) {
                            live.insert(s.id.clone(), secret);
                        }
                        outcomes.push(Change::Active {
                            name: w.name.clone(),
                            fingerprint: w.fingerprint(),
                            graph_id: s.id.clone(),
                            expires_at: s.expiration_date_time.get(),
                            outcome: "created",
                        });
                        report.created += 1;
                        if let Some(review) =
                            review_of(w, s.expiration_date_time.get(), &self.settings.policy)
                        {
                            report.next_review =
                                Some(report.next_review.map_or(review, |r| r.min(review)));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(tenant = %t.name, name = %w.name, error = %e, "create failed");
                        self.metrics.failure("create", reason(&e));
                        outcomes.push(failed(&w.name, &e));
                        report.failed += 1;
                    }
                }
            }
            self.store.write(&t.name, &outcomes, now).await?;
        }
        self.metrics.count("created", report.created);
        Ok(())
    }

    /// Acts on a lifecycle event (from the receiver): `subscriptionRemoved` drops the id
    /// and starts a round (which creates it again); `reauthorizationRequired`
    /// reauthorizes (or, if that fails, renews); `missed` is counted and logged, for the
    /// app to resynchronise. Events about subscriptions the store does not know are
    /// ignored.
    pub async fn lifecycle(&self, event: &LifecycleNotification) -> Result<(), StoreError> {
        self.metrics.lifecycle(&event.lifecycle_event);
        let Some(row) = self.store.find(&event.subscription_id).await? else {
            tracing::debug!(id = %event.subscription_id, "lifecycle event for a subscription the keeper does not know");
            return Ok(());
        };
        let Some(state) = self.tenants.iter().find(|t| t.tenant.name == row.tenant) else {
            return Ok(());
        };
        let t = &state.tenant;
        let now = t.client.now() - CLOCK_TOLERANCE;
        match &event.lifecycle_event {
            LifecycleEvent::SubscriptionRemoved => {
                tracing::info!(tenant = %t.name, name = %row.name, "Graph removed the subscription: creating it again");
                self.store
                    .write(
                        &t.name,
                        &[Change::Gone {
                            name: row.name.clone(),
                            outcome: "removed",
                        }],
                        now,
                    )
                    .await?;
                state.wake.notify_one();
            }
            LifecycleEvent::ReauthorizationRequired => {
                let outcome = match t.client.reauthorize(&event.subscription_id).await {
                    Ok(()) => Ok("reauthorized"),
                    Err(first) => {
                        tracing::info!(tenant = %t.name, name = %row.name, error = %first, "reauthorize failed: renewing instead");
                        let to = t
                            .wanted
                            .iter()
                            .find(|w| w.name == row.name)
                            .map_or(now + Duration::hours(1), |w| expiration(w, now));
                        self.store
                            .write(
                                &t.name,
                                &[Change::Intend {
                                    name: row.name.clone(),
                                    state: State::Renewing,
                                }],
                                now,
                            )
                            .await?;
                        match t.client.get(&event.subscription_id).await {
                            Ok(s) => match t.client.renew(&s, to).await {
                                Ok(renewed) => {
                                    self.store
                                        .write(
                                            &t.name,
                                            &[Change::Renewed {
                                                name: row.name.clone(),
                                                expires_at: renewed.expiration_date_time.get(),
                                            }],
                                            now,
                                        )
                                        .await?;
                                    Ok("renewed")
                                }
                                Err(e) => Err(e),
                            },
                            Err(e) => Err(e),
                        }
                    }
                };
                match outcome {
                    Ok(outcome) => {
                        self.metrics.count(outcome, 1);
                        self.store
                            .write(
                                &t.name,
                                &[Change::Done {
                                    name: row.name.clone(),
                                    outcome,
                                }],
                                now,
                            )
                            .await?;
                    }
                    Err(GraphError::NotFound { .. }) => {
                        self.store
                            .write(
                                &t.name,
                                &[Change::Gone {
                                    name: row.name.clone(),
                                    outcome: "not-found",
                                }],
                                now,
                            )
                            .await?;
                        state.wake.notify_one();
                    }
                    Err(e) => {
                        self.metrics.failure("reauthorize", reason(&e));
                        self.store
                            .write(&t.name, &[failed(&row.name, &e)], now)
                            .await?;
                    }
                }
            }
            LifecycleEvent::Missed => {
                tracing::warn!(tenant = %t.name, name = %row.name, "Graph missed notifications: the app should resynchronise (delta query)");
            }
            LifecycleEvent::Other(other) => {
                tracing::info!(tenant = %t.name, name = %row.name, event = %other, "lifecycle event this version does not know");
            }
        }
        Ok(())
    }

    /// Runs rounds for every tenant until `shutdown` turns true: each tenant in its own
    /// task, at its next renewal, at the poll interval, or when woken; a round in flight
    /// is finished before stopping.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        if let Err(e) = self.share_remembered().await {
            tracing::warn!(error = %e, "cannot read the store");
        }
        let tasks: Vec<_> = (0..self.tenants.len())
            .map(|index| {
                let keeper = self.clone();
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let mut woken = true;
                    loop {
                        if *shutdown.borrow() {
                            break;
                        }
                        let state = &keeper.tenants[index];
                        let listed = *state.listed.lock().unwrap_or_else(|e| e.into_inner());
                        let full = woken
                            || listed.is_none_or(|at| at.elapsed() >= keeper.settings.interval);
                        let result = if full {
                            match keeper.reconcile(index).await {
                                // Without List nothing new is decided, but what the store
                                // knows is still renewed.
                                Err(e @ KeeperError::List { .. }) => {
                                    if let Err(also) = keeper.renew_due(index).await {
                                        tracing::warn!(error = %also, "renewals from the store failed too");
                                    }
                                    Err(e)
                                }
                                other => other,
                            }
                        } else {
                            keeper.renew_due(index).await
                        };
                        let wait = match result {
                            Ok(report) => keeper.wait_after(index, report.next_review),
                            // Another replica's: look again when its lease ends.
                            Err(KeeperError::Leased { until, .. }) => {
                                keeper.wait_after(index, Some(until))
                            }
                            Err(_) => keeper.backoff(index),
                        };
                        woken = false;
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            () = state.wake.notified() => woken = true,
                            _ = shutdown.changed() => {}
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
        self.release().await;
    }

    fn wait_after(&self, index: usize, next_review: Option<DateTime<Utc>>) -> StdDuration {
        let interval = self.settings.interval;
        let now = self.tenants[index].tenant.client.now();
        next_review
            .and_then(|r| (r - now).to_std().ok())
            .map_or(interval, |w| w.min(interval))
            .max(StdDuration::from_millis(100))
    }

    fn backoff(&self, index: usize) -> StdDuration {
        let failures = self.tenants[index].failures.load(Ordering::Relaxed).min(16);
        let base = StdDuration::from_secs(1) * 2u32.saturating_pow(failures);
        base.min(self.settings.interval)
    }
}

/// A round with failed calls looks again within [`RETRY_FAILED`], not at the next
/// interval: a renewal that failed half an hour before a presence subscription expires
/// must not wait an hour.
fn retry_soon(report: &mut Report, now: DateTime<Utc>) {
    if report.failed > 0 {
        let soon = now + CLOCK_TOLERANCE + RETRY_FAILED;
        report.next_review = Some(report.next_review.map_or(soon, |r| r.min(soon)));
    }
}

/// When `w`, expiring at `expires`, falls due: its margin before (the core's, within its
/// own lifetime when it has one).
fn review_of(w: &Wanted, expires: DateTime<Utc>, policy: &RenewalPolicy) -> Option<DateTime<Utc>> {
    Some(expires - policy.margin_within(longest(w)?))
}

/// The longest `w` may live: its resource's maximum, or its own lifetime when shorter.
fn longest(w: &Wanted) -> Option<Duration> {
    let maximum = lifetime::max_lifetime(w.kind?, w.rich());
    Some(w.lifetime().map_or(maximum, |l| l.min(maximum)))
}

fn client_state(w: &Wanted) -> Option<ClientState> {
    w.client_state().and_then(|s| ClientState::new(s).ok())
}

/// The expiration a renewal of `w` asks for at `now` outside a plan: its lifetime, or
/// the longest its resource allows.
pub fn expiration(w: &Wanted, now: DateTime<Utc>) -> DateTime<Utc> {
    now + longest(w).unwrap_or(match w.lifetime() {
        Some(d) => d,
        None => Duration::hours(1),
    })
}

/// The expiration a create of `w` asks for at `now`: [`expiration`], pulled back by the
/// name's place in the policy's spread window (the core's `spread_offset`), so that the
/// subscriptions of a round of creates do not all fall due in the same minute; never
/// below Graph's 45-minute minimum unless the lifetime itself is shorter.
fn create_expiration(w: &Wanted, now: DateTime<Utc>, policy: &RenewalPolicy) -> DateTime<Utc> {
    let target = expiration(w, now);
    let window = policy.spread_within(target - now);
    let spread = target - lifetime::spread_offset(&w.name, window);
    spread.max(target.min(now + lifetime::MINIMUM))
}

/// The create request's body for `w` at `now`.
fn create_body(w: &Wanted, now: DateTime<Utc>, policy: &RenewalPolicy) -> Vec<u8> {
    let mut body = w.body();
    body.insert(
        "expirationDateTime".into(),
        Value::String(create_expiration(w, now, policy).to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}
