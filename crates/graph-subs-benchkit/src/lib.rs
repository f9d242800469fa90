//! What the workspace's load benchmarks share (`graph-subs-emulator`'s `emulator` bench
//! and `graph-subs-cli`'s `manage` bench): a minimal HTTP/1.1 load generator
//! ([`RawConnection`]), latency [`percentiles`], what a process spent, from `/proc`
//! ([`cpu_seconds`], [`status_kib`]), emulators filled with subscriptions ([`fill`]), and
//! for tests, the process's captured log ([`log`]).
//!
//! The load generator exists because client and server share the reference machine's two
//! CPUs: every microsecond a general HTTP client spends is taken from the server it
//! measures. It writes each request whole and reads each answer with `httparse` up to
//! its `Content-Length`, as `wrk` or `oha` do: about 20 µs of CPU per request on the
//! reference machine, against about 48 µs for reqwest (`docs/performance.md`).

pub mod fill;
pub mod log;

use std::error::Error;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A benchmark's error: anything, with its message.
pub type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// One keep-alive HTTP/1.1 connection to an `http://` server, one request at a time.
#[derive(Debug)]
pub struct RawConnection {
    stream: TcpStream,
    authority: String,
    buffer: Vec<u8>,
}

/// One answer: its status and when its last byte was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// When the whole answer had been read.
    pub done: Instant,
}

impl RawConnection {
    /// Connects to `base_url` (`http://HOST:PORT`, anything after the authority ignored).
    pub async fn connect(base_url: &str) -> Result<RawConnection> {
        let rest = base_url
            .strip_prefix("http://")
            .ok_or("the raw client speaks http:// only")?;
        let authority = rest.split('/').next().unwrap_or(rest).to_owned();
        let stream = TcpStream::connect(&authority).await?;
        stream.set_nodelay(true)?;
        Ok(RawConnection {
            stream,
            authority,
            buffer: Vec::with_capacity(8192),
        })
    }

    /// The bytes of a request with a JSON body and a bearer token, ready for
    /// [`RawConnection::send`]: prepared once, sent many times.
    pub fn request(&self, method: &str, path: &str, token: &str, json_body: &str) -> Vec<u8> {
        format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{json_body}",
            self.authority,
            json_body.len()
        )
        .into_bytes()
    }

    /// Sends one prepared request and reads its whole answer (the body is discarded).
    pub async fn send(&mut self, request: &[u8]) -> Result<Answer> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let (status, whole) = loop {
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err("the server closed the connection".into());
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut answer = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = answer.parse(&self.buffer)? {
                let length = answer
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
                    .ok_or("an answer without Content-Length (the raw client reads no other)")?;
                break (answer.code.unwrap_or(0), head + length);
            }
        };
        while self.buffer.len() < whole {
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err("the server closed the connection mid-answer".into());
            }
        }
        Ok(Answer {
            status,
            done: Instant::now(),
        })
    }
}

/// A bench binary's end: its error on stderr and exit status 1, or nothing.
#[allow(clippy::print_stderr)]
pub fn exit_on_error(result: Result<()>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Writes `value` as one line on stdout, flushed: how a bench's child process hands its
/// measurements to its parent.
#[allow(clippy::print_stdout)]
pub fn print_line(value: &Value) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")?;
    out.flush()?;
    Ok(())
}

/// p50, p90, p99, p99.9 and the maximum of sorted nanoseconds, in microseconds (the
/// nearest-rank method: no interpolation).
pub fn percentiles(sorted_ns: &[u64]) -> Value {
    let at = |p: f64| -> f64 {
        if sorted_ns.is_empty() {
            return 0.0;
        }
        let rank = ((p * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len());
        sorted_ns[rank - 1] as f64 / 1000.0
    };
    json!({
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "p999": at(0.999),
        "max": at(1.0),
    })
}

/// A field of `/proc/self/status` given in kB (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/self/status").into())
}

/// The CPU time of every thread of process `pid` (`self` for this one), in seconds:
/// the sum of `/proc/PID/task/*/schedstat`'s first field (nanoseconds on a CPU).
pub fn cpu_seconds(pid: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum::<u64>() as f64
        / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ns: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        let p = percentiles(&ns);
        assert_eq!(p["p50"], 500.0);
        assert_eq!(p["p99"], 990.0);
        assert_eq!(p["p999"], 999.0);
        assert_eq!(p["max"], 1000.0);
        assert_eq!(percentiles(&[])["p50"], 0.0);
    }

    #[test]
    fn this_process_has_a_resident_size_and_cpu_time() {
        assert!(status_kib("VmRSS").unwrap() > 0);
        assert!(status_kib("NoSuchField").is_err());
        assert!(cpu_seconds("self") > 0.0);
    }
}

/// The flags the load benches share: `--json PATH` (where to write the results),
/// `--seconds S` (the measured time, at most 600), `--quick` (2 s, judged by no goal).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchArgs {
    /// `--json PATH`.
    pub json: Option<String>,
    /// The measured time.
    pub seconds: f64,
    /// `--quick`.
    pub quick: bool,
    /// Every other argument, in order (Cargo adds `--bench`), for the bench's own flags.
    pub other: Vec<String>,
}

impl BenchArgs {
    /// Reads the process's arguments; `seconds` unless `--seconds` or `--quick` says.
    pub fn parse(seconds: f64) -> Result<BenchArgs> {
        let mut parsed = BenchArgs {
            json: None,
            seconds,
            quick: false,
            other: Vec::new(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--json" => parsed.json = Some(args.next().ok_or("--json needs a path")?),
                "--seconds" => {
                    parsed.seconds = args
                        .next()
                        .and_then(|s| s.parse().ok())
                        .filter(|s: &f64| *s > 0.0 && *s <= 600.0)
                        .ok_or("--seconds needs a number of seconds (at most 600)")?;
                }
                "--quick" => {
                    parsed.quick = true;
                    parsed.seconds = 2.0;
                }
                _ => parsed.other.push(arg),
            }
        }
        Ok(parsed)
    }

    /// The value after `flag` among the other arguments.
    pub fn value(&self, flag: &str) -> Option<&str> {
        self.other
            .iter()
            .position(|a| a == flag)
            .and_then(|i| self.other.get(i + 1))
            .map(String::as_str)
    }

    /// Writes `result` to `--json PATH`, when given, creating its folder (and says so on
    /// stderr: a bench binary's own output).
    #[allow(clippy::print_stderr)]
    pub fn write_json(&self, result: &Value, bench: &str) -> Result<()> {
        if let Some(path) = &self.json {
            if let Some(parent) = std::path::Path::new(path).parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, serde_json::to_string_pretty(result)? + "\n")?;
            eprintln!("{bench} bench: wrote {path}");
        }
        Ok(())
    }
}
