//! Retries and pacing.
//!
//! - [`RetryPolicy`]: 429, 503, 504 and requests that got no answer are sent again, after
//!   Graph's `Retry-After` when it gives one, else after an exponential backoff with full
//!   jitter (a random wait between zero and `base × 2^attempt`, capped), within a cap on
//!   attempts and one on the total time.
//! - [`Pacing`]: the client keeps itself under Graph's documented limits per app and
//!   tenant (List 40 requests per 20 s, the other operations 1,000 per 20 s) with the same
//!   sliding window Graph applies, so a long run waits a little instead of collecting 429s.
//!   One client is one app in one tenant (one token provider).

use std::collections::VecDeque;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// When and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retry).
    pub max_attempts: u32,
    /// No retry starts after this much time since the first attempt.
    pub max_elapsed: Duration,
    /// The first backoff's upper bound.
    pub base: Duration,
    /// No backoff is longer.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts within 10 minutes, backoff from 500 ms up to 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_elapsed: Duration::from_secs(600),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        max_elapsed: Duration::ZERO,
        base: Duration::ZERO,
        cap: Duration::ZERO,
    };

    /// How long to wait before attempt `attempt + 1` (`attempt` counts from 1), given
    /// Graph's `Retry-After`; `None` when no retry is left.
    pub fn wait(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let wait = match retry_after {
            // Graph's own wait, up to five minutes whatever it says.
            Some(wait) => wait.min(Duration::from_secs(300)),
            None => {
                let exponent = attempt.saturating_sub(1).min(20);
                let ceiling = self.base.saturating_mul(1u32 << exponent).min(self.cap);
                let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
                Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
            }
        };
        (elapsed + wait <= self.max_elapsed).then_some(wait)
    }
}

/// At most `requests` in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per window.
    pub requests: u32,
    /// The window.
    pub window: Duration,
}

/// The client's own pacing, per app and tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// List requests.
    pub list: Option<Rate>,
    /// Create, get, update, delete, reauthorize (each request inside a `$batch` too).
    pub other: Option<Rate>,
}

impl Pacing {
    /// Graph's documented limits.
    pub const GRAPH: Pacing = Pacing {
        list: Some(Rate {
            requests: 40,
            window: Duration::from_secs(20),
        }),
        other: Some(Rate {
            requests: 1000,
            window: Duration::from_secs(20),
        }),
    };

    /// No pacing.
    pub const OFF: Pacing = Pacing {
        list: None,
        other: None,
    };
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing::GRAPH
    }
}

/// Added to every pacing window: a request admitted as the oldest leaves the client's
/// window can reach Graph before that oldest one did (their network delays differ), and
/// Graph's window would then still hold it.
pub const PACING_MARGIN: Duration = Duration::from_millis(250);

/// A sliding window of recent sends.
#[derive(Debug)]
pub(crate) struct Window {
    rate: Option<Rate>,
    sent: Mutex<VecDeque<Instant>>,
}

impl Window {
    pub(crate) fn new(rate: Option<Rate>) -> Window {
        Window {
            rate,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits until `count` more requests fit in the window, and counts them.
    pub(crate) async fn admit(&self, count: u32) {
        let Some(rate) = self.rate else {
            return;
        };
        let count = count.min(rate.requests).max(1) as usize;
        let window = rate.window + PACING_MARGIN;
        loop {
            let mut sent = self.sent.lock().await;
            let now = Instant::now();
            while sent.front().is_some_and(|t| *t + window <= now) {
                sent.pop_front();
            }
            if sent.len() + count <= rate.requests as usize {
                sent.extend(std::iter::repeat_n(now, count));
                return;
            }
            // Wait for enough of the oldest to leave the window.
            let index = sent.len() + count - rate.requests as usize - 1;
            let until = sent.get(index).map_or(now, |t| *t + window);
            drop(sent);
            tracing::debug!(wait_ms = (until - now).as_millis() as u64, "pacing");
            tokio::time::sleep_until(until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_and_backoff_is_bounded() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.wait(1, Duration::ZERO, Some(Duration::from_millis(2128))),
            Some(Duration::from_millis(2128))
        );
        for attempt in 1..8 {
            let wait = policy.wait(attempt, Duration::ZERO, None).unwrap();
            assert!(wait <= policy.cap, "{attempt}: {wait:?}");
            assert!(
                wait <= policy.base * (1 << (attempt - 1)),
                "{attempt}: {wait:?}"
            );
        }
        assert_eq!(
            policy.wait(8, Duration::ZERO, None),
            None,
            "attempts capped"
        );
        assert_eq!(
            policy.wait(1, Duration::from_secs(599), Some(Duration::from_secs(5))),
            None,
            "time capped"
        );
        assert_eq!(RetryPolicy::NONE.wait(1, Duration::ZERO, None), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_holds_the_rate() {
        let window = Window::new(Some(Rate {
            requests: 3,
            window: Duration::from_secs(20),
        }));
        let start = Instant::now();
        for _ in 0..3 {
            window.admit(1).await;
        }
        assert_eq!(Instant::now(), start, "the first three pass at once");
        let one = Duration::from_secs(20) + PACING_MARGIN;
        window.admit(1).await;
        assert_eq!(Instant::now() - start, one);
        // The first three have left the window: two more fit at once, then it is full.
        window.admit(2).await;
        assert_eq!(Instant::now() - start, one);
        window.admit(1).await;
        assert_eq!(Instant::now() - start, one * 2);
        Window::new(None).admit(1000).await;
    }
}
