//! The client against the emulator over real HTTP: the lifecycle, the checks before the
//! call, tokens, retries, pacing and paging.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt as _;
use graph_subs_core::request::Properties;
use graph_subs_core::validate::{self, Context};
use graph_subs_emulator::{App, Emulator, EmulatorBuilder, RunningEmulator, Throttle, TokenSpec};
use graph_subs_http::{
    ClientCredentials, CreateSubscription, Error, GraphClient, GraphClientBuilder, Pacing,
    Preflight, RetryPolicy, Secret, StaticToken, TokenError, TokenProvider as _,
};
use serde_json::json;

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";

/// The client checks requests against the wall clock, as against Graph: the emulator
/// keeps the wall clock's time here.
fn start() -> DateTime<Utc> {
    Utc::now()
}

fn emulator() -> EmulatorBuilder {
    Emulator::builder()
        .endpoint_validation(false)
        .throttle(Throttle::OFF)
}

fn client(e: &RunningEmulator, roles: &[&str]) -> GraphClientBuilder {
    let token = e.token(&TokenSpec::application(e.tenant_id(), APP, roles));
    GraphClient::builder()
        .base_url(format!("{}/v1.0", e.base_url()))
        .token_provider(StaticToken::new(token))
        .retry(RetryPolicy {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            ..RetryPolicy::default()
        })
}

/// A typed create request, as an app builds one: through the core.
fn request(resource: &str, hours: i64) -> CreateSubscription {
    let body = json!({
        "changeType": "created,updated",
        "notificationUrl": "https://webhook.example.com/notify",
        "resource": resource,
        "expirationDateTime": (start() + chrono::Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true),
        "clientState": "secretClientValue",
    });
    let properties = Properties::from_json(body.to_string().as_bytes()).unwrap();
    // Checked against an early `now`, so that tests can also build requests the client
    // must refuse.
    let ctx = Context::new(start() - chrono::Duration::days(365));
    match validate::create(&properties, &ctx) {
        Ok(checked) => checked.request,
        Err(_) => {
            let lenient =
                Context::new(start() + chrono::Duration::hours(hours) - chrono::Duration::hours(1));
            validate::create(&properties, &lenient).unwrap().request
        }
    }
}

