//! HTTPS for graph-subs' servers: the emulator (with a certificate it makes at start) and
//! the receiver (with the operator's certificate and key, PEM files).
//!
//! - **[`server_config`]**: rustls on ring (not the process default: the one crypto crate
//!   the workspace's TLS uses), the safe default protocol versions, ALPN `http/1.1` only
//!   (the servers' hyper is built without HTTP/2); [`server_config_from_pem`] reads the
//!   chain and key from PEM text, with an error that says which part is missing.
//! - **[`TlsListener`]**: `axum::serve` takes any [`axum::serve::Listener`]; this one
//!   accepts TCP connections in a task of its own and runs each TLS handshake in a task
//!   too (10-second limit), handing finished streams to `axum::serve`. A slow or stalled
//!   handshake never holds up the others (at most [`MAX_HANDSHAKES`] at once), and HTTP
//!   and HTTPS share one serving path, with the same graceful shutdown. A failed handshake (typically a client that does not
//!   trust the certificate) is logged at `warn` with the peer and rustls's reason, and
//!   dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

pub use tokio_rustls::rustls::ServerConfig;

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at most: past it, the accept loop waits for one to end, so that
/// a client opening connections as fast as it can cannot take every file descriptor.
pub const MAX_HANDSHAKES: usize = 256;

/// Why a certificate and key cannot serve TLS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// No certificate in the certificate file.
    #[error(
        "no certificate found: give a PEM file starting with `-----BEGIN CERTIFICATE-----` (the server's certificate first, then its intermediates)"
    )]
    NoCertificate,
    /// No private key in the key file.
    #[error(
        "no private key found: give a PEM file with `-----BEGIN PRIVATE KEY-----`, `-----BEGIN RSA PRIVATE KEY-----` or `-----BEGIN EC PRIVATE KEY-----`, not encrypted"
    )]
    NoKey,
    /// rustls refuses them (a key that is not the certificate's, an unsupported key).
    #[error("the certificate and key are refused: {0}")]
    Refused(String),
}

/// A server configuration serving `chain` (the server's certificate first) with `key`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Refused(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Refused(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A server configuration from PEM text: the certificate chain, and the private key.
pub fn server_config_from_pem(
    certificates_pem: &str,
    key_pem: &str,
) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(certificates_pem.as_bytes())
            .filter_map(Result::ok)
            .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|_| TlsError::NoKey)?;
    server_config(chain, key)
}

/// A listener for `axum::serve` that hands over connections once their TLS handshake is
/// done. The accepting task stops when the listener is dropped.
#[derive(Debug)]
pub struct TlsListener {
    address: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Accepts on `tcp` (bound to `address`) with `config`. Call it inside a tokio
    /// runtime: the accepting task starts at once.
    pub fn new(tcp: TcpListener, address: SocketAddr, config: Arc<ServerConfig>) -> TlsListener {
        let (sender, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(accept(tcp, TlsAcceptor::from(config), sender));
        TlsListener {
            address,
            ready,
            accepting,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task ended (it only does when aborted): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.address)
    }
}

/// Accepts TCP connections and shakes hands with each in a task of its own.
async fn accept(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // As axum's own TCP listener: per-connection errors are skipped; others
                // (out of file descriptors) are waited out.
                if !is_connection_error(&e) {
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::warn!(
                    %peer,
                    error = %e,
                    "TLS handshake failed (does the client trust the server's certificate?)"
                ),
                Err(_) => tracing::warn!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_files_without_their_part_say_which_is_missing() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert, key) = (made.cert.pem(), made.key_pair.serialize_pem());
        assert!(server_config_from_pem(&cert, &key).is_ok());
        assert_eq!(
            server_config_from_pem(&key, &key).unwrap_err(),
            TlsError::NoCertificate
        );
        assert_eq!(
            server_config_from_pem(&cert, &cert).unwrap_err(),
            TlsError::NoKey
        );
        let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert!(matches!(
            server_config_from_pem(&cert, &other),
            Err(TlsError::Refused(_))
        ));
    }
}
