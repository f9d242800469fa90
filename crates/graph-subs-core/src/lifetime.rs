//! How long a subscription may live, and which subscriptions to renew, when, and to what.
//!
//! Every function takes `now`: this module never reads the clock.
//!
//! The maximum lifetimes live with each kind in [`crate::catalogue::KINDS`]
//! (`max_lifetime_minutes`); they are Microsoft's published values as of [`SOURCE_DATE`].
//! They changed over the years (Teams was 60 minutes, Outlook 4,230), so update them in
//! one place, with the date.

use chrono::{DateTime, Datelike, Duration, Utc};

use crate::catalogue::{ResourceKind, Service};
use crate::subscription::Timestamp;

/// When the lifetimes in the catalogue were last checked against Microsoft's
/// "subscription resource type: maximum length of subscription per resource type" table.
pub const SOURCE_DATE: &str = "2026-05";

/// Graph raises a requested expiration closer than this to 45 minutes from now.
pub const MINIMUM: Duration = Duration::minutes(45);

/// The maximum lifetime of an Outlook subscription that includes resource data.
pub const OUTLOOK_RICH_MAXIMUM: Duration = Duration::minutes(1_440);

/// Teams subscriptions that expire later than this from now need a
/// `lifecycleNotificationUrl`.
pub const TEAMS_LIFECYCLE_THRESHOLD: Duration = Duration::minutes(60);

/// A time as Graph and people write it, to the second: `2026-11-22T09:00:00Z`.
///
/// RFC 3339 has four-digit years: callers keep `now` at or before
/// [`latest_supported_now`], so that every time derived from it can be written. A time
/// outside the years 0000 to 9999 (a library caller's mistake) is written as the nearest
/// end of that range, never in a form that is not RFC 3339.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    use chrono::SubsecRound;
    let t = t.trunc_subsecs(0);
    match Timestamp::new(t) {
        Ok(t) => t.to_string(),
        Err(_) if t.year() < 0 => "0000-01-01T00:00:00Z".to_owned(),
        Err(_) => "9999-12-31T23:59:59Z".to_owned(),
    }
}

/// The latest `now` whose results (now plus the longest lifetime of any resource) RFC 3339
/// can still write. Commands refuse a later `--now`; [`crate::validate::check`] reports
/// `time-out-of-range`.
pub fn latest_supported_now() -> DateTime<Utc> {
    // Checked by every validation: computed once.
    static LATEST: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *LATEST.get_or_init(|| {
        let longest = ResourceKind::all()
            .map(|k| max_lifetime(k, false))
            .max()
            .unwrap_or(Duration::zero());
        let end = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        end - longest
    })
}

/// The longest a subscription on `kind` may last.
pub fn max_lifetime(kind: ResourceKind, include_resource_data: bool) -> Duration {
    let documented = Duration::minutes(i64::from(kind.spec().max_lifetime_minutes));
    if include_resource_data && kind.spec().service == Service::Outlook {
        documented.min(OUTLOOK_RICH_MAXIMUM)
    } else {
        documented
    }
}

/// The latest `expirationDateTime` Graph accepts for a subscription created or renewed
/// at `now`.
pub fn latest_expiration(
    kind: ResourceKind,
    include_resource_data: bool,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    now + max_lifetime(kind, include_resource_data)
}

/// Whether a subscription on `kind` expiring at `expiration` needs a
/// `lifecycleNotificationUrl`: Teams resources do beyond one hour.
pub fn needs_lifecycle_url(
    kind: ResourceKind,
    expiration: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    kind.spec().service == Service::Teams && expiration - now > TEAMS_LIFECYCLE_THRESHOLD
}

/// What Graph does with a requested expiration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpirationVerdict {
    /// Accepted as is.
    Accepted,
    /// Accepted, but raised to 45 minutes from now.
    RaisedToMinimum {
        /// What the subscription will actually expire at.
        effective: DateTime<Utc>,
    },
    /// Refused: it is not in the future.
    NotInFuture,
    /// Refused: it is later than the resource allows.
    BeyondMaximum {
        /// The latest expiration allowed at `now`.
        latest: DateTime<Utc>,
    },
}

