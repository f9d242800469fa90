//! The subscription resource and its request bodies, typed, serialised exactly as Graph
//! writes them (camelCase names, times with Graph's seven fractional digits).
//!
//! - [`Subscription`]: what `POST`, `GET` and `PATCH /subscriptions` return, and what
//!   List returns in `value[]`. Properties this crate does not know (`@odata.context`,
//!   properties Graph adds later) are kept in [`Subscription::unknown`], never lost.
//! - [`CreateSubscription`] and [`UpdateSubscription`]: the `POST` and `PATCH` bodies. Build
//!   them with their constructors, or get them from [`crate::validate::create`] and
//!   [`crate::validate::update`], which check a body read from anywhere first.
//! - [`ClientState`] and [`EncryptionCertificate`]: secrets. Their `Debug` and `Display`
//!   show `***`; only serialisation and [`ClientState::expose`] give the value.
//! - [`Timestamp`]: an instant that can always be written in RFC 3339 (years 0 to 9999).
//!
//! ```
//! use graph_subs_core::subscription::Subscription;
//!
//! let json = r#"{
//!   "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
//!   "id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
//!   "resource": "me/messages",
//!   "applicationId": "24d3b144-21ae-4080-943f-7067b395b913",
//!   "changeType": "created,updated",
//!   "clientState": "subscription-identifier",
//!   "notificationUrl": "https://webhook.azurewebsites.net/api/send/myNotifyClient",
//!   "expirationDateTime": "2016-11-22T18:23:45.9356913Z",
//!   "creatorId": "8ee44408-0679-472c-bc2a-692812af3437"
//! }"#;
//! let subscription: Subscription = serde_json::from_str(json)?;
//! assert_eq!(subscription.expiration_date_time.to_string(), "2016-11-22T18:23:45.9356913Z");
//! assert!(!format!("{subscription:?}").contains("subscription-identifier"));
//! assert!(subscription.unknown.contains_key("@odata.context"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::change_type::ChangeTypes;
use crate::notification_url::NotificationUrl;

/// An instant Graph can be told or can tell: UTC, years 0000 to 9999, so that it can
/// always be written in RFC 3339. Written as Graph writes it: whole seconds without a
/// fraction (`2026-11-23T18:23:45Z`), else seven fractional digits
/// (`2016-11-22T18:23:45.9356913Z`), or nine when nanoseconds need them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

/// An instant outside the years RFC 3339 can write (0000 to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the time is outside the years 0000 to 9999, which RFC 3339 cannot write")]
pub struct OutOfRange;

/// Why a text is not an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` is not an RFC 3339 date and time: {reason}", crate::quote::shortened(.text))]
pub struct TimestampError {
    /// The text, as given.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl Timestamp {
    /// The instant, when RFC 3339 can write it.
    pub fn new(instant: DateTime<Utc>) -> Result<Timestamp, OutOfRange> {
        if (0..=9999).contains(&instant.year()) {
            Ok(Timestamp(instant))
        } else {
            Err(OutOfRange)
        }
    }

    /// Parses an RFC 3339 time (any offset; kept in UTC).
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let error = |reason: String| TimestampError {
            text: text.to_owned(),
            reason,
        };
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|e| error(e.to_string()))?;
        Timestamp::new(parsed.with_timezone(&Utc)).map_err(|e| error(e.to_string()))
    }

    /// The instant.
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written digit by digit: a subscription's answer and every renewal write one,
        // and `write!` with widths costs several times more.
        let t = self.0;
        let mut text = *b"0000-00-00T00:00:00.000000000Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for place in text[at..at + width].iter_mut().rev() {
                *place = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        // Years 0000 to 9999 (`Timestamp::new`).
        put(0, 4, t.year().unsigned_abs());
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        // chrono keeps a leap second (`23:59:60`) as nanoseconds past 10^9 of the second
        // before: it is written as that second (`23:59:59`), with the fraction past it.
        let nanos = t.nanosecond() % 1_000_000_000;
        let end = if nanos == 0 {
            19
        } else if nanos.is_multiple_of(100) {
            put(20, 7, nanos / 100);
            27
        } else {
            put(20, 9, nanos);
            29
        };
        text[end] = b'Z';
        f.write_str(std::str::from_utf8(&text[..=end]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl TryFrom<DateTime<Utc>> for Timestamp {
    type Error = OutOfRange;

    fn try_from(instant: DateTime<Utc>) -> Result<Self, Self::Error> {
        Timestamp::new(instant)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The secret Graph echoes in every notification, so the receiver knows it is Graph:
/// at most [`ClientState::MAX`] characters. Shown as `***` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientState(String);

/// A `clientState` longer than Graph accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "`clientState` has {length} characters; at most {} are accepted",
    ClientState::MAX
)]
pub struct ClientStateTooLong {
    /// How many characters were given.
    pub length: usize,
}

impl ClientState {
    /// The longest `clientState` Graph accepts (the changeNotification page says 255; the
    /// subscription page, which governs the request, 128).
    pub const MAX: usize = 128;

    /// A client state, when Graph accepts its length.
    pub fn new(value: impl Into<String>) -> Result<ClientState, ClientStateTooLong> {
        let value = value.into();
        let length = value.chars().count();
        if length > ClientState::MAX {
            return Err(ClientStateTooLong { length });
        }
        Ok(ClientState(value))
    }

    /// The secret itself: for the request, and for comparing a notification's.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether a notification's `clientState` is this one, in time that does not depend
    /// on where they differ.
    pub fn matches(&self, given: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), given.as_bytes())
    }
}

