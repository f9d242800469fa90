//! Injected faults, for testing clients against a Graph that misbehaves the way the real
//! one does: `--faults "429:0.1,503:0.05,504:0.05,drop:0.02,delay:200ms" --seed N`.
//!
//! Each request to the subscription API (`/v1.0`, `/beta`; not the token endpoint, not
//! `/emulator/`) draws one number from a generator seeded with `--seed`, so the same
//! sequence of requests meets the same faults:
//! - `429`, `503`, `504` with a probability: the request is not carried out and is
//!   answered with that status in Graph's shape (`TooManyRequests`,
//!   `ServiceUnavailable`, `GatewayTimeout`) and a `Retry-After` of 1 second, or of
//!   `retry-after:DURATION` (`ms` or `s`; fractional seconds on the wire, as Graph
//!   sometimes writes them);
//! - `drop` with a probability: the request **is carried out** and the connection is
//!   then closed without an answer, the hardest case for a client (a create it retries
//!   meets a 409: the first one happened);
//! - `delay:DURATION` (`ms` or `s`): every request waits that long before it is served.
//!
//! The probabilities of the answers and of `drop` add up to at most 1.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What to inject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// `(status, probability)`: 429, 503 or 504.
    pub answers: Vec<(u16, f64)>,
    /// The probability of carrying a request out and dropping its answer.
    pub drop: f64,
    /// Added before every request.
    pub delay: Duration,
    /// The `Retry-After` of injected 429, 503 and 504 answers (1 second unless given).
    pub retry_after: Option<Duration>,
}

/// What the draw decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Serve it.
    None,
    /// Answer this status instead.
    Answer(u16),
    /// Serve it, then close the connection without the answer.
    Drop,
}

impl Faults {
    /// Whether anything is injected.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty() && self.drop == 0.0 && self.delay.is_zero()
    }

    fn decide(&self, draw: f64) -> Fault {
        let mut cumulative = 0.0;
        for (status, p) in &self.answers {
            cumulative += p;
            if draw < cumulative {
                return Fault::Answer(*status);
            }
        }
        if draw < cumulative + self.drop {
            return Fault::Drop;
        }
        Fault::None
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .answers
            .iter()
            .map(|(s, p)| format!("{s}:{p}"))
            .collect();
        if self.drop > 0.0 {
            parts.push(format!("drop:{}", self.drop));
        }
        if !self.delay.is_zero() {
            parts.push(format!("delay:{}ms", self.delay.as_millis()));
        }
        if let Some(after) = self.retry_after {
            parts.push(format!("retry-after:{}ms", after.as_millis()));
        }
        f.write_str(&parts.join(","))
    }
}

/// `--faults` text that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read the fault {part:?}: {reason}; write faults such as `429:0.1,503:0.05,504:0.05,drop:0.02,delay:200ms`"
)]
pub struct FaultsSyntaxError {
    part: String,
    reason: &'static str,
}

impl FromStr for Faults {
    type Err = FaultsSyntaxError;

    fn from_str(text: &str) -> Result<Faults, FaultsSyntaxError> {
        let mut faults = Faults::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let error = |reason| FaultsSyntaxError {
                part: graph_subs_core::quote::shortened(part).to_string(),
                reason,
            };
            let (name, value) = part
                .split_once(':')
                .ok_or_else(|| error("each fault is NAME:VALUE"))?;
            let probability = || {
                value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| error("a probability is a number from 0 to 1"))
            };
            match name.trim() {
                "429" | "503" | "504" => {
                    let status = name.trim().parse().unwrap_or(503);
                    faults.answers.push((status, probability()?));
                }
                "drop" => faults.drop = probability()?,
                "delay" | "retry-after" => {
                    let value = value.trim();
                    let (number, unit) = match value.strip_suffix("ms") {
                        Some(n) => (n, 1),
                        None => (
                            value
                                .strip_suffix('s')
                                .ok_or_else(|| error("a delay ends in ms or s, as 200ms"))?,
                            1000,
                        ),
                    };
                    let millis: u64 = number
                        .trim()
                        .parse()
                        .ok()
                        .filter(|n: &u64| n * unit <= 60_000)
                        .ok_or_else(|| error("a delay is a whole number up to 60s"))?;
                    let duration = Duration::from_millis(millis * unit);
                    if name.trim() == "delay" {
                        faults.delay = duration;
                    } else {
                        faults.retry_after = Some(duration);
                    }
                }
                _ => {
                    return Err(error(
                        "the faults are 429, 503, 504, drop, delay and retry-after",
                    ));
                }
            }
        }
        let total: f64 = faults.answers.iter().map(|(_, p)| p).sum::<f64>() + faults.drop;
        if total > 1.0 + 1e-9 {
            return Err(FaultsSyntaxError {
                part: graph_subs_core::quote::shortened(text).to_string(),
                reason: "the probabilities add up to more than 1",
            });
        }
        Ok(faults)
    }
}

/// Draws the faults, reproducibly.
#[derive(Debug)]
pub(crate) struct Injector {
    faults: Faults,
    rng: Mutex<StdRng>,
}

impl Injector {
    pub(crate) fn new(faults: Faults, seed: u64) -> Injector {
        Injector {
            faults,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    pub(crate) fn delay(&self) -> Duration {
        self.faults.delay
    }

    /// `Retry-After` for an injected answer.
    pub(crate) fn retry_after(&self) -> Duration {
        self.faults.retry_after.unwrap_or(Duration::from_secs(1))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// The fault for the next request.
    pub(crate) fn draw(&self) -> Fault {
        if self.faults.answers.is_empty() && self.faults.drop == 0.0 {
            return Fault::None;
        }
        let draw: f64 = self.rng.lock().unwrap_or_else(|e| e.into_inner()).r#gen();
        self.faults.decide(draw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_read_from_the_command_line() {
        let f: Faults = "429:0.1,503:0.05,504:0.05,drop:0.02,delay:200ms,retry-after:50ms"
            .parse()
            .unwrap();
        assert_eq!(f.retry_after, Some(Duration::from_millis(50)));
        assert_eq!(f.answers, vec![(429, 0.1), (503, 0.05), (504, 0.05)]);
        assert_eq!(f.drop, 0.02);
        assert_eq!(f.delay, Duration::from_millis(200));
        assert_eq!(f.to_string().parse::<Faults>().unwrap(), f);
        assert_eq!(
            "delay:2s".parse::<Faults>().unwrap().delay.as_millis(),
            2000
        );
        assert!("".parse::<Faults>().unwrap().is_empty());
        for bad in [
            "429",
            "500:0.1",
            "429:2",
            "drop:-1",
            "delay:5",
            "delay:90s",
            "429:0.6,503:0.6",
        ] {
            let e = bad.parse::<Faults>().unwrap_err().to_string();
            assert!(e.contains("429:0.1,503"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_in_proportion() {
        let faults: Faults = "429:0.2,503:0.1,drop:0.1".parse().unwrap();
        let draws = |seed| {
            let i = Injector::new(faults.clone(), seed);
            (0..10_000).map(|_| i.draw()).collect::<Vec<_>>()
        };
        let a = draws(7);
        assert_eq!(a, draws(7));
        assert_ne!(a, draws(8));
        let count = |f| a.iter().filter(|x| **x == f).count();
        assert!((1800..2200).contains(&count(Fault::Answer(429))));
        assert!((850..1150).contains(&count(Fault::Answer(503))));
        assert!((850..1150).contains(&count(Fault::Drop)));
        assert_eq!(count(Fault::Answer(504)), 0);
    }
}
