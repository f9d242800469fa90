//! Which quota counters a subscription counts against: the catalogue's documented quotas
//! ([`crate::catalogue::KindSpec::quotas`]) applied to one subscription's resource and owner.
//!
//! A quota such as "1,000 subscriptions per mailbox (all Outlook resources together)"
//! is a family of counters, one per mailbox; [`buckets`] names the counters a new
//! subscription would add one to. Whoever keeps subscriptions (the emulator) counts per
//! [`Bucket::key`] and refuses a create whose bucket is full. `UsersInFilter` quotas limit
//! one subscription's `$filter`, not a count of subscriptions, and give no bucket.

use crate::catalogue::{QuotaScope, Resource, Subject, Together};

pub use crate::catalogue::Quota;

/// Who a subscription belongs to, as quotas see it.
#[derive(Debug, Clone, Copy)]
pub struct QuotaOwner<'a> {
    /// The tenant (organization) it lives in.
    pub tenant: &'a str,
    /// The app that created it.
    pub app: &'a str,
    /// The signed-in user, for a delegated subscription: whose mailbox `me/...` names.
    pub signed_in_user: Option<&'a str>,
}

/// One counter: a quota and the group of subscriptions it counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bucket {
    /// The documented quota.
    pub quota: Quota,
    /// Identifies the counted group: equal keys count together. Ids are compared
    /// case-insensitively, as Graph compares them.
    pub key: String,
}

/// The counters a subscription on `resource` owned by `owner` counts against.
pub fn buckets(resource: &Resource, owner: &QuotaOwner<'_>) -> Vec<Bucket> {
    let spec = resource.kind().spec();
    let group = |together: Together| match together {
        Together::Kind => format!("kind:{}", spec.name),
        Together::Service => format!("service:{}", spec.service.title()),
    };
    let tenant = owner.tenant.to_lowercase();
    let app = owner.app.to_lowercase();
    spec.quotas
        .iter()
        .filter_map(|quota| {
            let group = group(quota.together);
            let key = match quota.per {
                QuotaScope::Mailbox => {
                    let user = match resource.subject()? {
                        Subject::SignedInUser => owner.signed_in_user?.to_owned(),
                        Subject::User(user) => user,
                    };
                    format!("mailbox|{group}|{tenant}|{}", user.to_lowercase())
                }
                QuotaScope::Organization | QuotaScope::Tenant => {
                    format!("tenant|{group}|{tenant}")
                }
                QuotaScope::App => format!("app|{group}|{app}"),
                QuotaScope::AppAndTenant => format!("app-tenant|{group}|{app}|{tenant}"),
                QuotaScope::UsersInFilter => return None,
            };
            Some(Bucket { quota: *quota, key })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(path: &str) -> Resource {
        crate::catalogue::resolve(&path.parse().unwrap()).unwrap()
    }

    fn keys(path: &str, owner: QuotaOwner<'_>) -> Vec<(u32, String)> {
        buckets(&resource(path), &owner)
            .into_iter()
            .map(|b| (b.quota.limit, b.key))
            .collect()
    }

    const APP: QuotaOwner<'static> = QuotaOwner {
        tenant: "T1",
        app: "A1",
        signed_in_user: None,
    };

    #[test]
    fn each_documented_quota_is_a_counter_per_its_scope() {
        // Outlook: one counter per mailbox, messages and events together.
        let ada = keys("users/Ada@contoso.com/messages", APP);
        assert_eq!(ada.len(), 1);
        assert_eq!(ada[0].0, 1_000);
        assert_eq!(ada, keys("users/ada@CONTOSO.com/events", APP));
        assert_ne!(ada, keys("users/bob@contoso.com/messages", APP));
        let me = QuotaOwner {
            signed_in_user: Some("ada@contoso.com"),
            ..APP
        };
        assert_eq!(ada, keys("me/messages", me));
        // `me` with no signed-in user names no mailbox.
        assert!(keys("me/messages", APP).is_empty());

        // Users and groups: per app, per tenant, per app and tenant, together.
        let users = keys("users", APP);
        assert_eq!(
            users.iter().map(|k| k.0).collect::<Vec<_>>(),
            [50_000, 1_000, 100]
        );
        assert_eq!(users, keys("groups", APP));
        let other_tenant = keys(
            "users",
            QuotaOwner {
                tenant: "T2",
                ..APP
            },
        );
        assert_eq!(users[0], other_tenant[0], "per app, across tenants");
        assert_ne!(users[1], other_tenant[1]);

        // Teams: per organization, every Teams kind and every app together.
        let chats = keys("chats/getAllMessages", APP);
        assert_eq!(
            chats,
            keys("teams/getAllChannels", QuotaOwner { app: "A2", ..APP })
        );
        // callRecords: their own counter; presence's quota is on the $filter, no counter.
        assert_eq!(keys("communications/callRecords", APP)[0].0, 100);
        assert!(keys("communications/presences?$filter=id in ('a')", APP).is_empty());
        // No quota documented, no counter.
        assert!(keys("me/drive/root", APP).is_empty());
    }

    #[test]
    fn summaries_say_the_documented_quotas() {
        let summary = |p: &str| resource(p).kind().quota_summary();
        assert_eq!(
            summary("me/messages").as_deref(),
            Some("1,000 subscriptions per mailbox (all Outlook resources together)")
        );
        assert_eq!(
            summary("users").as_deref(),
            Some(
                "50,000 subscriptions per app; 1,000 per tenant across apps; 100 per app and tenant (users and groups together)"
            )
        );
        assert_eq!(
            summary("communications/callRecords").as_deref(),
            Some("100 subscriptions per organization")
        );
        assert_eq!(summary("me/drive/root"), None);
    }
}
