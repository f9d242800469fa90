//! Hostile input over real HTTP: bodies, paths, methods, query options, tokens, `$batch`,
//! the emulator's own endpoints and the token endpoint, and races. Whatever comes in, the
//! emulator answers in Graph's error shape (the identity platform's on the token
//! endpoint) with the right status and a message that names the problem; it never panics
//! (a panicking handler drops the connection: a transport error here), never hangs, never
//! loses or corrupts state, and never shows a secret where it does not belong, in an
//! answer or in its log.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use graph_subs_emulator::{App, Claims, Emulator, RunningEmulator, Throttle, TokenSpec};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";
const APP_SECRET: &str = "CANARY-app-secret-7f3e";

fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .to_utc()
}

/// An emulator that does not call notification URLs (nobody serves them here) and does
/// not throttle (some tests send hundreds of requests).
async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .start_at(start_time())
        .endpoint_validation(false)
        .throttle(Throttle::OFF)
        .app(App::new(APP, APP_SECRET, &["Mail.Read"]))
        .build()
        .start()
        .await
        .unwrap()
}

fn token(e: &RunningEmulator) -> String {
    e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn subscription(e: &RunningEmulator, user: &str) -> Value {
    json!({
        "changeType": "created",
        "notificationUrl": "https://webhook.example.com/notify",
        "resource": format!("users/{user}/messages"),
        "expirationDateTime": rfc3339(e.now() + Duration::hours(24)),
        "clientState": "secretClientValue",
    })
}

/// An answer: its status, headers, text, and the text as JSON (`Null` when it is not).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
    json: Value,
}

impl Answer {
    /// Asserts Graph's error shape, the status and the code, and that the message names
    /// what is wrong (each of `says`, compared without regard to case).
    #[track_caller]
    fn graph_error(&self, status: u16, code: &str, says: &[&str]) {
        let what = format!("{} {}", self.status, self.text);
        assert_eq!(self.status.as_u16(), status, "{what}");
        let error = &self.json["error"];
        assert_eq!(error["code"], code, "{what}");
        let message = error["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}"));
        for said in says {
            assert!(
                message.to_lowercase().contains(&said.to_lowercase()),
                "the message should say {said:?}: {what}"
            );
        }
        let inner = &error["innerError"];
        for field in ["date", "request-id", "client-request-id"] {
            assert!(inner[field].is_string(), "innerError.{field}: {what}");
        }
        assert!(
            !inner["request-id"].as_str().unwrap_or_default().is_empty(),
            "{what}"
        );
        assert_eq!(
            self.headers.get("request-id").and_then(|v| v.to_str().ok()),
            inner["request-id"].as_str(),
            "{what}"
        );
    }
}

/// One request over HTTP; a transport error (the connection dropped: a handler panicked)
/// fails the test with what was sent.
async fn send(request: reqwest::RequestBuilder, what: &str) -> Answer {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: no answer (did a handler panic?): {e:?}"));
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{what}: the answer was cut (did a handler panic?): {e:?}"));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        json,
    }
}

/// A request with a raw body and, when given, a content type and a token.
async fn raw(
    e: &RunningEmulator,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let what = format!(
        "{method} {path} ({} bytes: {})",
        body.len(),
        String::from_utf8_lossy(&body[..body.len().min(80)])
    );
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", e.base_url()))
        .timeout(StdDuration::from_secs(10))
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    send(request, &what).await
}

/// A JSON request.
async fn call(
    e: &RunningEmulator,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", e.base_url())
    };
    let mut request = reqwest::Client::new()
        .request(method.clone(), url)
        .timeout(StdDuration::from_secs(10));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    send(request, &format!("{method} {path}")).await
}

/// A request written byte for byte on a TCP connection, for what an HTTP client would
/// normalise first (`..` segments, bytes that are not UTF-8). The answer is read to the
/// end: the request says `Connection: close`.
async fn wire(e: &RunningEmulator, request_line: &[u8], headers: &str) -> Answer {
    let what = String::from_utf8_lossy(request_line).into_owned();
    let mut stream = tokio::net::TcpStream::connect(e.address()).await.unwrap();
    let mut request = request_line.to_vec();
    request.extend_from_slice(
        format!(
            "\r\nhost: {}\r\nconnection: close\r\n{headers}\r\n",
            e.address()
        )
        .as_bytes(),
    );
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(StdDuration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 10 s"))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{what}: no answer (did a handler panic?): {text:?}"));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what}: {head}"));
    let mut headers = reqwest::header::HeaderMap::new();
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        let mut decoded = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            decoded.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        decoded
    } else {
        body.to_owned()
    };
    Answer {
        status: StatusCode::from_u16(status).unwrap(),
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        headers,
        text: body,
    }
}

// ---------------------------------------------------------------------------------------
// Bodies.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bodies_that_are_not_a_json_object_get_400_naming_the_problem() {
    let e = emulator().await;
    let token = token(&e);
    let mut deep = "{\"a\":".repeat(10_000);
    deep.push('1');
    deep.push_str(&"}".repeat(10_000));
    let utf16: Vec<u8> = "\u{feff}{\"changeType\": \"created\"}"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let utf16_without_bom: Vec<u8> = "{\"changeType\": \"created\"}"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let cases: Vec<(Vec<u8>, &[&str])> = vec![
        (b"".to_vec(), &["empty"]),
        (b"   \r\n ".to_vec(), &["empty"]),
        (b"not json".to_vec(), &["JSON"]),
        (b"[]".to_vec(), &["an array, not a JSON object"]),
        (
            b"[1, {\"a\": 2}]".to_vec(),
            &["an array, not a JSON object"],
        ),
        (b"42".to_vec(), &["a number, not a JSON object"]),
        (b"\"created\"".to_vec(), &["a string, not a JSON object"]),
        (b"null".to_vec(), &["null, not a JSON object"]),
        (b"true".to_vec(), &["a boolean, not a JSON object"]),
        (b"{\"a\": 1} {\"b\": 2}".to_vec(), &["trailing characters"]),
        ("[".repeat(10_000).into_bytes(), &["an array"]),
        (utf16, &["UTF-16"]),
        (utf16_without_bom, &["JSON"]),
        (b"{\"changeType\": \"cr\xFF\xFEated\"}".to_vec(), &["JSON"]),
        (b"{\"changeType\": \"\\ud800\"}".to_vec(), &["JSON"]),
        (
            b"{\"expirationDateTime\": 1e400}".to_vec(),
            &["number out of range"],
        ),
    ];
    for (body, says) in cases {
        for (method, path) in [
            (Method::POST, "/v1.0/subscriptions"),
            (Method::PATCH, "/v1.0/subscriptions/no-such-id"),
        ] {
            let answer = raw(
                &e,
                method,
                path,
                Some(&token),
                Some("application/json"),
                body.clone(),
            )
            .await;
            answer.graph_error(400, "BadRequest", says);
            // And what to send instead.
            let message = answer.json["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("JSON object") || message.contains("UTF-8"),
                "{message}"
            );
        }
    }
    // 10,000 levels deep is read (without recursion) as a property the body may not have.
    let answer = raw(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some("application/json"),
        deep.into_bytes(),
    )
    .await;
    answer.graph_error(400, "InvalidRequest", &["`a`"]);
    assert_eq!(e.subscription_count().await, 0);
}

