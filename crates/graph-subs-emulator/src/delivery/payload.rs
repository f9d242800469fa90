//! What Graph POSTs to an endpoint: change notifications and lifecycle notifications,
//! each a `{"value": [...]}` collection of one item; and which subscriptions a reported
//! change reaches. A subscription with `includeResourceData` gets rich notifications: the
//! resource encrypted for its certificate (`rich.rs`) and a validation token.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use graph_subs_core::catalogue;
use graph_subs_core::change_type::ChangeType;
use graph_subs_core::notification::{
    ChangeNotification, LifecycleEvent, LifecycleNotification, Notifications, ValidationTokenClaims,
};
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::subscription::{Subscription, Unknown};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rich::{CertificateError, Recipient};
use crate::identity::Identity;

/// How long a validation token is valid: an hour, as Graph's.
const VALIDATION_TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// A fault to put into a rich notification, for testing a receiver's checks
/// (`POST /emulator/changes` with `"tamper"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Tamper {
    /// `dataSignature` is not the HMAC of `data`.
    DataSignature,
    /// `data` changed after it was signed.
    Data,
    /// The validation token expired an hour ago.
    ExpiredToken,
    /// A validation token Graph made for another app.
    ForeignToken,
    /// A validation token whose signature is not the issuer's.
    ForgedToken,
    /// No `validationTokens`.
    NoToken,
}

/// What a rich notification needs besides its subscription.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signing<'a> {
    /// Signs the validation token.
    pub(crate) identity: &'a Identity,
    /// The emulator's time.
    pub(crate) now: DateTime<Utc>,
    /// The fault asked for, if any.
    pub(crate) tamper: Option<Tamper>,
}

/// Flips the lowest bit of the first byte of a base64 text.
fn flip_base64(text: &str) -> String {
    let mut bytes = STANDARD.decode(text).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 1;
    }
    STANDARD.encode(bytes)
}

/// The validation token of a notification to `app_id` in `tenant_id`, with the fault
/// asked for.
fn validation_token(app_id: &str, tenant_id: &str, signing: &Signing<'_>) -> Option<String> {
    let now = signing.now.timestamp();
    let lifetime = VALIDATION_TOKEN_LIFETIME_SECONDS;
    let claims = match signing.tamper {
        Some(Tamper::NoToken) => return None,
        Some(Tamper::ExpiredToken) => {
            ValidationTokenClaims::for_app(app_id, tenant_id, now - 2 * lifetime, lifetime)
        }
        Some(Tamper::ForeignToken) => ValidationTokenClaims::for_app(
            "6a1c4e26-5d1e-4c5e-9d1a-f0f0f0f0f0f0",
            tenant_id,
            now,
            lifetime,
        ),
        _ => ValidationTokenClaims::for_app(app_id, tenant_id, now, lifetime),
    };
    let token = signing.identity.validation_token(&claims);
    if signing.tamper == Some(Tamper::ForgedToken) {
        // Another signature of the same length: the last segment's first byte changed.
        let (signed, signature) = token.rsplit_once('.')?;
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
        if let Some(first) = bytes.first_mut() {
            *first ^= 1;
        }
        return Some(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes)));
    }
    Some(token)
}

/// The path of a resource for matching: no leading or trailing `/`, no query, lowercase
/// (Graph's segments are case-insensitive).
fn match_key(resource: &str) -> String {
    let path = resource.split_once('?').map_or(resource, |(path, _)| path);
    path.trim_matches('/').to_lowercase()
}

/// Whether a change of `change_type` on `resource` reaches `subscription`: the same path,
/// compared case-insensitively without a leading `/` and without the query (the
/// emulator does not evaluate `$filter` or `model=`), and a change type the subscription
/// asked for.
pub(crate) fn reaches(
    subscription: &Subscription,
    resource: &str,
    change_type: ChangeType,
) -> bool {
    match_key(&subscription.resource) == match_key(resource)
        && subscription
            .change_types()
            .is_ok_and(|types| types.iter().any(|t| t == change_type))
}

