//! UTC calendar arithmetic and HTTP dates, without a clock.
//!
//! Everything here is a pure function of its arguments. The signer needs the UTC date of a
//! Unix timestamp (using a local date breaks every request between 00:00 and 08:00 UTC in
//! China), and the clock correction needs the `Date` header of a reply.

use core::fmt;

/// Seconds in a day.
pub const SECS_PER_DAY: u64 = 86_400;

/// A UTC calendar date, as the signer's credential scope writes it (`2019-02-25`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UtcDate {
    year: u16,
    month: u8,
    day: u8,
}

impl UtcDate {
    /// The UTC date of a Unix timestamp in seconds.
    ///
    /// Timestamps beyond the year 9999 saturate to 9999-12-31, since the credential scope has
    /// four digits for the year.
    pub fn from_unix(secs: u64) -> Self {
        const LAST_DAY: u64 = 2_932_896; // 9999-12-31
        // 86 400 = 128 × 675: two steps that need no 64-bit division.
        let (days, _) = crate::bytes::div_small(secs >> 7, 675);
        let (year, month, day) = civil_from_days(days.min(LAST_DAY) as i32);
        Self {
            year: year as u16,
            month,
            day,
        }
    }

    /// The year, month (1–12) and day (1–31).
    pub fn ymd(self) -> (u16, u8, u8) {
        (self.year, self.month, self.day)
    }

    /// The ten ASCII bytes `yyyy-mm-dd`.
    pub fn to_ascii(self) -> [u8; 10] {
        let mut out = *b"0000-00-00";
        let digits = |out: &mut [u8], mut n: u16| {
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        digits(&mut out[0..4], self.year);
        digits(&mut out[5..7], u16::from(self.month));
        digits(&mut out[8..10], u16::from(self.day));
        out
    }
}

impl fmt::Display for UtcDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

// The calendar works in `i32`, which holds every day of years -5 million to 5 million: no
// 64-bit division on 32-bit targets.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i32, month: u8, day: u8) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i32::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i32::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i32) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

/// Parses an HTTP `Date` in the preferred IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`)
/// into Unix seconds.
///
/// Returns `None` for anything else, including the obsolete RFC 850 and asctime forms, which
/// no current server sends, and for impossible dates such as 31 February.
pub fn parse_http_date(value: &[u8]) -> Option<u64> {
    // `d` stands for a digit and `a` for a letter; every other byte must match.
    const SHAPE: &[u8; 29] = b"aaa, dd aaa dddd dd:dd:dd GMT";
    const MONTHS: &[u8; 36] = b"JanFebMarAprMayJunJulAugSepOctNovDec";
    const WEEKDAYS: &[u8; 21] = b"ThuFriSatSunMonTueWed"; // 1970-01-01 was a Thursday

    let v: &[u8; 29] = value.trim_ascii().try_into().ok()?;
    let mut numbers = [0u32; 6]; // day, year, hour, minute, second, and a spare
    let mut field = 0;
    for (i, (&b, &shape)) in v.iter().zip(SHAPE).enumerate() {
        let fits = match shape {
            b'd' => b.is_ascii_digit(),
            b'a' => b.is_ascii_alphabetic(),
            _ => b == shape,
        };
        if !fits {
            return None;
        }
        if shape == b'd' {
            numbers[field] = numbers[field] * 10 + u32::from(b - b'0');
            if SHAPE.get(i + 1) != Some(&b'd') {
                field += 1;
            }
        }
    }
    let [day, year, hour, minute, second, _] = numbers;

    let month = MONTHS.chunks(3).position(|m| m == &v[8..11])? as u8 + 1;
    if year < 1970 || hour > 23 || minute > 59 || second > 60 || day == 0 || day > 31 {
        return None;
    }
    let days = days_from_civil(year as i32, month, day as u8);
    if civil_from_days(days) != (year as i32, month, day as u8) {
        return None;
    }
    let weekday = days.rem_euclid(7) as usize * 3;
    if WEEKDAYS.get(weekday..weekday + 3)? != &v[0..3] {
        return None;
    }
    Some(days as u64 * SECS_PER_DAY + u64::from(hour * 3600 + minute * 60 + second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_known_timestamps() {
        let cases = [
            (0, "1970-01-01"),
            (1_551_113_065, "2019-02-25"),
            (1_709_251_199, "2024-02-29"),
            (1_709_251_200, "2024-03-01"),
            (1_767_225_600, "2026-01-01"),
            (951_782_400, "2000-02-29"),
        ];
        for (secs, date) in cases {
            assert_eq!(
                &UtcDate::from_unix(secs).to_ascii(),
                date.as_bytes(),
                "{secs}"
            );
            assert_eq!(std::format!("{}", UtcDate::from_unix(secs)), date);
        }
        assert_eq!(UtcDate::from_unix(u64::MAX).ymd(), (9999, 12, 31));
    }

    #[test]
    fn day_counts_round_trip() {
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date(b"Thu, 29 Feb 2024 23:59:59 GMT"),
            Some(1_709_251_199)
        );
        assert_eq!(parse_http_date(b" Thu, 01 Jan 1970 00:00:00 GMT "), Some(0));
        for bad in [
            &b"Sunday, 06-Nov-94 08:49:37 GMT"[..],
            b"Sun Nov  6 08:49:37 1994",
            b"Mon, 06 Nov 1994 08:49:37 GMT",
            b"Thu, 31 Feb 2024 00:00:00 GMT",
            b"Sun, 06 Nov 1994 24:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 UTC",
            b"Sun, 06 Xyz 1994 08:49:37 GMT",
            b"Sun, 0x Nov 1994 08:49:37 GMT",
            b"",
        ] {
            assert_eq!(
                parse_http_date(bad),
                None,
                "{}",
                std::string::String::from_utf8_lossy(bad)
            );
        }
    }
}
