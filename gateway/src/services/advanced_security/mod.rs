//! The Advanced Security service (`tas:`): its keystore and TLS server features, the
//! subset VMSs use to give a device their own certificate. Everything is kept by
//! `crate::keystore`; this module reads requests, writes responses and picks the faults of
//! the specification's tables (`doc/Security.xml`).

use std::time::Duration;

use base64::Engine as _;

use crate::keystore::{self, CryptoError, KeystoreError, Limit, Request, crypto};
use crate::services::{Ctx, OpResult, required_text};
use crate::soap::SoapFault;
use crate::xml::ns::TAS;
use crate::xml::{Element, XmlWriter};

mod keys;
mod paths;

super::operations! {
    TAS "GetServiceCapabilities" => get_service_capabilities,
    TAS "CreateRSAKeyPair" => keys::create_rsa_key_pair,
    TAS "CreateECCKeyPair" => keys::create_ecc_key_pair,
    TAS "UploadKeyPairInPKCS8" => keys::upload_key_pair_in_pkcs8,
    TAS "GetKeyStatus" => keys::get_key_status,
    TAS "GetPrivateKeyStatus" => keys::get_private_key_status,
    TAS "GetAllKeys" => keys::get_all_keys,
    TAS "DeleteKey" => keys::delete_key,
    TAS "CreatePKCS10CSR" => keys::create_pkcs10_csr,
    TAS "CreateSelfSignedCertificate" => keys::create_self_signed_certificate,
    TAS "UploadCertificate" => paths::upload_certificate,
    TAS "GetCertificate" => paths::get_certificate,
    TAS "GetAllCertificates" => paths::get_all_certificates,
    TAS "DeleteCertificate" => paths::delete_certificate,
    TAS "CreateCertificationPath" => paths::create_certification_path,
    TAS "GetCertificationPath" => paths::get_certification_path,
    TAS "GetAllCertificationPaths" => paths::get_all_certification_paths,
    TAS "DeleteCertificationPath" => paths::delete_certification_path,
    TAS "AddServerCertificateAssignment" => paths::add_server_certificate_assignment,
    TAS "RemoveServerCertificateAssignment" => paths::remove_server_certificate_assignment,
    TAS "ReplaceServerCertificateAssignment" => paths::replace_server_certificate_assignment,
    TAS "GetAssignedServerCertificates" => paths::get_assigned_server_certificates,
}

/// How long making a key of each kind takes here, roughly (EstimatedCreationTime).
fn estimate(rsa_bits: Option<u32>) -> Duration {
    match rsa_bits {
        Some(b) if b > 3072 => Duration::from_secs(20),
        Some(b) if b > 2048 => Duration::from_secs(6),
        Some(_) => Duration::from_secs(2),
        None => Duration::from_millis(100),
    }
}

/// Writes `tas:Capabilities` (GetServiceCapabilities, and GetServices with capabilities).
pub fn write_capabilities(ctx: &Ctx, w: &mut XmlWriter, tag: &str) {
    let limits = ctx.app.keystore.limits();
    let (keys, certs, paths, server) = (
        limits.keys.to_string(),
        limits.certificates.to_string(),
        limits.paths.to_string(),
        limits.server_paths.to_string(),
    );
    let lengths = crypto::RSA_LENGTHS
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let curves = crypto::CURVES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(" ");
    w.with(tag, &[], |w| {
        w.with(
            "tas:KeystoreCapabilities",
            &[
                ("MaximumNumberOfKeys", &keys),
                ("MaximumNumberOfCertificates", &certs),
                ("MaximumNumberOfCertificationPaths", &paths),
                ("RSAKeyPairGeneration", "true"),
                ("ECCKeyPairGeneration", "true"),
                ("KeyPairGeneration", "RSA ECC"),
                ("RSAKeyLengths", &lengths),
                ("EllipticCurves", &curves),
                ("PKCS10ExternalCertificationWithRSA", "true"),
                ("PKCS10", "true"),
                ("SelfSignedCertificateCreationWithRSA", "true"),
                ("SelfSignedCertificateCreation", "true"),
                ("X509Versions", "3"),
                ("MaximumNumberOfPassphrases", "0"),
                ("PKCS8RSAKeyPairUpload", "true"),
                ("PKCS8", "true"),
                ("PKCS12CertificateWithRSAPrivateKeyUpload", "false"),
                ("PKCS12", "false"),
                ("MaximumNumberOfCRLs", "0"),
                ("MaximumNumberOfCertificationPathValidationPolicies", "0"),
                ("NoPrivateKeySharing", "false"),
            ],
            |w| {
                for (oid, _) in crypto::SIGNATURE_ALGORITHMS {
                    w.with("tas:SignatureAlgorithms", &[], |w| {
                        w.leaf("tas:algorithm", oid);
                    });
                }
            },
        );
        w.empty(
            "tas:TLSServerCapabilities",
            &[
                ("TLSServerSupported", "1.2 1.3"),
                ("EnabledVersionsSupported", "false"),
                ("MaximumNumberOfTLSCertificationPaths", &server),
                ("TLSClientAuthSupported", "false"),
                ("CnMapsToUserSupported", "false"),
                ("MaximumNumberOfTLSCertificationPathValidationPolicies", "0"),
            ],
        );
    });
}

