//! A request body as it arrives, before it is checked: [`Properties`], read from JSON by
//! [`Properties::from_json`] within [`MAX_BODY_BYTES`], in time linear in its size.
//!
//! This is the lenient form: any property, of any JSON type, so that
//! [`crate::validate::check`] can report every problem at once (a wrong type, a missing
//! property, an unknown one). Once a body has no error, [`crate::validate::create`] and
//! [`crate::validate::update`] turn it into the typed request.
//!
//! Property names are compared without regard to ASCII case, as Graph does; a name given twice
//! keeps its last value, as JSON readers do, and is remembered so that a check can warn.
//! `Debug` never shows a secret: `clientState` and certificates are `***`, URLs redacted,
//! and the values of properties this crate does not know are not shown.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::notification_url;

/// The largest body [`Properties::from_json`] reads. A subscription body is a few
/// kilobytes (a certificate is the largest part); 1 MiB is generous.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A property value, as much of it as the rules look at.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`: treated as absent.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(String),
    /// An array (its items do not matter to any rule).
    Array,
    /// An object (its members do not matter to any rule).
    Object,
}

impl Value {
    /// `a string`, `a boolean`...: for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array => "an array",
            Value::Object => "an object",
        }
    }
}

/// The properties of a request body, in the order first given.
#[derive(Clone, Default)]
pub struct Properties {
    entries: Vec<(String, Value)>,
    /// Past [`INDEXED_FROM`] entries: keyed hash of the ASCII-lowercase name → the last
    /// entry with that hash; `chain` links entries of equal hash. No name is copied to be
    /// indexed, and a keyed hash keeps hostile names from colliding on purpose. Empty for
    /// the few properties of a subscription body, read one by one (faster than hashing
    /// the name sought).
    index: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    chain: Vec<usize>,
    hasher: RandomState,
    /// How many more times than once each entry was given, parallel to `entries`.
    repeats: Vec<u32>,
}

/// The end of a `chain`.
const NONE: usize = usize::MAX;

/// Properties past which names are found through an index: below it, comparing every
/// name costs less than hashing the one sought, and stays bounded.
const INDEXED_FROM: usize = 16;

/// The index's keys are already keyed hashes: hashing them again would only cost time.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Properties) -> bool {
        self.entries == other.entries && self.repeats == other.repeats
    }
}

/// Why a body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// More than [`MAX_BODY_BYTES`].
    #[error("the body has {size} bytes; at most {} are read", MAX_BODY_BYTES)]
    TooLarge {
        /// Its size in bytes (at least; reading stops past the limit).
        size: usize,
    },
    /// Nothing, or only white space.
    #[error("the body is empty")]
    Empty,
    /// UTF-16 text (a byte order mark `FF FE` or `FE FF`).
    #[error("the body is UTF-16 text; JSON bodies are UTF-8")]
    Utf16,
    /// Not JSON.
    #[error("{message} at line {line}, column {column}")]
    Syntax {
        /// What is wrong (never the input itself).
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
}

impl BodyError {
    /// How to fix it.
    pub fn hint(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => {
                "a subscription body is a few kilobytes: give the request body alone"
            }
            BodyError::Empty => {
                "give the request body, one JSON object: {\"changeType\": \"created\", ...}"
            }
            BodyError::Utf16 => "save the file as UTF-8",
            BodyError::Syntax { .. } => {
                "a request body is one JSON object: {\"changeType\": \"created\", ...}"
            }
        }
    }
}

impl Properties {
    /// No properties.
    pub fn new() -> Properties {
        Properties::default()
    }

