//! The verdict: is the certificate still good, and for how long?

use core::fmt;

use crate::response::{DeviceCertificate, Status};

/// Milliseconds in a day.
pub const MS_PER_DAY: u64 = 86_400_000;

/// When to start warning about expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Policy {
    /// A certificate that expires within this many milliseconds is [`Verdict::Expiring`].
    pub warn_within_ms: u64,
}

impl Policy {
    /// Warn when fewer than `days` days are left.
    pub const fn warn_within_days(days: u32) -> Self {
        Self {
            warn_within_ms: days as u64 * MS_PER_DAY,
        }
    }
}

/// Warns 30 days ahead, as the CLI does by default.
impl Default for Policy {
    fn default() -> Self {
        Self::warn_within_days(30)
    }
}

/// What the device should make of its certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Verdict {
    /// Active and valid for longer than the warning period.
    Healthy {
        /// Milliseconds until `NotAfterTime`.
        expires_in_ms: u64,
    },
    /// Active and valid, but expiring within the warning period.
    Expiring {
        /// Milliseconds until `NotAfterTime`.
        expires_in_ms: u64,
    },
    /// Active, but `NotAfterTime` has passed.
    Expired {
        /// Milliseconds since `NotAfterTime`.
        expired_for_ms: u64,
    },
    /// Active, but `NotBeforeTime` has not come yet (or the local clock is behind).
    NotYetValid {
        /// Milliseconds until `NotBeforeTime`.
        valid_in_ms: u64,
    },
    /// Revoked: never use it again.
    Revoked,
    /// Deactivated by its owner.
    Inactive,
    /// Registered but not activated yet.
    PendingActivation,
    /// A status this crate does not know; treated as not usable.
    UnknownStatus,
    /// The reply describes another certificate than the one asked about.
    SerialMismatch,
}

impl Verdict {
    /// Whether the device may keep using the certificate.
    pub fn is_usable(self) -> bool {
        matches!(self, Verdict::Healthy { .. } | Verdict::Expiring { .. })
    }

    /// Whole days left before expiry, for the verdicts that have them.
    pub fn days_left(self) -> Option<u64> {
        match self {
            Verdict::Healthy { expires_in_ms } | Verdict::Expiring { expires_in_ms } => {
                Some(expires_in_ms / MS_PER_DAY)
            }
            _ => None,
        }
    }

    /// A short name, for logs and machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy { .. } => "healthy",
            Verdict::Expiring { .. } => "expiring",
            Verdict::Expired { .. } => "expired",
            Verdict::NotYetValid { .. } => "not-yet-valid",
            Verdict::Revoked => "revoked",
            Verdict::Inactive => "inactive",
            Verdict::PendingActivation => "pending-activation",
            Verdict::UnknownStatus => "unknown-status",
            Verdict::SerialMismatch => "serial-mismatch",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.as_str();
        match *self {
            Verdict::Healthy { expires_in_ms } | Verdict::Expiring { expires_in_ms } => {
                write!(f, "{name} ({} days left)", expires_in_ms / MS_PER_DAY)
            }
            Verdict::Expired { expired_for_ms } => {
                write!(f, "{name} ({} days ago)", expired_for_ms / MS_PER_DAY)
            }
            Verdict::NotYetValid { valid_in_ms } => {
                write!(f, "{name} (valid in {} days)", valid_in_ms / MS_PER_DAY)
            }
            _ => f.write_str(name),
        }
    }
}

/// Judges `record`, which the service returned when asked about `asked_serial`, at `now_ms`
/// (Unix milliseconds).
///
/// The serials are compared without regard to case or `:` separators, so that
/// `0E:EF:68:…` (as OpenSSL prints it) matches `0eef68…` (as the service lists it). The status
/// comes before the dates: a revoked certificate is revoked whatever its validity window.
pub fn judge<const PEM: usize, const TEXT: usize>(
    record: &DeviceCertificate<PEM, TEXT>,
    asked_serial: &str,
    now_ms: u64,
    policy: &Policy,
) -> Verdict {
    let verdict = if !same_serial(&record.device_certificate_sn, asked_serial) {
        Verdict::SerialMismatch
    } else {
        match record.status {
            Status::Active => judge_dates(
                record.not_before_time,
                record.not_after_time,
                now_ms,
                policy,
            ),
            Status::Revoked => Verdict::Revoked,
            Status::Inactive => Verdict::Inactive,
            Status::PendingActivation => Verdict::PendingActivation,
            Status::Unknown(_) | Status::Missing => Verdict::UnknownStatus,
        }
    };
    debug!("certificate {}: {}", asked_serial, verdict);
    verdict
}

