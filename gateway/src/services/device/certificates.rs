//! The device service's older certificate operations, for clients that predate the Advanced
//! Security service, on the same keystore: GetCertificates, GetCertificatesStatus,
//! SetCertificatesStatus, CreateCertificate, GetPkcs10Request, LoadCertificates,
//! LoadCertificateWithPrivateKey, DeleteCertificates, GetCACertificates, LoadCACertificates,
//! GetCertificateInformation, Get/SetClientCertificateMode.
//!
//! In this model a certificate and its key pair share the certificate's ID; "status true"
//! is the certificate the HTTPS server presents (the keystore's one-certificate path);
//! CA certificates are those whose key the keystore has no private half of, and they admit
//! client certificates when the client certificate mode is on. Current Core no longer
//! defines these operations' faults: unknown IDs get `ter:InvalidArgVal/ter:CertificateID`,
//! bad uploads `ter:InvalidArgVal/ter:BadCertificate` (or `ter:BadPKCS8File`), as in the
//! Advanced Security tables. Every batch is checked whole before anything is stored.

use base64::Engine as _;

use crate::keystore::{KeystoreError, Request, crypto, is_valid_id};
use crate::security::wsse::parse_created;
use crate::services::{Ctx, OpResult, parse_bool, required_text};
use crate::soap::SoapFault;
use crate::xml::ns::{TDS, TT};
use crate::xml::write::bool_str;
use crate::xml::{Element, XmlWriter};

fn fault(e: KeystoreError) -> SoapFault {
    let detail = e.to_string();
    match e {
        KeystoreError::UnknownCertificate(_) | KeystoreError::UnknownKey(_) => {
            SoapFault::invalid_arg_val(Some("ter:CertificateID"), detail)
        }
        KeystoreError::InUse(..) => SoapFault::invalid_arg_val(Some("ter:ReferenceExists"), detail),
        KeystoreError::Full(..) => {
            SoapFault::action_failed(Some("ter:MaximumNumberOfCertificatesReached"), detail)
        }
        KeystoreError::Duplicate(_) => SoapFault::invalid_arg_val(Some("ter:Duplicate"), detail),
        KeystoreError::NoMatchingPrivateKey | KeystoreError::NoPrivateKey(_) => {
            SoapFault::invalid_arg_val(Some("ter:NoMatchingPrivateKey"), detail)
        }
        KeystoreError::Crypto(crypto::CryptoError::Failed(_)) => {
            SoapFault::action_failed(None, detail)
        }
        KeystoreError::Crypto(_) => SoapFault::invalid_arg_val(Some("ter:BadCertificate"), detail),
        KeystoreError::Io(_) => {
            tracing::error!(error = %detail, "the keystore could not be written");
            SoapFault::action_failed(None, "the keystore could not be written")
        }
        _ => SoapFault::invalid_arg_val(None, detail),
    }
}

fn certificate_id(text: &str) -> Result<String, SoapFault> {
    if is_valid_id(text) {
        Ok(text.to_owned())
    } else {
        Err(SoapFault::invalid_arg_val(
            Some("ter:CertificateID"),
            format!(
                "certificate ID {text:?} is not a name of at most 64 letters, digits, '_', '-' or '.'"
            ),
        ))
    }
}

/// A `tt:BinaryData`'s bytes.
fn binary(parent: &Element, name: &'static str, code: &'static str) -> Result<Vec<u8>, SoapFault> {
    let Some(data) = parent.child(TDS, name).or_else(|| parent.child(TT, name)) else {
        return Err(SoapFault::missing_tag(format!("{name} is required")));
    };
    crate::services::base64_text(required_text(data, TT, "Data")?)
        .map_err(|e| SoapFault::invalid_arg_val(Some(code), format!("{name}: not base64: {e}")))
}

/// A `tt:Certificate` (ID and DER), with the DER checked to be a certificate.
fn read_certificate(el: &Element) -> Result<(String, Vec<u8>, crypto::CertInfo), SoapFault> {
    let id = certificate_id(required_text(el, TT, "CertificateID")?)?;
    let der = binary(el, "Certificate", "ter:BadCertificate")?;
    let info = crypto::read_certificate(&der).map_err(|e| {
        SoapFault::invalid_arg_val(Some("ter:BadCertificate"), format!("{id}: {e}"))
    })?;
    Ok((id, der, info))
}

fn write_certificate(w: &mut XmlWriter, tag: &str, id: &str, der: &[u8]) {
    w.with(tag, &[], |w| {
        w.leaf("tt:CertificateID", id);
        w.with("tt:Certificate", &[], |w| {
            w.leaf(
                "tt:Data",
                &base64::engine::general_purpose::STANDARD.encode(der),
            );
        });
    });
}

