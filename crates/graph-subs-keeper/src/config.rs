//! The keeper's configuration: the subscriptions an app wants, per tenant and credential,
//! in TOML, and [`check`], which judges all of it offline.
//!
//! ```toml
//! [keeper]
//! prune = false            # delete subscriptions this keeper did not create? (default no)
//! renew_margin = "1h"      # renew at the latest this long before expiry (default: the core's)
//!
//! [[tenant]]
//! name = "contoso"
//! tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
//! cloud = "global"         # global | usgov-l4 | usgov-l5 | china
//! # base_url = "http://127.0.0.1:8080/v1.0"   # an emulator instead of the cloud's Graph
//!
//! [tenant.credentials]     # one of: a client secret, the Azure CLI, a token
//! client_id = "24d3b144-21ae-4080-943f-7067b395b913"
//! client_secret_file = "secrets/contoso-client-secret"   # or client_secret_env = "VAR"
//! # azure_cli = true
//! # token_env = "GRAPH_TOKEN"
//!
//! [[tenant.subscription]]
//! name = "ada-mail"
//! resource = "users/ada@contoso.com/messages"
//! change_types = ["created", "updated"]
//! notification_url = "https://hooks.example.com/notifications"
//! lifecycle_notification_url = "https://hooks.example.com/lifecycle"
//! client_state_file = "secrets/client-state"              # or client_state_env = "VAR"
//! # include_resource_data = true
//! # encryption_certificate_file = "cert.pem"               # PEM or base64 DER
//! # encryption_certificate_id = "notifications-2026"
//! # lifetime = "max"                                      # or a duration: "3d"
//! ```
//!
//! **Decisions.**
//! - Secrets are never in the file: `*_file` paths (relative to the configuration's
//!   folder) or `*_env` variable names. `check` reads the files (they must exist and not be
//!   empty) but never shows them; a variable missing from the environment `check` runs in
//!   is a warning, since the keeper may run elsewhere.
//! - Each subscription is checked as the create request the keeper will send, with the
//!   core's rules (`validate::check`), as the tenant's credentials will send it (client
//!   credentials: an application permission; the Azure CLI or a token: unknown), at its
//!   longest lifetime (or `lifetime`), as if sent at `now`.
//! - Unknown keys are errors (a misspelt `notification_ur` is not silently ignored).
//! - Two subscriptions of a tenant with the same resource and change types are an error:
//!   Graph refuses the second as a duplicate (the core's `same_duplicate_target`), whatever
//!   their notification URLs.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use graph_subs_core::catalogue::{self, ResourceKind};
use graph_subs_core::cloud::Cloud;
use graph_subs_core::lifetime;
use graph_subs_core::permissions::PermissionType;
use graph_subs_core::quote::shortened;
use graph_subs_core::request::Properties;
use graph_subs_core::resource::ResourcePath;
use graph_subs_core::subscription::duplicate_resource_key;
use graph_subs_core::validate::{self, Context, Request, Severity};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// `[keeper]`.
    #[serde(default)]
    pub keeper: KeeperSection,
    /// `[[tenant]]`.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<Spanned<TenantSection>>,
}

/// `[keeper]`: how the keeper behaves.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeeperSection {
    /// Delete subscriptions this keeper did not create (default: leave them alone).
    #[serde(default)]
    pub prune: bool,
    /// Renew at the latest this long before expiry.
    #[serde(default)]
    pub renew_margin: Option<Spanned<String>>,
}

/// `[[tenant]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSection {
    /// The name logs and status show.
    pub name: Spanned<String>,
    /// The tenant's id or domain.
    pub tenant_id: Spanned<String>,
    /// `global` (default), `usgov-l4`, `usgov-l5` or `china`.
    #[serde(default)]
    pub cloud: Option<Spanned<String>>,
    /// Graph's service root with its version, instead of the cloud's (an emulator).
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// `[tenant.credentials]`.
    pub credentials: Spanned<CredentialsSection>,
    /// `[[tenant.subscription]]`.
    #[serde(default, rename = "subscription")]
    pub subscriptions: Vec<Spanned<SubscriptionSection>>,
}

