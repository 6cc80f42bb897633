//! HTTPS: the rustls server configuration (a leaf).
//!
//! rustls with the ring provider (no OpenSSL); TLS 1.2 and 1.3 only, rustls' default cipher
//! suites, ALPN `http/1.1`. The certificate comes from the keystore (`crate::keystore`),
//! which calls [`Tls::replace`] when its assignment changes: every handshake asks [`Tls`]
//! for the certificate in force, so a new one is presented to new connections without a
//! restart. [`Tls::require_client_certificates`] swaps the server configuration the same
//! way (the acceptor is read per connection).

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate or key is not usable.
    #[error("{0}")]
    Invalid(String),
}

/// The certificate every handshake presents, replaceable.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        )
    }
}

/// The device's TLS server side.
#[derive(Clone)]
pub struct Tls {
    current: Arc<Current>,
    acceptor: Arc<RwLock<TlsAcceptor>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

fn certified(
    chain: Vec<CertificateDer<'static>>,
    key: &PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, TlsError> {
    if chain.is_empty() {
        return Err(TlsError::Invalid("the certificate chain is empty".into()));
    }
    let signing = rustls::crypto::ring::sign::any_supported_type(key)
        .map_err(|e| TlsError::Invalid(format!("the private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| TlsError::Invalid(format!("the key does not match the certificate: {e}")))?;
    Ok(Arc::new(certified))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(
        deprecated,
        reason = "ring has no post-quantum key exchange; the aws-lc-rs provider that has needs cmake and a C toolchain on the box's build"
    )]
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(
    current: Arc<Current>,
    client_roots: Option<Vec<CertificateDer<'static>>>,
) -> Result<ServerConfig, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    let builder = match client_roots {
        None => builder.with_no_client_auth(),
        Some(roots) => {
            let mut store = rustls::RootCertStore::empty();
            for r in roots {
                store
                    .add(r)
                    .map_err(|e| TlsError::Invalid(format!("a CA certificate: {e}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(store),
                provider(),
            )
            .build()
            .map_err(|e| TlsError::Invalid(format!("client certificates: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(current);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificate and PKCS#8 key an earlier version kept in `<data_dir>/tls/`, if any
/// (the keystore takes them over).
pub fn legacy_device_certificate(data_dir: &Path) -> Option<(Vec<u8>, Vec<u8>)> {
    let dir = data_dir.join("tls");
    let read = |name: &str| -> Option<Vec<u8>> { std::fs::read(dir.join(name)).ok() };
    let cert = rustls_pemfile::certs(&mut read("device.crt")?.as_slice())
        .next()?
        .ok()?;
    let key = match rustls_pemfile::private_key(&mut read("device.key")?.as_slice()).ok()?? {
        PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
        _ => return None,
    };
    Some((cert.to_vec(), key))
}

impl Tls {
    /// A TLS server presenting `chain` (the end entity first) with `key`.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: &PrivateKeyDer<'static>,
    ) -> Result<Tls, TlsError> {
        let current = Arc::new(Current(RwLock::new(certified(chain, key)?)));
        let config = server_config(current.clone(), None)?;
        Ok(Tls {
            current,
            acceptor: Arc::new(RwLock::new(TlsAcceptor::from(Arc::new(config)))),
        })
    }

    /// The acceptor of a new TLS connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Presents `chain` with `key` on every new connection from now on (open ones keep
    /// theirs); refused, with nothing changed, when the key does not fit the certificate.
    pub fn replace(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: &PrivateKeyDer<'static>,
    ) -> Result<(), TlsError> {
        let next = certified(chain, key)?;
        *self
            .current
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        Ok(())
    }

    /// `Some(roots)`: new connections must present a client certificate issued by one of
    /// `roots` (none: no client can connect); `None`: no client certificate is asked for.
    pub fn require_client_certificates(
        &self,
        roots: Option<Vec<CertificateDer<'static>>>,
    ) -> Result<(), TlsError> {
        let config = server_config(self.current.clone(), roots)?;
        *self
            .acceptor
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            TlsAcceptor::from(Arc::new(config));
        Ok(())
    }
}

/// The names the device certificate is made for when HTTPS listens on `listen`: the host
/// name, `localhost`, loopback, the listen addresses and the addresses of the visible
/// interfaces.
pub fn device_names(listen: &[std::net::SocketAddr]) -> Vec<String> {
    let mut ips: Vec<IpAddr> = listen.iter().map(std::net::SocketAddr::ip).collect();
    for i in crate::host::net::visible_interfaces().unwrap_or_default() {
        ips.extend(i.ipv4.iter().map(|(a, _)| IpAddr::V4(*a)));
        ips.extend(i.ipv6.iter().map(|(a, _)| IpAddr::V6(*a)));
    }
    certificate_names(&crate::host::net::hostname(), &ips)
}

/// The names a self-signed device certificate is made for: the host name, `localhost`, the
/// loopback addresses and the given addresses (unspecified ones left out).
pub fn certificate_names(hostname: &str, addresses: &[IpAddr]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |n: String| {
        if !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    };
    add(hostname.to_owned());
    add("localhost".into());
    add("127.0.0.1".into());
    add("::1".into());
    for a in addresses.iter().filter(|a| !a.is_unspecified()) {
        add(a.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_replaceable_only_by_one_that_fits_its_key() {
        let names = certificate_names("gw", &["192.0.2.7".parse().unwrap()]);
        assert!(names.contains(&"192.0.2.7".to_string()) && names.contains(&"gw".to_string()));
        let first = rcgen::generate_simple_self_signed(names).unwrap();
        let key = PrivateKeyDer::try_from(first.signing_key.serialize_der()).unwrap();
        let tls = Tls::new(vec![first.cert.der().clone()], &key).unwrap();

        let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
        let chain = vec![other.cert.der().clone()];
        let key_der = PrivateKeyDer::try_from(other.signing_key.serialize_der()).unwrap();
        tls.replace(chain.clone(), &key_der).unwrap();
        // A key that does not fit the certificate changes nothing.
        let stranger = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
        let wrong = PrivateKeyDer::try_from(stranger.signing_key.serialize_der()).unwrap();
        assert!(tls.replace(chain, &wrong).is_err());
        assert!(Tls::new(Vec::new(), &key_der).is_err());
        tls.require_client_certificates(Some(vec![other.cert.der().clone()]))
            .unwrap();
        // A root store of nothing is refused by rustls: no client could ever connect.
        assert!(tls.require_client_certificates(Some(Vec::new())).is_err());
        tls.require_client_certificates(None).unwrap();
    }

    #[test]
    fn an_earlier_versions_certificate_is_read_for_the_keystore() {
        let dir = tempfile::tempdir().unwrap();
        assert!(legacy_device_certificate(dir.path()).is_none());
        let made = rcgen::generate_simple_self_signed(vec!["gw".into()]).unwrap();
        std::fs::create_dir(dir.path().join("tls")).unwrap();
        std::fs::write(dir.path().join("tls/device.crt"), made.cert.pem()).unwrap();
        std::fs::write(
            dir.path().join("tls/device.key"),
            made.signing_key.serialize_pem(),
        )
        .unwrap();
        let (cert, key) = legacy_device_certificate(dir.path()).unwrap();
        assert_eq!(cert, made.cert.der().to_vec());
        assert_eq!(key, made.signing_key.serialize_der());
    }
}