fn list(ctx: &Ctx, tag: &str, item: &str, with_private_key: bool) -> OpResult {
    let certs = ctx.app.keystore.certificates();
    let mut w = XmlWriter::new();
    w.with(tag, &[], |w| {
        for c in certs
            .iter()
            .filter(|c| c.has_private_key == with_private_key)
        {
            write_certificate(w, item, &c.id, &c.der);
        }
    });
    Ok(w.finish())
}

pub(super) async fn get_certificates(ctx: &Ctx, _req: &Element) -> OpResult {
    list(
        ctx,
        "tds:GetCertificatesResponse",
        "tds:NvtCertificate",
        true,
    )
}

pub(super) async fn get_ca_certificates(ctx: &Ctx, _req: &Element) -> OpResult {
    list(
        ctx,
        "tds:GetCACertificatesResponse",
        "tds:CACertificate",
        false,
    )
}

pub(super) async fn get_certificates_status(ctx: &Ctx, _req: &Element) -> OpResult {
    let presented = ctx.app.keystore.presented_certificates();
    let certs = ctx.app.keystore.certificates();
    let mut w = XmlWriter::new();
    w.with("tds:GetCertificatesStatusResponse", &[], |w| {
        for c in certs.iter().filter(|c| c.has_private_key) {
            w.with("tds:CertificateStatus", &[], |w| {
                w.leaf("tt:CertificateID", &c.id);
                w.leaf("tt:Status", bool_str(presented.contains(&c.id)));
            });
        }
    });
    Ok(w.finish())
}

pub(super) async fn set_certificates_status(ctx: &Ctx, req: &Element) -> OpResult {
    let mut wanted = Vec::new();
    for s in req.children_named(TDS, "CertificateStatus") {
        let id = certificate_id(required_text(s, TT, "CertificateID")?)?;
        let text = required_text(s, TT, "Status")?;
        let on = parse_bool(text)
            .ok_or_else(|| SoapFault::invalid_args(format!("Status {text:?} is not a boolean")))?;
        ctx.app.keystore.certificate(&id).map_err(fault)?;
        wanted.push((id, on));
    }
    let on: Vec<&String> = wanted
        .iter()
        .filter(|(_, on)| *on)
        .map(|(id, _)| id)
        .collect();
    if on.len() > 1 {
        return Err(SoapFault::invalid_arg_val(
            None,
            "the HTTPS server presents one certificate: set one Status true",
        ));
    }
    let keystore = &ctx.app.keystore;
    if let Some(id) = on.first() {
        keystore.present_certificate(id).map_err(fault)?;
    }
    for (id, on) in &wanted {
        if !on && keystore.presented_certificates().contains(id) {
            keystore.stop_presenting(id).map_err(fault)?;
        }
    }
    tracing::warn!(
        ?wanted,
        by = ctx.principal.log_name(),
        "certificate status set"
    );
    Ok("<tds:SetCertificatesStatusResponse/>".into())
}

pub(super) async fn create_certificate(ctx: &Ctx, req: &Element) -> OpResult {
    let id = req
        .child(TDS, "CertificateID")
        .map(|e| certificate_id(e.text_trim()))
        .transpose()?;
    let subject = match req.child(TDS, "Subject").map(Element::text_trim) {
        None | Some("") => vec![("2.5.4.3".into(), crate::host::net::hostname())],
        Some(s) => {
            crypto::parse_dn(s).map_err(|e| SoapFault::invalid_arg_val(None, e.to_string()))?
        }
    };
    let time = |name: &str, default: i64| -> Result<i64, SoapFault> {
        match req.child(TDS, name).map(Element::text_trim) {
            None => Ok(default),
            Some(t) => parse_created(t).map(|t| t.timestamp()).ok_or_else(|| {
                SoapFault::invalid_arg_val(None, format!("{name} {t:?} is not an xs:dateTime"))
            }),
        }
    };
    let now = chrono::Utc::now().timestamp();
    let request = Request {
        subject,
        validity: Some((
            time("ValidNotBefore", now - 60)?,
            time("ValidNotAfter", now + 10 * 365 * 86_400)?,
        )),
        ..Request::default()
    };
    let keystore = &ctx.app.keystore;
    if let Some(id) = &id
        && keystore.certificate(id).is_ok()
    {
        return Err(fault(KeystoreError::BadId(format!(
            "a certificate with the ID {id:?} exists"
        ))));
    }
    // A key pair made on board (RSA 2048, what such clients expect), then its certificate.
    let key = keystore
        .create_key_now(id.clone(), || crypto::make_rsa(2048))
        .await
        .map_err(fault)?;
    let made = keystore.self_signed(&key, &request, None, id);
    let cert = match made {
        Ok(c) => c,
        Err(e) => {
            let _ = keystore.delete_key(&key);
            return Err(fault(e));
        }
    };
    tracing::warn!(
        certificate = cert,
        by = ctx.principal.log_name(),
        "certificate created (device service)"
    );
    let view = keystore.certificate(&cert).map_err(fault)?;
    let mut w = XmlWriter::new();
    w.with("tds:CreateCertificateResponse", &[], |w| {
        write_certificate(w, "tds:NvtCertificate", &view.id, &view.der);
    });
    Ok(w.finish())
}

