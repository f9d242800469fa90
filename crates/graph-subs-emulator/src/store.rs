//! The subscriptions the emulator holds, in memory: by tenant and id (ordered, so that
//! List pages are stable while others are created, and a tenant's page never reads
//! another tenant's subscriptions), by expiration (so that expired ones vanish in time
//! proportional to how many expire), and by Graph's duplicate key.
//!
//! The layout is chosen for a million subscriptions (`docs/performance.md`, goal 2):
//!
//! - Each [`Entry`] lives once, in a slot of a paged slab ([`Slots`]); the indexes hold
//!   4-byte slot numbers, never a copy of an id or a string. Pages of [`PAGE_SLOTS`] slots
//!   are allocated whole, so the slab wastes at most one page (a `Vec` that doubles wastes
//!   up to half).
//! - Tenants are interned: an entry's tenant is an `Arc<str>` shared with every other
//!   entry of the tenant, and indexes refer to tenants by number.
//! - The id index is keyed by tenant number and the id's 16 bytes, for ids in the form
//!   the emulator gives them (a lowercase hyphenated UUID, whose text order is its
//!   numeric order); any other id (a hand-edited `--state` file) is kept by its text in a
//!   second map, and pages merge the two in text order. Operations that are not given
//!   the tenant (`remove`) look the id up in each tenant: there are few.
//! - The duplicate index is keyed by a 64-bit hash of the duplicate key; a hit is
//!   compared field by field with the stored entry, and distinct keys that share a hash
//!   are kept in an overflow map, so a collision costs a comparison, never a wrong answer.
//! - The strings of a stored subscription are shrunk to their length.
//!
//! What this cannot shrink is the [`Subscription`] itself (the core's type, kept as is):
//! about 380 bytes inline plus its strings, most of the total.
//!
//! List's first page costs O(page size) when the caller sees the tenant's subscriptions
//! in order; a caller who sees few of many (an app listing beside another app's
//! million) reads every subscription of the tenant it does not see, since visibility is
//! the caller's predicate, not an index.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Bound;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use graph_subs_core::catalogue;
use graph_subs_core::notification_url::NotificationUrl;
use graph_subs_core::quota::{self, Bucket, QuotaOwner};
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::subscription::{
    EncryptionCertificate, Subscription, Timestamp, duplicate_resource_key, same_duplicate_target,
};

/// Slots per slab page.
const PAGE_SLOTS: usize = 4096;

/// One stored subscription and the tenant it lives in.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Shared by every entry of the tenant.
    pub(crate) tenant: Arc<str>,
    pub(crate) subscription: Subscription,
}

/// A slot number in [`Slots`].
type Slot = u32;

/// A tenant's number in [`Store::tenants`].
type TenantNo = u32;

/// Entries in pages of [`PAGE_SLOTS`]; freed slots are reused.
#[derive(Debug, Default)]
struct Slots {
    pages: Vec<Vec<Option<Entry>>>,
    free: Vec<Slot>,
}

impl Slots {
    fn get(&self, slot: Slot) -> Option<&Entry> {
        let slot = slot as usize;
        self.pages
            .get(slot / PAGE_SLOTS)?
            .get(slot % PAGE_SLOTS)?
            .as_ref()
    }

    fn get_mut(&mut self, slot: Slot) -> Option<&mut Entry> {
        let slot = slot as usize;
        self.pages
            .get_mut(slot / PAGE_SLOTS)?
            .get_mut(slot % PAGE_SLOTS)?
            .as_mut()
    }

    fn insert(&mut self, entry: Entry) -> Slot {
        if let Some(slot) = self.free.pop()
            && let Some(place) = self
                .pages
                .get_mut(slot as usize / PAGE_SLOTS)
                .and_then(|p| p.get_mut(slot as usize % PAGE_SLOTS))
        {
            *place = Some(entry);
            return slot;
        }
        if self.pages.last().is_none_or(|p| p.len() == PAGE_SLOTS) {
            self.pages.push(Vec::with_capacity(PAGE_SLOTS));
        }
        let pages = self.pages.len();
        let page = &mut self.pages[pages - 1];
        page.push(Some(entry));
        // A store of more than 4 billion subscriptions is out of reach of memory first.
        ((pages - 1) * PAGE_SLOTS + page.len() - 1) as Slot
    }

