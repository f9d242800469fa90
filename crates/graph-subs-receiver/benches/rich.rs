//! The receiver's goal for rich notifications (issue 9), over loopback: at least 2,000
//! notifications a second verified and decrypted, with a p99 time to the 202 under 5 ms at
//! that load.
//!
//! Each request is one rich change notification as Graph sends it: its resource (a Teams
//! message of about 600 bytes) encrypted with a symmetric key of its own, wrapped with
//! RSA-OAEP for the test vector's 2048-bit certificate, and a validation token (the same
//! for every POST, as Graph reuses one per app and tenant for its hour). 5,000 bodies are
//! made before the run and sent in turn: more than the receiver remembers unwrapped keys
//! (4,096), so every request costs an RSA private-key operation, the worst case. They are
//! encrypted here with aws-lc, independently of the emulator's code.
//!
//! Three runs, 32 keep-alive connections each (`graph_subs_benchkit::RawConnection`):
//! - **saturation**: each connection sends its next request as soon as the last is
//!   answered, for the highest rate;
//! - **paced**: requests scheduled at the goal's rate (2,000/s, or 90% of the saturation
//!   rate when that is lower): the p99 of the goal. A request whose connection was still
//!   waiting for its previous answer at its scheduled time counts from that time (the
//!   receiver's backlog: no coordinated omission); one whose connection was free counts
//!   from its send, since tokio's timer wakes this generator up to a millisecond or two
//!   late, which is not the receiver's doing (that lateness is reported beside);
//! - **half**: paced at half the saturation rate, the latency with headroom.
//!
//! Every answer must be 202 and every notification delivered decrypted: both are checked.
//!
//! ```text
//! cargo bench -p graph-subs-receiver --bench rich -- [--seconds S] [--json PATH] [--quick]
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::cipher::{AES_256, EncryptionContext, PaddedBlockEncryptingKey, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPublicEncryptingKey, PrivateDecryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use graph_subs_benchkit::{RawConnection, Result, cpu_seconds, percentiles};
use graph_subs_core::notification::ValidationTokenClaims;
use graph_subs_core::subscription::ClientState;
use graph_subs_receiver::rich::{DecryptionKeys, IssuerKeys, TokenVerifier, thumbprint};
use graph_subs_receiver::{ClientStates, Event, Receiver};
use serde_json::{Value, json};

const CONCURRENCY: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);
const BODIES: usize = 5_000;
const GOAL: f64 = 2_000.0;
const SECRET: &str = "bench-client-state";
const APP: &str = "5b1a3c41-7a61-4f0c-9b0e-2f9d6c1d8e77";
const TENANT: &str = "84bd8158-6d4d-4958-8b9f-9d6445542f95";

fn main() {
    graph_subs_benchkit::exit_on_error(run());
}