/// `[tenant.credentials]`: one way to get tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSection {
    /// The app (client) id, for client credentials.
    #[serde(default)]
    pub client_id: Option<Spanned<String>>,
    /// A file holding the client secret.
    #[serde(default)]
    pub client_secret_file: Option<Spanned<String>>,
    /// A variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<Spanned<String>>,
    /// The login root, instead of the cloud's (an emulator's base URL).
    #[serde(default)]
    pub authority: Option<Spanned<String>>,
    /// Tokens from `az account get-access-token`.
    #[serde(default)]
    pub azure_cli: Option<Spanned<bool>>,
    /// A variable holding a token.
    #[serde(default)]
    pub token_env: Option<Spanned<String>>,
}

/// `[[tenant.subscription]]`: one subscription the app wants.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSection {
    /// Its name in the keeper's state, unique in its tenant.
    pub name: Spanned<String>,
    /// The resource path.
    pub resource: Spanned<String>,
    /// `created`, `updated`, `deleted`.
    pub change_types: Spanned<Vec<String>>,
    /// Where Graph sends notifications.
    pub notification_url: Spanned<String>,
    /// Where Graph sends lifecycle notifications.
    #[serde(default)]
    pub lifecycle_notification_url: Option<Spanned<String>>,
    /// A file holding the clientState.
    #[serde(default)]
    pub client_state_file: Option<Spanned<String>>,
    /// A variable holding the clientState.
    #[serde(default)]
    pub client_state_env: Option<Spanned<String>>,
    /// Rich notifications.
    #[serde(default)]
    pub include_resource_data: Option<Spanned<bool>>,
    /// The certificate rich notifications are encrypted for: PEM, or base64 DER.
    #[serde(default)]
    pub encryption_certificate_file: Option<Spanned<String>>,
    /// Its id, sent back with each notification.
    #[serde(default)]
    pub encryption_certificate_id: Option<Spanned<String>>,
    /// `max` (default) or a duration (`3d`): how long each renewal asks for.
    #[serde(default)]
    pub lifetime: Option<Spanned<String>>,
}

/// A problem in the file, at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code: the core's diagnostic codes, or `config-...`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// Which tenant and subscription, when it is about one.
    pub within: Option<String>,
}

impl Problem {
    /// As `graph-subs keep check` prints it, the way `graph-subs check` and rustc do.
    pub fn render(&self, file: &str) -> String {
        let mut s = format!("{}[{}]: {}\n", self.severity, self.code, self.message);
        s.push_str(&format!("  --> {file}:{}:{}", self.line, self.column));
        if let Some(within) = &self.within {
            s.push_str(&format!(" ({within})"));
        }
        s.push('\n');
        if let Some(hint) = &self.hint {
            s.push_str(&format!("   = help: {hint}\n"));
        }
        s
    }
}

/// A subscription the configuration wants, as the keeper will create it.
///
/// Lean, because a keeper holds one per subscription for its whole run (100,000 of them
/// in `docs/performance.md`): the name and the resource are its own, everything its
/// tenant's other subscriptions usually share (change types, URLs, clientState,
/// certificate, lifetime) is one [`Common`] shared by all that have the same, and the
/// create body is built only when a create is sent ([`Wanted::body`]).
#[derive(Clone)]
pub struct Wanted {
    /// Its tenant's name.
    pub tenant: Arc<str>,
    /// Its name.
    pub name: String,
    /// The resource path.
    pub resource: String,
    /// The resource's kind, when the catalogue knows it (resolved once, by [`check`]).
    pub kind: Option<ResourceKind>,
    /// The rest of its spec, shared.
    pub common: Arc<Common>,
    /// SHA-256 of the create body without `expirationDateTime` (canonical JSON: keys in
    /// order): a changed spec, a rotated clientState or certificate included, means a new
    /// subscription.
    fingerprint: [u8; 32],
}

/// What a subscription's create body holds besides its resource: usually the same for
/// many subscriptions of a tenant, and then held once.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Common {
    /// `created,updated`, as Graph writes it.
    pub change_type: String,
    /// Where Graph sends notifications.
    pub notification_url: String,
    /// Where Graph sends lifecycle notifications.
    pub lifecycle_notification_url: Option<String>,
    /// The clientState (a secret: never printed).
    client_state: Option<String>,
    /// `includeResourceData`, when the file sets it.
    pub include_resource_data: Option<bool>,
    /// The certificate rich notifications are encrypted for, base64 DER.
    pub encryption_certificate: Option<String>,
    /// Its id.
    pub encryption_certificate_id: Option<String>,
    /// How long each create or renewal asks for: `None` for the longest allowed.
    pub lifetime: Option<chrono::Duration>,
}

