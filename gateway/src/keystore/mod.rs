//! The keystore: key pairs, certificates, certification paths and which path the HTTPS
//! server presents (the Advanced Security service's keystore and TLS server features; the
//! device service's older certificate operations use the same store).
//!
//! Kept in `<data_dir>/keystore/keystore.json` (folder 0700, file 0600, replaced
//! atomically on every change), not in the state database, so that a system backup never
//! carries a private key. Private keys leave it only to sign (CSRs, self-signed
//! certificates) and to the TLS server; no view returned to a caller holds one, and the
//! `Debug` of every type here leaves them out.
//!
//! Every change is checked whole before anything is written: a refused upload or an
//! operation against an unknown ID changes nothing. A change of the assigned server
//! certification path goes to [`crate::tls::Tls::replace`] at once: new connections present
//! it, open ones keep theirs.

pub mod crypto;
mod file;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub use crypto::{CertInfo, CryptoError, KeyKind, Name, Request};
use file::{Cert, Key, Stored, StoredPath};

/// The capability limits, declared in GetServiceCapabilities and enforced.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Key pairs (and public keys of uploaded certificates).
    pub keys: usize,
    /// Certificates.
    pub certificates: usize,
    /// Certification paths.
    pub paths: usize,
    /// Certification paths assigned to the TLS server at once.
    pub server_paths: usize,
}

/// The limits railgate declares.
pub const LIMITS: Limits = Limits {
    keys: 32,
    certificates: 32,
    paths: 16,
    server_paths: 1,
};

/// A key's state (tas:KeyStatus).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable.
    Ok,
    /// Being made.
    Generating,
    /// Making it failed, or its stored form is unreadable.
    Corrupt,
}

impl KeyStatus {
    /// The standard's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Ok => "ok",
            KeyStatus::Generating => "generating",
            KeyStatus::Corrupt => "corrupt",
        }
    }
}

/// A key as a caller sees it (no private part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyView {
    /// Its ID.
    pub id: String,
    /// The client's alias.
    pub alias: Option<String>,
    /// Whether the keystore has the private key.
    pub has_private_key: bool,
    /// Its state.
    pub status: KeyStatus,
    /// Uploaded rather than made here.
    pub external: bool,
}

/// A certificate as a caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertView {
    /// Its ID.
    pub id: String,
    /// The key it certifies.
    pub key_id: String,
    /// The client's alias.
    pub alias: Option<String>,
    /// DER.
    pub der: Vec<u8>,
    /// Whether the keystore has the private key of the certified key.
    pub has_private_key: bool,
}

/// A certification path as a caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathView {
    /// Its ID.
    pub id: String,
    /// The certificates, the end entity first.
    pub certificates: Vec<String>,
    /// The client's alias.
    pub alias: Option<String>,
}

/// Why a keystore operation was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// No key has this ID.
    #[error("no key has the ID {0:?}")]
    UnknownKey(String),
    /// No certificate has this ID.
    #[error("no certificate has the ID {0:?}")]
    UnknownCertificate(String),
    /// No certification path has this ID.
    #[error("no certification path has the ID {0:?}")]
    UnknownPath(String),
    /// A certificate refers to the key, a path to the certificate, or the TLS server to the
    /// path.
    #[error("{0} is in use: {1}")]
    InUse(String, String),
    /// A capability limit is reached.
    #[error("the keystore holds the most {what} it can ({1})", what = .0.what())]
    Full(Limit, usize),
    /// The key is still being made, or unusable.
    #[error("key {0:?} is {1}")]
    KeyNotReady(String, &'static str),
    /// The operation needs the private key, which the keystore does not have.
    #[error("the keystore has no private key for key {0:?}")]
    NoPrivateKey(String),
    /// An uploaded certificate needs a private key the keystore does not have.
    #[error("the keystore has no private key that matches the certificate's public key")]
    NoMatchingPrivateKey,
    /// The certificate is in the keystore already.
    #[error("the certificate is in the keystore already, as {0:?}")]
    Duplicate(String),
    /// The certification path is not assigned to the TLS server.
    #[error("certification path {0:?} is not assigned to the TLS server")]
    NotAssigned(String),
    /// The certification path is already assigned.
    #[error("certification path {0:?} is already assigned to the TLS server")]
    AlreadyAssigned(String),
    /// The certificates do not form a path.
    #[error("not a certification path: {0}")]
    NotAPath(String),
    /// An ID a client chose is taken, or not an NCName of at most 64 characters.
    #[error("{0}")]
    BadId(String),
    /// A key, certificate or request could not be read or made.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The keystore file could not be written (nothing changed in memory either).
    #[error("the keystore file: {0}")]
    Io(String),
}