    fn remove(&mut self, slot: Slot) -> Option<Entry> {
        let taken = self
            .pages
            .get_mut(slot as usize / PAGE_SLOTS)?
            .get_mut(slot as usize % PAGE_SLOTS)?
            .take()?;
        self.free.push(slot);
        Some(taken)
    }

    fn values(&self) -> impl Iterator<Item = &Entry> {
        self.pages.iter().flatten().flatten()
    }
}

/// An id as the emulator makes them, `7f105c7d-2dc5-4530-97cd-4e7ae6534c07`: its 16
/// bytes, big-endian, so that byte order is text order.
fn compact_id(id: &str) -> Option<[u8; 16]> {
    let uuid = uuid::Uuid::try_parse(id).ok()?;
    let mut text = uuid::Uuid::encode_buffer();
    (uuid.hyphenated().encode_lower(&mut text) == id).then(|| *uuid.as_bytes())
}

/// The text of a compact id, written into `buffer` (`Uuid::encode_buffer()`).
fn id_text<'b>(bytes: &[u8; 16], buffer: &'b mut [u8; 45]) -> &'b str {
    uuid::Uuid::from_bytes(*bytes)
        .hyphenated()
        .encode_lower(buffer)
}

/// The id index's key: the tenant's number, then the id's bytes.
fn id_key(tenant: TenantNo, id: [u8; 16]) -> [u8; 20] {
    let mut key = [0; 20];
    key[..4].copy_from_slice(&tenant.to_be_bytes());
    key[4..].copy_from_slice(&id);
    key
}

fn id_of_key(key: &[u8; 20]) -> [u8; 16] {
    let mut id = [0; 16];
    id.copy_from_slice(&key[4..]);
    id
}

/// Graph refuses a second subscription of one app for the same `changeType` and
/// `resource` in a tenant, for the same creator: `me/messages` of two signed-in users are
/// two resources. The request's part of the rule is the core's
/// (`subscription::same_duplicate_target`).
fn same_duplicate_key(
    tenant: &str,
    s: &Subscription,
    other_tenant: &str,
    o: &Subscription,
) -> bool {
    tenant == other_tenant
        && s.application_id.as_deref().unwrap_or_default()
            == o.application_id.as_deref().unwrap_or_default()
        && s.creator_id.as_deref().unwrap_or_default()
            == o.creator_id.as_deref().unwrap_or_default()
        && same_duplicate_target(&s.resource, &s.change_type, &o.resource, &o.change_type)
}

/// Where a subscription is in the store ([`Store::find`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place(Slot);

/// A stored subscription being updated: what Graph lets an update change, and nothing
/// the store's other indexes (id, tenant, duplicate key) are built on.
#[derive(Debug)]
pub(crate) struct Edit<'a> {
    subscription: &'a mut Subscription,
}

impl Edit<'_> {
    /// An edit of a subscription that is not stored (a copy, to see what an update would
    /// make of it).
    pub(crate) fn of(subscription: &mut Subscription) -> Edit<'_> {
        Edit { subscription }
    }

    /// The subscription as it is now.
    pub(crate) fn subscription(&self) -> &Subscription {
        self.subscription
    }

    pub(crate) fn set_expiration(&mut self, at: Timestamp) {
        self.subscription.expiration_date_time = at;
    }

    pub(crate) fn set_notification_url(&mut self, url: NotificationUrl) {
        self.subscription.notification_url = url;
    }

    pub(crate) fn set_encryption_certificate(&mut self, certificate: EncryptionCertificate) {
        self.subscription.encryption_certificate = Some(certificate);
    }

    pub(crate) fn set_encryption_certificate_id(&mut self, mut id: String) {
        id.shrink_to_fit();
        self.subscription.encryption_certificate_id = Some(id);
    }
}

