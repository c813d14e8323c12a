//! The device library (`mqttcert-firmware`), embedded-tls included, against the API emulator
//! over HTTPS on loopback, with the emulator's CA pinned: every verdict, not found, a server
//! that cannot be verified, a device clock an hour off, and connections reset mid-reply. Each
//! test is bounded in time.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Mutex, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mqttcert::device::{OsRng, SystemClock, TokioDelay, TokioTcp};
use mqttcert_core::SecretKey;
use mqttcert_core::check::{Policy, Verdict};
use mqttcert_core::response::ErrorClass;
use mqttcert_firmware::embedded_tls::TlsError;
use mqttcert_firmware::{BufferStorage, Checker, Config, Error, Outcome, Platform, Retry};
use mqttcert_tests::fleet::{
    Credential, DEMO_EXPIRING_SN, DEMO_HEALTHY_SN, DEMO_INSTANCE_ID, DEMO_REGION, DEMO_REVOKED_SN,
    DEMO_SECRET_ID, DEMO_SECRET_KEY,
};
use mqttcert_tests::{Emulator, Fault, FaultMode, Fleet, Options, TlsOptions};

/// Longest any test's check may take.
const LIMIT: Duration = Duration::from_secs(30);

/// Short waits, so that retries are quick; each attempt gets 10 s.
const RETRY: Retry = Retry {
    attempts: 3,
    first_backoff_ms: 50,
    max_backoff_ms: 200,
    attempt_timeout_ms: 10_000,
};

/// Every log line of every test in this file, at trace level.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        LINES.lock().unwrap().push(line);
    }

    fn flush(&self) {}
}

fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        log::set_boxed_logger(Box::new(Capture)).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An emulator over HTTPS with the demo fleet, changed by `tweak`.
fn emulator(tweak: impl FnOnce(&mut Options)) -> Emulator {
    let mut options = Options {
        fleet: Fleet::demo(now_ms()),
        tls: Some(TlsOptions::generate(["localhost", "127.0.0.1"])),
        ..Options::default()
    };
    tweak(&mut options);
    capture_logs();
    Emulator::start(options).expect("the emulator starts")
}

/// An API key as the device holds it.
#[derive(Clone, Copy)]
struct Key<'k> {
    secret_id: &'k str,
    secret_key: &'k str,
    token: Option<&'k str>,
}

const DEMO_KEY: Key<'static> = Key {
    secret_id: DEMO_SECRET_ID,
    secret_key: DEMO_SECRET_KEY,
    token: None,
};

/// What one call of the device library gave.
struct Run {
    result: Result<Outcome, Error>,
    checker_offset_secs: i64,
    took: Duration,
}

/// Checks `serial` once with the policy (`check`) or a single attempt (`once`), pinning the
/// emulator's CA, with a device clock `skew_secs` off.
async fn run(emu: &Emulator, serial: &str, skew_secs: i64, once: bool) -> Run {
    run_with(emu, serial, skew_secs, once, RETRY, DEMO_KEY).await
}

/// [`run`] with chosen retry bounds and key.
async fn run_with(
    emu: &Emulator,
    serial: &str,
    skew_secs: i64,
    once: bool,
    retry: Retry,
    key: Key<'_>,
) -> Run {
    let mut ca = [0u8; 2048];
    let ca_pem = emu.ca_pem().unwrap().as_bytes();
    let ca_der = mqttcert_firmware::pem::to_der(ca_pem, &mut ca).unwrap();
    let secret_key = SecretKey::new(key.secret_key).unwrap();
    let mut checker = Checker::new(Config {
        host: "localhost",
        addr: emu.https_addr().unwrap(),
        region: DEMO_REGION,
        instance_id: DEMO_INSTANCE_ID,
        serial,
        secret_id: key.secret_id,
        secret_key: &secret_key,
        token: key.token,
        ca_der,
        policy: Policy::warn_within_days(30),
        retry,
    });

    let (tcp, clock) = (TokioTcp, SystemClock::skewed(skew_secs));
    let (mut rng, mut delay) = (OsRng, TokioDelay);
    let mut platform = Platform::new(&tcp, &clock, &mut rng, &mut delay);
    let mut storage = Box::new(BufferStorage::new());
    let mut buffers = storage.buffers();

    let started = Instant::now();
    let result = tokio::time::timeout(LIMIT, async {
        if once {
            checker.check_once(&mut platform, &mut buffers).await
        } else {
            checker.check(&mut platform, &mut buffers).await
        }
    })
    .await
    .expect("the check ends in time");
    Run {
        result,
        checker_offset_secs: checker.clock_offset().secs(),
        took: started.elapsed(),
    }
}

