//! The keystore's cryptography, pure functions over DER: making key pairs (ECC by rcgen on
//! ring, RSA by the `rsa` crate, which ring cannot do), reading uploaded keys and
//! certificates (x509-parser), PKCS#10 requests and self-signed certificates (rcgen), and
//! checking that a certification path is one (each certificate signed by the next).

use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair, SignatureAlgorithm,
};
use rustls::pki_types::PrivatePkcs8KeyDer;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Why a key, certificate or request could not be made or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The bytes are not what they should be (DER, PKCS#8, X.509).
    #[error("{0}")]
    Malformed(String),
    /// A parameter the keystore does not offer (key length, curve, signature algorithm).
    #[error("{0}")]
    Unsupported(String),
    /// The signature algorithm does not fit the key.
    #[error("{0}")]
    Mismatch(String),
    /// Making the key or the signature failed.
    #[error("{0}")]
    Failed(String),
}

/// RSA key lengths offered (bits).
pub const RSA_LENGTHS: &[u32] = &[2048, 3072, 4096];
/// Elliptic curves offered, by the names CreateECCKeyPair takes (and their OIDs).
pub const CURVES: &[(&str, &str)] = &[
    ("secp256r1", "1.2.840.10045.3.1.7"),
    ("secp384r1", "1.3.132.0.34"),
];
/// Signature algorithms offered (OIDs), each with the key algorithm and curve it needs.
pub const SIGNATURE_ALGORITHMS: &[(&str, KeyKind)] = &[
    ("1.2.840.113549.1.1.11", KeyKind::Rsa),
    ("1.2.840.113549.1.1.12", KeyKind::Rsa),
    ("1.2.840.113549.1.1.13", KeyKind::Rsa),
    ("1.2.840.10045.4.3.2", KeyKind::EccP256),
    ("1.2.840.10045.4.3.3", KeyKind::EccP384),
];

/// The kind of a key pair, as far as signing with it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA, any length.
    Rsa,
    /// ECDSA on P-256.
    EccP256,
    /// ECDSA on P-384.
    EccP384,
}

impl KeyKind {
    /// The KeyPairAlgorithm name of the standard.
    pub fn algorithm(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::EccP256 | KeyKind::EccP384 => "ECC",
        }
    }

    fn default_signature(self) -> &'static SignatureAlgorithm {
        match self {
            KeyKind::Rsa => &rcgen::PKCS_RSA_SHA256,
            KeyKind::EccP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyKind::EccP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }
}

/// A key pair made or read: its public half (SubjectPublicKeyInfo DER), its private half
/// (PKCS#8 DER) and what it is.
pub struct MadeKey {
    /// SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// PKCS#8, DER.
    pub pkcs8: Vec<u8>,
    /// What kind.
    pub kind: KeyKind,
}

impl std::fmt::Debug for MadeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MadeKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Makes an RSA key pair of `bits` (slow: seconds; run it off the runtime).
pub fn make_rsa(bits: u32) -> Result<MadeKey, CryptoError> {
    use rsa::pkcs8::EncodePrivateKey as _;
    if !RSA_LENGTHS.contains(&bits) {
        return Err(CryptoError::Unsupported(format!(
            "RSA key length {bits} is not offered (offered: {RSA_LENGTHS:?})"
        )));
    }
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits as usize)
        .map_err(|e| CryptoError::Failed(e.to_string()))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| CryptoError::Failed(e.to_string()))?;
    read_pkcs8(pkcs8.as_bytes())
}

/// Makes an ECC key pair on `curve` (a name of [`CURVES`] or its OID).
pub fn make_ecc(curve: &str) -> Result<MadeKey, CryptoError> {
    let alg = match CURVES.iter().position(|(n, o)| *n == curve || *o == curve) {
        Some(0) => &rcgen::PKCS_ECDSA_P256_SHA256,
        Some(_) => &rcgen::PKCS_ECDSA_P384_SHA384,
        None => {
            return Err(CryptoError::Unsupported(format!(
                "elliptic curve {curve:?} is not offered (offered: secp256r1, secp384r1)"
            )));
        }
    };
    let pair = KeyPair::generate_for(alg).map_err(|e| CryptoError::Failed(e.to_string()))?;
    read_pkcs8(pair.serialized_der())
}

