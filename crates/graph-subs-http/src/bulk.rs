//! Many renewals or deletions at once: through `$batch` (20 requests a batch, Graph's
//! limit) or one request each, with bounded concurrency, a result per item, and the items
//! a batch answered with 429 or 5xx sent again (after the longest `Retry-After` among
//! them, else a jittered backoff) within the client's retry policy.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use graph_subs_core::quote;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Call, Class, Error, GraphClient, Timestamp, UpdateSubscription};

/// Graph's limit on requests in one `$batch`.
pub const BATCH_SIZE: usize = 20;

/// What became of each item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Ids done.
    pub succeeded: Vec<String>,
    /// Ids with nothing to do: a deletion of a subscription that no longer exists.
    pub skipped: Vec<String>,
    /// Ids that failed, and why.
    pub failed: Vec<ItemFailure>,
    /// The `expirationDateTime` Graph answered for each renewed id (when its answer had
    /// one): the truth, which may be sooner than what was asked.
    pub expirations: HashMap<String, DateTime<Utc>>,
}

impl BulkOutcome {
    fn done(&mut self, id: String, expiration: Option<DateTime<Utc>>) {
        if let Some(at) = expiration {
            self.expirations.insert(id.clone(), at);
        }
        self.succeeded.push(id);
    }
}

/// One item that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    /// The subscription id.
    pub id: String,
    /// Graph's status, when it answered.
    pub status: Option<u16>,
    /// Graph's code, when it answered with one.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl ItemFailure {
    fn from_error(id: &str, error: &Error) -> ItemFailure {
        ItemFailure {
            id: id.to_owned(),
            status: error.status(),
            code: error.code().map(str::to_owned),
            message: error.to_string(),
        }
    }
}

/// How to send many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `$batch`, 20 a request.
    Batched,
    /// One request an item.
    Single,
}

/// One operation on many subscriptions.
#[derive(Debug, Clone)]
enum Item {
    Renew { id: String, to: Timestamp },
    Delete { id: String },
}

impl Item {
    fn id(&self) -> &str {
        match self {
            Item::Renew { id, .. } | Item::Delete { id } => id,
        }
    }

    fn batch_request(&self, index: usize) -> Value {
        match self {
            Item::Renew { id, to } => json!({
                "id": index.to_string(),
                "method": "PATCH",
                "url": format!("/subscriptions/{id}"),
                "headers": {"Content-Type": "application/json"},
                "body": {"expirationDateTime": to},
            }),
            Item::Delete { id } => json!({
                "id": index.to_string(),
                "method": "DELETE",
                "url": format!("/subscriptions/{id}"),
            }),
        }
    }
}

/// What one item's answer means.
enum Verdict {
    /// Done; for a renewal, the expiration Graph answered.
    Done(Option<DateTime<Utc>>),
    Skipped,
    Retry(Option<Duration>, ItemFailure),
    Failed(ItemFailure),
}

impl GraphClient {
    /// Renews each `(id, to)`. Items are checked like [`GraphClient::update`] without a
    /// resource (the ids alone are known).
    pub async fn renew_many(&self, items: &[(String, DateTime<Utc>)], mode: Mode) -> BulkOutcome {
        self.renew_many_with_progress(items, mode, &|_, _| {}).await
    }

