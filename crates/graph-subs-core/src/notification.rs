//! What Graph POSTs to a notification or lifecycle URL, typed once for both sides: the
//! emulator writes these, a receiver reads them.
//!
//! Both are a [`Notifications`] collection, `{"value": [...]}`: of [`ChangeNotification`]s
//! at the `notificationUrl`, of [`LifecycleNotification`]s at the
//! `lifecycleNotificationUrl`. Properties a type does not name (those Graph adds later)
//! are kept in `unknown`, not lost; a `clientState` is a [`ClientState`], which never
//! prints.
//!
//! **Rich notifications** (subscriptions with `includeResourceData`) carry the changed
//! resource encrypted ([`EncryptedContent`]), and the collection carries
//! `validationTokens`: JWTs, one per app and tenant, whose claims
//! ([`ValidationTokenClaims`]) prove the POST comes from Graph. What a receiver checks in
//! them is [`ValidationTokenClaims::check`], here once for the emulator that writes them
//! and the receiver that reads them; the signature is the receiver's to check, against
//! the issuer's published keys.
//!
//! ```
//! use graph_subs_core::notification::{ChangeNotification, Notifications};
//!
//! let body = r##"{"value": [{
//!     "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
//!     "subscriptionExpirationDateTime": "2016-11-20T18:23:45.9356913+00:00",
//!     "changeType": "created",
//!     "resource": "Users/ada/Messages/AAMk",
//!     "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "id": "AAMk"},
//!     "clientState": "secretClientValue",
//!     "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
//! }]}"##;
//! let received: Notifications<ChangeNotification> = serde_json::from_str(body)?;
//! let first = &received.value[0];
//! assert_eq!(first.change_type, "created");
//! assert!(format!("{first:?}").contains("***"), "clientState never prints");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::subscription::{ClientState, Timestamp, Unknown};

/// `{"value": [...]}`: one POST from Graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notifications<T> {
    /// The notifications, one per subscription and change (Graph may batch several).
    pub value: Vec<T>,
    /// With rich notifications: one JWT per app and tenant that has an item in `value`,
    /// signed by the Microsoft identity platform (see [`ValidationTokenClaims`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_tokens: Vec<String>,
    /// Every other property.
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl<T> Notifications<T> {
    /// One notification, as the emulator sends them.
    pub fn one(item: T) -> Notifications<T> {
        Notifications {
            value: vec![item],
            validation_tokens: Vec::new(),
            unknown: Unknown::default(),
        }
    }
}

/// The application id of *Microsoft Graph Change Tracking*, the app that signs the
/// `validationTokens` of rich notifications: their `azp` (and v1 `appid`) claim.
pub const GRAPH_CHANGE_TRACKING_APP_ID: &str = "0bf30f3b-4a52-48df-9a82-234910c4a086";

/// How long a validation token may be early or late for the receiver's clock: the leeway
/// token libraries use by default (five minutes).
pub const VALIDATION_TOKEN_LEEWAY_SECONDS: i64 = 300;

/// The issuer of the validation tokens sent for `tenant_id`: the Microsoft identity
/// platform's v1 issuer of that tenant.
pub fn validation_token_issuer(tenant_id: &str) -> String {
    format!("https://sts.windows.net/{tenant_id}/")
}

/// The claims of a validation token that a receiver checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationTokenClaims {
    /// Audience: the id of the app that created the subscription.
    pub aud: String,
    /// Issuer: [`validation_token_issuer`] of the notifications' tenant.
    pub iss: String,
    /// The app that asked for the token (v2): [`GRAPH_CHANGE_TRACKING_APP_ID`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// The same, as v1 tokens name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// The tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires at.
    pub exp: i64,
}