/// Reads an unencrypted PKCS#8 key pair (RSA, or ECDSA on P-256 or P-384).
pub fn read_pkcs8(der: &[u8]) -> Result<MadeKey, CryptoError> {
    let key = PrivatePkcs8KeyDer::from(der);
    let pair = KeyPair::try_from(&key)
        .map_err(|e| CryptoError::Malformed(format!("not a PKCS#8 key pair we can use: {e}")))?;
    let kind = if pair.is_compatible(&rcgen::PKCS_ECDSA_P256_SHA256) {
        KeyKind::EccP256
    } else if pair.is_compatible(&rcgen::PKCS_ECDSA_P384_SHA384) {
        KeyKind::EccP384
    } else if pair.algorithm() == &rcgen::PKCS_RSA_SHA256 {
        KeyKind::Rsa
    } else {
        return Err(CryptoError::Unsupported(
            "only RSA and ECDSA (P-256, P-384) keys are kept".into(),
        ));
    };
    Ok(MadeKey {
        spki: rcgen::PublicKeyData::subject_public_key_info(&pair),
        pkcs8: der.to_vec(),
        kind,
    })
}

/// The kind and length (bits) of a public key (SubjectPublicKeyInfo DER).
pub fn public_key_kind(spki: &[u8]) -> Result<(KeyKind, usize), CryptoError> {
    let (_, info) = SubjectPublicKeyInfo::from_der(spki)
        .map_err(|e| CryptoError::Malformed(format!("public key: {e}")))?;
    public_kind(&info)
}

fn public_kind(info: &SubjectPublicKeyInfo<'_>) -> Result<(KeyKind, usize), CryptoError> {
    match info.parsed() {
        Ok(PublicKey::RSA(k)) => Ok((KeyKind::Rsa, k.key_size())),
        Ok(PublicKey::EC(p)) => match p.key_size() {
            256 => Ok((KeyKind::EccP256, 256)),
            384 => Ok((KeyKind::EccP384, 384)),
            n => Err(CryptoError::Unsupported(format!(
                "an elliptic-curve key of {n} bits is not kept"
            ))),
        },
        Ok(_) => Err(CryptoError::Unsupported(
            "only RSA and ECDSA public keys are kept".into(),
        )),
        Err(e) => Err(CryptoError::Malformed(format!("public key: {e}"))),
    }
}

/// What the keystore reads from a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's public key (SubjectPublicKeyInfo DER).
    pub spki: Vec<u8>,
    /// The subject and issuer, RFC 4514 strings.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// X.509 version (1..=3).
    pub version: u32,
    /// Serial number, hex.
    pub serial: String,
    /// The signature algorithm's OID.
    pub signature_algorithm: String,
    /// Validity, seconds since the epoch.
    pub not_before: i64,
    /// Validity end.
    pub not_after: i64,
    /// The public key's length in bits.
    pub key_length: usize,
    /// Key usage names, as x509-parser spells them ("Digital Signature", ...), and whether
    /// the extension is critical.
    pub key_usage: Option<(bool, Vec<String>)>,
    /// Extended key usage OIDs, and whether the extension is critical.
    pub extended_key_usage: Option<(bool, Vec<String>)>,
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, CryptoError> {
    match X509Certificate::from_der(der) {
        Ok((&[], cert)) => Ok(cert),
        Ok(_) => Err(CryptoError::Malformed(
            "bytes follow the certificate's DER".into(),
        )),
        Err(e) => Err(CryptoError::Malformed(format!(
            "not a DER X.509 certificate: {e}"
        ))),
    }
}