    /// [`GraphClient::renew_many`], calling `progress(done, total)` as items finish.
    pub async fn renew_many_with_progress(
        &self,
        items: &[(String, DateTime<Utc>)],
        mode: Mode,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> BulkOutcome {
        let mut outcome = BulkOutcome::default();
        let mut work = Vec::with_capacity(items.len());
        for (id, to) in items {
            match (self.subscription_url(id), Timestamp::new(*to)) {
                (Ok(_), Ok(to)) => work.push(Item::Renew { id: id.clone(), to }),
                (Err(e), _) => outcome.failed.push(ItemFailure::from_error(id, &e)),
                (_, Err(e)) => outcome.failed.push(ItemFailure {
                    id: id.clone(),
                    status: None,
                    code: None,
                    message: e.to_string(),
                }),
            }
        }
        self.run_many(work, mode, outcome, progress).await
    }

    /// Deletes each id; one that no longer exists is skipped, not failed.
    pub async fn delete_many(&self, ids: &[String], mode: Mode) -> BulkOutcome {
        self.delete_many_with_progress(ids, mode, &|_, _| {}).await
    }

    /// [`GraphClient::delete_many`], calling `progress(done, total)` as items finish.
    pub async fn delete_many_with_progress(
        &self,
        ids: &[String],
        mode: Mode,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> BulkOutcome {
        let mut outcome = BulkOutcome::default();
        let mut work = Vec::with_capacity(ids.len());
        for id in ids {
            match self.subscription_url(id) {
                Ok(_) => work.push(Item::Delete { id: id.clone() }),
                Err(e) => outcome.failed.push(ItemFailure::from_error(id, &e)),
            }
        }
        self.run_many(work, mode, outcome, progress).await
    }

    async fn run_many(
        &self,
        items: Vec<Item>,
        mode: Mode,
        mut outcome: BulkOutcome,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> BulkOutcome {
        let concurrency = self.inner.limit.available_permits().max(1);
        let total = items.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let finished = |n: usize| {
            let now = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
            progress(now, total);
        };
        match mode {
            Mode::Single => {
                type Answer = Result<Option<DateTime<Utc>>, Error>;
                let results: Vec<(Item, Answer)> = futures_util::stream::iter(items)
                    .map(|item| async move {
                        let result = match &item {
                            Item::Renew { id, to } => self
                                .update(id, &UpdateSubscription::renewal(*to), None)
                                .await
                                .map(|s| Some(s.expiration_date_time.get())),
                            Item::Delete { id } => self.delete(id, None).await.map(|()| None),
                        };
                        finished(1);
                        (item, result)
                    })
                    .buffer_unordered(concurrency)
                    .collect()
                    .await;
                for (item, result) in results {
                    let id = item.id().to_owned();
                    match (result, &item) {
                        (Ok(expiration), _) => outcome.done(id, expiration),
                        // A deletion of what no longer exists has nothing left to do.
                        (Err(Error::NotFound { .. }), Item::Delete { .. }) => {
                            outcome.skipped.push(id)
                        }
                        (Err(e), _) => outcome.failed.push(ItemFailure::from_error(&id, &e)),
                    }
                }
            }
            Mode::Batched => {
                let chunks: Vec<Vec<Item>> =
                    items.chunks(BATCH_SIZE).map(<[Item]>::to_vec).collect();
                let results: Vec<BulkOutcome> = futures_util::stream::iter(chunks)
                    .map(|chunk| async {
                        let size = chunk.len();
                        let outcome = self.run_batch(chunk).await;
                        finished(size);
                        outcome
                    })
                    .buffer_unordered(concurrency)
                    .collect()
                    .await;
                for r in results {
                    outcome.succeeded.extend(r.succeeded);
                    outcome.expirations.extend(r.expirations);
                    outcome.skipped.extend(r.skipped);
                    outcome.failed.extend(r.failed);
                }
            }
        }
        outcome
    }

    /// One batch of at most 20, its retryable items sent again in smaller batches.
    async fn run_batch(&self, mut items: Vec<Item>) -> BulkOutcome {
        let mut outcome = BulkOutcome::default();
        let started = tokio::time::Instant::now();
        let mut round = 0u32;
        while !items.is_empty() {
            round += 1;
            let verdicts = self.send_batch(&items).await;
            let mut retry = Vec::new();
            let mut longest: Option<Duration> = None;
            let mut last_failures = Vec::new();
            for (item, verdict) in items.into_iter().zip(verdicts) {
                match verdict {
                    Verdict::Done(expiration) => outcome.done(item.id().to_owned(), expiration),
                    Verdict::Skipped => outcome.skipped.push(item.id().to_owned()),
                    Verdict::Failed(f) => outcome.failed.push(f),
                    Verdict::Retry(after, f) => {
                        longest = longest.max(after);
                        last_failures.push(f);
                        retry.push(item);
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            match self.inner.retry.wait(round, started.elapsed(), longest) {
                Some(wait) => {
                    tracing::info!(
                        items = retry.len(),
                        wait_ms = wait.as_millis() as u64,
                        "retrying batch items"
                    );
                    tokio::time::sleep(wait).await;
                    items = retry;
                }
                None => {
                    outcome.failed.extend(last_failures);
                    break;
                }
            }
        }
        outcome
    }

    /// Sends one `$batch`; a verdict per item, in order.
    async fn send_batch(&self, items: &[Item]) -> Vec<Verdict> {
        let requests: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(i, item)| item.batch_request(i))
            .collect();
        let url = format!("{}/$batch", self.inner.root);
        let body = match serde_json::to_vec(&json!({ "requests": requests })) {
            Ok(body) => body,
            Err(e) => {
                return items
                    .iter()
                    .map(|item| {
                        Verdict::Failed(ItemFailure::from_error(
                            item.id(),
                            &Error::Config(e.to_string()),
                        ))
                    })
                    .collect();
            }
        };
        let answer = self
            .send(Call {
                method: Method::POST,
                url: url.clone(),
                body: Some(body),
                class: Class::Other,
                weight: u32::try_from(items.len()).unwrap_or(1),
                id: None,
            })
            .await;
        let batch: Result<BatchAnswer, Error> = answer.and_then(|a| self.decode(&url, &a.body));
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                return items
                    .iter()
                    .map(|item| Verdict::Failed(ItemFailure::from_error(item.id(), &e)))
                    .collect();
            }
        };
        let mut by_index: HashMap<String, BatchItem> = batch
            .responses
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let Some(response) = by_index.remove(&i.to_string()) else {
                    return Verdict::Failed(ItemFailure {
                        id: item.id().to_owned(),
                        status: None,
                        code: None,
                        message: "the batch answer has no response for this request".into(),
                    });
                };
                verdict(item, response)
            })
            .collect()
    }
}

fn verdict(item: &Item, response: BatchItem) -> Verdict {
    let status = response.status;
    if (200..300).contains(&status) {
        // A renewal's answer is the subscription; an unreadable time leaves the one asked.
        let expiration = match item {
            Item::Renew { .. } => response
                .body
                .as_ref()
                .and_then(|b| b["expirationDateTime"].as_str())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            Item::Delete { .. } => None,
        };
        return Verdict::Done(expiration);
    }
    let text = |field: &str| {
        response
            .body
            .as_ref()
            .and_then(|b| b["error"][field].as_str())
            .map(|s| quote::shortened_to(s, 400).to_string())
    };
    if status == 404 && matches!(item, Item::Delete { .. }) {
        return Verdict::Skipped;
    }
    let failure = ItemFailure {
        id: item.id().to_owned(),
        status: Some(status),
        code: text("code"),
        message: text("message").unwrap_or_else(|| format!("answered {status}")),
    };
    if matches!(status, 429 | 503 | 504) {
        let after = response
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| crate::error::parse_retry_after(v.as_str()?, chrono::Utc::now()));
        return Verdict::Retry(after, failure);
    }
    Verdict::Failed(failure)
}

