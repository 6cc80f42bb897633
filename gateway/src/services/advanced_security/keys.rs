//! Key pairs: CreateRSAKeyPair, CreateECCKeyPair (made in the background; GetKeyStatus
//! says when), UploadKeyPairInPKCS8, GetKeyStatus, GetPrivateKeyStatus, GetAllKeys,
//! DeleteKey; and what is made with one: CreatePKCS10CSR, CreateSelfSignedCertificate.

use super::{Codes, PLAIN, b64, der, estimate, extension, fault, id, optional, request};
use crate::keystore::{KeystoreError, crypto};
use crate::security::wsse::parse_created;
use crate::services::{Ctx, OpResult, required_text};
use crate::soap::SoapFault;
use crate::xml::ns::TAS;
use crate::xml::write::bool_str;
use crate::xml::{Element, XmlWriter};

fn created(tag: &str, key: &str, estimate: std::time::Duration) -> String {
    let mut w = XmlWriter::new();
    w.with(tag, &[], |w| {
        w.leaf("tas:KeyID", key);
        w.leaf(
            "tas:EstimatedCreationTime",
            &format!("PT{}.{:03}S", estimate.as_secs(), estimate.subsec_millis()),
        );
    });
    w.finish()
}

pub(super) async fn create_rsa_key_pair(ctx: &Ctx, req: &Element) -> OpResult {
    let text = required_text(req, TAS, "KeyLength")?;
    let bits: u32 = text
        .parse()
        .ok()
        .filter(|b| crypto::RSA_LENGTHS.contains(b))
        .ok_or_else(|| {
            SoapFault::invalid_arg_val(
                Some("ter:KeyLength"),
                format!("RSA key length {text:?} is not offered (2048, 3072, 4096)"),
            )
        })?;
    let key = ctx
        .app
        .keystore
        .create_key(optional(req, "Alias"), move || crypto::make_rsa(bits))
        .map_err(|e| fault(e, &PLAIN))?;
    tracing::info!(
        key,
        bits,
        by = ctx.principal.log_name(),
        "making an RSA key pair"
    );
    Ok(created(
        "tas:CreateRSAKeyPairResponse",
        &key,
        estimate(Some(bits)),
    ))
}

pub(super) async fn create_ecc_key_pair(ctx: &Ctx, req: &Element) -> OpResult {
    let curve = required_text(req, TAS, "EllipticCurve")?.to_owned();
    if !crypto::CURVES
        .iter()
        .any(|(n, o)| *n == curve || *o == curve)
    {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:UnsupportedEllipticCurve"),
            format!("elliptic curve {curve:?} is not offered (secp256r1, secp384r1)"),
        ));
    }
    let key = ctx
        .app
        .keystore
        .create_key(optional(req, "Alias"), move || crypto::make_ecc(&curve))
        .map_err(|e| fault(e, &PLAIN))?;
    tracing::info!(key, by = ctx.principal.log_name(), "making an ECC key pair");
    Ok(created(
        "tas:CreateECCKeyPairResponse",
        &key,
        estimate(None),
    ))
}

pub(super) async fn upload_key_pair_in_pkcs8(ctx: &Ctx, req: &Element) -> OpResult {
    if req.child(TAS, "EncryptionPassphraseID").is_some()
        || req.child(TAS, "EncryptionPassphrase").is_some()
    {
        // MaximumNumberOfPassphrases is 0: no passphrase is ever stored here.
        return Err(SoapFault::invalid_arg_val(
            Some("ter:PassphraseID"),
            "railgate keeps no passphrases: upload the key pair unencrypted, over HTTPS",
        ));
    }
    let pkcs8 = der(req, "KeyPair", "ter:BadPKCS8File")?;
    let codes = Codes {
        malformed: "ter:BadPKCS8File",
        unsupported: "ter:UnsupportedPublicKeyAlgorithm",
        mismatch: "ter:PublicPrivateKeyMismatch",
        failed: "ter:Action",
    };
    let key = ctx
        .app
        .keystore
        .upload_key_pair(&pkcs8, optional(req, "Alias"))
        .map_err(|e| fault(e, &codes))?;
    tracing::warn!(key, by = ctx.principal.log_name(), "key pair uploaded");
    let mut w = XmlWriter::new();
    w.with("tas:UploadKeyPairInPKCS8Response", &[], |w| {
        w.leaf("tas:KeyID", &key);
    });
    Ok(w.finish())
}

pub(super) async fn get_key_status(ctx: &Ctx, req: &Element) -> OpResult {
    let key = id(req, "KeyID", KeystoreError::UnknownKey)?;
    let status = ctx
        .app
        .keystore
        .key_status(key)
        .map_err(|e| fault(e, &PLAIN))?;
    let mut w = XmlWriter::new();
    w.with("tas:GetKeyStatusResponse", &[], |w| {
        w.leaf("tas:KeyStatus", status.as_str());
    });
    Ok(w.finish())
}