/// Reads a DER X.509 certificate.
pub fn read_certificate(der: &[u8]) -> Result<CertInfo, CryptoError> {
    let cert = parse(der)?;
    let (_, key_length) = public_kind(cert.public_key())?;
    let key_usage = match cert.key_usage() {
        Ok(Some(ku)) => Some((
            ku.critical,
            ku.value
                .to_string()
                .split(", ")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        _ => None,
    };
    let extended_key_usage = match cert.extended_key_usage() {
        Ok(Some(eku)) => {
            let critical = eku.critical;
            let e = eku.value;
            let mut v = Vec::new();
            for (set, oid) in [
                (e.server_auth, "1.3.6.1.5.5.7.3.1"),
                (e.client_auth, "1.3.6.1.5.5.7.3.2"),
                (e.code_signing, "1.3.6.1.5.5.7.3.3"),
                (e.email_protection, "1.3.6.1.5.5.7.3.4"),
                (e.time_stamping, "1.3.6.1.5.5.7.3.8"),
                (e.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
            ] {
                if set {
                    v.push(oid.to_owned());
                }
            }
            v.extend(e.other.iter().map(ToString::to_string));
            Some((critical, v))
        }
        _ => None,
    };
    Ok(CertInfo {
        spki: cert.public_key().raw.to_vec(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        version: cert.version().0 + 1,
        serial: cert.raw_serial_as_string(),
        signature_algorithm: cert.signature_algorithm.algorithm.to_id_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        key_length,
        key_usage,
        extended_key_usage,
    })
}

/// Checks that `chain` (DER, the end entity first) is a certification path: each
/// certificate's issuer is the next one's subject and its signature verifies with the next
/// one's key.
pub fn check_path(chain: &[&[u8]]) -> Result<(), CryptoError> {
    let certs = chain
        .iter()
        .map(|der| parse(der))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, pair) in certs.windows(2).enumerate() {
        let (child, parent) = (&pair[0], &pair[1]);
        if child.issuer().as_raw() != parent.subject().as_raw() {
            return Err(CryptoError::Mismatch(format!(
                "certificate {} was issued by {}, not by the next one ({})",
                i + 1,
                child.issuer(),
                parent.subject()
            )));
        }
        child
            .verify_signature(Some(parent.public_key()))
            .map_err(|e| {
                CryptoError::Mismatch(format!(
                    "certificate {} is not signed by the next one: {e}",
                    i + 1
                ))
            })?;
    }
    Ok(())
}

/// A distinguished name, as (attribute OID, value) pairs in order.
pub type Name = Vec<(String, String)>;

/// The OIDs of the DistinguishedName elements the standard names.
pub const DN_ATTRIBUTES: &[(&str, &str)] = &[
    ("Country", "2.5.4.6"),
    ("Organization", "2.5.4.10"),
    ("OrganizationalUnit", "2.5.4.11"),
    ("DistinguishedNameQualifier", "2.5.4.46"),
    ("StateOrProvinceName", "2.5.4.8"),
    ("CommonName", "2.5.4.3"),
    ("SerialNumber", "2.5.4.5"),
    ("Locality", "2.5.4.7"),
    ("Title", "2.5.4.12"),
    ("Surname", "2.5.4.4"),
    ("GivenName", "2.5.4.42"),
    ("Initials", "2.5.4.43"),
    ("Pseudonym", "2.5.4.65"),
    ("GenerationQualifier", "2.5.4.44"),
    ("DomainComponent", "0.9.2342.19200300.100.1.25"),
];

/// Reads a distinguished name written as RFC 4514 text (`CN=gw, O=Site`), the form the
/// device service's older operations take; text without `=` is a common name. Attribute
/// names: CN, O, OU, C, ST, L, SERIALNUMBER, DC, or a dotted OID.
pub fn parse_dn(text: &str) -> Result<Name, CryptoError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CryptoError::Malformed("the subject is empty".into()));
    }
    if !text.contains('=') {
        return Ok(vec![("2.5.4.3".into(), text.to_owned())]);
    }
    let mut name = Vec::new();
    for part in text.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            return Err(CryptoError::Malformed(format!(
                "{part:?} is not TYPE=value"
            )));
        };
        let oid = match key.trim().to_ascii_uppercase().as_str() {
            "CN" => "2.5.4.3".to_owned(),
            "O" => "2.5.4.10".to_owned(),
            "OU" => "2.5.4.11".to_owned(),
            "C" => "2.5.4.6".to_owned(),
            "ST" => "2.5.4.8".to_owned(),
            "L" => "2.5.4.7".to_owned(),
            "SERIALNUMBER" => "2.5.4.5".to_owned(),
            "DC" => "0.9.2342.19200300.100.1.25".to_owned(),
            other => {
                oid_arcs(other)?;
                other.to_owned()
            }
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(CryptoError::Malformed(format!("{key} is empty")));
        }
        name.push((oid, value.to_owned()));
    }
    Ok(name)
}

