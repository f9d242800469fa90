//! The reconcile plan: what the keeper does for one tenant at `now`, from what the
//! configuration wants ([`Desired`]), what the store remembers ([`Remembered`]) and what
//! Graph has (the List answer, the core's [`Subscription`]s). A pure function: the loop
//! around it reads the three, writes each [`Action`] as an intent to the store, then acts
//! (`docs/keeper.md`).
//!
//! The rules, in the order they are applied:
//!
//! 1. A desired subscription whose remembered Graph id is in the List answer is **kept**:
//!    renewed when the core's renewal plan says so, **replaced** (deleted, then created)
//!    when its spec changed.
//! 2. A desired subscription without a live Graph id, when List shows one of this app
//!    that Graph would call its duplicate (the core's `same_duplicate_target`; a create
//!    would be refused): if the store's row says a create was under way (the keeper
//!    crashed between creating it and recording it), it is **adopted** (same
//!    notification URL) or **replaced** (another URL); if not, it is someone else's: it is
//!    **replaced** only with `prune = true`, else reported as a **conflict** and left
//!    alone. Without such a duplicate, it is **created** (again, after a 404 or
//!    `subscriptionRemoved`).
//! 3. A remembered subscription no longer desired is **deleted** when Graph still has it,
//!    else **forgotten**.
//! 4. A subscription of this app that the keeper neither remembers nor adopted is
//!    **pruned** only with `prune = true`; subscriptions of other apps are never touched.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use graph_subs_core::catalogue;
use graph_subs_core::lifetime::{RenewalPolicy, Tracked, plan_renewals};
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::subscription::{Subscription, same_duplicate_target};

/// A subscription the configuration wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Its name, unique in the tenant.
    pub name: String,
    /// The resource path.
    pub resource: String,
    /// Change types, as Graph writes them (`created,updated`).
    pub change_type: String,
    /// The notification URL.
    pub notification_url: String,
    /// Rich notifications (shortens some lifetimes).
    pub include_resource_data: bool,
    /// How long it should live, when shorter than its resource allows.
    pub lifetime: Option<chrono::Duration>,
    /// A digest of everything the create request carries: a change means a new
    /// subscription.
    pub fingerprint: String,
}

/// What the store remembers of a subscription the keeper created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// Its name.
    pub name: String,
    /// Graph's id, once the create answered.
    pub graph_id: Option<String>,
    /// The spec it was created with (or is being created with).
    pub fingerprint: String,
    /// A create was under way when this was read (its intent written, its outcome not):
    /// Graph may have the subscription.
    pub creating: bool,
    /// The resource and change types of that create, when known.
    pub target: Option<(String, String)>,
}

/// Why a subscription is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// It left the configuration.
    Undesired,
    /// `prune = true` and the keeper does not know it.
    Pruned,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create `name` (first time, or again).
    Create {
        /// The desired subscription.
        name: String,
    },
    /// Record that `name` is Graph's `graph_id` (created before a crash).
    Adopt {
        /// The desired subscription.
        name: String,
        /// Graph's id.
        graph_id: String,
    },
    /// PATCH `graph_id`'s expiration to `to`.
    Renew {
        /// The desired subscription.
        name: String,
        /// Graph's id.
        graph_id: String,
        /// The new expiration.
        to: DateTime<Utc>,
    },
    /// Graph has a subscription of this app to the same resource and change types, not
    /// created by this keeper: `name` cannot be created while it exists, and it is left
    /// alone (`prune = false`).
    Conflict {
        /// The desired subscription.
        name: String,
        /// Graph's id of the other one.
        graph_id: String,
    },
    /// Delete `graph_id`, then create `name` from its new spec.
    Replace {
        /// The desired subscription.
        name: String,
        /// Graph's id of the old one.
        graph_id: String,
    },
    /// Delete `graph_id`.
    Delete {
        /// Graph's id.
        graph_id: String,
        /// The remembered name, if any.
        name: Option<String>,
        /// Why.
        why: Why,
    },
    /// Drop `name` from the store: Graph no longer has it and it is not desired.
    Forget {
        /// The remembered name.
        name: String,
    },
}

