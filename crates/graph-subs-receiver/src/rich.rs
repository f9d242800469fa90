//! Rich notifications: the validation tokens checked, then each resource's key unwrapped,
//! its signature checked, and only then the resource decrypted.
//!
//! The order is the documentation's, and each step guards the next:
//!
//! 1. **`validationTokens`** ([`TokenVerifier`]): each JWT's RS256 signature against the
//!    issuer's published keys (a JWKS: Microsoft's in production, the emulator's in
//!    tests), then its claims by the core's rule
//!    ([`ValidationTokenClaims::check`]): not expired, for one of this receiver's app ids,
//!    issued for the notification's tenant, asked for by Microsoft Graph Change Tracking.
//!    A rich item is accepted only when a token vouches for its tenant, so nothing forged
//!    reaches the private key.
//! 2. **`dataKey`** ([`DecryptionKeys`]): unwrapped with RSA-OAEP (SHA-1) by the key whose
//!    certificate has the notification's thumbprint (or any key without a known
//!    certificate). aws-lc does it in constant time.
//! 3. **`dataSignature`**: HMAC-SHA256 of `data` with that key, compared in constant time.
//! 4. **`data`**: AES-256-CBC, PKCS7, IV the key's first 16 bytes; the result must be a
//!    JSON object.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::cipher::{AES_256, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use graph_subs_core::notification::{EncryptedContent, TokenProblem, ValidationTokenClaims};
use graph_subs_core::quote;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// How many unwrapped keys and verified tokens are remembered (Graph sends a failed
/// delivery again with the same `dataKey`, and the same token for an hour).
const REMEMBERED: usize = 4096;
/// The longest validation token looked at: Graph's are one or two kilobytes. Longer ones
/// are refused unread, so that the memory of verified tokens stays small.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The most validation tokens of one POST looked at: Graph sends one per app and tenant
/// with an item in it. Past it, the rest are ignored, so that a POST cannot ask for
/// thousands of signature checks.
pub const MAX_TOKENS_PER_POST: usize = 64;

/// Why a key file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No private key in it.
    #[error(
        "no private key found: give the PEM file of the certificate's private key (`-----BEGIN PRIVATE KEY-----` or `-----BEGIN RSA PRIVATE KEY-----`)"
    )]
    NoKey,
    /// An encrypted private key.
    #[error(
        "the private key is encrypted with a passphrase: decrypt it first (`openssl pkcs8 -in key.pem -out plain-key.pem`) and keep that file readable only by the receiver"
    )]
    Encrypted,
    /// Not PEM, or a key the library refuses.
    #[error("the private key cannot be used: {0}")]
    Invalid(String),
    /// Several keys in one file: which certificate each belongs to would be a guess.
    #[error(
        "the file holds {0} private keys; give one key per file (with its certificate, if you like)"
    )]
    SeveralKeys(usize),
}

/// One private key, and the thumbprints of the certificates given with it.
struct DecryptionKey {
    key: OaepPrivateDecryptingKey,
    thumbprints: Vec<String>,
}

/// The private keys of the app's encryption certificates: several during a certificate
/// rollover. `Debug` shows only how many and their certificates' thumbprints.
pub struct DecryptionKeys {
    keys: Vec<DecryptionKey>,
    unwrapped: Mutex<HashMap<String, [u8; 32]>>,
}

impl std::fmt::Debug for DecryptionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let thumbprints: Vec<&[String]> = self.keys.iter().map(|k| &k.thumbprints[..]).collect();
        write!(
            f,
            "DecryptionKeys({} keys, thumbprints {thumbprints:?})",
            self.keys.len()
        )
    }
}

/// The SHA-1 thumbprint of a certificate's DER, uppercase hexadecimal, as Graph writes it.
pub fn thumbprint(certificate_der: &[u8]) -> String {
    aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        certificate_der,
    )
    .as_ref()
    .iter()
    .map(|b| format!("{b:02X}"))
    .collect()
}

/// PKCS#1 `RSAPrivateKey` DER wrapped as PKCS#8 `PrivateKeyInfo` (RFC 5208): version 0,
/// the rsaEncryption algorithm, the key as an octet string.
fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    fn length(n: usize) -> Vec<u8> {
        if n < 0x80 {
            return vec![n as u8];
        }
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(length(content.len()));
        out.extend_from_slice(content);
        out
    }
    // INTEGER 0, then SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }.
    let mut content = vec![0x02, 0x01, 0x00];
    content.extend_from_slice(&[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ]);
    content.extend(tlv(0x04, pkcs1));
    tlv(0x30, &content)
}

