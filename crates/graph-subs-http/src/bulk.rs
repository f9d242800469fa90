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

use crate::{Call, Class, Error, GraphClient, Timestamp};

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

    fn batch_request(&self, index: usize) -> BatchRequest<'_> {
        match self {
            Item::Renew { id, to } => BatchRequest {
                id: index,
                method: "PATCH",
                id_in_url: id,
                headers: Some(JsonContent {
                    content_type: "application/json",
                }),
                body: Some(RenewalBody {
                    expiration_date_time: *to,
                }),
            },
            Item::Delete { id } => BatchRequest {
                id: index,
                method: "DELETE",
                id_in_url: id,
                headers: None,
                body: None,
            },
        }
    }
}

/// One request of a `$batch`, written straight to JSON (no `serde_json::Value` tree a
/// request).
#[derive(serde::Serialize)]
struct BatchRequest<'a> {
    #[serde(serialize_with = "index_as_string")]
    id: usize,
    method: &'static str,
    #[serde(rename = "url", serialize_with = "subscription_path")]
    id_in_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<JsonContent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<RenewalBody>,
}

#[derive(serde::Serialize)]
struct JsonContent {
    #[serde(rename = "Content-Type")]
    content_type: &'static str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RenewalBody {
    expiration_date_time: Timestamp,
}

#[derive(serde::Serialize)]
struct BatchRequests<'a> {
    requests: Vec<BatchRequest<'a>>,
}

/// Graph's batch ids are strings.
fn index_as_string<S: serde::Serializer>(index: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(index)
}