fn verdict(run: &Run) -> Verdict {
    match &run.result {
        Ok(Outcome::Verdict(verdict)) => *verdict,
        other => panic!("expected a verdict, got {other:?}"),
    }
}

#[tokio::test]
async fn healthy_certificate() {
    let emu = emulator(|_| {});
    let run = run(&emu, DEMO_HEALTHY_SN, 0, false).await;

    let verdict = verdict(&run);
    assert!(matches!(verdict, Verdict::Healthy { .. }), "{verdict:?}");
    assert_eq!(verdict.days_left(), Some(364));
    assert_eq!(emu.requests(), 1);
}

#[tokio::test]
async fn logs_tell_the_verdict_and_hold_no_secret() {
    let emu = emulator(|_| {});
    run(&emu, DEMO_HEALTHY_SN, -3600, false).await;
    run(&emu, DEMO_REVOKED_SN, 0, false).await;

    let lines = LINES.lock().unwrap();
    let has = |text: &str| lines.iter().any(|line| line.contains(text));
    assert!(has(&format!(
        "certificate {DEMO_HEALTHY_SN}: healthy, 364 days left"
    )));
    assert!(has(&format!(
        "certificate {DEMO_REVOKED_SN}: revoked: stop using"
    )));
    assert!(has("clock corrected by"));
    for line in lines.iter() {
        assert!(!line.contains(DEMO_SECRET_KEY), "{line}");
        assert!(!line.contains("Signature="), "{line}");
    }
}

#[tokio::test]
async fn revoked_certificate() {
    let emu = emulator(|_| {});
    let run = run(&emu, DEMO_REVOKED_SN, 0, false).await;

    assert_eq!(verdict(&run), Verdict::Revoked);
    let outcome = run.result.unwrap();
    assert!(!outcome.is_usable());
    assert!(outcome.says_stop());
}

#[tokio::test]
async fn expiring_certificate_with_days_left() {
    let emu = emulator(|_| {});
    let run = run(&emu, DEMO_EXPIRING_SN, 0, false).await;

    let verdict = verdict(&run);
    assert!(matches!(verdict, Verdict::Expiring { .. }), "{verdict:?}");
    assert_eq!(verdict.days_left(), Some(9));
    assert!(verdict.is_usable());
}

#[tokio::test]
async fn unknown_serial_is_not_found() {
    let emu = emulator(|_| {});
    let run = run(&emu, "5a1e00000000000000000000000000000000ffff", 0, false).await;

    assert!(run.result.as_ref().unwrap().says_stop());
    match run.result {
        Ok(Outcome::NotFound(err)) => {
            assert_eq!(err.code.as_str(), "ResourceNotFound.Certificate");
            assert_eq!(err.class(), ErrorClass::NotFound);
        }
        other => panic!("expected not found, got {other:?}"),
    }
    assert_eq!(emu.requests(), 1, "not found is an answer: no retry");
}

#[tokio::test]
async fn wrong_key_is_reported_without_retrying() {
    let emu = emulator(|_| {});
    let wrong = Key {
        secret_key: "NotTheDemoSecretKeyOfTheEmulator00",
        ..DEMO_KEY
    };
    let run = run_with(&emu, DEMO_HEALTHY_SN, 0, false, RETRY, wrong).await;

    let outcome = run.result.unwrap();
    assert!(!outcome.is_usable() && !outcome.says_stop());
    match outcome {
        Outcome::Api(err) => {
            assert_eq!(err.code.as_str(), "AuthFailure.SignatureFailure");
            assert_eq!(err.class(), ErrorClass::Credentials);
        }
        other => panic!("expected a signature failure, got {other:?}"),
    }
    assert_eq!(emu.requests(), 1);
}

#[tokio::test]
async fn temporary_key_sends_its_token() {
    let temporary = Key {
        secret_id: "AKIDTEMP4kq2ZCu4mQx9Tn3Lw8Rb5Hs6Jp1Vy0EXAMPLE",
        secret_key: "TemporarySecretKeyForTheEmulator02",
        token: Some("device-session-token"),
    };
    let emu = emulator(|options| {
        options.fleet.credentials.push(Credential {
            secret_id: temporary.secret_id.to_owned(),
            secret_key: temporary.secret_key.to_owned(),
            token: temporary.token.map(str::to_owned),
        });
    });
    let run = run_with(&emu, DEMO_HEALTHY_SN, 0, false, RETRY, temporary).await;
    assert!(matches!(verdict(&run), Verdict::Healthy { .. }));

    let without_token = Key {
        token: None,
        ..temporary
    };
    let run = run_with(&emu, DEMO_HEALTHY_SN, 0, false, RETRY, without_token).await;
    match run.result {
        Ok(Outcome::Api(err)) => assert_eq!(err.code.as_str(), "AuthFailure.TokenFailure"),
        other => panic!("expected a token failure, got {other:?}"),
    }
    assert_eq!(emu.requests(), 2);
}

