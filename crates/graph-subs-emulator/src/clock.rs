//! The emulator's time: the wall clock, read here and nowhere else in the emulator, plus
//! an offset that `POST /emulator/clock` moves, so that tests see days of lifetimes and
//! renewals in milliseconds.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use graph_subs_core::subscription::Timestamp;

/// A clock that tests can move forward.
#[derive(Debug)]
pub(crate) struct Clock {
    offset: Mutex<Duration>,
}

/// Why the clock did not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ClockError {
    /// Time never goes back: expired subscriptions are gone, as in Graph.
    #[error("the emulator's clock only moves forward: {0} is before its time")]
    Backwards(String),
    /// Past the last instant Graph's timestamps can hold (9999-12-31T23:59:59Z): every
    /// expiration would be in the past, and chrono's dates end not much later.
    #[error(
        "the emulator's clock cannot pass 9999-12-31T23:59:59Z, the last time Graph's timestamps can hold"
    )]
    PastTheEnd,
}

/// The one place the emulator reads the wall clock (also for the TLS certificate's
/// validity, `tls.rs`).
pub(crate) fn wall() -> DateTime<Utc> {
    Utc::now()
}

impl Clock {
    /// A clock that starts at `start`, or at the wall clock's time.
    pub(crate) fn new(start: Option<DateTime<Utc>>) -> Clock {
        let offset = start.map_or(Duration::zero(), |s| s - wall());
        Clock {
            offset: Mutex::new(offset),
        }
    }

    /// A clock `offset_millis` ahead of the wall clock (a restored state's).
    pub(crate) fn with_offset_millis(offset_millis: i64) -> Clock {
        Clock {
            offset: Mutex::new(Duration::milliseconds(offset_millis)),
        }
    }

    /// How far ahead of the wall clock it is, in milliseconds (kept by `--state`).
    pub(crate) fn offset_millis(&self) -> i64 {
        self.offset
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .num_milliseconds()
    }

    /// The emulator's now.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        wall() + *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the clock forward by `by` (not negative).
    pub(crate) fn advance(&self, by: Duration) -> Result<DateTime<Utc>, ClockError> {
        if by < Duration::zero() {
            return Err(ClockError::Backwards(format!("{by}")));
        }
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        // Checked: an overflow here would panic with the lock held, and every later
        // reading of the clock with it.
        let moved = offset.checked_add(&by).ok_or(ClockError::PastTheEnd)?;
        let now = wall()
            .checked_add_signed(moved)
            .filter(|t| Timestamp::new(*t).is_ok())
            .ok_or(ClockError::PastTheEnd)?;
        *offset = moved;
        Ok(now)
    }

    /// Sets the clock to `to`, which must not be before its current time.
    pub(crate) fn set(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, ClockError> {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        let now = wall();
        if to < now + *offset {
            return Err(ClockError::Backwards(graph_subs_core::lifetime::rfc3339(
                to,
            )));
        }
        *offset = to - now;
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_only() {
        let start = DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Clock::new(Some(start));
        assert!((clock.now() - start).num_seconds().abs() < 5);
        let later = clock.advance(Duration::days(3)).unwrap();
        assert!((later - start - Duration::days(3)).num_seconds().abs() < 5);
        assert!(clock.advance(Duration::seconds(-1)).is_err());
        assert!(clock.set(start).is_err());
        let target = start + Duration::days(10);
        assert_eq!(clock.set(target).unwrap(), target);
        // Past year 9999, or past chrono's dates: refused, and the clock unchanged.
        for by in [
            Duration::days(3_000_000),
            Duration::seconds(i64::MAX / 1000),
        ] {
            assert_eq!(clock.advance(by), Err(ClockError::PastTheEnd));
        }
        assert!((clock.now() - target).num_seconds().abs() < 5);
    }
}