async fn get_service_capabilities(ctx: &Ctx, _req: &Element) -> OpResult {
    let mut w = XmlWriter::new();
    w.with("tas:GetServiceCapabilitiesResponse", &[], |w| {
        write_capabilities(ctx, w, "tas:Capabilities");
    });
    Ok(w.finish())
}

/// The sub-subcodes a `CryptoError` takes in one operation's fault table.
struct Codes {
    malformed: &'static str,
    unsupported: &'static str,
    mismatch: &'static str,
    failed: &'static str,
}

/// The fault of the standard's tables for a refused keystore operation.
fn fault(e: KeystoreError, codes: &Codes) -> SoapFault {
    let detail = e.to_string();
    match e {
        KeystoreError::UnknownKey(_) => SoapFault::invalid_arg_val(Some("ter:KeyID"), detail),
        KeystoreError::UnknownCertificate(_) => {
            SoapFault::invalid_arg_val(Some("ter:CertificateID"), detail)
        }
        KeystoreError::UnknownPath(_) => {
            SoapFault::invalid_arg_val(Some("ter:CertificationPathID"), detail)
        }
        KeystoreError::InUse(..) => SoapFault::invalid_arg_val(Some("ter:ReferenceExists"), detail),
        KeystoreError::Full(limit, _) => SoapFault::action_failed(
            Some(match limit {
                Limit::Keys => "ter:MaximumNumberOfKeysReached",
                Limit::Certificates => "ter:MaximumNumberOfCertificatesReached",
                Limit::Paths => "ter:MaximumNumberOfCertificationPathsReached",
                Limit::ServerPaths => "ter:MaximumNumberOfTLSCertificationPathsReached",
            }),
            detail,
        ),
        KeystoreError::KeyNotReady(..) => {
            SoapFault::invalid_arg_val(Some("ter:InvalidKeyStatus"), detail)
        }
        KeystoreError::NoPrivateKey(_) => {
            SoapFault::invalid_arg_val(Some("ter:NoPrivateKey"), detail)
        }
        KeystoreError::NoMatchingPrivateKey => {
            SoapFault::action_failed(Some("ter:NoMatchingPrivateKey"), detail)
        }
        KeystoreError::Duplicate(_) => SoapFault::invalid_arg_val(Some("ter:Duplicate"), detail),
        KeystoreError::NotAssigned(_) => {
            SoapFault::invalid_arg_val(Some("ter:OldCertificationPathID"), detail)
        }
        KeystoreError::AlreadyAssigned(_) => {
            SoapFault::invalid_arg_val(Some("ter:NewCertificationPathID"), detail)
        }
        KeystoreError::NotAPath(_) => {
            SoapFault::invalid_arg_val(Some("ter:InvalidCertificationPath"), detail)
        }
        KeystoreError::BadId(_) => SoapFault::invalid_arg_val(None, detail),
        KeystoreError::Crypto(c) => match c {
            CryptoError::Malformed(_) => SoapFault::invalid_arg_val(Some(codes.malformed), detail),
            CryptoError::Unsupported(_) => {
                SoapFault::invalid_arg_val(Some(codes.unsupported), detail)
            }
            CryptoError::Mismatch(_) => SoapFault::invalid_arg_val(Some(codes.mismatch), detail),
            CryptoError::Failed(_) => SoapFault::action_failed(Some(codes.failed), detail),
        },
        KeystoreError::Io(_) => {
            tracing::error!(error = %detail, "the keystore could not be written");
            SoapFault::action_failed(None, "the keystore could not be written")
        }
    }
}

/// Codes of operations without crypto rows of their own.
const PLAIN: Codes = Codes {
    malformed: "ter:InvalidArgVal",
    unsupported: "ter:InvalidArgVal",
    mismatch: "ter:InvalidArgVal",
    failed: "ter:Action",
};