#[tokio::test]
async fn a_body_past_the_limit_gets_413_in_graphs_shape() {
    let e = emulator().await;
    let token = token(&e);
    // Just past the core's 1 MiB, and far past what axum buffers (2 MiB).
    for size in [(1 << 20) + 1, 20 << 20] {
        let mut body = b"{\"a\": \"".to_vec();
        body.resize(size - 2, b'x');
        body.extend_from_slice(b"\"}");
        let mut targets = vec![
            (Method::POST, "/v1.0/subscriptions"),
            (Method::PATCH, "/v1.0/subscriptions/no-such-id"),
        ];
        if size > 2 << 20 {
            // A batch holds up to 20 bodies: only the router's limit applies.
            targets.push((Method::POST, "/v1.0/$batch"));
        }
        for (method, path) in targets {
            let answer = raw(
                &e,
                method,
                path,
                Some(&token),
                Some("application/json"),
                body.clone(),
            )
            .await;
            answer.graph_error(413, "BadRequest", &["bytes", "1048576"]);
        }
    }
    // The emulator still answers.
    let created = call(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&subscription(&e, "ada")),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}

#[tokio::test]
async fn a_bom_and_property_names_in_any_case_are_read_as_graph_reads_them() {
    let e = emulator().await;
    let token = token(&e);
    // A UTF-8 byte order mark is skipped, as JSON allows.
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(subscription(&e, "ada").to_string().as_bytes());
    let answer = raw(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some("application/json"),
        body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);

    // A name given twice in different case: the last one counts, in the answer and in
    // what is stored.
    let expiration = rfc3339(e.now() + Duration::hours(24));
    let body = format!(
        r#"{{"changeType": "created", "CHANGETYPE": "updated", "notificationUrl": "https://webhook.example.com/notify",
            "resource": "users/bob/messages", "expirationDateTime": "{expiration}"}}"#
    );
    let answer = raw(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some("application/json"),
        body.into_bytes(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.json["changeType"], "updated");
    let id = answer.json["id"].as_str().unwrap();
    let got = call(
        &e,
        Method::GET,
        &format!("/v1.0/subscriptions/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(got.json["changeType"], "updated");
}

#[tokio::test]
async fn a_property_of_the_wrong_type_gets_400_naming_the_property() {
    let e = emulator().await;
    let token = token(&e);
    let properties = [
        "changeType",
        "notificationUrl",
        "resource",
        "expirationDateTime",
        "clientState",
        "lifecycleNotificationUrl",
        "includeResourceData",
        "latestSupportedTlsVersion",
        "encryptionCertificate",
        "encryptionCertificateId",
        "notificationContentType",
        "notificationQueryOptions",
        "notificationUrlAppId",
    ];
    let wrong = |property: &str| -> Vec<Value> {
        let mut values = vec![json!(42), json!([]), json!({}), json!(1e300)];
        values.push(if property == "includeResourceData" {
            json!("true")
        } else {
            json!(true)
        });
        values
    };
    for property in properties {
        for value in wrong(property) {
            let mut body = subscription(&e, "ada");
            body[property] = value.clone();
            let answer = call(
                &e,
                Method::POST,
                "/v1.0/subscriptions",
                Some(&token),
                Some(&body),
            )
            .await;
            answer.graph_error(400, "InvalidRequest", &[]);
            let details = answer.json["error"]["details"].as_array().unwrap();
            assert!(
                details.iter().any(|d| d["target"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case(property))
                    && d["severity"] == "error"),
                "{property} = {value}: {}",
                answer.text
            );
        }
    }
    assert_eq!(e.subscription_count().await, 0);
}

#[tokio::test]
async fn write_requests_need_a_json_content_type() {
    let e = emulator().await;
    let token = token(&e);
    let body = subscription(&e, "ada").to_string().into_bytes();
    for (method, path) in [
        (Method::POST, "/v1.0/subscriptions"),
        (Method::PATCH, "/v1.0/subscriptions/no-such-id"),
        (Method::POST, "/v1.0/$batch"),
    ] {
        let missing = raw(&e, method.clone(), path, Some(&token), None, body.clone()).await;
        missing.graph_error(400, "BadRequest", &["Content-Type"]);
        for wrong in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
        ] {
            let answer = raw(
                &e,
                method.clone(),
                path,
                Some(&token),
                Some(wrong),
                body.clone(),
            )
            .await;
            answer.graph_error(415, "UnsupportedMediaType", &[wrong, "application/json"]);
        }
    }
    // JSON in any of its spellings is JSON.
    for right in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;odata.metadata=minimal",
    ] {
        let mut body = subscription(&e, "ada");
        body["resource"] = json!(format!("users/{}/messages", right.len()));
        let answer = raw(
            &e,
            Method::POST,
            "/v1.0/subscriptions",
            Some(&token),
            Some(right),
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{right}: {}",
            answer.text
        );
    }
    // A POST without a body needs none.
    let answer = raw(
        &e,
        Method::POST,
        "/v1.0/subscriptions/no-such-id/reauthorize",
        Some(&token),
        None,
        Vec::new(),
    )
    .await;
    answer.graph_error(404, "ResourceNotFound", &[]);
}