/// Judges a requested `expirationDateTime` at `now`.
pub fn judge_expiration(
    kind: ResourceKind,
    include_resource_data: bool,
    requested: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ExpirationVerdict {
    let latest = latest_expiration(kind, include_resource_data, now);
    if requested <= now {
        ExpirationVerdict::NotInFuture
    } else if requested > latest {
        ExpirationVerdict::BeyondMaximum { latest }
    } else if requested - now < MINIMUM {
        ExpirationVerdict::RaisedToMinimum {
            effective: now + MINIMUM,
        }
    } else {
        ExpirationVerdict::Accepted
    }
}

/// A subscription the renewal planner looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The subscription id.
    pub id: String,
    /// Its resource kind.
    pub kind: ResourceKind,
    /// Whether it includes resource data (shortens Outlook lifetimes).
    pub include_resource_data: bool,
    /// Its current `expirationDateTime`.
    pub expires: DateTime<Utc>,
    /// The longest the app wants it to live, when shorter than its resource allows (a
    /// keeper's `lifetime = "1d"`): renewals never go further, and its margin is at most
    /// half of it. `None`: the resource's maximum.
    pub lifetime: Option<Duration>,
}

impl Tracked {
    /// The longest a renewal may give it: its resource's maximum, or its own
    /// [`lifetime`](Tracked::lifetime) when shorter.
    pub fn longest(&self) -> Duration {
        let maximum = max_lifetime(self.kind, self.include_resource_data);
        self.lifetime.map_or(maximum, |l| l.min(maximum))
    }
}

/// How far to extend a subscription that is renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// To the latest expiration the resource allows.
    ToMaximum,
    /// By this much past its current expiration, within the maximum.
    By(Duration),
}

/// When and how to renew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalPolicy {
    /// Renew a subscription when less than this is left before it expires.
    pub renew_before: Duration,
    /// How far to extend it.
    pub extension: Extension,
    /// Spread the new expirations over a window this wide (at most a tenth of the
    /// resource's lifetime), so that subscriptions renewed together do not come due
    /// together again. Zero disables spreading.
    pub spread: Duration,
}

impl Default for RenewalPolicy {
    /// Renew with less than 6 hours left, to the maximum, spread over up to 2 hours.
    fn default() -> Self {
        RenewalPolicy {
            renew_before: Duration::hours(6),
            extension: Extension::ToMaximum,
            spread: Duration::hours(2),
        }
    }
}

impl RenewalPolicy {
    /// How long before expiry a subscription on `kind` is renewed: `renew_before`, but at
    /// most half the kind's lifetime, so that a short-lived resource (presence: 60 minutes)
    /// is not due again the moment it is renewed.
    pub fn margin(&self, kind: ResourceKind, include_resource_data: bool) -> Duration {
        self.margin_within(max_lifetime(kind, include_resource_data))
    }

    /// The margin of a subscription that lives at most `longest` (see
    /// [`Tracked::longest`]): `renew_before`, but at most half of `longest`.
    pub fn margin_within(&self, longest: Duration) -> Duration {
        self.renew_before.min(longest / 2)
    }

    /// The spread window of a subscription that lives at most `longest`: `spread`, but at
    /// most a tenth of `longest`.
    pub fn spread_within(&self, longest: Duration) -> Duration {
        self.spread.min(longest / 10)
    }
}

/// Where `key` (a subscription's id or name) falls in a spread window: an offset in
/// `[0, window)`, the same for the same key every time, so that subscriptions created or
/// renewed together are pulled back from their target by different amounts and come due
/// apart.
pub fn spread_offset(key: &str, window: Duration) -> Duration {
    match window.num_seconds() {
        w if w > 0 => Duration::seconds((stable_hash(key) % w as u64) as i64),
        _ => Duration::zero(),
    }
}

