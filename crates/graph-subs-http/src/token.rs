//! Where access tokens come from: a static token, the OAuth2 client-credentials flow
//! (cached, refreshed before expiry, one refresh in flight however many requests wait),
//! or the Azure CLI. Tokens and secrets never reach a log, a `Debug` output or an error.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use graph_subs_core::quote;
use serde::Deserialize;
use tokio::sync::Mutex;

/// A token is refreshed when it has less than this left.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// An access token. Its `Debug` shows only when it expires.
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<str>,
    /// When it expires, when known.
    pub expires_at: Option<DateTime<Utc>>,
}

impl AccessToken {
    /// A token, with its expiry when known.
    pub fn new(secret: impl Into<String>, expires_at: Option<DateTime<Utc>>) -> AccessToken {
        AccessToken {
            secret: Arc::from(secret.into()),
            expires_at,
        }
    }

    /// The token itself, for the `Authorization` header.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| {
            at - now > chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default()
        })
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"***")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A secret (client secret): `Debug` and `Display` show `***`.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(Arc::from(secret.into()))
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why no token could be had. Messages never hold a token or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The identity platform refused the credentials.
    #[error("the identity platform refused the token request ({status}): {error}: {description}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// OAuth2 error (`invalid_client`...).
        error: String,
        /// Its description (`AADSTS7000215: ...`), shortened.
        description: String,
    },
    /// The token endpoint could not be reached, or answered something unreadable.
    #[error("cannot get a token from {endpoint}: {message}")]
    Unreachable {
        /// The token endpoint, redacted.
        endpoint: String,
        /// What failed.
        message: String,
    },
    /// The Azure CLI failed or is not installed.
    #[error("the Azure CLI gave no token: {0}")]
    AzureCli(String),
}

/// A token kept until it is within [`REFRESH_MARGIN`] of expiring. The lock is held
/// while a new one is fetched: one refresh is in flight, and whoever waited takes its
/// token.
#[derive(Debug, Default)]
struct Cache(Mutex<Option<(AccessToken, std::time::Instant)>>);

/// A token younger than this, and not expired by Graph's clock, is not dropped when
/// Graph refuses it: a new one would be refused too (no consent, a wrong audience), and
/// every call would fetch one.
const REJECT_AFTER: Duration = Duration::from_secs(30);

/// Graph's `Date` is to the second, so its time may be up to this much later than the
/// client's reading of it: a token that expires within it is taken as expired.
const DATE_RESOLUTION: chrono::Duration = chrono::Duration::seconds(1);

impl Cache {
    /// Drops the cached token if it is `rejected` (another caller may already have
    /// replaced it: then the new one stays), and either expired at Graph's `now` or not
    /// just fetched.
    async fn reject(&self, rejected: &AccessToken, now: DateTime<Utc>) {
        let mut cached = self.0.lock().await;
        if cached.as_ref().is_some_and(|(t, fetched)| {
            t.secret() == rejected.secret()
                && (t.expires_at.is_some_and(|at| at <= now + DATE_RESOLUTION)
                    || fetched.elapsed() >= REJECT_AFTER)
        }) {
            *cached = None;
        }
    }

    async fn get_or_fetch<F>(&self, fetch: F) -> Result<AccessToken, TokenError>
    where
        F: std::future::Future<Output = Result<AccessToken, TokenError>>,
    {
        let mut cached = self.0.lock().await;
        if let Some((token, _)) = cached.as_ref().filter(|(t, _)| t.fresh_at(Utc::now())) {
            return Ok(token.clone());
        }
        let token = fetch.await?;
        *cached = Some((token.clone(), std::time::Instant::now()));
        Ok(token)
    }
}

/// Gives access tokens.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// A token valid for a while yet.
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>>;

    /// Graph refused `token` (401) at its time `now`: a provider that caches drops it,
    /// so that the next [`TokenProvider::token`] fetches a new one, if it has expired by
    /// Graph's clock or was fetched a while ago (Graph may have revoked it). The token's
    /// own expiry is only a guess made with this machine's clock. The default does
    /// nothing (a static token cannot be renewed).
    fn reject<'a>(&'a self, token: &'a AccessToken, now: DateTime<Utc>) -> BoxFuture<'a, ()> {
        let _ = (token, now);
        Box::pin(async {})
    }
}

