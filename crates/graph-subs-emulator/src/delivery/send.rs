//! Sending one notification in the background, retrying with exponential backoff until
//! the endpoint accepts it or the [`RetryPolicy`] gives up.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use graph_subs_core::lifetime;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

use super::RetryPolicy;
use super::log::{Attempt, Entry, State};
use crate::Shared;

/// A notification to send.
#[derive(Debug)]
pub(crate) struct Job {
    /// Its record in the delivery log.
    pub(crate) entry: Entry,
    /// The endpoint, as written (it may hold secrets: never logged).
    pub(crate) url: String,
    /// The JSON body.
    pub(crate) body: Vec<u8>,
}

/// Sends `job` in a task of its own. The task holds the emulator only weakly: when the
/// emulator stops, pending retries end.
pub(crate) fn spawn(shared: &Arc<Shared>, job: Job) {
    let client = shared.delivery.client.clone();
    let policy = shared.config.delivery.retry;
    let shared = Arc::downgrade(shared);
    tokio::spawn(run(shared, client, policy, job));
}

async fn run(shared: Weak<Shared>, client: reqwest::Client, policy: RetryPolicy, job: Job) {
    let started = Instant::now();
    let mut backoff = policy.first_backoff;
    let max_attempts = policy.max_attempts.max(1);
    for number in 1..=max_attempts {
        let Some(at) = shared.upgrade().map(|s| s.clock.now()) else {
            return;
        };
        let attempt_started = Instant::now();
        let (status, error) = attempt(&client, &job, policy.attempt_timeout).await;
        let delivered = error.is_none();
        let last =
            !delivered && (number == max_attempts || started.elapsed() + backoff > policy.window);
        let state = if delivered {
            State::Delivered
        } else if last {
            State::Failed
        } else {
            State::Pending
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut record_id = String::new();
        shared.delivery.update(job.entry, |record| {
            record.attempts.push(Attempt {
                at: lifetime::rfc3339(at),
                duration_ms: millis(attempt_started.elapsed()),
                status,
                error: error.clone(),
            });
            record.state = state;
            record_id.clone_from(&record.id);
        });
        drop(shared);
        match state {
            State::Delivered => {
                tracing::debug!(delivery = %record_id, attempt = number, "notification delivered");
                return;
            }
            State::Failed => {
                tracing::warn!(delivery = %record_id, attempts = number, error = error.as_deref().unwrap_or_default(), "notification not delivered; giving up");
                return;
            }
            State::Pending => {
                tracing::debug!(delivery = %record_id, attempt = number, retry_in_ms = millis(backoff), error = error.as_deref().unwrap_or_default(), "notification not delivered; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2).min(policy.max_backoff);
    }
}

/// One POST: the status, when the endpoint answered, and what went wrong, when the
/// answer was not a 2xx in time.
async fn attempt(
    client: &reqwest::Client,
    job: &Job,
    timeout: Duration,
) -> (Option<u16>, Option<String>) {
    let send = client
        .post(&job.url)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )
        .body(job.body.clone())
        .send();
    match tokio::time::timeout(timeout, send).await {
        Err(_) => (
            None,
            Some(format!("no answer within {} ms", millis(timeout))),
        ),
        Ok(Err(e)) => (None, Some(describe(e))),
        Ok(Ok(response)) => {
            let status = response.status();
            let error = (!status.is_success())
                .then(|| format!("the endpoint answered {}, not 2xx", status.as_u16()));
            (Some(status.as_u16()), error)
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What went wrong with a request, with its causes, never its URL (whose query may hold
/// secrets).
pub(crate) fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