type Result<T> = std::result::Result<T, KeystoreError>;

/// Which capability limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// MaximumNumberOfKeys.
    Keys,
    /// MaximumNumberOfCertificates.
    Certificates,
    /// MaximumNumberOfCertificationPaths.
    Paths,
    /// MaximumNumberOfTLSCertificationPaths.
    ServerPaths,
}

impl Limit {
    fn what(self) -> &'static str {
        match self {
            Limit::Keys => "keys",
            Limit::Certificates => "certificates",
            Limit::Paths => "certification paths",
            Limit::ServerPaths => "TLS server certification paths",
        }
    }
}

/// The keystore.
pub struct Keystore {
    data_dir: PathBuf,
    file: PathBuf,
    state: Mutex<Stored>,
    /// Keys being made, with their aliases (not persisted: a restart forgets them).
    generating: Mutex<Vec<(String, Option<String>)>>,
    /// Keys whose making failed (reported `corrupt` until deleted).
    failed: Mutex<Vec<String>>,
    tls: OnceLock<crate::tls::Tls>,
    limits: Limits,
    /// Told of every key status change (the KeyStatus event): (key, old, new).
    on_status: OnceLock<StatusListener>,
}

/// What [`Keystore::on_key_status`] takes.
pub type StatusListener = Box<dyn Fn(&str, Option<KeyStatus>, KeyStatus) + Send + Sync>;

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystore")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{:012x}", fastrand::u64(..) >> 16)
}

