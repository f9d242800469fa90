//! Checking a subscription request before it is sent: a create (`POST /subscriptions`)
//! or an update (`PATCH /subscriptions/{id}`) body, every problem at once.
//!
//! The body arrives as [`Properties`], names and values as the caller read them (the CLI
//! from JSON): this module knows the subscription's properties, not a wire format.
//! [`check`] returns every [`Diagnostic`], each with a stable code, a severity, the
//! property it concerns, a message and a hint. Secrets (`clientState`, certificates) are
//! never quoted in a message.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::Operation;
use crate::catalogue::{self, Resource, Service, Subject};
use crate::change_type::ChangeTypes;
use crate::cloud::Cloud;
use crate::lifetime::{self, ExpirationVerdict, rfc3339 as time};
use crate::payment_model::{self, METERING_NOTE, ModelVerdict};
use crate::permissions::{self, PermissionType};
use crate::quote::shortened;
use crate::resource::{ResourcePath, Segment};

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
    fn type_name(&self) -> &'static str {
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

/// The properties of a request body, in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties(Vec<(String, Value)>);

impl Properties {
    /// No properties.
    pub fn new() -> Properties {
        Properties::default()
    }

    /// Adds a property (a repeated name keeps the last value, as JSON readers do).
    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value));
    }

    /// A property's value; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(n, v)| n == name && *v != Value::Null)
            .map(|(_, v)| v)
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    fn string(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
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

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Graph refuses the request, or the subscription will not work.
    Error,
    /// Graph accepts it, but probably not as meant.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, kebab-case code: `expiration-beyond-maximum`.
    pub code: &'static str,
    /// The property it concerns, when one does.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// The request being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `POST /subscriptions`.
    Create,
    /// `PATCH /subscriptions/{id}`.
    Update,
}

impl Request {
    fn operation(self) -> Operation {
        match self {
            Request::Create => Operation::Create,
            Request::Update => Operation::Update,
        }
    }
}

/// What the rules need besides the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The time the request would be sent.
    pub now: DateTime<Utc>,
    /// The permission type the caller will use, when known.
    pub permission_type: Option<PermissionType>,
    /// The national cloud the request goes to.
    pub cloud: Cloud,
    /// For an update: the resource of the subscription being updated, when known.
    pub subscription_resource: Option<String>,
}

impl Context {
    /// A context with no permission type, the global cloud, no known subscription.
    pub fn new(now: DateTime<Utc>) -> Context {
        Context {
            now,
            permission_type: None,
            cloud: Cloud::Global,
            subscription_resource: None,
        }
    }
}

/// The subscription properties.
pub mod property {
    /// `changeType`.
    pub const CHANGE_TYPE: &str = "changeType";
    /// `notificationUrl`.
    pub const NOTIFICATION_URL: &str = "notificationUrl";
    /// `resource`.
    pub const RESOURCE: &str = "resource";
    /// `expirationDateTime`.
    pub const EXPIRATION: &str = "expirationDateTime";
    /// `clientState`.
    pub const CLIENT_STATE: &str = "clientState";
    /// `lifecycleNotificationUrl`.
    pub const LIFECYCLE_URL: &str = "lifecycleNotificationUrl";
    /// `includeResourceData`.
    pub const INCLUDE_RESOURCE_DATA: &str = "includeResourceData";
    /// `encryptionCertificate`.
    pub const CERTIFICATE: &str = "encryptionCertificate";
    /// `encryptionCertificateId`.
    pub const CERTIFICATE_ID: &str = "encryptionCertificateId";
    /// `latestSupportedTlsVersion`.
    pub const TLS_VERSION: &str = "latestSupportedTlsVersion";
    /// `notificationQueryOptions`.
    pub const QUERY_OPTIONS: &str = "notificationQueryOptions";
    /// `notificationUrlAppId`.
    pub const NOTIFICATION_URL_APP_ID: &str = "notificationUrlAppId";
    /// `notificationContentType`.
    pub const CONTENT_TYPE: &str = "notificationContentType";
}

use property as p;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Text,
    Flag,
}

/// Whether a property may appear in a create and in an update body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Create: required. Update: see `updatable`.
    Required,
    /// Create: optional.
    Optional,
    /// Set by Graph; ignored in requests.
    ReadOnly,
}

struct PropertySpec {
    name: &'static str,
    expect: Expect,
    role: Role,
    /// PATCH accepts it.
    updatable: bool,
}