// ---------------------------------------------------------------------------------------
// Paths, methods, query options.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn paths_the_emulator_does_not_serve_get_graphs_errors() {
    let e = emulator().await;
    let token = token(&e);
    for path in [
        "/v2.0/subscriptions",
        "/V1.0/subscriptions",
        "/v1.0%00/subscriptions",
    ] {
        call(&e, Method::GET, path, Some(&token), None)
            .await
            .graph_error(400, "BadRequest", &["version", "v1.0 or beta"]);
    }
    for path in ["/v1.0/subscriptions/", "/v1.0", "/", "/v1.0/me/messages"] {
        call(&e, Method::GET, path, Some(&token), None)
            .await
            .graph_error(404, "BadRequest", &["Resource not found"]);
    }
    let long = "x".repeat(10_000);
    for id in [
        "a%2Fb",
        "a%2F..%2F..%2Femulator%2Fclock",
        "a%00b",
        "%E2%9C%93-\u{1F600}",
        long.as_str(),
    ] {
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            let body = (method == Method::PATCH)
                .then(|| json!({"expirationDateTime": rfc3339(e.now() + Duration::hours(2))}));
            call(
                &e,
                method.clone(),
                &format!("/v1.0/subscriptions/{id}"),
                Some(&token),
                body.as_ref(),
            )
            .await
            .graph_error(404, "ResourceNotFound", &["does not exist"]);
        }
    }
    // What an HTTP client would have normalised or refused to send.
    for line in [
        &b"GET /v1.0/subscriptions/../../emulator/clock HTTP/1.1"[..],
        b"GET /v1.0/subscriptions/.. HTTP/1.1",
        b"DELETE /v1.0/subscriptions/%2e%2e HTTP/1.1",
    ] {
        let answer = wire(&e, line, &format!("authorization: Bearer {token}\r\n")).await;
        assert!(
            [400, 404].contains(&answer.status.as_u16())
                && answer.json["error"]["code"].is_string(),
            "{}: {} {}",
            String::from_utf8_lossy(line),
            answer.status,
            answer.text
        );
        assert!(answer.json.get("now").is_none(), "{}", answer.text);
    }
    // Percent-encoded bytes that are not UTF-8.
    for line in [
        &b"GET /v1.0/subscriptions/%FF%FE HTTP/1.1"[..],
        b"DELETE /v1.0/subscriptions/%C0%AF HTTP/1.1",
        b"POST /v1.0/subscriptions/%FF/reauthorize HTTP/1.1",
        b"GET /%FF/subscriptions HTTP/1.1",
    ] {
        let answer = wire(&e, line, &format!("authorization: Bearer {token}\r\n")).await;
        answer.graph_error(400, "BadRequest", &["UTF-8"]);
    }
}

#[tokio::test]
async fn a_method_a_path_does_not_allow_gets_405_in_graphs_shape() {
    let e = emulator().await;
    let token = token(&e);
    for (method, path, allowed) in [
        (Method::PUT, "/v1.0/subscriptions", "GET"),
        (Method::DELETE, "/v1.0/subscriptions", "POST"),
        (Method::PUT, "/v1.0/subscriptions/some-id", "PATCH"),
        (Method::POST, "/v1.0/subscriptions/some-id", "DELETE"),
        (Method::OPTIONS, "/v1.0/subscriptions/some-id", "GET"),
        (
            Method::GET,
            "/v1.0/subscriptions/some-id/reauthorize",
            "POST",
        ),
        (Method::GET, "/v1.0/$batch", "POST"),
        (Method::PUT, "/emulator/clock", "POST"),
        (Method::GET, "/emulator/token", "POST"),
        (Method::GET, "/emulator/changes", "POST"),
        (Method::GET, "/some-tenant/oauth2/v2.0/token", "POST"),
        (Method::TRACE, "/v1.0/subscriptions", "GET"),
    ] {
        let answer = call(&e, method.clone(), path, Some(&token), None).await;
        answer.graph_error(405, "BadRequest", &[method.as_str(), "Allow"]);
        let allow = answer
            .headers
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(
            allow.as_deref().is_some_and(|a| a.contains(allowed)),
            "{method} {path}: Allow {allow:?}"
        );
    }
    // HEAD is GET without the body.
    let head = call(&e, Method::HEAD, "/v1.0/subscriptions", Some(&token), None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.text.is_empty());
}