/// The plan for one tenant at `now`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// When the next renewal falls due, when one will: the loop looks again then.
    pub next_review: Option<DateTime<Utc>>,
}

/// The plan for one tenant at `now`. `app_id` is the keeper's app: only its
/// subscriptions are adopted or pruned (`None` when the token does not say: then every
/// subscription List shows counts as the app's, which is what List shows an app).
pub fn plan(
    desired: &[Desired],
    remembered: &[Remembered],
    observed: &[Subscription],
    app_id: Option<&str>,
    policy: &RenewalPolicy,
    prune: bool,
    now: DateTime<Utc>,
) -> Plan {
    let live: HashMap<&str, &Subscription> = observed.iter().map(|s| (s.id.as_str(), s)).collect();
    let memory: HashMap<&str, &Remembered> =
        remembered.iter().map(|r| (r.name.as_str(), r)).collect();
    let ours = |s: &Subscription| match app_id {
        Some(app_id) => s
            .application_id
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(app_id)),
        None => true,
    };
    // Graph ids the keeper accounts for: remembered and live, or adopted below.
    let mut claimed: HashSet<&str> = remembered
        .iter()
        .filter_map(|r| r.graph_id.as_deref())
        .filter(|id| live.contains_key(id))
        .collect();
    let mut actions = Vec::new();
    let mut tracked = Vec::new();
    let mut names_of_tracked = HashMap::new();

    for d in desired {
        let kept = memory
            .get(d.name.as_str())
            .and_then(|r| r.graph_id.as_deref().map(|id| (r, id)))
            .and_then(|(r, id)| live.get(id).map(|s| (r, *s)));
        match kept {
            Some((r, s)) if r.fingerprint != d.fingerprint => actions.push(Action::Replace {
                name: d.name.clone(),
                graph_id: s.id.clone(),
            }),
            Some((_, s)) => {
                let kind = ResourcePath::parse(&s.resource)
                    .ok()
                    .and_then(|p| catalogue::resolve(&p).ok())
                    .map(|r| r.kind());
                if let Some(kind) = kind {
                    names_of_tracked.insert(s.id.clone(), d.name.clone());
                    tracked.push(Tracked {
                        id: s.id.clone(),
                        kind,
                        include_resource_data: d.include_resource_data,
                        expires: s.expiration_date_time.get(),
                        lifetime: d.lifetime,
                    });
                }
            }
            None => {
                let found = observed.iter().find(|s| {
                    ours(s)
                        && !claimed.contains(s.id.as_str())
                        && same_duplicate_target(
                            &s.resource,
                            &s.change_type,
                            &d.resource,
                            &d.change_type,
                        )
                });
                let ours_in_flight = memory.get(d.name.as_str()).is_some_and(|r| r.creating);
                match found {
                    Some(s) => {
                        claimed.insert(s.id.as_str());
                        let graph_id = s.id.clone();
                        let name = d.name.clone();
                        let same_url = s.notification_url.as_str() == d.notification_url.trim();
                        actions.push(match (ours_in_flight, same_url) {
                            (true, true) => Action::Adopt { name, graph_id },
                            (true, false) => Action::Replace { name, graph_id },
                            (false, _) if prune => Action::Replace { name, graph_id },
                            (false, _) => Action::Conflict { name, graph_id },
                        });
                    }
                    None => actions.push(Action::Create {
                        name: d.name.clone(),
                    }),
                }
            }
        }
    }

    let renewals = plan_renewals(&tracked, now, policy);
    for r in &renewals.renew {
        actions.push(Action::Renew {
            name: names_of_tracked[r.id].clone(),
            graph_id: r.id.to_owned(),
            to: r.new_expiration,
        });
    }
    for id in &renewals.expired {
        // Listed but already past its expiration: Graph drops it; create it again.
        actions.push(Action::Create {
            name: names_of_tracked[*id].clone(),
        });
    }

    let wanted: HashSet<&str> = desired.iter().map(|d| d.name.as_str()).collect();
    for r in remembered {
        if wanted.contains(r.name.as_str()) {
            continue;
        }
        // A create cut short, for a name that then left the configuration: Graph may
        // have it, found by what it was for.
        let cut_short = || {
            let (resource, change_type) = r.target.as_ref().filter(|_| r.creating)?;
            observed.iter().find(|s| {
                ours(s)
                    && !claimed.contains(s.id.as_str())
                    && same_duplicate_target(&s.resource, &s.change_type, resource, change_type)
            })
        };
        match r.graph_id.as_deref().filter(|id| live.contains_key(id)) {
            Some(id) => actions.push(Action::Delete {
                graph_id: id.to_owned(),
                name: Some(r.name.clone()),
                why: Why::Undesired,
            }),
            None => match cut_short() {
                Some(s) => {
                    claimed.insert(s.id.as_str());
                    actions.push(Action::Delete {
                        graph_id: s.id.clone(),
                        name: Some(r.name.clone()),
                        why: Why::Undesired,
                    });
                }
                None => actions.push(Action::Forget {
                    name: r.name.clone(),
                }),
            },
        }
    }
    if prune {
        for s in observed {
            if ours(s) && !claimed.contains(s.id.as_str()) {
                actions.push(Action::Delete {
                    graph_id: s.id.clone(),
                    name: None,
                    why: Why::Pruned,
                });
            }
        }
    }
    Plan {
        actions,
        next_review: renewals.next_review,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use graph_subs_core::subscription::{Timestamp, Unknown};

    const APP: &str = "app-1";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    fn desired(name: &str, resource: &str) -> Desired {
        Desired {
            name: name.into(),
            resource: resource.into(),
            change_type: "created,updated".into(),
            notification_url: "https://hooks.example.com/n".into(),
            include_resource_data: false,
            lifetime: None,
            fingerprint: format!("fp-{name}"),
        }
    }

    fn remembered(name: &str, id: Option<&str>) -> Remembered {
        Remembered {
            name: name.into(),
            graph_id: id.map(str::to_owned),
            fingerprint: format!("fp-{name}"),
            // No id yet: its create was under way.
            creating: id.is_none(),
            target: None,
        }
    }

    fn live(id: &str, resource: &str, app: &str, expires_in: Duration) -> Subscription {
        Subscription {
            id: id.into(),
            resource: resource.into(),
            application_id: Some(app.into()),
            change_type: "Created,Updated".into(),
            client_state: None,
            notification_url: "https://hooks.example.com/n".parse().unwrap(),
            lifecycle_notification_url: None,
            expiration_date_time: Timestamp::new(now() + expires_in).unwrap(),
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

    fn run(d: &[Desired], r: &[Remembered], o: &[Subscription], prune: bool) -> Vec<Action> {
        plan(d, r, o, Some(APP), &RenewalPolicy::default(), prune, now()).actions
    }

    #[test]
    fn new_subscriptions_are_created_and_healthy_ones_left_alone() {
        let d = [
            desired("mail", "users/ada/messages"),
            desired("events", "users/ada/events"),
        ];
        let r = [remembered("mail", Some("g1"))];
        let o = [live("g1", "users/ada/messages", APP, Duration::days(2))];
        assert_eq!(
            run(&d, &r, &o, false),
            [Action::Create {
                name: "events".into()
            }]
        );
    }

    #[test]
    fn due_subscriptions_are_renewed_and_vanished_ones_created_again() {
        let d = [
            desired("mail", "users/ada/messages"),
            desired("gone", "users/ada/events"),
        ];
        let r = [
            remembered("mail", Some("g1")),
            remembered("gone", Some("g404")),
        ];
        let o = [live("g1", "users/ada/messages", APP, Duration::hours(1))];
        let actions = run(&d, &r, &o, false);
        assert!(actions.contains(&Action::Create {
            name: "gone".into()
        }));
        let renewal = actions
            .iter()
            .find_map(|a| match a {
                Action::Renew { name, graph_id, to } => Some((name, graph_id, *to)),
                _ => None,
            })
            .unwrap();
        assert_eq!((renewal.0.as_str(), renewal.1.as_str()), ("mail", "g1"));
        assert!(
            renewal.2 > now() + Duration::days(5) && renewal.2 <= now() + Duration::minutes(10_080)
        );
    }

    #[test]
    fn a_subscription_created_before_a_crash_is_adopted_not_created_twice() {
        let d = [desired("mail", "/Users/ADA/messages")];
        // Remembered as being created, no id recorded; Graph has it (path and change
        // types in another case).
        let r = [remembered("mail", None)];
        let o = [
            live(
                "other-app",
                "users/ada/messages",
                "app-2",
                Duration::days(2),
            ),
            live("g7", "users/ada/messages", APP, Duration::days(2)),
        ];
        assert_eq!(
            run(&d, &r, &o, false),
            [Action::Adopt {
                name: "mail".into(),
                graph_id: "g7".into()
            }]
        );
    }

    #[test]
    fn a_duplicate_with_another_url_is_replaced_not_adopted() {
        let mut d = desired("mail", "users/ada/messages");
        d.notification_url = "https://hooks.example.com/moved".into();
        let o = [live("g7", "users/ada/messages", APP, Duration::days(2))];
        let r = [remembered("mail", None)];
        assert_eq!(
            run(std::slice::from_ref(&d), &r, &o, false),
            [Action::Replace {
                name: "mail".into(),
                graph_id: "g7".into()
            }]
        );
    }

    #[test]
    fn someone_elses_duplicate_is_a_conflict_unless_pruning() {
        // Same app, same resource, not created by this keeper (no row): another keeper's
        // (staging), or an admin's. Neither adopted nor deleted without prune.
        let d = [desired("mail", "users/ada/messages")];
        let o = [live("g7", "users/ada/messages", APP, Duration::days(2))];
        let conflict = [Action::Conflict {
            name: "mail".into(),
            graph_id: "g7".into(),
        }];
        assert_eq!(run(&d, &[], &o, false), conflict);
        // A row that is not creating (its last id gone) does not make it ours either.
        let mut r = remembered("mail", None);
        r.creating = false;
        assert_eq!(run(&d, &[r], &o, false), conflict);
        assert_eq!(
            run(&d, &[], &o, true),
            [Action::Replace {
                name: "mail".into(),
                graph_id: "g7".into()
            }]
        );
    }

    #[test]
    fn a_changed_spec_replaces_the_subscription() {
        let d = [desired("mail", "users/ada/messages")];
        let mut r = remembered("mail", Some("g1"));
        r.fingerprint = "old".into();
        let o = [live("g1", "users/ada/messages", APP, Duration::days(2))];
        assert_eq!(
            run(&d, &[r], &o, false),
            [Action::Replace {
                name: "mail".into(),
                graph_id: "g1".into()
            }]
        );
    }

    #[test]
    fn undesired_ones_are_deleted_or_forgotten_and_strangers_pruned_only_when_asked() {
        let r = [
            remembered("old", Some("g1")),
            remembered("lost", Some("g2")),
        ];
        let o = [
            live("g1", "users/ada/messages", APP, Duration::days(2)),
            live("mine", "users/bob/messages", APP, Duration::days(2)),
            live("theirs", "users/eve/messages", "app-2", Duration::days(2)),
        ];
        let without = run(&[], &r, &o, false);
        assert_eq!(
            without,
            [
                Action::Delete {
                    graph_id: "g1".into(),
                    name: Some("old".into()),
                    why: Why::Undesired
                },
                Action::Forget {
                    name: "lost".into()
                },
            ]
        );
        let with = run(&[], &r, &o, true);
        assert!(with.contains(&Action::Delete {
            graph_id: "mine".into(),
            name: None,
            why: Why::Pruned
        }));
        assert!(
            !with
                .iter()
                .any(|a| matches!(a, Action::Delete { graph_id, .. } if graph_id == "theirs")),
            "another app's subscription is never pruned"
        );
        assert_eq!(
            with.iter()
                .filter(|a| matches!(a, Action::Delete { graph_id, .. } if graph_id == "g1"))
                .count(),
            1
        );
    }
}