const PROPERTIES: &[PropertySpec] = &[
    PropertySpec {
        name: p::CHANGE_TYPE,
        expect: Expect::Text,
        role: Role::Required,
        updatable: false,
    },
    PropertySpec {
        name: p::NOTIFICATION_URL,
        expect: Expect::Text,
        role: Role::Required,
        updatable: true,
    },
    PropertySpec {
        name: p::RESOURCE,
        expect: Expect::Text,
        role: Role::Required,
        updatable: false,
    },
    PropertySpec {
        name: p::EXPIRATION,
        expect: Expect::Text,
        role: Role::Required,
        updatable: true,
    },
    PropertySpec {
        name: p::CLIENT_STATE,
        expect: Expect::Text,
        role: Role::Optional,
        updatable: false,
    },
    PropertySpec {
        name: p::LIFECYCLE_URL,
        expect: Expect::Text,
        role: Role::Optional,
        updatable: false,
    },
    PropertySpec {
        name: p::INCLUDE_RESOURCE_DATA,
        expect: Expect::Flag,
        role: Role::Optional,
        updatable: false,
    },
    PropertySpec {
        name: p::CERTIFICATE,
        expect: Expect::Text,
        role: Role::Optional,
        updatable: true,
    },
    PropertySpec {
        name: p::CERTIFICATE_ID,
        expect: Expect::Text,
        role: Role::Optional,
        updatable: true,
    },
    PropertySpec {
        name: p::TLS_VERSION,
        expect: Expect::Text,
        role: Role::Optional,
        updatable: false,
    },
    PropertySpec {
        name: p::QUERY_OPTIONS,
        expect: Expect::Text,
        role: Role::Optional,
        updatable: false,
    },
    PropertySpec {
        name: p::NOTIFICATION_URL_APP_ID,
        expect: Expect::Text,
        role: Role::Optional,
        updatable: false,
    },
    PropertySpec {
        name: p::CONTENT_TYPE,
        expect: Expect::Text,
        role: Role::Optional,
        updatable: false,
    },
    PropertySpec {
        name: "id",
        expect: Expect::Text,
        role: Role::ReadOnly,
        updatable: false,
    },
    PropertySpec {
        name: "applicationId",
        expect: Expect::Text,
        role: Role::ReadOnly,
        updatable: false,
    },
    PropertySpec {
        name: "creatorId",
        expect: Expect::Text,
        role: Role::ReadOnly,
        updatable: false,
    },
];

/// The longest `clientState` Graph accepts (the changeNotification page says 255; the
/// subscription page, which governs the request, 128).
pub const CLIENT_STATE_MAX: usize = 128;
/// The longest `encryptionCertificateId`.
pub const CERTIFICATE_ID_MAX: usize = 128;
/// The accepted `latestSupportedTlsVersion` values.
pub const TLS_VERSIONS: [&str; 4] = ["v1_0", "v1_1", "v1_2", "v1_3"];

#[derive(Default)]
struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        field: Option<&str>,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.0.push(Diagnostic {
            severity,
            code,
            field: field.map(str::to_owned),
            message: message.into(),
            hint: hint.into(),
        });
    }

    fn error(
        &mut self,
        code: &'static str,
        field: Option<&str>,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.push(Severity::Error, code, field, message, hint);
    }

    fn warning(
        &mut self,
        code: &'static str,
        field: Option<&str>,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.push(Severity::Warning, code, field, message, hint);
    }
}

/// True when some diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

/// Checks a request body. Diagnostics come in rule order; none is left out because
/// another was found.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use graph_subs_core::validate::{check, Context, Properties, Request, Value};
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
/// let body: Properties = [
///     ("changeType", Value::String("created".into())),
///     ("notificationUrl", Value::String("http://example.com/hook".into())),
///     ("resource", Value::String("me/messages".into())),
///     ("expirationDateTime", Value::String("2026-12-30T00:00:00Z".into())),
/// ].into_iter().collect();
/// let codes: Vec<_> = check(Request::Create, &body, &Context::new(now)).iter().map(|d| d.code).collect();
/// assert_eq!(codes, ["url-not-https", "expiration-beyond-maximum"]);
/// ```
pub fn check(request: Request, body: &Properties, ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Diagnostics::default();
    check_names_and_types(request, body, &mut out);
    match request {
        Request::Create => check_create(body, ctx, &mut out),
        Request::Update => check_update(body, ctx, &mut out),
    }
    out.0
}