impl std::fmt::Debug for Wanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body holds the clientState, and the fingerprint is a digest of it (a weak
        // clientState could be found from it): neither is printed.
        f.debug_struct("Wanted")
            .field("tenant", &self.tenant)
            .field("name", &self.name)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common")
            .field("change_type", &self.change_type)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// The create body of `resource` with `common`, without `expirationDateTime`. The one
/// place it is built: the fingerprint [`check`] records and the body the keeper sends
/// come from it, so they cannot drift apart.
fn body_of(resource: &str, common: &Common) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("resource".into(), json!(resource));
    body.insert("changeType".into(), json!(common.change_type));
    body.insert("notificationUrl".into(), json!(common.notification_url));
    if let Some(url) = &common.lifecycle_notification_url {
        body.insert("lifecycleNotificationUrl".into(), json!(url));
    }
    if let Some(state) = &common.client_state {
        body.insert("clientState".into(), json!(state));
    }
    if let Some(flag) = common.include_resource_data {
        body.insert("includeResourceData".into(), json!(flag));
    }
    if let Some(certificate) = &common.encryption_certificate {
        body.insert("encryptionCertificate".into(), json!(certificate));
    }
    if let Some(id) = &common.encryption_certificate_id {
        body.insert("encryptionCertificateId".into(), json!(id));
    }
    body
}

impl Wanted {
    /// The create request's body, secrets resolved, without `expirationDateTime` (set at
    /// each create from [`Wanted::lifetime`]).
    pub fn body(&self) -> Map<String, Value> {
        body_of(&self.resource, &self.common)
    }

    /// The fingerprint, hexadecimal, as the store keeps it.
    pub fn fingerprint(&self) -> String {
        self.fingerprint
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// How long each create or renewal asks for: `None` for the longest allowed.
    pub fn lifetime(&self) -> Option<chrono::Duration> {
        self.common.lifetime
    }

    /// Whether it asks for rich notifications.
    pub fn rich(&self) -> bool {
        self.common.include_resource_data.unwrap_or(false)
    }

    /// Its clientState.
    pub fn client_state(&self) -> Option<&str> {
        self.common.client_state.as_deref()
    }

    /// What the reconcile plan needs of it.
    pub fn desired(&self) -> crate::reconcile::Desired {
        crate::reconcile::Desired {
            name: self.name.clone(),
            resource: self.resource.clone(),
            change_type: self.common.change_type.clone(),
            notification_url: self.common.notification_url.clone(),
            include_resource_data: self.rich(),
            lifetime: self.lifetime(),
            fingerprint: self.fingerprint(),
        }
    }
}

/// A tenant of the configuration: where and how the keeper reaches its Graph.
#[derive(Debug)]
pub struct TenantConfig {
    /// The name logs and status show.
    pub name: String,
    /// The tenant's id or domain.
    pub tenant_id: String,
    /// `cloud`, as written.
    pub cloud: Option<String>,
    /// `base_url`, as written.
    pub base_url: Option<String>,
    /// `[tenant.credentials]` (its positions are not kept).
    pub credentials: CredentialsSection,
}

/// What [`check`] found.
#[derive(Debug)]
pub struct Checked {
    /// Every problem, in the file's order.
    pub problems: Vec<Problem>,
    /// `[keeper]` (its positions are not kept).
    pub keeper: KeeperSection,
    /// The tenants, in the file's order (when the file parsed).
    pub tenants: Vec<TenantConfig>,
    /// Every subscription the file wants, in its order (whatever their problems: use them
    /// only when [`Checked::has_errors`] is false).
    pub wanted: Vec<Wanted>,
}

impl Checked {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// What stops the keeper from running on this file: every error, and every secret
    /// declared but not found (a warning for `keep check`, which may run elsewhere). A
    /// keeper started without a declared `clientState` would replace every subscription
    /// with one that has none.
    pub fn blocking_run(&self) -> Vec<&Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error || p.code == "config-secret")
            .collect()
    }

    /// How many tenants and subscriptions the file names.
    pub fn counts(&self) -> (usize, usize) {
        (self.tenants.len(), self.wanted.len())
    }
}