impl DecryptionKeys {
    /// No keys yet.
    pub fn new() -> DecryptionKeys {
        DecryptionKeys {
            keys: Vec::new(),
            unwrapped: Mutex::new(HashMap::new()),
        }
    }

    /// Adds the private key in `pem` (PKCS#8 or PKCS#1); the certificates in the same text
    /// (a combined PEM, as Key Vault exports) name it by their thumbprints.
    pub fn add_pem(&mut self, pem: &str) -> Result<(), KeyError> {
        let blocks = pem::parse_many(pem).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let mut keys = Vec::new();
        let mut thumbprints = Vec::new();
        for block in &blocks {
            match block.tag() {
                "PRIVATE KEY" => keys.push(block.contents().to_vec()),
                "RSA PRIVATE KEY" => keys.push(pkcs1_to_pkcs8(block.contents())),
                "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
                "CERTIFICATE" => thumbprints.push(thumbprint(block.contents())),
                _ => {}
            }
        }
        let pkcs8 = match &keys[..] {
            [] => return Err(KeyError::NoKey),
            [one] => one,
            several => return Err(KeyError::SeveralKeys(several.len())),
        };
        let key = PrivateDecryptingKey::from_pkcs8(pkcs8)
            .map_err(|e| KeyError::Invalid(e.to_string()))
            .and_then(|k| {
                OaepPrivateDecryptingKey::new(k).map_err(|e| KeyError::Invalid(e.to_string()))
            })?;
        self.keys.push(DecryptionKey { key, thumbprints });
        Ok(())
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True without keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys to try for a notification from the certificate `wanted`: the one whose
    /// certificate it is, else those given without a certificate.
    fn candidates(&self, wanted: Option<&str>) -> Vec<&DecryptionKey> {
        let named: Vec<&DecryptionKey> = self
            .keys
            .iter()
            .filter(|k| {
                wanted.is_some_and(|w| k.thumbprints.iter().any(|t| t.eq_ignore_ascii_case(w)))
            })
            .collect();
        if !named.is_empty() {
            return named;
        }
        self.keys
            .iter()
            .filter(|k| k.thumbprints.is_empty())
            .collect()
    }

    /// The symmetric key `data_key` wraps.
    fn unwrap(&self, content: &EncryptedContent) -> Result<[u8; 32], RichProblem> {
        if let Some(known) = self
            .unwrapped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&content.data_key)
        {
            return Ok(*known);
        }
        let wrapped = decode("dataKey", &content.data_key)?;
        let thumbprint = content.encryption_certificate_thumbprint.as_deref();
        // No key for it, or none of the keys given without a certificate unwraps it:
        // either way the notification is genuine (its token vouched for it before this)
        // and the receiver lacks its key, a configuration to complete, not a forgery.
        let no_key = || RichProblem::NoKey {
            thumbprint: thumbprint.map(|t| quote::shortened(t).to_string()),
            id: content
                .encryption_certificate_id
                .as_deref()
                .map(|t| quote::shortened(t).to_string()),
        };
        for candidate in self.candidates(thumbprint) {
            let mut out = vec![0u8; candidate.key.min_output_size()];
            if let Ok(plain) = candidate
                .key
                .decrypt(&OAEP_SHA1_MGF1SHA1, &wrapped, &mut out, None)
            {
                let key: [u8; 32] = (&*plain)
                    .try_into()
                    .map_err(|_| RichProblem::Undecryptable("dataKey is not a 32-byte key"))?;
                let mut unwrapped = self.unwrapped.lock().unwrap_or_else(|e| e.into_inner());
                if unwrapped.len() >= REMEMBERED {
                    unwrapped.clear();
                }
                unwrapped.insert(content.data_key.clone(), key);
                return Ok(key);
            }
        }
        Err(no_key())
    }

