//! Resource paths: `ResourcePath::parse`, `catalogue::resolve`, `Resource::canonical_path`
//! and `permissions::required` on any UTF-8 text.
//!
//! Asserts, beyond "no panic":
//! - a parsed path prints back to text that parses to an equal path, and printing is
//!   stable;
//! - a resolved resource keeps the path it was given, and its canonical path prints back
//!   too and names the same catalogue pattern;
//! - `required` answers for the operation asked;
//! - every error message and hint is short whatever the input (values are quoted through
//!   `quote::shortened`, at most 60 characters of up to 8 bytes each), and every path error
//!   has a hint.

#![no_main]

use graph_subs_core::catalogue::resolve;
use graph_subs_core::permissions::PermissionType;
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::{Operation, payment_model, permissions};
use libfuzzer_sys::fuzz_target;

/// The longest message or hint about a path: a sentence of under 200 bytes quoting at
/// most two values of 60 characters, each character at most 8 bytes (`\u{202e}`).
const MAX_MESSAGE: usize = 1024;

fn short(what: &str, text: &str, input: &str) {
    assert!(
        text.len() <= MAX_MESSAGE,
        "{what} of {} bytes for an input of {} bytes: {text:?}",
        text.len(),
        input.len()
    );
}

fn round_trip(path: &ResourcePath) -> String {
    let printed = path.to_string();
    let reparsed = ResourcePath::parse(&printed)
        .unwrap_or_else(|e| panic!("{path:?} prints as {printed:?}, which does not parse: {e}"));
    assert_eq!(&reparsed, path, "{printed:?} parses to another path");
    assert_eq!(reparsed.to_string(), printed, "printing is not stable");
    printed
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = match ResourcePath::parse(text) {
        Ok(path) => path,
        Err(e) => {
            short("message", &e.to_string(), text);
            let hint = e.hint();
            assert!(hint.is_some(), "{e:?} has no hint");
            short("hint", &hint.unwrap_or_default(), text);
            return;
        }
    };
    round_trip(&path);
    let resource = match resolve(&path) {
        Ok(resource) => resource,
        Err(e) => {
            short("message", &e.to_string(), text);
            short("hint", &e.hint(), text);
            return;
        }
    };
    assert_eq!(resource.path(), &path, "resolve keeps the path as given");
    let canonical = resource.canonical_path();
    round_trip(&canonical);
    match resolve(&canonical) {
        Ok(again) => assert_eq!(
            (again.kind(), again.pattern().path()),
            (resource.kind(), resource.pattern().path()),
            "{path} and its canonical path {canonical} name different patterns"
        ),
        Err(e) => panic!("the canonical path {canonical} of {path} does not resolve: {e}"),
    }
    for operation in Operation::ALL {
        if let Some(requirement) = permissions::required(&resource, operation) {
            assert_eq!(requirement.operation, operation);
            for permission_type in PermissionType::ALL {
                let _ = requirement.cell(permission_type);
            }
            let _ = requirement.notes();
        }
    }
    let _ = resource.subject();
    let _ = payment_model::judge(&resource);
});
