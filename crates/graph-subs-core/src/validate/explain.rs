//! The documentation of every [`DiagnosticCode`]: the severity it is reported with, what
//! it means, and a bad and a good example request, checked as if sent at [`EXAMPLE_NOW`].
//!
//! This table is the contract the codes document: `docs/diagnostics.md` is rendered from
//! it ([`super::reference_markdown`]) and `graph-subs check --explain CODE` prints one
//! entry. Tests check that each bad example reports its code and each good example does
//! not, without any error.
//!
//! ```
//! use graph_subs_core::validate::DiagnosticCode;
//!
//! let explained = DiagnosticCode::UrlNotHttps.explanation();
//! let bad = explained.bad.check()?;
//! assert!(bad.iter().any(|d| d.code == DiagnosticCode::UrlNotHttps));
//! assert!(explained.good.check()?.is_empty());
//! # Ok::<(), graph_subs_core::request::BodyError>(())
//! ```

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Context, Diagnostic, DiagnosticCode, Properties, Request, Severity};
use crate::cloud::Cloud;
use crate::permissions::PermissionType;
use crate::request::BodyError;
use DiagnosticCode as C;
use PermissionType::{Application, DelegatedPersonal, DelegatedWork};
use Reported::{Error, ErrorOrWarning, Warning};

/// The time every example is checked at, unless it says otherwise: 2026-11-22T09:00:00Z.
pub const EXAMPLE_NOW: DateTime<Utc> = utc(2026, 11, 22, 9, 0, 0);

/// A UTC time, for the table; a wrong date fails the build.
const fn utc(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(year, month, day)
        .expect("a valid date")
        .and_hms_opt(hour, minute, second)
        .expect("a valid time")
        .and_utc()
}

/// The severity a code is reported with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reported {
    /// Always an error.
    Error,
    /// Always a warning.
    Warning,
    /// An error or a warning, depending on the context: the explanation says when.
    ErrorOrWarning,
}

impl Reported {
    /// `error`, `warning` or `error or warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reported::Error => "error",
            Reported::Warning => "warning",
            Reported::ErrorOrWarning => "error or warning",
        }
    }

    /// Whether a diagnostic of this severity fits.
    pub fn allows(self, severity: Severity) -> bool {
        matches!(
            (self, severity),
            (Reported::Error, Severity::Error)
                | (Reported::Warning, Severity::Warning)
                | (Reported::ErrorOrWarning, _)
        )
    }
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to check, with what the check needs besides the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// A create or an update.
    pub request: Request,
    /// The permission type it is sent with, when the example depends on it.
    pub permission_type: Option<PermissionType>,
    /// The national cloud it goes to.
    pub cloud: Cloud,
    /// For an update: the resource of the subscription being updated.
    pub subscription_resource: Option<&'static str>,
    /// The time it is checked at: [`EXAMPLE_NOW`] unless the example is about time.
    pub now: DateTime<Utc>,
    /// The JSON body, as written in this table (see [`Example::json`]).
    pub body: &'static str,
}

impl Example {
    /// A create (`POST /subscriptions`) of `body`, at [`EXAMPLE_NOW`], in the global
    /// cloud, with no permission type.
    pub const fn create(body: &'static str) -> Example {
        Example {
            request: Request::Create,
            permission_type: None,
            cloud: Cloud::Global,
            subscription_resource: None,
            now: EXAMPLE_NOW,
            body,
        }
    }

    /// An update (`PATCH /subscriptions/{id}`) of a subscription on `resource` (`None`:
    /// not known to the check).
    pub const fn update(resource: Option<&'static str>, body: &'static str) -> Example {
        Example {
            request: Request::Update,
            subscription_resource: resource,
            ..Example::create(body)
        }
    }

    /// The same example, sent with `permission_type`.
    pub const fn auth(self, permission_type: PermissionType) -> Example {
        Example {
            permission_type: Some(permission_type),
            ..self
        }
    }

    /// The same example, sent to `cloud`.
    pub const fn cloud(self, cloud: Cloud) -> Example {
        Example { cloud, ..self }
    }

    /// The same example, checked at `now`.
    pub const fn at(self, now: DateTime<Utc>) -> Example {
        Example { now, ..self }
    }

    /// The context the example is checked in.
    pub fn context(&self) -> Context {
        Context {
            now: self.now,
            permission_type: self.permission_type,
            cloud: self.cloud,
            subscription_resource: self.subscription_resource.map(str::to_owned),
            allow_http_loopback: false,
        }
    }

    /// The body as properties.
    pub fn properties(&self) -> Result<Properties, BodyError> {
        Properties::from_json(self.body.as_bytes())
    }

    /// What [`super::check`] reports on the example.
    pub fn check(&self) -> Result<Vec<Diagnostic>, BodyError> {
        Ok(super::check(
            self.request,
            &self.properties()?,
            &self.context(),
        ))
    }

    /// The body as shown: the table's indentation removed, no blank line around it.
    pub fn json(&self) -> String {
        dedent(self.body)
    }