fn judge_dates(not_before: u64, not_after: u64, now: u64, policy: &Policy) -> Verdict {
    if now < not_before {
        Verdict::NotYetValid {
            valid_in_ms: not_before - now,
        }
    } else if now >= not_after {
        Verdict::Expired {
            expired_for_ms: now - not_after,
        }
    } else if not_after - now <= policy.warn_within_ms {
        Verdict::Expiring {
            expires_in_ms: not_after - now,
        }
    } else {
        Verdict::Healthy {
            expires_in_ms: not_after - now,
        }
    }
}

/// Compares two hex serials, ignoring case and `:` separators.
pub fn same_serial(a: &str, b: &str) -> bool {
    fn digits(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(|&c| c != b':')
            .map(|c| c.to_ascii_lowercase())
    }
    digits(a).eq(digits(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Label;

    const SN: &str = "0eef68a582b94254296e54ce754f94d707a59911";
    const NOT_BEFORE: u64 = 1_714_985_683_000;
    const NOT_AFTER: u64 = 1_758_185_683_000;

    fn record(status: Status) -> DeviceCertificate {
        let mut record = DeviceCertificate::new();
        record.device_certificate_sn = heapless::String::try_from(SN).unwrap();
        record.status = status;
        record.not_before_time = NOT_BEFORE;
        record.not_after_time = NOT_AFTER;
        record
    }

    #[test]
    fn verdicts() {
        let policy = Policy::warn_within_days(30);
        let active = record(Status::Active);
        let mid = NOT_AFTER - 100 * MS_PER_DAY;
        let cases = [
            (
                &active,
                mid,
                Verdict::Healthy {
                    expires_in_ms: 100 * MS_PER_DAY,
                },
            ),
            (
                &active,
                NOT_AFTER - 30 * MS_PER_DAY,
                Verdict::Expiring {
                    expires_in_ms: 30 * MS_PER_DAY,
                },
            ),
            (
                &active,
                NOT_AFTER - 1,
                Verdict::Expiring { expires_in_ms: 1 },
            ),
            (&active, NOT_AFTER, Verdict::Expired { expired_for_ms: 0 }),
            (
                &active,
                NOT_BEFORE - 5,
                Verdict::NotYetValid { valid_in_ms: 5 },
            ),
        ];
        for (record, now, verdict) in cases {
            assert_eq!(judge(record, SN, now, &policy), verdict, "{now}");
        }
        for (status, verdict) in [
            (Status::Revoked, Verdict::Revoked),
            (Status::Inactive, Verdict::Inactive),
            (Status::PendingActivation, Verdict::PendingActivation),
            (
                Status::Unknown(Label::try_from("SUSPENDED").unwrap()),
                Verdict::UnknownStatus,
            ),
        ] {
            assert_eq!(judge(&record(status), SN, mid, &policy), verdict);
        }
    }

    #[test]
    fn serial_mismatch_comes_first() {
        let revoked = record(Status::Revoked);
        let verdict = judge(
            &revoked,
            "0eef68a582b94254296e54ce754f94d707a59912",
            0,
            &Policy::default(),
        );
        assert_eq!(verdict, Verdict::SerialMismatch);
        assert!(!verdict.is_usable());
    }

    #[test]
    fn serials_match_across_notations() {
        assert!(same_serial(
            SN,
            "0E:EF:68:A5:82:B9:42:54:29:6E:54:CE:75:4F:94:D7:07:A5:99:11"
        ));
        assert!(!same_serial(SN, &SN[1..]));
    }
}
