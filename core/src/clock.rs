//! The offset between the local clock and the server's.
//!
//! The service refuses a request whose timestamp is more than [`SIGNATURE_WINDOW_SECS`] away
//! from its own clock (`AuthFailure.SignatureExpire`). A device without a trustworthy clock can
//! learn the server's time from the `Date` header of any reply, including that refusal, correct
//! its timestamps by the offset, and sign again once.

/// How far the request's timestamp may be from the server's clock.
pub const SIGNATURE_WINDOW_SECS: u64 = 300;

/// Server time minus local time, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClockOffset {
    secs: i64,
}

impl ClockOffset {
    /// No correction.
    pub const ZERO: Self = Self { secs: 0 };

    /// The offset shown by a reply whose `Date` (Unix seconds) was `server` when the local
    /// clock read `local`.
    ///
    /// `Date` has one-second resolution and is stamped before the reply travels, so the result
    /// is accurate to a second or two: well inside the signature window.
    pub fn from_date(server: u64, local: u64) -> Self {
        let secs = i128::from(server) - i128::from(local);
        let secs = secs.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        if secs.unsigned_abs() > SIGNATURE_WINDOW_SECS {
            let way = if secs > 0 { "behind" } else { "ahead of" };
            warn!(
                "the local clock is {} s {} the server's",
                secs.unsigned_abs(),
                way
            );
        }
        Self { secs }
    }

    /// The offset from the message of an `AuthFailure.SignatureExpire` error, when it names
    /// the server's time as Unix seconds after the words `server time` (best effort: the text
    /// is not a contract, and the `Date` header is the better source).
    pub fn from_signature_expire(message: &str, local: u64) -> Option<Self> {
        let (_, after) = message.split_once("server time")?;
        let digits = after.trim_start_matches(|c: char| !c.is_ascii_digit());
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        let server: u64 = digits[..end].parse().ok()?;
        Some(Self::from_date(server, local))
    }

    /// The offset in seconds (positive: the local clock is behind).
    pub fn secs(self) -> i64 {
        self.secs
    }

    /// The server's time for a local time, in Unix seconds.
    pub fn correct(self, local: u64) -> u64 {
        local.saturating_add_signed(self.secs)
    }

    /// The server's time for a local time in Unix milliseconds.
    pub fn correct_ms(self, local_ms: u64) -> u64 {
        local_ms.saturating_add_signed(self.secs.saturating_mul(1000))
    }

    /// Whether a request signed at local time would fall outside the signature window.
    pub fn exceeds_window(self) -> bool {
        self.secs.unsigned_abs() > SIGNATURE_WINDOW_SECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_from_date() {
        let offset = ClockOffset::from_date(1_700_003_600, 1_700_000_000);
        assert_eq!(offset.secs(), 3600);
        assert!(offset.exceeds_window());
        assert_eq!(offset.correct(1_700_000_010), 1_700_003_610);
        assert_eq!(offset.correct_ms(1_700_000_010_500), 1_700_003_610_500);

        let behind = ClockOffset::from_date(1_700_000_000, 1_700_000_200);
        assert_eq!(behind.secs(), -200);
        assert!(!behind.exceeds_window());
        assert_eq!(behind.correct(100), 0);
    }

    #[test]
    fn offset_from_signature_expire_message() {
        let message = "Signature expired: timestamp 1700000000 is more than 300 s away from \
                       server time 1700003600.";
        let offset = ClockOffset::from_signature_expire(message, 1_700_000_000).unwrap();
        assert_eq!(offset.secs(), 3600);
        assert_eq!(ClockOffset::from_signature_expire("签名过期。", 0), None);
        assert_eq!(
            ClockOffset::from_signature_expire("server time: soon", 0),
            None
        );
    }
}
