//! The emulator's identity platform: it signs access tokens (RS256 JWTs, with the claims
//! the Microsoft identity platform puts in Graph tokens), publishes its signing key as a
//! JWKS, and verifies the tokens callers present.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use graph_subs_core::permissions::PermissionType;
use graph_subs_core::visibility::{Account, Caller};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde::{Deserialize, Serialize};

/// The audience of Graph access tokens.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
/// Graph's application id, the other audience Graph tokens carry.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The tenant of personal Microsoft accounts: delegated tokens from it are personal.
pub const CONSUMER_TENANT: &str = graph_subs_core::grants::CONSUMER_TENANT_ID;
/// The Global Administrator role template id, as `wids` carries it.
pub const GLOBAL_ADMINISTRATOR: &str = graph_subs_core::grants::GLOBAL_ADMINISTRATOR_ROLE;

/// The claims of an access token, as the Microsoft identity platform writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience: Graph.
    pub aud: String,
    /// Issuer: `{base}/{tenant}/v2.0`.
    pub iss: String,
    /// Tenant id.
    pub tid: String,
    /// The calling app (v1 claim name).
    pub appid: String,
    /// The calling app (v2 claim name).
    #[serde(default)]
    pub azp: Option<String>,
    /// The signed-in user (delegated) or the app's service principal (application).
    pub oid: String,
    /// Subject.
    pub sub: String,
    /// Delegated permissions, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// Application permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Directory role template ids of the signed-in user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wids: Option<Vec<String>>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires at.
    pub exp: i64,
    /// Token version.
    pub ver: String,
}

/// Who a token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Tenant id.
    pub tenant_id: String,
    /// The calling app.
    pub app_id: String,
    /// The signed-in user, or the app's service principal: a subscription's `creatorId`.
    pub object_id: String,
    /// What the token grants (permission type, permissions, admin), as the core reads
    /// the claims.
    pub grants: graph_subs_core::grants::Grants,
    /// Who it is to the visibility rules (List, and which subscription it may read,
    /// update or delete): drawn from the fields above when the token is read.
    caller: Caller,
}

impl Principal {
    /// Who the caller is to the visibility rules.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}

impl Claims {
    /// Who the caller is: the core reads what the claims grant.
    pub fn principal(&self) -> Principal {
        let grants = graph_subs_core::grants::Grants::from_claims(
            &self.tid,
            self.scp.as_deref(),
            self.roles.as_deref().unwrap_or_default(),
            self.wids.as_deref().unwrap_or_default(),
        );
        let app_id = self.azp.clone().unwrap_or_else(|| self.appid.clone());
        let caller = match grants.permission_type {
            PermissionType::Application => Caller::Application {
                app_id: app_id.clone(),
            },
            t => Caller::Delegated {
                app_id: app_id.clone(),
                user_id: self.oid.clone(),
                account: if t == PermissionType::DelegatedPersonal {
                    Account::Personal
                } else {
                    Account::WorkOrSchool
                },
                admin: grants.admin,
                subscription_read_all: grants.has("Subscription.Read.All"),
            },
        };
        Principal {
            tenant_id: self.tid.clone(),
            app_id,
            object_id: self.oid.clone(),
            grants,
            caller,
        }
    }
}

/// What a token is for: the caller a test or `graph-subs emulator token` plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// Tenant id.
    pub tenant_id: String,
    /// The calling app.
    pub app_id: String,
    /// The signed-in user, for a delegated token.
    pub user_id: Option<String>,
    /// Delegated permissions; a token with scopes (or a user) is delegated.
    pub scopes: Vec<String>,
    /// Application permissions.
    pub roles: Vec<String>,
    /// Whether the user is a Global Administrator.
    pub admin: bool,
    /// How long the token lasts.
    pub expires_in: Duration,
}

