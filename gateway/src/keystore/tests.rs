//! The keystore's rules, without SOAP.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use x509_parser::prelude::FromDer as _;

use super::*;

fn cn(name: &str) -> Request {
    Request {
        subject: vec![("2.5.4.3".into(), name.into())],
        ..Request::default()
    }
}

fn store(dir: &Path) -> Arc<Keystore> {
    Arc::new(
        Keystore::open_with(
            dir,
            Limits {
                keys: 4,
                certificates: 4,
                paths: 2,
                server_paths: 1,
            },
        )
        .unwrap(),
    )
}

async fn made_key(ks: &Arc<Keystore>) -> String {
    let id = ks
        .create_key(None, || crypto::make_ecc("secp256r1"))
        .unwrap();
    for _ in 0..200 {
        if ks.key_status(&id).unwrap() == KeyStatus::Ok {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("key {id} not made");
}

/// A test CA's certificate for `csr`'s key, and the CA's own certificate.
fn sign(csr_key_spki: &[u8], subject: &str) -> (Vec<u8>, Vec<u8>) {
    let ca_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "test CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_pair).unwrap();
    let issuer = rcgen::Issuer::new(ca, &ca_pair);
    let public = rcgen::SubjectPublicKeyInfo::from_der(csr_key_spki).unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["gw".to_string()]).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let cert = leaf.signed_by(&public, &issuer).unwrap();
    (cert.der().to_vec(), ca_cert.der().to_vec())
}

fn spki_of(ks: &Keystore, key: &str) -> Vec<u8> {
    find_key(&ks.state.lock(), key).unwrap().spki.clone()
}

#[tokio::test]
async fn keys_are_made_in_the_background_and_counted_against_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let ks = store(dir.path());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    ks.on_key_status(Box::new(move |k, old, new| {
        log.lock().push((k.to_owned(), old, new))
    }));
    let slow = ks
        .create_key(Some("slow".into()), || {
            std::thread::sleep(Duration::from_millis(200));
            crypto::make_ecc("secp256r1")
        })
        .unwrap();
    assert_eq!(ks.key_status(&slow).unwrap(), KeyStatus::Generating);
    assert!(matches!(
        ks.csr(&slow, &cn("x")),
        Err(KeystoreError::KeyNotReady(..))
    ));
    let a = made_key(&ks).await;
    assert_eq!(
        seen.lock()[1..],
        [
            (a.clone(), None, KeyStatus::Generating),
            (a.clone(), Some(KeyStatus::Generating), KeyStatus::Ok)
        ]
    );
    let b = made_key(&ks).await;
    let _c = made_key(&ks).await;
    // Four with the one being made: the fifth is refused.
    assert!(matches!(
        ks.create_key(None, || crypto::make_ecc("secp256r1")),
        Err(KeystoreError::Full(Limit::Keys, 4))
    ));
    assert!(matches!(
        ks.key_status("key-nope"),
        Err(KeystoreError::UnknownKey(_))
    ));
    // Deleting a key being made gives it up.
    ks.delete_key(&slow).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(ks.keys().iter().all(|k| k.id != slow));
    assert_eq!(ks.keys().len(), 3);
    ks.delete_key(&a).unwrap();
    assert!(ks.keys().iter().all(|k| k.id != a));
    let view = ks.key(&b).unwrap();
    assert!(view.has_private_key && !view.external && view.status == KeyStatus::Ok);

    // The file is private, holds what was made, and reads back.
    let file = dir.path().join("keystore/keystore.json");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(file.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let again = store(dir.path());
    assert_eq!(again.keys(), ks.keys());
    // No private key in any Debug or view.
    let pkcs8 = find_key(&ks.state.lock(), &b)
        .unwrap()
        .pkcs8
        .clone()
        .unwrap();
    let shown = format!("{ks:?} {:?}", ks.keys());
    assert!(!shown.contains(&format!("{pkcs8:?}")));
}

#[tokio::test]
async fn a_csr_signed_by_a_ca_becomes_the_servers_certificate_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let ks = store(dir.path());
    let first = made_key(&ks).await;
    let self_signed = ks.self_signed(&first, &cn("gw"), None, None).unwrap();
    let p1 = ks
        .create_path(std::slice::from_ref(&self_signed), None)
        .unwrap();
    ks.add_server_path(&p1).unwrap();
    ks.add_server_path(&p1).unwrap(); // again: no effect
    assert_eq!(ks.server_paths(), vec![p1.clone()]);

    let key = made_key(&ks).await;
    let csr = ks.csr(&key, &cn("gw.example")).unwrap();
    assert!(x509_parser::certification_request::X509CertificationRequest::from_der(&csr).is_ok());
    let (leaf, ca) = sign(&spki_of(&ks, &key), "gw.example");
    // Uploaded without a private key for it: a public-only key is added.
    let (ca_id, ca_key) = ks
        .upload_certificate(&ca, None, Some("ca".into()), false, None)
        .unwrap();
    assert!(!ks.key(&ca_key).unwrap().has_private_key);
    assert!(matches!(
        ks.upload_certificate(&ca, None, None, false, None),
        Err(KeystoreError::Duplicate(id)) if id == ca_id
    ));
    let (leaf_id, leaf_key) = ks
        .upload_certificate(&leaf, None, None, true, None)
        .unwrap();
    assert_eq!(leaf_key, key);
    // Certificates the wrong way round are not a path; nothing is made.
    assert!(matches!(
        ks.create_path(&[ca_id.clone(), leaf_id.clone()], None),
        Err(KeystoreError::NotAPath(_))
    ));
    assert!(matches!(
        ks.create_path(&["cert-nope".into()], None),
        Err(KeystoreError::UnknownCertificate(_))
    ));
    let p2 = ks
        .create_path(&[leaf_id.clone(), ca_id.clone()], None)
        .unwrap();
    assert!(matches!(
        ks.create_path(std::slice::from_ref(&ca_id), None),
        Err(KeystoreError::Full(Limit::Paths, 2))
    ));
    // The CA's path cannot serve: no private key.
    assert!(matches!(
        ks.add_server_path(&p2),
        Err(KeystoreError::Full(Limit::ServerPaths, 1))
    ));
    ks.replace_server_path(&p1, &p2).unwrap();
    assert_eq!(ks.server_paths(), vec![p2.clone()]);
    let (chain, _) = server_identity(&ks.state.lock()).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].as_ref(), leaf.as_slice());
    // Referential integrity: nothing in use goes.
    assert!(matches!(ks.delete_path(&p2), Err(KeystoreError::InUse(..))));
    assert!(matches!(
        ks.delete_certificate(&leaf_id),
        Err(KeystoreError::InUse(..))
    ));
    assert!(matches!(ks.delete_key(&key), Err(KeystoreError::InUse(..))));
    assert!(matches!(
        ks.replace_server_path(&p1, &p2),
        Err(KeystoreError::NotAssigned(_))
    ));
    ks.delete_path(&p1).unwrap();
    ks.delete_certificate(&self_signed).unwrap();
    ks.delete_key(&first).unwrap();
    // Not serving HTTPS, the assignment may be removed.
    ks.remove_server_path(&p2).unwrap();
    assert!(ks.server_paths().is_empty());
    assert!(matches!(
        ks.remove_server_path(&p2),
        Err(KeystoreError::NotAssigned(_))
    ));
}