fn subscription_path<S: serde::Serializer>(id: &&str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("/subscriptions/{id}"))
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
            match (crate::check_id(id), Timestamp::new(*to)) {
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
            match crate::check_id(id) {
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
                            Item::Renew { id, to } => self.renew_one(id, *to).await.map(Some),
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
        let requests = BatchRequests {
            requests: items
                .iter()
                .enumerate()
                .map(|(i, item)| item.batch_request(i))
                .collect(),
        };
        let url = format!("{}/$batch", self.inner.root);
        let body = match serde_json::to_vec(&requests) {
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
        // Graph may answer in any order; the ids are the requests' indexes.
        let mut by_index: Vec<Option<BatchItem>> = items.iter().map(|_| None).collect();
        for response in batch.responses {
            if let Some(slot) = request_index(&response.id).and_then(|i| by_index.get_mut(i)) {
                *slot = Some(response);
            }
        }
        items
            .iter()
            .zip(by_index)
            .map(|(item, response)| {
                let Some(response) = response else {
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

/// The request an answer is for: the ids are the requests' places, written as numbers
/// (`"0"`, `"17"`), so any other text (`"00"`, `"+1"`) answers none of them.
fn request_index(id: &str) -> Option<usize> {
    let canonical = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    canonical.then(|| id.parse().ok()).flatten()
}

fn verdict(item: &Item, response: BatchItem) -> Verdict {
    let status = response.status;
    let body = response.body.unwrap_or_default().0;
    if (200..300).contains(&status) {
        // A renewal's answer is the subscription; an unreadable time leaves the one asked.
        let expiration = match item {
            Item::Renew { .. } => body
                .expiration_date_time
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
            Item::Delete { .. } => None,
        };
        return Verdict::Done(expiration);
    }
    if status == 404 && matches!(item, Item::Delete { .. }) {
        return Verdict::Skipped;
    }
    let shortened = |s: String| quote::shortened_to(&s, 400).to_string();
    let failure = ItemFailure {
        id: item.id().to_owned(),
        status: Some(status),
        code: body.error.0.code.map(shortened),
        message: body
            .error
            .0
            .message
            .map(shortened)
            .unwrap_or_else(|| format!("answered {status}")),
    };
    if matches!(status, 429 | 503 | 504) {
        let after = response
            .headers
            .0
            .retry_after
            .and_then(|v| crate::error::parse_retry_after(&v, chrono::Utc::now()));
        return Verdict::Retry(after, failure);
    }
    Verdict::Failed(failure)
}

#[derive(serde::Deserialize)]
struct BatchAnswer {
    responses: Vec<BatchItem>,
}

/// One answer of a batch, read for what a verdict needs: the rest of its body (a whole
/// subscription, for a renewal) is skipped without being built.
#[derive(serde::Deserialize)]
struct BatchItem {
    id: String,
    status: u16,
    #[serde(default)]
    headers: Lenient<ItemHeaders>,
    #[serde(default)]
    body: Option<Lenient<ItemBody>>,
}

/// The headers of an answer in a batch: `Retry-After` (in any case) is the one read.
#[derive(Debug, Default)]
struct ItemHeaders {
    retry_after: Option<String>,
}

/// The body of an answer in a batch: a subscription's `expirationDateTime`, or an error's
/// code and message.
#[derive(Debug, Default)]
struct ItemBody {
    expiration_date_time: Option<String>,
    error: Lenient<ErrorBody>,
}

#[derive(Debug, Default)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
}

/// An object read for a few of its fields: the others are skipped, and any JSON that is
/// not an object, or a field of another type than expected, reads as absent. A batch
/// answer is read whatever one of its answers holds.
#[derive(Debug, Default)]
struct Lenient<T>(T);

/// The fields [`Lenient`] reads.
trait Fields: Default {
    const NAMES: &'static [&'static str];
    /// Whether names match in any case (HTTP headers).
    const ANY_CASE: bool = false;
    /// Reads the value of field `NAMES[field]`.
    fn read<'de, A: serde::de::MapAccess<'de>>(
        &mut self,
        field: usize,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

impl Fields for ItemHeaders {
    const NAMES: &'static [&'static str] = &["retry-after"];
    const ANY_CASE: bool = true;
    fn read<'de, A: serde::de::MapAccess<'de>>(
        &mut self,
        _: usize,
        map: &mut A,
    ) -> Result<(), A::Error> {
        self.retry_after = map.next_value::<Lenient<Option<String>>>()?.0;
        Ok(())
    }
}

impl Fields for ItemBody {
    const NAMES: &'static [&'static str] = &["expirationDateTime", "error"];
    fn read<'de, A: serde::de::MapAccess<'de>>(
        &mut self,
        field: usize,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if field == 0 {
            self.expiration_date_time = map.next_value::<Lenient<Option<String>>>()?.0;
        } else {
            self.error = map.next_value()?;
        }
        Ok(())
    }
}

impl Fields for ErrorBody {
    const NAMES: &'static [&'static str] = &["code", "message"];
    fn read<'de, A: serde::de::MapAccess<'de>>(
        &mut self,
        field: usize,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let text = map.next_value::<Lenient<Option<String>>>()?.0;
        if field == 0 {
            self.code = text;
        } else {
            self.message = text;
        }
        Ok(())
    }
}

impl<'de, T: FromJson> serde::Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(std::marker::PhantomData::<T>))
    }
}

/// What [`Lenient`] makes of a string and of an object (anything else is the default).
trait FromJson: Default {
    fn from_str(_: &str) -> Self {
        Self::default()
    }
    fn from_map<'de, A: serde::de::MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        drain_map(map)?;
        Ok(Self::default())
    }
}

/// A JSON string; any other JSON reads as `None`.
impl FromJson for Option<String> {
    fn from_str(text: &str) -> Self {
        Some(text.to_owned())
    }
}

impl<T: Fields> FromJson for T {
    fn from_map<'de, A: serde::de::MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut fields = T::default();
        while let Some(field) = map.next_key_seed(FieldName::<T>(std::marker::PhantomData))? {
            match field {
                Some(field) => fields.read(field, &mut map)?,
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

fn drain_map<'de, A: serde::de::MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map
        .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
        .is_some()
    {}
    Ok(())
}

struct LenientVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: FromJson> serde::de::Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lenient(T::default()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient(T::default()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient(T::default()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient(T::default()))
    }
    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Lenient(T::from_str(text)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient(T::default()))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient(T::default()))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Lenient(T::default()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map).map(Lenient)
    }
}

/// A key of an object read by [`Lenient`]: the index of the field it names, without
/// allocating it.
struct FieldName<T>(std::marker::PhantomData<T>);