/// Every subscription, indexed.
#[derive(Debug, Default)]
pub(crate) struct Store {
    slots: Slots,
    /// Interned tenants, by number.
    tenants: Vec<Arc<str>>,
    tenant_numbers: HashMap<Arc<str>, TenantNo>,
    /// Ids in the emulator's form, by tenant then id.
    by_id: BTreeMap<[u8; 20], Slot>,
    /// Any other id, by tenant then text.
    by_other_id: BTreeMap<(TenantNo, Box<str>), Slot>,
    by_expiry: BTreeSet<(DateTime<Utc>, Slot)>,
    /// The hash of a duplicate key, and the entry that holds it.
    by_key: HashMap<u64, Slot>,
    /// Entries whose different duplicate keys share a hash with `by_key`'s.
    by_key_overflow: HashMap<u64, Vec<Slot>>,
    hasher: RandomState,
    /// Live subscriptions per quota counter (`graph_subs_core::quota`), by a hash of the
    /// counter's key: 16 bytes a counter instead of its text. Two keys sharing a 64-bit
    /// hash would share a count; at a million counters the odds are about one in 10^7.
    quota_counts: HashMap<u64, u32>,
}

/// The quota counters a stored subscription counts against.
fn buckets(tenant: &str, subscription: &Subscription) -> Vec<Bucket> {
    let Some(resource) = ResourcePath::parse(&subscription.resource)
        .ok()
        .and_then(|p| catalogue::Resource::try_from(p).ok())
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
        while let Some(&(expiry, slot)) = self.by_expiry.first() {
            if expiry > now {
                break;
            }
            self.remove_slot(slot);
            removed += 1;
        }
        removed
    }

    /// The id of the subscription that `subscription` would duplicate.
    pub(crate) fn duplicate_of(&self, tenant: &str, subscription: &Subscription) -> Option<&str> {
        self.duplicate_slot(tenant, subscription)
            .and_then(|slot| self.slots.get(slot))
            .map(|e| e.subscription.id.as_str())
    }

    /// The first quota a new subscription of `tenant` would exceed.
    pub(crate) fn quota_exceeded(
        &self,
        tenant: &str,
        subscription: &Subscription,
    ) -> Option<graph_subs_core::quota::Quota> {
        buckets(tenant, subscription)
            .into_iter()
            .find(|b| {
                let key = self.hasher.hash_one(&b.key);
                self.quota_counts.get(&key).copied().unwrap_or(0) >= b.quota.limit
            })
            .map(|b| b.quota)
    }

    /// Stores a new subscription.
    pub(crate) fn insert(&mut self, tenant: &str, mut subscription: Subscription) {
        self.count_quotas(buckets(tenant, &subscription), true);
        shrink(&mut subscription);
        let number = self.tenant_number_or_new(tenant);
        let tenant = self.tenants[number as usize].clone();
        let expiry = subscription.expiration_date_time.get();
        let id = compact_id(&subscription.id);
        let other_id = id
            .is_none()
            .then(|| Box::<str>::from(subscription.id.as_str()));
        let key_hash = self.key_hash(&tenant, &subscription);
        let slot = self.slots.insert(Entry {
            tenant,
            subscription,
        });
        self.by_expiry.insert((expiry, slot));
        match (id, other_id) {
            (Some(id), _) => {
                if let Some(old) = self.by_id.insert(id_key(number, id), slot) {
                    self.forget(old);
                }
            }
            (None, Some(text)) => {
                if let Some(old) = self.by_other_id.insert((number, text), slot) {
                    self.forget(old);
                }
            }
            (None, None) => {}
        }
        self.index_key(key_hash, slot);
    }

    /// A subscription of `tenant`.
    pub(crate) fn get(&self, tenant: &str, id: &str) -> Option<&Entry> {
        self.find(tenant, id).and_then(|place| self.at(place))
    }

    /// Where subscription `id` of `tenant` is, to read it ([`Store::at`]) and change it
    /// ([`Store::edit_at`]) without looking it up again. Valid until the store changes.
    pub(crate) fn find(&self, tenant: &str, id: &str) -> Option<Place> {
        let number = *self.tenant_numbers.get(tenant)?;
        self.slot_in(number, id).map(Place)
    }

    /// The subscription at `place`.
    pub(crate) fn at(&self, place: Place) -> Option<&Entry> {
        self.slots.get(place.0)
    }

    /// Changes subscription `id` at `place` through `change`, which can set only what an
    /// update may change ([`Edit`]); the expiration index follows. `None` when `id` is not
    /// there (a place found before the store changed may hold another subscription).
    pub(crate) fn edit_at<R>(
        &mut self,
        Place(slot): Place,
        id: &str,
        change: impl FnOnce(&mut Edit<'_>) -> R,
    ) -> Option<R> {
        let entry = self
            .slots
            .get_mut(slot)
            .filter(|e| e.subscription.id == id)?;
        let before = entry.subscription.expiration_date_time.get();
        let result = change(&mut Edit {
            subscription: &mut entry.subscription,
        });
        let after = entry.subscription.expiration_date_time.get();
        if after != before {
            self.by_expiry.remove(&(before, slot));
            self.by_expiry.insert((after, slot));
        }
        Some(result)
    }

    /// Removes a subscription; returns it.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Entry> {
        let slot = self.slot_of(id)?;
        self.remove_slot(slot)
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
        let mut page = Vec::with_capacity(size.min(1024));
        let Some(&number) = self.tenant_numbers.get(tenant) else {
            return (page, None);
        };
        let mut matching = self
            .tenant_slots(number, after)
            .filter_map(|slot| self.slots.get(slot))
            .map(|e| &e.subscription)
            .filter(|s| visible(s));
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

    /// Every stored subscription, in no particular order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.values()
    }

    /// How many are stored.
    pub(crate) fn len(&self) -> usize {
        self.by_expiry.len()
    }

    fn tenant_number_or_new(&mut self, tenant: &str) -> TenantNo {
        if let Some(&number) = self.tenant_numbers.get(tenant) {
            return number;
        }
        let number = self.tenants.len() as TenantNo;
        let interned: Arc<str> = Arc::from(tenant);
        self.tenants.push(interned.clone());
        self.tenant_numbers.insert(interned, number);
        number
    }

    /// The slot of `id` in tenant `number`.
    fn slot_in(&self, number: TenantNo, id: &str) -> Option<Slot> {
        match compact_id(id) {
            Some(bytes) => self.by_id.get(&id_key(number, bytes)).copied(),
            None => self.by_other_id.get(&(number, Box::from(id))).copied(),
        }
    }

    /// The slot of `id`, in whichever tenant holds it.
    fn slot_of(&self, id: &str) -> Option<Slot> {
        (0..self.tenants.len() as TenantNo).find_map(|n| self.slot_in(n, id))
    }

    /// Tenant `number`'s slots in id order, after the id `after`: the two id maps merged
    /// in text order.
    fn tenant_slots<'a>(
        &'a self,
        number: TenantNo,
        after: Option<&str>,
    ) -> impl Iterator<Item = Slot> + 'a {
        let first = id_key(number, [0; 16]);
        let last = id_key(number, [0xff; 16]);
        let (compact_start, skip_through) = match after.map(|a| (a, compact_id(a))) {
            None => (Bound::Included(first), None),
            Some((_, Some(bytes))) => (Bound::Excluded(id_key(number, bytes)), None),
            // A skiptoken that is no id of the emulator's form: the compact ids are read
            // from the tenant's first and skipped up to it.
            Some((text, None)) => (Bound::Included(first), Some(text.to_owned())),
        };
        let mut compact = self
            .by_id
            .range((compact_start, Bound::Included(last)))
            .map(|(key, slot)| (id_of_key(key), *slot))
            .filter(move |(id, _)| {
                skip_through
                    .as_deref()
                    .is_none_or(|after| id_text(id, &mut uuid::Uuid::encode_buffer()) > after)
            })
            .peekable();
        let other_start = match after {
            Some(text) => Bound::Excluded((number, Box::<str>::from(text))),
            None => Bound::Included((number, Box::<str>::from(""))),
        };
        let mut other = self
            .by_other_id
            .range((other_start, Bound::Unbounded))
            .take_while(move |((n, _), _)| *n == number)
            .map(|((_, text), slot)| (text, *slot))
            .peekable();
        std::iter::from_fn(move || match (compact.peek(), other.peek()) {
            (Some((id, _)), Some((text, _))) => {
                if id_text(id, &mut uuid::Uuid::encode_buffer()) < &***text {
                    compact.next().map(|(_, slot)| slot)
                } else {
                    other.next().map(|(_, slot)| slot)
                }
            }
            (Some(_), None) => compact.next().map(|(_, slot)| slot),
            (None, _) => other.next().map(|(_, slot)| slot),
        })
    }

    /// Adds a subscription to (or takes it from) its quota counters.
    fn count_quotas(&mut self, buckets: Vec<Bucket>, add: bool) {
        for bucket in buckets {
            let key = self.hasher.hash_one(&bucket.key);
            if add {
                *self.quota_counts.entry(key).or_default() += 1;
            } else if let Some(count) = self.quota_counts.get_mut(&key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.quota_counts.remove(&key);
                }
            }
        }
    }

    fn remove_slot(&mut self, slot: Slot) -> Option<Entry> {
        let entry = self.slots.get(slot)?;
        let counted = buckets(&entry.tenant, &entry.subscription);
        self.count_quotas(counted, false);
        let entry = self.slots.get(slot)?;
        let number = *self.tenant_numbers.get(&*entry.tenant)?;
        let expiry = entry.subscription.expiration_date_time.get();
        let key_hash = self.key_hash(&entry.tenant, &entry.subscription);
        match compact_id(&entry.subscription.id) {
            Some(bytes) => {
                let key = id_key(number, bytes);
                if self.by_id.get(&key) == Some(&slot) {
                    self.by_id.remove(&key);
                }
            }
            None => {
                let key = (number, Box::<str>::from(entry.subscription.id.as_str()));
                if self.by_other_id.get(&key) == Some(&slot) {
                    self.by_other_id.remove(&key);
                }
            }
        }
        self.by_expiry.remove(&(expiry, slot));
        self.unindex_key(key_hash, slot);
        self.slots.remove(slot)
    }

    /// Removes an entry whose id was given to another (only a `--state` replay or an
    /// unchecked insert stores an id twice).
    fn forget(&mut self, slot: Slot) {
        let Some(entry) = self.slots.get(slot) else {
            return;
        };
        let counted = buckets(&entry.tenant, &entry.subscription);
        self.count_quotas(counted, false);
        let Some(entry) = self.slots.get(slot) else {
            return;
        };
        let expiry = entry.subscription.expiration_date_time.get();
        let key_hash = self.key_hash(&entry.tenant, &entry.subscription);
        self.by_expiry.remove(&(expiry, slot));
        self.unindex_key(key_hash, slot);
        self.slots.remove(slot);
    }

    fn key_hash(&self, tenant: &str, subscription: &Subscription) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        tenant.hash(&mut hasher);
        subscription
            .application_id
            .as_deref()
            .unwrap_or_default()
            .hash(&mut hasher);
        subscription
            .creator_id
            .as_deref()
            .unwrap_or_default()
            .hash(&mut hasher);
        for byte in subscription.change_type.bytes() {
            hasher.write_u8(byte.to_ascii_lowercase());
        }
        hasher.write_u8(0xff);
        duplicate_resource_key(&subscription.resource).hash(&mut hasher);
        hasher.finish()
    }

    fn duplicate_slot(&self, tenant: &str, subscription: &Subscription) -> Option<Slot> {
        let hash = self.key_hash(tenant, subscription);
        let same = |slot: &Slot| {
            self.slots.get(*slot).is_some_and(|e| {
                same_duplicate_key(&e.tenant, &e.subscription, tenant, subscription)
            })
        };
        self.by_key
            .get(&hash)
            .filter(|s| same(s))
            .or_else(|| self.by_key_overflow.get(&hash)?.iter().find(|s| same(s)))
            .copied()
    }

    /// Makes `slot` the holder of its duplicate key (the newest entry wins, as in a map).
    fn index_key(&mut self, hash: u64, slot: Slot) {
        let Some(entry) = self.slots.get(slot) else {
            return;
        };
        let (tenant, subscription) = (entry.tenant.clone(), &entry.subscription);
        match self.by_key.get(&hash).copied() {
            None => {
                self.by_key.insert(hash, slot);
            }
            Some(held) => {
                let same = |s: Slot| {
                    self.slots.get(s).is_some_and(|e| {
                        same_duplicate_key(&e.tenant, &e.subscription, &tenant, subscription)
                    })
                };
                if same(held) {
                    self.by_key.insert(hash, slot);
                    return;
                }
                let position = self
                    .by_key_overflow
                    .get(&hash)
                    .and_then(|list| list.iter().position(|s| same(*s)));
                let list = self.by_key_overflow.entry(hash).or_default();
                match position {
                    Some(i) => list[i] = slot,
                    None => list.push(slot),
                }
            }
        }
    }

    /// Drops `slot` from the duplicate index, if it holds its key.
    fn unindex_key(&mut self, hash: u64, slot: Slot) {
        if self.by_key.get(&hash) == Some(&slot) {
            let promoted = self.by_key_overflow.get_mut(&hash).and_then(Vec::pop);
            match promoted {
                Some(next) => {
                    self.by_key.insert(hash, next);
                }
                None => {
                    self.by_key.remove(&hash);
                }
            }
        } else if let Some(list) = self.by_key_overflow.get_mut(&hash) {
            list.retain(|s| *s != slot);
        }
        if self
            .by_key_overflow
            .get(&hash)
            .is_some_and(|list| list.is_empty())
        {
            self.by_key_overflow.remove(&hash);
        }
    }
}

