//! A test certification authority for the keystore's life-cycle test (made with rcgen).
//!
//! `railgate-test-ca <dir> <request.der>` signs the PKCS#10 request with a fresh CA and
//! writes, in `<dir>`: `ca.der` (the CA's certificate), `leaf.der` (the request's
//! certificate, signed by the CA, for the subject and extensions the request carries),
//! `other-ca.der` (a second CA with the same name and another key: not the leaf's issuer)
//! and `client.pem` + `client-key.pem` (a TLS client certificate the CA issued, for the
//! client certificate mode).

use std::path::PathBuf;

use anyhow::Context as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::CertificateSigningRequestDer;

fn ca() -> anyhow::Result<(CertificateParams, KeyPair, Vec<u8>)> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "railgate test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let der = params.self_signed(&key)?.der().to_vec();
    Ok((params, key, der))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(request)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: railgate-test-ca <dir> <request.der>");
    };
    let dir = PathBuf::from(dir);
    let csr = std::fs::read(&request).with_context(|| request.clone())?;
    let csr =
        rcgen::CertificateSigningRequestParams::from_der(&CertificateSigningRequestDer::from(csr))
            .context("the request does not verify")?;
    let (params, key, der) = ca()?;
    std::fs::write(dir.join("ca.der"), &der)?;
    let issuer = Issuer::new(params, &key);
    std::fs::write(dir.join("leaf.der"), csr.signed_by(&issuer)?.der())?;
    let client_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut client = CertificateParams::new(Vec::<String>::new())?;
    client.distinguished_name.push(DnType::CommonName, "vms");
    client
        .extended_key_usages
        .push(rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    std::fs::write(
        dir.join("client.pem"),
        client.signed_by(&client_key, &issuer)?.pem(),
    )?;
    std::fs::write(dir.join("client-key.pem"), client_key.serialize_pem())?;
    let (_, _, other) = ca()?;
    std::fs::write(dir.join("other-ca.der"), other)?;
    Ok(())
}
