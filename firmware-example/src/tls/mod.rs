//! TLS 1.3 to the API, verified against one pinned CA certificate.
//!
//! embedded-tls offers a single cipher suite per connection; this crate offers
//! `TLS_AES_128_GCM_SHA256`, which every TLS 1.3 server must support, with a P-256 key share.
//! The server is verified by [`PinnedVerifier`]: rustls-webpki builds the path from the leaf
//! through the certificates the server sends to the pinned CA, then the leaf's key must have
//! signed the handshake. There is no code path that skips verification.

mod ecdsa;
mod verifier;

pub use verifier::{MAX_INTERMEDIATES, PinnedVerifier, Refused};

use embedded_tls::{Aes128GcmSha256, CryptoProvider, CryptoRngCore, TlsError, TlsVerifier};

/// The crypto provider for embedded-tls: the board's RNG and a verifier pinned to one CA.
pub(crate) struct PinnedCa<'a, R> {
    rng: &'a mut R,
    verifier: PinnedVerifier<'a>,
}

impl<'a, R: CryptoRngCore> PinnedCa<'a, R> {
    /// Uses `rng` for the key exchange and `verifier` for the server.
    pub(crate) fn new(rng: &'a mut R, verifier: PinnedVerifier<'a>) -> Self {
        Self { rng, verifier }
    }
}

impl<R: CryptoRngCore> CryptoProvider for PinnedCa<'_, R> {
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
