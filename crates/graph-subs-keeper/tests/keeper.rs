//! The keeper against the emulator over real HTTP, with the emulator's clock moved: a
//! week of presence (60-minute) and mail subscriptions with no lapse, re-creation after
//! `subscriptionRemoved` and after a 404, reauthorization, prune on and off, a changed
//! configuration reconciled, a create interrupted by a crash adopted, on SQLite and on a
//! throwaway PostgreSQL.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use graph_subs_core::notification::{LifecycleEvent, LifecycleNotification};
use graph_subs_core::subscription::{Timestamp, Unknown};
use graph_subs_emulator::{App, DEFAULT_TENANT_ID, Emulator, RunningEmulator, Throttle, TokenSpec};
use graph_subs_keeper::config::{self, Sources};
use graph_subs_keeper::run::{Keeper, KeeperError, Replica, Report};
use graph_subs_keeper::setup;
use graph_subs_keeper::store::{Change, State, Store};
use serde_json::{Value, json};

const APP: &str = "24d3b144-21ae-4080-943f-7067b395b913";
const SECRET: &str = "keeper-test-secret";
const OTHER_APP: &str = "9f1c1a5e-1111-4d2b-8c3a-5e6f7a8b9c0d";
/// A second tenant, reached with a delegated token (presence has no application
/// permission).
const FABRIKAM: &str = "0b6a2f4e-6d4a-4c4f-9a5b-2f1c3d4e5f60";

/// Files from the folder, variables from this map (tests never touch the process's
/// environment).
struct TestSources(HashMap<String, String>);

impl Sources for TestSources {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

struct Fixture {
    emulator: RunningEmulator,
    dir: tempfile::TempDir,
    store_url: String,
    sources: TestSources,
    http: reqwest::Client,
}

async fn fixture(store_url: Option<String>) -> Fixture {
    let emulator = Emulator::builder()
        .endpoint_validation(false)
        .throttle(Throttle::OFF)
        .app(App::new(APP, SECRET, &["Mail.Read", "Calendars.Read"]))
        .build()
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client-secret"), SECRET).unwrap();
    std::fs::write(dir.path().join("client-state"), "keeper-client-state").unwrap();
    // A month-long delegated token: a static token cannot be refreshed.
    let mut spec = TokenSpec::delegated(FABRIKAM, APP, "ada", &["Presence.Read.All", "Mail.Read"]);
    spec.expires_in = chrono::Duration::days(30);
    let token = emulator.token(&spec);
    let store_url =
        store_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("keeper.db").display()));
    Fixture {
        emulator,
        dir,
        store_url,
        sources: TestSources(HashMap::from([("FABRIKAM_TOKEN".to_owned(), token)])),
        http: reqwest::Client::new(),
    }
}

fn subscription(name: &str, resource: &str, extra: &str) -> String {
    // Presence notifies only updates.
    let change_types = if resource.contains("presences") {
        r#"["updated"]"#
    } else {
        r#"["created", "updated"]"#
    };
    format!(
        r#"
[[tenant.subscription]]
name = "{name}"
resource = "{resource}"
change_types = {change_types}
notification_url = "https://hooks.example.com/notifications"
lifecycle_notification_url = "https://hooks.example.com/lifecycle"
client_state_file = "client-state"
{extra}
"#
    )
}

impl Fixture {
    fn base(&self) -> &str {
        self.emulator.base_url()
    }

    /// A configuration: `contoso` (client credentials) with `contoso`'s subscriptions,
    /// `fabrikam` (a delegated token) with `fabrikam`'s.
    fn config(&self, prune: bool, contoso: &[String], fabrikam: &[String]) -> String {
        let base = self.base();
        let mut text = format!(
            r#"
[keeper]
prune = {prune}

[[tenant]]
name = "contoso"
tenant_id = "{DEFAULT_TENANT_ID}"
base_url = "{base}/v1.0"

[tenant.credentials]
client_id = "{APP}"
client_secret_file = "client-secret"
authority = "{base}"
"#
        );
        text.extend(contoso.iter().cloned());
        if !fabrikam.is_empty() {
            text.push_str(&format!(
                r#"
[[tenant]]
name = "fabrikam"
tenant_id = "{FABRIKAM}"
base_url = "{base}/v1.0"

[tenant.credentials]
token_env = "FABRIKAM_TOKEN"
"#
            ));
            text.extend(fabrikam.iter().cloned());
        }
        text
    }

