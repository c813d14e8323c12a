//! Small byte helpers shared by the signer and the request writer.

/// Lowercase hexadecimal digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of a 32-byte digest.
pub(crate) fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
    out
}

/// Decimal digits of `n`, in a fixed buffer.
pub(crate) struct Decimal {
    digits: [u8; 20],
    start: u8,
}

impl Decimal {
    pub(crate) fn new(mut n: u64) -> Self {
        let mut digits = [0; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            let (quotient, digit) = div_small(n, 10);
            digits[start] = b'0' + digit as u8;
            n = quotient;
            if n == 0 {
                break;
            }
        }
        Self {
            digits,
            start: start as u8,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.digits[usize::from(self.start)..]
    }
}

/// `n / d` and `n % d` for a divisor below 2^16, with 32-bit divisions only.
///
/// A 32-bit microcontroller has no 64-bit divide instruction, and the library routine that
/// would stand in for it costs about a kilobyte of flash; long division by 16-bit limbs needs
/// none of it.
pub(crate) fn div_small(n: u64, d: u16) -> (u64, u32) {
    if cfg!(target_pointer_width = "64") {
        // A 64-bit machine divides natively, by a multiplication when `d` is a constant.
        let d = u64::from(d);
        return (n / d, (n % d) as u32);
    }
    let d = u32::from(d);
    let mut quotient = 0u64;
    let mut remainder = 0u32;
    for shift in [48, 32, 16, 0] {
        let current = (remainder << 16) | ((n >> shift) as u32 & 0xffff);
        quotient |= u64::from(current / d) << shift;
        remainder = current % d;
    }
    (quotient, remainder)
}

/// The index of the first byte of `bytes` that is `a` or `b`.
///
/// Reads a word at a time and looks for a zero byte in the word XORed with each needle: the
/// long PEM text of a reply is scanned several bytes a step instead of one.
pub(crate) fn find2(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    const WORD: usize = core::mem::size_of::<usize>();
    const ONES: usize = usize::MAX / 255; // 0x0101…01
    const HIGHS: usize = ONES << 7; // 0x8080…80
    let has_zero = |word: usize| word.wrapping_sub(ONES) & !word & HIGHS != 0;
    let (splat_a, splat_b) = (ONES * usize::from(a), ONES * usize::from(b));

    let mut start = 0;
    for chunk in bytes.chunks_exact(WORD) {
        let mut word = [0u8; WORD];
        word.copy_from_slice(chunk);
        let word = usize::from_ne_bytes(word);
        if has_zero(word ^ splat_a) || has_zero(word ^ splat_b) {
            break;
        }
        start += WORD;
    }
    let rest = bytes.get(start..)?;
    rest.iter()
        .position(|&c| c == a || c == b)
        .map(|i| start + i)
}

/// A byte sink: a hasher, a MAC or an output buffer.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

// The sinks are called from many places with short pieces. On a microcontroller each is kept
// out of line, one copy of the hashing or copying code in flash rather than one per call site;
// on a host, inlining them lets the short copies of constant length compile to plain moves.

impl Sink for sha2::Sha256 {
    #[cfg_attr(target_os = "none", inline(never))]
    fn put(&mut self, bytes: &[u8]) {
        sha2::Digest::update(self, bytes);
    }
}

impl Sink for hmac::Hmac<sha2::Sha256> {
    #[cfg_attr(target_os = "none", inline(never))]
    fn put(&mut self, bytes: &[u8]) {
        hmac::Mac::update(self, bytes);
    }
}

/// Adapts a `core::fmt::Formatter` to a [`Sink`], for `Display` implementations.
pub(crate) struct FmtSink<'a, 'b> {
    pub(crate) f: &'a mut core::fmt::Formatter<'b>,
    pub(crate) result: core::fmt::Result,
}

impl Sink for FmtSink<'_, '_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.result.is_ok() {
            // Every producer of bytes in this crate writes ASCII.
            self.result = match core::str::from_utf8(bytes) {
                Ok(s) => self.f.write_str(s),
                Err(_) => Err(core::fmt::Error),
            };
        }
    }
}

/// A cursor over a caller's buffer that remembers whether anything failed to fit.
pub(crate) struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflowed: bool,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            overflowed: false,
        }
    }

    /// Bytes written so far, or `None` if anything did not fit.
    pub(crate) fn finish(self) -> Option<usize> {
        (!self.overflowed).then_some(self.len)
    }
}

impl Sink for Cursor<'_> {
    #[cfg_attr(target_os = "none", inline(never))]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) if !self.overflowed => {
                dst.copy_from_slice(bytes);
                self.len = end;
            }
            _ => self.overflowed = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_covers_the_range() {
        assert_eq!(Decimal::new(0).as_bytes(), b"0");
        assert_eq!(Decimal::new(1551113065).as_bytes(), b"1551113065");
        assert_eq!(Decimal::new(u64::MAX).as_bytes(), b"18446744073709551615");
    }

    #[test]
    fn small_divisions_match_the_native_ones() {
        let mut n = 1u64;
        for _ in 0..2000 {
            for d in [1u16, 3, 10, 675, 1000, u16::MAX] {
                let (q, r) = div_small(n, d);
                assert_eq!(
                    (q, u64::from(r)),
                    (n / u64::from(d), n % u64::from(d)),
                    "{n} / {d}"
                );
            }
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
        }
        assert_eq!(div_small(u64::MAX, 10), (u64::MAX / 10, 5));
    }

    #[test]
    fn find2_finds_the_first_of_either_needle() {
        let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for at in 0..text.len() {
            for needle in [b'"', b'\\'] {
                let mut bytes = text.to_vec();
                bytes[at] = needle;
                if at + 3 < bytes.len() {
                    bytes[at + 3] = b'"';
                }
                assert_eq!(find2(&bytes, b'"', b'\\'), Some(at), "{at}");
            }
        }
        assert_eq!(find2(text, b'"', b'\\'), None);
        assert_eq!(find2(b"", b'"', b'\\'), None);
        assert_eq!(find2(&[0x80, 0xff, 0x22], b'"', b'"'), Some(2));
    }

    #[test]
    fn cursor_refuses_what_does_not_fit() {
        let mut buf = [0; 4];
        let mut cursor = Cursor::new(&mut buf);
        cursor.put(b"abc");
        cursor.put(b"de");
        cursor.put(b"f");
        assert_eq!(cursor.finish(), None);
    }
}