impl fmt::Debug for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientState(***)")
    }
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for ClientState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ClientState {
    /// Lenient: whatever Graph returns is kept, even beyond [`ClientState::MAX`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ClientState)
    }
}

/// Whether two secrets are equal, in time that depends on their lengths only, not on
/// where they differ: for `clientState`, client secrets, any shared secret.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        difference |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    difference == 0
}

/// `resource` as Graph's duplicate rule compares it: without its leading slashes, in
/// lowercase; borrowed when it is lowercase ASCII already.
pub fn duplicate_resource_key(resource: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = resource.trim_start_matches('/');
    if trimmed.is_ascii() && !trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(trimmed)
    } else {
        std::borrow::Cow::Owned(trimmed.to_lowercase())
    }
}

/// Graph's duplicate rule, the part a request decides: for one app, creator and tenant,
/// Graph refuses (409) a second subscription whose `changeType` is the same without
/// regard to ASCII case (as written: `created,updated` and `updated,created` differ) and
/// whose `resource` is the same by [`duplicate_resource_key`]. The emulator enforces it,
/// the keeper plans by it.
pub fn same_duplicate_target(
    resource: &str,
    change_type: &str,
    other_resource: &str,
    other_change_type: &str,
) -> bool {
    change_type.eq_ignore_ascii_case(other_change_type)
        && duplicate_resource_key(resource) == duplicate_resource_key(other_resource)
}

/// `encryptionCertificate`: the base64 DER X.509 certificate Graph encrypts resource data
/// with. Not secret in itself, but long and never useful in a message: shown as `***`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EncryptionCertificate(String);

impl EncryptionCertificate {
    /// The certificate, base64, as given.
    pub fn new(base64: impl Into<String>) -> EncryptionCertificate {
        EncryptionCertificate(base64.into())
    }

    /// The base64 text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EncryptionCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EncryptionCertificate({} characters)",
            self.0.chars().count()
        )
    }
}

impl Serialize for EncryptionCertificate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EncryptionCertificate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(EncryptionCertificate)
    }
}

/// Properties of a subscription this crate does not know, kept as Graph sent them. Their
/// `Debug` shows names only: a value may be anything.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Unknown(BTreeMap<String, serde_json::Value>);

impl Unknown {
    /// Whether a property of that name was kept.
    pub fn contains_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// A kept property.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name)
    }

    /// Keeps a property.
    pub fn insert(&mut self, name: impl Into<String>, value: serde_json::Value) {
        self.0.insert(name.into(), value);
    }

    /// How many were kept.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when none were kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// An optional URL that Graph may write as `""` for "none".
mod optional_url {
    use serde::{Deserialize, Deserializer};