/// Where [`check`] reads secrets and certificates: files relative to the configuration's
/// folder, and the environment.
pub trait Sources {
    /// The text of `path` (already joined to the configuration's folder).
    fn read(&self, path: &Path) -> std::io::Result<String>;
    /// A variable of the environment.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real files and environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct System;

impl Sources for System {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Where lines start in a text: line and column of an offset in logarithmic time (a
/// configuration of 100,000 subscriptions asks for hundreds of thousands of positions).
struct Lines<'a> {
    text: &'a str,
    /// Byte offset of each line's first byte.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// Line and column (from 1) of byte `offset`.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |l| l.chars().count() + 1);
        (line, column)
    }
}

struct Checker<'a> {
    lines: Lines<'a>,
    folder: &'a Path,
    sources: &'a dyn Sources,
    now: DateTime<Utc>,
    /// Where the part of the file being checked starts: spans are relative to it.
    base: usize,
    problems: Vec<Problem>,
    tenants: Vec<TenantConfig>,
    wanted: Vec<Wanted>,
    /// The [`Common`]s made so far: one copy of each.
    commons: HashSet<Arc<Common>>,
    /// Tenant names, with their lines.
    tenant_names: HashMap<String, usize>,
    /// Tenant and app ids, with their lines.
    apps: HashMap<(String, String), usize>,
}