fn spec(name: &str) -> Option<&'static PropertySpec> {
    PROPERTIES.iter().find(|s| s.name == name)
}

fn check_names_and_types(request: Request, body: &Properties, out: &mut Diagnostics) {
    for (name, value) in body.iter() {
        let Some(spec) = spec(name) else {
            if name.starts_with('@') {
                continue; // OData annotations such as @odata.type
            }
            let closest = PROPERTIES
                .iter()
                .map(|s| {
                    (
                        strsim::normalized_levenshtein(
                            &s.name.to_lowercase(),
                            &name.to_lowercase(),
                        ),
                        s.name,
                    )
                })
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .filter(|(score, _)| *score >= 0.7);
            out.warning(
                "unknown-property",
                Some(name),
                format!("`{name}` is not a property of a subscription; Graph ignores it"),
                closest.map(|(_, n)| format!("did you mean `{n}`?")),
            );
            continue;
        };
        let type_ok = matches!(
            (spec.expect, value),
            (_, Value::Null) | (Expect::Text, Value::String(_)) | (Expect::Flag, Value::Bool(_))
        );
        if !type_ok {
            let wanted = match spec.expect {
                Expect::Text => "a string",
                Expect::Flag => "`true` or `false`",
            };
            out.error(
                "wrong-type",
                Some(name),
                format!("`{name}` is {}, but must be {wanted}", value.type_name()),
                None,
            );
        }
        if spec.role == Role::ReadOnly {
            out.warning(
                "read-only-property",
                Some(name),
                format!("`{name}` is set by Graph; a request cannot set it"),
                Some(format!("remove `{name}`")),
            );
        } else if request == Request::Update && !spec.updatable {
            check_not_updatable(name, out);
        }
    }
}

fn check_not_updatable(name: &str, out: &mut Diagnostics) {
    match name {
        p::LIFECYCLE_URL => out.error(
            "update-cannot-set",
            Some(name),
            "an update cannot add or change `lifecycleNotificationUrl`",
            Some("delete the subscription and create it again with `lifecycleNotificationUrl`".into()),
        ),
        p::RESOURCE => out.error(
            "update-cannot-set",
            Some(name),
            "an update cannot change a subscription's `resource` (nor its payment model)",
            Some("create a new subscription for the new resource, then delete this one".into()),
        ),
        _ => out.warning(
            "update-ignored",
            Some(name),
            format!("an update can only change `expirationDateTime`, `notificationUrl` and the encryption certificate; `{name}` is ignored"),
            Some(format!("remove `{name}`, or create a new subscription to change it")),
        ),
    }
}

/// Parses and resolves the resource, reporting why it cannot be.
/// `field` is `None` for the context's resource (not a property of the body).
fn resource(text: &str, field: Option<&str>, out: &mut Diagnostics) -> Option<Resource> {
    let path = match ResourcePath::parse(text) {
        Ok(path) => path,
        Err(e) => {
            out.error(
                "invalid-resource",
                field,
                format!("`{}` is not a resource path: {e}", shortened(text)),
                e.hint(),
            );
            return None;
        }
    };
    match catalogue::resolve(&path) {
        Ok(resource) => Some(resource),
        Err(e) => {
            out.error("unknown-resource", field, e.to_string(), Some(e.hint()));
            None
        }
    }
}

fn parse_expiration(text: &str, out: &mut Diagnostics) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            out.error(
                "invalid-expiration",
                Some(p::EXPIRATION),
                format!("`{text}` is not an RFC 3339 date and time: {e}"),
                Some("write it with its offset, in UTC: `2026-11-23T18:23:45Z`".into()),
            );
            None
        }
    }
}