/// One renewal to perform now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal<'a> {
    /// The subscription id.
    pub id: &'a str,
    /// The `expirationDateTime` to PATCH.
    pub new_expiration: DateTime<Utc>,
}

/// What to do with a set of subscriptions at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenewalPlan<'a> {
    /// Subscriptions to renew now, in the order given.
    pub renew: Vec<Renewal<'a>>,
    /// Subscriptions already expired: Graph answers 404 to a renewal; create them again.
    pub expired: Vec<&'a str>,
    /// When to plan again: the earliest moment some subscription, renewed or not, will
    /// have less than its margin left. `None` when there is nothing to watch.
    pub next_review: Option<DateTime<Utc>>,
}

/// A stable 64-bit FNV-1a hash: the same id always gets the same place in the window.
fn stable_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Plans renewals at `now`: every live subscription with less than its
/// [margin](RenewalPolicy::margin_within) left is renewed, never beyond its maximum (or its
/// own [`lifetime`](Tracked::lifetime)), never below the 45-minute
/// floor, never to an earlier expiration than it has; expired ones are listed to create
/// again. New expirations are pulled back from the target by a per-subscription offset
/// within the spread window, so a batch created together comes due spread out.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use graph_subs_core::catalogue::ResourceKind;
/// use graph_subs_core::lifetime::{plan_renewals, RenewalPolicy, Tracked};
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
/// let chats = ResourceKind::from_name("chatMessage").unwrap();
/// let subs = vec![Tracked { id: "a".into(), kind: chats, include_resource_data: false,
///                           expires: now + Duration::hours(1), lifetime: None }];
/// let plan = plan_renewals(&subs, now, &RenewalPolicy::default());
/// assert_eq!(plan.renew.len(), 1);
/// assert!(plan.renew[0].new_expiration <= now + Duration::minutes(4_320));
/// ```
pub fn plan_renewals<'a>(
    subscriptions: &'a [Tracked],
    now: DateTime<Utc>,
    policy: &RenewalPolicy,
) -> RenewalPlan<'a> {
    let mut plan = RenewalPlan::default();
    let mut review = |at: DateTime<Utc>| {
        let at = at.max(now);
        plan.next_review = Some(plan.next_review.map_or(at, |r: DateTime<Utc>| r.min(at)));
    };
    for sub in subscriptions {
        if sub.expires <= now {
            plan.expired.push(&sub.id);
            continue;
        }
        let maximum = sub.longest();
        let margin = policy.margin_within(maximum);
        // Due from the moment its review comes (`expires - margin`), that moment included:
        // a keeper woken at its review renews then, not a moment later.
        if sub.expires - now > margin {
            review(sub.expires - margin);
            continue;
        }
        let latest = now + maximum;
        let floor = now + MINIMUM;
        let target = match policy.extension {
            Extension::ToMaximum => latest,
            Extension::By(by) => (sub.expires + by).min(latest),
        }
        .max(floor);
        // Never spread below what the subscription already has, nor below the floor.
        let room = (target - sub.expires.max(floor)).max(Duration::zero());
        let window = policy.spread_within(maximum).min(room / 2);
        let new_expiration = target - spread_offset(&sub.id, window);
        if new_expiration <= sub.expires {
            // Nothing to gain (an extension of zero, or already at the maximum).
            review(sub.expires - margin);
            continue;
        }
        plan.renew.push(Renewal {
            id: &sub.id,
            new_expiration,
        });
        review(new_expiration - margin);
    }
    plan
}