    /// The arguments `graph-subs check FILE` takes to check the example as
    /// [`Example::check`] does: `--op update`, `--resource`, `--auth`, `--cloud` when they
    /// differ from the defaults, and always `--now`.
    pub fn arguments(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.request == Request::Update {
            args.extend(["--op".to_owned(), "update".to_owned()]);
        }
        if let Some(resource) = self.subscription_resource {
            args.extend(["--resource".to_owned(), resource.to_owned()]);
        }
        if let Some(permission_type) = self.permission_type {
            args.extend(["--auth".to_owned(), permission_type.as_str().to_owned()]);
        }
        if self.cloud != Cloud::Global {
            args.extend(["--cloud".to_owned(), self.cloud.as_str().to_owned()]);
        }
        args.extend(["--now".to_owned(), crate::lifetime::rfc3339(self.now)]);
        args
    }

    /// The command line that checks the example, its body in `file`, quoted for a POSIX
    /// shell: `graph-subs check request.json --now 2026-11-22T09:00:00Z`.
    pub fn command_line(&self, file: &str) -> String {
        let mut line = format!("graph-subs check {}", shell_quoted(file));
        for arg in self.arguments() {
            line.push(' ');
            line.push_str(&shell_quoted(&arg));
        }
        line
    }

    /// Whether `graph-subs check` accepts the example's `--now`: it refuses a time whose
    /// expirations RFC 3339 cannot write (see [`DiagnosticCode::TimeOutOfRange`]).
    pub fn command_accepts_now(&self) -> bool {
        self.now <= crate::lifetime::latest_supported_now()
    }
}

/// One code's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    /// The code.
    pub code: DiagnosticCode,
    /// The severity it is reported with.
    pub severity: Reported,
    /// What Graph does, why it matters and how to fix it, in one paragraph.
    pub text: &'static str,
    /// A request that reports the code.
    pub bad: Example,
    /// The same request, fixed: it does not report the code, nor any error.
    pub good: Example,
}

/// `text` with its first line trimmed, and the indentation its other lines share removed.
fn dedent(text: &str) -> String {
    let text = text.trim_matches('\n');
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().trim_start();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = first.to_owned();
    for line in rest {
        out.push('\n');
        out.push_str(line.get(indent..).unwrap_or_else(|| line.trim_start()));
    }
    out
}

/// `word` as a POSIX shell reads it back: bare when it holds only safe characters, else
/// in single quotes.
fn shell_quoted(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:@,=+%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// After the last day RFC 3339 can serve as `now` (see [`crate::lifetime::latest_supported_now`]).
const FAR_FUTURE: DateTime<Utc> = utc(9999, 12, 20, 0, 0, 0);

impl DiagnosticCode {
    /// The code's documentation: severity, explanation, a bad and a good example.
    pub fn explanation(self) -> &'static Explanation {
        // The table follows the declaration order of the codes (checked when compiling).
        &EXPLANATIONS[self as usize]
    }
}

