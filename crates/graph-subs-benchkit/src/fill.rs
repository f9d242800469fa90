//! Emulators for the load benchmarks: their runtimes, and subscriptions stored in the
//! shape `POST /subscriptions` stores them, without a million requests.

use chrono::{DateTime, Utc};
use graph_subs_core::notification_url::NotificationUrl;
use graph_subs_core::subscription::{
    ClientState, EncryptionCertificate, Subscription, Timestamp, Unknown,
};
use graph_subs_emulator::{DEFAULT_APP_ID, RunningEmulator};

use crate::Result;

/// A runtime for the emulator: tokio's multi-threaded one, a worker per CPU, as
/// `graph-subs emulator` runs it.
pub fn server_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .thread_name("emulator")
        .enable_all()
        .build()?)
}

/// A runtime for the clients: one thread drives every connection, so that the client
/// takes as little CPU from the emulator as it can.
pub fn client_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A user id per index: distinct resources, so no two subscriptions are duplicates.
pub fn user_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Subscription `i` as `POST /subscriptions` stores one for an app: the app, its service
/// principal as creator, a resource of its own, the defaults the emulator fills in.
pub fn stored(
    i: usize,
    app_id: &str,
    now: DateTime<Utc>,
    url: &NotificationUrl,
) -> Result<Subscription> {
    // Spread over a day, as renewals at different times leave them.
    let expiration =
        now + chrono::Duration::days(2) + chrono::Duration::seconds((i % 86_400) as i64);
    Ok(Subscription {
        id: uuid::Uuid::new_v4().to_string(),
        resource: format!("users/{}/messages", user_id(i)),
        application_id: Some(app_id.to_owned()),
        change_type: "created,updated".to_owned(),
        client_state: Some(ClientState::new("secretClientValue")?),
        notification_url: url.clone(),
        lifecycle_notification_url: None,
        expiration_date_time: Timestamp::new(expiration)?,
        creator_id: Some(format!("sp-{app_id}")),
        latest_supported_tls_version: Some("v1_2".to_owned()),
        encryption_certificate: Some(EncryptionCertificate::new("")),
        encryption_certificate_id: Some(String::new()),
        include_resource_data: Some(false),
        notification_content_type: Some("application/json".to_owned()),
        notification_query_options: None,
        notification_url_app_id: None,
        unknown: Unknown::default(),
    })
}

/// Stores subscriptions `from..to` in the emulator, in batches.
pub async fn fill(emulator: &RunningEmulator, from: usize, to: usize) -> Result<()> {
    let url = NotificationUrl::parse("https://webhook.example.com/api/notify")?;
    let now = emulator.now();
    let mut i = from;
    while i < to {
        let batch_end = (i + 10_000).min(to);
        let batch = (i..batch_end)
            .map(|i| stored(i, DEFAULT_APP_ID, now, &url))
            .collect::<Result<Vec<_>>>()?;
        emulator.store_unchecked(emulator.tenant_id(), batch).await;
        i = batch_end;
    }
    Ok(())
}