impl TokenSpec {
    /// An application token for `app_id` in `tenant_id` with `roles`.
    pub fn application(tenant_id: &str, app_id: &str, roles: &[&str]) -> TokenSpec {
        TokenSpec {
            tenant_id: tenant_id.to_owned(),
            app_id: app_id.to_owned(),
            user_id: None,
            scopes: Vec::new(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            admin: false,
            expires_in: Duration::hours(1),
        }
    }

    /// A delegated token: `user_id` signed in to `app_id` with `scopes`.
    pub fn delegated(tenant_id: &str, app_id: &str, user_id: &str, scopes: &[&str]) -> TokenSpec {
        TokenSpec {
            tenant_id: tenant_id.to_owned(),
            app_id: app_id.to_owned(),
            user_id: Some(user_id.to_owned()),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            roles: Vec::new(),
            admin: false,
            expires_in: Duration::hours(1),
        }
    }

    /// Whether the token acts for a user.
    pub fn is_delegated(&self) -> bool {
        self.user_id.is_some() || !self.scopes.is_empty()
    }
}

/// Why a presented token is refused (answered 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    #[error("Access token is empty.")]
    Missing,
    /// Not a JWT, or not signed by this emulator, or not for Graph.
    #[error("Access token validation failure. Invalid audience, issuer or signature: {0}")]
    Invalid(String),
    /// Past its `exp` on the emulator's clock.
    #[error("Lifetime validation failed, the token is expired.")]
    Expired,
    /// Before its `nbf`.
    #[error("Lifetime validation failed, the token is not yet valid.")]
    NotYetValid,
}

/// The signing key: made once per process (RSA key generation is slow, and every
/// emulator a test suite starts can share one), or restored from a `--state` file so that
/// tokens outlive a restart.
struct SigningKey {
    der: Vec<u8>,
    n: String,
    e: String,
    kid: String,
}

impl SigningKey {
    fn from_private(private: &rsa::RsaPrivateKey) -> Result<SigningKey, String> {
        let der = private
            .to_pkcs1_der()
            .map_err(|e| format!("encoding the signing key failed: {e}"))?
            .as_bytes()
            .to_vec();
        let public = private.to_public_key();
        let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let kid = format!("emulator-{}", n.get(..16).unwrap_or(&n));
        Ok(SigningKey { der, n, e, kid })
    }
}

fn process_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = rand::rngs::OsRng;
        // 2048 bits, as the Microsoft identity platform's keys.
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048)
            .unwrap_or_else(|e| panic!("generating the emulator's RSA signing key failed: {e}"));
        SigningKey::from_private(&private).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// Signs and verifies tokens.
pub(crate) struct Identity {
    encoding: EncodingKey,
    decoding: DecodingKey,
    key: std::borrow::Cow<'static, SigningKey>,
    verified: Mutex<HashMap<Box<str>, Claims>>,
}

/// How many verified tokens [`Identity::verify`] remembers. Checking an RS256 signature
/// costs about a hundred times the rest of a renewal (`docs/performance.md`), and a
/// client presents the same token for an hour: a token whose signature, audience and
/// issuer passed once is remembered whole (the text, compared exactly, is the key), and
/// only its lifetime is checked again, on each request, against the emulator's clock.
/// Past this many, the memory is emptied and filled again.
const VERIFIED_TOKENS: usize = 4096;

impl Clone for SigningKey {
    fn clone(&self) -> Self {
        SigningKey {
            der: self.der.clone(),
            n: self.n.clone(),
            e: self.e.clone(),
            kid: self.kid.clone(),
        }
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity(kid: {})", self.key.kid)
    }
}

/// A restored signing key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signing key in the state file is not an RSA private key (PKCS#1 DER): {0}")]
pub struct KeyError(String);

impl Identity {
    /// The process's key.
    pub(crate) fn new() -> Identity {
        Identity::with_key(std::borrow::Cow::Borrowed(process_key()))
    }

    /// A key restored from its PKCS#1 DER form.
    pub(crate) fn from_der(der: &[u8]) -> Result<Identity, KeyError> {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        let private =
            rsa::RsaPrivateKey::from_pkcs1_der(der).map_err(|e| KeyError(e.to_string()))?;
        let key = SigningKey::from_private(&private).map_err(KeyError)?;
        Ok(Identity::with_key(std::borrow::Cow::Owned(key)))
    }