/// Why a validation token's claims are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    /// Past `exp` (with the leeway).
    #[error("the validation token expired {0} seconds ago")]
    Expired(i64),
    /// Before `nbf` (with the leeway): the sender's clock or the receiver's is wrong.
    #[error("the validation token is valid only in {0} seconds; check this machine's clock")]
    NotYetValid(i64),
    /// For another app: a token Graph made for someone else, replayed here.
    #[error(
        "the validation token is for another app (its audience is not one of this receiver's app ids)"
    )]
    Audience,
    /// Not from the Microsoft identity platform for the notifications' tenant.
    #[error("the validation token was not issued for tenant {tenant} (issuer `{issuer}`)")]
    Issuer {
        /// The tenant the notifications name.
        tenant: String,
        /// What the token says, shortened.
        issuer: String,
    },
    /// Not asked for by Microsoft Graph Change Tracking.
    #[error(
        "the validation token was not requested by Microsoft Graph Change Tracking ({GRAPH_CHANGE_TRACKING_APP_ID})"
    )]
    NotGraph,
}

impl ValidationTokenClaims {
    /// The claims Graph's token for `app_id` in `tenant_id` carries, valid from `now`
    /// (seconds since the epoch) for `lifetime_seconds`.
    pub fn for_app(
        app_id: &str,
        tenant_id: &str,
        now: i64,
        lifetime_seconds: i64,
    ) -> ValidationTokenClaims {
        ValidationTokenClaims {
            aud: app_id.to_owned(),
            iss: validation_token_issuer(tenant_id),
            azp: Some(GRAPH_CHANGE_TRACKING_APP_ID.to_owned()),
            appid: Some(GRAPH_CHANGE_TRACKING_APP_ID.to_owned()),
            tid: Some(tenant_id.to_owned()),
            iat: now,
            nbf: now,
            exp: now.saturating_add(lifetime_seconds),
        }
    }

    /// Whether a token with these claims (its signature already checked) vouches for
    /// notifications of `tenant_id` to one of `app_ids`, at `now` (seconds since the
    /// epoch), within [`VALIDATION_TOKEN_LEEWAY_SECONDS`].
    pub fn check(&self, app_ids: &[String], tenant_id: &str, now: i64) -> Result<(), TokenProblem> {
        if now > self.exp.saturating_add(VALIDATION_TOKEN_LEEWAY_SECONDS) {
            return Err(TokenProblem::Expired(now.saturating_sub(self.exp)));
        }
        if now < self.nbf.saturating_sub(VALIDATION_TOKEN_LEEWAY_SECONDS) {
            return Err(TokenProblem::NotYetValid(self.nbf.saturating_sub(now)));
        }
        if !app_ids.iter().any(|id| id.eq_ignore_ascii_case(&self.aud)) {
            return Err(TokenProblem::Audience);
        }
        if self.iss != validation_token_issuer(tenant_id) {
            return Err(TokenProblem::Issuer {
                tenant: crate::quote::shortened(tenant_id).to_string(),
                issuer: crate::quote::shortened(&self.iss).to_string(),
            });
        }
        let by_graph = |claim: &Option<String>| {
            claim
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(GRAPH_CHANGE_TRACKING_APP_ID))
        };
        if !(by_graph(&self.azp) || by_graph(&self.appid)) {
            return Err(TokenProblem::NotGraph);
        }
        Ok(())
    }
}

/// `encryptedContent`: a rich notification's resource, encrypted for the subscription's
/// `encryptionCertificate`, as Graph documents it:
///
/// - `dataKey`: a 32-byte symmetric key, encrypted with the certificate's RSA public key
///   (RSA-OAEP with SHA-1 and MGF1-SHA-1), base64;
/// - `dataSignature`: HMAC-SHA256, with that key, of the bytes of `data`, base64;
/// - `data`: the resource's JSON encrypted with AES-256-CBC, that key, PKCS7 padding and
///   the first 16 bytes of the key as IV, base64.
///
/// Check the signature before decrypting. `Debug` shows sizes and the certificate, never
/// the content.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptedContent {
    /// The encrypted resource, base64.
    pub data: String,
    /// HMAC-SHA256 of the decoded `data`, base64.
    pub data_signature: String,
    /// The encrypted symmetric key, base64.
    pub data_key: String,
    /// The subscription's `encryptionCertificateId`: which key decrypts `dataKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_certificate_id: Option<String>,
    /// The SHA-1 thumbprint of the certificate used, hexadecimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_certificate_thumbprint: Option<String>,
    /// Every other property.
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl fmt::Debug for EncryptedContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedContent")
            .field("data", &format_args!("{} characters", self.data.len()))
            .field("encryption_certificate_id", &self.encryption_certificate_id)
            .field(
                "encryption_certificate_thumbprint",
                &self.encryption_certificate_thumbprint,
            )
            .finish_non_exhaustive()
    }
}

