//! Every validation rule, with a request that passes it and one that breaks it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use graph_subs_core::cloud::Cloud;
use graph_subs_core::permissions::PermissionType;
use graph_subs_core::validate::{Context, Diagnostic, Properties, Request, Severity, Value, check};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

fn at(minutes: i64) -> Value {
    Value::String((now() + Duration::minutes(minutes)).to_rfc3339())
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

/// A request to check: a body, a context, and the request kind.
#[derive(Clone)]
struct Req {
    request: Request,
    body: Properties,
    ctx: Context,
}

/// A valid create request on `resource`, expiring in `minutes`.
fn create(resource: &str, minutes: i64) -> Req {
    Req {
        request: Request::Create,
        body: [
            ("changeType", s("created,updated")),
            ("notificationUrl", s("https://webhook.example.com/notify")),
            ("resource", s(resource)),
            ("expirationDateTime", at(minutes)),
            ("clientState", s("secretClientValue")),
        ]
        .into_iter()
        .collect(),
        ctx: Context::new(now()),
    }
}

/// A valid renewal of a subscription on `resource`.
fn update(resource: &str, minutes: i64) -> Req {
    let mut ctx = Context::new(now());
    ctx.subscription_resource = Some(resource.into());
    Req {
        request: Request::Update,
        body: [("expirationDateTime", at(minutes))].into_iter().collect(),
        ctx,
    }
}

impl Req {
    fn set(mut self, name: &str, value: Value) -> Req {
        self.body.insert(name, value);
        self
    }
    fn without(mut self, name: &str) -> Req {
        self.body.insert(name, Value::Null);
        self
    }
    fn auth(mut self, t: PermissionType) -> Req {
        self.ctx.permission_type = Some(t);
        self
    }
    fn cloud(mut self, c: Cloud) -> Req {
        self.ctx.cloud = c;
        self
    }
    fn unknown_subscription(mut self) -> Req {
        self.ctx.subscription_resource = None;
        self
    }
    fn rich(self) -> Req {
        self.set("includeResourceData", Value::Bool(true))
            .set("encryptionCertificate", s("MIIBszCCAVmgAwIBAgIUK2k="))
            .set("encryptionCertificateId", s("cert-2026"))
    }
    fn diagnostics(&self) -> Vec<Diagnostic> {
        check(self.request, &self.body, &self.ctx)
    }
}

use PermissionType::{Application, DelegatedPersonal, DelegatedWork};

/// (rule, passing request, failing request, expected code, expected severity)
fn cases() -> Vec<(&'static str, Req, Req, &'static str, Severity)> {
    use Severity::{Error, Warning};
    let teams_ok = create("chats/AAMkAGI2/messages", 2 * 60).set(
        "lifecycleNotificationUrl",
        s("https://webhook.example.com/lifecycle"),
    );
    vec![
        (
            "required properties",
            create("me/messages", 60),
            create("me/messages", 60).without("resource"),
            "missing-property",
            Error,
        ),
        (
            "property types",
            create("me/messages", 60),
            create("me/messages", 60).set("includeResourceData", s("yes")),
            "wrong-type",
            Error,
        ),
        (
            "unknown properties",
            create("me/messages", 60),
            create("me/messages", 60).set("expirationDate", at(60)),
            "unknown-property",
            Error,
        ),
        (
            "read-only properties",
            create("me/messages", 60),
            create("me/messages", 60).set("id", s("x")),
            "read-only-property",
            Warning,
        ),
        (
            "resource syntax",
            create("me/messages", 60),
            create("me//messages", 60),
            "invalid-resource",
            Error,
        ),
        (
            "known resources",
            create("me/events", 60),
            create("me/notes", 60),
            "unknown-resource",
            Error,
        ),
        (
            "change type syntax",
            create("me/messages", 60),
            create("me/messages", 60).set("changeType", s("created,modified")),
            "invalid-change-type",
            Error,
        ),
        (
            "change types per resource",
            create("me/drive/root", 60).set("changeType", s("updated")),
            create("me/drive/root", 60),
            "change-type-not-supported",
            Error,
        ),
        (
            "user and group: updated, deleted",
            create("users", 60).set("changeType", s("updated,deleted")),
            create("users", 60),
            "change-type-not-supported",
            Error,
        ),
        (
            "HTTPS notification URL",
            create("me/messages", 60),
            create("me/messages", 60).set("notificationUrl", s("http://webhook.example.com/n")),
            "url-not-https",
            Error,
        ),
        (
            "HTTPS lifecycle URL",
            create("me/messages", 60).set("lifecycleNotificationUrl", s("https://h.example.com/l")),
            create("me/messages", 60).set("lifecycleNotificationUrl", s("http://h.example.com/l")),
            "url-not-https",
            Error,
        ),
        (
            "loopback URL",
            create("me/messages", 60),
            create("me/messages", 60).set("notificationUrl", s("https://127.0.0.1:8443/n")),
            "url-loopback",
            Warning,
        ),
        (
            "absolute URL",
            create("me/messages", 60),
            create("me/messages", 60).set("notificationUrl", s("webhook/notify")),
            "invalid-url",
            Error,
        ),
        (
            "clientState length",
            create("me/messages", 60).set("clientState", s(&"k".repeat(128))),
            create("me/messages", 60).set("clientState", s(&"k".repeat(129))),
            "client-state-too-long",
            Error,
        ),
        (
            "expiration syntax",
            create("me/messages", 60),
            create("me/messages", 60).set("expirationDateTime", s("tomorrow")),
            "invalid-expiration",
            Error,
        ),
        (
            "expiration in the future",
            create("me/messages", 60),
            create("me/messages", -60),
            "expiration-not-in-future",
            Error,
        ),
        (
            "maximum lifetime",
            create("me/messages", 10_080),
            create("me/messages", 10_081),
            "expiration-beyond-maximum",
            Error,
        ),
        (
            "presence: 60 minutes",
            create("communications/presences/AAMkAGI2", 60).set("changeType", s("updated")),
            create("communications/presences/AAMkAGI2", 61).set("changeType", s("updated")),
            "expiration-beyond-maximum",
            Error,
        ),
        (
            "Outlook rich: 1,440 minutes",
            create("me/messages", 1_440).rich(),
            create("me/messages", 1_441).rich(),
            "expiration-beyond-maximum",
            Error,
        ),
        (
            "45-minute floor",
            create("me/messages", 45),
            create("me/messages", 10),
            "expiration-raised",
            Warning,
        ),
        (
            "Teams lifecycle URL beyond an hour",
            teams_ok.clone(),
            create("chats/AAMkAGI2/messages", 2 * 60),
            "lifecycle-url-required",
            Error,
        ),
        (
            "Teams within the hour needs none",
            create("chats/AAMkAGI2/messages", 59),
            create("chats/AAMkAGI2/messages", 61),
            "lifecycle-url-required",
            Error,
        ),
        (
            "resource data needs a certificate",
            create("me/messages", 60).rich(),
            create("me/messages", 60)
                .rich()
                .without("encryptionCertificate"),
            "encryption-required",
            Error,
        ),
        (
            "resource data needs a certificate id",
            create("me/messages", 60).rich(),
            create("me/messages", 60)
                .rich()
                .without("encryptionCertificateId"),
            "encryption-required",
            Error,
        ),
        (
            "an empty certificate is no certificate (Graph writes \"\" for none)",
            create("me/messages", 60).rich(),
            create("me/messages", 60)
                .rich()
                .set("encryptionCertificate", s(""))
                .set("encryptionCertificateId", s("")),
            "encryption-required",
            Error,
        ),
        (
            "presence encrypts resource data",
            create("communications/presences/AAMkAGI2", 50)
                .set("changeType", s("updated"))
                .rich(),
            create("communications/presences/AAMkAGI2", 50)
                .set("changeType", s("updated"))
                .set("includeResourceData", Value::Bool(true)),
            "encryption-required",
            Error,
        ),
        (
            "webinars: basic notifications only",
            create("solutions/virtualEvents/webinars/AAMkAGI2", 50),
            create("solutions/virtualEvents/webinars/AAMkAGI2", 50).rich(),
            "rich-notifications-not-supported",
            Error,
        ),
        (
            "certificate is base64",
            create("me/messages", 60).rich(),
            create("me/messages", 60)
                .rich()
                .set("encryptionCertificate", s("not base64!")),
            "invalid-certificate",
            Error,
        ),
        (
            "certificate id length",
            create("me/messages", 60)
                .rich()
                .set("encryptionCertificateId", s(&"i".repeat(128))),
            create("me/messages", 60)
                .rich()
                .set("encryptionCertificateId", s(&"i".repeat(129))),
            "certificate-id-too-long",
            Error,
        ),
        (
            "TLS version",
            create("me/messages", 60).set("latestSupportedTlsVersion", s("v1_3")),
            create("me/messages", 60).set("latestSupportedTlsVersion", s("v1_4")),
            "invalid-tls-version",
            Error,
        ),
        (
            "todoTask: global cloud only",
            create("me/todo/lists/AAMkAGI2/tasks", 60),
            create("me/todo/lists/AAMkAGI2/tasks", 60).cloud(Cloud::China),
            "cloud-not-supported",
            Error,
        ),
        (
            "other resources: every cloud",
            create("me/messages", 60).cloud(Cloud::UsGovL5),
            create("me/todo/lists/AAMkAGI2/tasks", 60).cloud(Cloud::UsGovL4),
            "cloud-not-supported",
            Error,
        ),
        (
            "permission type per resource",
            create("me/todo/lists/AAMkAGI2/tasks", 60).auth(DelegatedWork),
            create("me/todo/lists/AAMkAGI2/tasks", 60).auth(Application),
            "permission-type-not-supported",
            Error,
        ),
        (
            "delegated Outlook: own mailbox",
            create("me/messages", 60).auth(DelegatedWork),
            create("users/ada@contoso.com/messages", 60).auth(DelegatedWork),
            "delegated-other-mailbox",
            Warning,
        ),
        (
            "OneDrive for Business: root only",
            create("me/drive/items/AAMkAGI2", 60)
                .set("changeType", s("updated"))
                .auth(DelegatedPersonal),
            create("me/drive/items/AAMkAGI2", 60)
                .set("changeType", s("updated"))
                .auth(DelegatedWork),
            "onedrive-business-root-only",
            Error,
        ),
        (
            "OneDrive: folders, not files",
            create("me/drive/root:/Reports:", 60)
                .set("changeType", s("updated"))
                .auth(DelegatedPersonal),
            create("me/drive/root:/Reports/q3.xlsx:", 60)
                .set("changeType", s("updated"))
                .auth(DelegatedPersonal),
            "drive-item-looks-like-a-file",
            Warning,
        ),
        (
            "payment model accepted",
            teams_ok
                .clone()
                .set("resource", s("me/chats/getAllMessages?model=B")),
            teams_ok
                .clone()
                .set("resource", s("me/chats/getAllMessages?model=A")),
            "payment-model-not-accepted",
            Error,
        ),
        (
            "evaluation mode",
            teams_ok
                .clone()
                .set("resource", s("chats/getAllMessages?model=A")),
            teams_ok.clone().set("resource", s("chats/getAllMessages")),
            "evaluation-mode",
            Warning,
        ),
        (
            "model only on limited APIs",
            create("me/messages", 60),
            create("me/messages?model=A", 60),
            "payment-model-not-applicable",
            Warning,
        ),
        (
            "notifyOnUserSpecificProperties: one chat or user level",
            teams_ok.clone().set(
                "resource",
                s("chats/AAMkAGI2?notifyOnUserSpecificProperties=true"),
            ),
            teams_ok.clone().set(
                "resource",
                s("chats/getAllMessages?model=A&notifyOnUserSpecificProperties=true"),
            ),
            "user-specific-properties-not-supported",
            Error,
        ),
        (
            "query parameters",
            create("me/messages", 60),
            create("me/messages?foo=1", 60),
            "unknown-query-parameter",
            Warning,
        ),
        (
            "notificationQueryOptions: Universal Print",
            create("print/printers/AAMkAGI2/jobs", 60)
                .set("notificationQueryOptions", s("$filter=x")),
            create("me/messages", 60).set("notificationQueryOptions", s("$filter=x")),
            "query-options-ignored",
            Warning,
        ),
        // Updates (PATCH).
        (
            "update sets expiration or URL",
            update("me/messages", 60),
            update("me/messages", 60).without("expirationDateTime"),
            "update-needs-expiration-or-url",
            Error,
        ),
        (
            "update cannot add a lifecycle URL",
            update("me/messages", 60),
            update("me/messages", 60).set("lifecycleNotificationUrl", s("https://h.example.com/l")),
            "update-cannot-set",
            Error,
        ),
        (
            "update cannot change the resource",
            update("me/messages", 60),
            update("me/messages", 60).set("resource", s("me/events")),
            "update-cannot-set",
            Error,
        ),
        (
            "update cannot change the model",
            update("chats/getAllMessages?model=A", 50),
            update("chats/getAllMessages?model=A", 50)
                .set("resource", s("chats/getAllMessages?model=B")),
            "payment-model-change",
            Error,
        ),
        (
            "update ignores other properties",
            update("me/messages", 60),
            update("me/messages", 60).set("clientState", s("x")),
            "update-ignored",
            Warning,
        ),
        (
            "certificate rotation takes both",
            update("me/messages", 60)
                .set("encryptionCertificate", s("MIIB"))
                .set("encryptionCertificateId", s("c2")),
            update("me/messages", 60).set("encryptionCertificate", s("MIIB")),
            "certificate-rotation-incomplete",
            Error,
        ),
        (
            "update within the maximum",
            update("communications/presences/AAMkAGI2", 60),
            update("communications/presences/AAMkAGI2", 61),
            "expiration-beyond-maximum",
            Error,
        ),
        (
            "update: resource known",
            update("me/messages", 60),
            update("me/messages", 60).unknown_subscription(),
            "subscription-resource-unknown",
            Warning,
        ),
        (
            "update: Outlook rich maximum",
            update("me/messages", 1_440),
            update("me/messages", 1_441),
            "expiration-beyond-rich-maximum",
            Warning,
        ),
        (
            "update: permission type",
            update("me/todo/lists/AAMkAGI2/tasks", 60).auth(DelegatedPersonal),
            update("me/todo/lists/AAMkAGI2/tasks", 60).auth(Application),
            "permission-type-not-supported",
            Error,
        ),
        (
            "update: HTTPS",
            update("me/messages", 60).set("notificationUrl", s("https://h.example.com/n")),
            update("me/messages", 60).set("notificationUrl", s("http://h.example.com/n")),
            "url-not-https",
            Error,
        ),
    ]
}

#[test]
fn each_rule_passes_a_good_request_and_flags_a_bad_one() {
    let mut failures = Vec::new();
    for (rule, pass, fail, code, severity) in cases() {
        let passing = pass.diagnostics();
        if passing.iter().any(|d| d.code.as_str() == code) {
            failures.push(format!(
                "{rule}: the passing request got `{code}`: {passing:#?}"
            ));
        }
        let failing = fail.diagnostics();
        match failing.iter().find(|d| d.code.as_str() == code) {
            None => failures.push(format!(
                "{rule}: the failing request did not get `{code}`: {failing:#?}"
            )),
            Some(d) if d.severity != severity => failures.push(format!(
                "{rule}: `{code}` is {:?}, expected {severity:?}",
                d.severity
            )),
            Some(d) if d.message.is_empty() => {
                failures.push(format!("{rule}: `{code}` has no message"))
            }
            Some(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_valid_request_has_no_diagnostics() {
    assert_eq!(
        create("me/mailFolders('Inbox')/messages", 3 * 24 * 60).diagnostics(),
        []
    );
    assert_eq!(update("me/messages", 24 * 60).diagnostics(), []);
}

#[test]
fn every_problem_is_reported_at_once() {
    let req = create("me/messages", 20_000)
        .set("notificationUrl", s("http://localhost/n"))
        .set("clientState", s(&"x".repeat(200)))
        .set("changeType", s("created,modified"))
        .set("latestSupportedTlsVersion", s("v2"));
    let codes: Vec<&str> = req.diagnostics().iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "invalid-change-type",
            "url-not-https",
            "url-loopback",
            "expiration-beyond-maximum",
            "client-state-too-long",
            "invalid-tls-version"
        ]
    );
}

#[test]
fn secrets_never_appear_in_diagnostics() {
    let secret = "s3cr3t-".repeat(30);
    let certificate = "MIIBszCCAVmgAwIBAgIUK2k".repeat(3);
    let req = create("me/messages", 60)
        .set("clientState", s(&secret))
        .set("includeResourceData", Value::Bool(true))
        .set("encryptionCertificate", s(&format!("{certificate}!")));
    let diagnostics = req.diagnostics();
    assert!(
        diagnostics
            .iter()
            .any(|d| d.code.as_str() == "client-state-too-long")
    );
    assert!(
        diagnostics
            .iter()
            .any(|d| d.code.as_str() == "invalid-certificate")
    );
    for d in diagnostics {
        let text = format!("{} {}", d.message, d.hint.unwrap_or_default());
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.contains("MIIBszCC"), "{text}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "changeType",
        "notificationUrl",
        "resource",
        "expirationDateTime",
        "clientState",
        "lifecycleNotificationUrl",
        "includeResourceData",
        "encryptionCertificate",
        "encryptionCertificateId",
        "latestSupportedTlsVersion",
        "notificationQueryOptions",
        "id",
    ];

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_map(Value::Number),
            any::<String>().prop_map(Value::String),
            "[a-zA-Z/{}()'?=&:.,0-9-]{0,30}".prop_map(Value::String),
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,7})?(Z|[+-][01][0-9]:[0-5][0-9])".prop_map(Value::String),
            Just(Value::Array),
            Just(Value::Object),
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(NAMES).prop_map(str::to_owned),
            1 => any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn validation_never_panics(
            props in prop::collection::vec((name(), value()), 0..12),
            create in any::<bool>(),
            resource in prop::option::of("[a-zA-Z/{}()'?=&:.0-9-]{0,30}"),
            auth in prop::option::of(prop::sample::select(PermissionType::ALL.to_vec())),
            offset in -10_000_000i64..10_000_000,
        ) {
            let body: Properties = props.into_iter().collect();
            let mut ctx = Context::new(now() + Duration::seconds(offset));
            ctx.permission_type = auth;
            ctx.subscription_resource = resource;
            let request = if create { Request::Create } else { Request::Update };
            for d in check(request, &body, &ctx) {
                prop_assert!(!d.message.is_empty());
                prop_assert!(!d.code.as_str().is_empty());
            }
        }

        /// `update_of` (the resource resolved by the caller) judges as `update` with the
        /// resource in the context, for every pattern of the catalogue.
        #[test]
        fn an_update_of_a_resolved_resource_is_judged_the_same(
            props in prop::collection::vec((name(), value()), 0..12),
            resource in prop::sample::select(patterns()),
            auth in prop::option::of(prop::sample::select(PermissionType::ALL.to_vec())),
            offset in -10_000_000i64..10_000_000,
        ) {
            use graph_subs_core::catalogue;
            use graph_subs_core::resource::ResourcePath;
            use graph_subs_core::validate;
            let body: Properties = props.into_iter().collect();
            let mut ctx = Context::new(now() + Duration::seconds(offset));
            ctx.permission_type = auth;
            let resolved = catalogue::resolve(&ResourcePath::parse(&resource).unwrap()).unwrap();
            let of = validate::update_of(&body, &ctx, &resolved);
            ctx.subscription_resource = Some(resource);
            prop_assert_eq!(of, validate::update(&body, &ctx));
        }
    }

    /// Every pattern's path, `users/{id}/messages`...
    fn patterns() -> Vec<String> {
        graph_subs_core::catalogue::ResourceKind::all()
            .flat_map(|kind| kind.patterns())
            .map(|pattern| pattern.path().to_owned())
            .collect()
    }
}

#[test]
fn plain_http_on_loopback_is_a_warning_only_where_allowed() {
    use graph_subs_core::validate::{self, DiagnosticCode};
    let body = |url: &str| {
        Properties::from_json(
            serde_json::json!({
                "changeType": "created",
                "notificationUrl": url,
                "resource": "me/messages",
                "expirationDateTime": "2026-11-23T09:00:00Z"
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    };
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T09:00:00Z")
        .unwrap()
        .to_utc();
    let mut emulator = Context::new(now);
    emulator.allow_http_loopback = true;
    let severity = |ctx: &Context, url: &str| {
        validate::check(validate::Request::Create, &body(url), ctx)
            .into_iter()
            .find(|d| d.code == DiagnosticCode::UrlNotHttps)
            .map(|d| d.severity)
    };
    let local = "http://127.0.0.1:7071/api/notify";
    assert_eq!(severity(&emulator, local), Some(Severity::Warning));
    assert!(validate::create(&body(local), &emulator).is_ok());
    assert_eq!(severity(&Context::new(now), local), Some(Severity::Error));
    let public = "http://webhook.example.com/notify";
    assert_eq!(severity(&emulator, public), Some(Severity::Error));
}