    fn with_key(key: std::borrow::Cow<'static, SigningKey>) -> Identity {
        Identity {
            encoding: EncodingKey::from_rsa_der(&key.der),
            decoding: DecodingKey::from_rsa_components(&key.n, &key.e)
                .unwrap_or_else(|e| panic!("the emulator's own public key is invalid: {e}")),
            key,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The private key, PKCS#1 DER, for the `--state` file.
    pub(crate) fn key_der(&self) -> &[u8] {
        &self.key.der
    }

    /// The issuer the emulator writes for `tenant`.
    pub(crate) fn issuer(base_url: &str, tenant: &str) -> String {
        format!("{base_url}/{tenant}/v2.0")
    }

    /// A signed token for `spec`, issued at `now`.
    pub(crate) fn issue(&self, base_url: &str, spec: &TokenSpec, now: DateTime<Utc>) -> String {
        let delegated = spec.is_delegated();
        let oid = match &spec.user_id {
            Some(user) => user.clone(),
            // An app's service principal: stable per app and tenant.
            None => format!("sp-{}", spec.app_id),
        };
        let claims = Claims {
            aud: GRAPH_AUDIENCE.to_owned(),
            iss: Identity::issuer(base_url, &spec.tenant_id),
            tid: spec.tenant_id.clone(),
            appid: spec.app_id.clone(),
            azp: Some(spec.app_id.clone()),
            sub: oid.clone(),
            oid,
            scp: delegated.then(|| spec.scopes.join(" ")),
            roles: (!delegated).then(|| spec.roles.clone()),
            wids: (delegated && spec.admin).then(|| vec![GLOBAL_ADMINISTRATOR.to_owned()]),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + spec.expires_in).timestamp(),
            ver: "2.0".to_owned(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .unwrap_or_else(|e| panic!("signing a token with the emulator's own key failed: {e}"))
    }

    /// A rich notification's validation token: `claims` signed with the key the JWKS
    /// publishes.
    pub(crate) fn validation_token(
        &self,
        claims: &graph_subs_core::notification::ValidationTokenClaims,
    ) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .unwrap_or_else(|e| panic!("signing a token with the emulator's own key failed: {e}"))
    }

    /// Whether a validation token carries this key's signature (tests).
    #[cfg(test)]
    pub(crate) fn verify_validation_token(&self, token: &str) -> Result<(), String> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<graph_subs_core::notification::ValidationTokenClaims>(
            token,
            &self.decoding,
            &validation,
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    /// Verifies a presented token: signature, audience, issuer (once per token, see
    /// [`VERIFIED_TOKENS`]), and lifetime on the emulator's clock (`now`, every time).
    pub(crate) fn verify(
        &self,
        base_url: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Claims, TokenError> {
        let remembered = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned();
        let claims = match remembered {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signature(base_url, token)?;
                let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
                if verified.len() >= VERIFIED_TOKENS {
                    verified.clear();
                }
                verified.insert(token.into(), claims.clone());
                claims
            }
        };
        if now.timestamp() >= claims.exp {
            return Err(TokenError::Expired);
        }
        if now.timestamp() < claims.nbf {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// The claims of a token signed with this key, for Graph, by this emulator's issuer
    /// for the token's tenant; its lifetime is not checked.
    fn verify_signature(&self, base_url: &str, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[GRAPH_AUDIENCE, GRAPH_APP_ID]);
        // Times are checked against the emulator's clock below, not the wall clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        let claims = data.claims;
        if claims.iss != Identity::issuer(base_url, &claims.tid) {
            return Err(TokenError::Invalid("wrong issuer".into()));
        }
        Ok(claims)
    }

    /// The JSON Web Key Set receivers validate tokens with.
    pub(crate) fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.key.kid,
                "n": self.key.n,
                "e": self.key.e,
            }]
        })
    }
}
