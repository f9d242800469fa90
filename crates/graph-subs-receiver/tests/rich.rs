//! Rich notifications, both ways:
//!
//! - the OpenSSL-made vector (`tests/vectors/rich`, independent of the emulator's
//!   encryption) decrypts with the receiver's keys;
//! - over real HTTP, with the emulator as Graph: a subscription with `includeResourceData`
//!   and the vector's certificate, a change whose resource arrives decrypted, and each
//!   fault the emulator can put in (a tampered signature or data, expired, foreign, forged
//!   and missing validation tokens) counted and never delivered.

use std::time::Duration;

use graph_subs_core::subscription::ClientState;
use graph_subs_emulator::{Emulator, RunningEmulator, TokenSpec};
use graph_subs_receiver::rich::{IssuerKeys, RichProblem, TokenVerifier};
use graph_subs_receiver::{ClientStates, Event, Events, Receiver, Rejection};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

mod support;
use support::{keys_of, vector, vector_notification};

const APP: &str = "5b1a3c41-7a61-4f0c-9b0e-2f9d6c1d8e77";
const SECRET: &str = "CANARY-rich-client-state-9q";

#[test]
fn the_openssl_vector_decrypts_to_its_resource() {
    let expected: Map<String, Value> = serde_json::from_str(&vector("resource.json")).unwrap();
    let content = vector_notification().encrypted_content.unwrap();
    // The key alone; the key with its certificate (found by thumbprint); PKCS#1.
    for pem in [
        vector("key.pem"),
        format!("{}{}", vector("cert.pem"), vector("key.pem")),
        vector("key.pkcs1.pem"),
    ] {
        assert_eq!(keys_of(&pem).decrypt(&content).unwrap(), expected);
    }
}

#[test]
fn a_changed_signature_or_data_is_refused_before_decryption() {
    let content = vector_notification().encrypted_content.unwrap();
    let keys = keys_of(&vector("key.pem"));
    let flip = |text: &str| {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut bytes = engine.decode(text).unwrap();
        bytes[0] ^= 1;
        engine.encode(bytes)
    };
    let mut signature = content.clone();
    signature.data_signature = flip(&content.data_signature);
    assert_eq!(keys.decrypt(&signature), Err(RichProblem::Signature));
    let mut data = content.clone();
    data.data = flip(&content.data);
    assert_eq!(keys.decrypt(&data), Err(RichProblem::Signature));
    let mut not_base64 = content.clone();
    not_base64.data_key = "***".into();
    assert_eq!(
        keys.decrypt(&not_base64),
        Err(RichProblem::NotBase64("dataKey"))
    );
}

#[test]
fn a_certificate_without_its_key_is_named_and_another_key_does_not_decrypt() {
    let content = vector_notification().encrypted_content.unwrap();
    // A key given with another certificate is not tried for this one.
    let (other_cert, other_key) =
        graph_subs_receiver::rich::self_signed_certificate("other").unwrap();
    let other_pem = format!(
        "-----BEGIN CERTIFICATE-----\n{other_cert}\n-----END CERTIFICATE-----\n{other_key}"
    );
    let problem = keys_of(&other_pem).decrypt(&content).unwrap_err();
    assert!(matches!(problem, RichProblem::NoKey { .. }), "{problem:?}");
    let message = problem.to_string();
    assert!(
        message.contains("FE814909E07658D4C77D10897D3D1DA742CED80D"),
        "{message}"
    );
    assert!(message.contains("--decrypt-key"), "{message}");
    // A key without a certificate is tried; when it does not unwrap, the receiver lacks
    // the key (503, Graph sends again), it is not a forgery (the token vouched first).
    assert!(matches!(
        keys_of(&other_key).decrypt(&content),
        Err(RichProblem::NoKey { .. })
    ));
}

