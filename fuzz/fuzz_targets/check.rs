//! Request bodies: `Properties::from_json` on any bytes, then `validate::check` of a create
//! and of an update, and `validate::create` / `validate::update`.
//!
//! The first two bytes choose the context; the rest is the body:
//! - byte 0, bits 0-1: the permission type (none, or one of `PermissionType::ALL`);
//!   bits 2-3: the cloud (`ALL_CLOUDS`); bit 4: `now` is the fixed 2026-11-23T12:00:00Z or
//!   `lifetime::latest_supported_now()`; bit 5: a short or a long (over 128 characters)
//!   canary `clientState`;
//! - byte 1: the subscription resource of an update: none, one of a few fixed paths, or
//!   the body's own `resource`.
//!
//! Asserts, beyond "no panic":
//! - every diagnostic message and hint is short whatever the body (values are quoted
//!   through `quote::shortened`, URLs through `notification_url::redact`: at most 200
//!   characters of up to 8 bytes each), and so is a body error;
//! - a canary secret put into `clientState` never appears in a diagnostic (message, hint
//!   or field) nor in a body error, unless the body itself holds the canary elsewhere;
//! - `create` and `update` return the typed request exactly when `check` finds no error,
//!   with the same diagnostics; a typed request checks again without error.

#![no_main]

use chrono::{TimeZone, Utc};
use graph_subs_core::cloud::ALL_CLOUDS;
use graph_subs_core::lifetime;
use graph_subs_core::permissions::PermissionType;
use graph_subs_core::request::{Properties, Value};
use graph_subs_core::validate::{self, Context, Diagnostic, Request, check, has_errors};
use libfuzzer_sys::fuzz_target;

/// The longest message or hint: a sentence of under 300 bytes quoting one URL (200
/// characters) or two values (60 characters each), each character at most 8 bytes.
const MAX_MESSAGE: usize = 2048;

/// A secret that only `clientState` holds.
const CANARY: &str = "CanaryClientState7fQ2";

const SUBSCRIPTION_RESOURCES: [&str; 7] = [
    "me/messages",
    "me/mailFolders('Inbox')/messages",
    "chats/getAllMessages?model=A",
    "chats/getAllMessages",
    "teams/{id}/channels/{id}/messages",
    "me/drive/root",
    "not/a/known/resource",
];

fn context(selector: [u8; 2], body: &Properties) -> Context {
    let now = if selector[0] & 0x10 == 0 {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    } else {
        lifetime::latest_supported_now()
    };
    let mut ctx = Context::new(now);
    ctx.permission_type = match selector[0] & 0x3 {
        0 => None,
        i => Some(PermissionType::ALL[usize::from(i) - 1]),
    };
    ctx.cloud = ALL_CLOUDS[usize::from(selector[0] >> 2 & 0x3) % ALL_CLOUDS.len()];
    let choice = usize::from(selector[1] % 9);
    ctx.subscription_resource = match choice {
        0 => None,
        8 => body.string("resource").map(str::to_owned),
        i => Some(SUBSCRIPTION_RESOURCES[i - 1].to_owned()),
    };
    ctx
}

fn canary(selector: [u8; 2]) -> String {
    if selector[0] & 0x20 == 0 {
        CANARY.to_owned()
    } else {
        CANARY.repeat(10)
    }
}

fn contains_canary(text: &str) -> bool {
    text.to_ascii_lowercase()
        .contains(&CANARY.to_ascii_lowercase())
}

fn short(what: &str, text: &str) {
    assert!(
        text.len() <= MAX_MESSAGE,
        "{what} of {} bytes: {text:?}",
        text.len()
    );
}

fn no_canary(diagnostic: &Diagnostic) {
    let texts = [
        Some(diagnostic.message.as_str()),
        diagnostic.hint.as_deref(),
        diagnostic.field.as_deref(),
    ];
    for text in texts.into_iter().flatten() {
        assert!(
            !contains_canary(text),
            "the clientState canary leaks into {:?}: {text:?}",
            diagnostic.code
        );
    }
}

/// Every rule on one body and context.
fn check_all(body: &Properties, ctx: &Context, secret: bool) {
    for request in [Request::Create, Request::Update] {
        let diagnostics = check(request, body, ctx);
        for d in &diagnostics {
            short("message", &d.message);
            if let Some(hint) = &d.hint {
                short("hint", hint);
            }
            if secret {
                no_canary(d);
            }
        }
        let errors = has_errors(&diagnostics);
        match request {
            Request::Create => match validate::create(body, ctx) {
                Ok(checked) => {
                    assert!(!errors, "create returns a request check refuses");
                    assert_eq!(checked.warnings, diagnostics);
                    let again = check(Request::Create, &Properties::from(&checked.request), ctx);
                    assert!(
                        !has_errors(&again),
                        "the typed create request checks with errors: {again:?}"
                    );
                }
                Err(d) => {
                    assert!(errors, "create refuses a body check accepts: {d:?}");
                    assert_eq!(d, diagnostics);
                }
            },
            Request::Update => match validate::update(body, ctx) {
                Ok(checked) => {
                    assert!(!errors, "update returns a request check refuses");
                    assert_eq!(checked.warnings, diagnostics);
                    let again = check(Request::Update, &Properties::from(&checked.request), ctx);
                    assert!(
                        !has_errors(&again),
                        "the typed update request checks with errors: {again:?}"
                    );
                }
                Err(d) => {
                    assert!(errors, "update refuses a body check accepts: {d:?}");
                    assert_eq!(d, diagnostics);
                }
            },
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, json) = match data {
        [a, b, rest @ ..] => ([*a, *b], rest),
        _ => return,
    };

    // The canary spliced into the JSON text: an unreadable body never quotes it.
    let secret = canary(selector);
    if let Some(rest) = json.trim_ascii_start().strip_prefix(b"{")
        && !json
            .windows(CANARY.len())
            .any(|w| w.eq_ignore_ascii_case(CANARY.as_bytes()))
    {
        let mut spliced = format!("{{\"clientState\": \"{secret}\", ").into_bytes();
        spliced.extend_from_slice(rest);
        if let Err(e) = Properties::from_json(&spliced) {
            assert!(!contains_canary(&e.to_string()), "{e:?}");
        }
    }

    let body = match Properties::from_json(json) {
        Ok(body) => body,
        Err(e) => {
            short("body error", &e.to_string());
            return;
        }
    };
    let ctx = context(selector, &body);
    check_all(&body, &ctx, false);

    // The same body with the canary as its clientState.
    let holds_canary = body.iter().any(|(name, value)| {
        contains_canary(name) || matches!(value, Value::String(s) if contains_canary(s))
    });
    if holds_canary {
        return;
    }
    let mut with_secret = body.clone();
    with_secret.insert("clientState", Value::String(secret));
    check_all(&with_secret, &ctx, true);
});
