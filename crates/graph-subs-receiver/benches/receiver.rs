//! The receiver's goal for plain notifications (issue 9), over loopback: at least 20,000
//! notifications a second accepted (202) and delivered to the queue, with a p99 time to
//! the 202 under 5 ms at that load.
//!
//! The receiver runs on its own multi-threaded tokio runtime (a worker per CPU), with a
//! task that drains its queue as an app would; 32 keep-alive HTTP/1.1 connections (the
//! workspace's minimal load generator, `graph_subs_benchkit::RawConnection`, on a
//! current-thread runtime) POST one change notification each, in turn, for 1 s of warm-up
//! and the measured time. Every answer must be 202, and every accepted notification must
//! come out of the queue: both are checked. Latency is from sending to the whole answer
//! read, every request kept and sorted.
//!
//! ```text
//! cargo bench -p graph-subs-receiver --bench receiver -- [--seconds S] [--json PATH] [--quick]
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use graph_subs_benchkit::{RawConnection, Result, cpu_seconds, percentiles};
use graph_subs_core::subscription::ClientState;
use graph_subs_receiver::{ClientStates, Receiver};
use serde_json::json;

const CONCURRENCY: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);
const SECRET: &str = "bench-client-state";

fn main() {
    graph_subs_benchkit::exit_on_error(run());
}

fn run() -> Result<()> {
    let args = graph_subs_benchkit::BenchArgs::parse(10.0)?;
    let (seconds, quick) = (args.seconds, args.quick);
    let server = tokio::runtime::Builder::new_multi_thread()
        .thread_name("receiver")
        .enable_all()
        .build()?;
    let (receiver, mut events) =
        Receiver::builder(ClientStates::Shared(ClientState::new(SECRET)?)).build();
    let drained = Arc::new(AtomicU64::new(0));
    let base = server.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(graph_subs_receiver::serve(
            listener,
            receiver.router(),
            std::future::pending(),
        ));
        Ok::<String, Box<dyn std::error::Error + Send + Sync>>(base)
    })?;
    // The app: takes every notification off the queue.
    let counter = drained.clone();
    server.spawn(async move {
        while events.recv().await.is_some() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });

    let body = json!({"value": [{
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "subscriptionExpirationDateTime": "2026-11-25T18:23:45.9356913+00:00",
        "changeType": "created",
        "resource": "Users/ada@contoso.com/Messages/AAMkADg3ODQ2ZmQ5LTVjZmItNDYzMy05YTY1LTI1ZGQ1MTI3MzRiYQBGAAAAAADq",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Message",
            "@odata.id": "Users/ada@contoso.com/Messages/AAMkADg3ODQ2ZmQ5LTVjZmItNDYzMy05YTY1LTI1ZGQ1MTI3MzRiYQBGAAAAAADq",
            "@odata.etag": "W/\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\"",
            "id": "AAMkADg3ODQ2ZmQ5LTVjZmItNDYzMy05YTY1LTI1ZGQ1MTI3MzRiYQBGAAAAAADq"
        },
        "clientState": SECRET,
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
    }]})
    .to_string();

    let cpu_before = cpu_seconds("self");
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (latencies, errors, all, elapsed) = client.block_on(async {
        let start = Instant::now();
        let measure_from = start + WARM_UP;
        let end = measure_from + Duration::from_secs_f64(seconds);
        let mut tasks = Vec::with_capacity(CONCURRENCY);
        for _ in 0..CONCURRENCY {
            let mut connection = RawConnection::connect(&base).await?;
            let request = connection.request("POST", "/notifications", "", &body);
            tasks.push(tokio::spawn(async move {
                let (mut latencies, mut errors, mut all, mut last) =
                    (Vec::with_capacity(1 << 16), 0u64, 0u64, measure_from);
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let answer = connection.send(&request).await?;
                    all += 1;
                    if sent >= measure_from {
                        if answer.status == 202 {
                            latencies.push((answer.done - sent).as_nanos() as u64);
                        } else {
                            errors += 1;
                        }
                        last = answer.done;
                    }
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((latencies, errors, all, last))
            }));
        }
        let (mut latencies, mut errors, mut all, mut last) = (Vec::new(), 0, 0, measure_from);
        for task in tasks {
            let (l, e, a, t) = task.await??;
            latencies.extend(l);
            errors += e;
            all += a;
            last = last.max(t);
        }
        latencies.sort_unstable();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((
            latencies,
            errors,
            all,
            last.duration_since(measure_from).as_secs_f64(),
        ))
    })?;
    let cpu = cpu_seconds("self") - cpu_before;
    // Whatever was accepted has come out of the queue.
    for _ in 0..200 {
        if drained.load(Ordering::Relaxed) >= receiver.stats().delivered {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = receiver.stats();
    let result = json!({
        "concurrency": CONCURRENCY,
        "seconds": elapsed,
        "accepted": latencies.len(),
        "errors": errors,
        "all_requests": all,
        "throughput": latencies.len() as f64 / elapsed.max(1e-9),
        "latency_us": percentiles(&latencies),
        "delivered": stats.delivered,
        "drained": drained.load(Ordering::Relaxed),
        "rejected": stats.rejected.values().sum::<u64>(),
        "cpu_us_per_request": cpu * 1e6 / all.max(1) as f64,
        "quick": quick,
    });
    eprintln!(
        "receiver bench: {:.0} notifications/s accepted, p50 {:.0} µs, p99 {:.0} µs, {} errors; {} delivered, {} drained",
        result["throughput"].as_f64().unwrap_or(0.0),
        result["latency_us"]["p50"].as_f64().unwrap_or(0.0),
        result["latency_us"]["p99"].as_f64().unwrap_or(0.0),
        errors,
        stats.delivered,
        result["drained"]
    );
    args.write_json(&result, "receiver")?;
    Ok(())
}
