//! The keeper's durable state: what it created, under which name, with which spec, and
//! what it is about to do (`docs/keeper.md`, *Durable state*). SQLite by default (one
//! file, WAL, `synchronous = FULL`: an intent is on disk before the call it announces),
//! PostgreSQL for several replicas, through one `sqlx::AnyPool` and the same SQL.
//!
//! Decisions:
//! - **Migrations** are this module's list ([`MIGRATIONS`]), applied at open in order,
//!   each in a transaction with its version recorded in `keeper_migrations`; a store
//!   written by a newer keeper (a version this one does not know) is refused rather than
//!   misread.
//! - **Times** are RFC 3339 text in UTC with microseconds, fixed width, so that they
//!   compare as text the same in both databases.
//! - Parameters are written `$1`, `$2`... in the order they appear (SQLite numbers named
//!   parameters by first appearance).

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor as _, Row as _};

/// The schema, version by version. Never edit a released one: add the next.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE IF NOT EXISTS keeper_subscriptions (
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        graph_id TEXT,
        expires_at TEXT,
        state TEXT NOT NULL,
        intent_at TEXT NOT NULL,
        last_outcome TEXT,
        last_error TEXT,
        owner TEXT,
        lease_until TEXT,
        PRIMARY KEY (tenant, name)
    )",
    ),
    // Which replica works on a tenant, until when (Graph's time): `docs/keeper.md`,
    // *Several replicas*. (Leases are per tenant: version 1's `owner` and `lease_until`
    // columns are unused.)
    (
        2,
        "CREATE TABLE IF NOT EXISTS keeper_leases (
        tenant TEXT NOT NULL PRIMARY KEY,
        owner TEXT NOT NULL,
        lease_until TEXT NOT NULL
    )",
    ),
    // Lifecycle events name a subscription by its Graph id.
    (
        3,
        "CREATE INDEX IF NOT EXISTS keeper_subscriptions_graph_id ON keeper_subscriptions (graph_id)",
    ),
    // What a create was for (Graph's duplicate key), so that a create cut short for a
    // name that then left the configuration can still be found in List and deleted.
    (
        4,
        "ALTER TABLE keeper_subscriptions ADD COLUMN resource TEXT",
    ),
    (
        5,
        "ALTER TABLE keeper_subscriptions ADD COLUMN change_type TEXT",
    ),
    // Renewal rounds read only what falls due ([`Store::due`]).
    (
        6,
        "CREATE INDEX IF NOT EXISTS keeper_subscriptions_expiry ON keeper_subscriptions (tenant, expires_at)",
    ),
];

/// The rows of a tenant that fall due before a horizon ([`Store::due`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Due {
    /// The rows with a Graph id that expire before the horizon, nearest first.
    pub rows: Vec<Row>,
    /// The nearest expiry of the others, when there are others.
    pub later: Option<DateTime<Utc>>,
}

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no database this keeper speaks.
    #[error(
        "`{0}` is not a store URL: give sqlite://PATH (created if missing) or postgres://USER@HOST/DATABASE"
    )]
    Url(String),
    /// The database refused or failed.
    #[error("the store failed: {0}")]
    Database(#[from] sqlx::Error),
    /// Written by a newer keeper.
    #[error(
        "the store has schema version {found}, newer than this keeper's {known}: run the newer graph-subs, or another store"
    )]
    Newer {
        /// The store's version.
        found: i64,
        /// This keeper's.
        known: i64,
    },
}

/// What the keeper is doing with a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// About to create (the create may have reached Graph if this is what a restart finds).
    Creating,
    /// Created, with a Graph id.
    Active,
    /// About to renew.
    Renewing,
    /// About to delete.
    Deleting,
}