    /// A keeper for `text`, which must check without errors.
    async fn keeper(&self, text: &str) -> Keeper {
        self.replica(text, None).await
    }

    /// A keeper for `text`, one of several replicas when `replica` is given.
    async fn replica(&self, text: &str, replica: Option<&str>) -> Keeper {
        let now = self.emulator.now();
        let checked = config::check(text, self.dir.path(), &self.sources, now);
        assert!(!checked.has_errors(), "{:#?}", checked.problems);
        let mut settings = setup::settings(&checked, std::time::Duration::from_secs(300));
        let tenants = setup::tenants(checked, self.dir.path(), &self.sources).unwrap();
        settings.replica = replica.map(|id| Replica {
            id: id.to_owned(),
            lease: chrono::Duration::seconds(60),
        });
        let store = Store::open(&self.store_url, now).await.unwrap();
        Keeper::new(store, tenants, settings)
    }

    async fn advance(&self, seconds: i64) -> DateTime<Utc> {
        let answer: Value = self
            .http
            .post(format!("{}/emulator/clock", self.base()))
            .json(&json!({ "advanceSeconds": seconds }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["now"].as_str().unwrap().parse().unwrap()
    }

    fn app_token(&self, app: &str) -> String {
        self.emulator.token(&TokenSpec::application(
            DEFAULT_TENANT_ID,
            app,
            &["Mail.Read", "Calendars.Read"],
        ))
    }

    /// What Graph has for `contoso`, as `app` sees it: id -> subscription.
    async fn graph(&self, app: &str) -> BTreeMap<String, Value> {
        let answer: Value = self
            .http
            .get(format!("{}/v1.0/subscriptions", self.base()))
            .bearer_auth(self.app_token(app))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_str().unwrap().to_owned(), s.clone()))
            .collect()
    }

