//! A railgate release package (StartFirmwareUpgrade's upload) and its verification.
//!
//! Layout: the line `RAILGATE-PACKAGE 1`, a JSON header line (`version`, `binary_len`,
//! `binary_sha256`), the program (`binary_len` bytes), then a 64-byte ed25519 signature over
//! everything before it. The signature is checked with the project's release key that this
//! railgate was installed with (`host.release_key`, the public key shipped in the
//! package), never with a key the upload brings; the program's length and SHA-256 must match
//! the header. Only then is anything written.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The first line.
pub const MAGIC: &[u8] = b"RAILGATE-PACKAGE 1\n";

/// The largest package accepted.
pub const MAX_BYTES: usize = 128 * 1024 * 1024;

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The release's version.
    pub version: String,
    /// The program's size.
    pub binary_len: u64,
    /// The program's SHA-256, hex.
    pub binary_sha256: String,
}

/// A verified package.
#[derive(Debug)]
pub struct Package<'a> {
    /// Its header.
    pub header: Header,
    /// The program.
    pub binary: &'a [u8],
}

/// Why a package was refused (HTTP 415: nothing changed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PackageError(pub String);

fn refuse(s: impl Into<String>) -> PackageError {
    PackageError(s.into())
}

/// Reads a release key file: the 32-byte ed25519 public key, base64 (one line).
pub fn read_key(text: &str) -> Result<VerifyingKey, PackageError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| refuse(format!("the release key is not base64: {e}")))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| refuse("the release key is not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| refuse(format!("the release key: {e}")))
}

/// Checks `bytes` against `key`.
pub fn verify<'a>(bytes: &'a [u8], key: &VerifyingKey) -> Result<Package<'a>, PackageError> {
    if bytes.len() > MAX_BYTES {
        return Err(refuse(format!("more than {MAX_BYTES} bytes")));
    }
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| refuse("not a railgate release package"))?;
    let newline = rest
        .iter()
        .position(|&b| b == b'\n')
        .filter(|&n| n <= 4096)
        .ok_or_else(|| refuse("the package has no header"))?;
    let header: Header = serde_json::from_slice(&rest[..newline])
        .map_err(|e| refuse(format!("the package header: {e}")))?;
    let body = &rest[newline + 1..];
    let len = usize::try_from(header.binary_len).map_err(|_| refuse("the program is too large"))?;
    if body.len() != len.saturating_add(64) {
        return Err(refuse(format!(
            "the package has {} bytes after its header; the header says {} and a signature",
            body.len(),
            len
        )));
    }
    let (binary, signature) = body.split_at(len);
    let signature =
        Signature::from_slice(signature).map_err(|_| refuse("the signature is malformed"))?;
    let signed = &bytes[..bytes.len() - 64];
    key.verify(signed, &signature)
        .map_err(|_| refuse("the signature is not the release key's: the package was not made by the project or was altered"))?;
    let digest: String = Sha256::digest(binary)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if digest != header.binary_sha256.to_ascii_lowercase() {
        return Err(refuse("the program's SHA-256 does not match its header"));
    }
    if header.version.is_empty()
        || !header
            .version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
    {
        return Err(refuse(format!("{:?} is not a version", header.version)));
    }
    Ok(Package { header, binary })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn package(
        key: &SigningKey,
        version: &str,
        binary: &[u8],
        claimed_sha: Option<&str>,
    ) -> Vec<u8> {
        let sha: String = Sha256::digest(binary)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let header = format!(
            "{{\"version\":\"{version}\",\"binary_len\":{},\"binary_sha256\":\"{}\"}}\n",
            binary.len(),
            claimed_sha.unwrap_or(&sha)
        );
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(binary);
        let signature = key.sign(&out);
        out.extend_from_slice(&signature.to_bytes());
        out
    }

    #[test]
    fn only_an_intact_package_signed_with_the_release_key_verifies() {
        let release = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[9; 32]);
        let key = release.verifying_key();
        let good = package(&release, "0.2.0", b"\x7fELF new railgate", None);
        let p = verify(&good, &key).unwrap();
        assert_eq!(
            (p.header.version.as_str(), p.binary),
            ("0.2.0", &b"\x7fELF new railgate"[..])
        );

        let mut altered = good.clone();
        altered[MAGIC.len() + 80] ^= 1;
        let why = |bytes: &[u8]| verify(bytes, &key).expect_err("refused").0;
        assert!(why(&altered).contains("signature") || why(&altered).contains("header"));
        assert!(why(&package(&other, "0.2.0", b"x", None)).contains("not the release key's"));
        assert!(why(&good[..good.len() - 1]).contains("after its header"));
        assert!(why(b"\x7fELF").contains("not a railgate release package"));
        let lying = package(&release, "0.2.0", b"x", Some(&"0".repeat(64)));
        assert!(why(&lying).contains("SHA-256"));
        assert!(why(&package(&release, "../../x", b"x", None)).contains("not a version"));
    }

    #[test]
    fn a_release_key_file_is_one_base64_line_of_32_bytes() {
        use base64::Engine;
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let text = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
        assert_eq!(read_key(&format!("{text}\n")).unwrap(), key);
        assert!(read_key("AAAA").is_err());
    }
}