    /// Reads a JSON object. Refuses more than [`MAX_BODY_BYTES`] before parsing; error
    /// messages never repeat the input.
    ///
    /// ```
    /// use graph_subs_core::request::{Properties, Value};
    ///
    /// let body = Properties::from_json(br#"{"ChangeType": "created", "resource": "me/messages"}"#)?;
    /// assert_eq!(body.get("changeType"), Some(&Value::String("created".into())));
    /// assert!(Properties::from_json(br#"["not", "an object"]"#).is_err());
    /// # Ok::<(), graph_subs_core::request::BodyError>(())
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<Properties, BodyError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge { size: bytes.len() });
        }
        // Editors on Windows start UTF-8 files with a byte order mark; JSON allows a
        // reader to skip it.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(BodyError::Empty);
        }
        if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
            return Err(BodyError::Utf16);
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let properties = BodySeed
            .deserialize(&mut deserializer)
            .and_then(|p| deserializer.end().map(|()| p))
            .map_err(|e| {
                let text = e.to_string();
                let message = match text.rfind(" at line ") {
                    Some(i) => text[..i].to_owned(),
                    None => text,
                };
                BodyError::Syntax {
                    message,
                    line: e.line(),
                    column: e.column(),
                }
            })?;
        Ok(properties)
    }

    /// Sets a property; a name already set (in any case) takes the new value.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        self.put(name.into(), value, false);
    }

    /// Sets a property as a body read from JSON gives it: a name given again is
    /// remembered as repeated, for a check to warn about.
    fn put(&mut self, name: String, value: Value, reading: bool) {
        match self.position(&name) {
            Some(i) => {
                if reading {
                    self.repeats[i] = self.repeats[i].saturating_add(1);
                }
                self.entries[i] = (name, value);
            }
            None => {
                let i = self.entries.len();
                if i >= INDEXED_FROM {
                    if self.index.is_empty() {
                        for j in 0..i {
                            let hash = self.hash(&self.entries[j].0);
                            self.chain.push(self.index.insert(hash, j).unwrap_or(NONE));
                        }
                    }
                    let hash = self.hash(&name);
                    self.chain.push(self.index.insert(hash, i).unwrap_or(NONE));
                }
                self.entries.push((name, value));
                self.repeats.push(0);
            }
        }
    }

    /// The entry named `name` (ASCII case ignored).
    fn position(&self, name: &str) -> Option<usize> {
        if self.index.is_empty() {
            // Names are unique (a name given again replaces the entry).
            return self
                .entries
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(name));
        }
        self.find(self.hash(name), name)
    }

    /// The keyed hash of a name's ASCII-lowercase form, without copying it.
    fn hash(&self, name: &str) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        let mut buffer = [0u8; 64];
        for chunk in name.as_bytes().chunks(buffer.len()) {
            let folded = &mut buffer[..chunk.len()];
            folded.copy_from_slice(chunk);
            folded.make_ascii_lowercase();
            hasher.write(folded);
        }
        hasher.finish()
    }

    /// The entry named `name` (ASCII case ignored), given its hash.
    fn find(&self, hash: u64, name: &str) -> Option<usize> {
        let mut i = *self.index.get(&hash)?;
        while i != NONE {
            if self.entries[i].0.eq_ignore_ascii_case(name) {
                return Some(i);
            }
            i = self.chain[i];
        }
        None
    }

    /// A property's value, its name compared without regard to case; `null` counts as
    /// absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entry(name)
            .map(|(_, v)| v)
            .filter(|v| **v != Value::Null)
    }

    /// The name as written and the value of a property.
    pub fn entry(&self, name: &str) -> Option<(&str, &Value)> {
        let i = self.position(name)?;
        let (n, v) = &self.entries[i];
        Some((n.as_str(), v))
    }

    /// A string property.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// A boolean property.
    pub fn boolean(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// The properties, names as written, in the order first given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// How many properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names given more than once (as last written), in the order first given, each
    /// with how many more times than once.
    pub fn repeated(&self) -> impl Iterator<Item = (&str, usize)> {
        self.entries
            .iter()
            .zip(&self.repeats)
            .filter(|(_, n)| **n > 0)
            .map(|((name, _), n)| (name.as_str(), *n as usize))
    }
}

impl<N: Into<String>> FromIterator<(N, Value)> for Properties {
    fn from_iter<I: IntoIterator<Item = (N, Value)>>(iter: I) -> Self {
        let mut properties = Properties::new();
        for (name, value) in iter {
            properties.insert(name, value);
        }
        properties
    }
}

impl From<&serde_json::Value> for Value {
    fn from(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(_) => Value::Array,
            serde_json::Value::Object(_) => Value::Object,
        }
    }
}

/// The properties of a typed request, to check it the way a body read from JSON is.
impl<T: serde::Serialize> From<&T> for Properties
where
    T: crate::validate::Body,
{
    fn from(request: &T) -> Properties {
        match serde_json::to_value(request) {
            Ok(serde_json::Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v)))
                .collect(),
            // A request type always serialises to an object.
            _ => Properties::new(),
        }
    }
}

/// Properties whose values `Debug` may show: neither secret nor URLs.
const SHOWN: [&str; 9] = [
    "changeType",
    "resource",
    "expirationDateTime",
    "includeResourceData",
    "latestSupportedTlsVersion",
    "encryptionCertificateId",
    "notificationContentType",
    "notificationQueryOptions",
    "notificationUrlAppId",
];
const URLS: [&str; 2] = ["notificationUrl", "lifecycleNotificationUrl"];

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Shown<'a>(&'a str, &'a Value);
        impl fmt::Debug for Shown<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (name, value) = (self.0, self.1);
                match value {
                    Value::String(s) if URLS.iter().any(|u| u.eq_ignore_ascii_case(name)) => {
                        write!(f, "{:?}", notification_url::redact(s))
                    }
                    Value::String(_) if !SHOWN.iter().any(|n| n.eq_ignore_ascii_case(name)) => {
                        f.write_str("***")
                    }
                    other => write!(f, "{other:?}"),
                }
            }
        }
        f.debug_map()
            .entries(self.iter().map(|(n, v)| (n, Shown(n, v))))
            .finish()
    }
}