/// A required ID element, checked to be an NCName of at most 64 characters (the ID types);
/// one that is not names nothing stored, so it gets the fault of an unknown ID.
fn id<'a>(
    req: &'a Element,
    name: &'static str,
    unknown: fn(String) -> KeystoreError,
) -> Result<&'a str, SoapFault> {
    let v = required_text(req, TAS, name)?;
    if keystore::is_valid_id(v) {
        Ok(v)
    } else {
        Err(fault(unknown(v.to_owned()), &PLAIN))
    }
}

/// An optional text element.
fn optional(req: &Element, name: &str) -> Option<String> {
    req.child(TAS, name).map(|e| e.text_trim().to_owned())
}

/// A required base64 DER element; `code` is the fault's sub-subcode for bad base64.
fn der(req: &Element, name: &'static str, code: &'static str) -> Result<Vec<u8>, SoapFault> {
    crate::services::base64_text(required_text(req, TAS, name)?)
        .map_err(|e| SoapFault::invalid_arg_val(Some(code), format!("{name} is not base64: {e}")))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A `tas:DistinguishedName` as (OID, value) pairs; `None` when it names nothing.
fn subject(req: &Element) -> Result<keystore::Name, SoapFault> {
    let Some(dn) = req.child(TAS, "Subject") else {
        return Err(SoapFault::missing_tag("Subject is required"));
    };
    let invalid = |d: String| SoapFault::invalid_arg_val(Some("ter:InvalidSubject"), d);
    let mut name = Vec::new();
    for c in dn.children.iter() {
        if &*c.ns != TAS {
            continue;
        }
        let element: &str = &c.name;
        let text = c.text_trim().to_owned();
        if let Some((_, oid)) = crypto::DN_ATTRIBUTES.iter().find(|(n, _)| *n == element) {
            name.push(((*oid).to_owned(), text));
        } else if element == "GenericAttribute" {
            let ty = c
                .child(TAS, "Type")
                .map(Element::text_trim)
                .ok_or_else(|| invalid("GenericAttribute has no Type".into()))?;
            crypto::oid_arcs(ty).map_err(|e| invalid(e.to_string()))?;
            let value = c.child(TAS, "Value").map(Element::text_trim).unwrap_or("");
            name.push((ty.to_owned(), value.to_owned()));
        } else if element == "anyAttribute" {
            for dc in c.children_named(TAS, "DomainComponent") {
                name.push((
                    "0.9.2342.19200300.100.1.25".into(),
                    dc.text_trim().to_owned(),
                ));
            }
        } else {
            return Err(invalid(format!(
                "{element} is not an attribute railgate can put in a name"
            )));
        }
    }
    if name.iter().any(|(_, v)| v.is_empty()) {
        return Err(invalid("a name attribute is empty".into()));
    }
    if name.is_empty() {
        return Err(invalid("the subject names nothing".into()));
    }
    Ok(name)
}

/// `tas:SignatureAlgorithm`'s OID.
fn signature_algorithm(req: &Element) -> Result<Option<String>, SoapFault> {
    let Some(alg) = req.child(TAS, "SignatureAlgorithm") else {
        return Ok(None);
    };
    let oid = required_text(alg, TAS, "algorithm")?;
    if !crypto::SIGNATURE_ALGORITHMS.iter().any(|(o, _)| *o == oid) {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:UnsupportedSignatureAlgorithm"),
            format!("signature algorithm {oid} is not offered"),
        ));
    }
    Ok(Some(oid.to_owned()))
}

/// A `tas:X509v3Extension`: (OID, critical, DER value).
fn extension(e: &Element, code: &'static str) -> Result<crypto::Extension, SoapFault> {
    let oid = required_text(e, TAS, "extnOID")?;
    crypto::oid_arcs(oid).map_err(|err| SoapFault::invalid_arg_val(Some(code), err.to_string()))?;
    let critical = match e.child(TAS, "critical").map(Element::text_trim) {
        None => false,
        Some(t) => super::parse_bool(t)
            .ok_or_else(|| SoapFault::invalid_args(format!("critical {t:?} is not a boolean")))?,
    };
    let value = der(e, "extnValue", code)?;
    Ok((oid.to_owned(), critical, value))
}

/// The request parts CreatePKCS10CSR and CreateSelfSignedCertificate share.
fn request(req: &Element) -> Result<Request, SoapFault> {
    Ok(Request {
        subject: subject(req)?,
        signature: signature_algorithm(req)?,
        ..Request::default()
    })
}
