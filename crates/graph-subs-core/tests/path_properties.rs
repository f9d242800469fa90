//! Property tests of the resource-path parser: it never panics, and canonical paths
//! round-trip.

use graph_subs_core::catalogue::{ResourceKind, resolve};
use graph_subs_core::resource::{ResourcePath, Segment};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.@{}$~-][A-Za-z0-9_.@:{}$~-]{0,10}[A-Za-z0-9_}-]?"
        .prop_filter("a segment name does not end with `:`", |s| {
            !s.ends_with(':')
        })
        .prop_filter("dot segments are refused", |s| s != "." && s != "..")
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        4 => name().prop_map(Segment::Name),
        2 => (name(), "'[A-Za-z0-9 _.-]{1,8}'|[A-Za-z0-9]{1,6}")
            .prop_map(|(name, key)| Segment::Keyed { name, key }),
        1 => (name(), "/[A-Za-z0-9 _-]{1,6}(/[A-Za-z0-9 _-]{1,6}){0,2}")
            .prop_map(|(name, path)| Segment::Addressed { name, path }),
    ]
}

fn canonical_path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(segment(), 1..6),
        prop::collection::vec(("x[A-Za-z$]{0,6}", "[A-Za-z0-9 ',()=]{0,8}"), 0..3),
    )
        .prop_filter_map("the first segment is not an API version", |(segments, query)| {
            if matches!(&segments[0], Segment::Name(n) if n.eq_ignore_ascii_case("v1.0") || n.eq_ignore_ascii_case("beta"))
            {
                return None;
            }
            let mut text = segments
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("/");
            if !query.is_empty() {
                let params: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                text = format!("{text}?{}", params.join("&"));
            }
            // The parser trims the input: a canonical path has no surrounding space.
            (text.trim() == text).then_some(text)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_never_panics(input in any::<String>()) {
        if let Ok(path) = ResourcePath::parse(&input) {
            // Whatever parses prints back to something that parses to the same path.
            let printed = path.to_string();
            prop_assert_eq!(ResourcePath::parse(&printed), Ok(path));
        }
    }

    #[test]
    fn parsing_path_like_input_never_panics(input in "[/a-zA-Z(){}':?=&$ ,.@-]{0,40}") {
        if let Ok(path) = ResourcePath::parse(&input) {
            let _ = resolve(&path);
            prop_assert_eq!(ResourcePath::parse(&path.to_string()), Ok(path));
        }
    }

    #[test]
    fn canonical_paths_round_trip(text in canonical_path()) {
        let path = ResourcePath::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(path.to_string(), text.clone());
        let with_slash = format!("/{text}");
        prop_assert_eq!(ResourcePath::parse(&with_slash), Ok(path));
    }

    #[test]
    fn resolution_never_panics_and_suggests_when_unknown(text in canonical_path()) {
        let path = ResourcePath::parse(&text).unwrap();
        match resolve(&path) {
            Ok(resource) => {
                // The canonical spelling resolves to the same pattern.
                let canonical = resource.canonical_path();
                prop_assert_eq!(resolve(&canonical).map(|r| r.pattern()), Ok(resource.pattern()));
            }
            Err(unknown) => prop_assert_eq!(unknown.suggestions.len(), 3),
        }
    }
}

#[test]
fn every_catalogue_pattern_and_example_round_trips() {
    for kind in ResourceKind::all() {
        let texts = kind
            .patterns()
            .map(|p| p.path())
            .chain(kind.spec().examples.iter().copied());
        for text in texts {
            let path = ResourcePath::parse(text).unwrap();
            assert_eq!(path.to_string(), text.trim_start_matches('/'));
        }
    }
}
