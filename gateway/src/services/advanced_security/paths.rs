//! Certificates (UploadCertificate, GetCertificate, GetAllCertificates, DeleteCertificate),
//! certification paths (Create/Get/GetAll/DeleteCertificationPath) and the TLS server's
//! assignment (Add/Remove/Replace/GetAssignedServerCertificates).

use super::{Codes, PLAIN, b64, der, fault, id, optional};
use crate::keystore::{CertView, KeystoreError};
use crate::services::{Ctx, OpResult, parse_bool};
use crate::soap::SoapFault;
use crate::xml::ns::TAS;
use crate::xml::write::bool_str;
use crate::xml::{Element, XmlWriter};

fn write_certificate(w: &mut XmlWriter, tag: &str, c: &CertView) {
    w.with(tag, &[], |w| {
        w.leaf("tas:CertificateID", &c.id);
        w.leaf("tas:KeyID", &c.key_id);
        if let Some(a) = &c.alias {
            w.leaf("tas:Alias", a);
        }
        w.leaf("tas:CertificateContent", &b64(&c.der));
        w.leaf("tas:HasPrivateKey", bool_str(c.has_private_key));
    });
}

pub(super) async fn upload_certificate(ctx: &Ctx, req: &Element) -> OpResult {
    let cert = der(req, "Certificate", "ter:BadCertificate")?;
    let required = match optional(req, "PrivateKeyRequired") {
        None => false,
        Some(t) => parse_bool(&t).ok_or_else(|| {
            SoapFault::invalid_args(format!("PrivateKeyRequired {t:?} is not a boolean"))
        })?,
    };
    let codes = Codes {
        malformed: "ter:BadCertificate",
        unsupported: "ter:UnsupportedPublicKeyAlgorithm",
        mismatch: "ter:BadCertificate",
        failed: "ter:Action",
    };
    let (cert_id, key_id) = ctx
        .app
        .keystore
        .upload_certificate(
            &cert,
            optional(req, "Alias"),
            optional(req, "KeyAlias"),
            required,
            None,
        )
        .map_err(|e| fault(e, &codes))?;
    tracing::warn!(
        certificate = cert_id,
        key = key_id,
        by = ctx.principal.log_name(),
        "certificate uploaded"
    );
    let mut w = XmlWriter::new();
    w.with("tas:UploadCertificateResponse", &[], |w| {
        w.leaf("tas:CertificateID", &cert_id);
        w.leaf("tas:KeyID", &key_id);
    });
    Ok(w.finish())
}

pub(super) async fn get_certificate(ctx: &Ctx, req: &Element) -> OpResult {
    let cert = id(req, "CertificateID", KeystoreError::UnknownCertificate)?;
    let c = ctx
        .app
        .keystore
        .certificate(cert)
        .map_err(|e| fault(e, &PLAIN))?;
    let mut w = XmlWriter::new();
    w.with("tas:GetCertificateResponse", &[], |w| {
        write_certificate(w, "tas:Certificate", &c);
    });
    Ok(w.finish())
}

pub(super) async fn get_all_certificates(ctx: &Ctx, _req: &Element) -> OpResult {
    let all = ctx.app.keystore.certificates();
    let mut w = XmlWriter::new();
    w.with("tas:GetAllCertificatesResponse", &[], |w| {
        for c in &all {
            write_certificate(w, "tas:Certificate", c);
        }
    });
    Ok(w.finish())
}

pub(super) async fn delete_certificate(ctx: &Ctx, req: &Element) -> OpResult {
    let cert = id(req, "CertificateID", KeystoreError::UnknownCertificate)?;
    ctx.app
        .keystore
        .delete_certificate(cert)
        .map_err(|e| fault(e, &PLAIN))?;
    tracing::warn!(
        certificate = cert,
        by = ctx.principal.log_name(),
        "certificate deleted"
    );
    Ok("<tas:DeleteCertificateResponse/>".into())
}

pub(super) async fn create_certification_path(ctx: &Ctx, req: &Element) -> OpResult {
    let Some(ids) = req.child(TAS, "CertificateIDs") else {
        return Err(SoapFault::missing_tag("CertificateIDs is required"));
    };
    let mut certificates = Vec::new();
    for c in ids.children_named(TAS, "CertificateID") {
        let v = c.text_trim();
        if !crate::keystore::is_valid_id(v) {
            return Err(fault(
                KeystoreError::UnknownCertificate(v.to_owned()),
                &PLAIN,
            ));
        }
        certificates.push(v.to_owned());
    }
    if certificates.is_empty() {
        return Err(SoapFault::missing_tag(
            "CertificateIDs names no CertificateID",
        ));
    }
    let path = ctx
        .app
        .keystore
        .create_path(&certificates, optional(req, "Alias"))
        .map_err(|e| fault(e, &PLAIN))?;
    tracing::warn!(
        path,
        ?certificates,
        by = ctx.principal.log_name(),
        "certification path made"
    );
    let mut w = XmlWriter::new();
    w.with("tas:CreateCertificationPathResponse", &[], |w| {
        w.leaf("tas:CertificationPathID", &path);
    });
    Ok(w.finish())
}