fn check_expiration(
    resource: Option<&Resource>,
    include_resource_data: bool,
    expiration: DateTime<Utc>,
    ctx: &Context,
    out: &mut Diagnostics,
) {
    let field = Some(p::EXPIRATION);
    let Some(resource) = resource else {
        if expiration <= ctx.now {
            out.error(
                "expiration-not-in-future",
                field,
                format!(
                    "{} is not in the future (now is {})",
                    time(expiration),
                    time(ctx.now)
                ),
                None,
            );
        }
        return;
    };
    let kind = resource.kind();
    match lifetime::judge_expiration(kind, include_resource_data, expiration, ctx.now) {
        ExpirationVerdict::Accepted => {}
        ExpirationVerdict::NotInFuture => out.error(
            "expiration-not-in-future",
            field,
            format!(
                "{} is not in the future (now is {})",
                time(expiration),
                time(ctx.now)
            ),
            Some(format!(
                "use a time up to {}",
                time(lifetime::latest_expiration(
                    kind,
                    include_resource_data,
                    ctx.now
                ))
            )),
        ),
        ExpirationVerdict::BeyondMaximum { latest } => {
            let minutes = lifetime::max_lifetime(kind, include_resource_data).num_minutes();
            let why = if include_resource_data
                && lifetime::max_lifetime(kind, true) < lifetime::max_lifetime(kind, false)
            {
                " that include resource data"
            } else {
                ""
            };
            out.error(
                "expiration-beyond-maximum",
                field,
                format!("{} is beyond the maximum lifetime of {kind} subscriptions{why}: {minutes} minutes", time(expiration)),
                Some(format!("use {} or earlier, and renew before it", time(latest))),
            );
        }
        ExpirationVerdict::RaisedToMinimum { effective } => out.warning(
            "expiration-raised",
            field,
            format!(
                "{} is less than 45 minutes away; Graph raises it to {}",
                time(expiration),
                time(effective)
            ),
            None,
        ),
    }
}

/// `https://` URL checks; `EventHub:https://...` and `EventGrid:?...` are Graph's
/// other delivery forms.
fn check_url(field: &str, url: &str, out: &mut Diagnostics) {
    if url.starts_with("EventGrid:") {
        return;
    }
    let url = url.strip_prefix("EventHub:").unwrap_or(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        out.error(
            "invalid-url",
            Some(field),
            format!("`{url}` is not an absolute URL"),
            Some("write it as `https://host/path`".to_owned()),
        );
        return;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        out.error(
            "invalid-url",
            Some(field),
            format!("`{url}` has no host"),
            Some("write it as `https://host/path`".to_owned()),
        );
        return;
    }
    if !scheme.eq_ignore_ascii_case("https") {
        out.error(
            "url-not-https",
            Some(field),
            format!("`{field}` must use HTTPS, not {scheme}"),
            Some(format!(
                "Graph delivers only to https:// endpoints: `https://{rest}`"
            )),
        );
    }
    let lower = host.to_ascii_lowercase();
    let loopback = lower == "localhost"
        || lower.ends_with(".localhost")
        || lower == "::1"
        || lower.split('.').next() == Some("127") && lower.split('.').count() == 4;
    if loopback {
        out.warning(
            "url-loopback",
            Some(field),
            format!("`{host}` is this machine: Graph cannot reach it, only the local emulator can"),
            Some(
                "use a public HTTPS endpoint (or a tunnel to this machine) against a real tenant"
                    .to_owned(),
            ),
        );
    }
}

