//! The emulator over real HTTP: every endpoint and error of Graph's subscription API it
//! serves, its tokens, and its clock.

use std::collections::HashSet;

use graph_subs_emulator::{App, Emulator, RunningEmulator, TokenSpec};
use reqwest::StatusCode;
use serde_json::{Value, json};

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";
const OTHER_APP: &str = "9f2c1a8e-0000-4000-8000-000000000002";
const NOW: &str = "2026-11-22T09:00:00Z";

/// An emulator that does not call notification URLs: nobody serves them here
/// (`tests/delivery.rs` covers endpoint validation).
async fn emulator(page_size: usize) -> RunningEmulator {
    Emulator::builder()
        .page_size(page_size)
        .endpoint_validation(false)
        .start_at(chrono::DateTime::parse_from_rfc3339(NOW).unwrap().to_utc())
        .app(App::new(
            APP,
            "app-secret-value",
            &["Mail.Read", "Chat.Read.All"],
        ))
        .build()
        .start()
        .await
        .unwrap()
}

fn app_token(e: &RunningEmulator, app: &str, roles: &[&str]) -> String {
    e.token(&TokenSpec::application(e.tenant_id(), app, roles))
}

fn user_token(e: &RunningEmulator, user: &str, scopes: &[&str]) -> String {
    e.token(&TokenSpec::delegated(e.tenant_id(), APP, user, scopes))
}