pub(super) async fn get_private_key_status(ctx: &Ctx, req: &Element) -> OpResult {
    let key = id(req, "KeyID", KeystoreError::UnknownKey)?;
    let view = ctx.app.keystore.key(key).map_err(|e| fault(e, &PLAIN))?;
    let mut w = XmlWriter::new();
    w.with("tas:GetPrivateKeyStatusResponse", &[], |w| {
        w.leaf("tas:hasPrivateKey", bool_str(view.has_private_key));
    });
    Ok(w.finish())
}

pub(super) async fn get_all_keys(ctx: &Ctx, _req: &Element) -> OpResult {
    let keys = ctx.app.keystore.keys();
    let mut w = XmlWriter::new();
    w.with("tas:GetAllKeysResponse", &[], |w| {
        for k in &keys {
            w.with("tas:KeyAttribute", &[], |w| {
                w.leaf("tas:KeyID", &k.id);
                if let Some(a) = &k.alias {
                    w.leaf("tas:Alias", a);
                }
                w.leaf("tas:hasPrivateKey", bool_str(k.has_private_key));
                w.leaf("tas:KeyStatus", k.status.as_str());
                w.leaf("tas:externallyGenerated", bool_str(k.external));
                w.leaf("tas:securelyStored", "false");
            });
        }
    });
    Ok(w.finish())
}

pub(super) async fn delete_key(ctx: &Ctx, req: &Element) -> OpResult {
    let key = id(req, "KeyID", KeystoreError::UnknownKey)?;
    ctx.app
        .keystore
        .delete_key(key)
        .map_err(|e| fault(e, &PLAIN))?;
    tracing::warn!(key, by = ctx.principal.log_name(), "key deleted");
    Ok("<tas:DeleteKeyResponse/>".into())
}

pub(super) async fn create_pkcs10_csr(ctx: &Ctx, req: &Element) -> OpResult {
    let key = id(req, "KeyID", KeystoreError::UnknownKey)?;
    let mut request = request(req)?;
    for a in req.children_named(TAS, "CSRAttribute") {
        match a.child(TAS, "X509v3Extension") {
            Some(e) => request
                .extensions
                .push(extension(e, "ter:InvalidAttribute")?),
            None => {
                return Err(SoapFault::invalid_arg_val(
                    Some("ter:InvalidAttribute"),
                    "only X509v3Extension request attributes are carried",
                ));
            }
        }
    }
    let codes = Codes {
        malformed: "ter:InvalidAttribute",
        unsupported: "ter:UnsupportedSignatureAlgorithm",
        mismatch: "ter:KeySignatureAlgorithmMismatch",
        failed: "ter:CSRCreationFailed",
    };
    let csr = ctx
        .app
        .keystore
        .csr(key, &request)
        .map_err(|e| fault(e, &codes))?;
    let mut w = XmlWriter::new();
    w.with("tas:CreatePKCS10CSRResponse", &[], |w| {
        w.leaf("tas:PKCS10CSR", &b64(&csr));
    });
    Ok(w.finish())
}

/// 9999-12-31T23:59:59Z, the standard's notValidAfter when none is given.
const FOREVER: i64 = 253_402_300_799;

pub(super) async fn create_self_signed_certificate(ctx: &Ctx, req: &Element) -> OpResult {
    if let Some(v) = optional(req, "X509Version")
        && v != "3"
    {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:UnsupportedX509Version"),
            format!("X.509 version {v} is not offered (3)"),
        ));
    }
    let key = id(req, "KeyID", KeystoreError::UnknownKey)?;
    let mut request = request(req)?;
    for e in req.children_named(TAS, "Extension") {
        request.extensions.push(extension(e, "ter:InvalidArgVal")?);
    }
    let time = |name: &str, default: i64| -> Result<i64, SoapFault> {
        match optional(req, name) {
            None => Ok(default),
            Some(t) => parse_created(&t).map(|t| t.timestamp()).ok_or_else(|| {
                SoapFault::invalid_arg_val(
                    Some("ter:InvalidDateTime"),
                    format!("{name} {t:?} is not an xs:dateTime"),
                )
            }),
        }
    };
    let from = time("notValidBefore", chrono::Utc::now().timestamp() - 60)?;
    let until = time("notValidAfter", FOREVER)?;
    if until <= from {
        return Err(SoapFault::invalid_arg_val(
            Some("ter:InvalidDateTime"),
            "notValidAfter is not after notValidBefore",
        ));
    }
    request.validity = Some((from, until));
    let codes = Codes {
        malformed: "ter:InvalidSubject",
        unsupported: "ter:UnsupportedSignatureAlgorithm",
        mismatch: "ter:KeySignatureAlgorithmMismatch",
        failed: "ter:CertificateCreationFailed",
    };
    let cert = ctx
        .app
        .keystore
        .self_signed(key, &request, optional(req, "Alias"), None)
        .map_err(|e| fault(e, &codes))?;
    tracing::warn!(
        certificate = cert,
        key,
        by = ctx.principal.log_name(),
        "self-signed certificate made"
    );
    let mut w = XmlWriter::new();
    w.with("tas:CreateSelfSignedCertificateResponse", &[], |w| {
        w.leaf("tas:CertificateID", &cert);
    });
    Ok(w.finish())
}
