//! Checking a subscription request before it is sent: a create (`POST /subscriptions`)
//! or an update (`PATCH /subscriptions/{id}`) body, every problem at once.
//!
//! The body arrives as [`Properties`], names and values as the caller read them (the CLI
//! from JSON): this module knows the subscription's properties, not a wire format.
//! [`check`] returns every [`Diagnostic`], each with a stable code, a severity, the
//! property it concerns, a message and a hint. Secrets (`clientState`, certificates) are
//! never quoted in a message.
//!
//! Every code is documented, with a bad and a good example, by
//! [`DiagnosticCode::explanation`]; [`reference_markdown`] renders them all
//! (`docs/diagnostics.md`).

mod code;
mod explain;
mod reference;

use std::fmt;

use chrono::{DateTime, Utc};

pub use crate::request::{Properties, Value};
use DiagnosticCode as C;
pub use code::{DiagnosticCode, UnknownDiagnosticCode};
pub use explain::{EXAMPLE_NOW, Example, Explanation, Reported};
pub use reference::{EXAMPLE_FILE, GENERATED_HEADER, explanation_markdown, reference_markdown};

use crate::Operation;
use crate::catalogue::{self, Resource, Service, Subject};
use crate::change_type::ChangeTypes;
use crate::cloud::Cloud;
use crate::lifetime::{self, ExpirationVerdict, rfc3339 as time};
use crate::notification_url::{EVENT_GRID_PARAMETERS, Finding, NotificationUrl};
use crate::payment_model::{self, METERING_NOTE, ModelVerdict};
use crate::permissions::{self, PermissionType};
use crate::quote::shortened;
use crate::resource::{ResourcePath, Segment};
use crate::subscription::{
    ClientState, CreateSubscription, EncryptionCertificate, Timestamp, UpdateSubscription,
};

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
    /// A stable code: `expiration-beyond-maximum`.
    pub code: DiagnosticCode,
    /// The property it concerns, when one does.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// The diagnostic as `graph-subs check` prints it, the way rustc does: the severity,
    /// code and message, then where (`file` and the property), then the hint, each line
    /// ending with a line break.
    ///
    /// ```text
    /// error[url-not-https]: `notificationUrl` must use HTTPS, not http
    ///   --> request.json: notificationUrl
    ///    = help: Graph delivers only to https:// endpoints: `https://webhook.example.com/n`
    /// ```
    pub fn render(&self, file: &str) -> String {
        let mut s = format!("{}[{}]: {}\n", self.severity, self.code, self.message);
        match &self.field {
            Some(field) => s.push_str(&format!("  --> {file}: {field}\n")),
            None => s.push_str(&format!("  --> {file}\n")),
        }
        if let Some(hint) = &self.hint {
            s.push_str(&format!("   = help: {hint}\n"));
        }
        s
    }
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
    /// Whether plain-HTTP endpoints on this machine are acceptable: the local emulator
    /// calls them, Graph cannot. `url-not-https` is then a warning for a loopback host.
    pub allow_http_loopback: bool,
}

