//! The serial number of the device's own certificate, read from its DER encoding.
//!
//! A firmware that holds its certificate need not be configured with the serial as well: the
//! serial is the first integer of the certificate's `TBSCertificate` (RFC 5280, 4.1), after an
//! optional explicit version. This walk reads only the few headers on the way there.

use core::fmt;

use heapless::String;
use mqttcert_core::input::SERIAL_MAX;

/// The serial in lowercase hex, as the service lists it.
pub type Serial = String<SERIAL_MAX>;

/// Why no serial could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SerialError {
    /// The bytes are not a DER certificate as far as the serial.
    Malformed,
    /// The serial is empty, negative or longer than [`SERIAL_MAX`] hex digits.
    Unsupported,
}

impl fmt::Display for SerialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SerialError::Malformed => "not a DER certificate",
            SerialError::Unsupported => "the certificate's serial number is not supported",
        })
    }
}

impl core::error::Error for SerialError {}

use crate::der::{self, INTEGER, SEQUENCE, VERSION};

/// Reads the serial number of the DER certificate `der`, as lowercase hex without the sign
/// byte DER adds before a high first bit (so `0x00 0x9f 0x01` reads `9f01`).
///
/// # Errors
///
/// [`SerialError`] when the bytes are not a certificate or the serial cannot be rendered.
pub fn from_der(certificate: &[u8]) -> Result<Serial, SerialError> {
    let (certificate, _) = element(certificate, SEQUENCE)?;
    let (tbs, _) = element(certificate, SEQUENCE)?;
    let tbs = match tbs.first() {
        Some(&VERSION) => element(tbs, VERSION)?.1,
        _ => tbs,
    };
    let (mut serial, _) = element(tbs, INTEGER)?;

    match serial {
        [] => return Err(SerialError::Unsupported),
        [first, ..] if first & 0x80 != 0 => return Err(SerialError::Unsupported),
        [0, next, ..] if next & 0x80 != 0 => serial = &serial[1..],
        _ => {}
    }
    let mut hex = Serial::new();
    for byte in serial {
        for nibble in [byte >> 4, byte & 0xf] {
            let digit = char::from_digit(u32::from(nibble), 16).ok_or(SerialError::Malformed)?;
            hex.push(digit).map_err(|_| SerialError::Unsupported)?;
        }
    }
    Ok(hex)
}

/// [`der::element`], with a missing or broken element as [`SerialError::Malformed`].
fn element(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), SerialError> {
    der::element(input, tag).ok_or(SerialError::Malformed)
}
