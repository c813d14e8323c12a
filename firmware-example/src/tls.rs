//! TLS 1.3 to the API, verified against one pinned CA certificate.
//!
//! embedded-tls offers a single cipher suite per connection; this crate offers
//! `TLS_AES_128_GCM_SHA256`, which every TLS 1.3 server must support, with a P-256 key share.
//! The server's chain is verified by embedded-tls's `rustpki` verifier: ECDSA P-256 signatures
//! up to the pinned certificate, the validity window against [`Clock::Validity`], and the host
//! name against the first few DNS names of the leaf's subject alternative names. There is no
//! code path that skips verification.

use crate::platform::Clock;
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CryptoProvider, CryptoRngCore, TlsError, TlsVerifier,
};

/// Bytes kept of the server's certificate chain while the handshake verifies it. A P-256 leaf
/// and one intermediate take about 1.2 KB; the chain is refused (`OutOfMemory`) when larger.
pub const CERT_CHAIN_CAPACITY: usize = 4096;

/// The crypto provider for embedded-tls: the board's RNG and a verifier pinned to one CA.
pub(crate) struct PinnedCa<'a, R, C: Clock> {
    rng: &'a mut R,
    verifier: CertVerifier<'a, Aes128GcmSha256, C::Validity, CERT_CHAIN_CAPACITY>,
}

impl<'a, R: CryptoRngCore, C: Clock> PinnedCa<'a, R, C> {
    /// Trusts the certificate `ca_der` (DER): the last certificate the server sends, or its
    /// issuer.
    pub(crate) fn new(rng: &'a mut R, ca_der: &'a [u8]) -> Self {
        Self {
            rng,
            verifier: CertVerifier::new(Certificate::X509(ca_der)),
        }
    }
}

impl<R: CryptoRngCore, C: Clock> CryptoProvider for PinnedCa<'_, R, C> {
    type CipherSuite = Aes128GcmSha256;
    // No client certificate: the request is authenticated by its TC3 signature instead.
    type Signature = &'static [u8];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut *self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Self::CipherSuite>, TlsError> {
        Ok(&mut self.verifier)
    }
}
