//! `graph-subs demo`: the whole lifecycle of subscriptions with no tenant. It starts the
//! emulator and a notification receiver in-process, on loopback, and walks through: a
//! token from the emulator's token endpoint (client credentials), creating subscriptions
//! (the emulator validates the receiver's endpoint first, as Graph does), listing, a
//! request refused before the call and why, renewing, a change notification delivered to
//! the receiver and its `clientState` checked, a lifecycle event answered with
//! reauthorize, and deleting everything.

use std::io::Write;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Utc;
use futures_util::TryStreamExt as _;
use graph_subs_core::notification::{ChangeNotification, LifecycleNotification, Notifications};
use graph_subs_core::subscription::ClientState;
use graph_subs_emulator::{App, Emulator};
use graph_subs_http::{ClientCredentials, Error, GraphClient, Secret};
use serde_json::json;
use tokio::sync::mpsc;

use crate::Exit;
use crate::report::Report;

/// Walk through a subscription's lifecycle on the built-in emulator (no tenant needed).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

const APP_ID: &str = "5f0a7a2e-1c3b-4d5e-8f90-123456789abc";
const CLIENT_STATE: &str = "demo-client-state";

/// What the receiver heard.
#[derive(Debug)]
enum Heard {
    Notification(ChangeNotification),
    Lifecycle(LifecycleNotification),
    Rejected(String),
}

#[derive(Clone)]
struct Receiver {
    heard: mpsc::UnboundedSender<Heard>,
}

#[derive(serde::Deserialize)]
struct ValidationQuery {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// The receiver's endpoint: Graph's validation handshake, then notifications whose
/// `clientState` it checks.
async fn receive(
    State(receiver): State<Receiver>,
    Query(query): Query<ValidationQuery>,
    body: Bytes,
    lifecycle: bool,
) -> axum::response::Response {
    if let Some(token) = query.validation_token {
        return (StatusCode::OK, [("content-type", "text/plain")], token).into_response();
    }
    // The core's types, as Graph writes them; the clientState checked in constant time.
    let matches = |state: Option<&ClientState>| state.is_some_and(|s| s.matches(CLIENT_STATE));
    let heard: Result<Vec<Heard>, serde_json::Error> = if lifecycle {
        serde_json::from_slice::<Notifications<LifecycleNotification>>(&body).map(|n| {
            n.value
                .into_iter()
                .map(|item| match matches(item.client_state.as_ref()) {
                    true => Heard::Lifecycle(item),
                    false => Heard::Rejected("clientState does not match".into()),
                })
                .collect()
        })
    } else {
        serde_json::from_slice::<Notifications<ChangeNotification>>(&body).map(|n| {
            n.value
                .into_iter()
                .map(|item| match matches(item.client_state.as_ref()) {
                    true => Heard::Notification(item),
                    false => Heard::Rejected("clientState does not match".into()),
                })
                .collect()
        })
    };
    let Ok(heard) = heard else {
        let _ = receiver
            .heard
            .send(Heard::Rejected("not a notification".into()));
        return StatusCode::BAD_REQUEST.into_response();
    };
    for item in heard {
        let _ = receiver.heard.send(item);
    }
    StatusCode::ACCEPTED.into_response()
}

fn step(out: &mut dyn Write, n: u32, text: &str) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{n}. {text}")
}

fn failed(what: &str) -> impl Fn(Error) -> Report + '_ {
    move |e| Report::new(Exit::Failure, format!("the demo failed to {what}")).caused_by(&e)
}

pub(crate) fn run(_args: &Args, out: &mut dyn Write) -> Result<Exit, Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Report::new(Exit::Failure, "cannot start the async runtime").caused_by(&e))?;
    runtime.block_on(demo(out))
}