/// Parses a dotted OID.
pub fn oid_arcs(oid: &str) -> Result<Vec<u64>, CryptoError> {
    let arcs = oid
        .split('.')
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CryptoError::Malformed(format!("{oid:?} is not a dotted OID")))?;
    if arcs.len() < 2 {
        return Err(CryptoError::Malformed(format!(
            "{oid:?} is not a dotted OID"
        )));
    }
    Ok(arcs)
}

fn distinguished_name(name: &Name) -> Result<DistinguishedName, CryptoError> {
    let mut dn = DistinguishedName::new();
    for (oid, value) in name {
        let ty = match oid.as_str() {
            "2.5.4.6" => DnType::CountryName,
            "2.5.4.10" => DnType::OrganizationName,
            "2.5.4.11" => DnType::OrganizationalUnitName,
            "2.5.4.8" => DnType::StateOrProvinceName,
            "2.5.4.3" => DnType::CommonName,
            "2.5.4.7" => DnType::LocalityName,
            other => DnType::CustomDnType(oid_arcs(other)?),
        };
        dn.push(ty, value.as_str());
    }
    Ok(dn)
}

/// An X.509 v3 extension a client asks for: OID, critical, DER value.
pub type Extension = (String, bool, Vec<u8>);

/// What a request or a self-signed certificate is made of.
#[derive(Debug, Default)]
pub struct Request {
    /// The subject.
    pub subject: Name,
    /// Extensions to carry.
    pub extensions: Vec<Extension>,
    /// The signature algorithm's OID; `None`: the key's usual one.
    pub signature: Option<String>,
    /// Validity (seconds since the epoch) of a self-signed certificate.
    pub validity: Option<(i64, i64)>,
}

fn signing_pair(pkcs8: &[u8], signature: Option<&str>) -> Result<KeyPair, CryptoError> {
    let made = read_pkcs8(pkcs8)?;
    let alg = match signature {
        None => made.kind.default_signature(),
        Some(oid) => {
            let Some((_, kind)) = SIGNATURE_ALGORITHMS.iter().find(|(o, _)| *o == oid) else {
                return Err(CryptoError::Unsupported(format!(
                    "signature algorithm {oid} is not offered"
                )));
            };
            if *kind != made.kind {
                return Err(CryptoError::Mismatch(format!(
                    "signature algorithm {oid} does not fit a {:?} key",
                    made.kind
                )));
            }
            match oid {
                "1.2.840.113549.1.1.12" => &rcgen::PKCS_RSA_SHA384,
                "1.2.840.113549.1.1.13" => &rcgen::PKCS_RSA_SHA512,
                _ => made.kind.default_signature(),
            }
        }
    };
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(pkcs8), alg)
        .map_err(|e| CryptoError::Failed(e.to_string()))
}

fn params(request: &Request) -> Result<CertificateParams, CryptoError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(&request.subject)?;
    for (oid, critical, value) in &request.extensions {
        let mut ext = CustomExtension::from_oid_content(&oid_arcs(oid)?, value.clone());
        ext.set_criticality(*critical);
        params.custom_extensions.push(ext);
    }
    if let Some((from, until)) = request.validity {
        let at = |s: i64| {
            time::OffsetDateTime::from_unix_timestamp(s)
                .map_err(|e| CryptoError::Malformed(format!("validity: {e}")))
        };
        if until <= from {
            return Err(CryptoError::Malformed(
                "notValidAfter is not after notValidBefore".into(),
            ));
        }
        params.not_before = at(from)?;
        params.not_after = at(until)?;
    }
    Ok(params)
}

/// A PKCS#10 certification request (DER) for the key pair `pkcs8`.
pub fn make_csr(pkcs8: &[u8], request: &Request) -> Result<Vec<u8>, CryptoError> {
    let pair = signing_pair(pkcs8, request.signature.as_deref())?;
    let csr = params(request)?
        .serialize_request(&pair)
        .map_err(|e| CryptoError::Failed(e.to_string()))?;
    Ok(csr.der().to_vec())
}