fn check_create(body: &Properties, ctx: &Context, out: &mut Diagnostics) {
    for spec in PROPERTIES.iter().filter(|s| s.role == Role::Required) {
        if body.get(spec.name).is_none() {
            out.error(
                "missing-property",
                Some(spec.name),
                format!("a subscription needs `{}`", spec.name),
                Some(example(spec.name)),
            );
        }
    }
    let resource = body
        .string(p::RESOURCE)
        .and_then(|r| resource(r, Some(p::RESOURCE), out));
    let include_resource_data = body.boolean(p::INCLUDE_RESOURCE_DATA).unwrap_or(false);

    if let Some(text) = body.string(p::CHANGE_TYPE) {
        match text.parse::<ChangeTypes>() {
            Err(e) => out.error(
                "invalid-change-type",
                Some(p::CHANGE_TYPE),
                e.to_string(),
                Some(e.hint()),
            ),
            Ok(types) => {
                if let Some(r) = &resource {
                    let allowed = r.kind().spec().change_types;
                    for t in types.iter().filter(|t| !allowed.contains(t)) {
                        let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
                        out.error(
                            "change-type-not-supported",
                            Some(p::CHANGE_TYPE),
                            format!("{} subscriptions do not notify `{t}` changes", r.kind()),
                            Some(format!("use {}", names.join(", "))),
                        );
                    }
                }
            }
        }
    }
    if let Some(url) = body.string(p::NOTIFICATION_URL) {
        check_url(p::NOTIFICATION_URL, url, out);
    }
    if let Some(url) = body.string(p::LIFECYCLE_URL) {
        check_url(p::LIFECYCLE_URL, url, out);
    }
    if let Some(expiration) = body
        .string(p::EXPIRATION)
        .and_then(|e| parse_expiration(e, out))
    {
        check_expiration(
            resource.as_ref(),
            include_resource_data,
            expiration,
            ctx,
            out,
        );
        if let Some(r) = &resource
            && lifetime::needs_lifecycle_url(r.kind(), expiration, ctx.now)
            && body.get(p::LIFECYCLE_URL).is_none()
        {
            out.error(
                "lifecycle-url-required",
                Some(p::LIFECYCLE_URL),
                format!("{} subscriptions expiring more than an hour from now need `lifecycleNotificationUrl`", r.kind()),
                Some("add `lifecycleNotificationUrl` (HTTPS), or expire within the hour".into()),
            );
        }
    }
    if let Some(state) = body.string(p::CLIENT_STATE) {
        let length = state.chars().count();
        if length > CLIENT_STATE_MAX {
            out.error(
                "client-state-too-long",
                Some(p::CLIENT_STATE),
                format!(
                    "`clientState` has {length} characters; at most {CLIENT_STATE_MAX} are accepted"
                ),
                Some("use a shorter secret, or a key to one kept on your side".into()),
            );
        }
    }
    check_encryption(body, resource.as_ref(), include_resource_data, out);
    if let Some(version) = body.string(p::TLS_VERSION)
        && !TLS_VERSIONS.contains(&version)
    {
        out.error(
            "invalid-tls-version",
            Some(p::TLS_VERSION),
            format!("`{version}` is not a TLS version Graph knows"),
            Some(format!(
                "use one of {} (default v1_2)",
                TLS_VERSIONS.join(", ")
            )),
        );
    }
    if let Some(r) = &resource {
        check_resource_rules(r, body, Request::Create, ctx, out);
    }
}

fn check_encryption(
    body: &Properties,
    resource: Option<&Resource>,
    include_resource_data: bool,
    out: &mut Diagnostics,
) {
    if include_resource_data {
        if let Some(r) = resource
            && !r.kind().spec().rich_notifications
        {
            out.error(
                "rich-notifications-not-supported",
                Some(p::INCLUDE_RESOURCE_DATA),
                format!(
                    "{} subscriptions support basic notifications only, without resource data",
                    r.kind()
                ),
                Some("remove `includeResourceData`, and fetch the resource when notified".into()),
            );
        }
        for (name, what) in [
            (
                p::CERTIFICATE,
                "the public key (base64 X.509) to encrypt resource data with",
            ),
            (p::CERTIFICATE_ID, "an id for that certificate"),
        ] {
            if body.get(name).is_none() {
                out.error(
                    "encryption-required",
                    Some(name),
                    format!("notifications with resource data are encrypted: `{name}` is required"),
                    Some(format!("set `{name}` to {what}")),
                );
            }
        }
    }
    if let Some(id) = body.string(p::CERTIFICATE_ID)
        && id.chars().count() > CERTIFICATE_ID_MAX
    {
        out.error(
            "certificate-id-too-long",
            Some(p::CERTIFICATE_ID),
            format!("`encryptionCertificateId` has {} characters; at most {CERTIFICATE_ID_MAX} are accepted", id.chars().count()),
            None,
        );
    }
    if let Some(certificate) = body.string(p::CERTIFICATE)
        && !certificate.is_empty()
        && !is_base64(certificate)
    {
        out.error(
            "invalid-certificate",
            Some(p::CERTIFICATE),
            "`encryptionCertificate` is not base64",
            Some("give the DER X.509 certificate, base64-encoded, without PEM header lines".into()),
        );
    }
}