/// A change to a subscribed resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeNotification {
    /// The subscription it is for.
    pub subscription_id: String,
    /// When that subscription expires.
    pub subscription_expiration_date_time: Timestamp,
    /// `created`, `updated` or `deleted`, as sent.
    pub change_type: String,
    /// The changed item's path (`Users/{id}/Messages/{id}`).
    pub resource: String,
    /// The changed item's `@odata.type`, `@odata.id` and `id` (more with rich
    /// notifications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_data: Option<Map<String, Value>>,
    /// With rich notifications: the whole resource, encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<EncryptedContent>,
    /// The subscription's secret, echoed: check it on every notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_state: Option<ClientState>,
    /// The tenant the change happened in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Every other property (`sequenceNumber`, newer ones).
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// An event about the subscription itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleNotification {
    /// The subscription it is about.
    pub subscription_id: String,
    /// When that subscription expires.
    pub subscription_expiration_date_time: Timestamp,
    /// The tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The subscription's secret, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_state: Option<ClientState>,
    /// What happened.
    pub lifecycle_event: LifecycleEvent,
    /// Every other property.
    #[serde(flatten)]
    pub unknown: Unknown,
}

/// What a lifecycle notification reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LifecycleEvent {
    /// The access token behind the subscription must be renewed: reauthorize or PATCH.
    ReauthorizationRequired,
    /// Graph removed the subscription: create it again.
    SubscriptionRemoved,
    /// Notifications were missed: resynchronise.
    Missed,
    /// An event this version does not know, as written: kept, so that a newer Graph is
    /// not refused.
    Other(String),
}

impl LifecycleEvent {
    /// The events Graph documents, in the order messages list them.
    pub const KNOWN: [LifecycleEvent; 3] = [
        LifecycleEvent::ReauthorizationRequired,
        LifecycleEvent::SubscriptionRemoved,
        LifecycleEvent::Missed,
    ];

    /// As written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            LifecycleEvent::ReauthorizationRequired => "reauthorizationRequired",
            LifecycleEvent::SubscriptionRemoved => "subscriptionRemoved",
            LifecycleEvent::Missed => "missed",
            LifecycleEvent::Other(text) => text,
        }
    }

    /// The event written `text`: a documented one when it is spelled exactly so, else
    /// [`LifecycleEvent::Other`].
    pub fn from_wire(text: &str) -> LifecycleEvent {
        LifecycleEvent::KNOWN
            .into_iter()
            .find(|e| e.as_str() == text)
            .unwrap_or_else(|| LifecycleEvent::Other(text.to_owned()))
    }
}