/// `90m`, `48h`, `3d`, `45s`.
/// A duration as people write it in flags and configuration files: a whole number and
/// `s`, `m`, `h` or `d`, more than zero and at most ten years; the error says how to write
/// one.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write 90m, 48h or 3d"))?;
    let duration = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => None,
    };
    duration
        .filter(|d| *d > Duration::zero() && *d <= Duration::days(3650))
        .ok_or_else(|| format!("`{text}` is not a duration; write 90m, 48h or 3d (up to 3650d)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_people_write_them() {
        assert_eq!(parse_duration("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("48h"), Ok(Duration::hours(48)));
        assert_eq!(parse_duration("3d"), Ok(Duration::days(3)));
        for bad in ["", "3", "h", "3w", "-3d", "0m", "99999d", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
    }
    fn kind(name: &str) -> ResourceKind {
        ResourceKind::from_name(name).unwrap()
    }

    #[test]
    fn maximum_lifetimes_follow_the_table() {
        let cases = [
            ("securityAlert", false, 43_200),
            ("driveItem", false, 42_300),
            ("list", false, 42_300),
            ("user", false, 41_760),
            ("group", false, 41_760),
            ("message", false, 10_080),
            ("message", true, 1_440),
            ("event", true, 1_440),
            ("contact", false, 10_080),
            ("chatMessage", false, 4_320),
            ("chatMessage", true, 4_320),
            ("callRecord", false, 4_230),
            ("todoTask", false, 4_230),
            ("shift", false, 360),
            ("presence", true, 60),
            ("virtualEventWebinar", false, 1_440),
        ];
        for (name, rich, minutes) in cases {
            assert_eq!(
                max_lifetime(kind(name), rich),
                Duration::minutes(minutes),
                "{name} rich={rich}"
            );
        }
        for k in ResourceKind::all() {
            assert!(k.spec().max_lifetime_minutes >= 60, "{k}");
        }
    }

    #[test]
    fn judging_an_expiration() {
        let n = now();
        let cases = [
            (
                "presence",
                n + Duration::minutes(50),
                ExpirationVerdict::Accepted,
            ),
            (
                "presence",
                n + Duration::minutes(61),
                ExpirationVerdict::BeyondMaximum {
                    latest: n + Duration::minutes(60),
                },
            ),
            (
                "message",
                n + Duration::minutes(10),
                ExpirationVerdict::RaisedToMinimum {
                    effective: n + Duration::minutes(45),
                },
            ),
            ("message", n, ExpirationVerdict::NotInFuture),
            (
                "message",
                n - Duration::days(1),
                ExpirationVerdict::NotInFuture,
            ),
            (
                "message",
                n + Duration::minutes(10_080),
                ExpirationVerdict::Accepted,
            ),
        ];
        for (name, requested, verdict) in cases {
            assert_eq!(
                judge_expiration(kind(name), false, requested, n),
                verdict,
                "{name}"
            );
        }
        assert_eq!(
            judge_expiration(kind("message"), true, n + Duration::minutes(1_441), n),
            ExpirationVerdict::BeyondMaximum {
                latest: n + Duration::minutes(1_440)
            }
        );
    }

    #[test]
    fn teams_needs_a_lifecycle_url_beyond_an_hour() {
        let n = now();
        assert!(!needs_lifecycle_url(
            kind("chatMessage"),
            n + Duration::minutes(60),
            n
        ));
        assert!(needs_lifecycle_url(
            kind("chatMessage"),
            n + Duration::minutes(61),
            n
        ));
        assert!(!needs_lifecycle_url(
            kind("message"),
            n + Duration::days(3),
            n
        ));
    }

    fn tracked(id: &str, name: &str, expires: DateTime<Utc>) -> Tracked {
        Tracked {
            id: id.into(),
            kind: kind(name),
            include_resource_data: false,
            expires,
            lifetime: None,
        }
    }

    #[test]
    fn renews_only_what_is_due_and_lists_the_expired() {
        let n = now();
        let subs = [
            tracked("due", "message", n + Duration::hours(1)),
            tracked("fresh", "message", n + Duration::days(5)),
            tracked("gone", "message", n - Duration::minutes(1)),
        ];
        let plan = plan_renewals(&subs, n, &RenewalPolicy::default());
        assert_eq!(plan.renew.iter().map(|r| r.id).collect::<Vec<_>>(), ["due"]);
        assert_eq!(plan.expired, ["gone"]);
        // "fresh" comes due 6 hours before it expires, sooner than the renewed one.
        assert_eq!(
            plan.next_review,
            Some(n + Duration::days(5) - Duration::hours(6))
        );
    }

    #[test]
    fn a_lifetime_of_its_own_caps_the_renewal_the_margin_and_the_review() {
        let n = now();
        let policy = RenewalPolicy {
            spread: Duration::zero(),
            ..RenewalPolicy::default()
        };
        // Mail allows 7 days; the app wants 1 day. Due with less than 6 hours left,
        // renewed to 1 day from now (not 7), and reviewed 6 hours before that: a keeper
        // that waits until the review never lets it lapse.
        let mut sub = tracked("m", "message", n + Duration::hours(5));
        sub.lifetime = Some(Duration::days(1));
        let plan = plan_renewals(std::slice::from_ref(&sub), n, &policy);
        assert_eq!(plan.renew[0].new_expiration, n + Duration::days(1));
        assert_eq!(
            plan.next_review,
            Some(n + Duration::days(1) - Duration::hours(6))
        );
        // A lifetime shorter than twice the margin: renewed at half of it, so it is not
        // due again the moment it is renewed.
        sub.lifetime = Some(Duration::hours(2));
        sub.expires = n + Duration::minutes(90);
        let plan = plan_renewals(std::slice::from_ref(&sub), n, &policy);
        assert!(
            plan.renew.is_empty(),
            "90 minutes left of 2 hours is not due"
        );
        assert_eq!(plan.next_review, Some(n + Duration::minutes(30)));
        sub.expires = n + Duration::minutes(59);
        let plan = plan_renewals(std::slice::from_ref(&sub), n, &policy);
        assert_eq!(plan.renew[0].new_expiration, n + Duration::hours(2));
        assert_eq!(plan.next_review, Some(n + Duration::hours(1)));
        // A lifetime longer than the resource allows changes nothing.
        sub.lifetime = Some(Duration::days(30));
        assert_eq!(sub.longest(), Duration::minutes(10_080));
    }

    #[test]
    fn extension_by_a_duration_is_capped_and_never_shortens() {
        let n = now();
        let policy = RenewalPolicy {
            renew_before: Duration::hours(2),
            extension: Extension::By(Duration::days(30)),
            spread: Duration::zero(),
        };
        // Presence is renewed at half its 60-minute lifetime, whatever renew_before says:
        // from its review on, that moment included.
        let subs = [tracked("p", "presence", n + Duration::minutes(31))];
        let plan = plan_renewals(&subs, n, &policy);
        assert!(plan.renew.is_empty());
        assert_eq!(plan.next_review, Some(n + Duration::minutes(1)));
        let subs = [tracked("p", "presence", n + Duration::minutes(30))];
        assert_eq!(plan_renewals(&subs, n, &policy).renew.len(), 1);
        let subs = [tracked("p", "presence", n + Duration::minutes(20))];
        let plan = plan_renewals(&subs, n, &policy);
        assert_eq!(plan.renew[0].new_expiration, n + Duration::minutes(60));

        let policy = RenewalPolicy {
            extension: Extension::By(Duration::hours(1)),
            ..policy
        };
        let subs = [tracked("m", "message", n + Duration::minutes(90))];
        let plan = plan_renewals(&subs, n, &policy);
        assert_eq!(plan.renew[0].new_expiration, n + Duration::minutes(150));

        // At the maximum already: nothing to renew.
        let subs = [tracked("q", "presence", n + Duration::minutes(60))];
        let policy = RenewalPolicy {
            extension: Extension::ToMaximum,
            ..policy
        };
        assert!(plan_renewals(&subs, n, &policy).renew.is_empty());
    }
}