impl Checker<'_> {
    fn at(
        &mut self,
        span: std::ops::Range<usize>,
        severity: Severity,
        code: &str,
        message: String,
        hint: Option<String>,
        within: Option<&str>,
    ) {
        let (line, column) = self.lines.position(self.base + span.start);
        self.problems.push(Problem {
            severity,
            code: code.to_owned(),
            message,
            hint,
            line,
            column,
            within: within.map(str::to_owned),
        });
    }

    /// The secret named by a `*_file` or `*_env` key: Some(text) when it could be read,
    /// None otherwise (after saying why).
    fn secret(
        &mut self,
        file: Option<&Spanned<String>>,
        env: Option<&Spanned<String>>,
        what: &str,
        within: &str,
    ) -> Option<String> {
        if let Some(file) = file {
            let path: PathBuf = self.folder.join(file.get_ref());
            return match self.sources.read(&path) {
                Ok(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
                Ok(_) => {
                    self.at(
                        file.span(),
                        Severity::Error,
                        "config-secret",
                        format!("the {what} file `{}` is empty", shortened(file.get_ref())),
                        Some(format!("write the {what} in it, alone on one line")),
                        Some(within),
                    );
                    None
                }
                Err(e) => {
                    self.at(
                        file.span(),
                        Severity::Error,
                        "config-secret",
                        format!(
                            "the {what} file `{}` cannot be read: {e}",
                            shortened(file.get_ref())
                        ),
                        Some("paths are relative to the configuration file's folder".to_owned()),
                        Some(within),
                    );
                    None
                }
            };
        }
        if let Some(env) = env {
            return match self.sources.var(env.get_ref()) {
                Some(value) if !value.trim().is_empty() => Some(value.trim().to_owned()),
                _ => {
                    self.at(
                        env.span(),
                        Severity::Warning,
                        "config-secret",
                        format!(
                            "the {what} variable `{}` is not set here",
                            shortened(env.get_ref())
                        ),
                        Some("set it where `graph-subs keep run` runs".to_owned()),
                        Some(within),
                    );
                    None
                }
            };
        }
        None
    }

    fn credentials(&mut self, tenant: &TenantSection, within: &str) -> Option<PermissionType> {
        let c = tenant.credentials.get_ref();
        let secret = c.client_secret_file.is_some() || c.client_secret_env.is_some();
        let azure = c.azure_cli.as_ref().is_some_and(|a| *a.get_ref());
        let token = c.token_env.is_some();
        let ways =
            usize::from(secret || c.client_id.is_some()) + usize::from(azure) + usize::from(token);
        let span = tenant.credentials.span();
        if ways != 1 {
            self.at(
                span,
                Severity::Error,
                "config-credentials",
                if ways == 0 {
                    "the tenant has no way to get tokens".to_owned()
                } else {
                    "the tenant has more than one way to get tokens".to_owned()
                },
                Some(
                    "give one of: client_id with client_secret_file (or client_secret_env), azure_cli = true, token_env"
                        .to_owned(),
                ),
                Some(within),
            );
            return None;
        }
        if secret || c.client_id.is_some() {
            if c.client_id.is_none() {
                self.at(
                    span.clone(),
                    Severity::Error,
                    "config-credentials",
                    "a client secret is given without its client_id".to_owned(),
                    Some("add client_id = \"<the app's (client) id>\"".to_owned()),
                    Some(within),
                );
            }
            if c.client_secret_file.is_some() && c.client_secret_env.is_some() {
                self.at(
                    span.clone(),
                    Severity::Error,
                    "config-credentials",
                    "both client_secret_file and client_secret_env are given".to_owned(),
                    Some("keep one".to_owned()),
                    Some(within),
                );
            } else if !secret {
                self.at(
                    span,
                    Severity::Error,
                    "config-credentials",
                    "client_id is given without a client secret".to_owned(),
                    Some(
                        "add client_secret_file = \"<path>\" or client_secret_env = \"<VARIABLE>\""
                            .to_owned(),
                    ),
                    Some(within),
                );
            } else {
                self.secret(
                    c.client_secret_file.as_ref(),
                    c.client_secret_env.as_ref(),
                    "client secret",
                    within,
                );
            }
            return Some(PermissionType::Application);
        }
        if let Some(env) = &c.token_env {
            self.secret(None, Some(env), "token", within);
        }
        None
    }

    /// The line of `offset` in the part being checked.
    fn line_of(&self, offset: usize) -> usize {
        self.lines.position(self.base + offset).0
    }

    /// `[keeper]`, found in the part starting at `base`.
    fn keeper(&mut self, base: usize, keeper: &KeeperSection) {
        self.base = base;
        if let Some(margin) = &keeper.renew_margin
            && let Err(e) = lifetime::parse_duration(margin.get_ref())
        {
            self.at(
                margin.span(),
                Severity::Error,
                "config-duration",
                e,
                Some("write renew_margin = \"1h\"".to_owned()),
                None,
            );
        }
    }

    /// A `[[tenant]]`, found in the part starting at `base`: checked, its subscriptions
    /// made into [`Wanted`]s, and kept without them.
    fn tenant(&mut self, base: usize, tenant: Spanned<TenantSection>) {
        self.base = base;
        let name = &tenant.get_ref().name;
        if let Some(line) = self
            .tenant_names
            .insert(name.get_ref().clone(), self.line_of(name.span().start))
        {
            self.at(
                name.span(),
                Severity::Error,
                "config-duplicate-name",
                format!(
                    "the tenant name `{}` is already used on line {line}",
                    shortened(name.get_ref())
                ),
                Some("give each tenant its own name".to_owned()),
                None,
            );
        }
        // Two sections for the same tenant and app would each take the other's
        // subscriptions for strangers of their own app (conflicts, or prunes).
        let t = tenant.get_ref();
        if let Some(client_id) = &t.credentials.get_ref().client_id {
            let key = (
                t.tenant_id.get_ref().trim().to_ascii_lowercase(),
                client_id.get_ref().trim().to_ascii_lowercase(),
            );
            let line = self.line_of(t.tenant_id.span().start);
            if let Some(line) = self.apps.insert(key, line) {
                self.at(
                    t.tenant_id.span(),
                    Severity::Error,
                    "config-duplicate-tenant",
                    format!(
                        "the tenant and app of line {line} again: two sections would manage the same app's subscriptions"
                    ),
                    Some("put all of this tenant's subscriptions for this app in one [[tenant]]".to_owned()),
                    None,
                );
            }
        }
        self.tenant_section(&tenant);
        let t = tenant.into_inner();
        self.tenants.push(TenantConfig {
            name: t.name.into_inner(),
            tenant_id: t.tenant_id.into_inner(),
            cloud: t.cloud.map(Spanned::into_inner),
            base_url: t.base_url.map(Spanned::into_inner),
            credentials: t.credentials.into_inner(),
        });
    }

    fn tenant_section(&mut self, tenant: &Spanned<TenantSection>) {
        let t = tenant.get_ref();
        let tenant_name = format!("tenant {}", shortened(t.name.get_ref()));
        if t.tenant_id.get_ref().trim().is_empty() {
            self.at(
                t.tenant_id.span(),
                Severity::Error,
                "config-tenant",
                "tenant_id is empty".to_owned(),
                Some(
                    "give the tenant's id (a GUID) or its domain (contoso.onmicrosoft.com)"
                        .to_owned(),
                ),
                Some(&tenant_name),
            );
        }
        let cloud = match &t.cloud {
            None => Cloud::Global,
            Some(text) => text.get_ref().parse().unwrap_or_else(|_| {
                self.at(
                    text.span(),
                    Severity::Error,
                    "config-cloud",
                    format!("`{}` is not a national cloud", shortened(text.get_ref())),
                    Some("write global, usgov-l4, usgov-l5 or china".to_owned()),
                    Some(&tenant_name),
                );
                Cloud::Global
            }),
        };
        let mut loopback = false;
        if let Some(base) = &t.base_url {
            match url::Url::parse(base.get_ref()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    loopback = u
                        .host()
                        .is_some_and(graph_subs_core::notification_url::is_loopback_host);
                }
                _ => self.at(
                    base.span(),
                    Severity::Error,
                    "config-base-url",
                    format!("`{}` is not an http(s) URL", shortened(base.get_ref())),
                    Some(
                        "write Graph's service root with its version: http://127.0.0.1:8080/v1.0"
                            .to_owned(),
                    ),
                    Some(&tenant_name),
                ),
            }
        }
        let permission_type = self.credentials(t, &tenant_name);
        let ctx = Context {
            permission_type,
            cloud,
            allow_http_loopback: loopback,
            ..Context::new(self.now)
        };
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut keys: HashMap<(String, String), String> = HashMap::new();
        let tenant_name_shared: Arc<str> = Arc::from(t.name.get_ref().as_str());
        for subscription in &t.subscriptions {
            let s = subscription.get_ref();
            let within = format!(
                "{tenant_name}, subscription {}",
                shortened(s.name.get_ref())
            );
            if let Some(line) =
                names.insert(s.name.get_ref().clone(), self.line_of(s.name.span().start))
            {
                self.at(
                    s.name.span(),
                    Severity::Error,
                    "config-duplicate-name",
                    format!(
                        "the name `{}` is already used on line {line} in this tenant",
                        shortened(s.name.get_ref())
                    ),
                    Some("give each subscription of a tenant its own name".to_owned()),
                    Some(&within),
                );
            }
            // Graph's duplicate rule (the core's): the resource and the changeType as sent.
            let key = (
                duplicate_resource_key(s.resource.get_ref().trim()).into_owned(),
                s.change_types.get_ref().join(",").to_ascii_lowercase(),
            );
            if let Some(other) = keys.insert(key, s.name.get_ref().clone()) {
                self.at(
                    s.resource.span(),
                    Severity::Error,
                    "config-duplicate-subscription",
                    format!(
                        "the same resource and change types as `{}`: Graph refuses the second as a duplicate",
                        shortened(&other)
                    ),
                    Some("remove one, or merge them into one subscription".to_owned()),
                    Some(&within),
                );
            }
            self.subscription(&tenant_name_shared, s, &ctx, &within);
        }
    }

    /// The create request the keeper will send for `s`, checked by the core.
    fn subscription(
        &mut self,
        tenant: &Arc<str>,
        s: &SubscriptionSection,
        ctx: &Context,
        within: &str,
    ) {
        let client_state = self.secret(
            s.client_state_file.as_ref(),
            s.client_state_env.as_ref(),
            "clientState",
            within,
        );
        let rich = s
            .include_resource_data
            .as_ref()
            .is_some_and(|r| *r.get_ref());
        let encryption_certificate = s
            .encryption_certificate_file
            .as_ref()
            .and_then(|file| self.certificate(file, within));
        let kind = ResourcePath::parse(s.resource.get_ref())
            .ok()
            .and_then(|p| catalogue::resolve(&p).ok())
            .map(|r| r.kind());
        let expiration = match s.lifetime.as_ref().map(|l| (l, l.get_ref().trim())) {
            None | Some((_, "max")) => kind.map_or(self.now + chrono::Duration::hours(1), |k| {
                lifetime::latest_expiration(k, rich, self.now)
            }),
            Some((span, text)) => match lifetime::parse_duration(text) {
                Ok(d) => self.now + d,
                Err(e) => {
                    self.at(
                        span.span(),
                        Severity::Error,
                        "config-duration",
                        e,
                        Some("write lifetime = \"max\" or a duration such as \"3d\"".to_owned()),
                        Some(within),
                    );
                    self.now + chrono::Duration::hours(1)
                }
            },
        };
        let common = Common {
            change_type: s.change_types.get_ref().join(","),
            notification_url: s.notification_url.get_ref().clone(),
            lifecycle_notification_url: s
                .lifecycle_notification_url
                .as_ref()
                .map(|u| u.get_ref().clone()),
            client_state,
            include_resource_data: s.include_resource_data.as_ref().map(|r| *r.get_ref()),
            encryption_certificate,
            encryption_certificate_id: s
                .encryption_certificate_id
                .as_ref()
                .map(|i| i.get_ref().clone()),
            lifetime: s
                .lifetime
                .as_ref()
                .map(|l| l.get_ref().trim())
                .filter(|l| *l != "max")
                .and_then(|l| lifetime::parse_duration(l).ok()),
        };
        let common = match self.commons.get(&common) {
            Some(shared) => shared.clone(),
            None => {
                let shared = Arc::new(common);
                self.commons.insert(shared.clone());
                shared
            }
        };
        let mut body = body_of(s.resource.get_ref(), &common);
        let canonical = serde_json::to_vec(&body).unwrap_or_default();
        let fingerprint = <sha2::Sha256 as sha2::Digest>::digest(&canonical).into();
        self.wanted.push(Wanted {
            tenant: tenant.clone(),
            name: s.name.get_ref().clone(),
            resource: s.resource.get_ref().clone(),
            kind,
            common,
            fingerprint,
        });
        body.insert(
            "expirationDateTime".into(),
            json!(expiration.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
        let Ok(properties) = Properties::from_json(Value::Object(body).to_string().as_bytes())
        else {
            return;
        };
        for d in validate::check(Request::Create, &properties, ctx) {
            let span = self.span_of(s, d.field.as_deref());
            self.at(
                span,
                d.severity,
                d.code.as_str(),
                d.message,
                d.hint,
                Some(within),
            );
        }
    }

    /// Where the config says what Graph's property `field` comes from.
    fn span_of(&self, s: &SubscriptionSection, field: Option<&str>) -> std::ops::Range<usize> {
        let optional = |v: &Option<Spanned<String>>| v.as_ref().map(Spanned::span);
        let found = match field.map(str::to_ascii_lowercase).as_deref() {
            Some("resource") => Some(s.resource.span()),
            Some("changetype") => Some(s.change_types.span()),
            Some("notificationurl") => Some(s.notification_url.span()),
            Some("lifecyclenotificationurl") => optional(&s.lifecycle_notification_url),
            Some("clientstate") => {
                optional(&s.client_state_file).or_else(|| optional(&s.client_state_env))
            }
            Some("includeresourcedata") => s.include_resource_data.as_ref().map(Spanned::span),
            Some("encryptioncertificate") => optional(&s.encryption_certificate_file),
            Some("encryptioncertificateid") => optional(&s.encryption_certificate_id),
            Some("expirationdatetime") => optional(&s.lifetime),
            _ => None,
        };
        found.unwrap_or_else(|| s.name.span())
    }

    /// The base64 DER of the certificate in `file` (PEM, or base64 DER already).
    fn certificate(&mut self, file: &Spanned<String>, within: &str) -> Option<String> {
        let path = self.folder.join(file.get_ref());
        let text = match self.sources.read(&path) {
            Ok(text) => text,
            Err(e) => {
                self.at(
                    file.span(),
                    Severity::Error,
                    "config-certificate",
                    format!(
                        "the certificate file `{}` cannot be read: {e}",
                        shortened(file.get_ref())
                    ),
                    Some("paths are relative to the configuration file's folder".to_owned()),
                    Some(within),
                );
                return None;
            }
        };
        if text.contains("-----BEGIN") {
            let found = pem::parse_many(&text)
                .ok()
                .and_then(|blocks| blocks.into_iter().find(|b| b.tag() == "CERTIFICATE"));
            return match found {
                Some(block) => {
                    Some(base64::engine::general_purpose::STANDARD.encode(block.contents()))
                }
                None => {
                    self.at(
                        file.span(),
                        Severity::Error,
                        "config-certificate",
                        format!(
                            "`{}` holds no `-----BEGIN CERTIFICATE-----` block",
                            shortened(file.get_ref())
                        ),
                        Some("give the certificate (public part), not the private key".to_owned()),
                        Some(within),
                    );
                    None
                }
            };
        }
        Some(text.split_whitespace().collect())
    }
}

/// `[[tenant]]` blocks, parsed one at a time: what precedes the first `[[tenant]]`
/// line (`[keeper]`), then each tenant with its subscriptions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Block {
    #[serde(default)]
    keeper: Option<KeeperSection>,
    #[serde(default, rename = "tenant")]
    tenants: Vec<Spanned<TenantSection>>,
}