#[tokio::test]
async fn list_query_options_are_read_or_refused_clearly() {
    let e = emulator().await;
    let token = token(&e);
    for user in ["ada", "bob", "cy"] {
        let answer = call(
            &e,
            Method::POST,
            "/v1.0/subscriptions",
            Some(&token),
            Some(&subscription(&e, user)),
        )
        .await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    // Options the List page does not take are ignored, as Graph ignores them.
    for query in [
        "$top=1",
        "$top=-1",
        "$top=99999999999999999999",
        "$filter=garbage'",
        "foo=bar",
        "$count=true&$select=id",
    ] {
        let answer = call(
            &e,
            Method::GET,
            &format!("/v1.0/subscriptions?{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
        assert_eq!(answer.json["value"].as_array().unwrap().len(), 3, "{query}");
    }
    // A skiptoken the emulator did not write is refused, not read as a place in the list.
    for token_text in [
        "garbage",
        "",
        "zzzzzzzz-zzzz",
        "%FF",
        "'; DROP TABLE",
        &"9".repeat(10_000),
    ] {
        let answer = call(
            &e,
            Method::GET,
            &format!("/v1.0/subscriptions?$skiptoken={token_text}"),
            Some(&token),
            None,
        )
        .await;
        answer.graph_error(400, "BadRequest", &["$skiptoken", "@odata.nextLink"]);
    }
    let twice = call(
        &e,
        Method::GET,
        "/v1.0/subscriptions?$skiptoken=a&$skiptoken=b",
        Some(&token),
        None,
    )
    .await;
    twice.graph_error(400, "BadRequest", &["$skiptoken"]);
    // The emulator's own skiptokens still page.
    let e2 = Emulator::builder()
        .start_at(start_time())
        .endpoint_validation(false)
        .throttle(Throttle::OFF)
        .page_size(2)
        .build()
        .start()
        .await
        .unwrap();
    let token2 = e2.token(&TokenSpec::application(e2.tenant_id(), APP, &["Mail.Read"]));
    for user in ["ada", "bob", "cy"] {
        call(
            &e2,
            Method::POST,
            "/v1.0/subscriptions",
            Some(&token2),
            Some(&subscription(&e2, user)),
        )
        .await;
    }
    let first = call(&e2, Method::GET, "/v1.0/subscriptions", Some(&token2), None).await;
    let next = first.json["@odata.nextLink"].as_str().unwrap();
    let second = call(&e2, Method::GET, next, Some(&token2), None).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.json["value"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Tokens.
// ---------------------------------------------------------------------------------------

/// The emulator's private signing key (PKCS#1 DER), read from its `--state` file: what
/// lets this test sign tokens the emulator would take, with any claims.
fn signing_key(state: &std::path::Path) -> Vec<u8> {
    let snapshot: Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    STANDARD
        .decode(snapshot["signingKey"].as_str().unwrap())
        .unwrap()
}

fn claims(e: &RunningEmulator) -> Claims {
    let now = e.now().timestamp();
    Claims {
        aud: graph_subs_emulator::GRAPH_AUDIENCE.to_owned(),
        iss: format!("{}/{}/v2.0", e.base_url(), e.tenant_id()),
        tid: e.tenant_id().to_owned(),
        appid: APP.to_owned(),
        azp: Some(APP.to_owned()),
        oid: format!("sp-{APP}"),
        sub: format!("sp-{APP}"),
        scp: None,
        roles: Some(vec!["Mail.Read".to_owned()]),
        wids: None,
        iat: now,
        nbf: now,
        exp: now + 3600,
        ver: "2.0".to_owned(),
    }
}

fn sign(claims: &impl serde::Serialize, der: &[u8]) -> String {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(der),
    )
    .unwrap()
}

fn unsigned(header: &Value, claims: &impl serde::Serialize) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    )
}

#[tokio::test]
async fn tokens_the_emulator_did_not_issue_or_would_not_accept_get_401() {
    use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _, EncodeRsaPublicKey as _};

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let e = Emulator::builder()
        .start_at(start_time())
        .endpoint_validation(false)
        .throttle(Throttle::OFF)
        .state(&state)
        .build()
        .start()
        .await
        .unwrap();
    let der = signing_key(&state);
    // The key signs what the emulator accepts: the crafted tokens below differ in one way.
    let good = sign(&claims(&e), &der);
    let list = async |authorization: Option<String>| {
        let mut request =
            reqwest::Client::new().get(format!("{}/v1.0/subscriptions", e.base_url()));
        if let Some(authorization) = &authorization {
            request = request.header("authorization", authorization);
        }
        send(request, &format!("Authorization: {authorization:?}")).await
    };
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let answer = list(Some(format!("{scheme} {good}"))).await;
        assert_eq!(answer.status, StatusCode::OK, "{scheme}: {}", answer.text);
    }

    let private = rsa::RsaPrivateKey::from_pkcs1_der(&der).unwrap();
    let public_pem = private
        .to_public_key()
        .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
        .unwrap();
    // 1024 bits: enough to sign, quick to make in a debug build.
    let other_key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024)
        .unwrap()
        .to_pkcs1_der()
        .unwrap();
    let with = |change: &dyn Fn(&mut Claims)| {
        let mut c = claims(&e);
        change(&mut c);
        sign(&c, &der)
    };
    let now = e.now().timestamp();
    let mut without_tid = serde_json::to_value(claims(&e)).unwrap();
    without_tid.as_object_mut().unwrap().remove("tid");
    let mut exp_as_text = serde_json::to_value(claims(&e)).unwrap();
    exp_as_text["exp"] = json!("tomorrow");

    let cases: Vec<(&str, Option<String>, &[&str])> = vec![
        ("no header", None, &["Bearer"]),
        ("Basic", Some("Basic dXNlcjpwYXNz".into()), &["Bearer"]),
        ("empty Bearer", Some("Bearer ".into()), &["Bearer"]),
        (
            "garbage",
            Some("Bearer garbage".into()),
            &["validation failure"],
        ),
        (
            "three dots",
            Some("Bearer a.b.c".into()),
            &["validation failure"],
        ),
        (
            "another key",
            Some(format!(
                "Bearer {}",
                sign(&claims(&e), other_key.as_bytes())
            )),
            &["signature"],
        ),
        (
            "alg none",
            Some(format!(
                "Bearer {}",
                unsigned(&json!({"alg": "none", "typ": "JWT"}), &claims(&e))
            )),
            &["validation failure"],
        ),
        (
            "HS256 keyed with the public key",
            Some(format!(
                "Bearer {}",
                jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                    &claims(&e),
                    &jsonwebtoken::EncodingKey::from_secret(public_pem.as_bytes()),
                )
                .unwrap()
            )),
            &["validation failure"],
        ),
        (
            "expired",
            Some(format!("Bearer {}", with(&|c| c.exp = now - 1))),
            &["expired"],
        ),
        (
            "not yet valid",
            Some(format!("Bearer {}", with(&|c| c.nbf = now + 600))),
            &["not yet valid"],
        ),
        (
            "wrong audience",
            Some(format!(
                "Bearer {}",
                with(&|c| c.aud = "https://graph.windows.net".into())
            )),
            &["audience"],
        ),
        (
            "wrong issuer",
            Some(format!(
                "Bearer {}",
                with(&|c| c.iss = "https://login.microsoftonline.com/x/v2.0".into())
            )),
            &["issuer"],
        ),
        (
            "issuer of another tenant",
            Some(format!(
                "Bearer {}",
                with(&|c| c.tid = "another-tenant".into())
            )),
            &["issuer"],
        ),
        (
            "no tid",
            Some(format!("Bearer {}", sign(&without_tid, &der))),
            &["validation failure"],
        ),
        (
            "exp as text",
            Some(format!("Bearer {}", sign(&exp_as_text, &der))),
            &["validation failure"],
        ),
        (
            "100 KB token",
            Some(format!("Bearer {}", "a".repeat(100 * 1024))),
            &["validation failure"],
        ),
        (
            "good token, bad signature",
            Some(format!("Bearer {}x", good.trim_end_matches('='))),
            &["validation failure"],
        ),
    ];
    for (what, authorization, says) in cases {
        let answer = list(authorization).await;
        answer.graph_error(401, "InvalidAuthenticationToken", says);
        assert!(answer.headers.contains_key("www-authenticate"), "{what}");
    }

    // A token with both `scp` and `roles` is delegated (delegated tokens carry the user's
    // app roles in `roles`): only `scp` grants permissions.
    let both = with(&|c| {
        c.scp = Some("User.Read".into());
        c.roles = Some(vec!["Mail.Read".into()]);
        c.oid = "user-1".into();
    });
    let answer = call(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&both),
        Some(&subscription(&e, "ada")),
    )
    .await;
    answer.graph_error(403, "Forbidden", &["delegated", "Mail.Read"]);

    // A 100 KB header that is not the token does not stand in the way.
    let answer = send(
        reqwest::Client::new()
            .get(format!("{}/v1.0/subscriptions", e.base_url()))
            .bearer_auth(&good)
            .header("x-padding", "p".repeat(100 * 1024))
            .header("client-request-id", "c".repeat(100 * 1024)),
        "100 KB headers",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers["client-request-id"].len() <= 128);
    e.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// $batch.
