//! Graph's side of the notification protocol, over real HTTP: endpoint validation on
//! create and update, change and lifecycle notifications with retries, and the delivery
//! log. Each test starts a receiver of its own on the loopback interface.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode as AxumStatus;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use graph_subs_emulator::{Emulator, EmulatorBuilder, RetryPolicy, RunningEmulator, TokenSpec};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";
const RESOURCE: &str = "users/ada@contoso.com/messages";
const CLIENT_STATE: &str = "CANARY-client-state-7f3a";
const FAILED: &str = "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.";
const TIMED_OUT: &str = "Subscription validation request timed out.";

// ---------------------------------------------------------------------------------------
// A receiver: what a subscriber's webhook does, one behaviour per path.
// ---------------------------------------------------------------------------------------

/// What the receiver was sent.
#[derive(Debug, Default)]
struct Seen {
    /// Validation requests: the path and the decoded query.
    validations: Vec<(String, HashMap<String, String>)>,
    /// Notifications: the path and the JSON body.
    notifications: Vec<(String, Value)>,
}

#[derive(Debug, Clone)]
struct Receiver {
    seen: Arc<Mutex<Seen>>,
    /// How many more notifications `/flaky` refuses.
    flaky_failures: Arc<AtomicU32>,
}

/// Behaviours, by path:
/// - `/ok`, `/lifecycle`: answer validation right, accept notifications (202);
/// - `/wrong-body`: answer validation with 200 and another body;
/// - `/error`: answer everything with 500;
/// - `/slow`: answer validation right, after 3 seconds;
/// - `/flaky`: answer validation right, refuse the first two notifications with 500.
async fn receive(
    State(receiver): State<Receiver>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(token) = query.get("validationToken").cloned() {
        receiver
            .seen
            .lock()
            .unwrap()
            .validations
            .push((path.clone(), query));
        let right = ([(CONTENT_TYPE, "text/plain")], token).into_response();
        return match path.as_str() {
            "wrong-body" => ([(CONTENT_TYPE, "text/plain")], "not the token").into_response(),
            "error" => AxumStatus::INTERNAL_SERVER_ERROR.into_response(),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                right
            }
            _ => right,
        };
    }
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    receiver
        .seen
        .lock()
        .unwrap()
        .notifications
        .push((path.clone(), json));
    let refuse = match path.as_str() {
        "error" => true,
        "flaky" => receiver
            .flaky_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok(),
        _ => false,
    };
    if refuse {
        AxumStatus::INTERNAL_SERVER_ERROR.into_response()
    } else {
        AxumStatus::ACCEPTED.into_response()
    }
}

impl Receiver {
    fn new() -> Receiver {
        Receiver {
            seen: Arc::default(),
            flaky_failures: Arc::new(AtomicU32::new(2)),
        }
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/{path}", post(receive))
            .with_state(self.clone())
    }

    /// Serves over plain HTTP on loopback; the base URL.
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = self.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{address}")
    }

    fn validations(&self) -> Vec<(String, HashMap<String, String>)> {
        self.seen.lock().unwrap().validations.clone()
    }

    fn notifications(&self, path: &str) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .notifications
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Calling the emulator.
// ---------------------------------------------------------------------------------------

async fn start(builder: EmulatorBuilder) -> RunningEmulator {
    builder.build().start().await.unwrap()
}

/// Retries fast, so that tests see several attempts in well under a second.
fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempt_timeout: Duration::from_secs(2),
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        window: Duration::from_secs(10),
        max_attempts: 5,
    }
}

struct Answer {
    status: StatusCode,
    json: Value,
}

async fn call(e: &RunningEmulator, method: Method, path: &str, body: Option<&Value>) -> Answer {
    let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", e.base_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    Answer { status, json }
}