#[tokio::test]
async fn the_lifecycle_through_the_client() {
    let e = emulator().page_size(3).build().start().await.unwrap();
    let c = client(&e, &["Mail.Read"]).build().unwrap();
    let mut ids = Vec::new();
    for i in 0..7 {
        let created = c
            .create(&request(&format!("users/user{i}/messages"), 24))
            .await
            .unwrap();
        assert!(!created.already_existed);
        assert_eq!(created.subscription.application_id.as_deref(), Some(APP));
        ids.push(created.subscription.id);
    }
    // Three pages of three: every subscription once.
    let listed: Vec<_> = c.list().try_collect().await.unwrap();
    let mut listed_ids: Vec<_> = listed.iter().map(|s| s.id.clone()).collect();
    listed_ids.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed_ids, expected);
    assert!(
        listed.iter().all(|s| s.client_state.is_none()),
        "List never returns clientState"
    );

    let got = c.get(&ids[0]).await.unwrap();
    let to = got.expiration_date_time.get() + chrono::Duration::hours(24);
    let renewed = c.renew(&got, to).await.unwrap();
    assert_eq!(renewed.expiration_date_time.get(), to);
    c.reauthorize(&ids[0]).await.unwrap();
    c.delete(&ids[0], Some(&got.resource)).await.unwrap();
    let gone = c.get(&ids[0]).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }), "{gone:?}");
    assert!(gone.to_string().contains("create it again"), "{gone}");
    let again = c
        .renew(&got, start() + chrono::Duration::hours(50))
        .await
        .unwrap_err();
    assert!(matches!(again, Error::NotFound { .. }), "{again:?}");
    // A malformed id is refused before any request.
    assert!(matches!(
        c.get("../emulator/clock").await,
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn requests_graph_would_refuse_are_not_sent() {
    let e = emulator().build().start().await.unwrap();
    let c = client(&e, &["Mail.Read"]).build().unwrap();
    // The core's validation: beyond the maximum lifetime.
    let refused = c
        .create(&request("users/ada/messages", 24 * 30))
        .await
        .unwrap_err();
    let Error::Invalid { diagnostics } = &refused else {
        panic!("{refused:?}");
    };
    assert!(
        diagnostics
            .iter()
            .any(|d| d.code.as_str() == "expiration-beyond-maximum")
    );
    assert!(
        refused.to_string().starts_with("the request was not sent"),
        "{refused}"
    );
    // The token's permissions: Mail.Read does not allow chats.
    let refused = c
        .create_json(
            json!({
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle",
                "resource": "chats/getAllMessages?model=B",
                "expirationDateTime": (start() + chrono::Duration::minutes(50)).to_rfc3339(),
            })
            .to_string()
            .as_bytes(),
        )
        .await
        .unwrap_err();
    let message = refused.to_string();
    assert!(
        matches!(refused, Error::MissingPermission { .. }) && message.contains("Chat.Read.All"),
        "{message}"
    );
    assert_eq!(e.subscription_count().await, 0, "nothing was sent");

    // With the checks off, Graph (the emulator) answers for itself.
    let unchecked = client(&e, &["Mail.Read"])
        .preflight(Preflight {
            validate: false,
            permissions: false,
        })
        .build()
        .unwrap();
    let answered = unchecked
        .create(&request("users/ada/messages", 24 * 30))
        .await
        .unwrap_err();
    assert_eq!(answered.status(), Some(400));
    assert_eq!(answered.code(), Some("InvalidRequest"));
}

#[tokio::test]
async fn client_credentials_are_cached_and_refused_secrets_say_why() {
    let e = emulator()
        .app(App::new(APP, "the-app-secret", &["Mail.Read"]))
        .build()
        .start()
        .await
        .unwrap();
    let provider = ClientCredentials::new(
        e.base_url(),
        e.tenant_id(),
        APP,
        Secret::new("the-app-secret"),
        "https://graph.microsoft.com",
    );
    let first = provider.token().await.unwrap();
    let second = provider.token().await.unwrap();
    assert_eq!(first.secret(), second.secret(), "cached");
    assert!(first.expires_at.is_some());
    let c = GraphClient::builder()
        .base_url(format!("{}/v1.0", e.base_url()))
        .token_provider(provider)
        .build()
        .unwrap();
    c.create(&request("users/ada/messages", 24)).await.unwrap();
    let grants = c.grants().await.unwrap().unwrap();
    assert!(grants.has("Mail.Read"));

    let wrong = ClientCredentials::new(
        e.base_url(),
        e.tenant_id(),
        APP,
        Secret::new("not-the-secret"),
        "https://graph.microsoft.com",
    );
    let error = wrong.token().await.unwrap_err();
    let TokenError::Refused {
        error: code,
        description,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(code, "invalid_client");
    assert!(description.contains("AADSTS7000215"), "{description}");
    assert!(!error.to_string().contains("not-the-secret"));
}

#[tokio::test]
async fn throttled_and_failing_requests_are_retried() {
    // Graph's 429 with Retry-After, from a throttle of 2 List requests per second.
    let e = emulator()
        .throttle("list=2/1s".parse().unwrap())
        .build()
        .start()
        .await
        .unwrap();
    let c = client(&e, &["Mail.Read"])
        .pacing(Pacing::OFF)
        .build()
        .unwrap();
    for _ in 0..4 {
        let _: Vec<_> = c.list().try_collect().await.unwrap();
    }
    // The client's own pacing keeps it under the same limit: not one 429, so no retry
    // is needed.
    let paced = client(&e, &["Mail.Read"])
        .pacing(Pacing {
            list: Some(graph_subs_http::Rate {
                requests: 2,
                window: Duration::from_secs(1),
            }),
            other: None,
        })
        .retry(RetryPolicy::NONE)
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..4 {
        let _: Vec<_> = paced.list().try_collect().await.unwrap();
    }

    // 503s and 504s a third of the time: every call gets through.
    let e = emulator()
        .faults("503:0.2,504:0.1,retry-after:50ms".parse().unwrap(), 3)
        .page_size(2)
        .build()
        .start()
        .await
        .unwrap();
    let c = client(&e, &["Mail.Read"]).build().unwrap();
    for i in 0..6 {
        c.create(&request(&format!("users/u{i}/messages"), 24))
            .await
            .unwrap();
    }
    let listed: Vec<_> = c.list().try_collect().await.unwrap();
    assert_eq!(listed.len(), 6);

    // Retries end: always 503 gives up with the last answer.
    let e = emulator()
        .faults("503:1,retry-after:10ms".parse().unwrap(), 1)
        .build()
        .start()
        .await
        .unwrap();
    let c = client(&e, &["Mail.Read"])
        .retry(RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let error = c
        .get("7f105c7d-2dc5-4530-97cd-4e7ae6534c07")
        .await
        .unwrap_err();
    let Error::RetriesExhausted { attempts, last, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(attempts, &3);
    assert_eq!(last.status(), Some(503));
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_by_its_409() {
    // Half the answers dropped after the request was carried out; some seed drops the
    // create's first answer and lets its retry through.
    let mut seen_lost = false;
    for seed in 0..30 {
        let e = emulator()
            .faults("drop:0.5".parse().unwrap(), seed)
            .build()
            .start()
            .await
            .unwrap();
        let c = client(&e, &["Mail.Read"]).build().unwrap();
        let Ok(created) = c.create(&request("users/ada/messages", 24)).await else {
            continue;
        };
        assert_eq!(
            e.subscription_count().await,
            1,
            "seed {seed}: one subscription"
        );
        if created.already_existed {
            assert_eq!(created.subscription.resource, "users/ada/messages");
            seen_lost = true;
            break;
        }
    }
    assert!(seen_lost, "no seed dropped the first answer only");
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_once_and_a_trusted_one_works() {
    let e = emulator()
        .tls(graph_subs_emulator::TlsSettings::self_signed())
        .build()
        .start()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let untrusted = client(&e, &["Mail.Read"]).build().unwrap();
    let error = untrusted.list().try_collect::<Vec<_>>().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Transport {
                retryable: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("certificate"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5), "not retried");
    let trusted = client(&e, &["Mail.Read"])
        .add_root_certificate(e.ca_pem().unwrap().as_bytes().to_vec())
        .build()
        .unwrap();
    let listed: Vec<_> = trusted.list().try_collect().await.unwrap();
    assert!(listed.is_empty());
}

/// Graph judges expirations with its own clock: the client follows it (the `Date` of
/// its answers), so that an emulator whose clock was moved three days on, or a host
/// whose clock is off, still gets requests Graph accepts. And a cached token that
/// Graph's clock calls expired is replaced once, instead of failing every call with 401.
#[tokio::test]
async fn the_client_follows_graphs_clock_and_replaces_a_token_graph_calls_expired() {
    let e = emulator()
        .app(App::new(APP, "the-app-secret", &["Mail.Read"]))
        .build()
        .start()
        .await
        .unwrap();
    let c = GraphClient::builder()
        .base_url(format!("{}/v1.0", e.base_url()))
        .token_provider(ClientCredentials::new(
            e.base_url(),
            e.tenant_id(),
            APP,
            Secret::new("the-app-secret"),
            "https://graph.microsoft.com",
        ))
        .build()
        .unwrap();
    let created = c
        .create(&request("users/ada/messages", 24))
        .await
        .unwrap()
        .subscription;
    let skew = (c.now() - Utc::now()).num_seconds().abs();
    assert!(skew <= 1, "no skew yet: {skew} s");

    // Three days on: the token (valid one hour by the emulator's clock) has expired
    // there, though this machine's clock says it has 59 minutes left.
    let moved: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/emulator/clock", e.base_url()))
        .json(&json!({"advanceSeconds": 3 * 86_400}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let emulator_now: DateTime<Utc> = moved["now"].as_str().unwrap().parse().unwrap();
    // The subscription lapsed with the move; create it again at Graph's time.
    let error = c.get(&created.id).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    let gap = (c.now() - emulator_now).num_seconds().abs();
    assert!(gap <= 2, "the client's now is Graph's: {gap} s apart");
    // Built at Graph's time, valid there; on this machine's clock it asks 3 days more
    // than mail's maximum, and the client's own check would refuse it.
    let at_graphs_time = CreateSubscription {
        expiration_date_time: graph_subs_http::Timestamp::new(c.now() + chrono::Duration::days(2))
            .unwrap(),
        ..request("users/ada/messages", 24)
    };
    let again = c.create(&at_graphs_time).await.unwrap().subscription;
    assert!(again.expiration_date_time.get() > emulator_now + chrono::Duration::days(1));
}
