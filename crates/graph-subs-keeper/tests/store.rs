//! The store, on SQLite and on a throwaway PostgreSQL server: created on open, migrated
//! once, intents and outcomes kept across a reopen, a newer schema refused, a bad URL
//! explained.

mod support;

use chrono::{Duration, TimeZone, Utc};
use graph_subs_keeper::store::{Change, MIGRATIONS, State, Store, StoreError};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

#[tokio::test]
async fn intents_and_outcomes_survive_a_reopen_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    survive_a_reopen(&format!(
        "sqlite://{}",
        dir.path().join("keeper.db").display()
    ))
    .await;
}

#[tokio::test]
async fn intents_and_outcomes_survive_a_reopen_on_postgres() {
    let pg = support::Postgres::start();
    survive_a_reopen(&pg.url).await;
}

async fn survive_a_reopen(url: &str) {
    let url = url.to_owned();
    let store = Store::open(&url, now()).await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        MIGRATIONS.last().unwrap().0
    );
    let intend = |name: &str, fingerprint: &str| Change::IntendCreate {
        name: name.into(),
        fingerprint: fingerprint.into(),
        resource: format!("users/{name}/messages"),
        change_type: "created".into(),
    };
    store
        .write(
            "contoso",
            &[intend("mail", "fp-1"), intend("events", "fp-2")],
            now(),
        )
        .await
        .unwrap();
    store
        .write(
            "contoso",
            &[
                Change::Active {
                    name: "mail".into(),
                    fingerprint: "fp-1".into(),
                    graph_id: "g1".into(),
                    expires_at: now() + Duration::days(3),
                    outcome: "created",
                },
                Change::Intend {
                    name: "mail".into(),
                    state: State::Renewing,
                },
                Change::Failed {
                    name: "events".into(),
                    outcome: "throttled",
                    error: "429 TooManyRequests".into(),
                },
            ],
            now(),
        )
        .await
        .unwrap();
    store
        .write("fabrikam", &[intend("users", "fp-3")], now())
        .await
        .unwrap();
    store
        .write(
            "fabrikam",
            &[Change::Forget {
                name: "users".into(),
            }],
            now(),
        )
        .await
        .unwrap();
    store.close().await;

    // As after a restart: the same rows, and the migrations not run twice.
    let again = Store::open(&url, now()).await.unwrap();
    let rows = again.rows("contoso").await.unwrap();
    assert_eq!(rows.len(), 2);
    let (events, mail) = (&rows[0], &rows[1]);
    assert_eq!(
        (mail.name.as_str(), mail.graph_id.as_deref()),
        ("mail", Some("g1"))
    );
    assert_eq!(
        mail.state,
        State::Renewing,
        "the intent is what a restart finds"
    );
    assert_eq!(mail.expires_at, Some(now() + Duration::days(3)));
    assert_eq!(mail.last_outcome.as_deref(), Some("created"));
    assert_eq!(events.state, State::Creating);
    assert_eq!(
        events.target,
        Some(("users/events/messages".to_owned(), "created".to_owned()))
    );
    assert_eq!(events.graph_id, None);
    assert_eq!(events.last_error.as_deref(), Some("429 TooManyRequests"));
    assert!(again.rows("fabrikam").await.unwrap().is_empty());

    // A new spec for an existing name keeps its Graph id until the create answers.
    again
        .write("contoso", &[intend("mail", "fp-new")], now())
        .await
        .unwrap();
    let mail = again.rows("contoso").await.unwrap().remove(1);
    assert_eq!(
        (mail.fingerprint.as_str(), mail.graph_id.as_deref()),
        ("fp-new", Some("g1"))
    );
    assert_eq!(again.find("g1").await.unwrap().unwrap().name, "mail");
    assert_eq!(again.find("g2").await.unwrap(), None);
    // Gone, then renewed after a new create: the id is dropped, then the new one kept.
    again
        .write(
            "contoso",
            &[Change::Gone {
                name: "mail".into(),
                outcome: "removed",
            }],
            now(),
        )
        .await
        .unwrap();
    let mail = again.rows("contoso").await.unwrap().remove(1);
    assert_eq!((mail.graph_id, mail.expires_at), (None, None));
    assert_eq!(again.all_rows().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_store_from_a_newer_keeper_or_a_bad_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keeper.db").display());
    let store = Store::open(&url, now()).await.unwrap();
    drop(store);
    // A newer keeper recorded version 999.
    {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO keeper_migrations (version, applied_at) VALUES (999, 'later')")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let error = Store::open(&url, now()).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Newer { found: 999, .. }),
        "{error}"
    );
    let error = Store::open("mysql://u:CANARY-password@db/x", now())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("sqlite://PATH"), "{message}");
    assert!(!message.contains("CANARY-password"), "{message}");
}
