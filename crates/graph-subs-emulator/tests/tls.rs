//! The emulator over real HTTPS (`EmulatorBuilder::tls`): clients that trust its CA call
//! the subscription API and the identity endpoints; clients that do not are refused;
//! shutdown still lets in-flight requests finish.

use std::time::Duration;

use graph_subs_emulator::{App, Emulator, Faults, RunningEmulator, TlsSettings, TokenSpec};
use reqwest::StatusCode;
use serde_json::Value;

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";
const SECRET: &str = "app-secret-value";

async fn https_emulator(builder: graph_subs_emulator::EmulatorBuilder) -> RunningEmulator {
    builder
        .tls(TlsSettings::self_signed())
        .endpoint_validation(false)
        .app(App::new(APP, SECRET, &["Mail.Read"]))
        .build()
        .start()
        .await
        .unwrap()
}

/// A client that trusts the emulator's CA only (no public roots, no proxy).
fn trusting(e: &RunningEmulator) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(e.ca_pem().unwrap().as_bytes()).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .no_proxy()
        .build()
        .unwrap()
}

async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_client_trusting_the_ca_gets_a_token_and_lists_subscriptions_over_https() {
    let e = https_emulator(Emulator::builder()).await;
    let base = e.base_url().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let client = trusting(&e);
    let tenant = e.tenant_id().to_owned();

    // The metadata MSAL reads first, with https URLs throughout.
    let (status, config) = json(
        client
            .get(format!(
                "{base}/{tenant}/v2.0/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["issuer"], format!("{base}/{tenant}/v2.0"));
    assert_eq!(
        config["token_endpoint"],
        format!("{base}/{tenant}/oauth2/v2.0/token")
    );
    let authorize = config["authorization_endpoint"].as_str().unwrap();
    let (status, refused) = json(client.get(authorize).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "unsupported_response_type");

    // The client-credentials flow over HTTPS; the token's issuer is the https one.
    let (status, answer) = json(
        client
            .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", APP),
                ("client_secret", SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let token = answer["access_token"].as_str().unwrap().to_owned();

    let (status, created) = json(
        client
            .post(format!("{base}/v1.0/subscriptions"))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "users/ada/messages",
                "expirationDateTime": (e.now() + chrono::Duration::hours(24))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let (status, list) = json(
        client
            .get(format!("{base}/v1.0/subscriptions"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"][0]["id"], created["id"]);
    assert!(
        list["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    e.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_with_a_certificate_error() {
    let e = https_emulator(Emulator::builder()).await;
    let untrusting = reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .build()
        .unwrap();
    let error = untrusting
        .get(format!("{}/v1.0/subscriptions", e.base_url()))
        .send()
        .await
        .unwrap_err();
    let chain = {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    };
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");

    // The emulator still serves clients that trust it afterwards.
    let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
    let response = trusting(&e)
        .get(format!("{}/v1.0/subscriptions", e.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_certificate_is_valid_for_localhost_too() {
    let e = https_emulator(Emulator::builder()).await;
    let url = format!("https://localhost:{}/emulator/clock", e.address().port());
    let response = trusting(&e).get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_https_request_finish() {
    // Every subscription API request waits 400 ms before it is served.
    let faults: Faults = "delay:400ms".parse().unwrap();
    let e = https_emulator(Emulator::builder().faults(faults, 0)).await;
    let client = trusting(&e);
    let token = e.token(&TokenSpec::application(e.tenant_id(), APP, &["Mail.Read"]));
    let url = format!("{}/v1.0/subscriptions", e.base_url());
    let in_flight = tokio::spawn(async move { client.get(url).bearer_auth(token).send().await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    tokio::time::timeout(Duration::from_secs(10), e.shutdown())
        .await
        .expect("shutdown returns")
        .unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
