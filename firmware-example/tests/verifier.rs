//! The pinned-CA verifier against chains made by rcgen: what it accepts, what it refuses and
//! why, and the handshake signature it checks with the leaf's key.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use embedded_tls::{
    CertificateEntryRef, CertificateRef, CertificateVerifyRef, Sha256, SignatureScheme, TlsError,
    TlsVerifier,
};
use mqttcert_firmware::tls::{MAX_INTERMEDIATES, PinnedVerifier, Refused};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, date_time_ymd,
};
use rustls_pki_types::CertificateDer;
use sha2::Digest as _;

const HOST: &str = "api.example.test";
/// 2027-01-01T00:00:00Z: inside every validity window below unless a test says otherwise.
const NOW: u64 = 1_798_761_600;

/// A CA (or intermediate) able to issue certificates.
struct Ca {
    der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = date_time_ymd(2026, 1, 1);
    params.not_after = date_time_ymd(2036, 1, 1);
    params
}

fn root(name: &str) -> Ca {
    let params = ca_params(name);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    Ca {
        der,
        issuer: Issuer::new(params, key),
    }
}

fn intermediate(name: &str, parent: &Ca, is_ca: IsCa) -> Ca {
    let mut params = ca_params(name);
    params.is_ca = is_ca;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let der = params
        .signed_by(&key, &parent.issuer)
        .unwrap()
        .der()
        .to_vec();
    Ca {
        der,
        issuer: Issuer::new(params, key),
    }
}

/// A server certificate for `names`, valid through 2027, and its key.
fn leaf_with(
    names: &[&str],
    issuer: &Ca,
    edit: impl FnOnce(&mut CertificateParams),
) -> (Vec<u8>, KeyPair) {
    let mut params = CertificateParams::new(
        names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    params.not_before = date_time_ymd(2026, 6, 1);
    params.not_after = date_time_ymd(2027, 6, 1);
    edit(&mut params);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let der = params
        .signed_by(&key, &issuer.issuer)
        .unwrap()
        .der()
        .to_vec();
    (der, key)
}

fn leaf(issuer: &Ca) -> (Vec<u8>, KeyPair) {
    leaf_with(&[HOST], issuer, |_| {})
}

fn verify(ca: &Ca, leaf: &[u8], intermediates: &[&[u8]], now: u64) -> Result<(), Refused> {
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|der| CertificateDer::from(*der))
        .collect();
    PinnedVerifier::new(&ca.der, HOST, now)
        .verify_chain(leaf, &intermediates)
        .map(drop)
}