pub(super) async fn get_certification_path(ctx: &Ctx, req: &Element) -> OpResult {
    let path = id(req, "CertificationPathID", KeystoreError::UnknownPath)?;
    let p = ctx.app.keystore.path(path).map_err(|e| fault(e, &PLAIN))?;
    let mut w = XmlWriter::new();
    w.with("tas:GetCertificationPathResponse", &[], |w| {
        w.with("tas:CertificationPath", &[], |w| {
            for c in &p.certificates {
                w.leaf("tas:CertificateID", c);
            }
            if let Some(a) = &p.alias {
                w.leaf("tas:Alias", a);
            }
        });
    });
    Ok(w.finish())
}

fn path_ids(tag: &str, ids: &[String]) -> String {
    let mut w = XmlWriter::new();
    w.with(tag, &[], |w| {
        for p in ids {
            w.leaf("tas:CertificationPathID", p);
        }
    });
    w.finish()
}

pub(super) async fn get_all_certification_paths(ctx: &Ctx, _req: &Element) -> OpResult {
    let ids: Vec<String> = ctx.app.keystore.paths().into_iter().map(|p| p.id).collect();
    Ok(path_ids("tas:GetAllCertificationPathsResponse", &ids))
}

pub(super) async fn delete_certification_path(ctx: &Ctx, req: &Element) -> OpResult {
    let path = id(req, "CertificationPathID", KeystoreError::UnknownPath)?;
    ctx.app
        .keystore
        .delete_path(path)
        .map_err(|e| fault(e, &PLAIN))?;
    tracing::warn!(
        path,
        by = ctx.principal.log_name(),
        "certification path deleted"
    );
    Ok("<tas:DeleteCertificationPathResponse/>".into())
}

pub(super) async fn add_server_certificate_assignment(ctx: &Ctx, req: &Element) -> OpResult {
    let path = id(req, "CertificationPathID", KeystoreError::UnknownPath)?;
    ctx.app
        .keystore
        .add_server_path(path)
        .map_err(|e| fault(e, &PLAIN))?;
    tracing::warn!(
        path,
        by = ctx.principal.log_name(),
        "certification path assigned to the TLS server"
    );
    Ok("<tas:AddServerCertificateAssignmentResponse/>".into())
}

pub(super) async fn remove_server_certificate_assignment(ctx: &Ctx, req: &Element) -> OpResult {
    let path = id(req, "CertificationPathID", KeystoreError::NotAssigned)?;
    ctx.app
        .keystore
        .remove_server_path(path)
        .map_err(|e| match e {
            // Here the unknown path is one "not associated with the TLS server".
            KeystoreError::UnknownPath(p) => fault(KeystoreError::NotAssigned(p), &PLAIN),
            e => fault(e, &PLAIN),
        })?;
    tracing::warn!(
        path,
        by = ctx.principal.log_name(),
        "certification path no longer assigned to the TLS server"
    );
    Ok("<tas:RemoveServerCertificateAssignmentResponse/>".into())
}

pub(super) async fn replace_server_certificate_assignment(ctx: &Ctx, req: &Element) -> OpResult {
    let old = id(req, "OldCertificationPathID", KeystoreError::NotAssigned)?;
    let new = id(
        req,
        "NewCertificationPathID",
        KeystoreError::AlreadyAssigned,
    )?;
    ctx.app
        .keystore
        .replace_server_path(old, new)
        .map_err(|e| match e {
            KeystoreError::UnknownPath(p) if p == old => {
                fault(KeystoreError::NotAssigned(p), &PLAIN)
            }
            KeystoreError::UnknownPath(p) => fault(KeystoreError::AlreadyAssigned(p), &PLAIN),
            e => fault(e, &PLAIN),
        })?;
    tracing::warn!(
        old,
        new,
        by = ctx.principal.log_name(),
        "the TLS server's certification path replaced"
    );
    Ok("<tas:ReplaceServerCertificateAssignmentResponse/>".into())
}

pub(super) async fn get_assigned_server_certificates(ctx: &Ctx, _req: &Element) -> OpResult {
    Ok(path_ids(
        "tas:GetAssignedServerCertificatesResponse",
        &ctx.app.keystore.server_paths(),
    ))
}
