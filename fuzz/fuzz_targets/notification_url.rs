//! Notification URLs: `NotificationUrl::parse`, `findings`, `redacted` on any UTF-8 text,
//! as written and with a canary secret as its password and as a query value.
//!
//! Asserts, beyond "no panic":
//! - error messages, hints and the redacted URL are short whatever the input (at most 200
//!   characters of the URL, each at most 8 bytes);
//! - `Display` and `Debug` show the redacted form;
//! - the canary never appears in a message, a hint, `redacted`, `Display` or `Debug`,
//!   unless the text around it holds it too.

#![no_main]

use graph_subs_core::notification_url::NotificationUrl;
use libfuzzer_sys::fuzz_target;

/// The longest message or hint: a sentence quoting the URL redacted (200 characters of
/// at most 8 bytes) and the name of a character.
const MAX_MESSAGE: usize = 2048;

const CANARY: &str = "CanaryUrlSecret9kX4";

fn short(what: &str, text: &str) {
    assert!(
        text.len() <= MAX_MESSAGE,
        "{what} of {} bytes: {text:?}",
        text.len()
    );
}

fn no_canary(what: &str, text: &str, secret: bool) {
    if secret {
        assert!(
            !text.contains(CANARY),
            "the canary leaks into the {what}: {text:?}"
        );
    }
}

fn parse(text: &str, secret: bool) {
    match NotificationUrl::parse(text) {
        Ok(url) => {
            let _ = url.findings();
            let _ = url.delivery();
            let _ = url.is_loopback();
            let redacted = url.redacted();
            short("redacted URL", &redacted);
            assert_eq!(url.to_string(), redacted);
            assert_eq!(format!("{url:?}"), format!("NotificationUrl({redacted:?})"));
            assert_eq!(url.as_str(), text, "the URL is kept as written");
            no_canary("redacted URL", &redacted, secret);
        }
        Err(e) => {
            let message = e.to_string();
            let hint = e.hint();
            short("message", &message);
            short("hint", &hint);
            no_canary("message", &message, secret);
            no_canary("hint", &hint, secret);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    parse(text, false);
    if text.contains(CANARY) {
        return;
    }
    // Right after the first `://`, so that the canary is the password, unless what comes
    // before it is already a path, query or fragment: then it would not be user-info.
    let with_password = match text.split_once("://") {
        Some((scheme, rest)) if !scheme.contains(['/', '?', '#', '@']) => {
            Some(format!("{scheme}://user:{CANARY}@{rest}"))
        }
        Some(_) => None,
        None => Some(format!("https://user:{CANARY}@{text}")),
    };
    if let Some(url) = with_password {
        parse(&url, true);
    }
    parse(&format!("{text}?code={CANARY}"), true);
});