/// A time `minutes` after the emulator's start.
fn at(minutes: i64) -> String {
    let start = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    (start + chrono::Duration::minutes(minutes))
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn body(resource: &str, minutes: i64) -> Value {
    json!({
        "changeType": "created,updated",
        "notificationUrl": "https://webhook.example.com/notify",
        "resource": resource,
        "expirationDateTime": at(minutes),
        "clientState": "secretClientValue"
    })
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

async fn call(
    e: &RunningEmulator,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let client = reqwest::Client::new();
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", e.base_url())
    };
    let mut request = client
        .request(method, url)
        .header("client-request-id", "test-123");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    Answer {
        status,
        headers,
        json,
    }
}

use reqwest::Method as M;

#[tokio::test]
async fn the_lifecycle_of_a_subscription() {
    let e = emulator(100).await;
    let token = app_token(&e, APP, &["Mail.Read"]);
    let created = call(
        &e,
        M::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&body("users/ada@contoso.com/messages", 24 * 60)),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let s = &created.json;
    assert_eq!(
        s["@odata.context"],
        format!("{}/v1.0/$metadata#subscriptions/$entity", e.base_url())
    );
    assert_eq!(s["applicationId"], APP);
    assert_eq!(s["creatorId"], format!("sp-{APP}"));
    assert_eq!(s["clientState"], "secretClientValue");
    assert_eq!(s["expirationDateTime"], at(24 * 60));
    assert_eq!(s["latestSupportedTlsVersion"], "v1_2");
    assert_eq!(s["includeResourceData"], false);
    assert!(created.headers.contains_key("request-id"));
    assert_eq!(created.headers["client-request-id"], "test-123");
    let id = s["id"].as_str().unwrap().to_owned();

    let got = call(
        &e,
        M::GET,
        &format!("/beta/subscriptions/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json["id"], id.as_str());

    let renewed = call(
        &e,
        M::PATCH,
        &format!("/v1.0/subscriptions/{id}"),
        Some(&token),
        Some(&json!({"expirationDateTime": at(3 * 24 * 60)})),
    )
    .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.json);
    assert_eq!(renewed.json["expirationDateTime"], at(3 * 24 * 60));

    // Under 45 minutes is raised to 45 minutes, as Graph does.
    let raised = call(
        &e,
        M::PATCH,
        &format!("/v1.0/subscriptions/{id}"),
        Some(&token),
        Some(&json!({"expirationDateTime": at(10)})),
    )
    .await;
    assert_eq!(raised.status, StatusCode::OK, "{}", raised.json);
    let effective =
        chrono::DateTime::parse_from_rfc3339(raised.json["expirationDateTime"].as_str().unwrap())
            .unwrap();
    let start = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    assert!((effective - start).num_minutes() >= 45, "{effective}");

    let reauthorized = call(
        &e,
        M::POST,
        &format!("/v1.0/subscriptions/{id}/reauthorize"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(reauthorized.status, StatusCode::NO_CONTENT);

    let deleted = call(
        &e,
        M::DELETE,
        &format!("/v1.0/subscriptions/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(
        &e,
        M::GET,
        &format!("/v1.0/subscriptions/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.json["error"]["code"], "ResourceNotFound");
    assert_eq!(
        gone.json["error"]["innerError"]["client-request-id"],
        "test-123"
    );
    assert!(
        gone.json["error"]["innerError"]["request-id"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    let renew_gone = call(
        &e,
        M::PATCH,
        &format!("/v1.0/subscriptions/{id}"),
        Some(&token),
        Some(&json!({"expirationDateTime": at(60)})),
    )
    .await;
    assert_eq!(renew_gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn graph_rules_come_from_the_core() {
    let e = emulator(100).await;
    let token = app_token(&e, APP, &["Mail.Read"]);
    // Validation: every diagnostic in `details`, the first error as the message.
    let mut bad = body("me/messages", 20 * 24 * 60);
    bad["changeType"] = json!("created,modified");
    let refused = call(&e, M::POST, "/v1.0/subscriptions", Some(&token), Some(&bad)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json["error"]["code"], "InvalidRequest");
    let codes: Vec<&str> = refused.json["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"invalid-change-type") && codes.contains(&"expiration-beyond-maximum"),
        "{codes:?}"
    );

    // Duplicates: same app, changeType and resource.
    let first = call(
        &e,
        M::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&body("users/ada@contoso.com/messages", 60)),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = call(
        &e,
        M::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&body("Users/ada@contoso.com/messages", 60)),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.json["error"]["message"],
        format!(
            "Subscription Id {} already exists for the requested combination",
            first.json["id"].as_str().unwrap()
        )
    );

    // Permissions: the table of the Create page, per permission type.
    let chat_token = app_token(&e, APP, &["Mail.Read"]);
    let forbidden = call(
        &e,
        M::POST,
        "/v1.0/subscriptions",
        Some(&chat_token),
        Some(&json!({
            "changeType": "created", "notificationUrl": "https://webhook.example.com/notify",
            "resource": "chats/getAllMessages?model=B", "expirationDateTime": at(50)
        })),
    )
    .await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "{}",
        forbidden.json
    );
    assert!(
        forbidden.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Chat.Read.All"),
        "{}",
        forbidden.json
    );
    let delegated = user_token(&e, "ada", &["Chat.Read.All"]);
    let unsupported = call(
        &e,
        M::POST,
        "/v1.0/subscriptions",
        Some(&delegated),
        Some(&json!({
            "changeType": "created", "notificationUrl": "https://webhook.example.com/notify",
            "resource": "chats/getAllMessages?model=B", "expirationDateTime": at(50)
        })),
    )
    .await;
    // The core refuses it first: chats/getAllMessages supports application permissions only.
    assert_eq!(
        unsupported.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unsupported.json
    );
    assert!(
        unsupported.json["error"]["details"]
            .to_string()
            .contains("permission-type-not-supported")
    );

    // A loopback endpoint over plain HTTP is accepted locally (the emulator can reach it).
    let mut local = body("users/bob@contoso.com/messages", 60);
    local["notificationUrl"] = json!("http://127.0.0.1:9/notify");
    let accepted = call(
        &e,
        M::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&local),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.json);

    // Unknown versions and paths answer in Graph's shape.
    let version = call(&e, M::GET, "/v2.0/subscriptions", Some(&token), None).await;
    assert_eq!(version.status, StatusCode::BAD_REQUEST);
    let nowhere = call(&e, M::GET, "/v1.0/me/messages", Some(&token), None).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.json["error"]["code"].is_string());
}

#[tokio::test]
async fn tokens_are_checked_like_the_identity_platforms() {
    let e = emulator(100).await;
    let path = "/v1.0/subscriptions";
    let missing = call(&e, M::GET, path, None, None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.json["error"]["code"], "InvalidAuthenticationToken");
    assert!(missing.headers.contains_key("www-authenticate"));
    for forged in [
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln",
    ] {
        let answer = call(&e, M::GET, path, Some(forged), None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{forged}");
    }
    // A valid token with its signature changed.
    let token = app_token(&e, APP, &["Mail.Read"]);
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let tampered = format!("{signed}.{}", signature.chars().rev().collect::<String>());
    assert_eq!(
        call(&e, M::GET, path, Some(&tampered), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A token of another emulator (another issuer).
    let other = emulator(100).await;
    let foreign = app_token(&other, APP, &["Mail.Read"]);
    assert_eq!(
        call(&e, M::GET, path, Some(&foreign), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Expired on the emulator's clock.
    assert_eq!(
        call(&e, M::GET, path, Some(&token), None).await.status,
        StatusCode::OK
    );
    let moved = call(
        &e,
        M::POST,
        "/emulator/clock",
        None,
        Some(&json!({"advanceSeconds": 3601})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK);
    let expired = call(&e, M::GET, path, Some(&token), None).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(
        expired.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn the_token_endpoint_plays_the_client_credentials_flow() {
    let e = emulator(100).await;
    let client = reqwest::Client::new();
    let endpoint = format!("{}/{}/oauth2/v2.0/token", e.base_url(), e.tenant_id());
    let form = |secret: &str, scope: &str, grant: &str| {
        vec![
            ("grant_type", grant.to_owned()),
            ("client_id", APP.to_owned()),
            ("client_secret", secret.to_owned()),
            ("scope", scope.to_owned()),
        ]
    };
    let ok = client
        .post(&endpoint)
        .form(&form(
            "app-secret-value",
            "https://graph.microsoft.com/.default",
            "client_credentials",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let token: Value = ok.json().await.unwrap();
    let access = token["access_token"].as_str().unwrap();
    let listed = call(&e, M::GET, "/v1.0/subscriptions", Some(access), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);

    for (secret, scope, grant, status, error, aadsts) in [
        (
            "wrong",
            "https://graph.microsoft.com/.default",
            "client_credentials",
            401,
            "invalid_client",
            "AADSTS7000215",
        ),
        (
            "app-secret-value",
            "Mail.Read",
            "client_credentials",
            400,
            "invalid_scope",
            "AADSTS1002012",
        ),
        (
            "app-secret-value",
            "https://graph.microsoft.com/.default",
            "password",
            400,
            "unsupported_grant_type",
            "AADSTS70003",
        ),
    ] {
        let answer = client
            .post(&endpoint)
            .form(&form(secret, scope, grant))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{error}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], error);
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(aadsts),
            "{body}"
        );
        assert!(
            !body.to_string().contains("wrong"),
            "the secret is not echoed"
        );
    }
    let unknown = client
        .post(&endpoint)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
            ("client_secret", "x"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    // The published keys verify the tokens, as a receiver would check Microsoft's.
    let config: Value = client
        .get(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            e.base_url(),
            e.tenant_id()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: Value = client
        .get(config["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["https://graph.microsoft.com"]);
    validation.set_issuer(&[config["issuer"].as_str().unwrap()]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(access, &decoding, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["roles"], json!(["Mail.Read", "Chat.Read.All"]));
    assert_eq!(claims["tid"], e.tenant_id());
    assert_eq!(claims["appid"], APP);
}

#[tokio::test]
async fn list_pages_without_duplicates_or_gaps_while_others_are_created() {
    let e = emulator(7).await;
    let token = app_token(&e, APP, &["Mail.Read"]);
    let mut before = HashSet::new();
    for i in 0..40 {
        let created = call(
            &e,
            M::POST,
            "/v1.0/subscriptions",
            Some(&token),
            Some(&body(&format!("users/user{i}@contoso.com/messages"), 60)),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED);
        before.insert(created.json["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut next = Some("/v1.0/subscriptions".to_owned());
    let mut pages = 0;
    let mut extra = 100;
    while let Some(url) = next {
        let page = call(&e, M::GET, &url, Some(&token), None).await;
        assert_eq!(page.status, StatusCode::OK);
        pages += 1;
        for s in page.json["value"].as_array().unwrap() {
            assert_eq!(
                s["clientState"],
                Value::Null,
                "List never returns clientState"
            );
            seen.push(s["id"].as_str().unwrap().to_owned());
        }
        next = page.json["@odata.nextLink"].as_str().map(str::to_owned);
        // Others create subscriptions between pages.
        for _ in 0..3 {
            extra += 1;
            let created = call(
                &e,
                M::POST,
                "/v1.0/subscriptions",
                Some(&token),
                Some(&body(
                    &format!("users/user{extra}@contoso.com/messages"),
                    60,
                )),
            )
            .await;
            assert_eq!(created.status, StatusCode::CREATED);
        }
        assert!(pages < 100, "paging must end");
    }
    assert!(pages >= 6, "{pages} pages of 7");
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no subscription twice");
    assert!(
        before.iter().all(|id| unique.contains(id)),
        "every subscription that existed is listed"
    );
}

#[tokio::test]
async fn list_shows_what_the_four_scenarios_allow() {
    let e = emulator(100).await;
    let ada = user_token(&e, "ada", &["Mail.Read"]);
    let bob = user_token(&e, "bob", &["Mail.Read"]);
    let other_app_ada = e.token(&TokenSpec::delegated(
        e.tenant_id(),
        OTHER_APP,
        "ada",
        &["Calendars.Read"],
    ));
    for (token, resource) in [
        (&ada, "me/messages"),
        (&bob, "me/messages"),
        (&other_app_ada, "me/events"),
    ] {
        let created = call(
            &e,
            M::POST,
            "/v1.0/subscriptions",
            Some(token),
            Some(&body(resource, 60)),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    }
    let app = app_token(&e, APP, &["Mail.Read"]);
    let created = call(
        &e,
        M::POST,
        "/v1.0/subscriptions",
        Some(&app),
        Some(&body("users/carol@contoso.com/messages", 60)),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);

    let count = |token: String| {
        let e = &e;
        async move {
            let listed = call(e, M::GET, "/v1.0/subscriptions", Some(&token), None).await;
            assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
            listed.json["value"].as_array().unwrap().len()
        }
    };
    // Delegated with the permission used to create: this app, for the signed-in user.
    assert_eq!(count(ada.clone()).await, 1);
    // Application: this app, for anyone.
    assert_eq!(count(app.clone()).await, 3);
    // Delegated non-admin with Subscription.Read.All: any app, for the signed-in user.
    assert_eq!(
        count(user_token(&e, "ada", &["Subscription.Read.All"])).await,
        2
    );
    // Delegated admin with Subscription.Read.All: any app, any user.
    let mut admin = TokenSpec::delegated(e.tenant_id(), APP, "admin", &["Subscription.Read.All"]);
    admin.admin = true;
    assert_eq!(count(e.token(&admin)).await, 4);
}

#[tokio::test]
async fn subscriptions_vanish_when_they_expire_on_the_emulators_clock() {
    let e = emulator(100).await;
    let token = user_token(&e, "ada", &["Presence.Read.All"]);
    let created = call(
        &e,
        M::POST,
        "/v1.0/subscriptions",
        Some(&token),
        Some(&json!({
            "changeType": "updated", "notificationUrl": "https://webhook.example.com/notify",
            "resource": "communications/presences/ada@contoso.com", "expirationDateTime": at(60)
        })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let now = call(&e, M::GET, "/emulator/clock", None, None).await;
    assert_eq!(now.json["now"].as_str().unwrap()[..13], NOW[..13]);
    let moved = call(
        &e,
        M::POST,
        "/emulator/clock",
        None,
        Some(&json!({"advanceSeconds": 59 * 60})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK);
    let fresh = user_token(&e, "ada", &["Presence.Read.All"]);
    assert_eq!(
        call(
            &e,
            M::GET,
            &format!("/v1.0/subscriptions/{id}"),
            Some(&fresh),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    call(
        &e,
        M::POST,
        "/emulator/clock",
        None,
        Some(&json!({"advanceSeconds": 120})),
    )
    .await;
    assert_eq!(
        call(
            &e,
            M::GET,
            &format!("/v1.0/subscriptions/{id}"),
            Some(&fresh),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(e.subscription_count().await, 0);
    let back = call(
        &e,
        M::POST,
        "/emulator/clock",
        None,
        Some(&json!({"set": NOW})),
    )
    .await;
    assert_eq!(back.status, StatusCode::BAD_REQUEST, "time never goes back");
}