/// Where the file's parts start: 0, then each line that is `[[tenant]]` alone (spaces
/// and a comment allowed around it).
fn part_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.split('#').next().unwrap_or_default().trim();
        if code == "[[tenant]]" && offset > 0 {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts
}

/// Checks the configuration `text` (read from a file in `folder`) as if the keeper
/// started at `now`: every problem, each at its line.
///
/// **Memory.** A TOML parser holds about 13 bytes per byte of its input at its peak
/// (388 MiB for the 27 MiB file of 100,000 subscriptions in `docs/performance.md`), so
/// the file is parsed one `[[tenant]]` at a time, each tenant checked and made into
/// [`Wanted`]s before the next is parsed. That reads the file as the whole-file parse
/// would: a `[[tenant]]` line inside a multi-line string leaves the part before it with
/// an unterminated string, and a `[keeper]` table in two parts is a redefinition; in
/// those cases, and whenever a part does not parse, the whole file is parsed at once
/// instead, and its errors are the parser's own.
pub fn check(text: &str, folder: &Path, sources: &dyn Sources, now: DateTime<Utc>) -> Checked {
    let new_checker = || Checker {
        lines: Lines::new(text),
        folder,
        sources,
        now,
        base: 0,
        problems: Vec::new(),
        tenants: Vec::new(),
        wanted: Vec::new(),
        commons: HashSet::new(),
        tenant_names: HashMap::new(),
        apps: HashMap::new(),
    };
    if let Some(checked) = check_by_parts(text, new_checker()) {
        return checked;
    }
    let mut checker = new_checker();
    let file: File = match toml::from_str(text) {
        Ok(file) => file,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            checker.at(
                span,
                Severity::Error,
                "config-syntax",
                e.message().trim().to_owned(),
                Some("see the example at the top of `graph-subs keep check --help` and in the README".to_owned()),
                None,
            );
            return Checked {
                problems: checker.problems,
                keeper: KeeperSection::default(),
                tenants: Vec::new(),
                wanted: Vec::new(),
            };
        }
    };
    checker.keeper(0, &file.keeper);
    for tenant in file.tenants {
        checker.tenant(0, tenant);
    }
    finish(checker, file.keeper)
}

/// [`check`] one `[[tenant]]` at a time: `None` when a part does not parse alone.
fn check_by_parts(text: &str, mut checker: Checker<'_>) -> Option<Checked> {
    let starts = part_starts(text);
    let mut keeper = None;
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let part: Block = toml::from_str(&text[start..end]).ok()?;
        if let Some(section) = part.keeper {
            if keeper.is_some() {
                return None;
            }
            checker.keeper(start, &section);
            keeper = Some(section);
        }
        for tenant in part.tenants {
            checker.tenant(start, tenant);
        }
    }
    Some(finish(checker, keeper.unwrap_or_default()))
}

fn finish(mut checker: Checker<'_>, keeper: KeeperSection) -> Checked {
    if checker.tenants.is_empty() {
        checker.base = 0;
        checker.at(
            0..0,
            Severity::Warning,
            "config-empty",
            "the configuration names no tenant: the keeper would keep nothing".to_owned(),
            Some("add a [[tenant]] with its [[tenant.subscription]]s".to_owned()),
            None,
        );
    }
    checker.problems.sort_by_key(|p| (p.line, p.column));
    Checked {
        problems: checker.problems,
        keeper,
        tenants: checker.tenants,
        wanted: checker.wanted,
    }
}
