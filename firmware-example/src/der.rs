//! Just enough DER to walk to one field of a certificate, for the serial and the leaf's key.
//!
//! Full parsing and validation is rustls-webpki's; these helpers only split elements, with
//! every length checked against the input.

/// Splits the element at the start of `input` into its tag, its contents and what follows.
/// `None` when the input ends early or the length is indefinite or longer than four bytes.
pub(crate) fn any(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;

    let len = match first {
        0..=0x7f => usize::from(first),
        0x81..=0x84 => {
            let (digits, after) = rest.split_at_checked(usize::from(first & 0x7f))?;
            rest = after;
            digits.iter().try_fold(0usize, |len, &digit| {
                len.checked_mul(256)?.checked_add(usize::from(digit))
            })?
        }
        _ => return None,
    };

    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// The contents of the element at the start of `input` and what follows it, if the element's
/// tag is `tag`.
pub(crate) fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = any(input)?;
    (found == tag).then_some((contents, rest))
}

/// Tags met on the way through a certificate.
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
/// `[0] EXPLICIT Version`, present in v2 and v3 certificates.
pub(crate) const VERSION: u8 = 0xa0;

#[cfg(test)]
mod tests {
    use super::{any, element};

    #[test]
    fn short_and_long_lengths() {
        assert_eq!(
            any(&[0x02, 0x01, 0x05, 0xff]),
            Some((0x02, &[5][..], &[0xff][..]))
        );
        let mut long = [0u8; 3 + 200];
        long[..3].copy_from_slice(&[0x04, 0x81, 200]);
        assert_eq!(
            any(&long).map(|(_, c, r)| (c.len(), r.len())),
            Some((200, 0))
        );
        assert_eq!(
            element(&[0x30, 0x00, 0x01], 0x30),
            Some((&[][..], &[1][..]))
        );
        assert_eq!(element(&[0x31, 0x00], 0x30), None);
    }

    #[test]
    fn lengths_beyond_the_input_are_refused() {
        assert_eq!(any(&[0x30, 0x05, 0x00]), None);
        assert_eq!(any(&[0x30, 0x82, 0x01]), None);
        assert_eq!(any(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(any(&[0x30, 0x80]), None);
        assert_eq!(any(&[0x30, 0x85, 0, 0, 0, 0, 1]), None);
        assert_eq!(any(&[0x30]), None);
        assert_eq!(any(&[]), None);
    }
}
