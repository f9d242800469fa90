//! The receiver over real HTTP with the emulator as Graph: the handshake on create, change
//! notifications whose `clientState` is right or wrong, every lifecycle event, bodies
//! that are not notifications, and a full queue.

use std::time::Duration;

use graph_subs_core::subscription::ClientState;
use graph_subs_emulator::{Emulator, RunningEmulator, TokenSpec};
use graph_subs_receiver::{ClientStates, Event, Events, Receiver};
use reqwest::StatusCode;
use serde_json::{Value, json};

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";
const SECRET: &str = "CANARY-receiver-client-state-5k";

/// A receiver on a free loopback port: its base URL, the receiver and its events.
async fn start(queue: usize) -> (String, Receiver, Events) {
    let (receiver, events) =
        Receiver::builder(ClientStates::Shared(ClientState::new(SECRET).unwrap()))
            .queue(queue)
            .max_body(64 * 1024)
            .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = receiver.router();
    tokio::spawn(graph_subs_receiver::serve(
        listener,
        router,
        std::future::pending(),
    ));
    (base, receiver, events)
}

async fn emulator() -> RunningEmulator {
    Emulator::builder().build().start().await.unwrap()
}

/// Creates a subscription whose URLs are the receiver's: the emulator validates both
/// first, as Graph does.
async fn subscribe(e: &RunningEmulator, receiver: &str, user: &str, client_state: &str) -> String {
    let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
    let expiration = (e.now() + chrono::Duration::hours(24)).to_rfc3339();
    let answer = reqwest::Client::new()
        .post(format!("{}/v1.0/subscriptions", e.base_url()))
        .bearer_auth(token)
        .json(&json!({
            "changeType": "created,updated",
            "notificationUrl": format!("{receiver}/notifications"),
            "lifecycleNotificationUrl": format!("{receiver}/lifecycle"),
            "resource": format!("users/{user}/messages"),
            "expirationDateTime": expiration,
            "clientState": client_state,
        }))
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn report(e: &RunningEmulator, path: &str, body: Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/emulator/{path}", e.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

async fn next(events: &mut Events) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within 10 s")
        .expect("the receiver is alive")
}

/// Waits until the emulator's delivery log says the last delivery to `id` ended.
async fn settled(e: &RunningEmulator, id: &str) {
    for _ in 0..200 {
        let log: Value = reqwest::get(format!(
            "{}/emulator/deliveries?subscriptionId={id}",
            e.base_url()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let pending = log["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["state"] == "pending");
        if !pending {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the deliveries to {id} did not settle");
}

#[tokio::test]
async fn graph_validates_the_receiver_and_its_notifications_arrive_checked() {
    let (base, receiver, mut events) = start(100).await;
    let e = emulator().await;
    let id = subscribe(&e, &base, "ada@contoso.com", SECRET).await;
    // The emulator validated both URLs before creating the subscription.
    assert_eq!(receiver.stats().validations, 2);

    report(
        &e,
        "changes",
        json!({"resource": "users/ada@contoso.com/messages", "changeType": "created"}),
    )
    .await;
    match next(&mut events).await {
        Event::Change(n) => {
            assert_eq!(n.subscription_id, id);
            assert_eq!(n.change_type, "created");
            assert!(n.resource.starts_with("users/ada@contoso.com/messages/"));
        }
        other => panic!("{other:?}"),
    }

    for event in ["reauthorizationRequired", "missed", "subscriptionRemoved"] {
        report(
            &e,
            "lifecycle",
            json!({"subscriptionId": id, "lifecycleEvent": event}),
        )
        .await;
        match next(&mut events).await {
            Event::Lifecycle(n) => {
                assert_eq!(n.subscription_id, id);
                assert_eq!(n.lifecycle_event.as_str(), event);
            }
            other => panic!("{other:?}"),
        }
    }
    let stats = receiver.stats();
    assert_eq!((stats.received, stats.delivered), (4, 4));
    assert!(stats.rejected.values().all(|n| *n == 0), "{stats:?}");
}

#[tokio::test]
async fn a_wrong_client_state_is_counted_and_never_delivered() {
    let (base, receiver, mut events) = start(100).await;
    let e = emulator().await;
    let id = subscribe(&e, &base, "grace@contoso.com", "not-the-receivers-secret").await;
    report(
        &e,
        "changes",
        json!({"resource": "users/grace@contoso.com/messages", "changeType": "updated"}),
    )
    .await;
    settled(&e, &id).await;
    assert!(events.try_recv().is_err(), "nothing is delivered");
    let stats = receiver.stats();
    assert_eq!(stats.received, 1);
    assert_eq!(stats.delivered, 0);
    assert_eq!(stats.rejected["clientState"], 1);
}

async fn post(url: &str, body: &[u8]) -> (StatusCode, String) {
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (answer.status(), answer.text().await.unwrap())
}

fn notification(id: &str, client_state: &str) -> Vec<u8> {
    json!({"value": [{
        "subscriptionId": id,
        "subscriptionExpirationDateTime": "2026-11-25T00:00:00Z",
        "changeType": "created",
        "resource": "users/ada/messages/1",
        "clientState": client_state,
    }]})
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn the_handshake_returns_the_decoded_token_as_plain_text() {
    let (base, _, _events) = start(1).await;
    let answer = reqwest::Client::new()
        .post(format!(
            "{base}/notifications?validationToken=Validation%3a%20Testing%20client%20application"
        ))
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(
        answer.text().await.unwrap(),
        "Validation: Testing client application"
    );
}

#[tokio::test]
async fn bad_bodies_are_refused_and_counted() {
    let (base, receiver, _events) = start(10).await;
    let url = format!("{base}/notifications");
    for body in [
        &b"not json"[..],
        b"{\"value\": {}}",
        b"{\"value\": [{\"changeType\": \"created\"}]}",
        b"{\"value\": [{\"subscriptionId\": \"a\", \"subscriptionExpirationDateTime\": \"yesterday\", \"changeType\": \"created\", \"resource\": \"r\"}]}",
    ] {
        let (status, text) = post(&url, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("not"), "{text}");
    }
    let (status, _) = post(&url, &vec![b' '; 65 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let stats = receiver.stats();
    assert_eq!(stats.rejected["malformed"], 4);
    assert_eq!(stats.rejected["tooLarge"], 1);
    // No client state at all: counted as such.
    let (status, _) = post(
        &url,
        br#"{"value":[{"subscriptionId":"a","subscriptionExpirationDateTime":"2026-11-25T00:00:00Z","changeType":"created","resource":"r"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(receiver.stats().rejected["noClientState"], 1);
}

#[tokio::test]
async fn a_full_queue_answers_503_and_loses_nothing() {
    let (base, receiver, mut events) = start(1).await;
    let url = format!("{base}/notifications");
    let (first, _) = post(&url, &notification("one", SECRET)).await;
    assert_eq!(first, StatusCode::ACCEPTED);
    let answer = reqwest::Client::new()
        .post(&url)
        .body(notification("two", SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers().contains_key("retry-after"));
    assert_eq!(receiver.stats().rejected["queueFull"], 1);
    // The app takes the first; Graph's retry of the second then gets in.
    assert!(matches!(next(&mut events).await, Event::Change(n) if n.subscription_id == "one"));
    let (again, _) = post(&url, &notification("two", SECRET)).await;
    assert_eq!(again, StatusCode::ACCEPTED);
    assert!(matches!(next(&mut events).await, Event::Change(n) if n.subscription_id == "two"));
    assert_eq!(receiver.stats().delivered, 2);
}