/// Every code's documentation, one entry per code, in [`DiagnosticCode::ALL`] order.
static EXPLANATIONS: [Explanation; DiagnosticCode::ALL.len()] = [
    Explanation {
        code: C::MissingProperty,
        severity: Error,
        text: "A create (`POST /subscriptions`) must give `changeType`, `notificationUrl`, \
            `resource` and `expirationDateTime`; Graph refuses a body without one of them. A \
            property whose value is `null` counts as missing. Property names compare without \
            regard to case, so `ChangeType` is `changeType`. An update needs none of them, but at \
            least one of `expirationDateTime` and `notificationUrl` (see \
            `update-needs-expiration-or-url`).",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/mailFolders/inbox/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::WrongType,
        severity: Error,
        text: "Every property of a subscription is a JSON string, except `includeResourceData`, \
            which is `true` or `false`. Graph cannot read a value of another type (a quoted \
            `\"true\"`, a number, an array) and refuses the request. `null` is no wrong type: it \
            counts as absent (so a required property set to `null` is missing). Write the value \
            with its JSON type.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": "true",
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2026"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true,
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2026"
            }"#,
        ),
    },
    Explanation {
        code: C::UnknownProperty,
        severity: Error,
        text: "A subscription is not an open type: Graph refuses a body with a property it does \
            not declare, answering 400 `InvalidRequest` \"Could not process subscription creation \
            payload. Are all property names spelled and camelCased properly?\" (or, through some \
            services, \"The property ... does not exist on type ...\"), after the fact and \
            without naming the property. A misspelled `clientState` is the classic case. Names \
            compare without regard to case, and OData annotations such as `@odata.type` are not \
            reported. The hint names the closest property, and any invisible or look-alike \
            character in the name. After 20 unknown properties, one more error counts the rest.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientSate": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::DuplicateProperty,
        severity: Warning,
        text: "The body names a property twice, and Graph compares property names without regard \
            to case, so `clientState` and `ClientState` are one property. graph-subs checks the \
            last value, as most JSON readers keep it; whichever value Graph keeps, the other one \
            is lost. Keep one of them.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue",
                "ClientState": "anotherSecretValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "anotherSecretValue"
            }"#,
        ),
    },
    Explanation {
        code: C::ReadOnlyProperty,
        severity: Warning,
        text: "`id`, `applicationId` and `creatorId` are set by Graph: the id when it creates the \
            subscription, the application and the creator (the signed-in user, or the service \
            principal) from the caller. A request cannot set them; they usually come from a body \
            copied out of a Get or List answer. Remove them.",
        bad: Example::create(
            r#"{
                "id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UpdateCannotSet,
        severity: Error,
        text: "An update (`PATCH /subscriptions/{id}`) cannot add or change \
            `lifecycleNotificationUrl`, nor change the `resource` (and with it the payment model); \
            Graph refuses it. To change them, create a new subscription with the new values, then \
            delete the old one.",
        bad: Example::update(
            Some("teams/fbe2bf47-16c8-47cf-b4a5-4b9b187c508b/channels"),
            r#"{
                "expirationDateTime": "2026-11-24T09:00:00Z",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle"
            }"#,
        ),
        good: Example::update(
            Some("teams/fbe2bf47-16c8-47cf-b4a5-4b9b187c508b/channels"),
            r#"{
                "expirationDateTime": "2026-11-24T09:00:00Z"
            }"#,
        ),
    },
    Explanation {
        code: C::UpdateIgnored,
        severity: Warning,
        text: "An update changes only `expirationDateTime` (a renewal), `notificationUrl`, and the \
            encryption certificate (`encryptionCertificate` with `encryptionCertificateId`). Graph \
            ignores the other properties a create accepts, such as `clientState`, `changeType` or \
            `includeResourceData`: the subscription keeps its old values while the request seems \
            to succeed. To change them, create a new subscription, then delete this one.",
        bad: Example::update(
            Some("me/messages"),
            r#"{
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "newSecretValue"
            }"#,
        ),
        good: Example::update(
            Some("me/messages"),
            r#"{
                "expirationDateTime": "2026-11-23T08:00:00Z"
            }"#,
        ),
    },
    Explanation {
        code: C::UpdateNeedsExpirationOrUrl,
        severity: Error,
        text: "An update must set `expirationDateTime` (to renew the subscription), \
            `notificationUrl`, or both. Otherwise Graph answers \"Subscription must contain either \
            the 'expirationDateTime' or 'notificationUrl' property and its value.\", even when the \
            update rotates the encryption certificate: send the new certificate with a renewal.",
        bad: Example::update(
            Some("me/messages"),
            r#"{
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2027"
            }"#,
        ),
        good: Example::update(
            Some("me/messages"),
            r#"{
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2027"
            }"#,
        ),
    },
    Explanation {
        code: C::CertificateRotationIncomplete,
        severity: Error,
        text: "Rotating the certificate Graph encrypts resource data with takes both \
            `encryptionCertificate` (the new public key) and `encryptionCertificateId` (the id \
            Graph sends back with each notification, for your endpoint to pick the private key) in \
            the same update. With only one of them, the id and the certificate no longer go \
            together. Add the missing one.",
        bad: Example::update(
            Some("me/messages"),
            r#"{
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI="
            }"#,
        ),
        good: Example::update(
            Some("me/messages"),
            r#"{
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2027"
            }"#,
        ),
    },
    Explanation {
        code: C::PaymentModelChange,
        severity: Error,
        text: "The payment model of a Teams limited API (`model=A` or `model=B` in the resource's \
            query string) is set when the subscription is created: an update cannot add, change or \
            remove it, and cannot change the resource at all (so `update-cannot-set` comes with \
            this code). Create a new subscription with the new model, then delete the old one. \
            Microsoft stopped metering the Teams limited APIs on 2025-08-25 and Graph now ignores \
            `model`; graph-subs checks the documented rule.",
        bad: Example::update(
            Some("chats/getAllMessages?model=A"),
            r#"{
                "expirationDateTime": "2026-11-24T09:00:00Z",
                "resource": "chats/getAllMessages?model=B"
            }"#,
        ),
        good: Example::update(
            Some("chats/getAllMessages?model=A"),
            r#"{
                "expirationDateTime": "2026-11-24T09:00:00Z"
            }"#,
        ),
    },
    Explanation {
        code: C::SubscriptionResourceUnknown,
        severity: Warning,
        text: "An update body does not say which resource the subscription watches, and maximum \
            lifetimes depend on it (10,080 minutes for Outlook messages, 60 for presence...). \
            Without it, a new `expirationDateTime` is only checked to be in the future, and the \
            resource's other rules (cloud, permission type, payment model) are not checked. Give \
            the resource of the subscription being updated: `--resource` on the command line, \
            `Context::subscription_resource` in the library.",
        bad: Example::update(
            None,
            r#"{
                "expirationDateTime": "2026-11-23T08:00:00Z"
            }"#,
        ),
        good: Example::update(
            Some("me/messages"),
            r#"{
                "expirationDateTime": "2026-11-23T08:00:00Z"
            }"#,
        ),
    },
    Explanation {
        code: C::InvalidResource,
        severity: Error,
        text: "`resource` is a path relative to the Microsoft Graph root, such as `me/messages`, \
            `users/{id}/mailFolders('Inbox')/messages` or `chats/getAllMessages?model=B`: no \
            `https://graph.microsoft.com/v1.0/` and no API version in front, no empty segment, no \
            white space, parentheses and quotes closed. Graph refuses a path it cannot read. The \
            message names the part at fault, and the hint how to write it.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "https://graph.microsoft.com/v1.0/me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UnknownResource,
        severity: Error,
        text: "The path is well formed but names no resource that supports change notifications: a \
            misspelled segment, or a resource Graph cannot subscribe to. Graph refuses the \
            subscription. The hint lists the closest resources graph-subs knows; segments compare \
            without regard to case, and `me` stands for `users/{id}`. `graph-subs explain \
            RESOURCE` shows what a resource supports.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/mesages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::ResourceWhitespace,
        severity: Error,
        text: "Spaces, tabs or line breaks before or after `resource` (often brought in by copying \
            a path out of a document) are part of the value Graph receives, and make it a path \
            that names nothing. Remove them.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": " me/messages\n",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::ResourcePlaceholder,
        severity: Error,
        text: "The documentation writes resources with placeholders: `users/{id}/messages`, \
            `teams/{team-id}/channels`. Sent as is, `{id}` is not an id, and the subscription \
            cannot watch anything. Replace each placeholder with the id of the resource to watch \
            (for a user, the id or the user principal name; or `me` for the signed-in user).",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "users/{id}/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "users/48d31887-5fad-4d73-a9f5-3c356e68a038/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::InvalidChangeType,
        severity: Error,
        text: "`changeType` is one or more of `created`, `updated` and `deleted`, in lower case, \
            separated by commas, each at most once: `created,updated`. Graph refuses anything \
            else: an empty value, an empty item, an unknown word (Graph says `updated`, not \
            `modified`), a type given twice.",
        bad: Example::create(
            r#"{
                "changeType": "created,modified",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::ChangeTypeNotSupported,
        severity: Error,
        text: "Each resource notifies only some kinds of change: OneDrive folders, SharePoint \
            lists and presence only `updated`; users and groups `updated` and `deleted`; call \
            records, recordings and transcripts only `created`; webinars `created` and `updated`. \
            Graph refuses a subscription that asks for another. The hint lists what the resource \
            notifies; `graph-subs explain RESOURCE` shows it too.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/drive/root",
                "expirationDateTime": "2026-11-25T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/drive/root",
                "expirationDateTime": "2026-11-25T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::InvalidUrl,
        severity: Error,
        text: "`notificationUrl` and `lifecycleNotificationUrl` are absolute URLs in one of \
            Graph's three forms: a webhook `https://host/path`, an Azure Event Hubs destination \
            `EventHub:https://...`, or an Azure Event Grid partner topic \
            `EventGrid:?azuresubscriptionid=...&resourcegroup=...&partnertopic=...&location=...`. \
            Graph refuses anything else. The message says what is wrong: no scheme, no host, an \
            empty label in the host name, a port out of range, white space or an invisible \
            character. URLs are quoted with their credentials and query values hidden.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UrlNotHttps,
        severity: Error,
        text: "Graph delivers notifications only to HTTPS endpoints, and refuses a subscription \
            whose `notificationUrl` or `lifecycleNotificationUrl` uses `http://` or any other \
            scheme (an `EventHub:` destination too). Serve the endpoint over HTTPS with a valid \
            certificate; while developing, a tunnel gives a local endpoint a public HTTPS address.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "http://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UrlLoopback,
        severity: Warning,
        text: "`localhost`, `127.0.0.0/8` and `::1` are the machine that reads the URL: Graph, in \
            Microsoft's cloud, cannot reach them, so the validation request never arrives and the \
            subscription is not created. It is a warning, not an error, because a local emulator \
            can deliver there. Against a real tenant, use a public HTTPS endpoint, or a tunnel to \
            this machine.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://localhost:7071/api/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/api/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UrlPrivateAddress,
        severity: Warning,
        text: "Private network addresses (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, the \
            shared `100.64.0.0/10`, IPv6 `fc00::/7`) are reachable only inside their own network, \
            not from Graph on the internet: the validation request never arrives. Use a public \
            HTTPS host name, or a reverse proxy or tunnel that forwards to this address. Only \
            addresses written in the URL are classified; host names are never resolved.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://192.168.1.20:8443/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com:8443/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UrlLinkLocal,
        severity: Warning,
        text: "Link-local addresses (`169.254.0.0/16`, `fe80::/10`) reach only the network segment \
            they are on; in a cloud virtual machine, `169.254.169.254` is the metadata service, \
            not a webhook. Graph cannot reach them. Use a public HTTPS endpoint.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://169.254.10.20/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UrlUnreachableAddress,
        severity: Error,
        text: "Some addresses name no endpoint anyone can reach: the unspecified address \
            (`0.0.0.0`, `::`, what a server listens on, not what a client connects to), the \
            broadcast address `255.255.255.255`, and multicast addresses. No notification can be \
            delivered there. Use the public host name of the endpoint.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://0.0.0.0:8443/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com:8443/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UrlCredentials,
        severity: Warning,
        text: "A user name or password in the URL (`https://user:password@host/...`) travels with \
            the subscription: List subscriptions returns `notificationUrl` to every caller who can \
            see the subscription, so the credentials are exposed. Remove them, and authenticate \
            notifications by checking `clientState` in each one (and, for rich notifications, the \
            validation tokens). Messages never show the credentials: URLs are quoted redacted.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://graph:hunter2@webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UrlFragment,
        severity: Warning,
        text: "A `#fragment` is never sent in an HTTP request: the endpoint never sees it, so \
            whatever it carries (a tenant, a routing key) is lost. Put it in the path or the query \
            string, which Graph keeps.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify#contoso",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify?tenant=contoso",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::EventGridParameterMissing,
        severity: Error,
        text: "Graph delivers to an Azure Event Grid partner topic through a URL written \
            `EventGrid:?azuresubscriptionid=...&resourcegroup=...&partnertopic=...&location=...`, \
            and needs all four parameters, each with a value, to name the topic. Add the missing \
            one.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "EventGrid:?azuresubscriptionid=8aa51b3c-0f26-4c39-a5b4-0a5e1e1f7a2d&resourcegroup=rg-graph-events&partnertopic=mail-changes",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "EventGrid:?azuresubscriptionid=8aa51b3c-0f26-4c39-a5b4-0a5e1e1f7a2d&resourcegroup=rg-graph-events&partnertopic=mail-changes&location=westeurope",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::InvalidExpiration,
        severity: Error,
        text: "`expirationDateTime` is an RFC 3339 date and time with its offset, best in UTC: \
            `2026-11-23T18:23:45Z` (fractions of a second are allowed). Graph refuses a time \
            without an offset, a date alone, or words such as `tomorrow`. Compute the time in UTC \
            and write it with `Z`.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23 09:00",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::ExpirationNotInFuture,
        severity: Error,
        text: "The expiration is at or before the time the request is sent (`--now`, by default \
            the current time): Graph refuses to create or renew a subscription that has already \
            expired. An expiration copied from an earlier request is the usual cause. The hint \
            gives the latest expiration the resource allows.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-21T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::ExpirationBeyondMaximum,
        severity: Error,
        text: "Each resource has a maximum lifetime: 10,080 minutes (7 days) for Outlook messages, \
            events and contacts, 1,440 when they include resource data; 4,320 for most Teams \
            resources; 60 for presence; 41,760 for users and groups; 42,300 for OneDrive and \
            SharePoint lists. Graph refuses an expiration further from now than that. Ask for at \
            most the maximum, and renew before it expires; `graph-subs explain RESOURCE` shows the \
            lifetime, the latest expiration and the date the lifetimes were last checked.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-12-22T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-29T08:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::ExpirationBeyondRichMaximum,
        severity: Warning,
        text: "An Outlook subscription (messages, events, contacts) lives at most 10,080 minutes, \
            but only 1,440 when it includes resource data. An update body does not say whether the \
            subscription includes resource data, so a renewal of an Outlook subscription beyond \
            1,440 minutes is a warning: Graph refuses it if the subscription includes resource \
            data. Renew such subscriptions at most 1,440 minutes ahead.",
        bad: Example::update(
            Some("me/messages"),
            r#"{
                "expirationDateTime": "2026-11-25T09:00:00Z"
            }"#,
        ),
        good: Example::update(
            Some("me/messages"),
            r#"{
                "expirationDateTime": "2026-11-23T08:00:00Z"
            }"#,
        ),
    },
    Explanation {
        code: C::ExpirationRaised,
        severity: Warning,
        text: "Graph raises an `expirationDateTime` less than 45 minutes from now to 45 minutes \
            from now: the subscription lives longer than asked, which matters only if you count on \
            it ending. Ask for 45 minutes or more, and delete the subscription when you no longer \
            need it.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-22T09:15:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-22T10:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::TimeOutOfRange,
        severity: Error,
        text: "Times are written in RFC 3339, whose years end at 9999. A request checked as if \
            sent less than 30 days (the longest lifetime of any resource) before the end of 9999, \
            or before the year 0, gives expirations RFC 3339 cannot write, so nothing else is \
            checked. `graph-subs check` refuses such a `--now` as bad usage (exit status 2) before \
            it checks anything: only programs that call the library get this code. Check as if \
            sent at a real time.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .at(FAR_FUTURE),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::LifecycleUrlRequired,
        severity: Error,
        text: "Graph sends lifecycle notifications (reauthorization required, subscription \
            removed, missed notifications) to a subscription's `lifecycleNotificationUrl`. On \
            Microsoft Teams resources (chats, channels, messages, members, meetings, Shifts, \
            webinars...), a subscription that expires more than an hour from now must have one, \
            and Graph refuses it without. Add an HTTPS `lifecycleNotificationUrl` (it may be the \
            same endpoint), or expire within the hour. It must be given at creation: an update \
            cannot add it.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated,deleted",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "teams/fbe2bf47-16c8-47cf-b4a5-4b9b187c508b/channels",
                "expirationDateTime": "2026-11-24T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created,updated,deleted",
                "notificationUrl": "https://webhook.example.com/notify",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle",
                "resource": "teams/fbe2bf47-16c8-47cf-b4a5-4b9b187c508b/channels",
                "expirationDateTime": "2026-11-24T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::ClientStateTooLong,
        severity: Error,
        text: "`clientState` is a secret Graph sends back in each notification, for your endpoint \
            to check that the notification is genuine. The subscription resource's documentation \
            accepts at most 128 characters (its change notification page says 255); graph-subs \
            holds to 128. Use a shorter secret, or a key to one kept on your side. Messages never \
            quote the value.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB1L9RIvNEVUxTveLruM0rfj0WAK1jHDhaXXzOI8d4VFmtvBtMkA/+SNV1tdpcY4BAEl9l2w/j4kSUt26phkV9mGCE/tCLl4r019GWp0RqhrWACeY2thHbFi"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB1L9RIvNEVUxTve"
            }"#,
        ),
    },
    Explanation {
        code: C::RichNotificationsNotSupported,
        severity: Error,
        text: "`includeResourceData: true` asks Graph to put the changed resource, encrypted, in \
            each notification (a rich notification). Outlook messages, events and contacts, most \
            Teams resources, presence and Copilot interactions support it; the others (OneDrive, \
            SharePoint lists, users and groups, To Do, Universal Print, security alerts...) send \
            basic notifications only, and Graph refuses the subscription. Remove \
            `includeResourceData`, and fetch the resource when notified.",
        bad: Example::create(
            r#"{
                "changeType": "updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/drive/root",
                "expirationDateTime": "2026-11-25T09:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true,
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2026"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/drive/root",
                "expirationDateTime": "2026-11-25T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::EncryptionRequired,
        severity: Error,
        text: "Resource data in notifications is always encrypted, with a public key you give: a \
            subscription with `includeResourceData: true` needs `encryptionCertificate` (a \
            base64-encoded X.509 certificate with an RSA key of 2,048 to 4,096 bits) and \
            `encryptionCertificateId` (your name for it, sent back with each notification so that \
            your endpoint can pick the private key). Graph refuses the subscription without them; \
            each missing one is reported.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true,
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2026"
            }"#,
        ),
    },
    Explanation {
        code: C::CertificateIdTooLong,
        severity: Error,
        text: "`encryptionCertificateId` names the certificate your endpoint decrypts resource \
            data with; Graph sends it back in each notification. It is at most 128 characters: use \
            a short name, a thumbprint or a version, not a long URL or the certificate itself.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true,
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "https://contoso-notifications.vault.azure.net/certificates/graph-change-notifications-encryption/7c1f3a2b9d8e4f6a8b0c1d2e3f4a5b6c"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true,
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-change-notifications-encryption/7c1f3a2b9d8e4f6a8b0c1d2e3f4a5b6c"
            }"#,
        ),
    },
    Explanation {
        code: C::InvalidCertificate,
        severity: Error,
        text: "`encryptionCertificate` is the certificate itself, DER-encoded then base64-encoded: \
            the text between a PEM file's `-----BEGIN CERTIFICATE-----` and `-----END \
            CERTIFICATE-----` lines, without those lines. Text that is not base64 (PEM header \
            lines, a file name) cannot be a certificate, and Graph refuses it. Messages never \
            quote the value.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true,
                "encryptionCertificate": "-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=\n-----END CERTIFICATE-----",
                "encryptionCertificateId": "graph-notifications-2026"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true,
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2026"
            }"#,
        ),
    },
    Explanation {
        code: C::InvalidTlsVersion,
        severity: Error,
        text: "`latestSupportedTlsVersion` is the newest TLS version your endpoint supports, \
            written `v1_0`, `v1_1`, `v1_2` (the default) or `v1_3`. Graph refuses other spellings, \
            such as `1.2`, `TLS1.2` or `v1.2`.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue",
                "latestSupportedTlsVersion": "v1.3"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue",
                "latestSupportedTlsVersion": "v1_3"
            }"#,
        ),
    },
    Explanation {
        code: C::CloudNotSupported,
        severity: Error,
        text: "Subscriptions exist in the four clouds (global, US Government L4 and L5, China \
            operated by 21Vianet), but not every resource notifies in each: To Do tasks, for one, \
            notify only in the global cloud. Graph in another cloud refuses the subscription. The \
            hint lists the clouds the resource notifies in; `--cloud` says which one the request \
            goes to.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/todo/lists/AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAAD/tasks",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .cloud(Cloud::China),
        good: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/todo/lists/AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAAD/tasks",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::PermissionTypeNotSupported,
        severity: Error,
        text: "Each resource supports some permission types for each operation: delegated with a \
            work or school account, delegated with a personal Microsoft account, application. When \
            the permission type the request is sent with (`--auth`) is not one of them, Graph \
            refuses it. The hint names the permission types that work; `graph-subs permissions \
            RESOURCE` lists the permissions of each.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "users/48d31887-5fad-4d73-a9f5-3c356e68a038/todo/lists/AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAAD/tasks",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .auth(Application),
        good: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/todo/lists/AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAAD/tasks",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .auth(DelegatedWork),
    },
    Explanation {
        code: C::DelegatedOtherMailbox,
        severity: Warning,
        text: "With delegated permissions, an Outlook subscription (messages, events, contacts) \
            reaches only the signed-in user's own mailbox: `users/{id}/...` works only if the id \
            is that user's, and `me/...` always names them. It is a warning because the id may be \
            the signed-in user's. To watch other mailboxes, use application permissions; the \
            shared-mailbox permissions (`Mail.Read.Shared`...) do not extend to subscriptions.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "users/adele.vance@contoso.com/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .auth(DelegatedWork),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .auth(DelegatedWork),
    },
    Explanation {
        code: C::OnedriveBusinessRootOnly,
        severity: ErrorOrWarning,
        text: "OneDrive for Business (and SharePoint document libraries) accept subscriptions on \
            the root folder only: `me/drive/root`, `drives/{id}/root`; a personal OneDrive accepts \
            any folder. So a subscription below the root is an error with delegated work or school \
            permissions or application permissions, a warning when the permission type is not \
            known (no `--auth`), and fine with delegated personal-account permissions. Subscribe \
            to the drive's root, and look for the changes in the folder when notified.",
        bad: Example::create(
            r#"{
                "changeType": "updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/drive/items/01BYE5RZ6QN3ZWBTUFOFD3GSPGOHDJD36K",
                "expirationDateTime": "2026-11-25T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .auth(DelegatedWork),
        good: Example::create(
            r#"{
                "changeType": "updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/drive/root",
                "expirationDateTime": "2026-11-25T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .auth(DelegatedWork),
    },
    Explanation {
        code: C::DriveItemLooksLikeAFile,
        severity: Warning,
        text: "Drive subscriptions watch folders: a notification says that something in the folder \
            changed. A path whose last part has an extension (`root:/Reports/q3.xlsx:`) looks like \
            a file, and Graph does not subscribe to single files. It is a warning because a folder \
            name may contain a dot. Subscribe to the folder that holds the file, and look for \
            changes to it when notified.",
        bad: Example::create(
            r#"{
                "changeType": "updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/drive/root:/Reports/q3.xlsx:",
                "expirationDateTime": "2026-11-25T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .auth(DelegatedPersonal),
        good: Example::create(
            r#"{
                "changeType": "updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/drive/root:/Reports:",
                "expirationDateTime": "2026-11-25T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        )
        .auth(DelegatedPersonal),
    },
    Explanation {
        code: C::PaymentModelNotApplicable,
        severity: Warning,
        text: "`model=A` and `model=B` choose the payment model of the Teams limited APIs: \
            `chats/getAllMessages`, `teams/getAllMessages`, `chats/getAllMembers`, \
            `teams/getAllMembers`, a user's `chats/getAllMessages` and the `installedToChats` \
            resources. On any other resource the parameter means nothing. Remove it.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages?model=B",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::EvaluationMode,
        severity: Warning,
        text: "The Teams limited APIs (`chats/getAllMessages`, `teams/getAllMessages`, \
            `chats/getAllMembers`, `teams/getAllMembers`, a user's `chats/getAllMessages`, the \
            `installedToChats` resources) take a payment model in the resource's query string. \
            Without one, the subscription runs in evaluation mode, documented as limited to 500 \
            messages per month per tenant and app. Add the `model` the resource accepts. Microsoft \
            stopped metering these APIs on 2025-08-25 and Graph now ignores `model`; graph-subs \
            checks the documented rule.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle",
                "resource": "chats/getAllMessages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle",
                "resource": "chats/getAllMessages?model=B",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::PaymentModelNotAccepted,
        severity: Error,
        text: "`chats/getAllMessages`, `teams/getAllMessages`, `chats/getAllMembers` and \
            `teams/getAllMembers` accept `model=A` and `model=B`; a user's chats \
            (`users/{id}/chats/getAllMessages`, `me/chats/getAllMessages`) and the \
            `installedToChats` resources accept only `model=B`. Graph refuses another model. \
            Microsoft stopped metering these APIs on 2025-08-25 and Graph now ignores `model`; \
            graph-subs checks the documented rule.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle",
                "resource": "users/48d31887-5fad-4d73-a9f5-3c356e68a038/chats/getAllMessages?model=A",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle",
                "resource": "users/48d31887-5fad-4d73-a9f5-3c356e68a038/chats/getAllMessages?model=B",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UserSpecificPropertiesNotSupported,
        severity: Error,
        text: "`notifyOnUserSpecificProperties=true` in the resource's query string asks Graph to \
            notify changes to the user-specific properties of chats too. It applies to one chat \
            (`chats/{id}`) or to the chats of a user (`users/{id}/chats`), and Graph refuses it on \
            any other resource. Remove it, or subscribe to one of those.",
        bad: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle",
                "resource": "chats/getAllMessages?model=B&notifyOnUserSpecificProperties=true",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created,updated",
                "notificationUrl": "https://webhook.example.com/notify",
                "lifecycleNotificationUrl": "https://webhook.example.com/lifecycle",
                "resource": "users/48d31887-5fad-4d73-a9f5-3c356e68a038/chats?notifyOnUserSpecificProperties=true",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
    Explanation {
        code: C::UnknownQueryParameter,
        severity: Warning,
        text: "Graph reads few query parameters in a subscription's `resource`: OData options such \
            as `$filter`, `model` for the Teams limited APIs, and `notifyOnUserSpecificProperties` \
            for chats. Any other parameter means nothing to it, and is most often a typo (`filter` \
            for `$filter`) or a property of the subscription put in the wrong place. Remove it, or \
            correct it.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages?includeResourceData=true",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T08:00:00Z",
                "clientState": "secretClientValue",
                "includeResourceData": true,
                "encryptionCertificate": "MIIDBTCCAe2gAwIBAgIQN7xAuDPVuOebmH4dITEHwR77KjzhT5i7N2miQJfpDgQmBimEMugGayniIjvMI6qVBLVq5Qj6vzQ1UIhpucMZDiI=",
                "encryptionCertificateId": "graph-notifications-2026"
            }"#,
        ),
    },
    Explanation {
        code: C::QueryOptionsIgnored,
        severity: Warning,
        text: "`notificationQueryOptions` carries OData query options for Universal Print \
            resources (printers' jobs, print task definitions' tasks) only; on any other resource \
            Graph ignores it, and the notifications are not filtered. Remove it.",
        bad: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue",
                "notificationQueryOptions": "$filter=isRead eq false"
            }"#,
        ),
        good: Example::create(
            r#"{
                "changeType": "created",
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z",
                "clientState": "secretClientValue"
            }"#,
        ),
    },
];