#[tokio::test]
async fn uploads_that_do_not_fit_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ks = store(dir.path());
    let before = std::fs::read(dir.path().join("keystore/keystore.json")).ok();
    assert!(matches!(
        ks.upload_certificate(b"not DER", None, None, false, None),
        Err(KeystoreError::Crypto(CryptoError::Malformed(_)))
    ));
    assert!(matches!(
        ks.upload_key_pair(b"not PKCS8", None),
        Err(KeystoreError::Crypto(CryptoError::Malformed(_)))
    ));
    let stranger = crypto::make_ecc("secp256r1").unwrap();
    let (leaf, _) = sign(&stranger.spki, "x");
    assert!(matches!(
        ks.upload_certificate(&leaf, None, None, true, None),
        Err(KeystoreError::NoMatchingPrivateKey)
    ));
    assert_eq!(
        std::fs::read(dir.path().join("keystore/keystore.json")).ok(),
        before
    );
    assert!(ks.keys().is_empty() && ks.certificates().is_empty());
    // The key pair uploaded after its certificate joins the public key already there.
    let (_, public_only) = ks
        .upload_certificate(&leaf, None, None, false, None)
        .unwrap();
    assert_eq!(
        ks.upload_key_pair(&stranger.pkcs8, None).unwrap(),
        public_only
    );
    assert!(ks.key(&public_only).unwrap().has_private_key);
    // Client certificates cannot be required without a CA certificate.
    assert!(matches!(
        ks.set_client_certificates_required(true),
        Err(KeystoreError::InUse(..))
    ));
    assert!(!ks.client_certificates_required());
}

#[tokio::test]
async fn the_first_start_with_https_makes_and_assigns_a_device_certificate_once() {
    let dir = tempfile::tempdir().unwrap();
    let ks = store(dir.path());
    let names = crate::tls::certificate_names("gw", &[]);
    let _tls = ks.serve_tls(&names).unwrap();
    let paths = ks.server_paths();
    assert_eq!(paths.len(), 1);
    let leaf = ks
        .certificate(&ks.path(&paths[0]).unwrap().certificates[0])
        .unwrap();
    let info = crypto::read_certificate(&leaf.der).unwrap();
    assert_eq!(info.subject, "CN=gw");
    let pem = std::fs::read(ks.presented_file()).unwrap();
    let published = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(published.as_ref(), leaf.der.as_slice());
    // Serving HTTPS, the assignment stays until replaced.
    assert!(matches!(
        ks.remove_server_path(&paths[0]),
        Err(KeystoreError::InUse(..))
    ));
    let again = store(dir.path());
    again.serve_tls(&names).unwrap();
    assert_eq!(again.server_paths(), paths, "kept, not remade");
    assert_eq!(again.certificates().len(), 1);
}

#[tokio::test]
async fn an_earlier_versions_certificate_is_taken_over_and_its_key_file_removed() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["old".into()]).unwrap();
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/device.crt"), made.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("tls/device.key"),
        made.signing_key.serialize_pem(),
    )
    .unwrap();
    let ks = store(dir.path());
    ks.serve_tls(&["new".into()]).unwrap();
    let path = ks.path(&ks.server_paths()[0]).unwrap();
    let leaf = ks.certificate(&path.certificates[0]).unwrap();
    assert_eq!(leaf.der, made.cert.der().to_vec());
    assert!(leaf.has_private_key);
    assert!(!dir.path().join("tls/device.key").exists());
}