/// A subscription to `RESOURCE` with a client state.
fn subscription(e: &RunningEmulator, notification_url: &str, lifecycle_url: Option<&str>) -> Value {
    let expiration =
        (e.now() + chrono::Duration::hours(24)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut body = json!({
        "changeType": "created,updated",
        "notificationUrl": notification_url,
        "resource": RESOURCE,
        "expirationDateTime": expiration,
        "clientState": CLIENT_STATE,
    });
    if let Some(url) = lifecycle_url {
        body["lifecycleNotificationUrl"] = json!(url);
    }
    body
}

async fn create(e: &RunningEmulator, body: &Value) -> Answer {
    call(e, Method::POST, "/v1.0/subscriptions", Some(body)).await
}

/// Creates a subscription that must be accepted; its id.
async fn created(e: &RunningEmulator, body: &Value) -> String {
    let answer = create(e, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
    answer.json["id"].as_str().unwrap().to_owned()
}

async fn deliveries(e: &RunningEmulator, subscription: &str) -> Vec<Value> {
    let answer = call(
        e,
        Method::GET,
        &format!("/emulator/deliveries?subscriptionId={subscription}"),
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    answer.json["value"].as_array().unwrap().clone()
}

/// Polls `probe` until it gives a value, for at most 10 seconds.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The deliveries of `subscription` of `kind`, once none is pending.
async fn settled(e: &RunningEmulator, subscription: &str, kind: &str) -> Vec<Value> {
    eventually(&format!("{kind} deliveries settle"), || async {
        let records: Vec<Value> = deliveries(e, subscription)
            .await
            .into_iter()
            .filter(|r| r["kind"] == kind)
            .collect();
        (!records.is_empty() && records.iter().all(|r| r["state"] != "pending")).then_some(records)
    })
    .await
}

fn statuses(record: &Value) -> Vec<Value> {
    record["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Endpoint validation.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_succeeds_only_when_the_endpoint_answers_the_validation_request() {
    let receiver = Receiver::new();
    let base = receiver.serve().await;
    let e = start(Emulator::builder().validation_timeout(Duration::from_secs(1))).await;
    // An address nobody listens on: bound, then released.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let cases: [(String, Option<&str>); 5] = [
        (format!("{base}/ok"), None),
        (format!("{base}/wrong-body"), Some(FAILED)),
        (format!("{base}/error"), Some(FAILED)),
        (format!("{base}/slow"), Some(TIMED_OUT)),
        (format!("http://{closed}/nobody"), Some(FAILED)),
    ];
    for (url, refused) in &cases {
        let answer = create(&e, &subscription(&e, url, None)).await;
        match refused {
            None => assert_eq!(answer.status, StatusCode::CREATED, "{url}: {}", answer.json),
            Some(message) => {
                assert_eq!(
                    answer.status,
                    StatusCode::BAD_REQUEST,
                    "{url}: {}",
                    answer.json
                );
                assert_eq!(answer.json["error"]["code"], "InvalidRequest", "{url}");
                assert_eq!(answer.json["error"]["message"], *message, "{url}");
            }
        }
    }
    // Only the accepted one is stored.
    assert_eq!(e.subscription_count().await, 1);

    // The request itself: a fresh token of Graph's form, decoded by the receiver.
    let validations = receiver.validations();
    let paths: Vec<&str> = validations.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["ok", "wrong-body", "error", "slow"]);
    let token = &validations[0].1["validationToken"];
    assert!(
        token.starts_with(
            "Validation: Testing client application reachability for subscription Request-Id: "
        ),
        "{token}"
    );
    assert_ne!(token, &validations[1].1["validationToken"]);

    // The log says why each endpoint failed.
    let log = call(&e, Method::GET, "/emulator/deliveries", None).await;
    let records = log.json["value"].as_array().unwrap();
    assert_eq!(records.len(), 5, "{}", log.json);
    assert!(records.iter().all(|r| r["kind"] == "validation"));
    let states: Vec<&Value> = records.iter().map(|r| &r["state"]).collect();
    assert_eq!(
        states,
        ["delivered", "failed", "failed", "failed", "failed"]
    );
    assert_eq!(records[1]["attempts"][0]["status"], 200);
    assert!(
        records[1]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not the validation token")
    );
    assert_eq!(records[2]["attempts"][0]["status"], 500);
    assert!(
        records[3]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("within 1000 ms")
    );
    assert!(
        records[4]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{}",
        records[4]
    );
}

#[tokio::test]
async fn the_token_is_added_to_the_query_and_the_query_is_never_shown() {
    let receiver = Receiver::new();
    let base = receiver.serve().await;
    let e = start(Emulator::builder()).await;
    let id = created(
        &e,
        &subscription(&e, &format!("{base}/ok?code=CANARY-function-key"), None),
    )
    .await;
    let validations = receiver.validations();
    assert_eq!(validations[0].1["code"], "CANARY-function-key");
    assert!(validations[0].1.contains_key("validationToken"));
    let log = deliveries(&e, &id).await;
    assert_eq!(log[0]["url"], format!("{base}/ok?code=***"));
    assert!(!json!(log).to_string().contains("CANARY"));
}

#[tokio::test]
async fn the_lifecycle_url_is_validated_too() {
    let receiver = Receiver::new();
    let base = receiver.serve().await;
    let e = start(Emulator::builder()).await;
    let refused = create(
        &e,
        &subscription(&e, &format!("{base}/ok"), Some(&format!("{base}/error"))),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);
    assert_eq!(refused.json["error"]["message"], FAILED);
    assert_eq!(e.subscription_count().await, 0);

    created(
        &e,
        &subscription(
            &e,
            &format!("{base}/ok"),
            Some(&format!("{base}/lifecycle")),
        ),
    )
    .await;
    let paths: Vec<String> = receiver.validations().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["ok", "error", "ok", "lifecycle"]);
}

#[tokio::test]
async fn validation_can_be_turned_off() {
    let receiver = Receiver::new();
    let base = receiver.serve().await;
    let e = start(Emulator::builder().endpoint_validation(false)).await;
    let id = created(
        &e,
        &subscription(&e, &format!("{base}/error"), Some(&format!("{base}/error"))),
    )
    .await;
    assert!(receiver.validations().is_empty());
    assert!(deliveries(&e, &id).await.is_empty());
}

#[tokio::test]
async fn an_update_validates_a_new_notification_url() {
    let receiver = Receiver::new();
    let base = receiver.serve().await;
    let e = start(Emulator::builder()).await;
    let id = created(&e, &subscription(&e, &format!("{base}/ok"), None)).await;
    let path = format!("/v1.0/subscriptions/{id}");

    let refused = call(
        &e,
        Method::PATCH,
        &path,
        Some(&json!({"notificationUrl": format!("{base}/wrong-body")})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);
    assert_eq!(refused.json["error"]["message"], FAILED);
    let unchanged = call(&e, Method::GET, &path, None).await;
    assert_eq!(unchanged.json["notificationUrl"], format!("{base}/ok"));

    let moved = call(
        &e,
        Method::PATCH,
        &path,
        Some(&json!({"notificationUrl": format!("{base}/lifecycle")})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.json);
    assert_eq!(moved.json["notificationUrl"], format!("{base}/lifecycle"));

    // A renewal does not call the endpoint again.
    let before = receiver.validations().len();
    let expiration =
        (e.now() + chrono::Duration::hours(48)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let renewed = call(
        &e,
        Method::PATCH,
        &path,
        Some(&json!({"expirationDateTime": expiration})),
    )
    .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.json);
    assert_eq!(receiver.validations().len(), before);
    let paths: Vec<String> = receiver.validations().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["ok", "wrong-body", "lifecycle"]);
}

// ---------------------------------------------------------------------------------------
// Change notifications.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_reported_change_reaches_matching_subscriptions_with_graphs_payload() {
    let receiver = Receiver::new();
    let base = receiver.serve().await;
    let e = start(Emulator::builder()).await;
    let id = created(&e, &subscription(&e, &format!("{base}/ok"), None)).await;
    let mut other = subscription(&e, &format!("{base}/lifecycle"), None);
    other["resource"] = json!("users/bob@contoso.com/messages");
    created(&e, &other).await;

    let reported = call(
        &e,
        Method::POST,
        "/emulator/changes",
        Some(&json!({
            "resource": "/Users/Ada@Contoso.com/Messages",
            "changeType": "created",
            "resourceData": {"id": "AAMkAGI1", "@odata.etag": "W/\"CQAAABYAAAD\""},
        })),
    )
    .await;
    assert_eq!(reported.status, StatusCode::ACCEPTED, "{}", reported.json);
    assert_eq!(reported.json["matched"], 1);
    let delivery = reported.json["deliveries"][0].as_str().unwrap().to_owned();

    let received = eventually("the notification arrives", || async {
        receiver.notifications("ok").into_iter().next()
    })
    .await;
    let expiration = call(&e, Method::GET, &format!("/v1.0/subscriptions/{id}"), None)
        .await
        .json["expirationDateTime"]
        .clone();
    assert_eq!(
        received,
        json!({"value": [{
            "subscriptionId": id,
            "subscriptionExpirationDateTime": expiration,
            "changeType": "created",
            "resource": format!("{RESOURCE}/AAMkAGI1"),
            "resourceData": {
                "@odata.type": "#microsoft.graph.message",
                "@odata.id": format!("{RESOURCE}/AAMkAGI1"),
                "@odata.etag": "W/\"CQAAABYAAAD\"",
                "id": "AAMkAGI1",
            },
            "clientState": CLIENT_STATE,
            "tenantId": e.tenant_id(),
        }]})
    );
    assert!(receiver.notifications("lifecycle").is_empty());

    let log = settled(&e, &id, "change").await;
    assert_eq!(log[0]["id"], delivery.as_str());
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(log[0]["changeType"], "created");
    assert_eq!(statuses(&log[0]), [json!(202)]);
    // The client state goes to the endpoint, never into the log.
    let all = call(&e, Method::GET, "/emulator/deliveries", None).await;
    assert!(!all.json.to_string().contains(CLIENT_STATE));

    // A change type the subscription did not ask for, another tenant: nobody.
    for report in [
        json!({"resource": RESOURCE, "changeType": "deleted"}),
        json!({"resource": RESOURCE, "changeType": "created", "tenantId": "another-tenant"}),
    ] {
        let answer = call(&e, Method::POST, "/emulator/changes", Some(&report)).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.json);
        assert_eq!(answer.json, json!({"matched": 0, "deliveries": []}));
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_and_the_retries_are_logged() {
    let receiver = Receiver::new();
    let base = receiver.serve().await;
    let e = start(Emulator::builder().delivery_retry(quick_retries())).await;
    let flaky = created(&e, &subscription(&e, &format!("{base}/flaky"), None)).await;
    let change = json!({"resource": RESOURCE, "changeType": "updated"});
    let reported = call(&e, Method::POST, "/emulator/changes", Some(&change)).await;
    assert_eq!(reported.json["matched"], 1, "{}", reported.json);

    let log = settled(&e, &flaky, "change").await;
    assert_eq!(log[0]["state"], "delivered", "{}", log[0]);
    assert_eq!(statuses(&log[0]), [json!(500), json!(500), json!(202)]);
    assert!(
        log[0]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("answered 500")
    );
    assert_eq!(receiver.notifications("flaky").len(), 3);

    // An endpoint that never accepts (nor validates): the policy's attempts, then failed.
    let e = start(
        Emulator::builder()
            .endpoint_validation(false)
            .delivery_retry(RetryPolicy {
                max_attempts: 3,
                ..quick_retries()
            }),
    )
    .await;
    let broken = created(&e, &subscription(&e, &format!("{base}/error"), None)).await;
    call(&e, Method::POST, "/emulator/changes", Some(&change)).await;
    let log = settled(&e, &broken, "change").await;
    assert_eq!(log[0]["state"], "failed", "{}", log[0]);
    assert_eq!(statuses(&log[0]), [json!(500), json!(500), json!(500)]);
}

// ---------------------------------------------------------------------------------------
// Lifecycle notifications.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn lifecycle_events_reach_the_lifecycle_url() {
    let receiver = Receiver::new();
    let base = receiver.serve().await;
    let e = start(Emulator::builder()).await;
    let id = created(
        &e,
        &subscription(
            &e,
            &format!("{base}/ok"),
            Some(&format!("{base}/lifecycle")),
        ),
    )
    .await;
    let path = format!("/v1.0/subscriptions/{id}");
    let expiration = call(&e, Method::GET, &path, None).await.json["expirationDateTime"].clone();

    let reported = call(
        &e,
        Method::POST,
        "/emulator/lifecycle",
        Some(&json!({"subscriptionId": id, "lifecycleEvent": "reauthorizationRequired"})),
    )
    .await;
    assert_eq!(reported.status, StatusCode::ACCEPTED, "{}", reported.json);
    assert_eq!(reported.json["removed"], false);
    let received = eventually("the lifecycle notification arrives", || async {
        receiver.notifications("lifecycle").into_iter().next()
    })
    .await;
    assert_eq!(
        received,
        json!({"value": [{
            "subscriptionId": id,
            "subscriptionExpirationDateTime": expiration,
            "tenantId": e.tenant_id(),
            "clientState": CLIENT_STATE,
            "lifecycleEvent": "reauthorizationRequired",
        }]})
    );
    assert!(receiver.notifications("ok").is_empty());
    assert_eq!(
        call(&e, Method::GET, &path, None).await.status,
        StatusCode::OK
    );

    // subscriptionRemoved: delivered, and the subscription is gone.
    let removed = call(
        &e,
        Method::POST,
        "/emulator/lifecycle",
        Some(&json!({"subscriptionId": id, "lifecycleEvent": "subscriptionRemoved"})),
    )
    .await;
    assert_eq!(removed.status, StatusCode::ACCEPTED, "{}", removed.json);
    assert_eq!(removed.json["removed"], true);
    let gone = call(&e, Method::GET, &path, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.json);
    let log = settled(&e, &id, "lifecycle").await;
    let events: Vec<&Value> = log.iter().map(|r| &r["lifecycleEvent"]).collect();
    assert_eq!(events, ["reauthorizationRequired", "subscriptionRemoved"]);
    assert!(log.iter().all(|r| r["state"] == "delivered"));
    assert_eq!(
        receiver.notifications("lifecycle")[1]["value"][0]["lifecycleEvent"],
        "subscriptionRemoved"
    );

    // Unknown now.
    let unknown = call(
        &e,
        Method::POST,
        "/emulator/lifecycle",
        Some(&json!({"subscriptionId": id, "lifecycleEvent": "missed"})),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.json);
    assert_eq!(unknown.json["error"]["code"], "ResourceNotFound");
}

// ---------------------------------------------------------------------------------------
// Bad input to the emulator's endpoints.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_reports_are_refused_with_what_to_send() {
    let e = start(Emulator::builder().endpoint_validation(false)).await;
    let without_lifecycle = created(&e, &subscription(&e, "http://127.0.0.1:9/n", None)).await;
    let check = async |path: &str, body: &str, expected: &str| {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", e.base_url()))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let json: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {json}");
        assert_eq!(json["error"]["code"], "BadRequest", "{path} {body}");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{path} {body}: {message}");
    };
    let changes = "/emulator/changes";
    check(changes, "", "the body is empty; send {\"resource\"").await;
    check(changes, "{", "send {\"resource\"").await;
    check(
        changes,
        r#"{"changeType": "created"}"#,
        "missing field `resource`",
    )
    .await;
    check(
        changes,
        r#"{"resource": "me/messages", "changeType": "created", "extra": 1}"#,
        "unknown field `extra`",
    )
    .await;
    check(
        changes,
        r#"{"resource": "/", "changeType": "created"}"#,
        "`resource` is empty",
    )
    .await;
    for change_type in ["modified", "created,updated", ""] {
        check(
            changes,
            &json!({"resource": "me/messages", "changeType": change_type}).to_string(),
            "report one change at a time: `created`, `updated` or `deleted`",
        )
        .await;
    }
    check(
        changes,
        r#"{"resource": "me/messages", "changeType": "created", "resourceData": [1]}"#,
        "invalid type",
    )
    .await;
    let lifecycle = "/emulator/lifecycle";
    check(lifecycle, "{}", "missing field `subscriptionId`").await;
    check(
        lifecycle,
        &json!({"subscriptionId": without_lifecycle, "lifecycleEvent": "renewed"}).to_string(),
        "send one of reauthorizationRequired, subscriptionRemoved, missed",
    )
    .await;
    check(
        lifecycle,
        &json!({"subscriptionId": without_lifecycle, "lifecycleEvent": "missed"}).to_string(),
        "has no `lifecycleNotificationUrl`",
    )
    .await;
    let unknown = call(&e, Method::GET, "/emulator/deliveries?subscription=x", None).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the only one is `subscriptionId`")
    );
}

