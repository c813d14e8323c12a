//! What to ask, whom to ask, and how hard to try.

use core::fmt;
use core::net::SocketAddr;

use mqttcert_core::SecretKey;
use mqttcert_core::check::Policy;

/// One device's check of its own certificate.
///
/// Everything is borrowed, so a firmware can keep the strings in flash and the key in a static.
/// No field is ever logged except the host, the instance id and the serial, and `Debug` shows
/// neither the key nor the token.
pub struct Config<'a> {
    /// The API's host name: sent as TLS SNI, matched against the server certificate and signed
    /// in the `Host` header (with `:port` when the port is not 443). It must be a DNS name, as
    /// the verifier matches DNS names only.
    pub host: &'a str,
    /// Where to connect: the API's address and port (the host name is not resolved here).
    pub addr: SocketAddr,
    /// The region of the instance, such as `ap-guangzhou`.
    pub region: &'a str,
    /// The TDMQ for MQTT instance, such as `mqtt-jbgwp4ae`.
    pub instance_id: &'a str,
    /// The serial number of the device's certificate, in hex (see
    /// [`crate::serial::from_der`] to read it from the certificate itself).
    pub serial: &'a str,
    /// The `SecretId` of the API key.
    pub secret_id: &'a str,
    /// The `SecretKey`; it never leaves [`SecretKey`], which prints as `<redacted>`.
    pub secret_key: &'a SecretKey,
    /// The session token of a temporary key.
    pub token: Option<&'a str>,
    /// The pinned CA certificate in DER: the last certificate the server sends, or its issuer
    /// (see [`crate::pem::to_der`] for PEM text).
    pub ca_der: &'a [u8],
    /// When a certificate counts as expiring.
    pub policy: Policy,
    /// How many attempts, how far apart, and how long each may take.
    pub retry: Retry,
}

impl fmt::Debug for Config<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("addr", &self.addr)
            .field("region", &self.region)
            .field("instance_id", &self.instance_id)
            .field("serial", &self.serial)
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("token", &self.token.map(|_| "<redacted>"))
            .field("ca_der", &format_args!("{} bytes", self.ca_der.len()))
            .field("policy", &self.policy)
            .field("retry", &self.retry)
            .finish()
    }
}

/// The bounds of [`crate::Checker::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Retry {
    /// Attempts in all, the first included; at least one is always made. A re-signed request
    /// after a clock correction does not count.
    pub attempts: u8,
    /// The wait before the second attempt; it doubles with each failure.
    pub first_backoff_ms: u32,
    /// The longest wait between two attempts.
    pub max_backoff_ms: u32,
    /// The longest one attempt may take, from connecting to the end of the reply.
    pub attempt_timeout_ms: u32,
}

impl Retry {
    /// The wait after failed attempt number `failed` (1-based): exponential up to the bound,
    /// then scaled into its upper half by `jitter` (0..=255) so that devices restarted together
    /// do not retry together.
    pub fn backoff_ms(&self, failed: u8, jitter: u8) -> u32 {
        let shift = u32::from(failed.saturating_sub(1)).min(31);
        let full = self
            .first_backoff_ms
            .saturating_mul(1 << shift)
            .min(self.max_backoff_ms);
        let half = full / 2;
        half + (u64::from(full - half) * u64::from(jitter) / 255) as u32
    }
}

/// Four attempts, 2 s to 60 s apart, 30 s each.
impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff_ms: 2_000,
            max_backoff_ms: 60_000,
            attempt_timeout_ms: 30_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_bound() {
        let retry = Retry {
            attempts: 8,
            first_backoff_ms: 1_000,
            max_backoff_ms: 5_000,
            attempt_timeout_ms: 1_000,
        };
        let top: [u32; 5] = core::array::from_fn(|i| retry.backoff_ms(i as u8 + 1, 255));
        assert_eq!(top, [1_000, 2_000, 4_000, 5_000, 5_000]);
        assert_eq!(retry.backoff_ms(2, 0), 1_000);
        assert_eq!(retry.backoff_ms(200, 0), 2_500);
        assert_eq!(retry.backoff_ms(0, 255), 1_000);
    }
}