/// Whether `id` is an NCName of at most 64 characters (the standard's ID types).
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Keystore {
    /// Opens the keystore of `data_dir` (an empty one if there is none yet).
    pub fn open(data_dir: &Path) -> std::result::Result<Keystore, String> {
        Self::open_with(data_dir, LIMITS)
    }

    /// Opens the keystore with other limits (tests).
    pub fn open_with(data_dir: &Path, limits: Limits) -> std::result::Result<Keystore, String> {
        let dir = data_dir.join("keystore");
        let file = dir.join("keystore.json");
        let state = file::load(&file)?;
        Ok(Keystore {
            data_dir: data_dir.to_path_buf(),
            file,
            state: Mutex::new(state),
            generating: Mutex::new(Vec::new()),
            failed: Mutex::new(Vec::new()),
            tls: OnceLock::new(),
            limits,
            on_status: OnceLock::new(),
        })
    }

    /// Deletes the keystore of `data_dir` and the published certificate (a Hard factory
    /// default; the next start with HTTPS makes a new device certificate).
    pub fn remove_files(data_dir: &Path) -> std::io::Result<()> {
        for dir in [data_dir.join("keystore"), data_dir.join("tls")] {
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Calls `listener` on every change of a key's status from now on (the
    /// `tns1:Advancedsecurity/Keystore/KeyStatus` event). Set once.
    pub fn on_key_status(&self, listener: StatusListener) {
        let _ = self.on_status.set(listener);
    }

    fn status_changed(&self, key: &str, old: Option<KeyStatus>, new: KeyStatus) {
        if let Some(f) = self.on_status.get() {
            f(key, old, new);
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Applies `change` to a copy of the state, writes it, and only then keeps it.
    fn change<T>(&self, change: impl FnOnce(&mut Stored) -> Result<T>) -> Result<T> {
        let mut state = self.state.lock();
        let mut next = state.clone();
        let out = change(&mut next)?;
        let server_changed = next.server_paths != state.server_paths
            || next
                .server_paths
                .first()
                .is_some_and(|p| chain_of(&next, p) != chain_of(&state, p));
        let identity = if server_changed {
            server_identity(&next)
        } else {
            None
        };
        let roots = next.client_auth.then(|| ca_certificates(&next));
        if roots.as_ref().is_some_and(Vec::is_empty) {
            return Err(KeystoreError::InUse(
                "the CA certificates".into(),
                "client certificates are required, and only a CA certificate can admit one".into(),
            ));
        }
        file::save(&self.file, &next).map_err(KeystoreError::Io)?;
        // The TLS side is rebuilt only when what admits a client changed.
        let before = state.client_auth.then(|| ca_certificates(&state));
        if let (Some(tls), true) = (self.tls.get(), roots != before)
            && let Err(e) = tls.require_client_certificates(roots)
        {
            tracing::error!(error = %e, "the client certificate roots cannot be changed");
        }
        if let (Some(tls), Some((chain, key))) = (self.tls.get(), identity) {
            // Checked when the path was made; a failure here keeps the old certificate.
            self.publish(&chain);
            if let Err(e) = tls.replace(chain, &key) {
                tracing::error!(error = %e, "the new server certificate cannot be used; the old one stays");
            } else {
                tracing::warn!(path = ?next.server_paths.first(), "the HTTPS server presents a new certificate to new connections");
            }
        }
        *state = next;
        Ok(out)
    }

    // ---- keys ----

    fn key_room(&self, state: &Stored) -> Result<()> {
        if state.keys.len() + self.generating.lock().len() >= self.limits.keys {
            return Err(KeystoreError::Full(Limit::Keys, self.limits.keys));
        }
        Ok(())
    }

    /// Starts making a key pair: returns its ID at once (status `generating`); `make` runs
    /// on a blocking thread.
    pub fn create_key(
        self: &Arc<Self>,
        alias: Option<String>,
        make: impl FnOnce() -> std::result::Result<crypto::MadeKey, CryptoError> + Send + 'static,
    ) -> Result<String> {
        let id = {
            let state = self.state.lock();
            self.key_room(&state)?;
            let id = new_id("key-");
            self.generating.lock().push((id.clone(), alias));
            id
        };
        self.status_changed(&id, None, KeyStatus::Generating);
        let this = self.clone();
        let key_id = id.clone();
        tokio::task::spawn_blocking(move || {
            let made = make();
            this.finish_key(&key_id, made);
        });
        Ok(id)
    }

    /// Makes a key pair and waits for it (the device service's CreateCertificate).
    pub async fn create_key_now(
        &self,
        alias: Option<String>,
        make: impl FnOnce() -> std::result::Result<crypto::MadeKey, CryptoError> + Send + 'static,
    ) -> Result<String> {
        self.key_room(&self.state.lock())?;
        let made = tokio::task::spawn_blocking(make)
            .await
            .map_err(|e| KeystoreError::Crypto(CryptoError::Failed(e.to_string())))??;
        self.insert_key(made, alias, false)
    }

    fn finish_key(&self, id: &str, made: std::result::Result<crypto::MadeKey, CryptoError>) {
        let alias = {
            let mut g = self.generating.lock();
            let Some(i) = g.iter().position(|(k, _)| k == id) else {
                return;
            };
            g.remove(i).1
        };
        let stored = made.map_err(KeystoreError::from).and_then(|made| {
            self.change(|s| {
                s.keys.push(Key::new(id.to_owned(), alias, &made, false));
                Ok(())
            })
        });
        match stored {
            Ok(()) => self.status_changed(id, Some(KeyStatus::Generating), KeyStatus::Ok),
            Err(e) => {
                tracing::error!(key = id, error = %e, "making a key pair failed");
                self.failed.lock().push(id.to_owned());
                self.status_changed(id, Some(KeyStatus::Generating), KeyStatus::Corrupt);
            }
        }
    }

    fn insert_key(
        &self,
        made: crypto::MadeKey,
        alias: Option<String>,
        external: bool,
    ) -> Result<String> {
        self.change(|s| {
            if let Some(k) = s.keys.iter_mut().find(|k| k.spki == made.spki) {
                // The public half is known (an uploaded certificate's): add the private half.
                if k.pkcs8.is_none() {
                    k.pkcs8 = Some(made.pkcs8.clone());
                }
                return Ok(k.id.clone());
            }
            self.key_room(s)?;
            let id = new_id("key-");
            s.keys.push(Key::new(id.clone(), alias, &made, external));
            Ok(id)
        })
    }

    /// UploadKeyPairInPKCS8: an unencrypted PKCS#8 key pair.
    pub fn upload_key_pair(&self, pkcs8: &[u8], alias: Option<String>) -> Result<String> {
        let made = crypto::read_pkcs8(pkcs8)?;
        self.insert_key(made, alias, true)
    }

    /// A key's state.
    pub fn key_status(&self, id: &str) -> Result<KeyStatus> {
        if self.generating.lock().iter().any(|(k, _)| k == id) {
            return Ok(KeyStatus::Generating);
        }
        if self.failed.lock().iter().any(|k| k == id) {
            return Ok(KeyStatus::Corrupt);
        }
        let state = self.state.lock();
        let key = find_key(&state, id)?;
        Ok(key.status())
    }

    /// Every key, those being made included.
    pub fn keys(&self) -> Vec<KeyView> {
        let mut out: Vec<KeyView> = self.state.lock().keys.iter().map(Key::view).collect();
        for (id, alias) in self.generating.lock().iter() {
            out.push(KeyView {
                id: id.clone(),
                alias: alias.clone(),
                has_private_key: false,
                status: KeyStatus::Generating,
                external: false,
            });
        }
        for id in self.failed.lock().iter() {
            out.push(KeyView {
                id: id.clone(),
                alias: None,
                has_private_key: false,
                status: KeyStatus::Corrupt,
                external: false,
            });
        }
        out
    }

    /// One key.
    pub fn key(&self, id: &str) -> Result<KeyView> {
        self.keys()
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(|| KeystoreError::UnknownKey(id.to_owned()))
    }

    /// DeleteKey: refused while a certificate certifies it; a key being made is given up
    /// (its making ends unseen).
    pub fn delete_key(&self, id: &str) -> Result<()> {
        {
            let mut generating = self.generating.lock();
            if let Some(i) = generating.iter().position(|(k, _)| k == id) {
                generating.remove(i);
                return Ok(());
            }
        }
        {
            let mut failed = self.failed.lock();
            if let Some(i) = failed.iter().position(|k| k == id) {
                failed.remove(i);
                return Ok(());
            }
        }
        self.change(|s| {
            find_key(s, id)?;
            if let Some(c) = s.certificates.iter().find(|c| c.key_id == id) {
                return Err(KeystoreError::InUse(
                    format!("key {id:?}"),
                    format!("certificate {:?} certifies it", c.id),
                ));
            }
            s.keys.retain(|k| k.id != id);
            Ok(())
        })
    }

    /// The private half of a key, to sign with.
    fn private_key(state: &Stored, id: &str) -> Result<Vec<u8>> {
        let key = find_key(state, id)?;
        key.pkcs8
            .clone()
            .ok_or_else(|| KeystoreError::NoPrivateKey(id.to_owned()))
    }

    // ---- certificates ----

    /// CreatePKCS10CSR: a request for key `key_id`, signed with it.
    pub fn csr(&self, key_id: &str, request: &Request) -> Result<Vec<u8>> {
        self.ready(key_id)?;
        let pkcs8 = Self::private_key(&self.state.lock(), key_id)?;
        Ok(crypto::make_csr(&pkcs8, request)?)
    }

    fn ready(&self, key_id: &str) -> Result<()> {
        match self.key_status(key_id)? {
            KeyStatus::Ok => Ok(()),
            KeyStatus::Generating => {
                Err(KeystoreError::KeyNotReady(key_id.to_owned(), "being made"))
            }
            KeyStatus::Corrupt => Err(KeystoreError::KeyNotReady(key_id.to_owned(), "corrupt")),
        }
    }

    /// CreateSelfSignedCertificate: a certificate for key `key_id` signed by itself.
    /// `id`: the certificate's ID if the caller chose one (the device service's).
    pub fn self_signed(
        &self,
        key_id: &str,
        request: &Request,
        alias: Option<String>,
        id: Option<String>,
    ) -> Result<String> {
        self.ready(key_id)?;
        let pkcs8 = Self::private_key(&self.state.lock(), key_id)?;
        let der = crypto::make_self_signed(&pkcs8, request, &[])?;
        self.change(|s| {
            let id = self.certificate_id(s, id)?;
            s.certificates.push(Cert {
                id: id.clone(),
                key_id: key_id.to_owned(),
                alias,
                der,
            });
            Ok(id)
        })
    }

    fn certificate_id(&self, s: &Stored, chosen: Option<String>) -> Result<String> {
        if s.certificates.len() >= self.limits.certificates {
            return Err(KeystoreError::Full(
                Limit::Certificates,
                self.limits.certificates,
            ));
        }
        match chosen {
            None => Ok(new_id("cert-")),
            Some(id) if !is_valid_id(&id) => Err(KeystoreError::BadId(format!(
                "certificate ID {id:?} is not a name of at most 64 letters, digits, '_', '-' or '.'"
            ))),
            Some(id) if s.certificates.iter().any(|c| c.id == id) => Err(KeystoreError::BadId(
                format!("a certificate with the ID {id:?} exists"),
            )),
            Some(id) => Ok(id),
        }
    }

    /// UploadCertificate: the certificate's key is found by its public key; if the
    /// keystore has none, a public-only key is added (refused if `private_key_required`).
    /// Returns (certificate ID, key ID).
    pub fn upload_certificate(
        &self,
        der: &[u8],
        alias: Option<String>,
        key_alias: Option<String>,
        private_key_required: bool,
        id: Option<String>,
    ) -> Result<(String, String)> {
        let info = crypto::read_certificate(der)?;
        self.change(|s| {
            if let Some(c) = s.certificates.iter().find(|c| c.der == der) {
                return Err(KeystoreError::Duplicate(c.id.clone()));
            }
            let cert_id = self.certificate_id(s, id)?;
            let key_id = match s.keys.iter().find(|k| k.spki == info.spki) {
                Some(k) if private_key_required && k.pkcs8.is_none() => {
                    return Err(KeystoreError::NoMatchingPrivateKey);
                }
                Some(k) => k.id.clone(),
                None if private_key_required => return Err(KeystoreError::NoMatchingPrivateKey),
                None => {
                    self.key_room(s)?;
                    let key_id = new_id("key-");
                    s.keys.push(Key {
                        id: key_id.clone(),
                        alias: key_alias,
                        spki: info.spki.clone(),
                        pkcs8: None,
                        external: true,
                    });
                    key_id
                }
            };
            s.certificates.push(Cert {
                id: cert_id.clone(),
                key_id: key_id.clone(),
                alias,
                der: der.to_vec(),
            });
            Ok((cert_id, key_id))
        })
    }

    /// Replaces the content of certificate `id` by `der`, which must certify the same key
    /// (the device service's LoadCertificates of a CA-signed certificate for a request's
    /// key). The paths that hold it, and the TLS server if one is assigned, follow.
    pub fn replace_certificate(&self, id: &str, der: &[u8]) -> Result<()> {
        let info = crypto::read_certificate(der)?;
        self.change(|s| {
            let spki = {
                let cert = find_cert(s, id)?;
                find_key(s, &cert.key_id)?.spki.clone()
            };
            if spki != info.spki {
                return Err(KeystoreError::Crypto(CryptoError::Mismatch(format!(
                    "the certificate does not certify the key of {id:?}"
                ))));
            }
            let paths: Vec<Vec<String>> = s
                .paths
                .iter()
                .filter(|p| p.certificates.iter().any(|c| c == id))
                .map(|p| p.certificates.clone())
                .collect();
            s.certificates
                .iter_mut()
                .filter(|c| c.id == id)
                .for_each(|c| c.der = der.to_vec());
            for p in paths {
                check_chain(s, &p)?;
            }
            Ok(())
        })
    }

    /// One certificate.
    pub fn certificate(&self, id: &str) -> Result<CertView> {
        let state = self.state.lock();
        let cert = find_cert(&state, id)?;
        Ok(cert_view(&state, cert))
    }

    /// Every certificate.
    pub fn certificates(&self) -> Vec<CertView> {
        let state = self.state.lock();
        state
            .certificates
            .iter()
            .map(|c| cert_view(&state, c))
            .collect()
    }

    /// DeleteCertificate: refused while a certification path holds it.
    pub fn delete_certificate(&self, id: &str) -> Result<()> {
        self.change(|s| {
            find_cert(s, id)?;
            if let Some(p) = s
                .paths
                .iter()
                .find(|p| p.certificates.iter().any(|c| c == id))
            {
                return Err(KeystoreError::InUse(
                    format!("certificate {id:?}"),
                    format!("certification path {:?} holds it", p.id),
                ));
            }
            s.certificates.retain(|c| c.id != id);
            Ok(())
        })
    }

    // ---- certification paths ----

    /// CreateCertificationPath: the certificates, the end entity first, each signed by the
    /// next.
    pub fn create_path(&self, certificates: &[String], alias: Option<String>) -> Result<String> {
        self.change(|s| {
            if s.paths.len() >= self.limits.paths {
                return Err(KeystoreError::Full(Limit::Paths, self.limits.paths));
            }
            check_chain(s, certificates)?;
            let id = new_id("path-");
            s.paths.push(StoredPath {
                id: id.clone(),
                alias,
                certificates: certificates.to_vec(),
            });
            Ok(id)
        })
    }

    /// One certification path.
    pub fn path(&self, id: &str) -> Result<PathView> {
        let state = self.state.lock();
        find_path(&state, id).map(StoredPath::view)
    }

    /// Every certification path.
    pub fn paths(&self) -> Vec<PathView> {
        self.state
            .lock()
            .paths
            .iter()
            .map(StoredPath::view)
            .collect()
    }

    /// DeleteCertificationPath: refused while the TLS server presents it.
    pub fn delete_path(&self, id: &str) -> Result<()> {
        self.change(|s| {
            find_path(s, id)?;
            if s.server_paths.iter().any(|p| p == id) {
                return Err(KeystoreError::InUse(
                    format!("certification path {id:?}"),
                    "the TLS server presents it".into(),
                ));
            }
            s.paths.retain(|p| p.id != id);
            Ok(())
        })
    }

    // ---- the TLS server ----

    fn assignable(s: &Stored, id: &str) -> Result<()> {
        let path = find_path(s, id)?;
        let leaf = find_cert(s, &path.certificates[0])?;
        Self::private_key(s, &leaf.key_id).map(drop)
    }

    /// AddServerCertificateAssignment.
    pub fn add_server_path(&self, id: &str) -> Result<()> {
        self.change(|s| {
            Self::assignable(s, id)?;
            if s.server_paths.iter().any(|p| p == id) {
                // "shall have no effect"
                return Ok(());
            }
            if s.server_paths.len() >= self.limits.server_paths {
                return Err(KeystoreError::Full(
                    Limit::ServerPaths,
                    self.limits.server_paths,
                ));
            }
            s.server_paths.push(id.to_owned());
            Ok(())
        })
    }

    /// RemoveServerCertificateAssignment: refused while HTTPS is served (the standard: a
    /// device with its TLS server enabled keeps the assignment; Replace changes it).
    pub fn remove_server_path(&self, id: &str) -> Result<()> {
        let serving = self.tls.get().is_some();
        self.change(|s| {
            find_path(s, id)?;
            if !s.server_paths.iter().any(|p| p == id) {
                return Err(KeystoreError::NotAssigned(id.to_owned()));
            }
            if serving {
                return Err(KeystoreError::InUse(
                    format!("certification path {id:?}"),
                    "the HTTPS server is enabled and presents it; replace it instead".into(),
                ));
            }
            s.server_paths.retain(|p| p != id);
            Ok(())
        })
    }

    /// ReplaceServerCertificateAssignment.
    pub fn replace_server_path(&self, old: &str, new: &str) -> Result<()> {
        self.change(|s| {
            find_path(s, old)?;
            Self::assignable(s, new)?;
            let Some(i) = s.server_paths.iter().position(|p| p == old) else {
                return Err(KeystoreError::NotAssigned(old.to_owned()));
            };
            if s.server_paths.iter().any(|p| p == new) {
                return Err(KeystoreError::AlreadyAssigned(new.to_owned()));
            }
            s.server_paths[i] = new.to_owned();
            Ok(())
        })
    }

    /// Whether the HTTPS server is running (its certificate comes from here).
    pub fn serving_tls(&self) -> bool {
        self.tls.get().is_some()
    }

    /// Whether the keystore has a ready private key for the public key `spki`.
    pub fn has_private_key_for(&self, spki: &[u8]) -> bool {
        self.state
            .lock()
            .keys
            .iter()
            .any(|k| k.spki == spki && k.pkcs8.is_some())
    }

    /// Stops presenting the paths that end in `certificate` (the device service's
    /// SetCertificatesStatus false); refused while HTTPS is served, like
    /// RemoveServerCertificateAssignment.
    pub fn stop_presenting(&self, certificate: &str) -> Result<()> {
        let serving = self.serving_tls();
        self.change(|s| {
            let ending: Vec<String> = s
                .server_paths
                .iter()
                .filter(|p| {
                    find_path(s, p)
                        .is_ok_and(|p| p.certificates.first().is_some_and(|c| c == certificate))
                })
                .cloned()
                .collect();
            if serving && !ending.is_empty() {
                return Err(KeystoreError::InUse(
                    format!("certificate {certificate:?}"),
                    "the HTTPS server is enabled and presents it; enable another instead".into(),
                ));
            }
            s.server_paths.retain(|p| !ending.contains(p));
            Ok(())
        })
    }

    /// The paths the TLS server presents.
    pub fn server_paths(&self) -> Vec<String> {
        self.state.lock().server_paths.clone()
    }

    /// Makes the path `[certificate]` (or finds it) and makes it the one the TLS server
    /// presents (the device service's SetCertificatesStatus).
    pub fn present_certificate(&self, certificate: &str) -> Result<()> {
        self.change(|s| {
            let one = vec![certificate.to_owned()];
            let id = match s.paths.iter().find(|p| p.certificates == one) {
                Some(p) => p.id.clone(),
                None => {
                    if s.paths.len() >= self.limits.paths {
                        return Err(KeystoreError::Full(Limit::Paths, self.limits.paths));
                    }
                    check_chain(s, &one)?;
                    let id = new_id("path-");
                    s.paths.push(StoredPath {
                        id: id.clone(),
                        alias: None,
                        certificates: one,
                    });
                    id
                }
            };
            Self::assignable(s, &id)?;
            s.server_paths = vec![id];
            Ok(())
        })
    }

    /// The end-entity certificates of the assigned paths.
    pub fn presented_certificates(&self) -> Vec<String> {
        let state = self.state.lock();
        state
            .server_paths
            .iter()
            .filter_map(|p| find_path(&state, p).ok())
            .map(|p| p.certificates[0].clone())
            .collect()
    }

    /// Deletes certificate `id` with the one-certificate paths made for it and its key when
    /// nothing else uses them (the device service's DeleteCertificates, where a certificate
    /// and its key are one thing). Refused while the TLS server presents it.
    pub fn delete_certificate_and_key(&self, id: &str) -> Result<()> {
        self.change(|s| {
            let key_id = find_cert(s, id)?.key_id.clone();
            let one = vec![id.to_owned()];
            let own: Vec<String> = s
                .paths
                .iter()
                .filter(|p| p.certificates == one)
                .map(|p| p.id.clone())
                .collect();
            if s.server_paths.iter().any(|p| own.contains(p)) {
                return Err(KeystoreError::InUse(
                    format!("certificate {id:?}"),
                    "the TLS server presents it".into(),
                ));
            }
            s.paths.retain(|p| !own.contains(&p.id));
            if let Some(p) = s
                .paths
                .iter()
                .find(|p| p.certificates.contains(&id.to_owned()))
            {
                return Err(KeystoreError::InUse(
                    format!("certificate {id:?}"),
                    format!("certification path {:?} holds it", p.id),
                ));
            }
            s.certificates.retain(|c| c.id != id);
            if !s.certificates.iter().any(|c| c.key_id == key_id) {
                s.keys.retain(|k| k.id != key_id);
            }
            Ok(())
        })
    }

    /// Client certificates required on HTTPS (the device service's Get/SetClientCertificateMode).
    pub fn client_certificates_required(&self) -> bool {
        self.state.lock().client_auth
    }

    /// Sets whether HTTPS requires a client certificate issued by one of the CA
    /// certificates (certificates without a private key); refused while there is none, and
    /// the last one cannot be deleted while they are required.
    pub fn set_client_certificates_required(&self, required: bool) -> Result<()> {
        self.change(|s| {
            s.client_auth = required;
            Ok(())
        })
    }

    fn apply_client_auth(&self, tls: &crate::tls::Tls) -> std::result::Result<(), String> {
        let roots = {
            let state = self.state.lock();
            state.client_auth.then(|| ca_certificates(&state))
        };
        tls.require_client_certificates(roots)
            .map_err(|e| e.to_string())
    }

    /// The TLS server of the device (made once; later calls return it): the assigned
    /// certificate, or on the first start a self-signed one made for `names` (a P-256 key; the certificate of an earlier version,
    /// `<data_dir>/tls/device.{crt,key}`, is taken over if there is one). Changes of the
    /// assignment go to it from now on.
    pub fn serve_tls(&self, names: &[String]) -> std::result::Result<crate::tls::Tls, String> {
        if let Some(tls) = self.tls.get() {
            return Ok(tls.clone());
        }
        if self.state.lock().server_paths.is_empty() {
            self.make_device_certificate(&self.data_dir, names)
                .map_err(|e| e.to_string())?;
        }
        let (chain, key) = server_identity(&self.state.lock())
            .ok_or_else(|| "the assigned certificate has no private key".to_string())?;
        self.publish(&chain);
        let tls = crate::tls::Tls::new(chain, &key).map_err(|e| e.to_string())?;
        self.apply_client_auth(&tls)?;
        let _ = self.tls.set(tls.clone());
        Ok(tls)
    }

    /// Writes the chain the HTTPS server presents to `<data_dir>/tls/device.crt` (PEM,
    /// public), where an integrator finds the certificate to pin in a VMS.
    fn publish(&self, chain: &[CertificateDer<'static>]) {
        use base64::Engine as _;
        let mut pem = String::new();
        for c in chain {
            let text = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            for line in text.as_bytes().chunks(64) {
                pem.push_str(std::str::from_utf8(line).unwrap_or_default());
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        let file = self.presented_file();
        let written = file
            .parent()
            .map_or(Ok(()), crate::state::datadir::ensure_private_dir)
            .and_then(|()| {
                let tmp = file.with_extension("tmp");
                std::fs::write(&tmp, pem)?;
                std::fs::rename(&tmp, &file)
            });
        if let Err(e) = written {
            tracing::warn!(file = %file.display(), error = %e, "cannot write the presented certificate");
        }
    }

    /// Where the chain the HTTPS server presents is written.
    pub fn presented_file(&self) -> PathBuf {
        self.data_dir.join("tls").join("device.crt")
    }

    fn make_device_certificate(&self, data_dir: &Path, names: &[String]) -> Result<()> {
        let (made, der) = match crate::tls::legacy_device_certificate(data_dir) {
            Some((der, pkcs8)) => (crypto::read_pkcs8(&pkcs8)?, der),
            None => {
                let made = crypto::make_ecc("secp256r1")?;
                let request = Request {
                    subject: vec![(
                        "2.5.4.3".into(),
                        names.first().cloned().unwrap_or_else(|| "railgate".into()),
                    )],
                    ..Request::default()
                };
                let der = crypto::make_self_signed(&made.pkcs8, &request, names)?;
                (made, der)
            }
        };
        let key_id = self.insert_key(made, Some("device".into()), false)?;
        // Taken over: the key lives in the keystore now, not beside the certificate.
        let _ = std::fs::remove_file(data_dir.join("tls").join("device.key"));
        let (cert_id, _) =
            self.upload_certificate(&der, Some("device".into()), None, true, None)?;
        let path = self.create_path(&[cert_id], Some("device".into()))?;
        self.add_server_path(&path)?;
        tracing::warn!(
            key = key_id,
            ?names,
            "the HTTPS server presents a self-signed device certificate"
        );
        Ok(())
    }
}

fn find_key<'a>(s: &'a Stored, id: &str) -> Result<&'a Key> {
    s.keys
        .iter()
        .find(|k| k.id == id)
        .ok_or_else(|| KeystoreError::UnknownKey(id.to_owned()))
}

fn find_cert<'a>(s: &'a Stored, id: &str) -> Result<&'a Cert> {
    s.certificates
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| KeystoreError::UnknownCertificate(id.to_owned()))
}

fn find_path<'a>(s: &'a Stored, id: &str) -> Result<&'a StoredPath> {
    s.paths
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| KeystoreError::UnknownPath(id.to_owned()))
}

