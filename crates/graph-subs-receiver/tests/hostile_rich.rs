//! Rich notifications under hostile or unlucky input: odd lengths behind a valid
//! signature, a forged resource in clear, a JWKS that fails once, a POST of many items and
//! big tokens.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use graph_subs_core::notification::ValidationTokenClaims;
use graph_subs_core::subscription::ClientState;
use graph_subs_receiver::rich::{DecryptionKeys, IssuerKeys, RichProblem, TokenVerifier};
use graph_subs_receiver::{ClientStates, Event, Events, Receiver};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

mod support;
use support::{keys_of, vector, vector_content};

const APP: &str = "5b1a3c41-7a61-4f0c-9b0e-2f9d6c1d8e77";
const TENANT: &str = "84bd8158-6d4d-4958-8b9f-9d6445542f95";
const SECRET: &str = "CANARY-rich-client-state-9q";

fn keys() -> DecryptionKeys {
    keys_of(&vector("key.pem"))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The vector's key signs tokens as the issuer `kid`.
fn issuer(kid: &str) -> (EncodingKey, JwkSet) {
    let der = pem::parse(vector("key.pkcs1.pem"))
        .unwrap()
        .contents()
        .to_vec();
    let key = EncodingKey::from_rsa_der(&der);
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    (key, JwkSet { keys: vec![jwk] })
}

fn token(key: &EncodingKey, kid: &str, iat: i64) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let claims = ValidationTokenClaims::for_app(APP, TENANT, iat, 3600);
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

async fn start(tokens: TokenVerifier) -> (String, Receiver, Events) {
    let (receiver, events) =
        Receiver::builder(ClientStates::Shared(ClientState::new(SECRET).unwrap()))
            .rich(keys(), tokens)
            .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(graph_subs_receiver::serve(
        listener,
        receiver.router(),
        std::future::pending(),
    ));
    (base, receiver, events)
}

/// Zero-length and non-block-multiple `data` with a correct HMAC reach AES: refused, no panic.
#[test]
fn odd_lengths_of_data_with_a_valid_signature_are_refused_without_panicking() {
    let symmetric: Vec<u8> = (0..32)
        .map(|i| {
            u8::from_str_radix(&vector("symmetric-key.hex").trim()[2 * i..2 * i + 2], 16).unwrap()
        })
        .collect();
    let mac = hmac::Key::new(hmac::HMAC_SHA256, &symmetric);
    for len in [0usize, 1, 15, 17, 31, 33] {
        let data = vec![0x41u8; len];
        let mut content = vector_content();
        content.data = STANDARD.encode(&data);
        content.data_signature = STANDARD.encode(hmac::sign(&mac, &data));
        let got = keys().decrypt(&content);
        assert!(
            matches!(got, Err(RichProblem::Undecryptable(_))),
            "{len}: {got:?}"
        );
    }
}

/// A resource sent in clear in `resourceData` (no `encryptedContent`) needs a validation
/// token as an encrypted one does: without one it is refused, while a basic notification
/// (only the item's identity) still needs none.
#[tokio::test]
async fn a_forged_resource_in_clear_is_not_delivered_as_if_verified() {
    let (_, jwks) = issuer("k1");
    let (base, receiver, mut events) = start(TokenVerifier::new(
        vec![APP.into()],
        IssuerKeys::Static(jwks),
    ))
    .await;
    let body = json!({"value": [{
        "subscriptionId": "s", "subscriptionExpirationDateTime": "2026-11-23T09:00:00Z",
        "changeType": "created", "resource": "chats('1')/messages('2')",
        "clientState": SECRET, "tenantId": TENANT,
        "resourceData": {"id": "2", "body": {"content": "FORGED: wire the money"}}
    }]});
    let answer = reqwest::Client::new()
        .post(format!("{base}/notifications"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    assert!(events.try_recv().is_err(), "{:?}", receiver.stats());
    assert_eq!(receiver.stats().rejected["validationToken"], 1);
    let basic = json!({"value": [{
        "subscriptionId": "s", "subscriptionExpirationDateTime": "2026-11-23T09:00:00Z",
        "changeType": "created", "resource": "chats('1')/messages('2')",
        "clientState": SECRET, "tenantId": TENANT,
        "resourceData": {"id": "2", "@odata.type": "#Microsoft.Graph.chatMessage",
            "@odata.id": "chats('1')/messages('2')", "@odata.etag": "W/\"1\""}
    }]});
    let answer = reqwest::Client::new()
        .post(format!("{base}/notifications"))
        .json(&basic)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    assert!(matches!(events.try_recv(), Ok(Event::Change(_))));
}

/// A JWKS fetch that fails once (a network blip) is a reason to try again later
/// (`KeysUnavailable`, answered 503), not a refusal remembered against the token: Graph
/// sends the same token for an hour.
#[tokio::test]
async fn a_transient_jwks_failure_is_not_remembered_against_a_genuine_token() {
    let (key, jwks) = issuer("k1");
    let fetches = Arc::new(AtomicUsize::new(0));
    let served = fetches.clone();
    let jwks = serde_json::to_string(&jwks).unwrap();
    let app = axum::Router::new().route(
        "/keys",
        axum::routing::get(move || {
            let n = served.fetch_add(1, Ordering::SeqCst);
            let jwks = jwks.clone();
            async move {
                if n == 0 {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new())
                } else {
                    (axum::http::StatusCode::OK, jwks)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let verifier = TokenVerifier::new(vec![APP.into()], IssuerKeys::Url(url))
        .refetch_after(Duration::from_millis(200));
    let genuine = token(&key, "k1", now());
    let first = verifier
        .vouches(std::slice::from_ref(&genuine), TENANT, now())
        .await;
    assert!(
        matches!(first, Err(RichProblem::KeysUnavailable(_))),
        "{first:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(verifier.vouches(&[genuine], TENANT, now()).await, Ok(()));
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

/// A POST of thousands of rich items and 64 tokens of 16 KiB (none valid) is judged once
/// for its tenant, and every item is refused and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_of_many_items_and_big_tokens_is_refused_item_by_item() {
    let (_, jwks) = issuer("k1");
    let (base, receiver, _events) = start(TokenVerifier::new(
        vec![APP.into()],
        IssuerKeys::Static(jwks),
    ))
    .await;
    let tokens: Vec<String> = (0..64)
        .map(|i| format!("{i:02}{}", "a".repeat(16 * 1024 - 2)))
        .collect();
    let item = json!({
        "subscriptionId": "s", "subscriptionExpirationDateTime": "2026-11-23T09:00:00Z",
        "changeType": "created", "resource": "r", "clientState": SECRET, "tenantId": "t",
        "encryptedContent": {"data": "", "dataSignature": "", "dataKey": ""}
    });
    let per_item = serde_json::to_string(&item).unwrap().len() + 1;
    let count = ((4 << 20) - (64 * 16 * 1024 + 64 * 4 + 4096)) / per_item;
    let body: Value = json!({"value": vec![item; count], "validationTokens": tokens});
    let body = serde_json::to_vec(&body).unwrap();
    assert!(body.len() < 4 << 20);
    let answer = reqwest::Client::new()
        .post(format!("{base}/notifications"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    assert_eq!(receiver.stats().rejected["validationToken"], count as u64);
}
