//! HTTPS: the device certificate and the rustls server configuration (a leaf).
//!
//! rustls with the ring provider (no OpenSSL); TLS 1.2 and 1.3 only, rustls' default cipher
//! suites, ALPN `http/1.1`. The certificate is kept in `<data_dir>/tls/` (`device.crt`,
//! `device.key`, the key 0600); on the first start with TLS and no certificate, a
//! self-signed one is made (rcgen) for the host name, `localhost` and the device's addresses.
//! Every handshake asks [`Tls`] for the certificate in force, so [`Tls::replace`] changes it
//! for new connections without a restart.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
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
    acceptor: TlsAcceptor,
    /// Where the certificate in force is kept.
    pub cert_file: PathBuf,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert_file", &self.cert_file)
            .finish_non_exhaustive()
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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Tls {
    /// Loads the device certificate from `<data_dir>/tls/`, making a self-signed one for
    /// `names` (host names and addresses) if there is none.
    pub fn load_or_create(data_dir: &Path, names: &[String]) -> Result<Tls, TlsError> {
        let dir = data_dir.join("tls");
        let cert_file = dir.join("device.crt");
        let key_file = dir.join("device.key");
        if !cert_file.exists() || !key_file.exists() {
            crate::state::datadir::ensure_private_dir(&dir).map_err(io(&dir))?;
            let made = rcgen::generate_simple_self_signed(names.to_vec())
                .map_err(|e| TlsError::Invalid(format!("cannot make a certificate: {e}")))?;
            let _ = std::fs::remove_file(&key_file);
            crate::state::datadir::write_private_file(&key_file, &made.signing_key.serialize_pem())
                .map_err(io(&key_file))?;
            std::fs::write(&cert_file, made.cert.pem()).map_err(io(&cert_file))?;
            tracing::warn!(file = %cert_file.display(), ?names, "made a self-signed device certificate");
        }
        let chain = rustls_pemfile::certs(&mut std::io::BufReader::new(
            std::fs::File::open(&cert_file).map_err(io(&cert_file))?,
        ))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(&cert_file))?;
        let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
            std::fs::File::open(&key_file).map_err(io(&key_file))?,
        ))
        .map_err(io(&key_file))?
        .ok_or_else(|| TlsError::Invalid(format!("{}: no private key", key_file.display())))?;
        let current = Arc::new(Current(RwLock::new(certified(chain, &key)?)));
        #[allow(
            deprecated,
            reason = "ring has no post-quantum key exchange; the aws-lc-rs provider that has needs cmake and a C toolchain on the box's build"
        )]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
            .map_err(|e| TlsError::Invalid(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            current,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert_file,
        })
    }

    /// The acceptor every TLS connection goes through.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
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
    fn a_certificate_is_made_once_kept_private_and_replaceable() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let names = certificate_names("gw", &["192.0.2.7".parse().unwrap()]);
        assert!(names.contains(&"192.0.2.7".to_string()) && names.contains(&"gw".to_string()));
        let tls = Tls::load_or_create(dir.path(), &names).unwrap();
        let key = dir.path().join("tls/device.key");
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let first = std::fs::read(&tls.cert_file).unwrap();
        let again = Tls::load_or_create(dir.path(), &names).unwrap();
        assert_eq!(
            std::fs::read(&again.cert_file).unwrap(),
            first,
            "kept, not remade"
        );

        let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
        let chain = vec![other.cert.der().clone()];
        let key_der = PrivateKeyDer::try_from(other.signing_key.serialize_der()).unwrap();
        tls.replace(chain.clone(), &key_der).unwrap();
        // A key that does not fit the certificate changes nothing.
        let stranger = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
        let wrong = PrivateKeyDer::try_from(stranger.signing_key.serialize_der()).unwrap();
        assert!(tls.replace(chain, &wrong).is_err());
    }
}