// ---------------------------------------------------------------------------------------
// HTTPS.
// ---------------------------------------------------------------------------------------

/// A TLS listener for `axum::serve`: accepts TCP, then the handshake; a failed
/// handshake (a client that does not trust the certificate) is dropped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A CA, and a receiver serving HTTPS for `127.0.0.1` with a certificate it signed;
/// the CA's PEM and the receiver's base URL.
async fn https_receiver(receiver: &Receiver) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "graph-subs test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = tcp.local_addr().unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    };
    let router = receiver.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (ca.pem(), format!("https://{address}"))
}

#[tokio::test]
async fn https_endpoints_are_called_with_certificate_verification() {
    let receiver = Receiver::new();
    let (ca, base) = https_receiver(&receiver).await;

    // Trusted through the extra root: validated, notified.
    let e = start(Emulator::builder().extra_root_certificate(&ca)).await;
    let id = created(&e, &subscription(&e, &format!("{base}/ok"), None)).await;
    call(
        &e,
        Method::POST,
        "/emulator/changes",
        Some(&json!({"resource": RESOURCE, "changeType": "created"})),
    )
    .await;
    let log = settled(&e, &id, "change").await;
    assert_eq!(log[0]["state"], "delivered", "{}", log[0]);
    assert_eq!(receiver.notifications("ok").len(), 1);

    // Not trusted: the endpoint cannot be validated.
    let untrusting = start(Emulator::builder()).await;
    let refused = create(
        &untrusting,
        &subscription(&untrusting, &format!("{base}/ok"), None),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);
    assert_eq!(refused.json["error"]["message"], FAILED);
    let log = call(&untrusting, Method::GET, "/emulator/deliveries", None).await;
    let error = log.json["value"][0]["attempts"][0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    // A PEM without a certificate is refused at start.
    let bad = Emulator::builder()
        .extra_root_certificate("not a certificate")
        .build()
        .start()
        .await;
    assert!(
        matches!(bad, Err(graph_subs_emulator::StartError::Certificate(_))),
        "{bad:?}"
    );
}
