//! ECDSA P-256 with SHA-256 for rustls-webpki, on RustCrypto's `p256`, and the leaf's key.

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

/// DER tags met on the way to a certificate's key.
const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const VERSION: u8 = 0xa0;

/// The P-256 key of a certificate: `None` when the certificate is not DER or its key is not
/// a point on P-256.
///
/// Walks `Certificate → tbsCertificate → subjectPublicKeyInfo → subjectPublicKey` without
/// decoding anything else (RFC 5280, section 4.1).
pub(super) fn leaf_key(certificate: &[u8]) -> Option<VerifyingKey> {
    let (certificate, _) = expect(SEQUENCE, certificate)?;
    let (tbs, _) = expect(SEQUENCE, certificate)?;

    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = tlv(rest)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = tlv(rest)?.2;
    }

    let (spki, _) = expect(SEQUENCE, rest)?;
    let (_algorithm, rest) = expect(SEQUENCE, spki)?;
    let (bits, _) = expect(BIT_STRING, rest)?;
    match bits.split_first() {
        // No unused bits: the key is whole bytes.
        Some((0, point)) => VerifyingKey::from_sec1_bytes(point).ok(),
        _ => None,
    }
}

/// The contents of the element at the start of `input` if its tag is `tag`, and what follows.
fn expect(tag: u8, input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = tlv(input)?;
    (found == tag).then_some((contents, rest))
}

/// Splits the DER element at the start of `input` into its tag, contents and what follows.
/// Lengths of up to three bytes are read; a certificate is far smaller.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;

    let len = match first {
        0..=0x7f => usize::from(first),
        0x81..=0x83 => {
            let (bytes, after) = rest.split_at_checked(usize::from(first & 0x7f))?;
            rest = after;
            bytes.iter().fold(0, |len, &b| (len << 8) | usize::from(b))
        }
        _ => return None,
    };

    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

#[cfg(test)]
mod tests {
    use super::tlv;

    #[test]
    fn short_and_long_lengths() {
        assert_eq!(
            tlv(&[0x02, 0x01, 0x05, 0xff]),
            Some((0x02, &[5][..], &[0xff][..]))
        );
        let mut long = [0u8; 3 + 200];
        long[..3].copy_from_slice(&[0x04, 0x81, 200]);
        assert_eq!(
            tlv(&long).map(|(_, c, r)| (c.len(), r.len())),
            Some((200, 0))
        );
    }

    #[test]
    fn lengths_beyond_the_input_are_refused() {
        assert_eq!(tlv(&[0x30, 0x05, 0x00]), None);
        assert_eq!(tlv(&[0x30, 0x82, 0x01]), None);
        assert_eq!(tlv(&[0x30, 0x80]), None);
        assert_eq!(tlv(&[0x30]), None);
        assert_eq!(tlv(&[]), None);
    }
}