/// `#microsoft.graph.message`: the type of the items of `resource`, from the core's
/// catalogue; `#microsoft.graph.entity` for a resource the catalogue does not know.
fn odata_type(resource: &str) -> String {
    let kind = ResourcePath::parse(resource)
        .ok()
        .and_then(|path| catalogue::resolve(&path).ok())
        .map_or("entity", |r| r.kind().name());
    format!("#microsoft.graph.{kind}")
}

/// The JSON body of a change notification to `subscription`: `resourceData` is the
/// reporter's, completed with `id` (a new one when not given), `@odata.id`
/// (`{resource path}/{id}`, which is also the notification's `resource`) and
/// `@odata.type`, each kept when the reporter gave it.
///
/// With `includeResourceData`, that whole resource is encrypted into `encryptedContent`,
/// `resourceData` keeps only `id`, `@odata.type` and `@odata.id`, and the collection
/// carries a validation token for the subscription's app and tenant; an error when the
/// subscription's certificate cannot encrypt.
pub(crate) fn change(
    subscription: &Subscription,
    tenant_id: &str,
    change_type: ChangeType,
    resource_data: Option<&Map<String, Value>>,
    signing: &Signing<'_>,
) -> Result<Vec<u8>, CertificateError> {
    let mut data = resource_data.cloned().unwrap_or_default();
    let id = match data.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    };
    data.insert("id".into(), Value::String(id.clone()));
    let path = subscription
        .resource
        .split_once('?')
        .map_or(subscription.resource.as_str(), |(path, _)| path)
        .trim_matches('/');
    let item = match data.get("@odata.id").and_then(Value::as_str) {
        Some(given) if !given.is_empty() => given.to_owned(),
        _ => format!("{path}/{id}"),
    };
    data.insert("@odata.id".into(), Value::String(item.clone()));
    if !data.get("@odata.type").is_some_and(Value::is_string) {
        data.insert(
            "@odata.type".into(),
            Value::String(odata_type(&subscription.resource)),
        );
    }
    let mut notification = ChangeNotification {
        subscription_id: subscription.id.clone(),
        subscription_expiration_date_time: subscription.expiration_date_time,
        change_type: change_type.as_str().to_owned(),
        resource: item,
        resource_data: Some(data),
        encrypted_content: None,
        client_state: subscription.client_state.clone(),
        tenant_id: Some(tenant_id.to_owned()),
        unknown: Unknown::default(),
    };
    let mut tokens = Vec::new();
    if subscription.include_resource_data == Some(true) {
        let certificate = subscription
            .encryption_certificate
            .clone()
            .unwrap_or_else(|| graph_subs_core::subscription::EncryptionCertificate::new(""));
        let recipient = Recipient::of(&certificate)?;
        let full = notification.resource_data.take().unwrap_or_default();
        // A map of JSON values always serializes.
        let plain = serde_json::to_vec(&full).unwrap_or_default();
        let mut content =
            recipient.encrypt(subscription.encryption_certificate_id.as_deref(), &plain);
        match signing.tamper {
            Some(Tamper::DataSignature) => {
                content.data_signature = flip_base64(&content.data_signature);
            }
            Some(Tamper::Data) => content.data = flip_base64(&content.data),
            _ => {}
        }
        notification.encrypted_content = Some(content);
        notification.resource_data = Some(
            full.into_iter()
                .filter(|(name, _)| matches!(name.as_str(), "id" | "@odata.type" | "@odata.id"))
                .collect(),
        );
        let app_id = subscription.application_id.as_deref().unwrap_or_default();
        tokens.extend(validation_token(app_id, tenant_id, signing));
    }
    let mut body = Notifications::one(notification);
    body.validation_tokens = tokens;
    // The items hold strings and JSON values only: serializing them cannot fail.
    Ok(serde_json::to_vec(&body).unwrap_or_default())
}

/// The JSON body of a lifecycle notification to `subscription`.
pub(crate) fn lifecycle(
    subscription: &Subscription,
    tenant_id: &str,
    event: LifecycleEvent,
) -> Vec<u8> {
    collection(LifecycleNotification {
        subscription_id: subscription.id.clone(),
        subscription_expiration_date_time: subscription.expiration_date_time,
        tenant_id: Some(tenant_id.to_owned()),
        client_state: subscription.client_state.clone(),
        lifecycle_event: event,
        unknown: Unknown::default(),
    })
}

