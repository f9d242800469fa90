//! HTTPS for the emulator ([`EmulatorBuilder::tls`], `graph-subs emulator --tls`): the
//! official SDKs' token providers (MSAL, azure-identity) refuse an authority that is not
//! `https://`, so the emulator can serve TLS with a certificate it makes at start.
//!
//! # Decisions
//!
//! - **A CA, then a server certificate.** At start the emulator generates (rcgen, ECDSA
//!   P-256, ring) a CA certificate and a server certificate it signs, for `localhost`,
//!   `127.0.0.1`, `::1`, the listen address when it is not a wildcard, and any name
//!   added with [`TlsSettings::subject_alt_name`]. Clients trust the CA
//!   ([`RunningEmulator::ca_pem`](crate::RunningEmulator::ca_pem)); the server certificate
//!   carries the extensions strict verifiers ask for (key usage, `serverAuth`, subject and
//!   authority key identifiers), so OpenSSL's `X509_STRICT` (Python 3.13's default)
//!   accepts the chain.
//! - **The CA's private key is thrown away** once the server certificate is signed: it is
//!   never stored, written or logged, so trusting the CA lets nothing else be signed with
//!   it. The server key lives only in the rustls configuration. A new CA is made at every
//!   start, `--state` or not: clients read the PEM again after a restart.
//! - **Validity from the wall clock**, not the emulator's (which tests move by days): from
//!   the day before start to 365 days after, within the 398 days browsers accept for a
//!   server certificate.
//! - **Serving.** `graph_subs_tls::TlsListener`, shared with the receiver: each TLS
//!   handshake in a task of its own (10-second limit), finished streams handed to
//!   `axum::serve`, so HTTP and HTTPS share one serving path and its graceful shutdown;
//!   rustls on ring, ALPN `http/1.1` (`graph_subs_tls::server_config`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use chrono::{Datelike, TimeDelta};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::EmulatorBuilder;

/// How the emulator serves HTTPS: a certificate it generates at start, for the loopback
/// names and any others added here.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use graph_subs_emulator::{Emulator, TlsSettings};
///
/// let emulator = Emulator::builder()
///     .tls(TlsSettings::self_signed())
///     .build()
///     .start()
///     .await?;
/// assert!(emulator.base_url().starts_with("https://127.0.0.1:"));
/// assert!(emulator.ca_pem().is_some_and(|pem| pem.contains("BEGIN CERTIFICATE")));
/// emulator.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    names: Vec<String>,
}

impl TlsSettings {
    /// A certificate for `localhost`, `127.0.0.1`, `::1` and the listen address, signed by
    /// a CA made for this run.
    pub fn self_signed() -> TlsSettings {
        TlsSettings::default()
    }

    /// Also names `name` (a DNS name or an IP address) in the server certificate: for an
    /// emulator listening on a wildcard address and reached by a host name.
    pub fn subject_alt_name(mut self, name: impl Into<String>) -> TlsSettings {
        self.names.push(name.into());
        self
    }

    /// The names the server certificate is for, with `listen`: loopback first, no
    /// duplicates.
    fn names(&self, listen: IpAddr) -> Vec<String> {
        let mut names = vec![
            "localhost".to_owned(),
            Ipv4Addr::LOCALHOST.to_string(),
            Ipv6Addr::LOCALHOST.to_string(),
        ];
        let listen = (!listen.is_unspecified()).then(|| listen.to_string());
        for name in listen.into_iter().chain(self.names.iter().cloned()) {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                names.push(name);
            }
        }
        names
    }
}

/// TLS options.
impl EmulatorBuilder {
    /// Serves HTTPS instead of HTTP: [`base_url`](crate::RunningEmulator::base_url) (and
    /// with it the token issuer) becomes `https://...`, and
    /// [`ca_pem`](crate::RunningEmulator::ca_pem) gives the CA clients must trust.
    pub fn tls(mut self, settings: TlsSettings) -> Self {
        self.config.tls = Some(settings);
        self
    }
}