    /// The resource `content` holds: its key unwrapped, its signature checked, then
    /// decrypted.
    pub fn decrypt(&self, content: &EncryptedContent) -> Result<Map<String, Value>, RichProblem> {
        let key = self.unwrap(content)?;
        let data = decode("data", &content.data)?;
        let signature = decode("dataSignature", &content.data_signature)?;
        let mac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
        aws_lc_rs::hmac::verify(&mac, &data, &signature).map_err(|_| RichProblem::Signature)?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&key[..16]);
        let cipher = UnboundCipherKey::new(&AES_256, &key)
            .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
            .map_err(|_| RichProblem::Undecryptable("the AES key is refused"))?;
        let mut buffer = data;
        let plain = cipher
            .decrypt(
                &mut buffer,
                DecryptionContext::Iv128(FixedLength::from(&iv)),
            )
            .map_err(|_| RichProblem::Undecryptable("data does not decrypt (padding)"))?;
        serde_json::from_slice(plain)
            .map_err(|_| RichProblem::Undecryptable("the decrypted data is not a JSON object"))
    }
}

impl Default for DecryptionKeys {
    fn default() -> Self {
        DecryptionKeys::new()
    }
}

fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, RichProblem> {
    STANDARD
        .decode(text)
        .map_err(|_| RichProblem::NotBase64(field))
}

/// Why a rich notification is not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RichProblem {
    /// No validation token vouches for it.
    #[error("no valid validation token vouches for it: {0}")]
    Token(String),
    /// `dataSignature` is not the HMAC of `data`: changed on the way, or forged.
    #[error("dataSignature does not match data: it was changed or forged")]
    Signature,
    /// A field is not base64.
    #[error("encryptedContent.{0} is not base64")]
    NotBase64(&'static str),
    /// It does not decrypt.
    #[error("{0}")]
    Undecryptable(&'static str),
    /// The issuer's keys could not be obtained to check its token (the JWKS URL did not
    /// answer, or does not publish the token's key yet): answered 503, for Graph to send
    /// again.
    #[error("its validation token cannot be checked now: {0}")]
    KeysUnavailable(String),
    /// No key is configured for its certificate: the receiver's configuration is
    /// incomplete (a certificate rollover?), so it is answered 503 for Graph to send again.
    #[error(
        "no private key is configured for certificate {} (id {}); add it (`--decrypt-key`) and Graph's retries will get through",
        thumbprint.as_deref().unwrap_or("(no thumbprint)"),
        id.as_deref().unwrap_or("(none)")
    )]
    NoKey {
        /// `encryptionCertificateThumbprint`, shortened.
        thumbprint: Option<String>,
        /// `encryptionCertificateId`, shortened.
        id: Option<String>,
    },
}

/// Where the issuer's signing keys come from.
#[derive(Debug, Clone)]
pub enum IssuerKeys {
    /// A JWKS URL, fetched when first needed and again when a token names a key it does
    /// not have (at most once a minute): Microsoft's
    /// (`https://login.microsoftonline.com/common/discovery/v2.0/keys` for the global
    /// cloud) or the emulator's (`{emulator}/common/discovery/v2.0/keys`).
    Url(String),
    /// A JWKS given as it is.
    Static(JwkSet),
}

struct Fetched {
    keys: JwkSet,
    at: Option<std::time::Instant>,
}