fn vector(name: &str) -> Result<String> {
    Ok(std::fs::read_to_string(format!(
        "{}/tests/vectors/rich/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))?)
}

/// `BODIES` rich notifications, each with a key of its own, and the JWKS that verifies
/// their token.
fn bodies() -> Result<(Vec<String>, jsonwebtoken::jwk::JwkSet)> {
    let key_pem = vector("key.pem")?;
    let cert = pem::parse(vector("cert.pem")?)?;
    let private = PrivateDecryptingKey::from_pkcs8(pem::parse(&key_pem)?.contents())
        .map_err(|e| e.to_string())?;
    let public = OaepPublicEncryptingKey::new(private.public_key()).map_err(|e| e.to_string())?;
    let encoding =
        jsonwebtoken::EncodingKey::from_rsa_der(pem::parse(vector("key.pkcs1.pem")?)?.contents());
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::RS256)?;
    jwk.common.key_id = Some("bench".into());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("bench".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let token = jsonwebtoken::encode(
        &header,
        &ValidationTokenClaims::for_app(APP, TENANT, now, 3600),
        &encoding,
    )?;
    let resource = json!({
        "@odata.type": "#Microsoft.Graph.chatMessage",
        "id": "1616990032035",
        "messageType": "message",
        "createdDateTime": "2026-11-23T10:00:00.035Z",
        "from": {"user": {"id": "8b081ef6-4792-4def-b2c9-c363a1bf41d5", "displayName": "Ada Lovelace"}},
        "body": {"contentType": "html", "content": "<p>The analytical engine weaves algebraic patterns just as the Jacquard loom weaves flowers and leaves. Shall we meet on Friday to go through the notes on Bernoulli numbers?</p>"},
        "chatId": "19:2da4c29f6d7041eca70b638b43d45437@thread.v2",
        "importance": "normal",
        "locale": "en-us",
    })
    .to_string();
    let thumbprint = thumbprint(cert.contents());
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut bodies = Vec::with_capacity(BODIES);
    for _ in 0..BODIES {
        let mut key = [0u8; 32];
        aws_lc_rs::rand::SecureRandom::fill(&rng, &mut key).map_err(|e| e.to_string())?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&key[..16]);
        let cipher = PaddedBlockEncryptingKey::cbc_pkcs7(
            UnboundCipherKey::new(&AES_256, &key).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let mut data = resource.as_bytes().to_vec();
        cipher
            .less_safe_encrypt(&mut data, EncryptionContext::Iv128(FixedLength::from(&iv)))
            .map_err(|e| e.to_string())?;
        let mac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
        let signature = aws_lc_rs::hmac::sign(&mac, &data);
        let mut wrapped = vec![0u8; public.ciphertext_size()];
        let wrapped = public
            .encrypt(&OAEP_SHA1_MGF1SHA1, &key, &mut wrapped, None)
            .map_err(|e| e.to_string())?;
        bodies.push(
            json!({"value": [{
                "subscriptionId": "10493aa0-4d29-4df5-bc0c-ef742cc6cd7f",
                "changeType": "created",
                "clientState": SECRET,
                "subscriptionExpirationDateTime": "2026-11-23T11:00:00.0000000Z",
                "resource": "chats('19:2da4c29f6d7041eca70b638b43d45437@thread.v2')/messages('1616990032035')",
                "resourceData": {"id": "1616990032035", "@odata.type": "#Microsoft.Graph.chatMessage",
                    "@odata.id": "chats('19:2da4c29f6d7041eca70b638b43d45437@thread.v2')/messages('1616990032035')"},
                "encryptedContent": {
                    "data": STANDARD.encode(&data),
                    "dataSignature": STANDARD.encode(signature.as_ref()),
                    "dataKey": STANDARD.encode(wrapped),
                    "encryptionCertificateId": "bench",
                    "encryptionCertificateThumbprint": thumbprint,
                },
                "tenantId": TENANT,
            }], "validationTokens": [token]})
            .to_string(),
        );
    }
    Ok((bodies, jsonwebtoken::jwk::JwkSet { keys: vec![jwk] }))
}

/// What one run measured.
struct Load {
    /// Times to the 202 (ns, sorted).
    latencies: Vec<u64>,
    /// Paced runs: how late this generator sent the requests whose connection was free
    /// at their scheduled time (ns, sorted), which is not counted in their latency.
    late: Vec<u64>,
    /// Answers other than 202.
    errors: u64,
    /// The measured seconds.
    seconds: f64,
}

/// One run: `rate` requests a second in all (None: as fast as answered).
async fn load(
    base: &str,
    bodies: Arc<Vec<String>>,
    seconds: f64,
    rate: Option<f64>,
) -> Result<Load> {
    let start = Instant::now();
    let measure_from = start + WARM_UP;
    let end = measure_from + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for c in 0..CONCURRENCY {
        let mut connection = RawConnection::connect(base).await?;
        let requests: Vec<Vec<u8>> = bodies
            .iter()
            .skip(c)
            .step_by(CONCURRENCY)
            .map(|b| connection.request("POST", "/notifications", "", b))
            .collect();
        // Paced: this connection's share of the rate, its first request staggered.
        let interval = rate.map(|r| Duration::from_secs_f64(CONCURRENCY as f64 / r));
        let offset = interval.map_or(Duration::ZERO, |i| i.mul_f64(c as f64 / CONCURRENCY as f64));
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut late, mut errors, mut last) =
                (Vec::new(), Vec::new(), 0u64, measure_from);
            let mut scheduled = start + offset;
            let mut previous = start;
            for request in requests.iter().cycle() {
                if interval.is_some() {
                    tokio::time::sleep_until(scheduled.into()).await;
                } else {
                    scheduled = Instant::now();
                }
                if scheduled >= end {
                    break;
                }
                let sent = Instant::now();
                // Latency from the scheduled time when the connection was still waiting
                // for its previous answer then (the receiver's backlog: no coordinated
                // omission); else from the send, the timer's lateness being this
                // generator's own (tokio's timers wake up to a millisecond late).
                let from = if previous > scheduled {
                    scheduled
                } else {
                    if interval.is_some() && scheduled >= measure_from {
                        late.push(sent.saturating_duration_since(scheduled).as_nanos() as u64);
                    }
                    sent
                };
                let answer = connection.send(request).await?;
                previous = answer.done;
                if scheduled >= measure_from {
                    if answer.status == 202 {
                        latencies.push((answer.done - from).as_nanos() as u64);
                    } else {
                        errors += 1;
                    }
                    last = answer.done;
                }
                if let Some(interval) = interval {
                    scheduled += interval;
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((latencies, late, errors, last))
        }));
    }
    let mut run = Load {
        latencies: Vec::new(),
        late: Vec::new(),
        errors: 0,
        seconds: 0.0,
    };
    let mut last = measure_from;
    for task in tasks {
        let (l, lateness, e, t) = task.await??;
        run.latencies.extend(l);
        run.late.extend(lateness);
        run.errors += e;
        last = last.max(t);
    }
    run.latencies.sort_unstable();
    run.late.sort_unstable();
    run.seconds = last.duration_since(measure_from).as_secs_f64();
    Ok(run)
}

fn run() -> Result<()> {
    let args = graph_subs_benchkit::BenchArgs::parse(10.0)?;
    let (seconds, quick) = (args.seconds, args.quick);
    let workers: Option<usize> = match args.value("--workers") {
        Some(n) => Some(n.parse().map_err(|_| "--workers needs a number")?),
        None => None,
    };
    let (bodies, jwks) = bodies()?;
    let bodies = Arc::new(bodies);
    let mut keys = DecryptionKeys::new();
    keys.add_pem(&format!("{}{}", vector("cert.pem")?, vector("key.pem")?))?;
    let server = tokio::runtime::Builder::new_multi_thread()
        .thread_name("receiver")
        .enable_all()
        .build()?;
    let mut builder = Receiver::builder(ClientStates::Shared(ClientState::new(SECRET)?)).rich(
        keys,
        TokenVerifier::new(vec![APP.to_owned()], IssuerKeys::Static(jwks)),
    );
    if let Some(workers) = workers {
        builder = builder.rich_workers(workers);
    }
    let (receiver, mut events) = builder.build();
    let (drained, decrypted) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
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
    // The app: takes every notification off the queue, and checks it was decrypted.
    let (counter, clear) = (drained.clone(), decrypted.clone());
    server.spawn(async move {
        while let Some(event) = events.recv().await {
            counter.fetch_add(1, Ordering::Relaxed);
            if let Event::Change(n) = event
                && n.encrypted_content.is_none()
                && n.resource_data
                    .as_ref()
                    .and_then(|d| d.get("body"))
                    .is_some()
            {
                clear.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let cpu_before = cpu_seconds("self");
    let saturated = client.block_on(load(&base, bodies.clone(), seconds, None))?;
    let cpu = cpu_seconds("self") - cpu_before;
    let max_rate = saturated.latencies.len() as f64 / saturated.seconds.max(1e-9);
    let paced_rate = GOAL.min(max_rate * 0.9);
    let paced = client.block_on(load(&base, bodies.clone(), seconds, Some(paced_rate)))?;
    let half_rate = max_rate / 2.0;
    let half = client.block_on(load(&base, bodies, seconds, Some(half_rate)))?;
    for _ in 0..300 {
        if drained.load(Ordering::Relaxed) >= receiver.stats().delivered {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = receiver.stats();
    let paced_json = |run: &Load, rate: f64| {
        json!({
            "target_rate": rate,
            "seconds": run.seconds,
            "accepted": run.latencies.len(),
            "errors": run.errors,
            "throughput": run.latencies.len() as f64 / run.seconds.max(1e-9),
            "latency_us": percentiles(&run.latencies),
            "sent_late_us": percentiles(&run.late),
        })
    };
    let result = json!({
        "concurrency": CONCURRENCY,
        "distinct_bodies": BODIES,
        "saturation": {
            "seconds": saturated.seconds,
            "accepted": saturated.latencies.len(),
            "errors": saturated.errors,
            "throughput": max_rate,
            "latency_us": percentiles(&saturated.latencies),
            "cpu_us_per_notification": cpu * 1e6 / saturated.latencies.len().max(1) as f64,
        },
        "paced": paced_json(&paced, paced_rate),
        "half": paced_json(&half, half_rate),
        "delivered": stats.delivered,
        "drained": drained.load(Ordering::Relaxed),
        "decrypted": decrypted.load(Ordering::Relaxed),
        "rejected": stats.rejected.values().sum::<u64>(),
        "quick": quick,
    });
    let p99 = |v: &Value| v["latency_us"]["p99"].as_f64().unwrap_or(0.0);
    eprintln!(
        "rich bench: saturation {max_rate:.0}/s (p99 {:.0} µs); paced at {paced_rate:.0}/s: p99 {:.0} µs; at {half_rate:.0}/s: p99 {:.0} µs; {} errors; {} delivered, {} decrypted, {} rejected",
        p99(&result["saturation"]),
        p99(&result["paced"]),
        p99(&result["half"]),
        saturated.errors + paced.errors + half.errors,
        stats.delivered,
        result["decrypted"],
        result["rejected"],
    );
    args.write_json(&result, "rich")?;
    Ok(())
}
