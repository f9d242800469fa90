//! The emulator as an operator runs it: throttling, `$batch`, injected faults, and
//! `--state` across restarts, over real HTTP.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use graph_subs_emulator::{
    Emulator, EmulatorBuilder, Faults, RunningEmulator, Throttle, TokenSpec,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";

fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .to_utc()
}

/// Nobody serves the notification URLs here: endpoint validation is off (it has its own
/// tests, in delivery.rs).
fn builder() -> EmulatorBuilder {
    Emulator::builder()
        .start_at(start_time())
        .endpoint_validation(false)
}

fn token(e: &RunningEmulator) -> String {
    e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]))
}

fn create_body(user: &str, e: &RunningEmulator) -> Value {
    json!({
        "changeType": "created",
        "notificationUrl": "https://webhook.example.com/notify",
        "resource": format!("users/{user}/messages"),
        "expirationDateTime": (e.now() + Duration::hours(24)).to_rfc3339_opts(SecondsFormat::Secs, true),
        "clientState": "secretClientValue",
    })
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

async fn call(
    e: &RunningEmulator,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Answer {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", e.base_url()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
    }
}

async fn advance(e: &RunningEmulator, seconds: i64) {
    let answer = reqwest::Client::new()
        .post(format!("{}/emulator/clock", e.base_url()))
        .json(&json!({ "advanceSeconds": seconds }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_per_app_and_tenant() {
    let e = builder()
        .throttle("list=3/20s,other=2/20s".parse().unwrap())
        .build()
        .start()
        .await
        .unwrap();
    let token = token(&e);
    for _ in 0..3 {
        let answer = call(&e, Method::GET, "/v1.0/subscriptions", &token, None).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    let refused = call(&e, Method::GET, "/v1.0/subscriptions", &token, None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json["error"]["code"], "TooManyRequests");
    let retry: i64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert!(
        refused.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 List requests per 20 seconds")
    );
    // Another app has its own budget; other operations have theirs.
    let other_app = e.token(&TokenSpec::application(
        e.tenant_id(),
        "9f2c1a8e-0000-4000-8000-000000000002",
        &["Mail.Read"],
    ));
    let answer = call(&e, Method::GET, "/v1.0/subscriptions", &other_app, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let created = call(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        &token,
        Some(&create_body("ada", &e)),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    // Once the window has passed, the caller is served again.
    advance(&e, retry).await;
    let answer = call(&e, Method::GET, "/v1.0/subscriptions", &token, None).await;
    assert_eq!(answer.status, StatusCode::OK);

    // Every request inside a batch counts: two creates admitted in the new window, the
    // third refused.
    let batch = json!({"requests": [
        {"id": "a", "method": "POST", "url": "/subscriptions", "body": create_body("bob", &e)},
        {"id": "b", "method": "POST", "url": "/subscriptions", "body": create_body("cy", &e)},
        {"id": "c", "method": "POST", "url": "/subscriptions", "body": create_body("dee", &e)},
    ]});
    let answer = call(&e, Method::POST, "/v1.0/$batch", &token, Some(&batch)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    let statuses: Vec<u64> = answer.json["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 429]);
    assert!(answer.json["responses"][2]["headers"]["retry-after"].is_string());

    // The counters say it all: 7 requests alone (5 Lists, another app's, a create), the
    // batch and its 3, and 2 throttled (the fourth List, the batch's third create).
    let expected = graph_subs_emulator::Stats {
        requests: 7 + 1 + 3,
        throttled: 2,
        faults_injected: 0,
    };
    assert_eq!(e.stats(), expected);
    let stats: Value = reqwest::get(format!("{}/emulator/stats", e.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats,
        json!({"requests": 11, "throttled": 2, "faultsInjected": 0})
    );

    let off = builder()
        .throttle(Throttle::OFF)
        .build()
        .start()
        .await
        .unwrap();
    let token = self::token(&off);
    for _ in 0..60 {
        let answer = call(&off, Method::GET, "/v1.0/subscriptions", &token, None).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_batch_answers_each_request_and_honours_depends_on() {
    let e = builder().build().start().await.unwrap();
    let token = token(&e);
    let batch = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/subscriptions", "body": create_body("ada", &e)},
        {"id": "2", "method": "GET", "url": "/subscriptions", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "subscriptions/no-such-id"},
        {"id": "4", "method": "DELETE", "url": "/subscriptions/no-such-id", "dependsOn": ["3"]},
        {"id": "5", "method": "GET", "url": "https://graph.microsoft.com/v1.0/subscriptions"},
    ]});
    let answer = call(&e, Method::POST, "/v1.0/$batch", &token, Some(&batch)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    let responses = answer.json["responses"].as_array().unwrap();
    let ids: Vec<&str> = responses
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    // Served by the router or not, an answer's ids and date are the batch's.
    for response in responses {
        for name in ["request-id", "client-request-id", "date"] {
            assert!(response["headers"].get(name).is_none(), "{response}");
        }
    }
    assert!(answer.headers.contains_key("request-id"));
    assert_eq!(responses[0]["status"], 201);
    let created = responses[0]["body"]["id"].as_str().unwrap();
    assert_eq!(responses[1]["status"], 200);
    assert_eq!(responses[1]["body"]["value"][0]["id"], created);
    assert_eq!(responses[2]["status"], 404);
    assert_eq!(responses[2]["body"]["error"]["code"], "ResourceNotFound");
    assert_eq!(responses[3]["status"], 424);
    assert_eq!(responses[3]["body"]["error"]["code"], "FailedDependency");
    assert_eq!(responses[4]["status"], 400);

    // Dependencies run first, whatever their place.
    let batch = json!({"requests": [
        {"id": "late", "method": "GET", "url": "/subscriptions", "dependsOn": ["early"]},
        {"id": "early", "method": "DELETE", "url": format!("/subscriptions/{created}")},
    ]});
    let answer = call(&e, Method::POST, "/v1.0/$batch", &token, Some(&batch)).await;
    assert_eq!(answer.json["responses"][0]["status"], 200);
    assert_eq!(answer.json["responses"][0]["body"]["value"], json!([]));
    assert_eq!(answer.json["responses"][1]["status"], 204);

    let bad = |requests: Value| json!({ "requests": requests });
    let twenty_one: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/subscriptions"}))
        .collect();
    for (batch, says) in [
        (
            bad(json!(twenty_one)),
            "maximum number of requests in a batch is 20",
        ),
        (bad(json!([])), "no requests"),
        (
            bad(
                json!([{"id": "1", "method": "GET", "url": "/subscriptions"},
                       {"id": "1", "method": "GET", "url": "/subscriptions"}]),
            ),
            "ids must be unique",
        ),
        (
            bad(json!([{"id": "1", "method": "GET", "url": "/subscriptions", "dependsOn": ["9"]}])),
            "not in the batch",
        ),
        (
            bad(
                json!([{"id": "1", "method": "GET", "url": "/subscriptions", "dependsOn": ["2"]},
                       {"id": "2", "method": "GET", "url": "/subscriptions", "dependsOn": ["1"]}]),
            ),
            "cycle",
        ),
        (json!({"request": []}), "Invalid batch payload"),
    ] {
        let answer = call(&e, Method::POST, "/v1.0/$batch", &token, Some(&batch)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{batch}");
        let message = answer.json["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
}

/// What a single request and the same request in a batch must share: the status, the body
/// (but for the request's own ids and time), and these headers.
const ANSWER_HEADERS: [&str; 3] = ["content-type", "retry-after", "www-authenticate"];

/// Headers of a request alone that are the batch's own in a batch, as in Graph.
const BATCH_HEADERS: [&str; 3] = ["request-id", "client-request-id", "date"];

/// A request sent alone, then alone in a batch.
struct Case {
    token: String,
    method: Method,
    /// Under the version.
    path: String,
    body: Option<Value>,
    content_type: Option<&'static str>,
    /// The path in the batch, when it differs (a deletion deletes another subscription).
    batched_path: Option<String>,
}

/// A body with its request's ids and time taken out, and an expiration to the minute (one
/// raised to the minimum lifetime follows the clock).
fn without_ids(mut body: Value) -> Value {
    if let Some(Value::String(at)) = body.get_mut("expirationDateTime") {
        at.truncate("2026-11-22T09:45".len());
    }
    if let Some(inner) = body
        .pointer_mut("/error/innerError")
        .and_then(Value::as_object_mut)
    {
        inner.remove("request-id");
        inner.remove("client-request-id");
        inner.remove("date");
    }
    body
}

#[tokio::test]
async fn a_request_in_a_batch_is_answered_as_it_is_alone() {
    let e = builder().build().start().await.unwrap();
    let token = token(&e);
    // The app holds no permission for mail: refused with 403.
    let unauthorised = e.token(&TokenSpec::application(e.tenant_id(), APP, &[]));
    let mut created = Vec::new();
    for user in ["ada", "bob", "cyd"] {
        created.push(created_id(&e, &token, user).await);
    }
    let (a, b, c) = (&created[0], &created[1], &created[2]);
    let at =
        |minutes| (e.now() + Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let renewal = json!({ "expirationDateTime": at(30 * 60) });
    let sub = |id: &str| format!("/subscriptions/{id}");
    let patch = |token: &str, path: String, body: Value| Case {
        token: token.to_owned(),
        method: Method::PATCH,
        path,
        body: Some(body),
        content_type: Some("application/json"),
        batched_path: None,
    };
    let bodiless = |token: &str, method: Method, path: String| Case {
        token: token.to_owned(),
        method,
        path,
        body: None,
        content_type: None,
        batched_path: None,
    };
    let cases = [
        bodiless(&token, Method::GET, sub(a)),
        patch(&token, sub(a), renewal.clone()),
        // Raised to the minimum lifetime: the answer says when it expires.
        patch(&token, sub(a), json!({ "expirationDateTime": at(1) })),
        patch(&token, sub(a), json!({ "expirationDateTime": "soon" })),
        patch(
            &token,
            sub(a),
            json!({ "expirationDateTime": at(30 * 24 * 60) }),
        ),
        patch(&token, sub(a), json!({ "clientState": "x" })),
        Case {
            content_type: Some("text/plain"),
            ..patch(&token, sub(a), renewal.clone())
        },
        patch(
            &token,
            sub(a),
            json!({ "notificationUrl": "https://elsewhere.example.com/hook" }),
        ),
        bodiless(&token, Method::GET, sub("no-such-id")),
        patch(&token, sub("no-such-id"), renewal.clone()),
        patch(&unauthorised, sub(a), renewal.clone()),
        bodiless(&unauthorised, Method::DELETE, sub(a)),
        bodiless("not-a-token", Method::GET, sub(a)),
        // A deletion alone and one in the batch, of two subscriptions.
        Case {
            batched_path: Some(sub(c)),
            ..bodiless(&token, Method::DELETE, sub(b))
        },
        bodiless(&token, Method::DELETE, sub(b)),
    ];
    let client = reqwest::Client::new();
    for Case {
        token,
        method,
        path,
        body,
        content_type,
        batched_path,
    } in cases
    {
        let case = format!("{method} {path} {body:?} {content_type:?}");
        let mut alone = client
            .request(method.clone(), format!("{}/v1.0{path}", e.base_url()))
            .bearer_auth(&token)
            .header("client-request-id", "alone");
        if let Some(body) = &body {
            alone = alone.body(body.to_string());
        }
        if let Some(content_type) = content_type {
            alone = alone.header("content-type", content_type);
        }
        let alone = alone.send().await.unwrap();
        let status = alone.status().as_u16();
        let headers = alone.headers().clone();
        let alone_body = without_ids(alone.json().await.unwrap_or(Value::Null));

        let mut request = json!({
            "id": "1",
            "method": method.as_str(),
            "url": batched_path.unwrap_or(path),
            "headers": {"client-request-id": "batched"},
        });
        if let Some(body) = body {
            request["body"] = body;
        }
        if let Some(content_type) = content_type {
            request["headers"]["Content-Type"] = json!(content_type);
        }
        let batch = client
            .post(format!("{}/v1.0/$batch", e.base_url()))
            .bearer_auth(&token)
            .json(&json!({ "requests": [request] }))
            .send()
            .await
            .unwrap();
        assert_eq!(batch.status(), StatusCode::OK, "{case}");
        let batch: Value = batch.json().await.unwrap();
        let answer = &batch["responses"][0];
        assert_eq!(answer["status"], status, "{case}: {answer}");
        assert_eq!(without_ids(answer["body"].clone()), alone_body, "{case}");
        let batched = |name: &str| {
            answer["headers"]
                .as_object()
                .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .and_then(|(_, v)| v.as_str())
        };
        for name in ANSWER_HEADERS {
            assert_eq!(
                batched(name),
                headers.get(name).map(|v| v.to_str().unwrap()),
                "{case}: {name} in {answer}"
            );
        }
        for name in BATCH_HEADERS {
            assert!(headers.contains_key(name), "{case}: {name} alone");
            assert_eq!(batched(name), None, "{case}: {name} in {answer}");
        }
        assert_eq!(headers["client-request-id"], "alone");
        if let Some(inner) = answer["body"]["error"]["innerError"].as_object() {
            assert_eq!(inner["client-request-id"], "batched", "{case}");
            assert_eq!(
                inner["request-id"].as_str().map(str::len),
                Some(36),
                "{case}: the request's own id"
            );
        }
    }
    e.shutdown().await.unwrap();
}

/// The id of a new subscription to `users/{user}/messages`.
async fn created_id(e: &RunningEmulator, token: &str, user: &str) -> String {
    let created = call(
        e,
        Method::POST,
        "/v1.0/subscriptions",
        token,
        Some(&create_body(user, e)),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    created.json["id"].as_str().unwrap().to_owned()
}

/// A batch written as text (JSON that `json!` cannot write: repeated keys, escapes),
/// answered 200: its answer.
async fn batch_text(e: &RunningEmulator, token: &str, batch: String) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}/v1.0/$batch", e.base_url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(batch)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.json().await.unwrap()
}

#[tokio::test]
async fn a_request_in_a_batch_is_answered_alike_with_or_without_the_router() {
    // A query string sends a request through the router; without one, a renewal is
    // served by its operation directly. Headers decide the same way on both.
    let e = builder().build().start().await.unwrap();
    let token = token(&e);
    let id = created_id(&e, &token, "ada").await;
    let to = (e.now() + Duration::hours(30)).to_rfc3339_opts(SecondsFormat::Secs, true);
    // (headers as JSON text, the status expected)
    let cases = [
        (r#"{"Content-Type": "application/json"}"#, 200),
        (
            r#"{"bad name": "x", "Content-Type": "application/json"}"#,
            400,
        ),
        (
            r#"{"client-request-id": "a\nb", "Content-Type": "application/json"}"#,
            400,
        ),
        (
            r#"{"client-request-id": "\u00e9", "Content-Type": "application/json"}"#,
            200,
        ),
        (
            r#"{"content-type": "text/plain", "Content-Type": "application/json"}"#,
            200,
        ),
        (
            r#"{"Content-Type": "application/json", "content-type": "text/plain"}"#,
            415,
        ),
        (
            r#"{"client-request-id": "\u00e9", "Content-Type": "text/plain"}"#,
            415,
        ),
    ];
    for (headers, status) in cases {
        let mut answers = Vec::new();
        for url in [
            format!("/subscriptions/{id}"),
            format!("/subscriptions/{id}?via=router"),
        ] {
            let batch = format!(
                r#"{{"requests": [{{"id": "1", "method": "PATCH", "url": "{url}", "headers": {headers},
                    "body": {{"expirationDateTime": "{to}"}}}}]}}"#
            );
            let answer = batch_text(&e, &token, batch).await;
            let response = answer["responses"][0].clone();
            assert_eq!(response["status"], status, "{url} {headers}: {response}");
            // A client-request-id no header could echo is replaced by the request id.
            if let Some(inner) = response["body"]["error"]["innerError"].as_object() {
                assert_eq!(inner["client-request-id"], inner["request-id"], "{headers}");
            }
            answers.push((
                response["status"].clone(),
                response["headers"].clone(),
                without_ids(response["body"].clone()),
            ));
        }
        assert_eq!(answers[0], answers[1], "{headers}");
    }
    e.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_batch_reads_escaped_strings_and_keeps_the_last_of_a_repeated_header() {
    let e = builder().build().start().await.unwrap();
    let token = token(&e);
    let id = created_id(&e, &token, "ada").await;
    let to = (e.now() + Duration::hours(30)).to_rfc3339_opts(SecondsFormat::Secs, true);
    // Escapes in the id, the method and the url; `Content-Type` given twice, the last
    // one JSON.
    let batch = format!(
        r#"{{"requests": [{{"id": "r\u0031", "method": "P\u0041TCH", "url": "\/subscriptions\/{id}",
            "headers": {{"Content-Type": "text/plain", "Content-Type": "application/json"}},
            "body": {{"expirationDateTime": "{to}"}}}}]}}"#
    );
    let answer = batch_text(&e, &token, batch).await;
    let response = &answer["responses"][0];
    assert_eq!(response["id"], "r1", "{answer}");
    assert_eq!(response["status"], 200, "{answer}");
    assert_eq!(response["body"]["expirationDateTime"], to.as_str());
    e.shutdown().await.unwrap();
}

#[tokio::test]
async fn faults_are_injected_reproducibly_and_a_dropped_answer_was_carried_out() {
    let faults: Faults = "503:0.3,drop:0.2".parse().unwrap();
    let run = |seed| {
        let faults = faults.clone();
        async move {
            let e = builder()
                .faults(faults, seed)
                .build()
                .start()
                .await
                .unwrap();
            let token = token(&e);
            let client = reqwest::Client::new();
            let mut outcomes = Vec::new();
            for _ in 0..40 {
                let answer = client
                    .get(format!("{}/v1.0/subscriptions", e.base_url()))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let outcome = match answer {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        match response.bytes().await {
                            Ok(_) => status.to_string(),
                            Err(_) => "drop".to_owned(),
                        }
                    }
                    Err(_) => "drop".to_owned(),
                };
                outcomes.push(outcome);
            }
            (outcomes, e.stats())
        }
    };
    let (first, stats) = run(42).await;
    assert_eq!(
        first,
        run(42).await.0,
        "the same seed draws the same faults"
    );
    let injected = first.iter().filter(|o| *o != "200").count() as u64;
    assert_eq!((stats.requests, stats.faults_injected), (40, injected));
    for expected in ["200", "503", "drop"] {
        assert!(first.iter().any(|o| o == expected), "{expected}: {first:?}");
    }

    // A dropped create happened: retrying it meets Graph's 409.
    let e = builder()
        .faults("drop:1".parse().unwrap(), 1)
        .build()
        .start()
        .await
        .unwrap();
    let token = token(&e);
    let sent = reqwest::Client::new()
        .post(format!("{}/v1.0/subscriptions", e.base_url()))
        .bearer_auth(&token)
        .json(&create_body("ada", &e))
        .send()
        .await;
    let lost = match sent {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(lost, "the answer should have been dropped");
    assert_eq!(e.subscription_count().await, 1);

    // 503 answers carry Graph's shape and Retry-After.
    let e = builder()
        .faults("503:1".parse().unwrap(), 1)
        .build()
        .start()
        .await
        .unwrap();
    let answer = call(
        &e,
        Method::GET,
        "/v1.0/subscriptions",
        &self::token(&e),
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json["error"]["code"], "ServiceUnavailable");
    assert_eq!(answer.headers["retry-after"], "1");
    // The token endpoint and /emulator/ are never faulted.
    let clock = reqwest::get(format!("{}/emulator/clock", e.base_url()))
        .await
        .unwrap();
    assert_eq!(clock.status(), StatusCode::OK);
}

#[tokio::test]
async fn state_survives_a_restart_with_its_subscriptions_clock_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let e = builder().state(&path).build().start().await.unwrap();
    let token = token(&e);
    let mut ids = Vec::new();
    for user in ["ada", "bob", "cy"] {
        ids.push(created_id(&e, &token, user).await);
    }
    let renewed_to = (e.now() + Duration::hours(48)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let renewed = call(
        &e,
        Method::PATCH,
        &format!("/v1.0/subscriptions/{}", ids[0]),
        &token,
        Some(&json!({ "expirationDateTime": renewed_to })),
    )
    .await;
    assert_eq!(renewed.status, StatusCode::OK);
    let deleted = call(
        &e,
        Method::DELETE,
        &format!("/v1.0/subscriptions/{}", ids[2]),
        &token,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    advance(&e, 1800).await;
    let clock_before = e.now();
    let address = e.address();
    // Dropped without a shutdown, as a crash would: the journal alone must hold it all.
    drop(e);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // On the same address (the tokens' issuer names it).
    let e = builder()
        .state(&path)
        .listen(address)
        .build()
        .start()
        .await
        .unwrap();
    assert_eq!(e.subscription_count().await, 2);
    assert!((e.now() - clock_before).num_seconds().abs() < 5);
    // A token issued before the restart is still accepted: the signing key was kept.
    let got = call(
        &e,
        Method::GET,
        &format!("/v1.0/subscriptions/{}", ids[0]),
        &token,
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.json);
    assert_eq!(got.json["expirationDateTime"], renewed_to);
    assert_eq!(got.json["clientState"], "secretClientValue");
    let gone = call(
        &e,
        Method::GET,
        &format!("/v1.0/subscriptions/{}", ids[2]),
        &token,
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    e.shutdown().await.unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the state holds secrets: {mode:o}");
    }

    // A damaged state file stops the start with a message naming it.
    std::fs::write(&path, b"{\"subscriptions\": [").unwrap();
    let error = builder().state(&path).build().start().await.unwrap_err();
    assert!(error.to_string().contains("state.json"), "{error}");
}

#[tokio::test]
async fn documented_quotas_are_enforced_with_graphs_403() {
    let e = builder()
        .throttle(Throttle::OFF)
        .build()
        .start()
        .await
        .unwrap();
    let app = e.token(&TokenSpec::application(
        e.tenant_id(),
        APP,
        &[
            "User.Read.All",
            "Group.Read.All",
            "Mail.Read",
            "Calendars.Read",
        ],
    ));
    let body = |resource: String, change: &str| {
        json!({
            "changeType": change,
            "notificationUrl": "https://webhook.example.com/notify",
            "resource": resource,
            "expirationDateTime": (start_time() + Duration::hours(24)).to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    };
    let create = |token: String, body: Value| {
        let e = &e;
        async move { call(e, Method::POST, "/v1.0/subscriptions", &token, Some(&body)).await }
    };
    // Users and groups: 100 per app and tenant.
    let mut last = String::new();
    for i in 0..100 {
        let answer = create(app.clone(), body(format!("users/user{i}"), "updated")).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{i}: {}", answer.json);
        last = answer.json["id"].as_str().unwrap().to_owned();
    }
    let refused = create(app.clone(), body("groups/g1".into(), "updated")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.json);
    assert_eq!(refused.json["error"]["code"], "ExtensionError");
    let message = refused.json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Maximum number of subscriptions has been reached")
            && message.contains("100 per app and tenant"),
        "{message}"
    );
    // Another tenant has its own count; a deletion frees a place.
    let other_tenant = e.token(&TokenSpec::application(
        "0b6a4d36-0000-4000-8000-000000000009",
        APP,
        &["Group.Read.All"],
    ));
    let answer = create(other_tenant, body("groups/g1".into(), "updated")).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
    let deleted = call(
        &e,
        Method::DELETE,
        &format!("/v1.0/subscriptions/{last}"),
        &app,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let answer = create(app.clone(), body("groups/g1".into(), "updated")).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);

    // Outlook: 1,000 per mailbox, every Outlook resource of it together.
    for i in 0..1000 {
        let resource = if i % 2 == 0 {
            format!("users/ada@contoso.com/mailFolders('f{i}')/messages")
        } else {
            format!("users/Ada@Contoso.com/calendars('c{i}')/events")
        };
        let answer = create(app.clone(), body(resource, "created")).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{i}: {}", answer.json);
    }
    let refused = create(
        app.clone(),
        body("users/ada@contoso.com/messages".into(), "created"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.json);
    let answer = create(
        app.clone(),
        body("users/bob@contoso.com/messages".into(), "created"),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "another mailbox: {}",
        answer.json
    );
}