impl State {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Creating => "creating",
            State::Active => "active",
            State::Renewing => "renewing",
            State::Deleting => "deleting",
        }
    }

    fn parse(text: &str) -> Option<State> {
        [
            State::Creating,
            State::Active,
            State::Renewing,
            State::Deleting,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One change to a tenant's rows ([`Store::write`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// About to create `name` from `fingerprint` (before the call).
    IntendCreate {
        /// The subscription's name.
        name: String,
        /// Its spec's digest.
        fingerprint: String,
        /// Its resource, as sent.
        resource: String,
        /// Its change types, as sent.
        change_type: String,
    },
    /// About to renew or delete `name` (before the call).
    Intend {
        /// The subscription's name.
        name: String,
        /// [`State::Renewing`] or [`State::Deleting`].
        state: State,
    },
    /// `name` is Graph's `graph_id` (created, or adopted from List).
    Active {
        /// The subscription's name.
        name: String,
        /// The spec it was created from.
        fingerprint: String,
        /// Graph's id.
        graph_id: String,
        /// The expiration Graph answered.
        expires_at: DateTime<Utc>,
        /// `created` or `adopted`.
        outcome: &'static str,
    },
    /// `name` was renewed to `expires_at`.
    Renewed {
        /// The subscription's name.
        name: String,
        /// The new expiration.
        expires_at: DateTime<Utc>,
    },
    /// Graph no longer has `name`'s subscription (deleted to be replaced, removed,
    /// expired): its id is dropped, its row kept until it is created again.
    Gone {
        /// The subscription's name.
        name: String,
        /// Why (`replaced`, `removed`, `not-found`).
        outcome: &'static str,
    },
    /// The last intent failed; it is kept, and the next round tries again.
    Failed {
        /// The subscription's name.
        name: String,
        /// A short reason (`throttled`, `forbidden`...).
        outcome: &'static str,
        /// The error's message (no secret: the client's errors carry none).
        error: String,
    },
    /// `name` cannot be created: another subscription, not the keeper's, holds its place
    /// (recorded, with a row if it had none, so that `keep status` shows it; never as
    /// `creating`, which would make that other subscription look like the keeper's).
    Blocked {
        /// The subscription's name.
        name: String,
        /// Its spec's digest.
        fingerprint: String,
        /// Why, and what to do.
        error: String,
    },
    /// An action on `name` succeeded without changing its id or expiry
    /// (`reauthorized`).
    Done {
        /// The subscription's name.
        name: String,
        /// What was done.
        outcome: &'static str,
    },
    /// Drop `name`: deleted, or gone and no longer desired.
    Forget {
        /// The subscription's name.
        name: String,
    },
}

/// One remembered subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The tenant's name.
    pub tenant: String,
    /// The subscription's name.
    pub name: String,
    /// The spec it was (or is being) created with.
    pub fingerprint: String,
    /// Graph's id, once known.
    pub graph_id: Option<String>,
    /// The expiration Graph answered last.
    pub expires_at: Option<DateTime<Utc>>,
    /// The last intent or outcome.
    pub state: State,
    /// When that was written.
    pub intent_at: DateTime<Utc>,
    /// What happened last (`created`, `renewed`, a failure's reason).
    pub last_outcome: Option<String>,
    /// The last error's message.
    pub last_error: Option<String>,
    /// The resource and change types of its last create (Graph's duplicate key).
    pub target: Option<(String, String)>,
}

const COLUMNS: &str = "tenant, name, fingerprint, graph_id, expires_at, state, intent_at, last_outcome, last_error, resource, change_type";

fn row(r: &sqlx::any::AnyRow) -> Result<Row, StoreError> {
    let state: String = r.try_get("state")?;
    let intent: String = r.try_get("intent_at")?;
    let expires: Option<String> = r.try_get("expires_at")?;
    Ok(Row {
        tenant: r.try_get("tenant")?,
        name: r.try_get("name")?,
        fingerprint: r.try_get("fingerprint")?,
        graph_id: r.try_get("graph_id")?,
        expires_at: expires.as_deref().and_then(time),
        state: State::parse(&state).unwrap_or(State::Creating),
        intent_at: time(&intent).unwrap_or_default(),
        last_outcome: r.try_get("last_outcome")?,
        last_error: r.try_get("last_error")?,
        target: match (
            r.try_get::<Option<String>, _>("resource")?,
            r.try_get::<Option<String>, _>("change_type")?,
        ) {
            (Some(resource), Some(change_type)) => Some((resource, change_type)),
            _ => None,
        },
    })
}

