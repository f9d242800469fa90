//! `graph-subs renew --all` over 5,000 subscriptions while the emulator answers one request
//! in five with 429, 503 or 504 and drops one answer in fifty after carrying the request
//! out: every subscription renewed, none deleted, nothing reported failed.

use futures_util::TryStreamExt as _;
use graph_subs_benchkit::fill::fill;
use graph_subs_cli::{Exit, run};
use graph_subs_emulator::{DEFAULT_APP_ID, Emulator, Throttle, TokenSpec};
use graph_subs_http::{GraphClient, Pacing, StaticToken};
use serde_json::Value;

const SUBSCRIPTIONS: usize = 5_000;

struct Faulty {
    /// With the version: what `--base-url` takes.
    base: String,
    /// Without: where `/emulator/stats` is.
    root: String,
    token: String,
}

/// An emulator with faults, on a runtime of its own (the command starts its own), holding
/// 5,000 subscriptions that expire within three days.
fn faulty() -> Faulty {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let e = Emulator::builder()
                .endpoint_validation(false)
                .throttle(Throttle::OFF)
                .faults(
                    "429:0.1,503:0.05,504:0.05,drop:0.02,retry-after:10ms"
                        .parse()
                        .unwrap(),
                    7,
                )
                .build()
                .start()
                .await
                .unwrap();
            // Stored directly: the faults apply to the API, and these are the fixture.
            fill(&e, 0, SUBSCRIPTIONS).await.unwrap();
            let token = e.token(&TokenSpec::application(
                e.tenant_id(),
                DEFAULT_APP_ID,
                &["Mail.Read"],
            ));
            tx.send(Faulty {
                base: format!("{}/v1.0", e.base_url()),
                root: e.base_url().to_owned(),
                token,
            })
            .unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

/// Every subscription's id and expiration, in id order, listed through the faults by the
/// library (which retries), and the emulator's counters.
fn state(e: &Faulty) -> (Vec<(String, String)>, Value) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = GraphClient::builder()
            .base_url(&e.base)
            .token_provider(StaticToken::new(e.token.clone()))
            .pacing(Pacing::OFF)
            .build()
            .unwrap();
        let mut all: Vec<(String, String)> = client
            .list()
            .map_ok(|s| {
                let expiration = serde_json::to_value(s.expiration_date_time).unwrap();
                (s.id, expiration.as_str().unwrap().to_owned())
            })
            .try_collect()
            .await
            .unwrap();
        all.sort();
        let stats = reqwest::get(format!("{}/emulator/stats", e.root))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (all, stats)
    })
}

#[test]
fn renew_all_renews_every_subscription_through_faults() {
    let e = faulty();
    let (before, _) = state(&e);
    assert_eq!(before.len(), SUBSCRIPTIONS);

    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = run(
        [
            "graph-subs",
            "renew",
            "--all",
            "--expiring-within",
            "3d",
            "--json",
            "--pacing",
            "off",
            "--base-url",
            &e.base,
            "--token",
            &e.token,
        ],
        &mut out,
        &mut err,
    );
    let (stdout, stderr) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(exit, Exit::Success, "{stdout}\n{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["renewed"], SUBSCRIPTIONS, "{answer}");
    assert_eq!(answer["skipped"], 0, "{answer}");
    assert_eq!(answer["failed"], Value::Array(vec![]), "{answer}");
    assert!(!stdout.contains(&e.token) && !stderr.contains(&e.token));

    let (after, stats) = state(&e);
    assert!(
        stats["faultsInjected"].as_u64().unwrap() > 20,
        "the faults should have hit: {stats}"
    );
    // None deleted, each one renewed: later than before (RFC 3339 in UTC, same format,
    // so text order is time order).
    assert_eq!(after.len(), SUBSCRIPTIONS);
    for ((id, old), (same, new)) in before.iter().zip(&after) {
        assert_eq!(id, same);
        assert!(new > old, "{id} still expires at {new}");
    }
}
