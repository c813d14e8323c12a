//! The server's certificate, checked in place against the pinned CA.

use core::time::Duration;

use embedded_tls::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, Sha256,
    SignatureScheme, TlsError, TlsVerifier,
};
use heapless::Vec;
use p256::ecdsa::VerifyingKey;
use p256::ecdsa::signature::Verifier as _;
use rustls_pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, UnixTime};
use sha2::Digest as _;
use webpki::{EndEntityCert, KeyUsage};

use super::ecdsa::{self, ECDSA_P256_SHA256};

/// Most certificates the server may send between its own and the pinned CA. Public chains
/// have one or two; more is refused (`InvalidCertificate`).
pub const MAX_INTERMEDIATES: usize = 4;

/// What TLS 1.3 signs in a server's `CertificateVerify`, before the transcript hash: 64
/// spaces, then this context string and a zero byte (RFC 8446, section 4.4.3).
const VERIFY_CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify\0";

/// Verifies the server for embedded-tls: its certificate chain against one pinned CA, its
/// name, and its signature of the handshake.
///
/// The chain is read where embedded-tls received it; nothing of it is copied. The path is
/// built and checked by rustls-webpki: ECDSA P-256 with SHA-256 signatures, every
/// certificate within its validity window at the given time, CA and path-length constraints,
/// name constraints, the server-authentication key purpose, and the host name against the
/// leaf's subject alternative names (DNS names or IP addresses; the common name is not
/// read). Of the leaf, only its public key is kept for the handshake signature that follows.
pub struct PinnedVerifier<'a> {
    ca_der: &'a [u8],
    host: &'a str,
    now: UnixTime,
    /// The leaf's key and the transcript up to the certificate, once the chain is verified.
    verified: Option<(VerifyingKey, Sha256)>,
}

impl<'a> PinnedVerifier<'a> {
    /// Trusts the CA certificate `ca_der` (DER) for the server `host`, with `now_secs` (Unix
    /// seconds) as the time the certificates must be valid at.
    pub fn new(ca_der: &'a [u8], host: &'a str, now_secs: u64) -> Self {
        Self {
            ca_der,
            host,
            now: UnixTime::since_unix_epoch(Duration::from_secs(now_secs)),
            verified: None,
        }
    }

    /// Verifies the chain of DER certificates `leaf`, then `intermediates`, and returns the
    /// leaf's P-256 key.
    ///
    /// # Errors
    ///
    /// Why the chain is refused; logged at error level too.
    pub fn verify_chain(
        &self,
        leaf: &[u8],
        intermediates: &[CertificateDer<'_>],
    ) -> Result<VerifyingKey, Refused> {
        let ca = CertificateDer::from(self.ca_der);
        let anchor = webpki::anchor_from_trusted_cert(&ca).map_err(|_| Refused::PinnedCa)?;
        let leaf_der = CertificateDer::from(leaf);
        let end_entity = EndEntityCert::try_from(&leaf_der).map_err(Refused::from)?;
        let algorithms: [&dyn SignatureVerificationAlgorithm; 1] = [&ECDSA_P256_SHA256];

        end_entity
            .verify_for_usage(
                &algorithms,
                &[anchor],
                intermediates,
                self.now,
                KeyUsage::server_auth(),
                None,
                None,
            )
            .map_err(Refused::from)?;

        let name = ServerName::try_from(self.host).map_err(|_| Refused::Name)?;
        end_entity
            .verify_is_valid_for_subject_name(&name)
            .map_err(Refused::from)?;

        ecdsa::leaf_key(leaf).ok_or(Refused::Algorithm)
    }
}

impl TlsVerifier<Aes128GcmSha256> for PinnedVerifier<'_> {
    /// embedded-tls passes the server name of its configuration; it must be the one this
    /// verifier was made for.
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        if hostname == self.host {
            Ok(())
        } else {
            Err(TlsError::InvalidCertificate)
        }
    }

    fn verify_certificate(
        &mut self,
        transcript: &Sha256,
        chain: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        self.verified = None;

        let mut entries = chain.entries.iter().map(|entry| match entry {
            CertificateEntryRef::X509(der) => Ok(*der),
            CertificateEntryRef::RawPublicKey(_) => Err(TlsError::InvalidCertificate),
        });
        let leaf = entries.next().ok_or(TlsError::InvalidCertificate)??;
        let mut intermediates: Vec<CertificateDer<'_>, MAX_INTERMEDIATES> = Vec::new();
        for der in entries {
            intermediates
                .push(CertificateDer::from(der?))
                .map_err(|_| TlsError::InvalidCertificate)?;
        }

        match self.verify_chain(leaf, &intermediates) {
            Ok(key) => {
                debug!("the server's certificate chains to the pinned CA");
                self.verified = Some((key, transcript.clone()));
                Ok(())
            }
            Err(refused) => {
                error!("the server's certificate is refused: {}", refused.as_str());
                Err(TlsError::InvalidCertificate)
            }
        }
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        // A CertificateVerify without a verified Certificate before it is a protocol error.
        let (key, transcript) = self.verified.take().ok_or(TlsError::InvalidCertificate)?;
        if verify.signature_scheme != SignatureScheme::EcdsaSecp256r1Sha256 {
            error!("the server signed the handshake with another scheme than ECDSA P-256");
            return Err(TlsError::InvalidSignatureScheme);
        }

        let mut message = [0x20; 64 + VERIFY_CONTEXT.len() + 32];
        message[64..64 + VERIFY_CONTEXT.len()].copy_from_slice(VERIFY_CONTEXT);
        message[64 + VERIFY_CONTEXT.len()..].copy_from_slice(&transcript.finalize());

        let signature = p256::ecdsa::Signature::from_der(verify.signature)
            .map_err(|_| TlsError::InvalidSignature)?;
        key.verify(&message, &signature)
            .map_err(|_| TlsError::InvalidSignature)
    }
}

