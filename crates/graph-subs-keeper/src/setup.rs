//! From a checked configuration to the keeper's tenants: one `graph-subs-http` client
//! per tenant, with the tenant's credentials, cloud or base URL.
//!
//! Secrets are read again from their files or variables here, at start, through the
//! same [`Sources`] that `check` used: the keeper holds them only in the client's
//! token provider and in the create bodies.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use graph_subs_core::cloud::Cloud;
use graph_subs_http::{
    AzureCli, ClientCredentials, GraphClient, Pacing, Secret, StaticToken, is_local_service,
    token_root,
};

use crate::config::{Checked, Sources, Wanted};
use crate::run::{Settings, Tenant};

/// Why the keeper cannot start with this configuration.
#[derive(Debug, thiserror::Error)]
#[error("tenant {tenant}: {message}")]
pub struct SetupError {
    /// The tenant's name.
    pub tenant: String,
    /// What is wrong.
    pub message: String,
}

/// The tenants of `checked` (which must have no errors), each with its client and its
/// subscriptions (moved, not copied: take [`settings`] first). Each client paces itself
/// to Graph's limits ([`Pacing::GRAPH`]).
pub fn tenants(
    checked: Checked,
    folder: &Path,
    sources: &dyn Sources,
) -> Result<Vec<Tenant>, SetupError> {
    tenants_paced(checked, folder, sources, Pacing::GRAPH)
}

/// [`tenants`] with another pacing for the clients. For simulations only: against the
/// emulator with its clock advanced faster than real time, Graph's limits are counted on
/// the emulator's clock, and a pacing in real time would hold the simulation back (and
/// distort what it measures in the emulator's time). `keep run` always uses
/// [`tenants`].
pub fn tenants_paced(
    checked: Checked,
    folder: &Path,
    sources: &dyn Sources,
    pacing: Pacing,
) -> Result<Vec<Tenant>, SetupError> {
    let mut wanted: HashMap<Arc<str>, Vec<Wanted>> = HashMap::new();
    for w in checked.wanted {
        wanted.entry(w.tenant.clone()).or_default().push(w);
    }
    checked
        .tenants
        .into_iter()
        .map(|t| {
            let name = t.name.clone();
            let fail = |message: String| SetupError {
                tenant: name.clone(),
                message,
            };
            let cloud = match &t.cloud {
                Some(text) => text
                    .parse()
                    .map_err(|_| fail(format!("`{text}` is not a cloud")))?,
                None => Cloud::Global,
            };
            let base_url = t.base_url.as_ref().map(|b| b.trim().to_owned());
            let root = token_root(cloud, base_url.as_deref());
            let c = &t.credentials;
            let secret = |file: Option<&toml::Spanned<String>>,
                          env: Option<&toml::Spanned<String>>,
                          what: &str|
             -> Result<String, SetupError> {
                let value = match (file, env) {
                    (Some(file), _) => sources
                        .read(&folder.join(file.get_ref()))
                        .map_err(|e| fail(format!("cannot read the {what} file: {e}")))?,
                    (None, Some(env)) => sources.var(env.get_ref()).ok_or_else(|| {
                        fail(format!(
                            "the {what} variable `{}` is not set",
                            env.get_ref()
                        ))
                    })?,
                    (None, None) => return Err(fail(format!("no {what} is given"))),
                };
                Ok(value.trim().to_owned())
            };
            let mut builder = GraphClient::builder()
                .cloud(cloud)
                .pacing(pacing)
                .allow_http_loopback(is_local_service(base_url.as_deref()));
            if let Some(url) = &base_url {
                builder = builder.base_url(url);
            }
            let mut app_id = None;
            builder = if let Some(client_id) = &c.client_id {
                let secret = secret(
                    c.client_secret_file.as_ref(),
                    c.client_secret_env.as_ref(),
                    "client secret",
                )?;
                let authority = c
                    .authority
                    .as_ref()
                    .map_or(cloud.login_root(), |a| a.get_ref().as_str());
                app_id = Some(client_id.get_ref().clone());
                builder.token_provider(ClientCredentials::new(
                    authority,
                    t.tenant_id.trim(),
                    client_id.get_ref(),
                    Secret::new(secret),
                    &root,
                ))
            } else if c.azure_cli.as_ref().is_some_and(|a| *a.get_ref()) {
                builder.token_provider(AzureCli::new(&root))
            } else if let Some(env) = &c.token_env {
                builder.token_provider(StaticToken::new(secret(None, Some(env), "token")?))
            } else {
                return Err(fail("no credentials".to_owned()));
            };
            let client = builder.build().map_err(|e| fail(e.to_string()))?;
            Ok(Tenant {
                wanted: wanted.remove(name.as_str()).unwrap_or_default(),
                name,
                client,
                app_id,
            })
        })
        .collect()
}

/// The keeper's behaviour from `[keeper]`: `prune`, and `renew_margin` as the renewal
/// policy's `renew_before` (the core's default otherwise), with the poll `interval`.
pub fn settings(checked: &Checked, interval: std::time::Duration) -> Settings {
    let mut settings = Settings {
        interval,
        ..Settings::default()
    };
    settings.prune = checked.keeper.prune;
    if let Some(margin) = checked
        .keeper
        .renew_margin
        .as_ref()
        .and_then(|m| graph_subs_core::lifetime::parse_duration(m.get_ref()).ok())
    {
        settings.policy.renew_before = margin;
    }
    settings
}