impl Context {
    /// A context with no permission type, the global cloud, no known subscription.
    pub fn new(now: DateTime<Utc>) -> Context {
        Context {
            now,
            permission_type: None,
            cloud: Cloud::Global,
            subscription_resource: None,
            allow_http_loopback: false,
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

/// The longest `clientState` Graph accepts (see [`ClientState::MAX`]).
pub const CLIENT_STATE_MAX: usize = ClientState::MAX;
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
        code: DiagnosticCode,
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
        code: DiagnosticCode,
        field: Option<&str>,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) {
        self.push(Severity::Error, code, field, message, hint);
    }

    fn warning(
        &mut self,
        code: DiagnosticCode,
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
/// use graph_subs_core::validate::DiagnosticCode;
/// assert_eq!(codes, [DiagnosticCode::UrlNotHttps, DiagnosticCode::ExpirationBeyondMaximum]);
/// ```
pub fn check(request: Request, body: &Properties, ctx: &Context) -> Vec<Diagnostic> {
    check_known(request, body, ctx, None)
}

/// [`check`], with the resource of the subscription being updated already resolved
/// (`ctx.subscription_resource` is then not read).
fn check_known(
    request: Request,
    body: &Properties,
    ctx: &Context,
    subscription: Option<&Resource>,
) -> Vec<Diagnostic> {
    let mut out = Diagnostics::default();
    if Timestamp::new(ctx.now).is_err() || ctx.now > lifetime::latest_supported_now() {
        let (message, hint) = if ctx.now > lifetime::latest_supported_now() {
            (
                "the request is checked as if sent too close to the year 9999 for its expiration times to be written in RFC 3339",
                format!(
                    "check as if sent at {} or earlier",
                    time(lifetime::latest_supported_now())
                ),
            )
        } else {
            (
                "the request is checked as if sent before the year 0000, which RFC 3339 cannot write",
                "check as if sent at 0000-01-01T00:00:00Z or later".to_owned(),
            )
        };
        out.error(C::TimeOutOfRange, None, message, Some(hint));
        return out.0;
    }
    check_names_and_types(request, body, &mut out);
    match request {
        Request::Create => check_create(body, ctx, &mut out),
        Request::Update => check_update(body, ctx, subscription, &mut out),
    }
    out.0
}

/// The property of that name; names compare without regard to case, as Graph's do.
fn spec(name: &str) -> Option<&'static PropertySpec> {
    PROPERTIES
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// How many `unknown-property` errors a check reports before summing up the rest: a
/// body of 50,000 unknown properties gets a readable answer.
pub const UNKNOWN_PROPERTIES_SHOWN: usize = 20;

fn check_names_and_types(request: Request, body: &Properties, out: &mut Diagnostics) {
    // One warning per repeated name, however often it is repeated, and at most as many
    // names as unknown properties are named.
    let repeats: Vec<(&str, usize)> = body.repeated().collect();
    for &(name, extra) in repeats.iter().take(UNKNOWN_PROPERTIES_SHOWN) {
        let times = if extra == 1 {
            "twice".to_owned()
        } else {
            format!("{} times", extra + 1)
        };
        out.warning(
            C::DuplicateProperty,
            Some(&spec(name).map_or_else(|| shortened(name).to_string(), |s| s.name.to_owned())),
            format!(
                "`{}` is given {times} (property names compare without regard to case); the last value is checked",
                shortened(name)
            ),
            Some("keep one of them".to_owned()),
        );
    }
    if repeats.len() > UNKNOWN_PROPERTIES_SHOWN {
        out.warning(
            C::DuplicateProperty,
            None,
            format!(
                "and {} more properties given more than once",
                repeats.len() - UNKNOWN_PROPERTIES_SHOWN
            ),
            Some("give each property once".to_owned()),
        );
    }
    let mut unknown = 0usize;
    for (name, value) in body.iter() {
        let Some(spec) = spec(name) else {
            if name.starts_with('@') {
                continue; // OData annotations such as @odata.type
            }
            unknown += 1;
            if unknown <= UNKNOWN_PROPERTIES_SHOWN {
                unknown_property(name, out);
            }
            continue;
        };
        let name = spec.name;
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
                C::WrongType,
                Some(name),
                format!("`{name}` is {}, but must be {wanted}", value.type_name()),
                Some(match spec.expect {
                    Expect::Text => format!("write `{name}` as a JSON string, in double quotes"),
                    Expect::Flag => format!("write `\"{name}\": true` or `false`, without quotes"),
                }),
            );
        }
        if spec.role == Role::ReadOnly {
            out.warning(
                C::ReadOnlyProperty,
                Some(name),
                format!("`{name}` is set by Graph; a request cannot set it"),
                Some(format!("remove `{name}`")),
            );
        } else if request == Request::Update && !spec.updatable {
            check_not_updatable(name, out);
        }
    }
    if unknown > UNKNOWN_PROPERTIES_SHOWN {
        let more = unknown - UNKNOWN_PROPERTIES_SHOWN;
        out.error(
            C::UnknownProperty,
            None,
            format!("and {more} more properties that are not properties of a subscription"),
            Some("send the subscription's properties only".to_owned()),
        );
    }
}

fn unknown_property(name: &str, out: &mut Diagnostics) {
    let plain = crate::quote::skeleton(name);
    let compared = plain.as_deref().unwrap_or(name).to_lowercase();
    // Property names are short: a long name is far from all of them, and comparing it
    // would cost its length times theirs.
    let closest = (compared.len() <= 64)
        .then(|| {
            PROPERTIES
                .iter()
                .map(|s| {
                    (
                        strsim::normalized_levenshtein(&s.name.to_lowercase(), &compared),
                        s.name,
                    )
                })
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .filter(|(score, _)| *score >= 0.7)
        })
        .flatten();
    let hint = match (closest, crate::quote::suspicious(name)) {
        (Some((_, n)), Some(found)) => Some(format!("it contains {found}: did you mean `{n}`?")),
        (Some((_, n)), None) => Some(format!("did you mean `{n}`?")),
        (None, Some(found)) => Some(format!("it contains {found}")),
        (None, None) => None,
    };
    let shown = shortened(name).to_string();
    out.error(
        C::UnknownProperty,
        Some(&shown),
        format!("`{shown}` is not a property of a subscription; Graph refuses bodies with undeclared properties"),
        hint.or_else(|| Some(format!("remove `{shown}`"))),
    );
}

fn check_not_updatable(name: &str, out: &mut Diagnostics) {
    match name {
        p::LIFECYCLE_URL => out.error(
            C::UpdateCannotSet,
            Some(name),
            "an update cannot add or change `lifecycleNotificationUrl`",
            Some("delete the subscription and create it again with `lifecycleNotificationUrl`".into()),
        ),
        p::RESOURCE => out.error(
            C::UpdateCannotSet,
            Some(name),
            "an update cannot change a subscription's `resource` (nor its payment model)",
            Some("create a new subscription for the new resource, then delete this one".into()),
        ),
        _ => out.warning(
            C::UpdateIgnored,
            Some(name),
            format!("an update can only change `expirationDateTime`, `notificationUrl` and the encryption certificate; `{name}` is ignored"),
            Some(format!("remove `{name}`, or create a new subscription to change it")),
        ),
    }
}

/// Parses and resolves the resource, reporting why it cannot be.
/// `field` is `None` for the context's resource (not a property of the body).
fn resource(text: &str, field: Option<&str>, out: &mut Diagnostics) -> Option<Resource> {
    if field.is_some() && text.trim() != text && !text.trim().is_empty() {
        out.error(
            C::ResourceWhitespace,
            field,
            format!(
                "`resource` has white space around `{}`",
                crate::quote::value(text.trim())
            ),
            Some("remove the spaces and line breaks around the path".to_owned()),
        );
    }
    let path = match ResourcePath::parse(text) {
        Ok(path) => path,
        Err(e) => {
            out.error(
                C::InvalidResource,
                field,
                format!(
                    "`{}` is not a resource path: {e}",
                    crate::quote::value(text)
                ),
                e.hint(),
            );
            return None;
        }
    };
    if field.is_some()
        && let Some(segment) = placeholder(&path)
    {
        out.error(
            C::ResourcePlaceholder,
            field,
            format!(
                "`{}` still holds the documentation's placeholder `{}`",
                crate::quote::value(text.trim()),
                shortened(&segment)
            ),
            Some(format!(
                "replace `{}` with the id of the resource to watch",
                shortened(&segment)
            )),
        );
    }
    match catalogue::resolve(&path) {
        Ok(resource) => Some(resource),
        Err(e) => {
            out.error(C::UnknownResource, field, e.to_string(), Some(e.hint()));
            None
        }
    }
}

/// The first `{...}` placeholder of a path: the documentation's `{id}`, `{site-id}`,
/// `{user-id}`, also percent-encoded (`%7Bid%7D`), empty (`{}`), inside a key
/// (`users(id='{id}')`), a OneDrive address (`root:/{folder}:`) or the query string
/// (`$filter=id in ('{id}')`). A path a request sends must name a real resource.
fn placeholder(path: &ResourcePath) -> Option<String> {
    let texts = path
        .segments()
        .iter()
        .map(|segment| match segment {
            Segment::Name(name) => name.as_str(),
            Segment::Keyed { key, .. } => key.as_str(),
            Segment::Addressed { path, .. } => path.as_str(),
        })
        .chain(path.query().params().map(|(_, value)| value));
    texts.into_iter().find_map(find_placeholder)
}

/// A `{word}` in `text` (letters, digits, `-`, `_`, at most 40 of them), or its
/// percent-encoded form.
fn find_placeholder(text: &str) -> Option<String> {
    let decoded;
    let text = if text.contains('%') {
        decoded = text
            .replace("%7B", "{")
            .replace("%7b", "{")
            .replace("%7D", "}")
            .replace("%7d", "}");
        decoded.as_str()
    } else {
        text
    };
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let word_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(after.len());
        if after[word_end..].starts_with('}') && word_end <= 40 {
            return Some(format!("{{{}}}", &after[..word_end]));
        }
        rest = after;
    }
    None
}