#[tokio::test]
async fn server_signed_by_another_ca_is_refused_before_any_request() {
    let emu = emulator(|options| {
        options.tls = Some(TlsOptions::generate(["localhost"]).with_untrusted_issuer());
    });
    let run = run(&emu, DEMO_HEALTHY_SN, 0, false).await;

    assert!(
        matches!(
            run.result,
            Err(Error::Handshake(TlsError::InvalidCertificate))
        ),
        "{:?}",
        run.result
    );
    assert_eq!(emu.requests(), 0);
}

#[tokio::test]
async fn server_certificate_for_another_host_is_refused_before_any_request() {
    let emu = emulator(|options| {
        options.tls = Some(TlsOptions::generate(["api.example.com"]));
    });
    let run = run(&emu, DEMO_HEALTHY_SN, 0, false).await;

    assert!(
        matches!(
            run.result,
            Err(Error::Handshake(TlsError::InvalidCertificate))
        ),
        "{:?}",
        run.result
    );
    assert!(!run.result.unwrap_err().is_retryable());
    assert_eq!(emu.requests(), 0);
}

#[tokio::test]
async fn device_clock_an_hour_behind_is_corrected_and_the_request_signed_again() {
    let emu = emulator(|_| {});
    let run = run(&emu, DEMO_HEALTHY_SN, -3600, false).await;

    assert!(matches!(verdict(&run), Verdict::Healthy { .. }));
    assert_eq!(emu.requests(), 2);
    assert!(
        (3598..=3602).contains(&run.checker_offset_secs),
        "offset {}",
        run.checker_offset_secs
    );
}

#[tokio::test]
async fn one_attempt_reports_a_wrong_clock_without_correcting_it() {
    let emu = emulator(|_| {});
    let run = run(&emu, DEMO_HEALTHY_SN, 3600, true).await;

    match run.result {
        Ok(Outcome::Api(err)) => assert_eq!(err.class(), ErrorClass::ClockSkew),
        other => panic!("expected SignatureExpire, got {other:?}"),
    }
    assert_eq!(run.checker_offset_secs, 0);
    assert_eq!(emu.requests(), 1);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out() {
    let emu = emulator(|options| options.rate_limit = Some(1));
    let first = run(&emu, DEMO_HEALTHY_SN, 0, false).await;
    assert!(matches!(verdict(&first), Verdict::Healthy { .. }));

    // The key's one request a second is spent: the next check is refused until back-offs of
    // 550 to 1100 ms each have taken it past that second.
    let patient = Retry {
        attempts: 3,
        first_backoff_ms: 1100,
        max_backoff_ms: 1100,
        attempt_timeout_ms: 10_000,
    };
    let second = run_with(&emu, DEMO_HEALTHY_SN, 0, false, patient, DEMO_KEY).await;
    assert!(matches!(verdict(&second), Verdict::Healthy { .. }));
    let requests = emu.requests();
    assert!((3..=4).contains(&requests), "{requests} requests");
    let lines = LINES.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|line| line.contains("asks to retry later (RequestLimitExceeded"))
    );
}

#[tokio::test]
async fn reset_mid_reply_is_retried() {
    let emu = emulator(|options| options.fault = Some(Fault::first(1, FaultMode::Reset)));
    let run = run(&emu, DEMO_HEALTHY_SN, 0, false).await;

    assert!(matches!(verdict(&run), Verdict::Healthy { .. }));
    assert_eq!(emu.requests(), 2);
}

#[tokio::test]
async fn resets_on_every_attempt_fail_cleanly_within_the_bound() {
    let emu = emulator(|options| options.fault = Some(Fault::always(FaultMode::Reset)));
    let run = run(&emu, DEMO_HEALTHY_SN, 0, false).await;

    let err = run.result.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(emu.requests(), u64::from(RETRY.attempts));
    // Two back-offs of at most 50 and 100 ms, and three quick attempts.
    assert!(run.took < Duration::from_secs(5), "took {:?}", run.took);
}

