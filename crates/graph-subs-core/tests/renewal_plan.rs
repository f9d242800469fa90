//! The renewal plan at scale: thousands of subscriptions created in the same minute.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use graph_subs_core::catalogue::ResourceKind;
use graph_subs_core::lifetime::{Extension, RenewalPolicy, Tracked, max_lifetime, plan_renewals};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

/// `count` subscriptions per kind, all created at `created` with the maximum lifetime, so
/// they all expire in the same minute.
fn batch(created: DateTime<Utc>, count: usize) -> Vec<Tracked> {
    let mut subs = Vec::new();
    for kind in ResourceKind::all() {
        for i in 0..count {
            let include_resource_data = i % 3 == 0;
            subs.push(Tracked {
                id: format!("{}-{i:05}-7f105c7d", kind.name()),
                kind,
                include_resource_data,
                expires: created + max_lifetime(kind, include_resource_data),
                lifetime: None,
            });
        }
    }
    subs
}

#[test]
fn thousands_due_together_are_all_renewed_within_their_maximum_and_spread() {
    let n = now();
    // Everything expires in 20 minutes: due under any margin, presence's included.
    let subs: Vec<Tracked> = batch(n, 400)
        .into_iter()
        .map(|mut s| {
            s.expires = n + Duration::minutes(20);
            s
        })
        .collect();
    assert!(subs.len() >= 10_000);
    let policy = RenewalPolicy {
        renew_before: Duration::hours(1),
        extension: Extension::ToMaximum,
        spread: Duration::hours(2),
    };
    let plan = plan_renewals(&subs, n, &policy);

    // None missed.
    let renewed: HashSet<&str> = plan.renew.iter().map(|r| r.id).collect();
    assert_eq!(
        renewed.len(),
        subs.len(),
        "every subscription due is renewed once"
    );
    assert!(plan.expired.is_empty());

    // None past its maximum, none shortened or under the floor.
    let by_id: BTreeMap<&str, &Tracked> = subs.iter().map(|s| (s.id.as_str(), s)).collect();
    for renewal in &plan.renew {
        let sub = by_id[renewal.id];
        let latest = n + max_lifetime(sub.kind, sub.include_resource_data);
        assert!(
            renewal.new_expiration <= latest,
            "{} past its maximum",
            renewal.id
        );
        assert!(
            renewal.new_expiration > sub.expires,
            "{} not extended",
            renewal.id
        );
        assert!(
            renewal.new_expiration >= n + Duration::minutes(45),
            "{}",
            renewal.id
        );
    }

    // Spread: within each kind's window no minute takes much more than its share.
    let mut minutes: BTreeMap<(&str, i64), usize> = BTreeMap::new();
    for renewal in &plan.renew {
        let sub = by_id[renewal.id];
        let minute = (renewal.new_expiration - n).num_minutes();
        *minutes.entry((sub.kind.name(), minute)).or_default() += 1;
    }
    for kind in ResourceKind::all() {
        let counts: Vec<usize> = minutes
            .iter()
            .filter(|((k, _), _)| *k == kind.name())
            .map(|(_, c)| *c)
            .collect();
        let window_minutes =
            (Duration::hours(2).min(max_lifetime(kind, false) / 10)).num_minutes() as usize;
        // 400 subscriptions over the window: at least most minutes are used, and the
        // busiest minute holds a few times the average at most.
        let used = counts.len();
        assert!(
            used * 10 >= window_minutes.min(400) * 8,
            "{kind}: {used} minutes used of {window_minutes}"
        );
        let busiest = *counts.iter().max().unwrap();
        let average = 400_f64 / used as f64;
        assert!(
            (busiest as f64) <= (average * 4.0).max(4.0),
            "{kind}: {busiest} in one minute"
        );
    }

    // The next wave comes due spread as well: the next review is the first of them, and
    // later than now even for presence, whose lifetime (60 minutes) is shorter than
    // renew_before: it is renewed at half its lifetime instead.
    let first_due = plan
        .renew
        .iter()
        .map(|r| {
            let sub = by_id[r.id];
            r.new_expiration - policy.margin(sub.kind, sub.include_resource_data)
        })
        .min()
        .unwrap();
    assert_eq!(plan.next_review, Some(first_due));
    assert!(first_due > n);
}

#[test]
fn a_plan_over_many_rounds_keeps_every_subscription_alive() {
    // Simulate a week of renewals every 15 minutes: no subscription ever expires.
    let start = now();
    let mut subs = batch(start, 20);
    let policy = RenewalPolicy {
        renew_before: Duration::minutes(30),
        extension: Extension::ToMaximum,
        spread: Duration::minutes(30),
    };
    let mut t = start;
    let end = start + Duration::days(7);
    let mut renewals = 0;
    while t < end {
        let plan = plan_renewals(&subs, t, &policy);
        assert!(
            plan.expired.is_empty(),
            "at {t}: {:?} expired",
            plan.expired
        );
        let updates: Vec<(String, DateTime<Utc>)> = plan
            .renew
            .iter()
            .map(|r| (r.id.to_owned(), r.new_expiration))
            .collect();
        renewals += updates.len();
        for (id, expiration) in updates {
            subs.iter_mut().find(|s| s.id == id).unwrap().expires = expiration;
        }
        t += Duration::minutes(15);
    }
    assert!(renewals > subs.len(), "renewals happened: {renewals}");
}