// ---------------------------------------------------------------------------------------

async fn batch(e: &RunningEmulator, token: Option<&str>, requests: Value) -> Answer {
    call(
        e,
        Method::POST,
        "/v1.0/$batch",
        token,
        Some(&json!({ "requests": requests })),
    )
    .await
}

async fn clock(e: &RunningEmulator) -> String {
    let answer = call(e, Method::GET, "/emulator/clock", None, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json["now"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_batch_reaches_the_subscription_api_and_nothing_else() {
    let e = emulator().await;
    let token = token(&e);
    let before = clock(&e).await;
    let advance = json!({"advanceSeconds": 86_400});
    let form = "&grant_type=client_credentials&client_id=24d3b144-21ae-4080-943f-7067b395b913&client_secret=CANARY-app-secret-7f3e&scope=https://graph.microsoft.com/.default&x=";
    let form_headers = json!({"content-type": "application/x-www-form-urlencoded"});
    let requests = json!([
        {"id": "1", "method": "POST", "url": "/../emulator/clock", "body": advance},
        {"id": "2", "method": "POST", "url": "../emulator/token", "body": {}},
        {"id": "3", "method": "POST", "url": "%2e%2e/emulator/clock", "body": advance},
        {"id": "4", "method": "POST", "url": "/%2E%2E/%2E%2E/emulator/clock", "body": advance},
        {"id": "5", "method": "POST", "url": "http://127.0.0.1/emulator/clock", "body": advance},
        {"id": "6", "method": "POST", "url": "//127.0.0.1/emulator/clock", "body": advance},
        {"id": "7", "method": "POST", "url": "oauth2/v2.0/token", "headers": form_headers, "body": form},
        {"id": "8", "method": "GET", "url": "discovery/v2.0/keys"},
        {"id": "9", "method": "GET", "url": "v2.0/.well-known/openid-configuration"},
        {"id": "10", "method": "POST", "url": "/$batch", "body": {"requests": []}},
        {"id": "11", "method": "POST", "url": "%24batch", "body": {"requests": [{"id": "x", "method": "GET", "url": "/subscriptions"}]}},
        {"id": "12", "method": "GET", "url": "emulator/deliveries"},
        {"id": "13", "method": "GET", "url": "\\..\\emulator\\clock"},
    ]);
    let answer = batch(&e, Some(&token), requests).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    for response in answer.json["responses"].as_array().unwrap() {
        let status = response["status"].as_u64().unwrap();
        assert!(
            (400..500).contains(&status) && response["body"]["error"]["code"].is_string(),
            "{response}"
        );
        let text = response.to_string();
        for reached in [
            "access_token",
            "\"keys\"",
            "token_endpoint",
            "\"responses\"",
            "\"now\"",
        ] {
            assert!(!text.contains(reached), "{reached}: {response}");
        }
    }
    assert_eq!(clock(&e).await, before, "a batch moved the clock");
}

#[tokio::test]
async fn a_batch_refuses_bad_requests_one_by_one_and_bad_batches_whole() {
    let e = emulator().await;
    let token = token(&e);
    let long_id = "i".repeat(10_000);
    // Whole batches.
    let twenty_one: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/subscriptions"}))
        .collect();
    let bad: Vec<(Value, &[&str])> = vec![
        (json!(twenty_one), &["20"]),
        (
            json!([{"id": "1", "method": "GET", "url": "/subscriptions", "dependsOn": ["1"]}]),
            &["cycle"],
        ),
        (
            json!([{"id": long_id, "method": "GET", "url": "/subscriptions"},
                   {"id": long_id, "method": "GET", "url": "/subscriptions"}]),
            &["unique"],
        ),
        (
            json!([{"id": 1, "method": "GET", "url": "/subscriptions"}]),
            &["invalid type"],
        ),
        (json!([{"id": "1", "method": "GET"}]), &["url"]),
        (json!("requests"), &["Invalid batch payload"]),
        (json!(null), &["Invalid batch payload"]),
    ];
    for (requests, says) in bad {
        let answer = batch(&e, Some(&token), requests.clone()).await;
        answer.graph_error(400, "BadRequest", says);
        assert!(
            answer.json["error"]["message"].as_str().unwrap().len() < 1_000,
            "{}",
            answer.text
        );
    }

    // Requests refused one by one; the others run.
    let create = subscription(&e, "ada");
    let requests = json!([
        {"id": long_id, "method": "GET", "url": "/subscriptions"},
        {"id": "connect", "method": "CONNECT", "url": "/subscriptions"},
        {"id": "trace", "method": "TRACE", "url": "/subscriptions"},
        {"id": "spaces", "method": "G E T", "url": "/subscriptions"},
        {"id": "string-body", "method": "POST", "url": "/subscriptions", "body": "changeType=created"},
        {"id": "array-body", "method": "POST", "url": "/subscriptions", "body": [create]},
        {"id": "number-body", "method": "PATCH", "url": "/subscriptions/x", "body": 42},
        {"id": "crlf-header", "method": "GET", "url": "/subscriptions", "headers": {"x-a": "b\r\nauthorization: Bearer x"}},
        {"id": "bad-url", "method": "GET", "url": "/subscriptions/a b"},
        {"id": "text-body", "method": "POST", "url": "/subscriptions", "headers": {"content-type": "text/plain"}, "body": create},
        {"id": "created", "method": "POST", "url": "/subscriptions", "body": create},
    ]);
    let answer = batch(&e, Some(&token), requests).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let responses = answer.json["responses"].as_array().unwrap();
    let status = |id: &str| {
        responses
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| {
                (
                    r["status"].as_u64().unwrap(),
                    r["body"]["error"]["code"].clone(),
                )
            })
            .unwrap_or_else(|| panic!("{id}: {}", answer.text))
    };
    assert_eq!(status(&long_id).0, 200);
    assert_eq!(status("connect"), (405, json!("BadRequest")));
    assert_eq!(status("trace"), (405, json!("BadRequest")));
    assert_eq!(status("spaces"), (400, json!("BadRequest")));
    assert_eq!(status("string-body"), (400, json!("BadRequest")));
    assert_eq!(status("array-body"), (400, json!("BadRequest")));
    assert_eq!(status("number-body"), (400, json!("BadRequest")));
    assert_eq!(status("crlf-header"), (400, json!("BadRequest")));
    assert_eq!(status("bad-url"), (400, json!("BadRequest")));
    assert_eq!(status("text-body"), (415, json!("UnsupportedMediaType")));
    assert_eq!(status("created").0, 201);
    assert_eq!(e.subscription_count().await, 1);
}

#[tokio::test]
async fn an_authorization_header_inside_a_batch_request_changes_nothing() {
    let e = emulator().await;
    let token = token(&e);
    let other = e.token(&TokenSpec::application(
        e.tenant_id(),
        "9f2c1a8e-0000-4000-8000-000000000002",
        &["Mail.Read"],
    ));
    let item = |auth: &str| {
        json!([{"id": "1", "method": "POST", "url": "/subscriptions",
                "headers": {"Authorization": format!("Bearer {auth}"), "AUTHORIZATION": format!("Bearer {auth}")},
                "body": subscription(&e, "ada")}])
    };
    // No token on the batch: a token inside does not help.
    let answer = batch(&e, None, item(&token)).await;
    let response = &answer.json["responses"][0];
    assert_eq!(response["status"], 401, "{}", answer.text);
    assert_eq!(
        response["body"]["error"]["code"],
        "InvalidAuthenticationToken"
    );
    // The batch's token decides whose subscription it is.
    let answer = batch(&e, Some(&token), item(&other)).await;
    let response = &answer.json["responses"][0];
    assert_eq!(response["status"], 201, "{}", answer.text);
    assert_eq!(response["body"]["applicationId"], APP);
}

// ---------------------------------------------------------------------------------------
// The emulator's own endpoints.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_clock_moves_are_refused_and_leave_the_clock_working() {
    let e = emulator().await;
    let token = token(&e);
    let before = clock(&e).await;
    let bad: Vec<(Value, &[&str])> = vec![
        (json!({"advanceSeconds": -1}), &["forward"]),
        (json!({"advanceSeconds": i64::MAX}), &["advanceSeconds"]),
        (json!({"advanceSeconds": i64::MIN}), &["advanceSeconds"]),
        // Within chrono's durations, past its dates (and Graph's year 9999).
        (json!({"advanceSeconds": 10_000_000_000_000_i64}), &["9999"]),
        (json!({"advanceSeconds": 300_000_000_000_i64}), &["9999"]),
        (json!({"advanceSeconds": 1.5}), &["invalid type"]),
        (json!({"advanceSeconds": "60"}), &["invalid type"]),
        (json!({"advanceSeconds": 1e30}), &["invalid type"]),
        (json!({"set": "+10000-01-01T00:00:00Z"}), &["set"]),
        (json!({"set": "10000-01-01T00:00:00Z"}), &["set"]),
        (json!({"set": "2000-01-01T00:00:00Z"}), &["forward"]),
        (json!({"set": 5}), &["invalid type"]),
        (json!({"set": "tomorrow"}), &["set"]),
        (
            json!({"advanceSeconds": 60, "set": "2030-01-01T00:00:00Z"}),
            &["exactly one"],
        ),
        (json!({}), &["exactly one"]),
        (
            json!({"advanceSeconds": 60, "rewind": true}),
            &["unknown field"],
        ),
        (json!([60]), &["advanceSeconds"]),
    ];
    for (body, says) in bad {
        let answer = call(&e, Method::POST, "/emulator/clock", None, Some(&body)).await;
        answer.graph_error(400, "BadRequest", says);
        assert_eq!(clock(&e).await, before, "{body} moved the clock");
    }
    // Still a working emulator.
    let created = call(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&subscription(&e, "ada")),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    // The last second Graph can write: the emulator still answers there, and goes no
    // further.
    let end = call(
        &e,
        Method::POST,
        "/emulator/clock",
        None,
        Some(&json!({"set": "9999-12-31T23:00:00Z"})),
    )
    .await;
    assert_eq!(end.status, StatusCode::OK, "{}", end.text);
    let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
    let mut body = subscription(&e, "bob");
    body["expirationDateTime"] = json!("9999-12-31T23:59:59Z");
    let answer = call(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&body),
    )
    .await;
    assert!(
        [201, 400].contains(&answer.status.as_u16()),
        "{}",
        answer.text
    );
    let list = call(&e, Method::GET, "/v1.0/subscriptions", Some(&token), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let minted = call(
        &e,
        Method::POST,
        "/emulator/token",
        None,
        Some(&json!({"roles": ["Mail.Read"]})),
    )
    .await;
    assert_eq!(minted.status, StatusCode::OK, "{}", minted.text);
    for past_the_end in [
        json!({"advanceSeconds": 3600}),
        json!({"advanceSeconds": 86_400 * 366}),
    ] {
        let answer = call(
            &e,
            Method::POST,
            "/emulator/clock",
            None,
            Some(&past_the_end),
        )
        .await;
        answer.graph_error(400, "BadRequest", &["9999"]);
    }
    assert!(clock(&e).await.starts_with("9999-12-31T23:"));
}

#[tokio::test]
async fn bad_requests_to_emulator_endpoints_are_refused_with_what_to_send() {
    let e = emulator().await;
    let mut deep = "{\"a\":".repeat(10_000);
    deep.push('1');
    deep.push_str(&"}".repeat(10_000));
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("/emulator/token", String::new(), &["appId"]),
        ("/emulator/token", "[]".into(), &["appId"]),
        (
            "/emulator/token",
            r#"{"appid": "x"}"#.into(),
            &["unknown field"],
        ),
        (
            "/emulator/token",
            r#"{"scopes": "Mail.Read"}"#.into(),
            &["invalid type"],
        ),
        (
            "/emulator/token",
            r#"{"expiresIn": 1e30}"#.into(),
            &["invalid type"],
        ),
        (
            "/emulator/token",
            r#"{"admin": "yes"}"#.into(),
            &["invalid type"],
        ),
        ("/emulator/changes", "null".into(), &["resource"]),
        (
            "/emulator/changes",
            format!(
                r#"{{"resource": "me/messages", "changeType": "created", "resourceData": {deep}}}"#
            ),
            &["recursion limit"],
        ),
        (
            "/emulator/changes",
            r#"{"resource": 5, "changeType": "created"}"#.into(),
            &["invalid type"],
        ),
        (
            "/emulator/lifecycle",
            "\"missed\"".into(),
            &["subscriptionId"],
        ),
        (
            "/emulator/lifecycle",
            r#"{"subscriptionId": ["x"], "lifecycleEvent": "missed"}"#.into(),
            &["invalid type"],
        ),
    ];
    for (path, body, says) in cases {
        let answer = raw(
            &e,
            Method::POST,
            path,
            None,
            Some("application/json"),
            body.into_bytes(),
        )
        .await;
        answer.graph_error(400, "BadRequest", says);
    }
    let answer = call(
        &e,
        Method::POST,
        "/emulator/lifecycle",
        None,
        Some(&json!({"subscriptionId": "x".repeat(10_000), "lifecycleEvent": "missed"})),
    )
    .await;
    answer.graph_error(404, "ResourceNotFound", &["does not exist"]);
    assert!(answer.text.len() < 2_000);
    // A huge lifetime is cut to a year; the token works.
    let answer = call(
        &e,
        Method::POST,
        "/emulator/token",
        None,
        Some(&json!({"expiresIn": i64::MAX, "roles": ["Mail.Read"], "appId": APP})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(answer.json["expires_in"].as_i64().unwrap() <= 366 * 86_400);
    let minted = answer.json["access_token"].as_str().unwrap();
    let list = call(&e, Method::GET, "/v1.0/subscriptions", Some(minted), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
}

// ---------------------------------------------------------------------------------------
// The token endpoint.
// ---------------------------------------------------------------------------------------

/// A request to the token endpoint and its answer: the content type, the body, the
/// status, the `error`, and what `error_description` says.
type FormCase<'a> = (Option<&'a str>, String, u16, &'a str, &'a [&'a str]);

#[tokio::test]
async fn the_token_endpoint_answers_bad_forms_in_the_identity_platforms_shape() {
    let e = emulator().await;
    let path = format!("/{}/oauth2/v2.0/token", e.tenant_id());
    let form = "application/x-www-form-urlencoded";
    let good = format!(
        "grant_type=client_credentials&client_id={APP}&client_secret={APP_SECRET}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
    );
    let long_id = "c".repeat(10_000);
    let cases: Vec<FormCase<'_>> = vec![
        (Some(form), String::new(), 400, "invalid_request", &["AADSTS900144", "'grant_type'"]),
        (Some(form), "grant_type=client_credentials".into(), 400, "invalid_request", &["'client_id'"]),
        (
            Some(form),
            format!("grant_type=client_credentials&client_id={APP}&scope=x%2F.default"),
            401,
            "invalid_client",
            &["AADSTS7000218", "'client_secret'"],
        ),
        (
            Some(form),
            format!("grant_type=client_credentials&client_id={APP}&client_secret={APP_SECRET}"),
            400,
            "invalid_request",
            &["'scope'"],
        ),
        (Some(form), "grant_type=password".into(), 400, "unsupported_grant_type", &["client_credentials"]),
        (
            Some("application/json"),
            json!({"grant_type": "client_credentials", "client_id": APP, "client_secret": APP_SECRET,
                   "scope": "https://graph.microsoft.com/.default"}).to_string(),
            400,
            "invalid_request",
            &["'grant_type'", "application/x-www-form-urlencoded"],
        ),
        (None, good.clone(), 400, "invalid_request", &["application/x-www-form-urlencoded"]),
        (
            Some(form),
            format!("{good}&client_id=another-app"),
            400,
            "invalid_request",
            &["'client_id'", "more than once"],
        ),
        (
            Some(form),
            format!("grant_type=client_credentials&client_id={long_id}&client_secret=x&scope=x%2F.default"),
            400,
            "unauthorized_client",
            &["AADSTS700016", "more characters"],
        ),
        (
            Some(form),
            "grant_type=client_credentials&client_id=a%0D%0Ab&client_secret=x&scope=x%2F.default".into(),
            400,
            "unauthorized_client",
            &["AADSTS700016"],
        ),
        (Some(form), "%%%&&&===".into(), 400, "invalid_request", &["'grant_type'"]),
    ];
    for (content_type, body, status, error, says) in cases {
        let answer = raw(
            &e,
            Method::POST,
            &path,
            None,
            content_type,
            body.clone().into_bytes(),
        )
        .await;
        let what = format!("{body}: {} {}", answer.status, answer.text);
        assert_eq!(answer.status.as_u16(), status, "{what}");
        assert_eq!(answer.json["error"], error, "{what}");
        let description = answer.json["error_description"].as_str().unwrap();
        for said in says {
            assert!(description.contains(said), "{said}: {what}");
        }
        assert!(
            !description.contains('\r') && !description.contains('\n'),
            "{what}"
        );
        assert!(description.len() < 1_000, "{what}");
        assert!(answer.json["error_codes"].is_array(), "{what}");
    }
    // Far past any form: the same shape.
    let huge = format!("{good}&padding={}", "p".repeat(3 << 20));
    let answer = raw(&e, Method::POST, &path, None, Some(form), huge.into_bytes()).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.text
    );
    assert_eq!(answer.json["error"], "invalid_request", "{}", answer.text);
    // And the good form still gets a token.
    let answer = raw(&e, Method::POST, &path, None, Some(form), good.into_bytes()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(answer.json["access_token"].is_string());
}

// ---------------------------------------------------------------------------------------
// Races.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_of_one_subscription_make_one_and_one_delete_wins() {
    let e = emulator().await;
    let token = token(&e);
    let body = subscription(&e, "ada");
    let client = reqwest::Client::new();
    let url = format!("{}/v1.0/subscriptions", e.base_url());
    let creates = (0..200).map(|_| {
        let request = client.post(&url).bearer_auth(&token).json(&body);
        async move { send(request, "concurrent create").await }
    });
    let answers = futures_util::future::join_all(creates).await;
    let count = |status: u16| {
        answers
            .iter()
            .filter(|a| a.status.as_u16() == status)
            .count()
    };
    assert_eq!((count(201), count(409)), (1, 199));
    let id = answers
        .iter()
        .find(|a| a.status == StatusCode::CREATED)
        .map(|a| a.json["id"].as_str().unwrap().to_owned())
        .unwrap();
    for conflict in answers.iter().filter(|a| a.status == StatusCode::CONFLICT) {
        conflict.graph_error(409, "ExtensionError", &[&id, "already exists"]);
    }
    assert_eq!(e.subscription_count().await, 1);

    let deletes = (0..50).map(|_| {
        let request = client.delete(format!("{url}/{id}")).bearer_auth(&token);
        async move { send(request, "concurrent delete").await }
    });
    let answers = futures_util::future::join_all(deletes).await;
    let count = |status: u16| {
        answers
            .iter()
            .filter(|a| a.status.as_u16() == status)
            .count()
    };
    assert_eq!((count(204), count(404)), (1, 49));
    assert_eq!(e.subscription_count().await, 0);
    // The indexes were left right: the same subscription can be made again, once.
    let again = send(client.post(&url).bearer_auth(&token).json(&body), "again").await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    let twice = send(client.post(&url).bearer_auth(&token).json(&body), "twice").await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text);
}

// ---------------------------------------------------------------------------------------
// Secrets.
// ---------------------------------------------------------------------------------------

/// Everything the emulator logs in this test binary, at every level.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    graph_subs_benchkit::log::captured("graph_subs_emulator=trace")
}