/// What start made: the CA for clients, the configuration for the listener.
pub(crate) struct Certificates {
    /// The CA certificate, PEM.
    pub(crate) ca_pem: String,
    /// The server configuration (it holds the server key).
    pub(crate) server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("ca_pem", &self.ca_pem)
            .finish_non_exhaustive()
    }
}

/// Makes the CA and the server certificate for `settings` and `listen`, valid around
/// `today` (the wall clock's).
pub(crate) fn generate(
    settings: &TlsSettings,
    listen: IpAddr,
    today: chrono::NaiveDate,
) -> Result<Certificates, String> {
    let day = |date: chrono::NaiveDate| {
        // Months and days are 1..=12 and 1..=31: they fit a u8.
        rcgen::date_time_ymd(
            date.year(),
            u8::try_from(date.month()).unwrap_or(1),
            u8::try_from(date.day()).unwrap_or(1),
        )
    };
    let not_before = day(today - TimeDelta::days(1));
    let not_after = day(today + TimeDelta::days(365));

    let ca_key = KeyPair::generate().map_err(|e| format!("generating the CA key failed: {e}"))?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "graph-subs emulator local CA");
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca = ca_params
        .self_signed(&ca_key)
        .map_err(|e| format!("signing the CA certificate failed: {e}"))?;

    let names = settings.names(listen);
    let server_key =
        KeyPair::generate().map_err(|e| format!("generating the server key failed: {e}"))?;
    let mut server_params = CertificateParams::new(names.clone()).map_err(|e| {
        format!(
            "a certificate cannot name {}: {e}",
            names
                .iter()
                .map(|n| graph_subs_core::quote::shortened(n).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "graph-subs emulator");
    server_params.is_ca = IsCa::ExplicitNoCa;
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.use_authority_key_identifier_extension = true;
    server_params.not_before = not_before;
    server_params.not_after = not_after;
    let server = server_params
        .signed_by(&server_key, &ca, &ca_key)
        .map_err(|e| format!("signing the server certificate failed: {e}"))?;
    // `ca_key` is dropped at the end of this function: nothing else can be signed.

    let config = graph_subs_tls::server_config(
        vec![server.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    )
    .map_err(|e| e.to_string())?;
    tracing::debug!(names = ?names, "TLS certificate generated");
    Ok(Certificates {
        ca_pem: ca.pem(),
        server: config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_names_loopback_the_listen_address_and_added_names_once() {
        let check = |settings: TlsSettings, listen: &str, expected: &[&str]| {
            let listen: IpAddr = listen.parse().unwrap();
            assert_eq!(settings.names(listen), expected, "{listen}");
        };
        let loopback = ["localhost", "127.0.0.1", "::1"];
        check(TlsSettings::self_signed(), "127.0.0.1", &loopback);
        check(TlsSettings::self_signed(), "0.0.0.0", &loopback);
        check(TlsSettings::self_signed(), "::", &loopback);
        check(
            TlsSettings::self_signed(),
            "192.0.2.7",
            &["localhost", "127.0.0.1", "::1", "192.0.2.7"],
        );
        check(
            TlsSettings::self_signed()
                .subject_alt_name("emulator.test")
                .subject_alt_name("LOCALHOST"),
            "0.0.0.0",
            &["localhost", "127.0.0.1", "::1", "emulator.test"],
        );
    }

    #[test]
    fn a_name_no_certificate_can_hold_is_an_error_not_a_panic() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let settings = TlsSettings::self_signed().subject_alt_name("bücher.example");
        let error = generate(&settings, IpAddr::from([127, 0, 0, 1]), today).unwrap_err();
        assert!(error.contains("bücher.example"), "{error}");
        let made = generate(
            &TlsSettings::self_signed(),
            Ipv4Addr::LOCALHOST.into(),
            today,
        );
        assert!(made.is_ok_and(|c| c.ca_pem.starts_with("-----BEGIN CERTIFICATE-----")));
    }
}