/// Always the same token (`--token`, `GRAPH_SUBS_TOKEN`).
#[derive(Debug, Clone)]
pub struct StaticToken(AccessToken);

impl StaticToken {
    /// A token given as is.
    pub fn new(token: impl Into<String>) -> StaticToken {
        StaticToken(AccessToken::new(token, None))
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

/// The client-credentials flow: `POST {authority}/{tenant}/oauth2/v2.0/token`.
pub struct ClientCredentials {
    endpoint: String,
    client_id: String,
    secret: Secret,
    scope: String,
    http: reqwest::Client,
    cache: Cache,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("secret", &self.secret)
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

impl ClientCredentials {
    /// Tokens for `client_id` in `tenant_id` from `authority` (a cloud's login root such
    /// as `https://login.microsoftonline.com`, or the emulator's base URL), for the Graph
    /// root `graph_root` (`https://graph.microsoft.com`: the scope is `{root}/.default`).
    pub fn new(
        authority: &str,
        tenant_id: &str,
        client_id: &str,
        secret: Secret,
        graph_root: &str,
    ) -> ClientCredentials {
        ClientCredentials {
            endpoint: format!(
                "{}/{}/oauth2/v2.0/token",
                authority.trim_end_matches('/'),
                tenant_id
            ),
            client_id: client_id.to_owned(),
            secret,
            scope: format!("{}/.default", graph_root.trim_end_matches('/')),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            cache: Cache::default(),
        }
    }

    /// Uses this HTTP client (its timeouts, its trusted roots).
    pub fn with_http_client(mut self, http: reqwest::Client) -> ClientCredentials {
        self.http = http;
        self
    }

    async fn fetch(&self) -> Result<AccessToken, TokenError> {
        let endpoint = quote::redact_url(&self.endpoint, 200);
        let unreachable = |message: String| TokenError::Unreachable {
            endpoint: endpoint.clone(),
            message,
        };
        let now = Utc::now();
        let response = self
            .http
            .post(&self.endpoint)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.secret.expose()),
                ("scope", self.scope.as_str()),
            ])
            .send()
            .await
            .map_err(|e| unreachable(crate::transport_message(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| unreachable(crate::transport_message(&e)))?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
            unreachable(format!(
                "the answer ({status}) is not the identity platform's JSON: {e}"
            ))
        })?;
        match answer.access_token {
            Some(token) if status.is_success() => {
                let seconds = match &answer.expires_in {
                    Some(serde_json::Value::Number(n)) => n.as_i64(),
                    Some(serde_json::Value::String(s)) => s.parse().ok(),
                    _ => None,
                };
                let expires_at =
                    seconds.map(|s| now + chrono::Duration::seconds(s.clamp(0, 86_400 * 7)));
                tracing::debug!(?expires_at, "token acquired by client credentials");
                Ok(AccessToken::new(token, expires_at))
            }
            _ => Err(TokenError::Refused {
                status: status.as_u16(),
                error: answer
                    .error
                    .map(|e| quote::shortened(&e).to_string())
                    .unwrap_or_else(|| "no error code".to_owned()),
                description: answer
                    .error_description
                    .map(|d| quote::shortened_to(&d, 300).to_string())
                    .unwrap_or_default(),
            }),
        }
    }
}

impl TokenProvider for ClientCredentials {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(self.cache.get_or_fetch(self.fetch()))
    }

    fn reject<'a>(&'a self, token: &'a AccessToken, now: DateTime<Utc>) -> BoxFuture<'a, ()> {
        Box::pin(self.cache.reject(token, now))
    }
}

/// Tokens from the Azure CLI (`az account get-access-token --resource ROOT`), cached
/// like client credentials.
#[derive(Debug)]
pub struct AzureCli {
    resource: String,
    cache: Cache,
}

impl AzureCli {
    /// Tokens for the Graph root `graph_root`.
    pub fn new(graph_root: &str) -> AzureCli {
        AzureCli {
            resource: graph_root.trim_end_matches('/').to_owned(),
            cache: Cache::default(),
        }
    }