fn parse_expiration(text: &str, out: &mut Diagnostics) -> Option<DateTime<Utc>> {
    match Timestamp::parse(text) {
        Ok(t) => Some(t.get()),
        Err(e) => {
            out.error(
                C::InvalidExpiration,
                Some(p::EXPIRATION),
                e.to_string(),
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
                C::ExpirationNotInFuture,
                field,
                format!(
                    "{} is not in the future (now is {})",
                    time(expiration),
                    time(ctx.now)
                ),
                Some("use a time after now, within the resource's maximum lifetime".into()),
            );
        }
        return;
    };
    let kind = resource.kind();
    match lifetime::judge_expiration(kind, include_resource_data, expiration, ctx.now) {
        ExpirationVerdict::Accepted => {}
        ExpirationVerdict::NotInFuture => out.error(
            C::ExpirationNotInFuture,
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
                C::ExpirationBeyondMaximum,
                field,
                format!("{} is beyond the maximum lifetime of {kind} subscriptions{why}: {minutes} minutes", time(expiration)),
                Some(format!("use {} or earlier, and renew before it", time(latest))),
            );
        }
        ExpirationVerdict::RaisedToMinimum { effective } => out.warning(
            C::ExpirationRaised,
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

/// A notification or lifecycle URL, in any of Graph's three forms: parsed by the `url`
/// crate, its host classified. URLs are only ever quoted redacted.
fn check_url(field: &str, text: &str, allow_http_loopback: bool, out: &mut Diagnostics) {
    let url = match NotificationUrl::parse(text) {
        Ok(url) => url,
        Err(e) => {
            out.error(C::InvalidUrl, Some(field), e.to_string(), Some(e.hint()));
            return;
        }
    };
    let shown = url.redacted();
    let (parsed, findings) = url.url_and_findings();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str())
        .map(|h| shortened(h).to_string())
        .unwrap_or_default();
    let local_http = allow_http_loopback
        && findings.contains(&Finding::Loopback)
        && parsed.is_some_and(|u| u.scheme() == "http");
    for finding in findings {
        match finding {
            Finding::NotHttps { scheme } => {
                // Keep the `EventHub:` prefix: it chooses the delivery.
                let https = match shown.split_once("://") {
                    Some((scheme, rest)) => match scheme.rsplit_once(':') {
                        Some((prefix, _)) => format!("{prefix}:https://{rest}"),
                        None => format!("https://{rest}"),
                    },
                    None => "https://host/path".to_owned(),
                };
                out.push(
                    if local_http { Severity::Warning } else { Severity::Error },
                    C::UrlNotHttps,
                    Some(field),
                    format!("`{field}` must use HTTPS, not {}", shortened(&scheme)),
                    Some(format!("Graph delivers only to https:// endpoints: `{https}`")),
                );
            }
            Finding::Loopback => out.warning(
                C::UrlLoopback,
                Some(field),
                format!("`{host}` is this machine: Graph cannot reach it, only the local emulator can"),
                Some("use a public HTTPS endpoint (or a tunnel to this machine) against a real tenant".to_owned()),
            ),
            Finding::Private => out.warning(
                C::UrlPrivateAddress,
                Some(field),
                format!("`{host}` is a private network address: Graph, on the internet, cannot reach it"),
                Some("use a public HTTPS endpoint, or a tunnel or reverse proxy to this one".to_owned()),
            ),
            Finding::LinkLocal => out.warning(
                C::UrlLinkLocal,
                Some(field),
                format!("`{host}` is a link-local address: only its own network segment reaches it"),
                Some("use a public HTTPS endpoint".to_owned()),
            ),
            Finding::Unreachable { what } => out.error(
                C::UrlUnreachableAddress,
                Some(field),
                format!("`{host}` is {what}: no endpoint can be reached there"),
                Some("use the public host name of the endpoint".to_owned()),
            ),
            Finding::Credentials => out.warning(
                C::UrlCredentials,
                Some(field),
                format!("`{shown}` carries a user name or password: List returns this URL to every caller who can see the subscription"),
                Some("remove the credentials; authenticate notifications with `clientState` (and validation tokens for rich notifications)".to_owned()),
            ),
            Finding::Fragment => out.warning(
                C::UrlFragment,
                Some(field),
                format!("`{shown}` has a #fragment, which is never sent in an HTTP request"),
                Some("remove the fragment; put what it carries in the path or query".to_owned()),
            ),
            Finding::EventGridParameterMissing { name } => out.error(
                C::EventGridParameterMissing,
                Some(field),
                format!("an `EventGrid:` URL needs `{name}`"),
                Some(format!(
                    "write `EventGrid:?{}`",
                    EVENT_GRID_PARAMETERS.map(|n| format!("{n}=...")).join("&")
                )),
            ),
        }
    }
}

fn check_create(body: &Properties, ctx: &Context, out: &mut Diagnostics) {
    for spec in PROPERTIES.iter().filter(|s| s.role == Role::Required) {
        if body.get(spec.name).is_none() {
            out.error(
                C::MissingProperty,
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
                C::InvalidChangeType,
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
                            C::ChangeTypeNotSupported,
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
        check_url(p::NOTIFICATION_URL, url, ctx.allow_http_loopback, out);
    }
    if let Some(url) = body.string(p::LIFECYCLE_URL) {
        check_url(p::LIFECYCLE_URL, url, ctx.allow_http_loopback, out);
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
                C::LifecycleUrlRequired,
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
                C::ClientStateTooLong,
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
            C::InvalidTlsVersion,
            Some(p::TLS_VERSION),
            format!("`{}` is not a TLS version Graph knows", shortened(version)),
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
                C::RichNotificationsNotSupported,
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
            // Graph writes `""` for "no certificate": an empty value is none.
            if !has_text(body, name) {
                out.error(
                    C::EncryptionRequired,
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
            C::CertificateIdTooLong,
            Some(p::CERTIFICATE_ID),
            format!("`encryptionCertificateId` has {} characters; at most {CERTIFICATE_ID_MAX} are accepted", id.chars().count()),
            Some("use a shorter id, such as the certificate's thumbprint".into()),
        );
    }
    if let Some(certificate) = body.string(p::CERTIFICATE)
        && !certificate.is_empty()
        && !is_base64(certificate)
    {
        out.error(
            C::InvalidCertificate,
            Some(p::CERTIFICATE),
            "`encryptionCertificate` is not base64",
            Some("give the DER X.509 certificate, base64-encoded, without PEM header lines".into()),
        );
    }
}

/// Whether a property is given with a value that is not the empty string (a value of the
/// wrong type counts as given: `wrong-type` reports it).
fn has_text(body: &Properties, name: &str) -> bool {
    match body.get(name) {
        None => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
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
            C::CloudNotSupported,
            field,
            format!(
                "{kind} subscriptions do not exist in the {} national cloud (`{}`)",
                ctx.cloud.title(),
                ctx.cloud.as_str()
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
            C::DelegatedOtherMailbox,
            field,
            format!("delegated permissions reach only the signed-in user's mailbox; `{}` must be that user", shortened(&user)),
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
            C::UserSpecificPropertiesNotSupported,
            field,
            format!("`notifyOnUserSpecificProperties` applies to one chat or to a user's chats, not to {}", r.pattern().path()),
            Some("use it on `chats/{id}` or `users/{id}/chats`, or remove it".into()),
        );
    }
    for name in query.unknown_params().filter(|n| !n.starts_with('$')) {
        out.warning(
            C::UnknownQueryParameter,
            field,
            format!(
                "Graph gives `{}` no meaning on a subscription resource",
                shortened(name)
            ),
            None,
        );
    }
    if body.get(p::QUERY_OPTIONS).is_some() && kind.spec().service != Service::UniversalPrint {
        out.warning(
            C::QueryOptionsIgnored,
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
            C::PermissionTypeNotSupported,
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
                C::OnedriveBusinessRootOnly,
                Some(p::RESOURCE),
                message,
                hint,
            ),
            None => out.warning(
                C::OnedriveBusinessRootOnly,
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
            C::DriveItemLooksLikeAFile,
            Some(p::RESOURCE),
            format!(
                "`{}` looks like a file; subscriptions watch folders, never single files",
                shortened(path)
            ),
            Some("subscribe to the folder that holds it".into()),
        );
    }
}

fn check_model(r: &Resource, out: &mut Diagnostics) {
    let field = Some(p::RESOURCE);
    match payment_model::judge(r) {
        ModelVerdict::NotApplicable | ModelVerdict::Accepted(_) => {}
        ModelVerdict::NotLimited { given } => out.warning(
            C::PaymentModelNotApplicable,
            field,
            format!(
                "`model={given}` applies only to the Teams limited APIs; {} is not one",
                r.pattern().path()
            ),
            Some("remove `model`".into()),
        ),
        ModelVerdict::Evaluation { accepted } => out.warning(
            C::EvaluationMode,
            field,
            format!(
                "{} is a Teams limited API and no `model` is given: evaluation mode",
                r.pattern().path()
            ),
            Some(format!("add {}; {METERING_NOTE}", models(accepted))),
        ),
        ModelVerdict::NotAccepted { given, accepted } => out.error(
            C::PaymentModelNotAccepted,
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

fn check_update(
    body: &Properties,
    ctx: &Context,
    subscription: Option<&Resource>,
    out: &mut Diagnostics,
) {
    if body.get(p::EXPIRATION).is_none() && body.get(p::NOTIFICATION_URL).is_none() {
        out.error(
            C::UpdateNeedsExpirationOrUrl,
            None,
            "Subscription must contain either the 'expirationDateTime' or 'notificationUrl' property and its value.",
            Some("an update sets `expirationDateTime` (renewal) or `notificationUrl`, or both".into()),
        );
    }
    let has_certificate = has_text(body, p::CERTIFICATE);
    let has_certificate_id = has_text(body, p::CERTIFICATE_ID);
    if has_certificate != has_certificate_id {
        let missing = if has_certificate {
            p::CERTIFICATE_ID
        } else {
            p::CERTIFICATE
        };
        out.error(
            C::CertificateRotationIncomplete,
            Some(missing),
            "rotating the encryption certificate takes `encryptionCertificate` and `encryptionCertificateId` together",
            Some(format!("add `{missing}`")),
        );
    }
    let resolved;
    let existing = match subscription {
        Some(known) => Some(known),
        None => {
            resolved = ctx
                .subscription_resource
                .as_deref()
                .and_then(|r| resource(r, None, out));
            resolved.as_ref()
        }
    };
    if let (Some(before), Some(text)) = (existing, body.string(p::RESOURCE))
        && let Ok(path) = ResourcePath::parse(text)
        && let Ok(after) = catalogue::resolve(&path)
        && payment_model::changes_model(before, &after)
    {
        out.error(
            C::PaymentModelChange,
            Some(p::RESOURCE),
            "an update cannot add or change a subscription's payment model",
            Some("create a new subscription with the new `model`, then delete this one".into()),
        );
    }
    if let Some(url) = body.string(p::NOTIFICATION_URL) {
        check_url(p::NOTIFICATION_URL, url, ctx.allow_http_loopback, out);
    }
    check_encryption(body, None, false, out);
    if let Some(expiration) = body
        .string(p::EXPIRATION)
        .and_then(|e| parse_expiration(e, out))
    {
        check_expiration(existing, false, expiration, ctx, out);
        match existing {
            None => out.warning(
                C::SubscriptionResourceUnknown,
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
                        C::ExpirationBeyondRichMaximum,
                        Some(p::EXPIRATION),
                        format!("beyond {minutes} minutes: too far if this {} subscription includes resource data", r.kind()),
                        Some(format!("{} subscriptions with resource data live at most {minutes} minutes", r.kind())),
                    );
                }
            }
        }
    }
    if let Some(r) = existing {
        check_resource_rules(r, body, Request::Update, ctx, out);
    }
}

/// A request that passed its check: the typed body, and the warnings it still has.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<T> {
    /// The typed request, ready to send.
    pub request: T,
    /// What Graph accepts but probably not as meant.
    pub warnings: Vec<Diagnostic>,
}

/// Checks a create body and, when it has no error, returns it typed: what the emulator
/// stores and the client sends. Otherwise every diagnostic, errors first as found.
pub fn create(
    body: &Properties,
    ctx: &Context,
) -> Result<Checked<CreateSubscription>, Vec<Diagnostic>> {
    let diagnostics = check(Request::Create, body, ctx);
    if has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    let typed = (|| {
        let mut request = CreateSubscription::new(
            body.string(p::RESOURCE)?,
            body.string(p::CHANGE_TYPE)?.parse().ok()?,
            NotificationUrl::parse(body.string(p::NOTIFICATION_URL)?).ok()?,
            Timestamp::parse(body.string(p::EXPIRATION)?).ok()?,
        );
        request.client_state = match body.string(p::CLIENT_STATE) {
            Some(state) => Some(ClientState::new(state).ok()?),
            None => None,
        };
        request.lifecycle_notification_url = match body.string(p::LIFECYCLE_URL) {
            Some(url) => Some(NotificationUrl::parse(url).ok()?),
            None => None,
        };
        request.include_resource_data = body.boolean(p::INCLUDE_RESOURCE_DATA);
        request.encryption_certificate =
            body.string(p::CERTIFICATE).map(EncryptionCertificate::new);
        request.encryption_certificate_id = body.string(p::CERTIFICATE_ID).map(str::to_owned);
        request.latest_supported_tls_version = body.string(p::TLS_VERSION).map(str::to_owned);
        request.notification_query_options = body.string(p::QUERY_OPTIONS).map(str::to_owned);
        request.notification_url_app_id =
            body.string(p::NOTIFICATION_URL_APP_ID).map(str::to_owned);
        request.notification_content_type = body.string(p::CONTENT_TYPE).map(str::to_owned);
        Some(request)
    })();
    match typed {
        Some(request) => Ok(Checked {
            request,
            warnings: diagnostics,
        }),
        // Unreachable while the rules above hold: each value read here was checked.
        None => Err(diagnostics),
    }
}

/// Checks an update body and, when it has no error, returns it typed.
pub fn update(
    body: &Properties,
    ctx: &Context,
) -> Result<Checked<UpdateSubscription>, Vec<Diagnostic>> {
    update_known(body, ctx, None)
}

/// [`update`] of a subscription whose resource is known and resolved: the same checks as
/// with `ctx.subscription_resource` given (which is then not read), without resolving the
/// resource again. The emulator has resolved it to authorize the caller.
pub fn update_of(
    body: &Properties,
    ctx: &Context,
    subscription: &Resource,
) -> Result<Checked<UpdateSubscription>, Vec<Diagnostic>> {
    update_known(body, ctx, Some(subscription))
}

fn update_known(
    body: &Properties,
    ctx: &Context,
    subscription: Option<&Resource>,
) -> Result<Checked<UpdateSubscription>, Vec<Diagnostic>> {
    let diagnostics = check_known(Request::Update, body, ctx, subscription);
    if has_errors(&diagnostics) {
        return Err(diagnostics);
    }
    let typed = (|| {
        Some(UpdateSubscription {
            expiration_date_time: match body.string(p::EXPIRATION) {
                Some(t) => Some(Timestamp::parse(t).ok()?),
                None => None,
            },
            notification_url: match body.string(p::NOTIFICATION_URL) {
                Some(url) => Some(NotificationUrl::parse(url).ok()?),
                None => None,
            },
            encryption_certificate: body.string(p::CERTIFICATE).map(EncryptionCertificate::new),
            encryption_certificate_id: body.string(p::CERTIFICATE_ID).map(str::to_owned),
        })
    })();
    match typed {
        Some(request) => Ok(Checked {
            request,
            warnings: diagnostics,
        }),
        None => Err(diagnostics),
    }
}

/// A typed request body that [`Properties`] can be made from, to check it like any body.
pub trait Body: serde::Serialize + private::Sealed {}
impl Body for CreateSubscription {}
impl Body for UpdateSubscription {}

mod private {
    pub trait Sealed {}
    impl Sealed for crate::subscription::CreateSubscription {}
    impl Sealed for crate::subscription::UpdateSubscription {}
}
