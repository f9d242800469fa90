//! Failures the fuzz targets found (`fuzz/`, see docs/fuzzing.md), as plain tests: each
//! failed before its fix.

use graph_subs_core::resource::{PathError, ResourcePath};

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
