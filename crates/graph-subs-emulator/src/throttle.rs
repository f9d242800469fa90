//! Graph's throttling of the subscription API, per app and tenant: List at most 40
//! requests per 20 seconds; create, update and delete at most 1,000 per 20 seconds
//! (`../shared/reference/graph-subscriptions.md`). Every request inside a `$batch` counts.
//!
//! Decisions where the documentation is silent:
//! - Get and reauthorize count with create, update and delete (the "other operations"
//!   class), since Graph throttles every call and documents no separate limit for them.
//! - The window slides: a request is admitted when fewer than the limit were admitted in
//!   the 20 seconds before it, and a refused one learns in `Retry-After` (whole seconds,
//!   rounded up) when the oldest of them leaves the window. Refused requests do not count.
//! - Time is the emulator's clock, so a test that advances the clock past the window sees
//!   the limit lifted at once.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    /// `GET /subscriptions`.
    List,
    /// Create, get, update, delete, reauthorize.
    Other,
}

/// At most `requests` in any window of `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests admitted per window.
    pub requests: u32,
    /// The window's length.
    pub window: Duration,
}

/// The throttling the emulator applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// List's limit, per app and tenant.
    pub list: Limit,
    /// The other operations' limit, per app and tenant.
    pub other: Limit,
    /// Off answers every request (`--throttle off`).
    pub enabled: bool,
}

impl Throttle {
    /// Graph's documented limits.
    pub const GRAPH: Throttle = Throttle {
        list: Limit {
            requests: 40,
            window: Duration::seconds(20),
        },
        other: Limit {
            requests: 1000,
            window: Duration::seconds(20),
        },
        enabled: true,
    };

    /// No throttling.
    pub const OFF: Throttle = Throttle {
        enabled: false,
        ..Throttle::GRAPH
    };

    fn limit(&self, class: Class) -> Limit {
        match class {
            Class::List => self.list,
            Class::Other => self.other,
        }
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::GRAPH
    }
}

impl fmt::Display for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return f.write_str("off");
        }
        write!(
            f,
            "list={}/{}s,other={}/{}s",
            self.list.requests,
            self.list.window.num_seconds(),
            self.other.requests,
            self.other.window.num_seconds()
        )
    }
}

/// `--throttle` text that is not `on`, `off` or `list=N/Ss,other=N/Ss`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read the throttle {text:?}: {reason}; write `on` (Graph's limits), `off`, or limits such as `list=40/20s,other=1000/20s`"
)]
pub struct ThrottleSyntaxError {
    text: String,
    reason: String,
}

impl FromStr for Throttle {
    type Err = ThrottleSyntaxError;

    fn from_str(text: &str) -> Result<Throttle, ThrottleSyntaxError> {
        let error = |reason: &str| ThrottleSyntaxError {
            text: graph_subs_core::quote::shortened(text).to_string(),
            reason: reason.to_owned(),
        };
        match text.trim() {
            "on" | "graph" => return Ok(Throttle::GRAPH),
            "off" => return Ok(Throttle::OFF),
            _ => {}
        }
        let mut throttle = Throttle::GRAPH;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, limit) = part
                .split_once('=')
                .ok_or_else(|| error("each limit is NAME=REQUESTS/SECONDSs"))?;
            let (requests, window) = limit
                .split_once('/')
                .ok_or_else(|| error("a limit is REQUESTS/SECONDSs, such as 40/20s"))?;
            let requests: u32 = requests
                .trim()
                .parse()
                .ok()
                .filter(|r| *r > 0)
                .ok_or_else(|| error("the number of requests must be a whole number above 0"))?;
            let seconds: i64 = window
                .trim()
                .strip_suffix('s')
                .unwrap_or(window.trim())
                .parse()
                .ok()
                .filter(|s| (1..=86_400).contains(s))
                .ok_or_else(|| error("the window must be 1 to 86400 seconds, such as 20s"))?;
            let limit = Limit {
                requests,
                window: Duration::seconds(seconds),
            };
            match name.trim() {
                "list" => throttle.list = limit,
                "other" | "write" => throttle.other = limit,
                _ => return Err(error("the limits are named `list` and `other`")),
            }
        }
        Ok(throttle)
    }
}

/// Requests admitted in the current window, per app, tenant and class.
#[derive(Debug, Default)]
pub(crate) struct Throttler {
    admitted: HashMap<(String, String, Class), VecDeque<DateTime<Utc>>>,
}

impl Throttler {
    /// Admits a request of `app` in `tenant` at `now`, or says how long to wait.
    pub(crate) fn admit(
        &mut self,
        throttle: &Throttle,
        tenant: &str,
        app: &str,
        class: Class,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        if !throttle.enabled {
            return Ok(());
        }
        let limit = throttle.limit(class);
        let times = self
            .admitted
            .entry((tenant.to_owned(), app.to_owned(), class))
            .or_default();
        while times.front().is_some_and(|t| *t + limit.window <= now) {
            times.pop_front();
        }
        if times.len() < limit.requests as usize {
            times.push_back(now);
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now);
        Err(oldest + limit.window - now)
    }
}

/// `Retry-After` for a wait: whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_seconds(wait: Duration) -> i64 {
    let millis = wait.num_milliseconds().max(1);
    (millis + 999) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn the_window_slides_and_tells_how_long_to_wait() {
        let throttle = "list=3/20s".parse::<Throttle>().unwrap();
        let mut t = Throttler::default();
        for s in [0, 5, 10] {
            assert_eq!(t.admit(&throttle, "t", "a", Class::List, at(s)), Ok(()));
        }
        assert_eq!(
            t.admit(&throttle, "t", "a", Class::List, at(12)),
            Err(Duration::seconds(8))
        );
        // Another app, another tenant, another class: their own windows.
        assert_eq!(t.admit(&throttle, "t", "b", Class::List, at(12)), Ok(()));
        assert_eq!(t.admit(&throttle, "u", "a", Class::List, at(12)), Ok(()));
        assert_eq!(t.admit(&throttle, "t", "a", Class::Other, at(12)), Ok(()));
        // The first request leaves the window at 20 s.
        assert_eq!(t.admit(&throttle, "t", "a", Class::List, at(20)), Ok(()));
        assert!(t.admit(&throttle, "t", "a", Class::List, at(21)).is_err());
        assert_eq!(Throttle::OFF.to_string(), "off");
        assert_eq!(
            t.admit(&Throttle::OFF, "t", "a", Class::List, at(21)),
            Ok(())
        );
        assert_eq!(retry_after_seconds(Duration::milliseconds(1)), 1);
        assert_eq!(retry_after_seconds(Duration::milliseconds(8001)), 9);
    }

    #[test]
    fn limits_are_read_from_the_command_line() {
        assert_eq!("on".parse::<Throttle>().unwrap(), Throttle::GRAPH);
        assert_eq!(
            Throttle::GRAPH.to_string().parse::<Throttle>().unwrap(),
            Throttle::GRAPH
        );
        let t: Throttle = "other=5/1s".parse().unwrap();
        assert_eq!(t.other.requests, 5);
        assert_eq!(t.list, Throttle::GRAPH.list);
        for bad in ["fast", "list=0/20s", "list=4/0s", "list=4", "reads=4/2s"] {
            let e = bad.parse::<Throttle>().unwrap_err().to_string();
            assert!(e.contains("list=40/20s"), "{bad}: {e}");
        }
    }
}