    /// Creates a subscription of `contoso` directly, as `app`.
    async fn create_directly(&self, app: &str, resource: &str) -> String {
        let expires = self.emulator.now() + chrono::Duration::days(1);
        let answer: Value = self
            .http
            .post(format!("{}/v1.0/subscriptions", self.base()))
            .bearer_auth(self.app_token(app))
            .json(&json!({
                "changeType": "created,updated",
                "notificationUrl": "https://hooks.example.com/notifications",
                "lifecycleNotificationUrl": "https://hooks.example.com/lifecycle",
                "resource": resource,
                "expirationDateTime": expires.to_rfc3339(),
                "clientState": "keeper-client-state",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .to_owned()
    }

    async fn delete_directly(&self, id: &str) {
        let status = self
            .http
            .delete(format!("{}/v1.0/subscriptions/{id}", self.base()))
            .bearer_auth(self.app_token(APP))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
    }

    /// `POST /emulator/lifecycle`: the emulator acts as Graph (a `subscriptionRemoved`
    /// removes the subscription); the event as the receiver hands it over.
    async fn lifecycle(&self, id: &str, event: &str) -> LifecycleNotification {
        let status = self
            .http
            .post(format!("{}/emulator/lifecycle", self.base()))
            .json(&json!({ "subscriptionId": id, "lifecycleEvent": event }))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
        self.event(id, event)
    }

    /// A lifecycle event as the receiver hands it over (for a subscription the emulator
    /// no longer has, which it would not send).
    fn event(&self, id: &str, event: &str) -> LifecycleNotification {
        LifecycleNotification {
            subscription_id: id.to_owned(),
            subscription_expiration_date_time: Timestamp::new(self.emulator.now()).unwrap(),
            tenant_id: Some(DEFAULT_TENANT_ID.to_owned()),
            client_state: None,
            lifecycle_event: match event {
                "subscriptionRemoved" => LifecycleEvent::SubscriptionRemoved,
                "reauthorizationRequired" => LifecycleEvent::ReauthorizationRequired,
                _ => LifecycleEvent::Missed,
            },
            unknown: Unknown::default(),
        }
    }
}

/// Each tenant's remembered ids, by name.
async fn ids(keeper: &Keeper) -> BTreeMap<(String, String), String> {
    keeper
        .store()
        .all_rows()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| r.graph_id.map(|id| ((r.tenant, r.name), id)))
        .collect()
}

fn total(reports: &[Report]) -> Report {
    reports.iter().fold(Report::default(), |mut sum, r| {
        sum.created += r.created;
        sum.adopted += r.adopted;
        sum.renewed += r.renewed;
        sum.deleted += r.deleted;
        sum.forgotten += r.forgotten;
        sum.failed += r.failed;
        sum
    })
}

#[tokio::test]
async fn a_week_of_presence_and_mail_subscriptions_without_a_lapse() {
    let f = fixture(None).await;
    let text = f.config(
        false,
        &[
            subscription("ada-mail", "users/ada/messages", ""),
            subscription("bob-events", "users/bob/events", "lifetime = \"2d\""),
        ],
        &[
            subscription("ada-presence", "communications/presences/ada", ""),
            subscription("me-mail", "me/messages", ""),
        ],
    );
    let keeper = f.keeper(&text).await;
    let first = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!((first.created, first.failed), (4, 0), "{first:?}");
    let start = ids(&keeper).await;
    assert_eq!(start.len(), 4);

    // A week in 15-minute steps: presence lasts 60 minutes, so it is renewed at half of
    // that, about twice an hour; mail lasts about 3 days. Renewals come from the store
    // between full rounds (Graph listed), which come every 8 hours here.
    let step = 15 * 60;
    let mut sum = Report::default();
    let mut now = f.emulator.now();
    for i in 1..=(7 * 24 * 4) {
        now = f.advance(step).await;
        let reports = if i % 32 == 0 {
            keeper.reconcile_all().await
        } else {
            keeper.renew_due_all().await
        };
        let round = total(&reports.unwrap());
        assert_eq!(
            (round.created, round.adopted, round.failed),
            (0, 0, 0),
            "nothing lapsed, nothing failed, at {now}: {round:?}"
        );
        sum.renewed += round.renewed;
    }
    assert_eq!(ids(&keeper).await, start, "the same subscriptions all week");
    let graph = f.graph(APP).await;
    assert_eq!(graph.len(), 2, "contoso's, as Graph has them: {graph:#?}");
    for (id, s) in &graph {
        assert!(start.values().any(|v| v == id));
        let expires: DateTime<Utc> = s["expirationDateTime"].as_str().unwrap().parse().unwrap();
        assert!(expires > now, "{s}");
    }
    // Presence: at least once an hour for a week; mail and events: a few times.
    assert!(
        sum.renewed >= 7 * 24 && sum.renewed <= 7 * 24 * 4 + 30,
        "{} renewals",
        sum.renewed
    );
    for row in keeper.store().all_rows().await.unwrap() {
        assert_eq!(row.state, State::Active, "{row:?}");
        assert!(row.expires_at.unwrap() > now, "{row:?}");
    }
    let text = keeper.metrics().render(now);
    assert!(
        text.contains("graph_subs_keeper_subscriptions{tenant=\"fabrikam\",state=\"active\"} 2"),
        "{text}"
    );
    assert!(text.contains("graph_subs_keeper_actions_total{action=\"renewed\"}"));
}

/// `keep run` waits for the review a round asks for (or the poll interval): a keeper
/// that takes each round's `next_review` at its word, with an interval of two days, keeps
/// subscriptions whose own `lifetime` is shorter than their resource's (a day, two
/// hours) alive for a week, and renews the two-hour one about once an hour rather than at
/// every round.
#[tokio::test]
async fn rounds_at_the_reviews_they_ask_for_keep_short_lifetimes_alive() {
    let f = fixture(None).await;
    let text = f.config(
        false,
        &[
            subscription("ada-mail", "users/ada/messages", "lifetime = \"1d\""),
            subscription("bob-events", "users/bob/events", "lifetime = \"2h\""),
        ],
        &[subscription(
            "ada-presence",
            "communications/presences/ada",
            "",
        )],
    );
    let keeper = f.keeper(&text).await;
    let reports = keeper.reconcile_all().await.unwrap();
    let first = total(&reports);
    assert_eq!((first.created, first.failed), (3, 0), "{first:?}");
    let start = ids(&keeper).await;
    let mut now = f.emulator.now();
    let end = now + chrono::Duration::days(7);
    let interval = chrono::Duration::days(2);
    let mut next = reports
        .iter()
        .filter_map(|r| r.next_review)
        .min()
        .expect("a review is asked for");
    let (mut rounds, mut renewed) = (0, 0);
    while now < end {
        // The emulator's clock moves in whole seconds: rounded up, as a timer would
        // wake at or after its deadline.
        let wait = (next.min(now + interval) - now).num_milliseconds().max(1);
        now = f.advance((wait + 999) / 1000).await;
        let reports = keeper.renew_due_all().await.unwrap();
        let round = total(&reports);
        assert_eq!(
            (round.created, round.failed),
            (0, 0),
            "nothing lapsed at {now}: {round:?}"
        );
        renewed += round.renewed;
        rounds += 1;
        next = reports
            .iter()
            .filter_map(|r| r.next_review)
            .min()
            .expect("a review is asked for");
        assert!(next > now - chrono::Duration::minutes(2), "{next} at {now}");
    }
    assert_eq!(ids(&keeper).await, start, "the same subscriptions all week");
    for row in keeper.store().all_rows().await.unwrap() {
        assert!(row.expires_at.unwrap() > now, "{row:?}");
    }
    // Presence about twice an hour, the two-hour events about once an hour, mail
    // about once a day: not a renewal at every round, and not a round a minute.
    assert!(
        (7 * 24 * 2..=7 * 24 * 5).contains(&renewed),
        "{renewed} renewals in {rounds} rounds"
    );
    assert!(rounds <= 7 * 24 * 4, "{rounds} rounds");
}

/// The subscriptions of one round of creates do not all expire, and so fall due, in
/// the same minute: each is pulled back by its name's place in the policy's spread
/// window (2 hours, a tenth of the lifetime at most), never past Graph's maximum.
#[tokio::test]
async fn creates_of_one_round_are_spread_over_the_window() {
    let f = fixture(None).await;
    let mail: Vec<String> = (0..40)
        .map(|i| subscription(&format!("u{i}-mail"), &format!("users/u{i}/messages"), ""))
        .collect();
    let text = f.config(false, &mail, &[]);
    let keeper = f.keeper(&text).await;
    let now = f.emulator.now();
    let first = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!(first.created, 40, "{first:?}");
    let longest = now + chrono::Duration::minutes(10_080);
    let mut minutes = std::collections::BTreeSet::new();
    for s in f.graph(APP).await.values() {
        let expires: DateTime<Utc> = s["expirationDateTime"].as_str().unwrap().parse().unwrap();
        assert!(expires <= longest, "{s}");
        assert!(
            expires >= longest - chrono::Duration::hours(2) - chrono::Duration::minutes(2),
            "{s}"
        );
        minutes.insert(expires.timestamp() / 60);
    }
    assert!(
        minutes.len() >= 20,
        "40 creates expire in only {} distinct minutes",
        minutes.len()
    );
}

#[tokio::test]
async fn removed_and_vanished_subscriptions_are_created_again_and_reauthorized() {
    let f = fixture(None).await;
    let text = f.config(
        false,
        &[
            subscription("ada-mail", "users/ada/messages", ""),
            subscription("bob-mail", "users/bob/messages", ""),
            subscription("cy-mail", "users/cy/messages", ""),
        ],
        &[],
    );
    let keeper = f.keeper(&text).await;
    keeper.reconcile_all().await.unwrap();
    let before = ids(&keeper).await;
    let key = |name: &str| ("contoso".to_owned(), name.to_owned());

    // subscriptionRemoved: Graph removed it; the event drops the id, the round creates.
    let event = f
        .lifecycle(&before[&key("ada-mail")], "subscriptionRemoved")
        .await;
    keeper.lifecycle(&event).await.unwrap();
    let row = &keeper.store().rows("contoso").await.unwrap()[0];
    assert_eq!(
        (row.graph_id.as_deref(), row.last_outcome.as_deref()),
        (None, Some("removed"))
    );
    // Deleted behind the keeper's back (an admin, an expired consent): List no longer
    // has it, and the round creates it too.
    f.delete_directly(&before[&key("bob-mail")]).await;
    // reauthorizationRequired for a subscription already gone: the 404 drops it.
    f.delete_directly(&before[&key("cy-mail")]).await;
    let event = f.event(&before[&key("cy-mail")], "reauthorizationRequired");
    keeper.lifecycle(&event).await.unwrap();

    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!((round.created, round.failed), (3, 0), "{round:?}");
    let after = ids(&keeper).await;
    for name in ["ada-mail", "bob-mail", "cy-mail"] {
        assert_ne!(
            after[&key(name)],
            before[&key(name)],
            "{name} is a new subscription"
        );
    }
    let graph = f.graph(APP).await;
    assert_eq!(graph.len(), 3, "one each, no duplicate: {graph:#?}");

    // reauthorizationRequired for a live one: reauthorized, recorded.
    let event = f
        .lifecycle(&after[&key("ada-mail")], "reauthorizationRequired")
        .await;
    keeper.lifecycle(&event).await.unwrap();
    let row = &keeper.store().rows("contoso").await.unwrap()[0];
    assert_eq!(row.last_outcome.as_deref(), Some("reauthorized"));
    assert_eq!(row.graph_id.as_ref(), Some(&after[&key("ada-mail")]));
    // missed: counted, nothing else changes.
    let event = f.lifecycle(&after[&key("bob-mail")], "missed").await;
    keeper.lifecycle(&event).await.unwrap();
    assert_eq!(ids(&keeper).await, after);
    let metrics = keeper.metrics().render(f.emulator.now());
    for line in [
        "graph_subs_keeper_lifecycle_events_total{event=\"subscriptionRemoved\"} 1",
        "graph_subs_keeper_lifecycle_events_total{event=\"reauthorizationRequired\"} 2",
        "graph_subs_keeper_lifecycle_events_total{event=\"missed\"} 1",
        "graph_subs_keeper_actions_total{action=\"reauthorized\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
}

#[tokio::test]
async fn strangers_are_pruned_only_when_asked_and_other_apps_never() {
    let f = fixture(None).await;
    let subs = [subscription("ada-mail", "users/ada/messages", "")];
    let stranger = f.create_directly(APP, "users/zoe/messages").await;
    let other_app = f.create_directly(OTHER_APP, "users/zoe/events").await;

    let keeper = f.keeper(&f.config(false, &subs, &[])).await;
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!((round.created, round.deleted), (1, 0));
    assert!(
        f.graph(APP).await.contains_key(&stranger),
        "left alone without prune"
    );

    let keeper = f.keeper(&f.config(true, &subs, &[])).await;
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!((round.created, round.deleted), (0, 1), "{round:?}");
    let graph = f.graph(APP).await;
    assert!(!graph.contains_key(&stranger), "pruned");
    assert_eq!(graph.len(), 1);
    assert!(
        f.graph(OTHER_APP).await.contains_key(&other_app),
        "another app's subscription is never touched"
    );
}

async fn a_changed_configuration_is_reconciled(f: &Fixture) {
    let v1 = f.config(
        false,
        &[
            subscription("ada-mail", "users/ada/messages", ""),
            subscription("bob-mail", "users/bob/messages", ""),
            subscription("cy-mail", "users/cy/messages", ""),
        ],
        &[],
    );
    let keeper = f.keeper(&v1).await;
    keeper.reconcile_all().await.unwrap();
    let before = ids(&keeper).await;
    let key = |name: &str| ("contoso".to_owned(), name.to_owned());

    // bob-mail removed, cy-mail's URL changed, dan-mail added, ada-mail as it was.
    let v2 = f
        .config(
            false,
            &[
                subscription("ada-mail", "users/ada/messages", ""),
                subscription("cy-mail", "users/cy/messages", ""),
                subscription("dan-mail", "users/dan/messages", ""),
            ],
            &[],
        )
        .replacen(
            "name = \"cy-mail\"\nresource = \"users/cy/messages\"\nchange_types = [\"created\", \"updated\"]\nnotification_url = \"https://hooks.example.com/notifications\"",
            "name = \"cy-mail\"\nresource = \"users/cy/messages\"\nchange_types = [\"created\", \"updated\"]\nnotification_url = \"https://hooks.example.com/moved\"",
            1,
        );
    assert!(v2.contains("/moved"));
    let keeper = f.keeper(&v2).await;
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!(
        (round.created, round.deleted, round.failed),
        (2, 2, 0),
        "dan created, bob deleted, cy replaced: {round:?}"
    );
    let after = ids(&keeper).await;
    assert_eq!(after[&key("ada-mail")], before[&key("ada-mail")]);
    assert_ne!(after[&key("cy-mail")], before[&key("cy-mail")]);
    assert!(!after.contains_key(&key("bob-mail")));
    let graph = f.graph(APP).await;
    assert_eq!(graph.len(), 3, "{graph:#?}");
    assert_eq!(
        graph[&after[&key("cy-mail")]]["notificationUrl"],
        "https://hooks.example.com/moved"
    );
    // A second round has nothing to do.
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!(
        round,
        Report {
            next_review: None,
            ..Report::default()
        }
    );
}

#[tokio::test]
async fn a_changed_configuration_is_reconciled_on_sqlite() {
    a_changed_configuration_is_reconciled(&fixture(None).await).await;
}

#[tokio::test]
async fn a_changed_configuration_is_reconciled_on_postgres() {
    let pg = support::Postgres::start();
    a_changed_configuration_is_reconciled(&fixture(Some(pg.url.clone())).await).await;
}

#[tokio::test]
async fn a_create_cut_short_by_a_crash_is_adopted_not_repeated() {
    let f = fixture(None).await;
    let text = f.config(
        false,
        &[subscription("ada-mail", "users/ada/messages", "")],
        &[],
    );
    let keeper = f.keeper(&text).await;
    // As a crash leaves it: the intent written, the create reached Graph, the answer
    // never recorded.
    let checked = config::check(&text, f.dir.path(), &f.sources, f.emulator.now());
    keeper
        .store()
        .write(
            "contoso",
            &[Change::IntendCreate {
                name: "ada-mail".into(),
                fingerprint: checked.wanted[0].fingerprint(),
                resource: "users/ada/messages".into(),
                change_type: "created,updated".into(),
            }],
            f.emulator.now(),
        )
        .await
        .unwrap();
    let created = f.create_directly(APP, "users/ada/messages").await;
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!((round.created, round.adopted), (0, 1), "{round:?}");
    assert_eq!(
        ids(&keeper).await[&("contoso".to_owned(), "ada-mail".to_owned())],
        created
    );
    assert_eq!(f.graph(APP).await.len(), 1);
}

/// Three replicas on one PostgreSQL, one of them killed every simulated hour for a day:
/// each tenant is worked on by one replica at a time (no subscription renewed by two in
/// the same round), a dead replica's tenants are taken over once its lease ends, and
/// nothing lapses.
#[tokio::test]
async fn replicas_share_tenants_through_leases_and_take_over_from_a_dead_one() {
    let pg = support::Postgres::start();
    let f = fixture(Some(pg.url.clone())).await;
    let text = f.config(
        false,
        &[subscription("ada-mail", "users/ada/messages", "")],
        &[subscription(
            "ada-presence",
            "communications/presences/ada",
            "",
        )],
    );
    let mut replicas = Vec::new();
    for id in ["a", "b", "c"] {
        replicas.push(f.replica(&text, Some(id)).await);
    }
    let mut next_id = 0;
    let start = {
        let reports: Vec<_> =
            futures_util::future::join_all(replicas.iter().map(|r| r.reconcile_all())).await;
        // One replica took both tenants (the first to ask); the others were told who.
        let done: Vec<_> = reports.iter().filter(|r| r.is_ok()).collect();
        assert_eq!(done.len(), 1, "{reports:?}");
        assert!(
            reports
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| matches!(e, KeeperError::Leased { .. }))
        );
        ids(&replicas[0]).await
    };
    assert_eq!(start.len(), 2);

    let step = 15 * 60;
    let mut takeovers = 0;
    let mut renewals = 0;
    for i in 1..=(24 * 4) {
        f.advance(step).await;
        if i % 4 == 0 {
            // The replica holding the leases dies (no release); a new one starts.
            let holder = replicas
                .iter()
                .position(|r| {
                    r.metrics()
                        .render(f.emulator.now())
                        .contains("lease_held{tenant=\"contoso\"} 1")
                })
                .expect("a replica holds contoso's lease");
            replicas.remove(holder);
            next_id += 1;
            replicas.push(f.replica(&text, Some(&format!("new-{next_id}"))).await);
            takeovers += 1;
        }
        // Every replica tries each tenant; per tenant, exactly one works.
        for tenant in 0..2 {
            let mut worked_by = 0;
            for replica in &replicas {
                match replica.renew_due(tenant).await {
                    Ok(report) => {
                        assert_eq!(
                            (report.created, report.failed),
                            (0, 0),
                            "step {i}: {report:?}"
                        );
                        worked_by += 1;
                        renewals += report.renewed;
                    }
                    Err(KeeperError::Leased { .. }) => {}
                    Err(e) => panic!("step {i}: {e}"),
                }
            }
            assert_eq!(
                worked_by, 1,
                "step {i}: tenant {tenant} worked on by {worked_by} replicas"
            );
        }
    }
    assert_eq!(takeovers, 24);
    // Presence about twice an hour for a day.
    assert!(renewals >= 24, "{renewals} renewals");
    assert_eq!(
        ids(&replicas[0]).await,
        start,
        "nothing lapsed, nothing created again"
    );
    let graph = f.graph(APP).await;
    assert!(
        graph.keys().all(|id| start.values().any(|v| v == id)),
        "{graph:#?}"
    );
    // A stopping replica releases its leases: another takes the tenant at once.
    let holder = replicas
        .iter()
        .position(|r| {
            r.metrics()
                .render(f.emulator.now())
                .contains("lease_held{tenant=\"contoso\"} 1")
        })
        .unwrap_or_else(|| {
            panic!(
                "{}",
                replicas
                    .iter()
                    .map(|r| r.metrics().render(f.emulator.now()))
                    .collect::<Vec<_>>()
                    .join("\n----\n")
            )
        });
    replicas[holder].release().await;
    let other = (holder + 1) % replicas.len();
    replicas[other].reconcile(0).await.unwrap();
}

/// Another keeper of the same app (staging), or an admin, has a subscription to the same
/// resource and change types: it is not the keeper's, so without prune it is neither
/// adopted nor deleted; the keeper reports the conflict (and looks again soon). With
/// prune it is replaced.
#[tokio::test]
async fn someone_elses_subscription_to_the_same_resource_is_a_conflict_not_a_victim() {
    let f = fixture(None).await;
    let theirs = f.create_directly(APP, "users/ada/messages").await;
    let subs = [subscription("ada-mail", "users/ada/messages", "")];
    let keeper = f.keeper(&f.config(false, &subs, &[])).await;
    let reports = keeper.reconcile_all().await.unwrap();
    let round = total(&reports);
    assert_eq!(
        (round.created, round.adopted, round.deleted, round.failed),
        (0, 0, 0, 1),
        "{round:?}"
    );
    let soon = f.emulator.now() + chrono::Duration::minutes(3);
    assert!(
        reports[0].next_review.is_some_and(|r| r <= soon),
        "{reports:?}"
    );
    assert!(f.graph(APP).await.contains_key(&theirs), "left alone");
    let row = &keeper.store().rows("contoso").await.unwrap()[0];
    assert_eq!(row.graph_id, None);
    assert_eq!(row.last_outcome.as_deref(), Some("conflict"));
    assert!(
        row.last_error.as_deref().unwrap().contains(&theirs),
        "{row:?}"
    );
    // Still a conflict next round: the row it left does not make that one the keeper's.
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!((round.adopted, round.deleted, round.failed), (0, 0, 1));

    let keeper = f.keeper(&f.config(true, &subs, &[])).await;
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!(
        (round.created, round.deleted, round.failed),
        (1, 1, 0),
        "{round:?}"
    );
    let graph = f.graph(APP).await;
    assert_eq!(graph.len(), 1);
    assert!(!graph.contains_key(&theirs));
}

/// A create cut short by a crash, then the clientState rotated before the restart: the
/// subscription Graph has carries the old secret, so it is adopted with the spec it was
/// created from, and replaced at the next round; the receiver is never told the new
/// secret for the old subscription.
#[tokio::test]
async fn an_adopted_subscription_keeps_the_spec_it_was_created_with() {
    let f = fixture(None).await;
    let text = f.config(
        false,
        &[subscription("ada-mail", "users/ada/messages", "")],
        &[],
    );
    let before = config::check(&text, f.dir.path(), &f.sources, f.emulator.now());
    let keeper = f.keeper(&text).await;
    keeper
        .store()
        .write(
            "contoso",
            &[Change::IntendCreate {
                name: "ada-mail".into(),
                fingerprint: before.wanted[0].fingerprint(),
                resource: "users/ada/messages".into(),
                change_type: "created,updated".into(),
            }],
            f.emulator.now(),
        )
        .await
        .unwrap();
    let created = f.create_directly(APP, "users/ada/messages").await;
    std::fs::write(f.dir.path().join("client-state"), "rotated-client-state").unwrap();
    let keeper = f.keeper(&text).await;
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!((round.adopted, round.created), (1, 0), "adopted: {round:?}");
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!(
        (round.deleted, round.created),
        (1, 1),
        "then replaced: {round:?}"
    );
    let graph = f.graph(APP).await;
    assert_eq!(graph.len(), 1);
    assert!(
        !graph.contains_key(&created),
        "the one with the old secret is gone"
    );
}

/// A create cut short by a crash, and its name removed from the configuration before
/// the restart: the subscription Graph has is found by what it was for, and deleted,
/// not left to run unrenewed with notifications nobody checks.
#[tokio::test]
async fn a_create_cut_short_for_a_name_since_removed_is_deleted_not_orphaned() {
    let f = fixture(None).await;
    let text = f.config(
        false,
        &[subscription("ada-mail", "users/ada/messages", "")],
        &[],
    );
    let keeper = f.keeper(&text).await;
    keeper
        .store()
        .write(
            "contoso",
            &[Change::IntendCreate {
                name: "ada-mail".into(),
                fingerprint: "whatever".into(),
                resource: "users/ada/messages".into(),
                change_type: "created,updated".into(),
            }],
            f.emulator.now(),
        )
        .await
        .unwrap();
    let orphan = f.create_directly(APP, "users/ada/messages").await;
    let keeper = f.keeper(&f.config(false, &[], &[])).await;
    let round = total(&keeper.reconcile_all().await.unwrap());
    assert_eq!((round.deleted, round.failed), (1, 0), "{round:?}");
    assert!(!f.graph(APP).await.contains_key(&orphan));
    assert!(keeper.store().all_rows().await.unwrap().is_empty());
}