#[tokio::test]
async fn bad_gateway_is_retried() {
    let emu = emulator(|options| options.fault = Some(Fault::first(2, FaultMode::BadGateway)));
    let run = run(&emu, DEMO_HEALTHY_SN, 0, false).await;

    assert!(matches!(verdict(&run), Verdict::Healthy { .. }));
    assert_eq!(emu.requests(), 3);
}

#[tokio::test]
async fn truncated_reply_is_retried() {
    let emu = emulator(|options| options.fault = Some(Fault::first(1, FaultMode::Truncated)));
    let run = run(&emu, DEMO_HEALTHY_SN, 0, false).await;

    assert!(matches!(verdict(&run), Verdict::Healthy { .. }));
    assert_eq!(emu.requests(), 2);
}

#[tokio::test]
async fn chunked_reply_is_read() {
    let emu = emulator(|options| options.fault = Some(Fault::always(FaultMode::Chunked)));
    let run = run(&emu, DEMO_HEALTHY_SN, 0, true).await;

    assert!(matches!(verdict(&run), Verdict::Healthy { .. }));
}

#[tokio::test]
async fn slow_server_times_the_attempt_out() {
    let emu = emulator(|options| {
        options.fault = Some(Fault::always(FaultMode::Delay(Duration::from_secs(10))));
    });
    let retry = Retry {
        attempt_timeout_ms: 500,
        ..RETRY
    };
    let run = run_with(&emu, DEMO_HEALTHY_SN, 0, true, retry, DEMO_KEY).await;

    assert!(
        matches!(run.result, Err(Error::Timeout)),
        "{:?}",
        run.result
    );
    assert!(run.took < Duration::from_secs(2), "took {:?}", run.took);
}

/// Not a benchmark: prints what one check costs over embedded-tls on loopback, for the record.
#[tokio::test]
async fn one_check_on_loopback_is_quick() {
    let emu = emulator(|options| options.rate_limit = None);
    let mut took = Vec::new();
    for _ in 0..5 {
        let run = run(&emu, DEMO_HEALTHY_SN, 0, true).await;
        assert!(matches!(verdict(&run), Verdict::Healthy { .. }));
        took.push(run.took);
    }
    took.sort();
    eprintln!(
        "one check over embedded-tls on loopback: median {:?}",
        took[2]
    );
    assert!(took[2] < Duration::from_secs(2));
}

#[test]
fn configuration_debug_hides_the_key_and_the_token() {
    let secret_key = SecretKey::new(DEMO_SECRET_KEY).unwrap();
    let config = Config {
        host: "localhost",
        addr: "127.0.0.1:8443".parse().unwrap(),
        region: DEMO_REGION,
        instance_id: DEMO_INSTANCE_ID,
        serial: DEMO_HEALTHY_SN,
        secret_id: DEMO_SECRET_ID,
        secret_key: &secret_key,
        token: Some("demo-session-token"),
        ca_der: &[0x30, 0x00],
        policy: Policy::default(),
        retry: RETRY,
    };
    let debug = format!("{config:?}");
    assert!(debug.contains(DEMO_SECRET_ID), "{debug}");
    assert!(!debug.contains(DEMO_SECRET_KEY), "{debug}");
    assert!(!debug.contains("demo-session-token"), "{debug}");
}

/// The state of a running check lives in its future (in an embassy task's arena on a device):
/// the TLS connection, the verifier with its certificate buffer, the signer. Printed for the
/// record, and bounded so that growth is noticed.
#[test]
fn the_future_of_a_check_is_small() {
    let secret_key = SecretKey::new(DEMO_SECRET_KEY).unwrap();
    let mut checker = Checker::new(Config {
        host: "localhost",
        addr: "127.0.0.1:8443".parse().unwrap(),
        region: DEMO_REGION,
        instance_id: DEMO_INSTANCE_ID,
        serial: DEMO_HEALTHY_SN,
        secret_id: DEMO_SECRET_ID,
        secret_key: &secret_key,
        token: None,
        ca_der: &[],
        policy: Policy::default(),
        retry: RETRY,
    });
    let (tcp, clock) = (TokioTcp, SystemClock::new());
    let (mut rng, mut delay) = (OsRng, TokioDelay);
    let mut platform = Platform::new(&tcp, &clock, &mut rng, &mut delay);
    let mut storage = Box::new(BufferStorage::new());
    let mut buffers = storage.buffers();

    let once = std::mem::size_of_val(&checker.check_once(&mut platform, &mut buffers));
    let bytes = std::mem::size_of_val(&checker.check(&mut platform, &mut buffers));
    eprintln!("the future of Checker::check: {bytes} bytes (check_once: {once} bytes)");
    assert!(bytes < 8 * 1024, "{bytes} bytes");
}