impl<'de, T: Fields> serde::de::DeserializeSeed<'de> for FieldName<T> {
    type Value = Option<usize>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, T: Fields> serde::de::Visitor<'de> for FieldName<T> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(T::NAMES.iter().position(|name| {
            if T::ANY_CASE {
                name.eq_ignore_ascii_case(key)
            } else {
                *name == key
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn answer(status: u16, body: Value) -> BatchItem {
        item(json!({"id": "0", "status": status, "body": body}))
    }

    fn item(answer: Value) -> BatchItem {
        serde_json::from_value(answer).expect("any answer with an id and a status reads")
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

    #[test]
    fn an_error_answer_gives_its_code_message_and_retry_after_in_any_case() {
        let item = item(json!({
            "id": "0",
            "status": 429,
            "headers": {"Content-Type": "application/json", "RETRY-AFTER": "7"},
            "body": {"error": {"code": "TooManyRequests", "message": "Slow down.", "innerError": {"date": "x"}}},
        }));
        let Verdict::Retry(after, failure) = verdict(&renewal(), item) else {
            panic!("a 429 is retried");
        };
        assert_eq!(after, Some(Duration::from_secs(7)));
        assert_eq!(failure.code.as_deref(), Some("TooManyRequests"));
        assert_eq!(failure.message, "Slow down.");
        assert_eq!(failure.status, Some(429));
    }

    #[test]
    fn an_answer_of_unexpected_shapes_still_reads_and_says_what_it_can() {
        // A body or fields of other types than Graph's read as absent: one odd answer
        // must not make the whole batch unreadable.
        for (body, headers) in [
            (
                json!("<html>Service Unavailable</html>"),
                json!(["retry-after", "3"]),
            ),
            (json!({"error": "unavailable"}), json!("retry-after: 3")),
            (
                json!({"error": {"code": 503, "message": ["no"]}}),
                json!({"Retry-After": 3}),
            ),
            (json!([1, {"error": {"code": "x"}}]), json!(null)),
            (json!(12.5), json!({})),
        ] {
            let item = item(json!({"id": "0", "status": 503, "headers": headers, "body": body}));
            let Verdict::Retry(after, failure) = verdict(&renewal(), item) else {
                panic!("a 503 is retried");
            };
            assert_eq!(after, None);
            assert_eq!(failure.code, None);
            assert_eq!(failure.message, "answered 503");
        }
    }

    #[test]
    fn a_renewal_answer_is_read_for_its_expiration_alone() {
        let item = item(json!({
            "id": "3",
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
                "id": "0fc2a2a3-3d6e-4d1b-9f5b-6f0a3c1c9e21",
                "resource": "users/x/messages",
                "changeType": "created",
                "clientState": null,
                "notificationQueryOptions": {"a": [1, 2, {"b": null}]},
                "expirationDateTime": "2026-11-29T08:30:00Z",
                "error": "not an error object",
            },
        }));
        assert_eq!(item.id, "3");
        let Verdict::Done(Some(at)) = verdict(&renewal(), item) else {
            panic!("a 200 with a time is done at that time");
        };
        assert_eq!(at, "2026-11-29T08:30:00Z".parse::<DateTime<Utc>>().unwrap());
    }

    #[test]
    fn an_answer_is_matched_to_its_request_by_the_exact_number() {
        assert_eq!(request_index("0"), Some(0));
        assert_eq!(request_index("17"), Some(17));
        for other in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "x",
            "1.0",
            "99999999999999999999999",
        ] {
            assert_eq!(request_index(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_batch_request_is_written_as_graph_reads_it() {
        let renewal = renewal();
        let delete = Item::Delete { id: "abc".into() };
        let requests = BatchRequests {
            requests: vec![renewal.batch_request(0), delete.batch_request(1)],
        };
        assert_eq!(
            serde_json::to_value(&requests).unwrap(),
            json!({"requests": [
                {
                    "id": "0",
                    "method": "PATCH",
                    "url": "/subscriptions/0fc2a2a3-3d6e-4d1b-9f5b-6f0a3c1c9e21",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"expirationDateTime": "2026-11-30T12:00:00Z"},
                },
                {"id": "1", "method": "DELETE", "url": "/subscriptions/abc"},
            ]})
        );
    }
}
