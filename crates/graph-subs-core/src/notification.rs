//! What Graph POSTs to a notification or lifecycle URL, typed once for both sides: the
//! emulator writes these, a receiver reads them.
//!
//! Both are a [`Notifications`] collection, `{"value": [...]}`: of [`ChangeNotification`]s
//! at the `notificationUrl`, of [`LifecycleNotification`]s at the
//! `lifecycleNotificationUrl`. Properties a type does not name (`encryptedContent`,
//! `validationTokens` and those Graph adds later) are kept in `unknown`, not lost; a
//! `clientState` is a [`ClientState`], which never prints.
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
pub struct Notifications<T> {
    /// The notifications, one per subscription and change (Graph may batch several).
    pub value: Vec<T>,
    /// Every other property (`validationTokens` of rich notifications, newer ones).
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl<T> Notifications<T> {
    /// One notification, as the emulator sends them.
    pub fn one(item: T) -> Notifications<T> {
        Notifications {
            value: vec![item],
            unknown: Unknown::default(),
        }
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
    /// The subscription's secret, echoed: check it on every notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_state: Option<ClientState>,
    /// The tenant the change happened in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Every other property (`encryptedContent`, `subscriptionExpirationDateTime`'s
    /// newer siblings).
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
        assert!(got.unknown.get("validationTokens").is_some());
        assert!(!format!("{got:?}").contains("\"cs\""));
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
