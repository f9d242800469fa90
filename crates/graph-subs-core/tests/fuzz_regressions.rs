//! Failures the fuzz targets found (`fuzz/`, see docs/fuzzing.md), as plain tests: each
//! failed before its fix.

use graph_subs_core::resource::ResourcePath;

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
