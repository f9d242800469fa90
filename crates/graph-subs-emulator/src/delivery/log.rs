//! The delivery log behind `GET /emulator/deliveries`: every validation request,
//! change notification and lifecycle notification the emulator sent, with each attempt.
//! It is a ring buffer: past its capacity the oldest record goes, so a long load test
//! holds a bounded amount of memory.

use std::collections::VecDeque;

use serde::Serialize;

/// How many deliveries the log keeps.
pub(crate) const CAPACITY: usize = 10_000;

/// What was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Kind {
    /// A change notification, reported through `POST /emulator/changes`.
    Change,
    /// A lifecycle notification, reported through `POST /emulator/lifecycle`.
    Lifecycle,
    /// An endpoint validation request, on create or update.
    Validation,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum State {
    /// Not delivered yet; another attempt is coming.
    Pending,
    /// The endpoint accepted it.
    Delivered,
    /// No attempt succeeded and none is coming.
    Failed,
}

/// One request to the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attempt {
    /// When it started, on the emulator's clock (RFC 3339).
    pub(crate) at: String,
    /// How long it took, in real milliseconds.
    pub(crate) duration_ms: u64,
    /// The HTTP status the endpoint answered, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    /// What went wrong, when something did: never a URL or a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// One delivery and its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    /// The delivery's id, as `POST /emulator/changes` answers it.
    pub(crate) id: String,
    /// The subscription it is for.
    pub(crate) subscription_id: String,
    /// What was sent.
    pub(crate) kind: Kind,
    /// Where, redacted: user-info and query values are `***`.
    pub(crate) url: String,
    /// The change type of a change notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) change_type: Option<String>,
    /// The event of a lifecycle notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lifecycle_event: Option<String>,
    /// Where it stands.
    pub(crate) state: State,
    /// Why nothing was sent, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
    /// Every request made so far, oldest first.
    pub(crate) attempts: Vec<Attempt>,
}

impl Record {
    /// A record with no attempt yet, pending.
    pub(crate) fn new(subscription_id: &str, kind: Kind, url: String) -> Record {
        Record {
            id: uuid::Uuid::new_v4().to_string(),
            subscription_id: subscription_id.to_owned(),
            kind,
            url,
            change_type: None,
            lifecycle_event: None,
            state: State::Pending,
            note: None,
            attempts: Vec::new(),
        }
    }
}

/// A record's place in the log: a sequence number that never repeats, so that a record
/// that was dropped is never mistaken for a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry(u64);

/// The last [`CAPACITY`] deliveries, oldest first.
#[derive(Debug)]
pub(crate) struct Log {
    /// The sequence number of `records[0]`.
    first: u64,
    records: VecDeque<Record>,
    capacity: usize,
}

impl Log {
    /// An empty log that keeps at most `capacity` records (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Log {
        Log {
            first: 0,
            records: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds a record, dropping the oldest when full.
    pub(crate) fn push(&mut self, record: Record) -> Entry {
        if self.records.len() == self.capacity {
            self.records.pop_front();
            self.first += 1;
        }
        self.records.push_back(record);
        Entry(self.first + self.records.len() as u64 - 1)
    }

    /// Changes a record, unless it was dropped since.
    pub(crate) fn update(&mut self, entry: Entry, change: impl FnOnce(&mut Record)) {
        let Some(index) = entry.0.checked_sub(self.first) else {
            return;
        };
        let Ok(index) = usize::try_from(index) else {
            return;
        };
        if let Some(record) = self.records.get_mut(index) {
            change(record);
        }
    }

    /// The records `keep` keeps, oldest first.
    pub(crate) fn records(&self, keep: impl Fn(&Record) -> bool) -> Vec<Record> {
        self.records.iter().filter(|r| keep(r)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(subscription: &str) -> Record {
        Record::new(subscription, Kind::Change, "https://example.com/".into())
    }

    #[test]
    fn keeps_the_newest_records_and_ignores_updates_to_dropped_ones() {
        let mut log = Log::with_capacity(2);
        let a = log.push(record("a"));
        let b = log.push(record("b"));
        log.update(a, |r| r.state = State::Delivered);
        assert_eq!(log.records(|_| true)[0].state, State::Delivered);
        let c = log.push(record("c"));
        log.update(a, |r| r.state = State::Failed);
        log.update(b, |r| r.state = State::Failed);
        log.update(c, |r| r.state = State::Delivered);
        let kept: Vec<(String, State)> = log
            .records(|_| true)
            .into_iter()
            .map(|r| (r.subscription_id, r.state))
            .collect();
        assert_eq!(
            kept,
            [
                ("b".to_owned(), State::Failed),
                ("c".to_owned(), State::Delivered)
            ]
        );
        assert_eq!(log.records(|r| r.subscription_id == "c").len(), 1);
    }

    #[test]
    fn serializes_as_documented() {
        let mut r = record("s1");
        r.change_type = Some("created".into());
        r.attempts.push(Attempt {
            at: "2026-11-22T09:00:00Z".into(),
            duration_ms: 12,
            status: Some(500),
            error: None,
        });
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["subscriptionId"], "s1");
        assert_eq!(json["kind"], "change");
        assert_eq!(json["state"], "pending");
        assert_eq!(json["changeType"], "created");
        assert!(json.get("lifecycleEvent").is_none());
        assert_eq!(json["attempts"][0]["status"], 500);
        assert_eq!(json["attempts"][0]["durationMs"], 12);
        assert!(json["attempts"][0].get("error").is_none());
    }
}