/// Reads the top-level object; refuses anything else without quoting it.
struct BodySeed;

impl<'de> DeserializeSeed<'de> for BodySeed {
    type Value = Properties;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Properties, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl BodyVisitor {
    fn not_an_object<E: de::Error>(found: &str) -> Result<Properties, E> {
        Err(E::custom(format_args!(
            "the body is {found}, not a JSON object"
        )))
    }
}

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Properties;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Properties, A::Error> {
        let mut properties = Properties::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed)?;
            properties.put(name, value, true);
        }
        Ok(properties)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Properties, E> {
        Self::not_an_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Properties, E> {
        Self::not_an_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Properties, E> {
        Self::not_an_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Properties, E> {
        Self::not_an_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Properties, E> {
        Self::not_an_object("a string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Properties, E> {
        Self::not_an_object("null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Properties, A::Error> {
        Self::not_an_object("an array")
    }
}

/// Reads one value, keeping only what the rules look at.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n as f64))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Number(n))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Value::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_objects_and_refuses_the_rest_without_quoting_it() {
        let body = Properties::from_json(
            br#"{"changeType": "created", "x": [1, {"a": 2}], "y": {"z": null}, "n": 1.5, "changeType": "updated"}"#,
        )
        .unwrap();
        assert_eq!(body.len(), 4);
        assert_eq!(body.string("CHANGETYPE"), Some("updated"));
        assert_eq!(body.repeated().collect::<Vec<_>>(), [("changeType", 1)]);
        assert_eq!(body.get("x"), Some(&Value::Array));
        for (input, message) in [
            (
                &br#""CANARY""#[..],
                "the body is a string, not a JSON object",
            ),
            (b"[\"CANARY\"]", "the body is an array, not a JSON object"),
            (b"null", "the body is null, not a JSON object"),
            (b"{\"a\": \"CANARY\"", "EOF while parsing an object"),
            (b"{\"a\": \"CANARY\"} x", "trailing characters"),
            (b"{\"a\": CANARY}", "expected value"),
        ] {
            match Properties::from_json(input) {
                Err(BodyError::Syntax { message: m, .. }) => {
                    assert_eq!(m, message);
                    assert!(!m.contains("CANARY"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn every_name_is_found_whatever_its_case() {
        let mut body = Properties::new();
        for i in 0..10_000 {
            body.insert(format!("Name{i}"), Value::Number(f64::from(i)));
        }
        body.insert("NAME42", Value::Bool(true));
        assert_eq!(body.len(), 10_000);
        assert_eq!(body.get("name42"), Some(&Value::Bool(true)));
        assert_eq!(body.entry("nAmE9999").map(|(n, _)| n), Some("Name9999"));
        assert_eq!(body.get("name10000"), None);
        assert_eq!(body.iter().next().map(|(n, _)| n), Some("Name0"));
    }

    #[test]
    fn names_are_found_and_repeats_counted_below_and_past_the_index() {
        for count in [
            1,
            INDEXED_FROM - 1,
            INDEXED_FROM,
            INDEXED_FROM + 1,
            3 * INDEXED_FROM,
        ] {
            let mut text = String::from("{");
            for i in 0..count {
                text.push_str(&format!("\"Name{i}\": {i}, "));
            }
            // Each name again in another case: the last value is kept, the repeat counted.
            for i in 0..count {
                text.push_str(&format!("\"nAME{i}\": {}, ", i + 1000));
            }
            text.push_str("\"last\": true}");
            let body = Properties::from_json(text.as_bytes()).unwrap();
            assert_eq!(body.len(), count + 1, "{count}");
            for i in 0..count {
                assert_eq!(
                    body.get(&format!("NAME{i}")),
                    Some(&Value::Number(f64::from(i as u32 + 1000))),
                    "{count}: {i}"
                );
            }
            assert_eq!(body.repeated().count(), count, "{count}");
            assert_eq!(body.get("last"), Some(&Value::Bool(true)));
            assert_eq!(body.get(&format!("name{count}")), None);
        }
    }

    #[test]
    fn refuses_bodies_over_the_limit_before_reading_them() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            Properties::from_json(&big),
            Err(BodyError::TooLarge {
                size: MAX_BODY_BYTES + 1
            })
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let body = Properties::from_json(
            br#"{"clientState": "CANARY1", "notificationUrl": "https://u:CANARY2@h.example.com/?code=CANARY3",
                "encryptionCertificate": "CANARY4", "mySecret": "CANARY5", "resource": "me/messages"}"#,
        )
        .unwrap();
        let shown = format!("{body:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains("me/messages"), "{shown}");
    }
}