async fn demo(out: &mut dyn Write) -> Result<Exit, Report> {
    // A fresh secret each run: nothing to leak, nothing to configure.
    let secret = format!("{:032x}", rand::random::<u128>());
    let emulator = Emulator::builder()
        .app(App::new(
            APP_ID,
            secret.clone(),
            &["Mail.Read", "Calendars.Read"],
        ))
        .build()
        .start()
        .await
        .map_err(|e| Report::new(Exit::Failure, "the emulator could not start").caused_by(&e))?;
    let (tx, mut heard) = mpsc::unbounded_channel();
    let receiver = Receiver { heard: tx };
    let app = Router::new()
        .route(
            "/notify",
            post(|s: State<Receiver>, q: Query<ValidationQuery>, b: Bytes| receive(s, q, b, false)),
        )
        .route(
            "/lifecycle",
            post(|s: State<Receiver>, q: Query<ValidationQuery>, b: Bytes| receive(s, q, b, true)),
        )
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Report::new(Exit::Failure, "the receiver could not listen").caused_by(&e))?;
    let receiver_url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| Report::new(
            Exit::Failure,
            "the receiver has no address"
        )
        .caused_by(&e))?
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let base = emulator.base_url().to_owned();
    writeln!(
        out,
        "graph-subs demo: the lifecycle of subscriptions, with no tenant"
    )?;
    writeln!(out, "  emulator (Graph and its token issuer): {base}")?;
    writeln!(
        out,
        "  notification receiver:                 {receiver_url}"
    )?;

    step(
        out,
        1,
        "Get a token with the client-credentials flow, from the emulator's token endpoint",
    )?;
    let credentials = ClientCredentials::new(
        &base,
        emulator.tenant_id(),
        APP_ID,
        Secret::new(secret),
        "https://graph.microsoft.com",
    );
    let client = GraphClient::builder()
        .base_url(format!("{base}/v1.0"))
        .token_provider(credentials)
        .allow_http_loopback(true)
        .build()
        .map_err(failed("build the client"))?;
    let grants = client.grants().await.map_err(failed("get a token"))?;
    let roles = grants.map(|g| g.permissions.join(", ")).unwrap_or_default();
    writeln!(out, "   application permissions in the token: {roles}")?;

    step(
        out,
        2,
        "Create subscriptions (the emulator first validates the receiver's endpoint, as Graph does)",
    )?;
    let expires = Utc::now() + chrono::Duration::days(2);
    let body = |resource: &str| {
        json!({
            "changeType": "created,updated",
            "notificationUrl": format!("{receiver_url}/notify"),
            "lifecycleNotificationUrl": format!("{receiver_url}/lifecycle"),
            "resource": resource,
            "expirationDateTime": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "clientState": CLIENT_STATE,
        })
    };
    let mut created = Vec::new();
    for resource in [
        "users/ada@contoso.com/messages",
        "users/ada@contoso.com/events",
    ] {
        let c = client
            .create_json(body(resource).to_string().as_bytes())
            .await
            .map_err(failed("create a subscription"))?;
        writeln!(out, "   created {} on {resource}", c.subscription.id)?;
        created.push(c.subscription);
    }

    step(out, 3, "A request refused before the call, and why")?;
    let mut too_long = body("users/ada@contoso.com/mailFolders('Inbox')/messages");
    too_long["expirationDateTime"] = json!((Utc::now() + chrono::Duration::days(30)).to_rfc3339());
    match client.create_json(too_long.to_string().as_bytes()).await {
        Err(e @ Error::Invalid { .. }) => writeln!(out, "   {e}")?,
        Err(e) => return Err(failed("show a refused request")(e)),
        Ok(_) => {
            return Err(Report::new(
                Exit::Failure,
                "the demo's refused request was accepted",
            ));
        }
    }
    match client
        .create_json(body("chats/getAllMessages?model=B").to_string().as_bytes())
        .await
    {
        Err(e @ (Error::MissingPermission { .. } | Error::PermissionTypeNotSupported { .. })) => {
            writeln!(out, "   {e}")?;
        }
        Err(e) => return Err(failed("show a refused request")(e)),
        Ok(_) => {
            return Err(Report::new(
                Exit::Failure,
                "the demo's unauthorized request was accepted",
            ));
        }
    }
    writeln!(
        out,
        "   (neither was sent: the emulator holds {} subscriptions)",
        emulator.subscription_count().await
    )?;

    step(
        out,
        4,
        "List them (every page), then renew one to its maximum lifetime",
    )?;
    let listed: Vec<_> = client.list().try_collect().await.map_err(failed("list"))?;
    for s in &listed {
        writeln!(
            out,
            "   {}  expires {}  {}",
            s.id, s.expiration_date_time, s.resource
        )?;
    }
    let first = &created[0];
    let to = Utc::now() + chrono::Duration::days(7) - chrono::Duration::minutes(1);
    let renewed = client.renew(first, to).await.map_err(failed("renew"))?;
    writeln!(
        out,
        "   renewed {} to {}",
        renewed.id, renewed.expiration_date_time
    )?;

    step(
        out,
        5,
        "A change in Ada's mailbox: the emulator notifies the receiver",
    )?;
    let http = reqwest::Client::new();
    let report = http
        .post(format!("{base}/emulator/changes"))
        .json(&json!({"resource": "users/ada@contoso.com/messages", "changeType": "created"}))
        .send()
        .await
        .map_err(|e| Report::new(Exit::Failure, "cannot report a change").caused_by(&e))?;
    if !report.status().is_success() {
        return Err(Report::new(
            Exit::Failure,
            format!("the emulator refused the change ({})", report.status()),
        ));
    }
    match tokio::time::timeout(Duration::from_secs(10), heard.recv()).await {
        Ok(Some(Heard::Notification(n))) => writeln!(
            out,
            "   received: {} {} (clientState checked)",
            n.change_type, n.resource
        )?,
        Ok(Some(Heard::Rejected(why))) => {
            return Err(Report::new(
                Exit::Failure,
                format!("the receiver rejected a notification: {why}"),
            ));
        }
        other => {
            return Err(Report::new(
                Exit::Failure,
                format!("no notification arrived: {other:?}"),
            ));
        }
    }

    step(
        out,
        6,
        "Graph asks for reauthorization (a lifecycle event): answer it",
    )?;
    let report = http
        .post(format!("{base}/emulator/lifecycle"))
        .json(&json!({"subscriptionId": first.id, "lifecycleEvent": "reauthorizationRequired"}))
        .send()
        .await
        .map_err(|e| Report::new(Exit::Failure, "cannot send a lifecycle event").caused_by(&e))?;
    if !report.status().is_success() {
        return Err(Report::new(
            Exit::Failure,
            format!(
                "the emulator refused the lifecycle event ({})",
                report.status()
            ),
        ));
    }
    match tokio::time::timeout(Duration::from_secs(10), heard.recv()).await {
        Ok(Some(Heard::Lifecycle(event))) => {
            let id = event.subscription_id;
            writeln!(out, "   received: {} for {id}", event.lifecycle_event)?;
            client
                .reauthorize(&id)
                .await
                .map_err(failed("reauthorize"))?;
            writeln!(out, "   reauthorized {id}")?;
        }
        Ok(Some(Heard::Rejected(why))) => {
            return Err(Report::new(
                Exit::Failure,
                format!("the receiver rejected a lifecycle event: {why}"),
            ));
        }
        other => {
            return Err(Report::new(
                Exit::Failure,
                format!("no lifecycle event arrived: {other:?}"),
            ));
        }
    }

    step(out, 7, "Delete them all")?;
    let ids: Vec<String> = created.iter().map(|s| s.id.clone()).collect();
    let outcome = client
        .delete_many(&ids, graph_subs_http::Mode::Batched)
        .await;
    writeln!(
        out,
        "   deleted {}, failed {}",
        outcome.succeeded.len(),
        outcome.failed.len()
    )?;
    let left: Vec<_> = client.list().try_collect().await.map_err(failed("list"))?;
    writeln!(out, "   {} subscriptions left", left.len())?;
    writeln!(out)?;
    writeln!(
        out,
        "Done. Next: `graph-subs emulator` to keep one running, and the same commands against Graph with your tenant's credentials (see the README)."
    )?;
    let _ = emulator.shutdown().await;
    Ok(if outcome.failed.is_empty() && left.is_empty() {
        Exit::Success
    } else {
        Exit::No
    })
}