#[tokio::test]
async fn secrets_reach_neither_answers_that_should_not_carry_them_nor_the_log() {
    let log = captured_log();
    const CLIENT_STATE: &str = "CANARY-client-state-41d2";
    const PASSWORD: &str = "CANARY-password-9a0c";
    const QUERY: &str = "CANARY-query-6b1f";
    const WRONG_SECRET: &str = "CANARY-wrong-secret-2e77";
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let e = Emulator::builder()
        .start_at(start_time())
        .throttle(Throttle::OFF)
        .app(App::new(APP, APP_SECRET, &["Mail.Read"]))
        .state(&state)
        .build()
        .start()
        .await
        .unwrap();
    let key = STANDARD.encode(signing_key(&state));
    // Every answer that should carry no secret.
    let mut answers: Vec<String> = Vec::new();

    // The token endpoint: a wrong secret, then the right one.
    let path = format!("/{}/oauth2/v2.0/token", e.tenant_id());
    let form = |secret: &str| {
        format!(
            "grant_type=client_credentials&client_id={APP}&client_secret={secret}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        )
        .into_bytes()
    };
    let form_type = Some("application/x-www-form-urlencoded");
    let refused = raw(&e, Method::POST, &path, None, form_type, form(WRONG_SECRET)).await;
    assert_eq!(refused.json["error"], "invalid_client", "{}", refused.text);
    answers.push(refused.text);
    let issued = raw(&e, Method::POST, &path, None, form_type, form(APP_SECRET)).await;
    let token = issued.json["access_token"].as_str().unwrap().to_owned();
    let url = format!("http://user:{PASSWORD}@127.0.0.1:9/notify?code={QUERY}");

    // Endpoint validation fails (nobody listens on port 9): the URL is not repeated.
    let mut body = subscription(&e, "ada");
    body["notificationUrl"] = json!(url);
    body["clientState"] = json!(CLIENT_STATE);
    let failed = call(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&body),
    )
    .await;
    assert_eq!(failed.status, StatusCode::BAD_REQUEST, "{}", failed.text);
    answers.push(failed.text);

    // Refused bodies that hold a clientState, once or twice.
    let mut too_long = body.clone();
    too_long["clientState"] = json!(format!("{CLIENT_STATE}{}", "x".repeat(200)));
    too_long["changeType"] = json!(5);
    let refused = call(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&too_long),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    answers.push(refused.text);
    let twice = format!(
        r#"{{"clientState": "{CLIENT_STATE}-1", "CLIENTSTATE": "{CLIENT_STATE}-2", "changeType": 5}}"#
    );
    let refused = raw(
        &e,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some("application/json"),
        twice.into_bytes(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    answers.push(refused.text);

    // A subscription with a secret-bearing URL and clientState, made without validation:
    // its create answer carries clientState, nothing else does.
    let e2 = Emulator::builder()
        .start_at(start_time())
        .endpoint_validation(false)
        .build()
        .start()
        .await
        .unwrap();
    let token2 = e2.token(&TokenSpec::application(e2.tenant_id(), APP, &["Mail.Read"]));
    let created = call(
        &e2,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token2),
        Some(&body),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["clientState"], CLIENT_STATE);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let patch = json!({"clientState": CLIENT_STATE, "notificationUrl": 5});
    let change = json!({"resource": "users/ada/messages", "changeType": "created"});
    let lifecycle = json!({"subscriptionId": id, "lifecycleEvent": "missed"});
    let duplicate = call(
        &e2,
        Method::POST,
        "/v1.0/subscriptions",
        Some(&token2),
        Some(&body),
    )
    .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.text);
    answers.push(duplicate.text);
    let path = format!("/v1.0/subscriptions/{id}");
    let patched = call(&e2, Method::PATCH, &path, Some(&token2), Some(&patch)).await;
    assert_eq!(patched.status, StatusCode::BAD_REQUEST, "{}", patched.text);
    answers.push(patched.text);
    for (path, report) in [
        ("/emulator/changes", &change),
        ("/emulator/lifecycle", &lifecycle),
    ] {
        answers.push(call(&e2, Method::POST, path, None, Some(report)).await.text);
    }
    // List shows `notificationUrl` as it was given, as Graph does, but never clientState.
    let list = call(&e2, Method::GET, "/v1.0/subscriptions", Some(&token2), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(!list.text.contains(CLIENT_STATE), "{}", list.text);
    // Let the notifications' first attempts fail (nobody listens), then read the log.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    answers.push(
        call(&e2, Method::GET, "/emulator/deliveries", None, None)
            .await
            .text,
    );
    let jwks = call(
        &e,
        Method::GET,
        &format!("/{}/discovery/v2.0/keys", e.tenant_id()),
        None,
        None,
    )
    .await;
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(
            jwks.json["keys"][0].get(private).is_none(),
            "{private}: {}",
            jwks.text
        );
    }
    answers.push(jwks.text);
    let openid = format!("/{}/v2.0/.well-known/openid-configuration", e.tenant_id());
    answers.push(call(&e, Method::GET, &openid, None, None).await.text);
    e.shutdown().await.unwrap();
    e2.shutdown().await.unwrap();

    let log = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(log.contains("request"), "the log was not captured");
    let signature = token.rsplit('.').next().unwrap();
    let key_part = &key[key.len() / 2..key.len() / 2 + 40];
    for (what, secret) in [
        ("clientState", CLIENT_STATE),
        ("a URL's password", PASSWORD),
        ("a URL's query", QUERY),
        ("the app's secret", APP_SECRET),
        ("a wrong secret", WRONG_SECRET),
        ("the access token", signature),
        ("the signing key", key_part),
    ] {
        assert!(!log.contains(secret), "{what} in the log");
        for answer in &answers {
            assert!(!answer.contains(secret), "{what} in an answer: {answer}");
        }
    }
}