    async fn fetch(&self) -> Result<AccessToken, TokenError> {
        let output = tokio::process::Command::new("az")
            .args([
                "account",
                "get-access-token",
                "--resource",
                &self.resource,
                "--output",
                "json",
            ])
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| {
                TokenError::AzureCli(format!(
                    "cannot run `az` ({e}); install the Azure CLI and run `az login`"
                ))
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message");
            return Err(TokenError::AzureCli(format!(
                "`az account get-access-token` failed ({}): {}; run `az login`",
                output.status,
                quote::shortened_to(first, 300)
            )));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            access_token: String,
            expires_on: Option<serde_json::Value>,
        }
        let answer: Answer = serde_json::from_slice(&output.stdout).map_err(|e| {
            TokenError::AzureCli(format!("its output is not the JSON expected: {e}"))
        })?;
        // `expires_on` is a POSIX timestamp in recent versions.
        let expires_at = match answer.expires_on {
            Some(serde_json::Value::Number(n)) => {
                n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0))
            }
            Some(serde_json::Value::String(s)) => {
                s.parse().ok().and_then(|s| DateTime::from_timestamp(s, 0))
            }
            _ => None,
        };
        Ok(AccessToken::new(answer.access_token, expires_at))
    }
}

impl TokenProvider for AzureCli {
    fn token(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(self.cache.get_or_fetch(self.fetch()))
    }

    fn reject<'a>(&'a self, token: &'a AccessToken, now: DateTime<Utc>) -> BoxFuture<'a, ()> {
        Box::pin(self.cache.reject(token, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_secrets_never_print() {
        let token = AccessToken::new("eyJ.secret-token.sig", None);
        assert!(!format!("{token:?}").contains("secret-token"));
        let credentials = ClientCredentials::new(
            "https://login.microsoftonline.com",
            "t",
            "c",
            Secret::new("client-secret-value"),
            "https://graph.microsoft.com",
        );
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("client-secret-value"), "{shown}");
        assert!(
            shown.contains("https://graph.microsoft.com/.default"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_refused_token_is_dropped_when_expired_by_graphs_clock_or_old_not_when_just_fetched()
    {
        let now = Utc::now();
        let cache = Cache::default();
        let fetch = |s: &str| {
            let token = AccessToken::new(s, Some(now + chrono::Duration::hours(1)));
            async move { Ok::<_, TokenError>(token) }
        };
        let first = cache.get_or_fetch(fetch("one")).await.unwrap();
        // Just fetched and not expired at Graph's time: refusing it again and again (no
        // consent) must not fetch a token per call.
        cache.reject(&first, now).await;
        assert_eq!(
            cache.get_or_fetch(fetch("two")).await.unwrap().secret(),
            "one"
        );
        // Expired by Graph's clock (the emulator's moved on, or this host's is slow).
        cache.reject(&first, now + chrono::Duration::hours(2)).await;
        assert_eq!(
            cache.get_or_fetch(fetch("two")).await.unwrap().secret(),
            "two"
        );
        // Expired less than a second ago by Graph: its `Date` (to the second) may read
        // just before the expiry.
        let second = cache.get_or_fetch(fetch("two")).await.unwrap();
        cache
            .reject(
                &second,
                now + chrono::Duration::hours(1) - chrono::Duration::milliseconds(400),
            )
            .await;
        assert_eq!(
            cache.get_or_fetch(fetch("three")).await.unwrap().secret(),
            "three",
            "fetched again"
        );
        // Another caller's older token refused: the new one stays.
        cache.reject(&first, now + chrono::Duration::hours(2)).await;
        assert_eq!(
            cache.get_or_fetch(fetch("four")).await.unwrap().secret(),
            "three"
        );
    }

    #[test]
    fn a_token_is_fresh_until_the_margin() {
        let now = Utc::now();
        let later = |s| Some(now + chrono::Duration::seconds(s));
        assert!(AccessToken::new("t", later(3600)).fresh_at(now));
        assert!(!AccessToken::new("t", later(60)).fresh_at(now));
        assert!(AccessToken::new("t", None).fresh_at(now));
    }
}
