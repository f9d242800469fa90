//! `graph-subs demo`: the whole lifecycle of subscriptions with no tenant. It starts the
//! emulator and a notification receiver in-process, on loopback, and walks through: a
//! token from the emulator's token endpoint (client credentials), creating subscriptions
//! (the emulator validates the receiver's endpoint first, as Graph does), listing, a
//! request refused before the call and why, renewing, a change notification delivered to
//! the receiver and its `clientState` checked, a rich notification (a Teams message
//! encrypted for a certificate made for the run, its validation token and signature
//! checked, then decrypted), a lifecycle event answered with reauthorize, and deleting
//! everything.

use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use futures_util::TryStreamExt as _;
use graph_subs_core::subscription::ClientState;
use graph_subs_emulator::{App, Emulator};
use graph_subs_http::{ClientCredentials, Error, GraphClient, Secret};
use graph_subs_receiver::rich::{DecryptionKeys, IssuerKeys, TokenVerifier};
use graph_subs_receiver::{
    ClientStates, DEFAULT_LIFECYCLE_PATH, DEFAULT_NOTIFICATION_PATH, Event, Receiver,
};
use serde_json::json;

use crate::Exit;
use crate::report::Report;

/// Walk through a subscription's lifecycle on the built-in emulator (no tenant needed).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

const APP_ID: &str = "5f0a7a2e-1c3b-4d5e-8f90-123456789abc";
const CLIENT_STATE: &str = "demo-client-state";

fn step(out: &mut dyn Write, n: u32, text: &str) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{n}. {text}")
}

fn failed(what: &str) -> impl Fn(Error) -> Report + '_ {
    move |e| Report::new(Exit::Failure, format!("the demo failed to {what}")).caused_by(&e)
}

/// Reports `change` to the emulator (`POST /emulator/changes`).
async fn report_change(
    http: &reqwest::Client,
    base: &str,
    change: serde_json::Value,
) -> Result<(), Report> {
    let report = http
        .post(format!("{base}/emulator/changes"))
        .json(&change)
        .send()
        .await
        .map_err(|e| Report::new(Exit::Failure, "cannot report a change").caused_by(&e))?;
    if !report.status().is_success() {
        return Err(Report::new(
            Exit::Failure,
            format!("the emulator refused the change ({})", report.status()),
        ));
    }
    Ok(())
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
            &["Mail.Read", "Calendars.Read", "ChannelMessage.Read.All"],
        ))
        .build()
        .start()
        .await
        .map_err(|e| Report::new(Exit::Failure, "the emulator could not start").caused_by(&e))?;
    // The receiver of graph-subs-receiver: the handshake, clientState checked on each
    // notification, lifecycle events typed; rich notifications verified against the
    // emulator's keys and decrypted with a certificate made for this run.
    let client_state = ClientState::new(CLIENT_STATE)
        .map_err(|e| Report::new(Exit::Failure, "the demo's clientState").caused_by(&e))?;
    let (certificate, private_key) =
        graph_subs_receiver::rich::self_signed_certificate("graph-subs demo")
            .map_err(|e| Report::new(Exit::Failure, format!("the demo's certificate: {e}")))?;
    let mut keys = DecryptionKeys::new();
    keys.add_pem(&private_key)
        .map_err(|e| Report::new(Exit::Failure, "the demo's private key").caused_by(&e))?;
    let verifier = TokenVerifier::new(
        vec![APP_ID.to_owned()],
        IssuerKeys::Url(format!(
            "{}/common/discovery/v2.0/keys",
            emulator.base_url()
        )),
    );
    let (receiver, mut heard) = Receiver::builder(ClientStates::Shared(client_state))
        .rich(keys, verifier)
        .build();
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
    tokio::spawn(graph_subs_receiver::serve(
        listener,
        receiver.router(),
        std::future::pending(),
    ));

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
            "notificationUrl": format!("{receiver_url}{DEFAULT_NOTIFICATION_PATH}"),
            "lifecycleNotificationUrl": format!("{receiver_url}{DEFAULT_LIFECYCLE_PATH}"),
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
    let first = created[0].clone();
    let to = Utc::now() + chrono::Duration::days(7) - chrono::Duration::minutes(1);
    let renewed = client.renew(&first, to).await.map_err(failed("renew"))?;
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
    report_change(
        &http,
        &base,
        json!({"resource": "users/ada@contoso.com/messages", "changeType": "created"}),
    )
    .await?;
    match tokio::time::timeout(Duration::from_secs(10), heard.recv()).await {
        Ok(Some(Event::Change(n))) => writeln!(
            out,
            "   received: {} {} (clientState checked)",
            n.change_type, n.resource
        )?,
        other => {
            return Err(Report::new(
                Exit::Failure,
                format!(
                    "no notification arrived: {other:?} (the receiver saw {:?})",
                    receiver.stats()
                ),
            ));
        }
    }

    step(
        out,
        6,
        "A rich notification: a Teams message, encrypted for the app's certificate",
    )?;
    let mut rich = body("teams/getAllMessages?model=A");
    rich["changeType"] = json!("created");
    rich["expirationDateTime"] = json!(
        (Utc::now() + chrono::Duration::minutes(50))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    rich["includeResourceData"] = json!(true);
    rich["encryptionCertificate"] = json!(certificate);
    rich["encryptionCertificateId"] = json!("graph-subs-demo");
    let c = client
        .create_json(rich.to_string().as_bytes())
        .await
        .map_err(failed("create a subscription with resource data"))?;
    writeln!(
        out,
        "   created {} on teams/getAllMessages with includeResourceData",
        c.subscription.id
    )?;
    created.push(c.subscription);
    report_change(
        &http,
        &base,
        json!({
            "resource": "teams/getAllMessages",
            "changeType": "created",
            "resourceData": {
                "messageType": "message",
                "from": {"user": {"displayName": "Grace"}},
                "body": {"contentType": "text", "content": "Ship it on Friday?"},
            },
        }),
    )
    .await?;
    match tokio::time::timeout(Duration::from_secs(10), heard.recv()).await {
        Ok(Some(Event::Change(n))) => {
            let data = n.resource_data.unwrap_or_default();
            let text = |v: Option<&serde_json::Value>| {
                v.and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
                    .to_owned()
            };
            writeln!(
                out,
                "   received: validation token and dataSignature checked, then decrypted:"
            )?;
            writeln!(
                out,
                "   {} wrote \"{}\"",
                text(
                    data.get("from")
                        .and_then(|f| f.pointer("/user/displayName"))
                ),
                text(data.get("body").and_then(|b| b.get("content")))
            )?;
        }
        other => {
            return Err(Report::new(
                Exit::Failure,
                format!(
                    "no rich notification arrived: {other:?} (the receiver saw {:?})",
                    receiver.stats()
                ),
            ));
        }
    }

    step(
        out,
        7,
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
        Ok(Some(Event::Lifecycle(event))) => {
            let id = event.subscription_id;
            writeln!(out, "   received: {} for {id}", event.lifecycle_event)?;
            client
                .reauthorize(&id)
                .await
                .map_err(failed("reauthorize"))?;
            writeln!(out, "   reauthorized {id}")?;
        }
        other => {
            return Err(Report::new(
                Exit::Failure,
                format!(
                    "no lifecycle event arrived: {other:?} (the receiver saw {:?})",
                    receiver.stats()
                ),
            ));
        }
    }

    step(out, 8, "Delete them all")?;
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