fn is_base64(text: &str) -> bool {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let body = text.trim_end_matches('=');
    text.len().is_multiple_of(4)
        && text.len() - body.len() <= 2
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

/// Rules that depend on what the resource is.
fn check_resource_rules(
    r: &Resource,
    body: &Properties,
    request: Request,
    ctx: &Context,
    out: &mut Diagnostics,
) {
    let kind = r.kind();
    let field = Some(p::RESOURCE);
    if !ctx.cloud.supports(kind) {
        out.error(
            "cloud-not-supported",
            field,
            format!(
                "{kind} subscriptions do not exist in the {} cloud",
                ctx.cloud.title()
            ),
            Some(format!(
                "{kind} is available in: {}",
                kind.spec()
                    .clouds
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    if let Some(permission_type) = ctx.permission_type {
        check_permission_type(r, request, permission_type, out);
    }
    if kind.spec().service == Service::Outlook
        && matches!(
            ctx.permission_type,
            Some(PermissionType::DelegatedWork | PermissionType::DelegatedPersonal)
        )
        && let Some(Subject::User(user)) = r.subject()
    {
        out.warning(
            "delegated-other-mailbox",
            field,
            format!("delegated permissions reach only the signed-in user's mailbox; `{user}` must be that user"),
            Some("write `me/...` for the signed-in user; use application permissions for another mailbox (not the *.Shared permissions)".to_owned()),
        );
    }
    check_drive(r, ctx, out);
    if request == Request::Create {
        check_model(r, out);
    }
    let query = r.path().query();
    if query.notify_on_user_specific_properties() == Some(true)
        && !r.pattern().accepts_user_specific_properties()
    {
        out.error(
            "user-specific-properties-not-supported",
            field,
            format!("`notifyOnUserSpecificProperties` applies to one chat or to a user's chats, not to {}", r.pattern().path()),
            Some("use it on `chats/{id}` or `users/{id}/chats`, or remove it".into()),
        );
    }
    for name in query.unknown_params().filter(|n| !n.starts_with('$')) {
        out.warning(
            "unknown-query-parameter",
            field,
            format!("Graph gives `{name}` no meaning on a subscription resource"),
            None,
        );
    }
    if body.get(p::QUERY_OPTIONS).is_some() && kind.spec().service != Service::UniversalPrint {
        out.warning(
            "query-options-ignored",
            Some(p::QUERY_OPTIONS),
            "`notificationQueryOptions` applies only to Universal Print resources",
            Some(format!("remove `{}`", p::QUERY_OPTIONS)),
        );
    }
}

fn check_permission_type(
    r: &Resource,
    request: Request,
    permission_type: PermissionType,
    out: &mut Diagnostics,
) {
    let Some(requirement) = permissions::required(r, request.operation()) else {
        return;
    };
    if requirement.cell(permission_type).is_none() {
        let supported: Vec<&str> = PermissionType::ALL
            .into_iter()
            .filter(|t| requirement.cell(*t).is_some())
            .map(|t| t.as_str())
            .collect();
        out.error(
            "permission-type-not-supported",
            Some(p::RESOURCE),
            format!(
                "{} ({}) cannot be subscribed to with {} permissions",
                r.kind(),
                r.pattern().path(),
                permission_type.title().to_lowercase()
            ),
            Some(if supported.is_empty() {
                "no permission type supports it".to_owned()
            } else {
                format!("use {}", supported.join(" or "))
            }),
        );
    }
}

fn check_drive(r: &Resource, ctx: &Context, out: &mut Diagnostics) {
    if r.pattern().personal_onedrive_only() {
        let message = "OneDrive for Business subscriptions can only watch the root folder";
        let hint = Some(
            "subscribe to the drive's `root`, or use a personal OneDrive, where any folder works"
                .to_owned(),
        );
        match ctx.permission_type {
            Some(PermissionType::DelegatedPersonal) => {}
            Some(_) => out.error(
                "onedrive-business-root-only",
                Some(p::RESOURCE),
                message,
                hint,
            ),
            None => out.warning(
                "onedrive-business-root-only",
                Some(p::RESOURCE),
                format!("{message}; this is fine on a personal OneDrive"),
                hint,
            ),
        }
    }
    if let Some(Segment::Addressed { path, .. }) = r.path().segments().last()
        && path
            .rsplit('/')
            .next()
            .is_some_and(|leaf| leaf.contains('.'))
    {
        out.warning(
            "drive-item-looks-like-a-file",
            Some(p::RESOURCE),
            format!("`{path}` looks like a file; subscriptions watch folders, never single files"),
            Some("subscribe to the folder that holds it".into()),
        );
    }
}

fn check_model(r: &Resource, out: &mut Diagnostics) {
    let field = Some(p::RESOURCE);
    match payment_model::judge(r) {
        ModelVerdict::NotApplicable | ModelVerdict::Accepted(_) => {}
        ModelVerdict::NotLimited { given } => out.warning(
            "payment-model-not-applicable",
            field,
            format!(
                "`model={given}` applies only to the Teams limited APIs; {} is not one",
                r.pattern().path()
            ),
            Some("remove `model`".into()),
        ),
        ModelVerdict::Evaluation { accepted } => out.warning(
            "evaluation-mode",
            field,
            format!(
                "{} is a Teams limited API and no `model` is given: evaluation mode",
                r.pattern().path()
            ),
            Some(format!("add {}; {METERING_NOTE}", models(accepted))),
        ),
        ModelVerdict::NotAccepted { given, accepted } => out.error(
            "payment-model-not-accepted",
            field,
            format!("{} does not accept `model={given}`", r.pattern().path()),
            Some(format!("use {}; {METERING_NOTE}", models(accepted))),
        ),
    }
}

fn models(accepted: &[crate::resource::PaymentModel]) -> String {
    accepted
        .iter()
        .map(|m| format!("`model={m}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn example(name: &str) -> String {
    match name {
        p::CHANGE_TYPE => "add `\"changeType\": \"created,updated\"`".into(),
        p::NOTIFICATION_URL => {
            "add `\"notificationUrl\": \"https://your.host/notifications\"`".into()
        }
        p::RESOURCE => {
            "add `\"resource\": \"me/messages\"` (a path relative to the Graph root)".into()
        }
        p::EXPIRATION => {
            "add `\"expirationDateTime\"`, an RFC 3339 time within the resource's maximum lifetime"
                .into()
        }
        _ => format!("add `{name}`"),
    }
}

fn check_update(body: &Properties, ctx: &Context, out: &mut Diagnostics) {
    if body.get(p::EXPIRATION).is_none() && body.get(p::NOTIFICATION_URL).is_none() {
        out.error(
            "update-needs-expiration-or-url",
            None,
            "Subscription must contain either the 'expirationDateTime' or 'notificationUrl' property and its value.",
            Some("an update sets `expirationDateTime` (renewal) or `notificationUrl`, or both".into()),
        );
    }
    let has_certificate = body.get(p::CERTIFICATE).is_some();
    let has_certificate_id = body.get(p::CERTIFICATE_ID).is_some();
    if has_certificate != has_certificate_id {
        let missing = if has_certificate {
            p::CERTIFICATE_ID
        } else {
            p::CERTIFICATE
        };
        out.error(
            "certificate-rotation-incomplete",
            Some(missing),
            "rotating the encryption certificate takes `encryptionCertificate` and `encryptionCertificateId` together",
            Some(format!("add `{missing}`")),
        );
    }
    let existing = ctx
        .subscription_resource
        .as_deref()
        .and_then(|r| resource(r, None, out));
    if let (Some(before), Some(text)) = (&existing, body.string(p::RESOURCE))
        && let Ok(path) = ResourcePath::parse(text)
        && let Ok(after) = catalogue::resolve(&path)
        && payment_model::changes_model(before, &after)
    {
        out.error(
            "payment-model-change",
            Some(p::RESOURCE),
            "an update cannot add or change a subscription's payment model",
            Some("create a new subscription with the new `model`, then delete this one".into()),
        );
    }
    if let Some(url) = body.string(p::NOTIFICATION_URL) {
        check_url(p::NOTIFICATION_URL, url, out);
    }
    check_encryption(body, None, false, out);
    if let Some(expiration) = body
        .string(p::EXPIRATION)
        .and_then(|e| parse_expiration(e, out))
    {
        check_expiration(existing.as_ref(), false, expiration, ctx, out);
        match &existing {
            None => out.warning(
                "subscription-resource-unknown",
                Some(p::EXPIRATION),
                "without the subscription's resource, the expiration is not checked against its maximum lifetime",
                Some("give the resource of the subscription being updated (`--resource`)".into()),
            ),
            Some(r) => {
                // Whether the subscription includes resource data is not known here; warn
                // when that would make the expiration too far.
                let rich = lifetime::max_lifetime(r.kind(), true);
                if rich < lifetime::max_lifetime(r.kind(), false) && expiration - ctx.now > rich {
                    let minutes = rich.num_minutes();
                    out.warning(
                        "expiration-beyond-rich-maximum",
                        Some(p::EXPIRATION),
                        format!("beyond {minutes} minutes: too far if this {} subscription includes resource data", r.kind()),
                        Some(format!("{} subscriptions with resource data live at most {minutes} minutes", r.kind())),
                    );
                }
            }
        }
    }
    if let Some(r) = &existing {
        check_resource_rules(r, body, Request::Update, ctx, out);
    }
}