#[derive(serde::Deserialize)]
struct BatchAnswer {
    responses: Vec<BatchItem>,
}

#[derive(serde::Deserialize)]
struct BatchItem {
    id: String,
    status: u16,
    #[serde(default)]
    headers: serde_json::Map<String, Value>,
    #[serde(default)]
    body: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: Value) -> BatchItem {
        BatchItem {
            id: "0".into(),
            status,
            headers: serde_json::Map::new(),
            body: Some(body),
        }
    }

    fn renewal() -> Item {
        Item::Renew {
            id: "0fc2a2a3-3d6e-4d1b-9f5b-6f0a3c1c9e21".into(),
            to: Timestamp::new("2026-11-30T12:00:00Z".parse().unwrap()).unwrap(),
        }
    }

    #[test]
    fn a_renewal_answered_with_a_sooner_expiration_reports_that_one() {
        let sooner = "2026-11-29T08:30:00Z";
        let Verdict::Done(at) = verdict(
            &renewal(),
            answer(200, json!({ "expirationDateTime": sooner })),
        ) else {
            panic!("a 200 is done");
        };
        assert_eq!(at, Some(sooner.parse().unwrap()));
    }

    #[test]
    fn an_answer_without_a_readable_expiration_reports_none() {
        for body in [
            json!({}),
            json!({ "expirationDateTime": "tomorrow" }),
            json!(null),
        ] {
            let Verdict::Done(at) = verdict(&renewal(), answer(200, body)) else {
                panic!("a 200 is done");
            };
            assert_eq!(at, None);
        }
        let delete = Item::Delete {
            id: "0fc2a2a3-3d6e-4d1b-9f5b-6f0a3c1c9e21".into(),
        };
        assert!(matches!(
            verdict(
                &delete,
                answer(204, json!({ "expirationDateTime": "2026-11-29T08:30:00Z" }))
            ),
            Verdict::Done(None)
        ));
    }
}