#[test]
fn accepts_a_leaf_issued_by_the_pinned_ca() {
    let ca = root("pinned");
    let (der, key) = leaf(&ca);

    let intermediates: [CertificateDer<'_>; 0] = [];
    let found = PinnedVerifier::new(&ca.der, HOST, NOW)
        .verify_chain(&der, &intermediates)
        .unwrap();

    let expected = p256::PublicKey::from_sec1_bytes(key.public_key_raw()).unwrap();
    assert_eq!(found, p256::ecdsa::VerifyingKey::from(expected));
}

#[test]
fn accepts_a_path_through_intermediates_and_the_ca_sent_back() {
    let ca = root("pinned");
    let middle = intermediate("middle", &ca, IsCa::Ca(BasicConstraints::Unconstrained));
    let (der, _) = leaf(&middle);

    assert_eq!(verify(&ca, &der, &[&middle.der], NOW), Ok(()));
    // Servers often send the root too; it changes nothing.
    assert_eq!(verify(&ca, &der, &[&middle.der, &ca.der], NOW), Ok(()));
}

#[test]
fn refuses_a_path_with_a_missing_link() {
    let ca = root("pinned");
    let middle = intermediate("middle", &ca, IsCa::Ca(BasicConstraints::Unconstrained));
    let (der, _) = leaf(&middle);

    assert_eq!(verify(&ca, &der, &[], NOW), Err(Refused::UnknownIssuer));
}

#[test]
fn refuses_a_leaf_of_another_ca_even_with_the_same_name() {
    let ca = root("emulator CA");
    let impostor = root("emulator CA");
    let (der, _) = leaf(&impostor);

    let refused = verify(&ca, &der, &[], NOW).unwrap_err();
    assert!(
        matches!(refused, Refused::UnknownIssuer | Refused::BadSignature),
        "{refused:?}"
    );
}

#[test]
fn refuses_another_host_name() {
    let ca = root("pinned");
    let (der, _) = leaf_with(&["other.example.test"], &ca, |_| {});
    assert_eq!(verify(&ca, &der, &[], NOW), Err(Refused::Name));

    let (wildcard, _) = leaf_with(&["*.example.test"], &ca, |_| {});
    assert_eq!(verify(&ca, &wildcard, &[], NOW), Ok(()));
}

#[test]
fn the_common_name_is_not_a_host_name() {
    let ca = root("pinned");
    let (der, _) = leaf_with(&[], &ca, |params| {
        params.distinguished_name.push(DnType::CommonName, HOST);
    });
    assert_eq!(verify(&ca, &der, &[], NOW), Err(Refused::Name));
}

#[test]
fn refuses_certificates_outside_their_validity_window() {
    let ca = root("pinned");
    let (der, _) = leaf(&ca);

    // 2026-05-31 and 2027-06-02.
    assert_eq!(
        verify(&ca, &der, &[], 1_780_185_600),
        Err(Refused::NotValidYet)
    );
    assert_eq!(verify(&ca, &der, &[], 1_811_980_800), Err(Refused::Expired));
}

#[test]
fn refuses_an_issuer_that_is_not_a_ca() {
    let ca = root("pinned");
    let not_ca = intermediate("not a CA", &ca, IsCa::ExplicitNoCa);
    let (der, _) = leaf(&not_ca);

    let refused = verify(&ca, &der, &[&not_ca.der], NOW).unwrap_err();
    assert!(
        matches!(refused, Refused::Usage | Refused::UnknownIssuer),
        "{refused:?}"
    );
}

#[test]
fn refuses_a_client_only_certificate() {
    let ca = root("pinned");
    let (der, _) = leaf_with(&[HOST], &ca, |params| {
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    });
    assert_eq!(verify(&ca, &der, &[], NOW), Err(Refused::Usage));
}

#[test]
fn refuses_keys_of_other_curves() {
    let ca = root("pinned");
    let mut params = CertificateParams::new(vec![HOST.to_owned()]).unwrap();
    params.not_before = date_time_ymd(2026, 6, 1);
    params.not_after = date_time_ymd(2027, 6, 1);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let der = params.signed_by(&key, &ca.issuer).unwrap().der().to_vec();
    assert_eq!(verify(&ca, &der, &[], NOW), Err(Refused::Algorithm));

    // A P-384 CA signs with ECDSA-SHA384, which the path does not accept.
    let p384_params = ca_params("p384");
    let p384_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let p384 = Ca {
        der: p384_params.self_signed(&p384_key).unwrap().der().to_vec(),
        issuer: Issuer::new(p384_params, p384_key),
    };
    let (der, _) = leaf(&p384);
    assert_eq!(verify(&p384, &der, &[], NOW), Err(Refused::Algorithm));
}

#[test]
fn every_truncation_and_byte_flip_is_refused_without_panic() {
    let ca = root("pinned");
    let (der, _) = leaf(&ca);

    for len in 0..der.len() {
        assert!(verify(&ca, &der[..len], &[], NOW).is_err(), "cut at {len}");
    }
    for at in 0..der.len() {
        let mut flipped = der.clone();
        flipped[at] ^= 0x01;
        assert!(verify(&ca, &flipped, &[], NOW).is_err(), "flip at {at}");
    }
}

#[test]
fn a_pin_that_is_not_a_certificate_is_reported_as_such() {
    let ca = root("pinned");
    let (der, _) = leaf(&ca);
    let broken = Ca {
        der: ca.der[..ca.der.len() / 2].to_vec(),
        issuer: ca.issuer,
    };
    assert_eq!(verify(&broken, &der, &[], NOW), Err(Refused::PinnedCa));
}

/// The Certificate message of a handshake, as embedded-tls hands it to the verifier.
fn message<'a>(chain: &[&'a [u8]]) -> CertificateRef<'a> {
    let mut message = CertificateRef::with_context(&[]);
    for der in chain {
        message.add(CertificateEntryRef::X509(der)).unwrap();
    }
    message
}