pub(super) async fn get_pkcs10_request(ctx: &Ctx, req: &Element) -> OpResult {
    let id = certificate_id(required_text(req, TDS, "CertificateID")?)?;
    if let Some(a) = req.child(TDS, "Attributes")
        && !a
            .child(TT, "Data")
            .map(Element::text_trim)
            .unwrap_or("")
            .is_empty()
    {
        return Err(SoapFault::invalid_arg_val(
            None,
            "request attributes are not carried; the Advanced Security service's CreatePKCS10CSR takes extensions",
        ));
    }
    let view = ctx.app.keystore.certificate(&id).map_err(fault)?;
    let subject = match req.child(TDS, "Subject").map(Element::text_trim) {
        None | Some("") => crypto::read_certificate(&view.der)
            .and_then(|i| crypto::parse_dn(&i.subject))
            .map_err(|e| SoapFault::invalid_arg_val(None, e.to_string()))?,
        Some(s) => {
            crypto::parse_dn(s).map_err(|e| SoapFault::invalid_arg_val(None, e.to_string()))?
        }
    };
    let csr = ctx
        .app
        .keystore
        .csr(
            &view.key_id,
            &Request {
                subject,
                ..Request::default()
            },
        )
        .map_err(fault)?;
    let mut w = XmlWriter::new();
    w.with("tds:GetPkcs10RequestResponse", &[], |w| {
        w.with("tds:Pkcs10Request", &[], |w| {
            w.leaf(
                "tt:Data",
                &base64::engine::general_purpose::STANDARD.encode(csr),
            );
        });
    });
    Ok(w.finish())
}

pub(super) async fn load_certificates(ctx: &Ctx, req: &Element) -> OpResult {
    let keystore = &ctx.app.keystore;
    let mut batch = Vec::new();
    for c in req.children_named(TDS, "NVTCertificate") {
        let (id, der, info) = read_certificate(c)?;
        // A certificate for a key made here (a request's): the keystore must have its key.
        if !keystore.has_private_key_for(&info.spki) {
            return Err(fault(KeystoreError::NoMatchingPrivateKey));
        }
        batch.push((id, der));
    }
    if batch.is_empty() {
        return Err(SoapFault::missing_tag("NVTCertificate is required"));
    }
    for (id, der) in &batch {
        if keystore.certificate(id).is_ok() {
            keystore.replace_certificate(id, der).map_err(fault)?;
        } else {
            keystore
                .upload_certificate(der, None, None, true, Some(id.clone()))
                .map_err(fault)?;
        }
    }
    tracing::warn!(
        count = batch.len(),
        by = ctx.principal.log_name(),
        "certificates loaded (device service)"
    );
    Ok("<tds:LoadCertificatesResponse/>".into())
}

pub(super) async fn load_certificate_with_private_key(ctx: &Ctx, req: &Element) -> OpResult {
    let keystore = &ctx.app.keystore;
    let mut batch = Vec::new();
    for c in req.children_named(TDS, "CertificateWithPrivateKey") {
        let id = c
            .child(TT, "CertificateID")
            .map(|e| certificate_id(e.text_trim()))
            .transpose()?;
        let der = binary(c, "Certificate", "ter:BadCertificate")?;
        let info = crypto::read_certificate(&der)
            .map_err(|e| SoapFault::invalid_arg_val(Some("ter:BadCertificate"), e.to_string()))?;
        let pkcs8 = binary(c, "PrivateKey", "ter:BadPKCS8File")?;
        let key = crypto::read_pkcs8(&pkcs8)
            .map_err(|e| SoapFault::invalid_arg_val(Some("ter:BadPKCS8File"), e.to_string()))?;
        if key.spki != info.spki {
            return Err(SoapFault::invalid_arg_val(
                Some("ter:PublicPrivateKeyMismatch"),
                "the private key does not belong to the certificate",
            ));
        }
        batch.push((id, der, pkcs8));
    }
    if batch.is_empty() {
        return Err(SoapFault::missing_tag(
            "CertificateWithPrivateKey is required",
        ));
    }
    for (id, der, pkcs8) in &batch {
        keystore.upload_key_pair(pkcs8, id.clone()).map_err(fault)?;
        keystore
            .upload_certificate(der, None, None, true, id.clone())
            .map_err(fault)?;
    }
    tracing::warn!(
        count = batch.len(),
        by = ctx.principal.log_name(),
        "certificates with private keys loaded (device service)"
    );
    Ok("<tds:LoadCertificateWithPrivateKeyResponse/>".into())
}