    use crate::notification_url::NotificationUrl;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NotificationUrl>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) if text.is_empty() => Ok(None),
            Some(text) => NotificationUrl::parse(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// A subscription as Graph returns it. Every property Graph documents is here; Graph
/// writes the optional ones as `null` when unset, and so does this type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The subscription's id.
    pub id: String,
    /// The resource, as given at creation (`me/mailFolders('Inbox')/messages`).
    pub resource: String,
    /// The app that created it.
    #[serde(default)]
    pub application_id: Option<String>,
    /// `created,updated`...
    pub change_type: String,
    /// Never returned by List.
    #[serde(default)]
    pub client_state: Option<ClientState>,
    /// Where notifications go.
    pub notification_url: NotificationUrl,
    /// Where lifecycle notifications go.
    #[serde(default, deserialize_with = "optional_url::deserialize")]
    pub lifecycle_notification_url: Option<NotificationUrl>,
    /// When it expires.
    pub expiration_date_time: Timestamp,
    /// The signed-in user (delegated) or service principal (application) that created it.
    #[serde(default)]
    pub creator_id: Option<String>,
    /// `v1_0` to `v1_3`.
    #[serde(default)]
    pub latest_supported_tls_version: Option<String>,
    /// The certificate resource data is encrypted with (`""` when none).
    #[serde(default)]
    pub encryption_certificate: Option<EncryptionCertificate>,
    /// The certificate's id (`""` when none).
    #[serde(default)]
    pub encryption_certificate_id: Option<String>,
    /// Whether notifications carry resource data.
    #[serde(default)]
    pub include_resource_data: Option<bool>,
    /// `application/json`.
    #[serde(default)]
    pub notification_content_type: Option<String>,
    /// Universal Print only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_query_options: Option<String>,
    /// The app id validation tokens are made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url_app_id: Option<String>,
    /// Every other property, kept as sent (`@odata.context`, newer properties).
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl Subscription {
    /// The `changeType` value, parsed.
    pub fn change_types(&self) -> Result<ChangeTypes, crate::change_type::ChangeTypeError> {
        self.change_type.parse()
    }
}

/// The body of `POST /subscriptions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSubscription {
    /// `created,updated`...
    #[serde(serialize_with = "as_text")]
    pub change_type: ChangeTypes,
    /// Where notifications go.
    pub notification_url: NotificationUrl,
    /// The resource, relative to the Graph root.
    pub resource: String,
    /// When it expires.
    pub expiration_date_time: Timestamp,
    /// Echoed in every notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_state: Option<ClientState>,
    /// Where lifecycle notifications go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_notification_url: Option<NotificationUrl>,
    /// Whether notifications carry (encrypted) resource data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_resource_data: Option<bool>,
    /// The certificate to encrypt resource data with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_certificate: Option<EncryptionCertificate>,
    /// The certificate's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_certificate_id: Option<String>,
    /// `v1_0` to `v1_3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_supported_tls_version: Option<String>,
    /// Universal Print only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_query_options: Option<String>,
    /// The app id validation tokens are made for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_url_app_id: Option<String>,
    /// `application/json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_content_type: Option<String>,
}

impl CreateSubscription {
    /// A request with the four required properties and nothing else.
    pub fn new(
        resource: impl Into<String>,
        change_type: ChangeTypes,
        notification_url: NotificationUrl,
        expiration_date_time: Timestamp,
    ) -> CreateSubscription {
        CreateSubscription {
            change_type,
            notification_url,
            resource: resource.into(),
            expiration_date_time,
            client_state: None,
            lifecycle_notification_url: None,
            include_resource_data: None,
            encryption_certificate: None,
            encryption_certificate_id: None,
            latest_supported_tls_version: None,
            notification_query_options: None,
            notification_url_app_id: None,
            notification_content_type: None,
        }
    }
}

/// The body of `PATCH /subscriptions/{id}`: a renewal, a new notification URL, or a
/// certificate rotation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSubscription {
    /// The new expiration: a renewal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_date_time: Option<Timestamp>,
    /// The new notification URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<NotificationUrl>,
    /// The new certificate (with its id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_certificate: Option<EncryptionCertificate>,
    /// The new certificate's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_certificate_id: Option<String>,
}

impl UpdateSubscription {
    /// A renewal: a new expiration and nothing else.
    pub fn renewal(expiration_date_time: Timestamp) -> UpdateSubscription {
        UpdateSubscription {
            expiration_date_time: Some(expiration_date_time),
            ..UpdateSubscription::default()
        }
    }
}