/// What the server signs in CertificateVerify over `transcript`.
fn signed_content(transcript: &Sha256) -> Vec<u8> {
    let mut content = vec![0x20; 64];
    content.extend_from_slice(b"TLS 1.3, server CertificateVerify\0");
    content.extend_from_slice(&transcript.clone().finalize());
    content
}

#[test]
fn the_handshake_must_be_signed_by_the_leaf_key() {
    let ca = root("pinned");
    let (der, key) = leaf(&ca);
    let signer = SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap();
    let mut transcript = Sha256::new();
    transcript.update(b"client hello, server hello, encrypted extensions");
    let signature: Signature = signer.sign(&signed_content(&transcript));
    let signature = signature.to_der();

    let mut verifier = PinnedVerifier::new(&ca.der, HOST, NOW);
    verifier.set_hostname_verification(HOST).unwrap();
    verifier
        .verify_certificate(&transcript, message(&[&der]))
        .unwrap();
    verifier
        .verify_signature(CertificateVerifyRef {
            signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
            signature: signature.as_bytes(),
        })
        .unwrap();

    // The same signature over another transcript.
    let mut other = Sha256::new();
    other.update(b"client hello, server hello, encrypted extension!");
    verifier
        .verify_certificate(&other, message(&[&der]))
        .unwrap();
    assert!(matches!(
        verifier.verify_signature(CertificateVerifyRef {
            signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
            signature: signature.as_bytes(),
        }),
        Err(TlsError::InvalidSignature)
    ));

    // Another scheme.
    verifier
        .verify_certificate(&transcript, message(&[&der]))
        .unwrap();
    assert!(matches!(
        verifier.verify_signature(CertificateVerifyRef {
            signature_scheme: SignatureScheme::RsaPssRsaeSha256,
            signature: signature.as_bytes(),
        }),
        Err(TlsError::InvalidSignatureScheme)
    ));

    // A signature with nothing verified before it.
    assert!(
        verifier
            .verify_signature(CertificateVerifyRef {
                signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
                signature: signature.as_bytes(),
            })
            .is_err()
    );
}

#[test]
fn a_refused_chain_leaves_nothing_to_sign_against() {
    let ca = root("pinned");
    let impostor = root("pinned");
    let (der, key) = leaf(&impostor);
    let signer = SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap();
    let transcript = Sha256::new();
    let signature: Signature = signer.sign(&signed_content(&transcript));

    let mut verifier = PinnedVerifier::new(&ca.der, HOST, NOW);
    assert!(matches!(
        verifier.verify_certificate(&transcript, message(&[&der])),
        Err(TlsError::InvalidCertificate)
    ));
    assert!(
        verifier
            .verify_signature(CertificateVerifyRef {
                signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
                signature: signature.to_der().as_bytes(),
            })
            .is_err()
    );
}

#[test]
fn refuses_an_empty_or_overlong_chain_and_another_host() {
    let ca = root("pinned");
    let middle = intermediate("middle", &ca, IsCa::Ca(BasicConstraints::Unconstrained));
    let (der, _) = leaf(&middle);
    let transcript = Sha256::new();
    let mut verifier = PinnedVerifier::new(&ca.der, HOST, NOW);

    assert!(matches!(
        verifier.verify_certificate(&transcript, message(&[])),
        Err(TlsError::InvalidCertificate)
    ));

    let mut long: Vec<&[u8]> = vec![&der];
    long.extend(std::iter::repeat_n(
        middle.der.as_slice(),
        MAX_INTERMEDIATES,
    ));
    verifier
        .verify_certificate(&transcript, message(&long))
        .unwrap();
    long.push(&middle.der);
    assert!(matches!(
        verifier.verify_certificate(&transcript, message(&long)),
        Err(TlsError::InvalidCertificate)
    ));

    assert!(
        verifier
            .set_hostname_verification("other.example.test")
            .is_err()
    );
}
