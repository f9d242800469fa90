//! Rich notifications: the resource encrypted for the subscription's certificate, as
//! Graph documents it (`changeNotificationEncryptedContent`):
//!
//! 1. a fresh random 32-byte symmetric key per notification;
//! 2. `data`: the resource's JSON, AES-256-CBC with that key, PKCS7 padding, and the key's
//!    first 16 bytes as IV, base64;
//! 3. `dataSignature`: HMAC-SHA256 of those encrypted bytes with the same key, base64;
//! 4. `dataKey`: the key encrypted with the certificate's RSA public key, RSA-OAEP with
//!    SHA-1 and MGF1-SHA-1, base64;
//! 5. `encryptionCertificateThumbprint`: the SHA-1 of the certificate's DER, in uppercase
//!    hexadecimal.
//!
//! This is the RustCrypto implementation; the receiver decrypts with aws-lc, and its tests
//! check a vector made with the OpenSSL command line, so that neither side only agrees with
//! itself.

use aes::cipher::{BlockEncryptMut as _, KeyIvInit as _, block_padding::Pkcs7};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use graph_subs_core::notification::EncryptedContent;
use graph_subs_core::subscription::{EncryptionCertificate, Unknown};
use hmac::Mac as _;
use rsa::pkcs8::DecodePublicKey as _;
use sha1::Digest as _;
use x509_cert::der::{Decode as _, Encode as _};

/// The public key of a subscription's certificate, and its thumbprint.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    key: rsa::RsaPublicKey,
    thumbprint: String,
}

/// Why a subscription's `encryptionCertificate` cannot encrypt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "encryptionCertificate is not a base64-encoded DER X.509 certificate with an RSA public key ({0}); \
     send the certificate's DER bytes in base64, without PEM header lines"
)]
pub(crate) struct CertificateError(String);

impl Recipient {
    /// The key of `certificate`.
    pub(crate) fn of(certificate: &EncryptionCertificate) -> Result<Recipient, CertificateError> {
        let text: String = certificate
            .expose()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = STANDARD
            .decode(text)
            .map_err(|e| CertificateError(format!("not base64: {e}")))?;
        let parsed = x509_cert::Certificate::from_der(&der)
            .map_err(|e| CertificateError(format!("not X.509: {e}")))?;
        let spki = parsed
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| CertificateError(e.to_string()))?;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki)
            .map_err(|e| CertificateError(format!("its key is not RSA: {e}")))?;
        let thumbprint = sha1::Sha1::digest(&der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Ok(Recipient { key, thumbprint })
    }

    /// `resource` (JSON) encrypted for this key, with a fresh symmetric key.
    pub(crate) fn encrypt(
        &self,
        certificate_id: Option<&str>,
        resource: &[u8],
    ) -> EncryptedContent {
        let mut rng = rand::rngs::OsRng;
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rng, &mut key);
        let (iv, _) = key.split_at(16);
        let data = cbc::Encryptor::<aes::Aes256>::new(&key.into(), iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(resource);
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(&key)
            .unwrap_or_else(|e| panic!("HMAC refused a 32-byte key: {e}"));
        mac.update(&data);
        let signature = mac.finalize().into_bytes();
        // A 2048-bit or larger key holds a 32-byte message with OAEP-SHA1 (up to 214 bytes);
        // a smaller key was refused when the subscription was made.
        let data_key = self
            .key
            .encrypt(&mut rng, rsa::Oaep::new::<sha1::Sha1>(), &key)
            .unwrap_or_default();
        EncryptedContent {
            data: STANDARD.encode(data),
            data_signature: STANDARD.encode(signature),
            data_key: STANDARD.encode(data_key),
            encryption_certificate_id: certificate_id.map(str::to_owned),
            encryption_certificate_thumbprint: Some(self.thumbprint.clone()),
            unknown: Unknown::default(),
        }
    }
}

/// Whether `certificate` can encrypt rich notifications: an X.509 certificate whose RSA key
/// has at least 2048 bits, as Graph asks.
pub(crate) fn check_certificate(
    certificate: &EncryptionCertificate,
) -> Result<(), CertificateError> {
    let recipient = Recipient::of(certificate)?;
    let bits = rsa::traits::PublicKeyParts::size(&recipient.key) * 8;
    if bits < 2048 {
        return Err(CertificateError(format!(
            "its RSA key has {bits} bits; Graph needs at least 2048"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockDecryptMut as _;
    use rsa::pkcs8::DecodePrivateKey as _;

    const VECTOR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../graph-subs-receiver/tests/vectors/rich"
    );

    fn vector(name: &str) -> String {
        std::fs::read_to_string(format!("{VECTOR}/{name}")).unwrap()
    }

    /// Decrypts as the documentation says, step by step (the receiver's tests do it with
    /// aws-lc against this same encryption over HTTP).
    #[test]
    fn what_it_encrypts_decrypts_with_the_certificates_private_key() {
        let certificate = EncryptionCertificate::new(vector("cert.der.b64"));
        let recipient = Recipient::of(&certificate).unwrap();
        assert_eq!(
            recipient.thumbprint, "FE814909E07658D4C77D10897D3D1DA742CED80D",
            "the vector's thumbprint, as OpenSSL computed it"
        );
        let resource = vector("resource.json");
        let content = recipient.encrypt(Some("cert-1"), resource.as_bytes());
        assert_eq!(content.encryption_certificate_id.as_deref(), Some("cert-1"));

        let private = rsa::RsaPrivateKey::from_pkcs8_pem(&vector("key.pem")).unwrap();
        let key = private
            .decrypt(
                rsa::Oaep::new::<sha1::Sha1>(),
                &STANDARD.decode(&content.data_key).unwrap(),
            )
            .unwrap();
        assert_eq!(key.len(), 32);
        let data = STANDARD.decode(&content.data).unwrap();
        let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(&key).unwrap();
        mac.update(&data);
        mac.verify_slice(&STANDARD.decode(&content.data_signature).unwrap())
            .unwrap();
        let plain = cbc::Decryptor::<aes::Aes256>::new(key[..].into(), key[..16].into())
            .decrypt_padded_vec_mut::<Pkcs7>(&data)
            .unwrap();
        assert_eq!(plain, resource.as_bytes());

        // A fresh key each time.
        let again = recipient.encrypt(None, resource.as_bytes());
        assert_ne!(again.data, content.data);
        assert_ne!(again.data_key, content.data_key);
    }

    #[test]
    fn certificates_that_cannot_encrypt_are_refused_with_the_reason() {
        for (text, reason) in [
            ("not base64!", "not base64"),
            ("aGVsbG8=", "not X.509"),
            (
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                "not base64",
            ),
        ] {
            let error = check_certificate(&EncryptionCertificate::new(text))
                .unwrap_err()
                .to_string();
            assert!(error.contains(reason), "{text}: {error}");
            assert!(error.contains("without PEM header lines"), "{error}");
        }
        // Line breaks inside the base64, as some tools write it, are fine.
        let wrapped: String = vector("cert.der.b64")
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert_eq!(
            check_certificate(&EncryptionCertificate::new(wrapped)),
            Ok(())
        );
    }
}
