//! Renewing and deleting many subscriptions, batched and not, against an emulator that
//! answers 429, 503 and 504 and drops connections: every item done, none lost.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use futures_util::{StreamExt as _, TryStreamExt as _};
use graph_subs_emulator::{Emulator, RunningEmulator, Throttle, TokenSpec};
use graph_subs_http::{GraphClient, Mode, Pacing, RetryPolicy, StaticToken};
use serde_json::json;

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";

fn client(e: &RunningEmulator) -> GraphClient {
    let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
    GraphClient::builder()
        .base_url(format!("{}/v1.0", e.base_url()))
        .token_provider(StaticToken::new(token))
        .pacing(Pacing::OFF)
        .concurrency(16)
        .retry(RetryPolicy {
            max_attempts: 12,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

async fn create_many(c: &GraphClient, count: usize) -> Vec<String> {
    futures_util::stream::iter(0..count)
        .map(|i| async move {
            let body = json!({
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": format!("users/user{i}@contoso.com/messages"),
                "expirationDateTime": (Utc::now() + chrono::Duration::hours(24)).to_rfc3339_opts(SecondsFormat::Secs, true),
            });
            c.create_json(body.to_string().as_bytes()).await.unwrap().subscription.id
        })
        .buffer_unordered(16)
        .collect()
        .await
}

#[tokio::test]
async fn renewals_and_deletions_survive_a_faulty_graph() {
    let e = Emulator::builder()
        .endpoint_validation(false)
        .throttle(Throttle::OFF)
        .faults(
            "429:0.1,503:0.05,504:0.05,drop:0.02,retry-after:20ms"
                .parse()
                .unwrap(),
            11,
        )
        .build()
        .start()
        .await
        .unwrap();
    let c = client(&e);
    let ids = create_many(&c, 600).await;
    assert_eq!(
        e.subscription_count().await,
        600,
        "no create lost or doubled"
    );

    let to = Utc::now() + chrono::Duration::hours(72);
    let to = chrono::DateTime::parse_from_rfc3339(&to.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap()
        .to_utc();
    let items: Vec<_> = ids.iter().map(|id| (id.clone(), to)).collect();
    let batched = c.renew_many(&items[..400], Mode::Batched).await;
    assert!(batched.failed.is_empty(), "{:?}", batched.failed.first());
    assert_eq!(batched.succeeded.len(), 400);
    let single = c.renew_many(&items[400..], Mode::Single).await;
    assert!(single.failed.is_empty(), "{:?}", single.failed.first());
    assert_eq!(single.succeeded.len(), 200);
    // Each renewal reports the expiration Graph answered, batched or not.
    for outcome in [&batched, &single] {
        assert_eq!(outcome.expirations.len(), outcome.succeeded.len());
        assert!(outcome.expirations.values().all(|at| *at == to));
    }
    let listed: Vec<_> = c.list().try_collect().await.unwrap();
    assert_eq!(listed.len(), 600, "renewals deleted nothing");
    assert!(listed.iter().all(|s| s.expiration_date_time.get() == to));

    // Deletions: each done once; one that is already gone is skipped.
    let deleted = c.delete_many(&ids[..300], Mode::Batched).await;
    assert!(deleted.failed.is_empty(), "{:?}", deleted.failed.first());
    assert_eq!(deleted.succeeded.len() + deleted.skipped.len(), 300);
    let again = c.delete_many(&ids[..10], Mode::Single).await;
    assert_eq!(again.skipped.len(), 10, "{again:?}");
    let rest = c.delete_many(&ids[300..], Mode::Single).await;
    assert!(rest.failed.is_empty(), "{:?}", rest.failed.first());
    assert_eq!(e.subscription_count().await, 0);

    // Items that cannot succeed are reported, each with Graph's answer.
    let bad = c
        .renew_many(
            &[
                ("7f105c7d-2dc5-4530-97cd-4e7ae6534c07".to_owned(), to),
                ("not an id".to_owned(), to),
            ],
            Mode::Batched,
        )
        .await;
    assert_eq!(bad.failed.len(), 2, "{bad:?}");
    assert!(bad.failed.iter().any(|f| f.status == Some(404)), "{bad:?}");
}

/// The client remembers the last token's grants (read on every request); its `Debug`
/// output still shows no token.
#[tokio::test]
async fn the_remembered_grants_keep_the_token_out_of_debug_output() {
    let e = Emulator::builder()
        .endpoint_validation(false)
        .build()
        .start()
        .await
        .unwrap();
    let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
    let c = GraphClient::builder()
        .base_url(format!("{}/v1.0", e.base_url()))
        .token_provider(StaticToken::new(token.clone()))
        .build()
        .unwrap();
    let first = c
        .grants()
        .await
        .unwrap()
        .expect("the emulator's token has claims");
    assert!(first.has("Mail.Read"));
    assert_eq!(c.grants().await.unwrap(), Some(first));
    let shown = format!("{c:?}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!shown.contains(signature), "{shown}");
}
