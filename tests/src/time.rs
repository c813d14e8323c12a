//! UTC calendar arithmetic for the two dates the API needs: the `yyyy-mm-dd` of a credential
//! scope and the IMF-fixdate of an HTTP `Date` header.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC calendar day and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    /// Year, e.g. 2024.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute, 0 to 59.
    pub minute: u32,
    /// Second, 0 to 59.
    pub second: u32,
    /// Day of the week, 0 = Sunday.
    pub weekday: u32,
}

impl UtcTime {
    /// Splits Unix seconds into a UTC date and time.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rest = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);

        Self {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }

    /// The date as `yyyy-mm-dd`, as a TC3 credential scope writes it.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// The time as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    pub fn imf_fixdate(&self) -> String {
        const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            DAYS[self.weekday as usize],
            self.day,
            MONTHS[self.month as usize - 1],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// The UTC `yyyy-mm-dd` of a Unix timestamp.
pub fn utc_date(secs: i64) -> String {
    UtcTime::from_unix(secs).date()
}

/// Unix milliseconds of the system clock.
pub fn system_now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// Year, month and day of a count of days since 1970-01-01 in the proleptic Gregorian calendar.
///
/// Works in 400-year eras of 146 097 days, each starting on a 1 March, so that the leap day is
/// the last day of its year and needs no special case.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the origin from 1970-01-01 to 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);

    // Months counted from March: 0 = March, 11 = February.
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);

    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
        // 2024-02-29 23:59:59 UTC, a leap day, and the second after it.
        assert_eq!(utc_date(1_709_251_199), "2024-02-29");
        assert_eq!(utc_date(1_709_251_200), "2024-03-01");
        assert_eq!(utc_date(1_735_689_599), "2024-12-31");
        assert_eq!(utc_date(1_735_689_600), "2025-01-01");
        assert_eq!(utc_date(-1), "1969-12-31");
    }

    #[test]
    fn imf_fixdate() {
        assert_eq!(
            UtcTime::from_unix(784_111_777).imf_fixdate(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            UtcTime::from_unix(1_700_000_000).imf_fixdate(),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
    }
}
