//! PEM text to DER bytes, without a heap, for a CA certificate kept as text.
//!
//! Plain `core`, nothing else: the build script decodes the configured certificates with this
//! same module (its `defmt::Format` is implemented in the crate root).

use core::fmt;

/// Why PEM text could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PemError {
    /// No `-----BEGIN CERTIFICATE-----` … `-----END CERTIFICATE-----` block.
    NoCertificate,
    /// A character outside the base64 alphabet, or misplaced padding.
    InvalidBase64,
    /// The output buffer is too small for the decoded bytes.
    BufferTooSmall,
}

impl PemError {
    /// What went wrong, in words.
    pub fn as_str(self) -> &'static str {
        match self {
            PemError::NoCertificate => "no PEM certificate block",
            PemError::InvalidBase64 => "invalid base64 in the PEM block",
            PemError::BufferTooSmall => "the DER buffer is too small",
        }
    }
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for PemError {}

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// Decodes the first certificate of `pem` into `out` and returns the DER bytes.
///
/// # Errors
///
/// [`PemError`] when there is no certificate block, its base64 is invalid or `out` is too
/// small (a DER certificate is three quarters of its base64 text).
pub fn to_der<'o>(pem: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], PemError> {
    let start = find(pem, BEGIN).ok_or(PemError::NoCertificate)? + BEGIN.len();
    let len = find(&pem[start..], END).ok_or(PemError::NoCertificate)?;

    let mut written = 0;
    let mut bits: u32 = 0;
    let mut pending = 0;
    let mut padding = 0;
    for &c in &pem[start..start + len] {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return Err(PemError::InvalidBase64),
        };
        if padding > 0 {
            return Err(PemError::InvalidBase64);
        }
        bits = (bits << 6) | u32::from(value);
        pending += 6;
        if pending >= 8 {
            pending -= 8;
            let byte = out.get_mut(written).ok_or(PemError::BufferTooSmall)?;
            *byte = (bits >> pending) as u8;
            written += 1;
        }
    }
    if padding > 2 || pending >= 6 {
        return Err(PemError::InvalidBase64);
    }
    Ok(&out[..written])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_block_with_padding_and_line_breaks() {
        let pem =
            b"junk\n-----BEGIN CERTIFICATE-----\nTWFu\r\nTWFu\nTQ==\n-----END CERTIFICATE-----\n";
        let mut out = [0u8; 16];
        assert_eq!(to_der(pem, &mut out), Ok(&b"ManManM"[..]));
        let two = b"-----BEGIN CERTIFICATE-----\nTWE=\n-----END CERTIFICATE-----";
        assert_eq!(to_der(two, &mut out), Ok(&b"Ma"[..]));
        let mut small = [0u8; 6];
        assert_eq!(to_der(pem, &mut small), Err(PemError::BufferTooSmall));
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        let mut out = [0u8; 16];
        assert_eq!(to_der(b"TWFu", &mut out), Err(PemError::NoCertificate));
        let bad = b"-----BEGIN CERTIFICATE-----\nTW*u\n-----END CERTIFICATE-----";
        assert_eq!(to_der(bad, &mut out), Err(PemError::InvalidBase64));
        let late = b"-----BEGIN CERTIFICATE-----\nTQ==TWFu\n-----END CERTIFICATE-----";
        assert_eq!(to_der(late, &mut out), Err(PemError::InvalidBase64));
    }
}