// `ALL` and the table list the codes in their declaration order, so that `explanation`
// finds a code's entry at its position: a table out of order fails the build.
const _: () = {
    let mut i = 0;
    while i < DiagnosticCode::ALL.len() {
        assert!(
            DiagnosticCode::ALL[i] as usize == i,
            "ALL follows the declaration order"
        );
        assert!(
            EXPLANATIONS[i].code as usize == i,
            "EXPLANATIONS follows ALL"
        );
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(diagnostics: &[Diagnostic]) -> Vec<DiagnosticCode> {
        diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn every_code_has_its_entry() {
        for code in DiagnosticCode::ALL {
            let explained = code.explanation();
            assert_eq!(
                explained.code, code,
                "the entry of {code} names another code"
            );
            assert!(!explained.text.trim().is_empty(), "{code} is not explained");
            assert!(
                explained.text.ends_with('.'),
                "{code}: end the text with a period"
            );
        }
    }

    #[test]
    fn every_bad_example_reports_its_code_with_its_severity() {
        let mut failures = Vec::new();
        for code in DiagnosticCode::ALL {
            let explained = code.explanation();
            let diagnostics = match explained.bad.check() {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{code}: the bad body is not JSON: {e}"));
                    continue;
                }
            };
            let reported: Vec<&Diagnostic> =
                diagnostics.iter().filter(|d| d.code == code).collect();
            if reported.is_empty() {
                failures.push(format!(
                    "{code}: the bad example reports {:?}",
                    codes(&diagnostics)
                ));
            }
            for d in reported {
                if !explained.severity.allows(d.severity) {
                    failures.push(format!(
                        "{code}: documented as {}, reported as {}",
                        explained.severity, d.severity
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn every_good_example_is_clean_of_its_code_and_of_errors() {
        let mut failures = Vec::new();
        for code in DiagnosticCode::ALL {
            let good = code.explanation().good;
            match good.check() {
                Err(e) => failures.push(format!("{code}: the good body is not JSON: {e}")),
                Ok(diagnostics) => {
                    if diagnostics
                        .iter()
                        .any(|d| d.code == code || d.severity == Severity::Error)
                    {
                        failures.push(format!(
                            "{code}: the good example reports {:?}",
                            codes(&diagnostics)
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// A body's resource never holds a documentation placeholder, except where that is
    /// the point; good examples use public HTTPS endpoints.
    #[test]
    fn examples_are_realistic() {
        for code in DiagnosticCode::ALL {
            let explained = code.explanation();
            for (which, example) in [("bad", explained.bad), ("good", explained.good)] {
                let body = example.properties().unwrap();
                if code != C::ResourcePlaceholder {
                    let resource = body.string("resource").unwrap_or_default();
                    assert!(!resource.contains('{'), "{code} {which}: {resource}");
                }
                if which == "good"
                    && let Some(url) = body.string("notificationUrl")
                {
                    assert!(
                        url.starts_with("https://") || url.starts_with("EventGrid:?"),
                        "{code}: {url}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_onedrive_code_is_an_error_or_a_warning_as_documented() {
        let bad = C::OnedriveBusinessRootOnly.explanation().bad;
        let severity = |example: Example| {
            example
                .check()
                .unwrap()
                .into_iter()
                .find(|d| d.code == C::OnedriveBusinessRootOnly)
                .map(|d| d.severity)
        };
        assert_eq!(severity(bad.auth(DelegatedWork)), Some(Severity::Error));
        assert_eq!(severity(bad.auth(Application)), Some(Severity::Error));
        assert_eq!(
            severity(Example {
                permission_type: None,
                ..bad
            }),
            Some(Severity::Warning)
        );
        assert_eq!(severity(bad.auth(DelegatedPersonal)), None);
    }

    #[test]
    fn arguments_and_command_lines() {
        let example = C::PaymentModelChange.explanation().bad;
        assert_eq!(
            example.command_line("request.json"),
            "graph-subs check request.json --op update --resource 'chats/getAllMessages?model=A' --now 2026-11-22T09:00:00Z"
        );
        let example = C::CloudNotSupported.explanation().bad;
        assert_eq!(
            example.arguments(),
            ["--cloud", "china", "--now", "2026-11-22T09:00:00Z"]
        );
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
        assert_eq!(shell_quoted(""), "''");
        assert!(!C::TimeOutOfRange.explanation().bad.command_accepts_now());
        assert!(C::TimeOutOfRange.explanation().good.command_accepts_now());
    }

    #[test]
    fn bodies_are_shown_without_the_table_indentation() {
        assert_eq!(
            dedent("{\n        \"a\": 1,\n        \"b\": 2\n    }"),
            "{\n    \"a\": 1,\n    \"b\": 2\n}"
        );
        assert_eq!(dedent("\n{}\n"), "{}");
    }
}
