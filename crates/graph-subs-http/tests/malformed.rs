//! Answers no honest server sends, from a scripted server: each gives a clear error,
//! never a panic or an endless loop.

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use futures_util::TryStreamExt as _;
use graph_subs_http::{Error, GraphClient, Mode, RetryPolicy, StaticToken};

const SUBSCRIPTION: &str = r#"{"id":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07","resource":"me/messages","changeType":"created","notificationUrl":"https://webhook.example.com/notify","expirationDateTime":"2026-11-25T09:00:00Z"}"#;

/// A server answering each path with a fixed status, content type and body.
async fn scripted() -> String {
    let json = |status: StatusCode, body: String| {
        move || {
            let body = body.clone();
            async move { (status, [(header::CONTENT_TYPE, "application/json")], body).into_response() }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route(
            "/truncated/subscriptions",
            get(json(StatusCode::OK, r#"{"value":[{"id":"a","reso"#.into())),
        )
        .route(
            "/html/subscriptions",
            get(|| async {
                (
                    StatusCode::BAD_GATEWAY,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body>502 Bad Gateway</body></html>",
                )
            }),
        )
        .route(
            "/types/subscriptions",
            get(json(
                StatusCode::OK,
                format!(r#"{{"value":[{SUBSCRIPTION},{{"id":"b","resource":"me/events","changeType":"created","notificationUrl":"https://x.example.com","expirationDateTime":5}}]}}"#),
            )),
        )
        .route("/novalue/subscriptions", get(json(StatusCode::OK, r#"{"values":[]}"#.into())))
        .route(
            "/loop/subscriptions",
            get(json(
                StatusCode::OK,
                format!(r#"{{"value":[{SUBSCRIPTION}],"@odata.nextLink":"{base}/loop/subscriptions"}}"#),
            )),
        )
        .route(
            "/elsewhere/subscriptions",
            get(json(
                StatusCode::OK,
                format!(r#"{{"value":[{SUBSCRIPTION}],"@odata.nextLink":"https://attacker.example.com/steal?token=1"}}"#),
            )),
        )
        .route(
            "/renewtypes/subscriptions/7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
            patch(json(StatusCode::OK, r#"{"id":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07","expirationDateTime":5}"#.into())),
        )
        .route(
            "/renewhtml/subscriptions/7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
            patch(|| async {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html")],
                    "<html><body>Sign in to the network</body></html>",
                )
            }),
        )
        .route(
            "/error/subscriptions/7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
            get(json(StatusCode::FORBIDDEN, r#"{"error":{"code":42,"message":["not","text"]}}"#.into())),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

fn client(base: &str, path: &str) -> GraphClient {
    GraphClient::builder()
        .base_url(format!("{base}/{path}"))
        .token_provider(StaticToken::new("opaque-test-token"))
        .retry(RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

async fn list(base: &str, path: &str) -> Result<usize, Error> {
    let all: Vec<_> = client(base, path).list().try_collect().await?;
    Ok(all.len())
}

#[tokio::test]
async fn malformed_answers_are_clear_errors() {
    let base = scripted().await;

    let e = list(&base, "truncated").await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("EOF"), "{e}");

    let e = list(&base, "html").await.unwrap_err();
    assert_eq!(e.status(), Some(502));
    assert!(e.to_string().contains("an HTML page"), "{e}");

    let e = list(&base, "types").await.unwrap_err();
    let Error::Decode { path, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(path, "value[1].expirationDateTime");

    let e = list(&base, "novalue").await.unwrap_err();
    assert!(e.to_string().contains("missing field `value`"), "{e}");

    let e = list(&base, "loop").await.unwrap_err();
    assert!(matches!(e, Error::NextLinkLoop { page: 2, .. }), "{e:?}");

    let e = list(&base, "elsewhere").await.unwrap_err();
    assert!(e.to_string().contains("another host"), "{e}");
    assert!(!e.to_string().contains("token=1"), "{e}");

    let e = client(&base, "error")
        .get("7f105c7d-2dc5-4530-97cd-4e7ae6534c07")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert!(e.to_string().contains("no error message"), "{e}");

    // A renewal answered 200 with no readable expiration (a captive portal's page, a
    // wrong type) is not reported renewed, one request each or not.
    let to = chrono::Utc::now() + chrono::Duration::days(1);
    for (path, says) in [
        ("renewtypes", "expirationDateTime"),
        ("renewhtml", "expected value"),
    ] {
        let outcome = client(&base, path)
            .renew_many(
                &[("7f105c7d-2dc5-4530-97cd-4e7ae6534c07".to_owned(), to)],
                Mode::Single,
            )
            .await;
        assert!(outcome.succeeded.is_empty(), "{path}: {outcome:?}");
        assert_eq!(outcome.failed.len(), 1, "{path}: {outcome:?}");
        assert!(
            outcome.failed[0].message.contains(says),
            "{path}: {outcome:?}"
        );
    }

    // Nobody listening: a transport error naming the URL, after the retries.
    let e = client("http://127.0.0.1:9", "v1.0")
        .list()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("connection failed"), "{e}");
    assert!(!e.to_string().contains("opaque-test-token"));

    // Base URLs that are not a service root.
    for bad in [
        "graph.microsoft.com/v1.0",
        "ftp://x/v1.0",
        "https://u:p@graph.microsoft.com/v1.0",
        "https://graph.microsoft.com/v1.0?x=1",
    ] {
        let e = GraphClient::builder()
            .base_url(bad)
            .token_provider(StaticToken::new("t"))
            .build()
            .unwrap_err();
        assert!(
            e.to_string().contains("https://graph.microsoft.com/v1.0"),
            "{bad}: {e}"
        );
        assert!(!e.to_string().contains("u:p"), "{e}");
    }
}
