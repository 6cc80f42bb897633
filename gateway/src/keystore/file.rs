//! The keystore's file: `keystore.json`, DER as base64, replaced atomically (0600 in a
//! 0700 folder). Nothing here logs or prints a private key.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::crypto::MadeKey;
use super::{KeyStatus, KeyView, PathView};

/// Everything the keystore keeps.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(super) struct Stored {
    #[serde(default)]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub certificates: Vec<Cert>,
    #[serde(default)]
    pub paths: Vec<StoredPath>,
    /// The certification paths the TLS server presents (the first one today).
    #[serde(default)]
    pub server_paths: Vec<String>,
    /// Whether HTTPS clients must present a certificate.
    #[serde(default)]
    pub client_auth: bool,
}

/// A key pair, or the public key of an uploaded certificate.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(super) struct Key {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// SubjectPublicKeyInfo.
    #[serde(with = "b64")]
    pub spki: Vec<u8>,
    /// PKCS#8, when the keystore has the private key.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub pkcs8: Option<Vec<u8>>,
    /// Made outside the device.
    #[serde(default)]
    pub external: bool,
}

impl Key {
    pub(super) fn new(id: String, alias: Option<String>, made: &MadeKey, external: bool) -> Key {
        Key {
            id,
            alias,
            spki: made.spki.clone(),
            pkcs8: Some(made.pkcs8.clone()),
            external,
        }
    }

    /// `corrupt` when the stored private key no longer reads back as the public key.
    pub(super) fn status(&self) -> KeyStatus {
        match &self.pkcs8 {
            Some(p) if super::crypto::read_pkcs8(p).map(|m| m.spki) != Ok(self.spki.clone()) => {
                KeyStatus::Corrupt
            }
            _ => KeyStatus::Ok,
        }
    }

    pub(super) fn view(&self) -> KeyView {
        KeyView {
            id: self.id.clone(),
            alias: self.alias.clone(),
            has_private_key: self.pkcs8.is_some(),
            status: self.status(),
            external: self.external,
        }
    }
}

/// A certificate and the key it certifies.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(super) struct Cert {
    pub id: String,
    pub key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(with = "b64")]
    pub der: Vec<u8>,
}

/// A certification path.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredPath {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub certificates: Vec<String>,
}

impl StoredPath {
    pub(super) fn view(&self) -> PathView {
        PathView {
            id: self.id.clone(),
            certificates: self.certificates.clone(),
            alias: self.alias.clone(),
        }
    }
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

mod b64_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option, reason = "serde's with = calls it with &Option")]
    pub(super) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::b64::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::b64")] Vec<u8>);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

/// Reads the keystore file (an empty store when there is none).
pub(super) fn load(file: &Path) -> Result<Stored, String> {
    match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a keystore file: {e}", file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Stored::default()),
        Err(e) => Err(format!("{}: {e}", file.display())),
    }
}

/// Writes the keystore file, replacing the old one atomically.
pub(super) fn save(file: &Path, stored: &Stored) -> Result<(), String> {
    let dir = file.parent().unwrap_or(Path::new("."));
    crate::state::datadir::ensure_private_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let text = serde_json::to_string_pretty(stored).map_err(|e| e.to_string())?;
    crate::state::datadir::replace_private_file(file, &text)
        .map_err(|e| format!("{}: {e}", file.display()))
}
