//! The secret half of an API key.

use core::fmt;

use zeroize::Zeroize;

use crate::input::{self, Field, InvalidInput};

/// The longest secret key accepted, in bytes. Tencent Cloud secret keys are 32 characters.
pub const SECRET_KEY_CAPACITY: usize = 64;

/// A Tencent Cloud `SecretKey`, held in a fixed buffer that is wiped when the value is dropped.
///
/// Its `Debug` (and `defmt::Format`) output is `SecretKey(<redacted>)`; there is no way to
/// display the key, and the crate never logs it. It is deliberately not `Clone`, so that the key
/// lives in one place.
pub struct SecretKey {
    bytes: [u8; SECRET_KEY_CAPACITY],
    len: u8,
}

impl SecretKey {
    /// Takes a copy of `key`.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`] naming [`Field::SecretKey`] when the key is empty, longer than
    /// [`SECRET_KEY_CAPACITY`] or contains anything but visible ASCII.
    pub fn new(key: &str) -> Result<Self, InvalidInput> {
        input::token(Field::SecretKey, key, SECRET_KEY_CAPACITY)?;

        let mut bytes = [0; SECRET_KEY_CAPACITY];
        bytes[..key.len()].copy_from_slice(key.as_bytes());
        Ok(Self {
            bytes,
            len: key.len() as u8,
        })
    }

    /// The key's bytes; only the signer reads them.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
        self.len.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for SecretKey {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use std::format;

    use super::*;

    #[test]
    fn debug_output_hides_the_key() {
        let key = SecretKey::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "SecretKey(<redacted>)");
        assert!(!shown.contains("Gu5t"));
    }

    #[test]
    fn rejects_keys_that_do_not_fit_or_are_not_printable() {
        let long = "k".repeat(SECRET_KEY_CAPACITY + 1);
        assert_eq!(
            SecretKey::new(&long).unwrap_err().problem,
            input::Problem::TooLong
        );
        assert_eq!(
            SecretKey::new("").unwrap_err().problem,
            input::Problem::Empty
        );
        assert_eq!(
            SecretKey::new("abc\r\n").unwrap_err().problem,
            input::Problem::ControlCharacter
        );
    }
}
