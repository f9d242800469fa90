//! What Graph POSTs to an endpoint: change notifications and lifecycle notifications,
//! each a `{"value": [...]}` collection of one item; and which subscriptions a reported
//! change reaches.

use graph_subs_core::catalogue;
use graph_subs_core::change_type::ChangeType;
use graph_subs_core::notification::{
    ChangeNotification, LifecycleEvent, LifecycleNotification, Notifications,
};
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::subscription::{Subscription, Unknown};
use serde::Serialize;
use serde_json::{Map, Value};

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
pub(crate) fn change(
    subscription: &Subscription,
    tenant_id: &str,
    change_type: ChangeType,
    resource_data: Option<&Map<String, Value>>,
) -> Vec<u8> {
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
    collection(ChangeNotification {
        subscription_id: subscription.id.clone(),
        subscription_expiration_date_time: subscription.expiration_date_time,
        change_type: change_type.as_str().to_owned(),
        resource: item,
        resource_data: Some(data),
        client_state: subscription.client_state.clone(),
        tenant_id: Some(tenant_id.to_owned()),
        unknown: Unknown::default(),
    })
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
        let text = change(&s, "tenant-1", ChangeType::Created, Some(&given));
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

        let without: Value = serde_json::from_slice(&change(
            &subscription("me/events", "updated", None),
            "t",
            ChangeType::Updated,
            None,
        ))
        .unwrap();
        let item = &without["value"][0];
        assert!(item.get("clientState").is_none());
        let id = item["resourceData"]["id"].as_str().unwrap();
        assert_eq!(item["resource"], format!("me/events/{id}"));
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