/// `{"value": [item]}`, as JSON text with the item's fields in Graph's order.
fn collection<T: Serialize>(item: T) -> Vec<u8> {
    // The items hold strings and JSON values only: serializing them cannot fail.
    serde_json::to_vec(&Notifications::one(item)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_subs_core::subscription::{ClientState, Timestamp, Unknown};

    fn subscription(resource: &str, change_type: &str, client_state: Option<&str>) -> Subscription {
        Subscription {
            id: "sub-1".into(),
            resource: resource.into(),
            application_id: None,
            change_type: change_type.into(),
            client_state: client_state.map(|c| ClientState::new(c).unwrap()),
            notification_url: "https://hooks.example.com/n".parse().unwrap(),
            lifecycle_notification_url: None,
            expiration_date_time: Timestamp::parse("2026-11-23T09:00:00Z").unwrap(),
            creator_id: None,
            latest_supported_tls_version: None,
            encryption_certificate: None,
            encryption_certificate_id: None,
            include_resource_data: None,
            notification_content_type: None,
            notification_query_options: None,
            notification_url_app_id: None,
            unknown: Unknown::default(),
        }
    }

    #[test]
    fn a_change_reaches_subscriptions_on_the_same_path_and_change_type() {
        let check = |resource: &str, change_type: &str, reported: &str, t: ChangeType| {
            reaches(&subscription(resource, change_type, None), reported, t)
        };
        assert!(check(
            "me/messages",
            "created",
            "/Me/Messages",
            ChangeType::Created
        ));
        assert!(check(
            "/users/ADA/messages/",
            "created,updated",
            "users/ada/messages",
            ChangeType::Updated
        ));
        assert!(check(
            "security/alerts?$filter=status eq 'New'",
            "created",
            "security/alerts",
            ChangeType::Created
        ));
        assert!(!check(
            "me/messages",
            "created",
            "me/events",
            ChangeType::Created
        ));
        assert!(!check(
            "me/messages",
            "created",
            "me/messages",
            ChangeType::Deleted
        ));
        assert!(!check(
            "me/messages",
            "created",
            "me/messages/x",
            ChangeType::Created
        ));
    }

    #[test]
    fn change_notifications_have_graphs_shape() {
        let s = subscription("/users/ada/messages", "created", Some("s3cret"));
        let given: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"id": "m1", "@odata.etag": "W/\"1\""}))
                .unwrap();
        let identity = Identity::new();
        let text = change(
            &s,
            "tenant-1",
            ChangeType::Created,
            Some(&given),
            &signing(&identity, None),
        )
        .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.starts_with(
                r#"{"value":[{"subscriptionId":"sub-1","subscriptionExpirationDateTime":"#
            ),
            "{text}"
        );
        let body: Value = serde_json::from_str(&text).unwrap();
        let item = &body["value"][0];
        assert_eq!(item["subscriptionId"], "sub-1");
        assert_eq!(
            item["subscriptionExpirationDateTime"],
            "2026-11-23T09:00:00Z"
        );
        assert_eq!(item["changeType"], "created");
        assert_eq!(item["resource"], "users/ada/messages/m1");
        assert_eq!(item["clientState"], "s3cret");
        assert_eq!(item["tenantId"], "tenant-1");
        assert_eq!(item["resourceData"]["id"], "m1");
        assert_eq!(item["resourceData"]["@odata.id"], "users/ada/messages/m1");
        assert_eq!(
            item["resourceData"]["@odata.type"],
            "#microsoft.graph.message"
        );
        assert_eq!(item["resourceData"]["@odata.etag"], "W/\"1\"");

        let without: Value = serde_json::from_slice(
            &change(
                &subscription("me/events", "updated", None),
                "t",
                ChangeType::Updated,
                None,
                &signing(&identity, Some(Tamper::Data)),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(without.get("validationTokens").is_none());
        assert!(without["value"][0].get("encryptedContent").is_none());
        let item = &without["value"][0];
        assert!(item.get("clientState").is_none());
        let id = item["resourceData"]["id"].as_str().unwrap();
        assert_eq!(item["resource"], format!("me/events/{id}"));
    }

    fn signing(identity: &Identity, tamper: Option<Tamper>) -> Signing<'_> {
        Signing {
            identity,
            now: Timestamp::parse("2026-11-23T09:00:00Z").unwrap().get(),
            tamper,
        }
    }

    fn rich_subscription() -> Subscription {
        let mut s = subscription("chats/getAllMessages", "created", Some("s3cret"));
        s.include_resource_data = Some(true);
        s.application_id = Some("app-1".into());
        s.encryption_certificate = Some(graph_subs_core::subscription::EncryptionCertificate::new(
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../graph-subs-receiver/tests/vectors/rich/cert.der.b64"
            ))
            .unwrap(),
        ));
        s.encryption_certificate_id = Some("cert-1".into());
        s
    }

    fn claims(token: &str) -> ValidationTokenClaims {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn rich_notifications_carry_the_resource_encrypted_and_a_validation_token() {
        let identity = Identity::new();
        let given: Map<String, Value> = serde_json::from_value(
            serde_json::json!({"id": "m1", "body": {"content": "secret text"}}),
        )
        .unwrap();
        let body: Notifications<ChangeNotification> = serde_json::from_slice(
            &change(
                &rich_subscription(),
                "tenant-1",
                ChangeType::Created,
                Some(&given),
                &signing(&identity, None),
            )
            .unwrap(),
        )
        .unwrap();
        let item = &body.value[0];
        let data = item.resource_data.as_ref().unwrap();
        assert_eq!(
            data.keys().map(String::as_str).collect::<Vec<_>>(),
            ["@odata.id", "@odata.type", "id"],
            "only the identity of the item stays in clear"
        );
        let content = item.encrypted_content.as_ref().unwrap();
        assert_eq!(content.encryption_certificate_id.as_deref(), Some("cert-1"));
        assert!(!content.data.contains("secret"));
        let [token] = &body.validation_tokens[..] else {
            panic!("one token per app and tenant: {:?}", body.validation_tokens)
        };
        let now = signing(&identity, None).now.timestamp();
        assert_eq!(
            claims(token).check(&["app-1".into()], "tenant-1", now),
            Ok(())
        );
    }

    #[test]
    fn each_tamper_breaks_what_it_names() {
        let identity = Identity::new();
        let send = |tamper| -> Notifications<ChangeNotification> {
            serde_json::from_slice(
                &change(
                    &rich_subscription(),
                    "tenant-1",
                    ChangeType::Created,
                    None,
                    &signing(&identity, Some(tamper)),
                )
                .unwrap(),
            )
            .unwrap()
        };
        let now = signing(&identity, None).now.timestamp();
        let app = ["app-1".to_owned()];
        assert!(send(Tamper::NoToken).validation_tokens.is_empty());
        let expired = claims(&send(Tamper::ExpiredToken).validation_tokens[0]);
        assert!(matches!(
            expired.check(&app, "tenant-1", now),
            Err(graph_subs_core::notification::TokenProblem::Expired(_))
        ));
        let foreign = claims(&send(Tamper::ForeignToken).validation_tokens[0]);
        assert_eq!(
            foreign.check(&app, "tenant-1", now),
            Err(graph_subs_core::notification::TokenProblem::Audience)
        );
        // A forged token has the right claims; only its signature is wrong.
        let forged = &send(Tamper::ForgedToken).validation_tokens[0];
        assert_eq!(claims(forged).check(&app, "tenant-1", now), Ok(()));
        assert!(identity.verify_validation_token(forged).is_err());
        let good = &send(Tamper::Data).validation_tokens[0];
        assert!(identity.verify_validation_token(good).is_ok());
    }

    #[test]
    fn lifecycle_notifications_have_graphs_shape() {
        let s = subscription("me/messages", "created", Some("s3cret"));
        let body: Value = serde_json::from_slice(&lifecycle(
            &s,
            "tenant-1",
            LifecycleEvent::ReauthorizationRequired,
        ))
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"value": [{
                "subscriptionId": "sub-1",
                "subscriptionExpirationDateTime": "2026-11-23T09:00:00Z",
                "tenantId": "tenant-1",
                "clientState": "s3cret",
                "lifecycleEvent": "reauthorizationRequired",
            }]})
        );
    }
}
