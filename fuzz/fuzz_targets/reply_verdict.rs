//! Feeds arbitrary bytes, as a whole reply, through what a device does with it: read the reply
//! ([`response::read_reply`]), judge the certificate ([`check::judge`]) and correct the clock
//! from the reply ([`ClockOffset`]).
//!
//! The first ten bytes are not part of the reply: the current time in Unix milliseconds
//! (eight bytes, little-endian), the warning period in days, and a byte of flags (bit 0: the
//! peer has closed the connection; bit 1: ask about the serial the reply names rather than a
//! fixed one). Nothing may panic, and:
//!
//! - the verdict agrees with the record: the serial comparison, the status, the dates and the
//!   warning period;
//! - a clock offset learnt from the reply's `Date` gives back the server's time.
#![no_main]

use core::fmt::Write;

use libfuzzer_sys::fuzz_target;
use mqttcert_core::check::{self, MS_PER_DAY, Policy};
use mqttcert_core::clock::ClockOffset;
use mqttcert_core::response::{self, ErrorClass, Read, Status};
use mqttcert_core::{DeviceCertificate, Verdict};

/// The serial asked about unless the flags say otherwise.
const SERIAL: &str = "0eef68a582b94254296e54ce754f94d707a59911";

fuzz_target!(|data: &[u8]| {
    let Some((now, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let [warn_days, flags, reply @ ..] = rest else {
        return;
    };
    let now_ms = u64::from_le_bytes(*now);
    let now_s = now_ms / 1000;
    let policy = Policy::warn_within_days(u32::from(*warn_days));
    let closed = flags & 1 != 0;

    let mut buf = vec![0u8; response::REPLY_CAPACITY];
    let filled = reply.len().min(buf.len());
    buf[..filled].copy_from_slice(&reply[..filled]);
    let mut record = Box::new(DeviceCertificate::new());
    let mut result = response::read_reply(&mut buf, filled, closed, &mut record);
    if let Ok(Read::Incomplete) = result {
        // Nothing more comes: the peer closes the connection.
        result = response::read_reply(&mut buf, filled, true, &mut record);
    }

    let reply = match result {
        Ok(Read::Complete(reply)) => reply,
        Ok(Read::Incomplete) => panic!("incomplete after the connection closed"),
        Err(err) => {
            render(&err);
            if let Some(server) = err.date() {
                check_offset(server, now_s);
            }
            return;
        }
    };
    if let Some(server) = reply.date {
        check_offset(server, now_s);
    }
    if let Some(err) = reply.api_error() {
        render(err);
        if err.class() == ErrorClass::ClockSkew
            && let Some(offset) = ClockOffset::from_signature_expire(&err.message, now_s)
        {
            let _ = (offset.correct_ms(now_ms), offset.exceeds_window());
        }
        return;
    }

    let asked = if flags & 2 != 0 {
        record.device_certificate_sn.as_str()
    } else {
        SERIAL
    };
    let verdict = check::judge(&record, asked, now_ms, &policy);
    render(&verdict);
    check_verdict(&record, asked, now_ms, &policy, verdict);
});

/// The verdict follows from the record, the serial asked about, the time and the policy.
fn check_verdict(
    record: &DeviceCertificate,
    asked: &str,
    now_ms: u64,
    policy: &Policy,
    verdict: Verdict,
) {
    if !check::same_serial(&record.device_certificate_sn, asked) {
        assert_eq!(verdict, Verdict::SerialMismatch);
        return;
    }
    let (not_before, not_after) = (record.not_before_time, record.not_after_time);
    match (&record.status, verdict) {
        (Status::Active, Verdict::Healthy { expires_in_ms }) => {
            assert!(not_before <= now_ms && now_ms < not_after);
            assert_eq!(expires_in_ms, not_after - now_ms);
            assert!(expires_in_ms > policy.warn_within_ms);
        }
        (Status::Active, Verdict::Expiring { expires_in_ms }) => {
            assert!(not_before <= now_ms && now_ms < not_after);
            assert_eq!(expires_in_ms, not_after - now_ms);
            assert!(expires_in_ms <= policy.warn_within_ms);
        }
        (Status::Active, Verdict::Expired { expired_for_ms }) => {
            assert!(not_before <= now_ms && now_ms >= not_after);
            assert_eq!(expired_for_ms, now_ms - not_after);
        }
        (Status::Active, Verdict::NotYetValid { valid_in_ms }) => {
            assert_eq!(valid_in_ms, not_before - now_ms);
        }
        (Status::Revoked, Verdict::Revoked)
        | (Status::Inactive, Verdict::Inactive)
        | (Status::PendingActivation, Verdict::PendingActivation)
        | (Status::Unknown(_) | Status::Missing, Verdict::UnknownStatus) => {}
        (status, verdict) => panic!("{status:?} judged {verdict:?}"),
    }
    match verdict.days_left() {
        Some(days) => {
            assert!(verdict.is_usable());
            assert!(days <= (not_after - now_ms) / MS_PER_DAY);
        }
        None => assert!(!verdict.is_usable()),
    }
}

/// The offset learnt from a server time gives that time back, unless it is too large to hold.
fn check_offset(server: u64, local: u64) {
    let offset = ClockOffset::from_date(server, local);
    let exact = i64::try_from(i128::from(server) - i128::from(local)).is_ok();
    if exact {
        assert_eq!(
            offset.correct(local),
            server,
            "the correction misses the server's time"
        );
    }
    let _ = (
        offset.correct_ms(local.saturating_mul(1000)),
        offset.exceeds_window(),
    );
}

/// Formats a value, as a log line or an error report would.
fn render(value: &dyn core::fmt::Display) {
    let mut out = String::new();
    let _ = write!(out, "{value}");
}