impl fmt::Display for LifecycleEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LifecycleEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LifecycleEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(LifecycleEvent::from_wire(&String::deserialize(
            deserializer,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_events_round_trip_and_unknown_ones_are_kept() {
        for event in LifecycleEvent::KNOWN {
            let text = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<LifecycleEvent>(&text).unwrap(),
                event
            );
        }
        let newer: LifecycleEvent = serde_json::from_str(r#""subscriptionPaused""#).unwrap();
        assert_eq!(newer, LifecycleEvent::Other("subscriptionPaused".into()));
        assert_eq!(newer.to_string(), "subscriptionPaused");
        // Spelled otherwise is not the documented event.
        assert_eq!(
            LifecycleEvent::from_wire("Missed"),
            LifecycleEvent::Other("Missed".into())
        );
    }

    #[test]
    fn a_lifecycle_notification_reads_as_graph_writes_it() {
        let body = r#"{"value":[{"subscriptionId":"sub-1",
            "subscriptionExpirationDateTime":"2026-11-23T09:00:00.1234567+00:00",
            "tenantId":"t","clientState":"cs","lifecycleEvent":"reauthorizationRequired",
            "sequenceNumber":3}],"validationTokens":["x.y.z"]}"#;
        let got: Notifications<LifecycleNotification> = serde_json::from_str(body).unwrap();
        let item = &got.value[0];
        assert_eq!(
            item.lifecycle_event,
            LifecycleEvent::ReauthorizationRequired
        );
        assert_eq!(item.client_state.as_ref().unwrap().expose(), "cs");
        assert_eq!(item.unknown.get("sequenceNumber"), Some(&Value::from(3)));
        assert_eq!(got.validation_tokens, ["x.y.z"]);
        assert!(!format!("{got:?}").contains("\"cs\""));
    }

    #[test]
    fn validation_token_claims_vouch_only_for_their_app_tenant_and_time() {
        let apps = vec!["app-1".to_owned(), "APP-2".to_owned()];
        let now = 1_800_000_000;
        let good = ValidationTokenClaims::for_app("app-1", "t1", now, 3600);
        assert_eq!(good.check(&apps, "t1", now), Ok(()));
        // App ids compare as GUIDs do, whatever their case; the leeway holds both ways.
        let upper = ValidationTokenClaims::for_app("app-2", "t1", now, 3600);
        assert_eq!(upper.check(&apps, "t1", now + 3600 + 299), Ok(()));
        assert_eq!(good.check(&apps, "t1", now - 299), Ok(()));
        assert_eq!(
            good.check(&apps, "t1", now + 3600 + 301),
            Err(TokenProblem::Expired(301))
        );
        assert_eq!(
            good.check(&apps, "t1", now - 400),
            Err(TokenProblem::NotYetValid(400))
        );
        let other_app = ValidationTokenClaims::for_app("app-3", "t1", now, 3600);
        assert_eq!(
            other_app.check(&apps, "t1", now),
            Err(TokenProblem::Audience)
        );
        assert!(matches!(
            good.check(&apps, "t2", now),
            Err(TokenProblem::Issuer { .. })
        ));
        let mut not_graph = good.clone();
        not_graph.azp = Some("app-1".into());
        not_graph.appid = None;
        assert_eq!(
            not_graph.check(&apps, "t1", now),
            Err(TokenProblem::NotGraph)
        );
        // v1 tokens name the requesting app `appid` only.
        let mut v1 = good.clone();
        v1.azp = None;
        assert_eq!(v1.check(&apps, "t1", now), Ok(()));
        // Claims at the edges of i64 neither overflow nor pass.
        let mut forever = good;
        forever.exp = i64::MAX;
        forever.nbf = i64::MIN;
        assert_eq!(forever.check(&apps, "t1", now), Ok(()));
    }

    #[test]
    fn a_rich_notification_reads_as_graph_writes_it_and_never_prints_its_content() {
        let body = r##"{"value":[{"subscriptionId":"s","changeType":"created",
            "subscriptionExpirationDateTime":"2026-11-23T11:00:00Z",
            "resource":"chats('19:x')/messages('1')",
            "resourceData":{"id":"1","@odata.type":"#Microsoft.Graph.chatMessage"},
            "encryptedContent":{"data":"c2VjcmV0LWRhdGE=","dataSignature":"sig","dataKey":"key",
              "encryptionCertificateId":"cert-1","encryptionCertificateThumbprint":"07AB"},
            "tenantId":"t"}],"validationTokens":["a.b.c"]}"##;
        let got: Notifications<ChangeNotification> = serde_json::from_str(body).unwrap();
        let content = got.value[0].encrypted_content.as_ref().unwrap();
        assert_eq!(content.data_key, "key");
        assert_eq!(content.encryption_certificate_id.as_deref(), Some("cert-1"));
        assert_eq!(got.validation_tokens, ["a.b.c"]);
        let debug = format!("{got:?}");
        assert!(!debug.contains("c2VjcmV0LWRhdGE="), "{debug}");
        assert!(debug.contains("cert-1"), "{debug}");
        let again: Value = serde_json::to_value(&got).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(body).unwrap());
    }

    #[test]
    fn a_change_notification_without_its_subscription_is_refused() {
        let body = r#"{"value":[{"changeType":"created","resource":"r"}]}"#;
        let error = serde_json::from_str::<Notifications<ChangeNotification>>(body)
            .unwrap_err()
            .to_string();
        assert!(error.contains("subscriptionId"), "{error}");
    }
}
