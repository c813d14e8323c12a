//! ECDSA P-256 with SHA-256 for rustls-webpki, on RustCrypto's `p256`, and the leaf's key.

use crate::der::{self, BIT_STRING, SEQUENCE, VERSION};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use rustls_pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};

/// The one signature algorithm the verifier accepts on a certificate path.
pub(super) static ECDSA_P256_SHA256: EcdsaP256Sha256 = EcdsaP256Sha256;

/// `ecdsa-with-SHA256` by a key on the P-256 curve.
#[derive(Debug)]
pub(super) struct EcdsaP256Sha256;

impl SignatureVerificationAlgorithm for EcdsaP256Sha256 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature = Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P256
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA256
    }
}

/// The P-256 key of a certificate: `None` when the certificate is not DER or its key is not
/// a point on P-256.
///
/// Walks `Certificate → tbsCertificate → subjectPublicKeyInfo → subjectPublicKey` without
/// decoding anything else (RFC 5280, section 4.1).
pub(super) fn leaf_key(certificate: &[u8]) -> Option<VerifyingKey> {
    let (certificate, _) = der::element(certificate, SEQUENCE)?;
    let (tbs, _) = der::element(certificate, SEQUENCE)?;

    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = der::any(rest)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = der::any(rest)?.2;
    }

    let (spki, _) = der::element(rest, SEQUENCE)?;
    let (_algorithm, rest) = der::element(spki, SEQUENCE)?;
    let (bits, _) = der::element(rest, BIT_STRING)?;
    match bits.split_first() {
        // No unused bits: the key is whole bytes.
        Some((0, point)) => VerifyingKey::from_sec1_bytes(point).ok(),
        _ => None,
    }
}