/// A self-signed certificate (DER) for the key pair `pkcs8`; `names` become subject
/// alternative names (host names or addresses).
pub fn make_self_signed(
    pkcs8: &[u8],
    request: &Request,
    names: &[String],
) -> Result<Vec<u8>, CryptoError> {
    let pair = signing_pair(pkcs8, request.signature.as_deref())?;
    let mut params = params(request)?;
    if !names.is_empty() {
        params.subject_alt_names = CertificateParams::new(names.to_vec())
            .map_err(|e| CryptoError::Malformed(e.to_string()))?
            .subject_alt_names;
    }
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| CryptoError::Failed(e.to_string()))?;
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params
        .self_signed(&pair)
        .map_err(|e| CryptoError::Failed(e.to_string()))?;
    Ok(cert.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn(name: &str) -> Request {
        Request {
            subject: vec![("2.5.4.3".into(), name.into())],
            ..Request::default()
        }
    }

    #[test]
    fn keys_are_made_read_back_and_sign_what_they_fit() {
        let ecc = make_ecc("secp256r1").unwrap();
        assert_eq!(public_key_kind(&ecc.spki).unwrap(), (KeyKind::EccP256, 256));
        let p384 = make_ecc("1.3.132.0.34").unwrap();
        assert_eq!(p384.kind, KeyKind::EccP384);
        assert!(matches!(
            make_ecc("brainpool"),
            Err(CryptoError::Unsupported(_))
        ));
        let rsa = make_rsa(2048).unwrap();
        assert_eq!(public_key_kind(&rsa.spki).unwrap(), (KeyKind::Rsa, 2048));
        assert!(matches!(make_rsa(1024), Err(CryptoError::Unsupported(_))));
        assert_eq!(read_pkcs8(&rsa.pkcs8).unwrap().spki, rsa.spki);
        assert!(matches!(
            read_pkcs8(b"junk"),
            Err(CryptoError::Malformed(_))
        ));

        let mut req = cn("gw");
        req.signature = Some("1.2.840.113549.1.1.11".into());
        assert!(matches!(
            make_csr(&ecc.pkcs8, &req),
            Err(CryptoError::Mismatch(_))
        ));
        let csr = make_csr(&rsa.pkcs8, &req).unwrap();
        assert!(csr.len() > 200);
        req.signature = None;
        req.validity = Some((1_700_000_000, 1_800_000_000));
        let der = make_self_signed(&ecc.pkcs8, &req, &["gw.local".into()]).unwrap();
        let info = read_certificate(&der).unwrap();
        assert_eq!(info.spki, ecc.spki);
        assert_eq!(info.subject, "CN=gw");
        assert_eq!(info.issuer, "CN=gw");
        assert_eq!(
            (info.not_before, info.not_after),
            (1_700_000_000, 1_800_000_000)
        );
        assert_eq!(info.signature_algorithm, "1.2.840.10045.4.3.2");
        assert_eq!(info.version, 3);
        assert!(matches!(
            read_certificate(&der[..40]),
            Err(CryptoError::Malformed(_))
        ));
    }

    #[test]
    fn a_path_is_checked_link_by_link() {
        let ca_key = make_ecc("secp256r1").unwrap();
        let ca_pair =
            KeyPair::try_from(&PrivatePkcs8KeyDer::from(ca_key.pkcs8.as_slice())).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_pair).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_pair);
        let leaf_pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut leaf_params = CertificateParams::new(vec!["gw".to_string()]).unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "gw");
        let leaf = leaf_params.signed_by(&leaf_pair, &issuer).unwrap();
        check_path(&[leaf.der(), ca_cert.der()]).unwrap();
        check_path(&[leaf.der()]).unwrap();
        let err = check_path(&[ca_cert.der(), leaf.der()]).unwrap_err();
        assert!(matches!(err, CryptoError::Mismatch(_)), "{err}");
        // Same subject name, another key: the issuer's name fits, the signature does not.
        let impostor_pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut impostor = CertificateParams::new(Vec::<String>::new()).unwrap();
        impostor
            .distinguished_name
            .push(DnType::CommonName, "test CA");
        let impostor = impostor.self_signed(&impostor_pair).unwrap();
        assert!(matches!(
            check_path(&[leaf.der(), impostor.der()]),
            Err(CryptoError::Mismatch(_))
        ));
    }
}
