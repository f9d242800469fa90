//! Property tests of reading a request body: any bytes give a body or an error, never a
//! panic, and checking whatever was read never panics either.

use chrono::{TimeZone, Utc};
use graph_subs_core::request::{BodyError, MAX_BODY_BYTES, Properties};
use graph_subs_core::validate::{self, Context, Request};
use proptest::prelude::*;

fn json_like() -> impl Strategy<Value = String> {
    // Fragments of subscription bodies, glued at random: mostly near-valid JSON.
    let piece = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\"changeType\"",
        "\"resource\"",
        "\"me/messages\"",
        "\"notificationUrl\"",
        "\"https://u:p@h.example.com/?code=x\"",
        "\"expirationDateTime\"",
        "\"2026-11-23T09:00:00Z\"",
        "\"clientState\"",
        "null",
        "true",
        "1e999",
        "-0",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"\u{200b}\"",
        " ",
        "\n",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_bytes_read_or_refused_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Properties::from_json(&bytes);
    }

    #[test]
    fn whatever_reads_checks_without_panicking(text in json_like()) {
        if let Ok(body) = Properties::from_json(text.as_bytes()) {
            let ctx = Context::new(Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap());
            for request in [Request::Create, Request::Update] {
                for d in validate::check(request, &body, &ctx) {
                    prop_assert!(d.message.len() < 1_000, "{}", d.message);
                }
            }
            let _ = validate::create(&body, &ctx);
            let _ = validate::update(&body, &ctx);
        }
    }
}

#[test]
fn the_limit_is_exact() {
    let mut body = b"{}".to_vec();
    body.resize(MAX_BODY_BYTES, b' ');
    assert!(Properties::from_json(&body).is_ok());
    body.push(b' ');
    assert!(matches!(
        Properties::from_json(&body),
        Err(BodyError::TooLarge { .. })
    ));
}