/// Why a server certificate was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Refused {
    /// The pinned certificate itself could not be read as a trust anchor.
    PinnedCa,
    /// A certificate is not well-formed DER X.509 v3.
    Malformed,
    /// No path from the leaf to the pinned CA: signed by another CA, or a link is missing.
    UnknownIssuer,
    /// A signature on the path does not verify.
    BadSignature,
    /// A key or signature of another algorithm than ECDSA P-256 with SHA-256.
    Algorithm,
    /// A certificate on the path has expired at the verifier's time.
    Expired,
    /// A certificate on the path is not valid yet at the verifier's time.
    NotValidYet,
    /// The leaf names other hosts than the one asked for, or the host is not a valid name.
    Name,
    /// The leaf is not for server authentication, or an issuer is not a CA or exceeds its
    /// path length or name constraints.
    Usage,
    /// Any other reason rustls-webpki gives.
    Other,
}

impl Refused {
    /// A short explanation for a log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::PinnedCa => "the pinned CA certificate cannot be read",
            Refused::Malformed => "a certificate is malformed",
            Refused::UnknownIssuer => "not issued under the pinned CA",
            Refused::BadSignature => "a signature on the chain does not verify",
            Refused::Algorithm => "a key or signature is not ECDSA P-256 with SHA-256",
            Refused::Expired => "a certificate on the chain has expired",
            Refused::NotValidYet => "a certificate on the chain is not valid yet",
            Refused::Name => "issued for another host name",
            Refused::Usage => "not a server certificate, or an issuer is not allowed to issue it",
            Refused::Other => "refused by the path validation",
        }
    }
}

impl From<webpki::Error> for Refused {
    fn from(err: webpki::Error) -> Self {
        use webpki::Error as E;
        match err {
            E::BadDer
            | E::BadDerTime
            | E::TrailingData(_)
            | E::UnsupportedCertVersion
            | E::InvalidCertValidity
            | E::MalformedExtensions
            | E::InvalidSerialNumber => Refused::Malformed,
            E::UnknownIssuer => Refused::UnknownIssuer,
            E::InvalidSignatureForPublicKey => Refused::BadSignature,
            E::SignatureAlgorithmMismatch
            | E::UnsupportedSignatureAlgorithmContext(_)
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => Refused::Algorithm,
            E::CertExpired { .. } => Refused::Expired,
            E::CertNotValidYet { .. } => Refused::NotValidYet,
            E::CertNotValidForName(_) | E::MalformedDnsIdentifier => Refused::Name,
            E::CaUsedAsEndEntity
            | E::EndEntityUsedAsCa
            | E::EmptyEkuExtension
            | E::NameConstraintViolation
            | E::PathLenConstraintViolated
            | E::RequiredEkuNotFoundContext(_) => Refused::Usage,
            _ => Refused::Other,
        }
    }
}

impl core::fmt::Display for Refused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