/// Gives back the spare capacity of the strings a stored subscription owns.
fn shrink(subscription: &mut Subscription) {
    subscription.id.shrink_to_fit();
    subscription.resource.shrink_to_fit();
    subscription.change_type.shrink_to_fit();
    for text in [
        &mut subscription.application_id,
        &mut subscription.creator_id,
        &mut subscription.latest_supported_tls_version,
        &mut subscription.encryption_certificate_id,
        &mut subscription.notification_content_type,
        &mut subscription.notification_query_options,
        &mut subscription.notification_url_app_id,
    ]
    .into_iter()
    .flatten()
    {
        text.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap_or_default()
    }

    fn subscription(id: &str, resource: &str, expires: i64) -> Subscription {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "resource": resource,
            "applicationId": "app",
            "creatorId": "sp-app",
            "changeType": "created,updated",
            "notificationUrl": "https://webhook.example.com/notify",
            "expirationDateTime": graph_subs_core::lifetime::rfc3339(at(expires)),
        }))
        .unwrap()
    }

    fn uuid(n: u8) -> String {
        format!("{n:02x}000000-0000-4000-8000-000000000000")
    }

    fn ids(page: &[&Subscription]) -> Vec<String> {
        page.iter().map(|s| s.id.clone()).collect()
    }

    #[test]
    fn pages_follow_id_text_order_whatever_the_form_of_the_id() {
        let mut store = Store::default();
        // Ids of the emulator's form and others (a hand-edited state), in one order.
        let all = [
            "0-not-a-uuid".to_owned(),
            uuid(0x10),
            "10000000-0000-4000-8000-00000000000G".to_owned(),
            uuid(0x20),
            "AB000000-0000-4000-8000-000000000000".to_owned(),
            uuid(0xab),
            "zzz".to_owned(),
        ];
        for (i, id) in all.iter().enumerate().rev() {
            store.insert("t", subscription(id, &format!("r/{i}"), 100));
        }
        store.insert("other", subscription(&uuid(0x15), "r/x", 100));
        let (page, last) = store.page("t", None, 3, |_| true);
        assert_eq!(ids(&page), all[..3]);
        let mut seen = ids(&page);
        let mut after = last;
        while let Some(token) = after {
            let (page, last) = store.page("t", Some(&token), 3, |_| true);
            seen.extend(ids(&page));
            after = last;
        }
        assert_eq!(seen, all);
        // A skiptoken of any text starts after it.
        let (page, _) = store.page("t", Some("2"), 2, |_| true);
        assert_eq!(ids(&page), [uuid(0x20), all[4].clone()]);
        let (page, _) = store.page("t", Some(&uuid(0x20)), 10, |s| s.id != "zzz");
        assert_eq!(ids(&page), [all[4].clone(), uuid(0xab)]);
        assert_eq!(
            ids(&store.page("other", None, 10, |_| true).0),
            [uuid(0x15)]
        );
        assert!(store.page("nobody", None, 10, |_| true).0.is_empty());
        assert_eq!(store.len(), 8);
    }

    #[test]
    fn get_and_edit_are_per_tenant_and_remove_finds_any_tenant() {
        let mut store = Store::default();
        store.insert("t", subscription(&uuid(1), "r/1", 100));
        store.insert("u", subscription("odd-id", "r/2", 100));
        assert!(store.get("t", &uuid(1)).is_some());
        assert!(store.get("u", &uuid(1)).is_none());
        assert_eq!(&*store.get("u", "odd-id").unwrap().tenant, "u");
        assert!(store.find("t", "odd-id").is_none());
        let later = Timestamp::new(at(300)).unwrap();
        let place = store.find("u", "odd-id").unwrap();
        assert!(store.edit_at(place, "another-id", |_| ()).is_none());
        assert_eq!(
            store.edit_at(place, "odd-id", |edit| {
                edit.set_expiration(later);
                edit.subscription().id.clone()
            }),
            Some("odd-id".to_owned())
        );
        assert_eq!(
            store
                .get("u", "odd-id")
                .unwrap()
                .subscription
                .expiration_date_time
                .get(),
            at(300)
        );
        // The old expiry is gone from the index: nothing expires at 200.
        assert_eq!(store.purge(at(200)), 1);
        assert!(store.get("t", &uuid(1)).is_none());
        assert_eq!(store.remove("odd-id").unwrap().subscription.id, "odd-id");
        assert_eq!(store.len(), 0);
        assert!(store.remove("odd-id").is_none());
        assert_eq!(store.entries().count(), 0);
    }

    #[test]
    fn duplicates_are_found_by_graphs_key() {
        let mut store = Store::default();
        store.insert("t", subscription(&uuid(1), "/Users/A/Messages", 100));
        let check = |store: &Store, tenant: &str, resource: &str, change_type: &str| {
            let mut probe = subscription(&uuid(9), resource, 100);
            probe.change_type = change_type.to_owned();
            store.duplicate_of(tenant, &probe).map(str::to_owned)
        };
        let first = Some(uuid(1));
        assert_eq!(
            check(&store, "t", "users/a/messages", "Created,Updated"),
            first
        );
        assert_eq!(
            check(&store, "t", "//users/a/MESSAGES", "created,updated"),
            first
        );
        assert_eq!(
            check(&store, "u", "users/a/messages", "created,updated"),
            None
        );
        assert_eq!(
            check(&store, "t", "users/b/messages", "created,updated"),
            None
        );
        assert_eq!(check(&store, "t", "users/a/messages", "created"), None);
        // Unicode lowercase, as `str::to_lowercase` has it.
        store.insert("t", subscription(&uuid(2), "sites/ΣΊΣΥΦΟΣ", 100));
        assert_eq!(
            check(&store, "t", "sites/σίσυφος", "created,updated"),
            Some(uuid(2))
        );
        store.remove(&uuid(1));
        assert_eq!(
            check(&store, "t", "users/a/messages", "created,updated"),
            None
        );
    }

    #[test]
    fn keys_that_share_a_hash_are_told_apart() {
        let mut store = Store::default();
        store.insert("t", subscription(&uuid(1), "r/1", 100));
        store.insert("t", subscription(&uuid(2), "r/2", 100));
        let slot = |store: &Store, id: &str| store.slot_of(id).unwrap();
        let (one, two) = (slot(&store, &uuid(1)), slot(&store, &uuid(2)));
        // Index both under one hash, as a collision would.
        let hash = 42;
        store.index_key(hash, one);
        store.index_key(hash, two);
        assert_eq!(store.by_key.get(&hash), Some(&one));
        assert_eq!(store.by_key_overflow.get(&hash), Some(&vec![two]));
        store.unindex_key(hash, one);
        assert_eq!(store.by_key.get(&hash), Some(&two));
        assert!(!store.by_key_overflow.contains_key(&hash));
        store.unindex_key(hash, two);
        assert!(!store.by_key.contains_key(&hash));
    }

    #[test]
    fn slots_are_reused_and_pages_fill_whole() {
        let mut store = Store::default();
        for i in 0..PAGE_SLOTS + 1 {
            store.insert(
                "t",
                subscription(&format!("id-{i:05}"), &format!("r/{i}"), 100),
            );
        }
        assert_eq!(store.slots.pages.len(), 2);
        store.remove("id-00007");
        store.insert("t", subscription("id-new", "r/new", 100));
        assert_eq!(store.slots.pages.len(), 2);
        assert_eq!(store.slot_of("id-new"), Some(7));
        assert_eq!(store.len(), PAGE_SLOTS + 1);
    }
}