/// Writes a value through its `Display`: `created,updated` for [`ChangeTypes`].
fn as_text<T: fmt::Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duplicate_rule_ignores_case_and_leading_slashes_only() {
        assert!(same_duplicate_target(
            "/Users/ADA/messages",
            "Created,Updated",
            "users/ada/messages",
            "created,updated"
        ));
        // The change types as written, a trailing slash, another resource: not duplicates.
        assert!(!same_duplicate_target(
            "me/events",
            "created,updated",
            "me/events",
            "updated,created"
        ));
        assert!(!same_duplicate_target(
            "me/events/",
            "created",
            "me/events",
            "created"
        ));
        assert!(!same_duplicate_target(
            "me/events",
            "created",
            "me/messages",
            "created"
        ));
        assert!(matches!(
            duplicate_resource_key("me/events"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
    use chrono::TimeZone;

    #[test]
    fn times_are_written_as_graph_writes_them() {
        let cases = [
            (
                "2016-11-22T18:23:45.9356913Z",
                "2016-11-22T18:23:45.9356913Z",
            ),
            ("2018-03-12T05:00:00Z", "2018-03-12T05:00:00Z"),
            (
                "2026-11-23T10:00:00.5+01:00",
                "2026-11-23T09:00:00.5000000Z",
            ),
            (
                "2026-11-23T10:00:00.123456789Z",
                "2026-11-23T10:00:00.123456789Z",
            ),
            ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
            ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
        ];
        for (text, written) in cases {
            assert_eq!(
                Timestamp::parse(text).unwrap().to_string(),
                written,
                "{text}"
            );
        }
        let beyond = Utc.with_ymd_and_hms(10000, 1, 7, 0, 0, 0).unwrap();
        assert_eq!(Timestamp::new(beyond), Err(OutOfRange));
        assert!(Timestamp::parse("2026-11-23").is_err());
    }

    #[test]
    fn a_graph_subscription_round_trips_with_unknown_properties() {
        let json = serde_json::json!({
            "id": "0fc0d6db-0073-42e5-a186-853da75fb308",
            "resource": "Users",
            "applicationId": "24d3b144-21ae-4080-943f-7067b395b913",
            "changeType": "updated,deleted",
            "clientState": null,
            "notificationUrl": "https://webhookappexample.azurewebsites.net/api/notifications",
            "lifecycleNotificationUrl": "https://webhook.azurewebsites.net/api/send/lifecycleNotifications",
            "expirationDateTime": "2018-03-12T05:00:00Z",
            "creatorId": "8ee44408-0679-472c-bc2a-692812af3437",
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": "",
            "encryptionCertificateId": "",
            "includeResourceData": false,
            "notificationContentType": "application/json",
            "someFutureProperty": {"nested": [1, 2]}
        });
        let subscription: Subscription = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            subscription.unknown.get("someFutureProperty"),
            json.get("someFutureProperty")
        );
        assert_eq!(serde_json::to_value(&subscription).unwrap(), json);
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let state = ClientState::new("secretClientValue").unwrap();
        assert_eq!(format!("{state:?} {state}"), "ClientState(***) ***");
        assert_eq!(state.expose(), "secretClientValue");
        assert!(state.matches("secretClientValue"));
        assert!(!state.matches("secretClientValuf"));
        assert!(!state.matches("secret"));
        assert!(!state.matches("secretClientValue!"));
        assert_eq!(
            ClientState::new("x".repeat(129)),
            Err(ClientStateTooLong { length: 129 })
        );
        let certificate = EncryptionCertificate::new("MIIBszCCAVmgAwIBAgIUK2k=");
        assert_eq!(
            format!("{certificate:?}"),
            "EncryptionCertificate(24 characters)"
        );
    }

    #[test]
    fn request_bodies_use_graphs_names_and_skip_what_is_unset() {
        let mut create = CreateSubscription::new(
            "me/mailFolders('Inbox')/messages",
            "created,updated".parse().unwrap(),
            NotificationUrl::parse("https://webhook.azurewebsites.net/api/send/myNotifyClient")
                .unwrap(),
            Timestamp::parse("2016-11-20T18:23:45.9356913Z").unwrap(),
        );
        create.client_state = Some(ClientState::new("secretClientValue").unwrap());
        assert_eq!(
            serde_json::to_value(&create).unwrap(),
            serde_json::json!({
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.azurewebsites.net/api/send/myNotifyClient",
                "resource": "me/mailFolders('Inbox')/messages",
                "expirationDateTime": "2016-11-20T18:23:45.9356913Z",
                "clientState": "secretClientValue"
            })
        );
        let renewal =
            UpdateSubscription::renewal(Timestamp::parse("2016-11-22T18:23:45.9356913Z").unwrap());
        assert_eq!(
            serde_json::to_string(&renewal).unwrap(),
            r#"{"expirationDateTime":"2016-11-22T18:23:45.9356913Z"}"#
        );
    }
}