pub(super) async fn load_ca_certificates(ctx: &Ctx, req: &Element) -> OpResult {
    let mut batch = Vec::new();
    for c in req.children_named(TDS, "CACertificate") {
        let (id, der, _) = read_certificate(c)?;
        batch.push((id, der));
    }
    if batch.is_empty() {
        return Err(SoapFault::missing_tag("CACertificate is required"));
    }
    for (id, der) in &batch {
        ctx.app
            .keystore
            .upload_certificate(der, None, None, false, Some(id.clone()))
            .map_err(fault)?;
    }
    tracing::warn!(
        count = batch.len(),
        by = ctx.principal.log_name(),
        "CA certificates loaded (device service)"
    );
    Ok("<tds:LoadCACertificatesResponse/>".into())
}

pub(super) async fn delete_certificates(ctx: &Ctx, req: &Element) -> OpResult {
    let keystore = &ctx.app.keystore;
    let mut ids = Vec::new();
    for e in req.children_named(TDS, "CertificateID") {
        let id = certificate_id(e.text_trim())?;
        keystore.certificate(&id).map_err(fault)?;
        if keystore.presented_certificates().contains(&id) {
            return Err(fault(KeystoreError::InUse(
                format!("certificate {id:?}"),
                "the HTTPS server presents it".into(),
            )));
        }
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(SoapFault::missing_tag("CertificateID is required"));
    }
    for id in &ids {
        keystore.delete_certificate_and_key(id).map_err(fault)?;
    }
    tracing::warn!(
        ?ids,
        by = ctx.principal.log_name(),
        "certificates deleted (device service)"
    );
    Ok("<tds:DeleteCertificatesResponse/>".into())
}

pub(super) async fn get_certificate_information(ctx: &Ctx, req: &Element) -> OpResult {
    let id = certificate_id(required_text(req, TDS, "CertificateID")?)?;
    let view = ctx.app.keystore.certificate(&id).map_err(fault)?;
    let info = crypto::read_certificate(&view.der).map_err(|e| fault(e.into()))?;
    let at = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0)
            .map(crate::events::time::utc)
            .unwrap_or_default()
    };
    let mut w = XmlWriter::new();
    w.with("tds:GetCertificateInformationResponse", &[], |w| {
        w.with("tds:CertificateInformation", &[], |w| {
            w.leaf("tt:CertificateID", &id);
            w.leaf("tt:IssuerDN", &info.issuer);
            w.leaf("tt:SubjectDN", &info.subject);
            if let Some((critical, usage)) = &info.key_usage {
                w.open("tt:KeyUsage", &[("Critical", bool_str(*critical))]);
                w.text(&usage.join(", "));
                w.close("tt:KeyUsage");
            }
            if let Some((critical, usage)) = &info.extended_key_usage {
                w.open("tt:ExtendedKeyUsage", &[("Critical", bool_str(*critical))]);
                w.text(&usage.join(" "));
                w.close("tt:ExtendedKeyUsage");
            }
            w.leaf("tt:KeyLength", &info.key_length.to_string());
            w.leaf("tt:Version", &info.version.to_string());
            w.leaf("tt:SerialNum", &info.serial);
            w.leaf("tt:SignatureAlgorithm", &info.signature_algorithm);
            w.with("tt:Validity", &[], |w| {
                w.leaf("tt:From", &at(info.not_before));
                w.leaf("tt:Until", &at(info.not_after));
            });
        });
    });
    Ok(w.finish())
}

pub(super) async fn get_client_certificate_mode(ctx: &Ctx, _req: &Element) -> OpResult {
    let on = ctx.app.keystore.client_certificates_required();
    Ok(format!(
        "<tds:GetClientCertificateModeResponse><tds:Enabled>{}</tds:Enabled></tds:GetClientCertificateModeResponse>",
        bool_str(on)
    ))
}

pub(super) async fn set_client_certificate_mode(ctx: &Ctx, req: &Element) -> OpResult {
    let text = required_text(req, TDS, "Enabled")?;
    let on = parse_bool(text)
        .ok_or_else(|| SoapFault::invalid_args(format!("Enabled {text:?} is not a boolean")))?;
    ctx.app
        .keystore
        .set_client_certificates_required(on)
        .map_err(fault)?;
    tracing::warn!(
        required = on,
        by = ctx.principal.log_name(),
        "HTTPS client certificates"
    );
    Ok("<tds:SetClientCertificateModeResponse/>".into())
}