fn text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Opens (and creates, for SQLite) the store at `url` and brings its schema up to
    /// date (`now` dates the migrations applied).
    pub async fn open(url: &str, now: DateTime<Utc>) -> Result<Store, StoreError> {
        install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        if !sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(StoreError::Url(graph_subs_core::notification_url::redact(
                url,
            )));
        }
        let url = if sqlite && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_owned()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Store { pool };
        store.migrate(now).await?;
        Ok(store)
    }

    async fn migrate(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS keeper_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            .await?;
        let current = self.schema_version().await?;
        let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
        if current > known {
            return Err(StoreError::Newer {
                found: current,
                known,
            });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            let mut tx = self.pool.begin().await?;
            tx.execute(*sql).await?;
            sqlx::query(
                "INSERT INTO keeper_migrations (version, applied_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(*version)
            .bind(text(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version, "store schema migrated");
        }
        Ok(())
    }

    /// The schema version the store is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM keeper_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("v")?)
    }

    /// Every remembered subscription of `tenant`, by name.
    pub async fn rows(&self, tenant: &str) -> Result<Vec<Row>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM keeper_subscriptions WHERE tenant = $1 ORDER BY name");
        self.decoded(sqlx::query(&sql).bind(tenant)).await
    }

    /// Every remembered subscription, by tenant and name (`keep status`).
    pub async fn all_rows(&self) -> Result<Vec<Row>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM keeper_subscriptions ORDER BY tenant, name");
        self.decoded(sqlx::query(&sql)).await
    }

    /// The rows `query` selects, each decoded as it arrives: the driver's generic rows
    /// (column names and values, several times the size of a [`Row`]) are never all held
    /// at once, which a `fetch_all` of 100,000 rows would (about 80 MB).
    async fn decoded<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<Vec<Row>, StoreError> {
        query
            .fetch(&self.pool)
            .map_err(StoreError::from)
            .and_then(|r| std::future::ready(row(&r)))
            .try_collect()
            .await
    }

    /// Writes `changes` to `tenant`'s rows in one transaction (one disk sync, however
    /// many): the keeper records a round's intents together before it acts on them, and
    /// their outcomes together after.
    pub async fn write(
        &self,
        tenant: &str,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let now = text(now);
        let mut tx = self.pool.begin().await?;
        for change in changes {
            let query = match change {
                // A Graph id from an earlier life is kept until the create answers.
                Change::IntendCreate {
                    name,
                    fingerprint,
                    resource,
                    change_type,
                } => sqlx::query(
                    "INSERT INTO keeper_subscriptions (tenant, name, fingerprint, state, intent_at, resource, change_type)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (tenant, name) DO UPDATE SET fingerprint = excluded.fingerprint,
                         state = excluded.state, intent_at = excluded.intent_at,
                         resource = excluded.resource, change_type = excluded.change_type",
                )
                .bind(tenant)
                .bind(name.as_str())
                .bind(fingerprint.as_str())
                .bind(State::Creating.as_str())
                .bind(now.clone())
                .bind(resource.as_str())
                .bind(change_type.as_str()),
                Change::Intend { name, state } => sqlx::query(
                    "UPDATE keeper_subscriptions SET state = $1, intent_at = $2 WHERE tenant = $3 AND name = $4",
                )
                .bind(state.as_str())
                .bind(now.clone())
                .bind(tenant)
                .bind(name.as_str()),
                Change::Active {
                    name,
                    fingerprint,
                    graph_id,
                    expires_at,
                    outcome,
                } => sqlx::query(
                    "INSERT INTO keeper_subscriptions (tenant, name, fingerprint, graph_id, expires_at, state, intent_at, last_outcome)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (tenant, name) DO UPDATE SET fingerprint = excluded.fingerprint,
                         graph_id = excluded.graph_id, expires_at = excluded.expires_at,
                         state = excluded.state, intent_at = excluded.intent_at,
                         last_outcome = excluded.last_outcome, last_error = NULL",
                )
                .bind(tenant)
                .bind(name.as_str())
                .bind(fingerprint.as_str())
                .bind(graph_id.as_str())
                .bind(text(*expires_at))
                .bind(State::Active.as_str())
                .bind(now.clone())
                .bind(*outcome),
                Change::Renewed { name, expires_at } => sqlx::query(
                    "UPDATE keeper_subscriptions SET expires_at = $1, state = $2, intent_at = $3,
                         last_outcome = 'renewed', last_error = NULL
                     WHERE tenant = $4 AND name = $5",
                )
                .bind(text(*expires_at))
                .bind(State::Active.as_str())
                .bind(now.clone())
                .bind(tenant)
                .bind(name.as_str()),
                Change::Gone { name, outcome } => sqlx::query(
                    "UPDATE keeper_subscriptions SET graph_id = NULL, expires_at = NULL, last_outcome = $1
                     WHERE tenant = $2 AND name = $3",
                )
                .bind(*outcome)
                .bind(tenant)
                .bind(name.as_str()),
                Change::Failed {
                    name,
                    outcome,
                    error,
                } => sqlx::query(
                    "UPDATE keeper_subscriptions SET last_outcome = $1, last_error = $2 WHERE tenant = $3 AND name = $4",
                )
                .bind(*outcome)
                .bind(error.as_str())
                .bind(tenant)
                .bind(name.as_str()),
                Change::Blocked {
                    name,
                    fingerprint,
                    error,
                } => sqlx::query(
                    "INSERT INTO keeper_subscriptions (tenant, name, fingerprint, state, intent_at, last_outcome, last_error)
                     VALUES ($1, $2, $3, $4, $5, 'conflict', $6)
                     ON CONFLICT (tenant, name) DO UPDATE SET state = excluded.state,
                         last_outcome = excluded.last_outcome, last_error = excluded.last_error",
                )
                .bind(tenant)
                .bind(name.as_str())
                .bind(fingerprint.as_str())
                .bind(State::Active.as_str())
                .bind(now.clone())
                .bind(error.as_str()),
                Change::Done { name, outcome } => sqlx::query(
                    "UPDATE keeper_subscriptions SET state = $1, last_outcome = $2, last_error = NULL
                     WHERE tenant = $3 AND name = $4",
                )
                .bind(State::Active.as_str())
                .bind(*outcome)
                .bind(tenant)
                .bind(name.as_str()),
                Change::Forget { name } => {
                    sqlx::query("DELETE FROM keeper_subscriptions WHERE tenant = $1 AND name = $2")
                        .bind(tenant)
                        .bind(name.as_str())
                }
            };
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The names of `tenant` remembered with a Graph id: a renewal round's check that
    /// nothing is left to create, without reading every row.
    pub async fn live_names(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query(
            "SELECT name FROM keeper_subscriptions WHERE tenant = $1 AND graph_id IS NOT NULL",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<String, _>("name")?))
        .collect()
    }

    /// The subscription of `tenant` nearest its expiry (with a Graph id): name, id, expiry.
    pub async fn nearest(
        &self,
        tenant: &str,
    ) -> Result<Option<(String, String, DateTime<Utc>)>, StoreError> {
        let found = sqlx::query(
            "SELECT name, graph_id, expires_at FROM keeper_subscriptions WHERE tenant = $1 AND graph_id IS NOT NULL AND expires_at IS NOT NULL ORDER BY expires_at LIMIT 1",
        )
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = found else {
            return Ok(None);
        };
        let expires: String = r.try_get("expires_at")?;
        let name: String = r.try_get("name")?;
        let id: String = r.try_get("graph_id")?;
        Ok(time(&expires).map(|at| (name, id, at)))
    }

    /// The rows of `tenant` with a Graph id that expire before `horizon`, nearest first,
    /// and the nearest expiry of the others: what a renewal round reads instead of every
    /// row (by the `(tenant, expires_at)` index; expiries are fixed-width text, so they
    /// compare as times).
    pub async fn due(&self, tenant: &str, horizon: DateTime<Utc>) -> Result<Due, StoreError> {
        let horizon = text(horizon);
        let rows = self
            .decoded(
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM keeper_subscriptions WHERE tenant = $1 AND graph_id IS NOT NULL AND expires_at < $2 ORDER BY expires_at"
                ))
                .bind(tenant)
                .bind(&horizon),
            )
            .await?;
        let later = sqlx::query(
            "SELECT MIN(expires_at) AS later FROM keeper_subscriptions WHERE tenant = $1 AND graph_id IS NOT NULL AND expires_at >= $2",
        )
        .bind(tenant)
        .bind(&horizon)
        .fetch_one(&self.pool)
        .await?
        .try_get::<Option<String>, _>("later")?
        .as_deref()
        .and_then(time);
        Ok(Due { rows, later })
    }

    /// The remembered subscription that is Graph's `graph_id` (a lifecycle event names
    /// only the id).
    pub async fn find(&self, graph_id: &str) -> Result<Option<Row>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM keeper_subscriptions WHERE graph_id = $1"
        ))
        .bind(graph_id)
        .fetch_optional(&self.pool)
        .await?;
        found.as_ref().map(row).transpose()
    }

    /// Takes or extends `owner`'s lease on `tenant` until `until`, if no other replica
    /// holds one past `now`: one statement, so two replicas cannot both win. Returns the
    /// holder and its lease's end when another replica has it.
    pub async fn claim(
        &self,
        tenant: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let taken = sqlx::query(
            "INSERT INTO keeper_leases (tenant, owner, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (tenant) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
             WHERE keeper_leases.owner = excluded.owner OR keeper_leases.lease_until < $4",
        )
        .bind(tenant)
        .bind(owner)
        .bind(text(until))
        .bind(text(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if taken == 1 {
            return Ok(None);
        }
        let holder = sqlx::query("SELECT owner, lease_until FROM keeper_leases WHERE tenant = $1")
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match holder {
            Some(row) => {
                let until: String = row.try_get("lease_until")?;
                Some((row.try_get("owner")?, time(&until).unwrap_or_default()))
            }
            // Released between the two statements: free, but not ours yet.
            None => Some((String::new(), now)),
        })
    }

    /// Gives up `owner`'s lease on `tenant` (at a stop), so another replica takes it at
    /// once.
    pub async fn release(&self, tenant: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM keeper_leases WHERE tenant = $1 AND owner = $2")
            .bind(tenant)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
