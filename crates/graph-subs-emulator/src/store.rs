//! The subscriptions the emulator holds, in memory: by id (ordered, so that List pages
//! are stable while others are created), by expiration (so that expired ones vanish in
//! time proportional to how many expire), and by Graph's duplicate key.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use chrono::{DateTime, Utc};
use graph_subs_core::catalogue;
use graph_subs_core::quota::{self, Bucket, QuotaOwner};
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::subscription::Subscription;

/// Graph refuses a second subscription of one app for the same `changeType` and
/// `resource` in a tenant, for the same creator: `me/messages` of two signed-in users are
/// two resources.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DuplicateKey {
    tenant: String,
    app: String,
    creator: String,
    change_type: String,
    resource: String,
}

impl DuplicateKey {
    fn of(tenant: &str, subscription: &Subscription) -> DuplicateKey {
        DuplicateKey {
            tenant: tenant.to_owned(),
            app: subscription.application_id.clone().unwrap_or_default(),
            creator: subscription.creator_id.clone().unwrap_or_default(),
            change_type: subscription.change_type.to_ascii_lowercase(),
            resource: subscription.resource.trim_start_matches('/').to_lowercase(),
        }
    }
}

/// One stored subscription and the tenant it lives in.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) tenant: String,
    pub(crate) subscription: Subscription,
}

/// Every subscription, indexed.
#[derive(Debug, Default)]
pub(crate) struct Store {
    by_id: BTreeMap<String, Entry>,
    by_expiry: BTreeSet<(DateTime<Utc>, String)>,
    by_key: HashMap<DuplicateKey, String>,
    /// Live subscriptions per quota counter (`graph_subs_core::quota`).
    quota_counts: HashMap<String, u32>,
}

/// The quota counters a stored subscription counts against.
fn buckets(tenant: &str, subscription: &Subscription) -> Vec<Bucket> {
    let Some(resource) = ResourcePath::parse(&subscription.resource)
        .ok()
        .and_then(|p| catalogue::resolve(&p).ok())
    else {
        return Vec::new();
    };
    quota::buckets(
        &resource,
        &QuotaOwner {
            tenant,
            app: subscription.application_id.as_deref().unwrap_or_default(),
            signed_in_user: subscription.creator_id.as_deref(),
        },
    )
}

impl Store {
    /// Removes what has expired at `now`; returns how many.
    pub(crate) fn purge(&mut self, now: DateTime<Utc>) -> usize {
        let mut removed = 0;
        while let Some((expiry, id)) = self.by_expiry.first().cloned() {
            if expiry > now {
                break;
            }
            self.remove(&id);
            removed += 1;
        }
        removed
    }

    /// The id of the subscription that `subscription` would duplicate.
    pub(crate) fn duplicate_of(&self, tenant: &str, subscription: &Subscription) -> Option<&str> {
        self.by_key
            .get(&DuplicateKey::of(tenant, subscription))
            .map(String::as_str)
    }

    /// The first quota a new subscription of `tenant` would exceed.
    pub(crate) fn quota_exceeded(
        &self,
        tenant: &str,
        subscription: &Subscription,
    ) -> Option<graph_subs_core::quota::Quota> {
        buckets(tenant, subscription)
            .into_iter()
            .find(|b| self.quota_counts.get(&b.key).copied().unwrap_or(0) >= b.quota.limit)
            .map(|b| b.quota)
    }

    /// Stores a new subscription.
    pub(crate) fn insert(&mut self, tenant: &str, subscription: Subscription) {
        for bucket in buckets(tenant, &subscription) {
            *self.quota_counts.entry(bucket.key).or_default() += 1;
        }
        let id = subscription.id.clone();
        self.by_expiry
            .insert((subscription.expiration_date_time.get(), id.clone()));
        self.by_key
            .insert(DuplicateKey::of(tenant, &subscription), id.clone());
        self.by_id.insert(
            id,
            Entry {
                tenant: tenant.to_owned(),
                subscription,
            },
        );
    }

    /// A subscription of `tenant`.
    pub(crate) fn get(&self, tenant: &str, id: &str) -> Option<&Entry> {
        self.by_id.get(id).filter(|e| e.tenant == tenant)
    }

    /// Replaces a stored subscription (same id), keeping the indexes right.
    pub(crate) fn replace(&mut self, subscription: Subscription) {
        let Some(entry) = self.by_id.get_mut(&subscription.id) else {
            return;
        };
        self.by_expiry.remove(&(
            entry.subscription.expiration_date_time.get(),
            subscription.id.clone(),
        ));
        self.by_expiry.insert((
            subscription.expiration_date_time.get(),
            subscription.id.clone(),
        ));
        entry.subscription = subscription;
    }

    /// Removes a subscription; returns it.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.by_id.remove(id)?;
        for bucket in buckets(&entry.tenant, &entry.subscription) {
            if let Some(count) = self.quota_counts.get_mut(&bucket.key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.quota_counts.remove(&bucket.key);
                }
            }
        }
        self.by_expiry
            .remove(&(entry.subscription.expiration_date_time.get(), id.to_owned()));
        let key = DuplicateKey::of(&entry.tenant, &entry.subscription);
        if self.by_key.get(&key).is_some_and(|k| k == id) {
            self.by_key.remove(&key);
        }
        Some(entry)
    }

    /// Up to `size` subscriptions of `tenant` that `visible` keeps, in id order, after the
    /// id `after`; and the last id returned when more may follow.
    pub(crate) fn page(
        &self,
        tenant: &str,
        after: Option<&str>,
        size: usize,
        visible: impl Fn(&Subscription) -> bool,
    ) -> (Vec<&Subscription>, Option<String>) {
        let start = match after {
            Some(id) => Bound::Excluded(id.to_owned()),
            None => Bound::Unbounded,
        };
        let mut page = Vec::with_capacity(size.min(1024));
        let mut matching = self
            .by_id
            .range((start, Bound::Unbounded))
            .map(|(_, e)| e)
            .filter(|e| e.tenant == tenant && visible(&e.subscription))
            .map(|e| &e.subscription);
        for subscription in matching.by_ref() {
            page.push(subscription);
            if page.len() == size {
                break;
            }
        }
        let more = page.len() == size && matching.next().is_some();
        let last = more.then(|| page.last().map(|s| s.id.clone())).flatten();
        (page, last)
    }

    /// Every stored subscription, in id order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.by_id.values()
    }

    /// How many are stored.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }
}