fn cert_view(s: &Stored, c: &Cert) -> CertView {
    CertView {
        id: c.id.clone(),
        key_id: c.key_id.clone(),
        alias: c.alias.clone(),
        der: c.der.clone(),
        has_private_key: find_key(s, &c.key_id).is_ok_and(|k| k.pkcs8.is_some()),
    }
}

/// The CA certificates: those whose key the keystore has no private half of.
fn ca_certificates(s: &Stored) -> Vec<CertificateDer<'static>> {
    s.certificates
        .iter()
        .filter(|c| find_key(s, &c.key_id).is_ok_and(|k| k.pkcs8.is_none()))
        .map(|c| CertificateDer::from(c.der.clone()))
        .collect()
}

fn check_chain(s: &Stored, certificates: &[String]) -> Result<()> {
    if certificates.is_empty() {
        return Err(KeystoreError::NotAPath("it names no certificate".into()));
    }
    let ders = certificates
        .iter()
        .map(|id| find_cert(s, id).map(|c| c.der.as_slice()))
        .collect::<Result<Vec<_>>>()?;
    crypto::check_path(&ders).map_err(|e| KeystoreError::NotAPath(e.to_string()))
}

fn chain_of(s: &Stored, path: &str) -> Option<Vec<Vec<u8>>> {
    let p = find_path(s, path).ok()?;
    p.certificates
        .iter()
        .map(|c| find_cert(s, c).ok().map(|c| c.der.clone()))
        .collect()
}

fn server_identity(s: &Stored) -> Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let path = s.server_paths.first()?;
    let p = find_path(s, path).ok()?;
    let leaf = find_cert(s, p.certificates.first()?).ok()?;
    let key = find_key(s, &leaf.key_id).ok()?.pkcs8.clone()?;
    let chain = chain_of(s, path)?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    Some((chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key))))
}

#[cfg(test)]
mod tests;
