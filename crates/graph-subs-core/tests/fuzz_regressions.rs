//! Failures the fuzz targets found (`fuzz/`, see docs/fuzzing.md), as plain tests: each
//! failed before its fix.

use chrono::{TimeZone, Utc};
use graph_subs_core::resource::{PathError, ResourcePath};
use graph_subs_core::validate::{Context, DiagnosticCode, Properties, Request, Value, check};

/// The fuzz targets' bound on a message or hint about a resource path: a sentence
/// quoting at most two values of 60 characters.
const MAX_MESSAGE: usize = 1024;

/// `resource_path` target: hints repeated a long value whole, where messages quote every
/// value through `quote::shortened`. Found as a 2,009-byte query parameter without `=`.
#[test]
fn path_hints_shorten_what_they_quote() {
    let long = "x".repeat(10_000);
    for text in [
        format!("me/messages?{long}"),
        format!("https://graph.microsoft.com/v1.0/me/{long}"),
        format!("v1.0/me/{long}"),
    ] {
        let e = ResourcePath::parse(&text).unwrap_err();
        let hint = e.hint().unwrap();
        assert!(
            hint.len() <= MAX_MESSAGE,
            "{e:?}: a hint of {} bytes",
            hint.len()
        );
        assert!(hint.contains("more characters)"), "{hint}");
        assert!(e.to_string().len() <= MAX_MESSAGE, "{e:?}");
    }
}

/// `resource_path` target (10-million run, after about 767,000 executions): the hint for
/// a resource pasted as a URL quoted each query parameter shortened, but any number of
/// them: a 756-byte URL of many parameters (with control characters, 6 bytes each once
/// escaped) gave a 1,061-byte hint, and a longer URL a hint as long as itself.
#[test]
fn a_url_hint_is_short_however_many_parameters() {
    let control = "\u{1b}".repeat(50);
    let many: Vec<String> = (0..2_000).map(|i| format!("p{i}\u{1b}=v")).collect();
    for text in [
        format!(
            "https://graph.microsoft.com/v1.0/me/messages?{}",
            many.join("&")
        ),
        format!("https://x.com/v1.0/me?{control}=1&{control}=2&{control}=3&{control}=4"),
    ] {
        let e = ResourcePath::parse(&text).unwrap_err();
        assert!(matches!(e, PathError::AbsoluteUrl { .. }), "{e:?}");
        let hint = e.hint().unwrap();
        assert!(hint.len() <= MAX_MESSAGE, "a hint of {} bytes", hint.len());
        assert!(hint.contains("more characters)"), "{hint}");
        assert!(!hint.contains("=v") && !hint.contains("=1"), "{hint}");
    }
}

/// `resource_path` target: `/http://:` parsed (a OneDrive-style address `http:` + `//`)
/// but printed as `http://:`, which is refused as a URL: the URL check looked at the text
/// before its leading `/` was dropped. Minimised by `cargo fuzz tmin` from `/https://e:/Z`.
#[test]
fn a_url_after_a_leading_slash_is_a_url() {
    for text in ["/http://:", "/https://e:", "/https://e:/Z", "/HTTPS://e:"] {
        assert!(
            matches!(
                ResourcePath::parse(text),
                Err(PathError::AbsoluteUrl { .. })
            ),
            "{text}: {:?}",
            ResourcePath::parse(text)
        );
    }
    assert_eq!(
        ResourcePath::parse("/https://graph.microsoft.com/v1.0/me/messages"),
        Err(PathError::AbsoluteUrl {
            relative: Some("me/messages".into())
        })
    );
}

/// The `check` target's bound on a diagnostic message or hint: a sentence quoting one
/// URL (200 characters) or two values (60 characters each).
const MAX_DIAGNOSTIC: usize = 2048;

/// `check` target: the `unknown-query-parameter` warning repeated the parameter's name
/// whole. Found while writing the target (every `format!` of `validate` reviewed for a
/// value not quoted through `quote::shortened`) and confirmed by feeding the target a
/// body whose resource is `me/messages?{3,000 × q}=1`; the fuzzer had not reached it in
/// 550,000 runs.
#[test]
fn unknown_query_parameters_are_quoted_shortened() {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let long = "q".repeat(3_000);
    let body: Properties = [
        ("changeType", "created"),
        ("notificationUrl", "https://hooks.example.com/notify"),
        ("resource", &format!("me/messages?{long}=1")),
        ("expirationDateTime", "2026-11-24T12:00:00Z"),
    ]
    .into_iter()
    .map(|(name, value)| (name, Value::String(value.to_owned())))
    .collect();
    let diagnostics = check(Request::Create, &body, &Context::new(now));
    let warning = diagnostics
        .iter()
        .find(|d| d.code == DiagnosticCode::UnknownQueryParameter)
        .expect("an unknown-query-parameter warning");
    assert!(warning.message.contains("more characters)"), "{warning:?}");
    for d in &diagnostics {
        assert!(d.message.len() <= MAX_DIAGNOSTIC, "{d:?}");
        assert!(
            d.hint.as_ref().is_none_or(|h| h.len() <= MAX_DIAGNOSTIC),
            "{d:?}"
        );
    }
}