/// A receiver for rich notifications of `APP`, trusting the emulator's keys.
async fn start(e: &RunningEmulator) -> (String, Receiver, Events) {
    let verifier = TokenVerifier::new(
        vec![APP.to_owned()],
        IssuerKeys::Url(format!("{}/common/discovery/v2.0/keys", e.base_url())),
    );
    let (receiver, events) =
        Receiver::builder(ClientStates::Shared(ClientState::new(SECRET).unwrap()))
            .rich(keys_of(&vector("key.pem")), verifier)
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

async fn subscribe(e: &RunningEmulator, receiver: &str, certificate: &str) -> (StatusCode, Value) {
    let token = e.token(&TokenSpec::application(
        e.tenant_id(),
        APP,
        &["Chat.Read.All"],
    ));
    let expiration = (e.now() + chrono::Duration::minutes(50)).to_rfc3339();
    let answer = reqwest::Client::new()
        .post(format!("{}/v1.0/subscriptions", e.base_url()))
        .bearer_auth(token)
        .json(&json!({
            "changeType": "created",
            "notificationUrl": format!("{receiver}/notifications"),
            "lifecycleNotificationUrl": format!("{receiver}/lifecycle"),
            "resource": "chats/getAllMessages",
            "expirationDateTime": expiration,
            "clientState": SECRET,
            "includeResourceData": true,
            "encryptionCertificate": certificate,
            "encryptionCertificateId": "graph-subs-test-vector",
        }))
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.json().await.unwrap())
}

async fn change(e: &RunningEmulator, tamper: Option<&str>) {
    let mut body = json!({
        "resource": "chats/getAllMessages",
        "changeType": "created",
        "resourceData": {"id": "1616990032035", "body": {"content": "secret words – é"}},
    });
    if let Some(tamper) = tamper {
        body["tamper"] = json!(tamper);
    }
    let answer = reqwest::Client::new()
        .post(format!("{}/emulator/changes", e.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["matched"], 1, "{answer}");
}

async fn next(events: &mut Events) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within 10 s")
        .expect("the receiver is alive")
}

/// Waits until the receiver has seen `count` notifications.
async fn received(receiver: &Receiver, count: u64) {
    for _ in 0..400 {
        if receiver.stats().received >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the receiver saw {:?}", receiver.stats());
}

#[tokio::test]
async fn rich_notifications_from_the_emulator_arrive_decrypted_and_forgeries_do_not() {
    let e = Emulator::builder().build().start().await.unwrap();
    let (base, receiver, mut events) = start(&e).await;
    let (status, created) = subscribe(&e, &base, vector("cert.der.b64").trim()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    change(&e, None).await;
    match next(&mut events).await {
        Event::Change(n) => {
            assert!(n.encrypted_content.is_none(), "delivered decrypted");
            let resource = n.resource_data.unwrap();
            assert_eq!(resource["body"]["content"], "secret words – é");
            assert_eq!(resource["id"], "1616990032035");
        }
        other => panic!("{other:?}"),
    }

    let faults = [
        ("dataSignature", Rejection::Signature),
        ("data", Rejection::Signature),
        ("expiredToken", Rejection::ValidationToken),
        ("foreignToken", Rejection::ValidationToken),
        ("forgedToken", Rejection::ValidationToken),
        ("noToken", Rejection::ValidationToken),
    ];
    for (n, (tamper, _)) in faults.iter().enumerate() {
        change(&e, Some(tamper)).await;
        received(&receiver, 2 + n as u64).await;
    }
    let stats = receiver.stats();
    assert_eq!(stats.delivered, 1, "{stats:?}");
    assert_eq!(
        stats.rejected[Rejection::Signature.as_str()],
        2,
        "{stats:?}"
    );
    assert_eq!(
        stats.rejected[Rejection::ValidationToken.as_str()],
        4,
        "{stats:?}"
    );
    assert!(events.try_recv().is_err(), "nothing forged was delivered");
}

#[tokio::test]
async fn a_certificate_that_cannot_encrypt_is_refused_at_creation() {
    let e = Emulator::builder().build().start().await.unwrap();
    let (base, _receiver, _events) = start(&e).await;
    let (status, body) = subscribe(&e, &base, "bm90IGEgY2VydGlmaWNhdGU=").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("not X.509"), "{message}");
}