/// Verifies validation tokens.
pub struct TokenVerifier {
    app_ids: Vec<String>,
    source: IssuerKeys,
    keys: tokio::sync::Mutex<Fetched>,
    client: reqwest::Client,
    refetch_after: std::time::Duration,
    /// Definitive outcomes only (a valid signature's claims, or a refusal no retry
    /// changes), by the SHA-256 of the token.
    verified: Mutex<HashMap<[u8; 32], Result<ValidationTokenClaims, String>>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("app_ids", &self.app_ids)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// How often, at most, the JWKS is fetched again for a key it does not have.
const REFETCH_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

impl TokenVerifier {
    /// Tokens for `app_ids` (the apps whose subscriptions post here), signed by the keys
    /// of `source`.
    pub fn new(app_ids: Vec<String>, source: IssuerKeys) -> TokenVerifier {
        let keys = match &source {
            IssuerKeys::Static(set) => set.clone(),
            IssuerKeys::Url(_) => JwkSet { keys: Vec::new() },
        };
        TokenVerifier {
            app_ids,
            source,
            keys: tokio::sync::Mutex::new(Fetched { keys, at: None }),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            refetch_after: REFETCH_AFTER,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// How long, at least, between two fetches of the JWKS for a key it does not have
    /// (a minute by default).
    pub fn refetch_after(mut self, interval: std::time::Duration) -> TokenVerifier {
        self.refetch_after = interval;
        self
    }

    /// The key `kid`, fetching the JWKS when it does not have it. Err(Ok(reason)): the
    /// key is unusable; Err(Err(reason)): not available now (not published yet, or the
    /// JWKS did not answer), worth trying again later.
    async fn key(&self, kid: &str) -> Result<DecodingKey, Result<String, String>> {
        let mut fetched = self.keys.lock().await;
        if fetched.keys.find(kid).is_none()
            && let IssuerKeys::Url(url) = &self.source
            && fetched
                .at
                .is_none_or(|at| at.elapsed() >= self.refetch_after)
        {
            fetched.at = Some(std::time::Instant::now());
            match self.fetch(url).await {
                Ok(keys) => fetched.keys = keys,
                Err(e) => {
                    tracing::warn!(error = %quote::shortened_to(&e, 300), "the issuer's keys could not be fetched");
                }
            }
        }
        let jwk = fetched.keys.find(kid).ok_or_else(|| {
            Err(format!(
                "signed with key `{}`, which the issuer does not publish (yet)",
                quote::shortened(kid)
            ))
        })?;
        DecodingKey::from_jwk(jwk).map_err(|e| {
            Ok(format!(
                "the issuer's key `{}` is unusable: {e}",
                quote::shortened(kid)
            ))
        })
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, String> {
        let url_shown = graph_subs_core::notification_url::redact(url);
        let url_shown = url_shown.as_str();
        let answer = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url_shown}: {}", e.without_url()))?;
        if !answer.status().is_success() {
            return Err(format!("GET {url_shown}: {}", answer.status()));
        }
        let body = answer
            .bytes()
            .await
            .map_err(|e| format!("GET {url_shown}: {}", e.without_url()))?;
        serde_json::from_slice(&body).map_err(|e| format!("{url_shown} is not a JWKS: {e}"))
    }

    /// The claims of `token` when the issuer signed it: Ok(Ok) signed, Ok(Err) refused
    /// for good (both remembered per token), Err a reason to try again later (not
    /// remembered: the next POST asks again).
    async fn claims(&self, token: &str) -> Result<Result<ValidationTokenClaims, String>, String> {
        let digest: [u8; 32] =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
                .as_ref()
                .try_into()
                .unwrap_or([0; 32]);
        if let Some(known) = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&digest)
        {
            return Ok(known.clone());
        }
        let result = self.verify_signature(token).await?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= REMEMBERED {
            verified.clear();
        }
        verified.insert(digest, result.clone());
        Ok(result)
    }

    async fn verify_signature(
        &self,
        token: &str,
    ) -> Result<Result<ValidationTokenClaims, String>, String> {
        let header = match jsonwebtoken::decode_header(token) {
            Ok(header) => header,
            Err(e) => {
                return Ok(Err(format!(
                    "not a JWT ({})",
                    quote::shortened(&e.to_string())
                )));
            }
        };
        if header.alg != Algorithm::RS256 {
            return Ok(Err(format!("signed with {:?}, not RS256", header.alg)));
        }
        let Some(kid) = header.kid else {
            return Ok(Err("the token names no signing key (`kid`)".to_owned()));
        };
        let key = match self.key(&kid).await {
            Ok(key) => key,
            Err(Ok(refused)) => return Ok(Err(refused)),
            Err(Err(later)) => return Err(later),
        };
        let mut validation = Validation::new(Algorithm::RS256);
        // Claims are judged by the core's rule, on the receiver's clock, below.
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        Ok(
            jsonwebtoken::decode::<ValidationTokenClaims>(token, &key, &validation)
                .map(|data| data.claims)
                .map_err(|e| {
                    format!(
                        "its signature or claims are invalid ({})",
                        quote::shortened(&e.to_string())
                    )
                }),
        )
    }

    /// Whether one of `tokens` vouches for notifications of `tenant_id` at `now`
    /// (seconds since the epoch); the reason of the first refusal otherwise, or
    /// [`RichProblem::KeysUnavailable`] when a token could not be checked now and none
    /// vouched.
    pub async fn vouches(
        &self,
        tokens: &[String],
        tenant_id: &str,
        now: i64,
    ) -> Result<(), RichProblem> {
        let mut first_problem = None;
        let mut later = None;
        for token in tokens.iter().take(MAX_TOKENS_PER_POST) {
            if token.len() > MAX_TOKEN_BYTES {
                first_problem.get_or_insert_with(|| {
                    format!("a validation token of {} bytes is not Graph's", token.len())
                });
                continue;
            }
            let outcome = match self.claims(token).await {
                Ok(Ok(claims)) => claims
                    .check(&self.app_ids, tenant_id, now)
                    .map_err(|p: TokenProblem| p.to_string()),
                Ok(Err(refused)) => Err(refused),
                Err(e) => {
                    later.get_or_insert(e);
                    continue;
                }
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(problem) => {
                    first_problem.get_or_insert(problem);
                }
            }
        }
        if let Some(later) = later {
            return Err(RichProblem::KeysUnavailable(later));
        }
        Err(RichProblem::Token(first_problem.unwrap_or_else(|| {
            "the POST has no validationTokens".to_owned()
        })))
    }
}

/// A self-signed certificate and its private key, for rich notifications on the emulator
/// or a first try: the certificate's DER in base64 (a subscription's
/// `encryptionCertificate`), and the key as PKCS#8 PEM (for [`DecryptionKeys::add_pem`]).
/// A fresh 2048-bit RSA key each time.
pub fn self_signed_certificate(common_name: &str) -> Result<(String, String), String> {
    use aws_lc_rs::encoding::AsDer as _;
    let key = PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|e| format!("generating an RSA key failed: {e}"))?;
    let pkcs8 = key
        .as_der()
        .map_err(|e| format!("encoding the key failed: {e}"))?;
    let pair = rcgen::KeyPair::try_from(pkcs8.as_ref())
        .map_err(|e| format!("the key cannot sign a certificate: {e}"))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let certificate = params
        .self_signed(&pair)
        .map_err(|e| format!("signing the certificate failed: {e}"))?;
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
    Ok((STANDARD.encode(certificate.der()), pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs1_keys_are_wrapped_as_pkcs8() {
        // A short and a long (two-byte length) content.
        let short = pkcs1_to_pkcs8(&[1, 2, 3]);
        assert_eq!(short[0], 0x30);
        assert_eq!(usize::from(short[1]), short.len() - 2);
        let long = pkcs1_to_pkcs8(&vec![7; 1200]);
        assert_eq!(&long[..2], &[0x30, 0x82]);
        assert_eq!(
            usize::from(u16::from_be_bytes([long[2], long[3]])),
            long.len() - 4
        );
    }

    #[tokio::test]
    async fn oversized_or_surplus_tokens_are_not_checked() {
        let verifier = TokenVerifier::new(
            vec!["app".into()],
            IssuerKeys::Static(JwkSet { keys: Vec::new() }),
        );
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        let problem = verifier.vouches(&[huge], "t", 0).await.unwrap_err();
        assert!(problem.to_string().contains("is not Graph's"), "{problem}");
        assert!(
            verifier.verified.lock().unwrap().is_empty(),
            "not remembered"
        );
        let many: Vec<String> = (0..1000).map(|i| format!("x.y.{i}")).collect();
        assert!(verifier.vouches(&many, "t", 0).await.is_err());
        assert_eq!(verifier.verified.lock().unwrap().len(), MAX_TOKENS_PER_POST);
        let none = verifier.vouches(&[], "t", 0).await.unwrap_err();
        assert!(none.to_string().contains("no validationTokens"), "{none}");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn keys() -> DecryptionKeys {
            let mut keys = DecryptionKeys::new();
            keys.add_pem(include_str!("../tests/vectors/rich/key.pem"))
                .unwrap();
            keys
        }

        fn base64_or_not() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..600).prop_map(|b| STANDARD.encode(b)),
                ".{0,80}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn any_encrypted_content_is_refused_or_opened_without_panicking(
                data in base64_or_not(),
                signature in base64_or_not(),
                key in base64_or_not(),
                thumbprint in proptest::option::of("[0-9A-F]{0,40}"),
            ) {
                let content = EncryptedContent {
                    data,
                    data_signature: signature,
                    data_key: key,
                    encryption_certificate_id: None,
                    encryption_certificate_thumbprint: thumbprint,
                    unknown: Default::default(),
                };
                // Random bytes never pass RSA-OAEP's check for this key.
                prop_assert!(keys().decrypt(&content).is_err());
            }
        }
    }

    #[test]
    fn key_files_without_one_usable_key_are_refused_with_what_to_do() {
        let mut keys = DecryptionKeys::new();
        assert_eq!(keys.add_pem(""), Err(KeyError::NoKey));
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(keys.add_pem(encrypted), Err(KeyError::Encrypted));
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(keys.add_pem(garbage), Err(KeyError::Invalid(_))));
        assert!(keys.is_empty());
    }
}
