//! One check, and the policy around it.

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;

use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{Error as _, Write as _};
use embedded_nal_async::TcpConnect;
use embedded_tls::{TlsConfig, TlsConnection, TlsContext, TlsError};
use heapless::String;
use mqttcert_core::DeviceCertificate;
use mqttcert_core::check::{self, Verdict};
use mqttcert_core::clock::ClockOffset;
use mqttcert_core::input::HOST_MAX;
use mqttcert_core::request::{Credential, DescribeDeviceCertificate, Endpoint};
use mqttcert_core::response::{self, Answer, ApiError, ErrorClass, Read};
use mqttcert_core::sign::Signer;
use rand_core::CryptoRngCore;

use crate::buffers::Buffers;
use crate::config::Config;
use crate::error::Error;
use crate::platform::{Clock, Platform};
use crate::tls::{PinnedCa, PinnedVerifier};

/// What the API said about the certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// The certificate was found and judged; [`Verdict::is_usable`] says whether to keep using
    /// it and [`Verdict::days_left`] for how long.
    Verdict(Verdict),
    /// The API knows no such certificate or instance (`ResourceNotFound.*`): stop using it.
    NotFound(ApiError),
    /// The API answered another error; [`ApiError::class`] says what kind. After
    /// [`Checker::check`], a `RetryLater` or `ClockSkew` error is one that persisted.
    Api(ApiError),
}

impl Outcome {
    /// Whether the API confirmed that the certificate may still be used: a healthy or
    /// expiring verdict.
    pub fn is_usable(&self) -> bool {
        matches!(self, Outcome::Verdict(verdict) if verdict.is_usable())
    }

    /// Whether the API said to stop using the certificate: any other verdict (revoked,
    /// expired, inactive…) or not found. An [`Outcome::Api`] error says neither.
    pub fn says_stop(&self) -> bool {
        match self {
            Outcome::Verdict(verdict) => !verdict.is_usable(),
            Outcome::NotFound(_) => true,
            Outcome::Api(_) => false,
        }
    }
}

/// The state a device keeps between checks: its configuration, the signing key of the day and
/// what it learnt of its clock.
pub struct Checker<'a> {
    config: Config<'a>,
    signer: Signer,
    offset: ClockOffset,
}

/// What one attempt brought back, with what [`Checker::check`] needs to correct the clock.
struct Answered {
    outcome: Outcome,
    /// The reply's `Date`, in Unix seconds.
    date: Option<u64>,
    /// The local clock when the reply was complete, in Unix seconds.
    local: u64,
}

impl<'a> Checker<'a> {
    /// A checker with no clock correction yet.
    pub fn new(config: Config<'a>) -> Self {
        Self {
            config,
            signer: Signer::new(),
            offset: ClockOffset::ZERO,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config<'a> {
        &self.config
    }

    /// Server time minus device time, as last learnt from a refused signature.
    pub fn clock_offset(&self) -> ClockOffset {
        self.offset
    }

    /// Sets the clock correction, for example from a previous boot.
    pub fn set_clock_offset(&mut self, offset: ClockOffset) {
        self.offset = offset;
    }

    /// Asks once: connects, verifies the server, sends the signed request, reads the reply and
    /// judges the certificate at the (corrected) current time. An API error is an `Ok`
    /// [`Outcome`]; nothing is retried and the clock is not corrected.
    ///
    /// # Errors
    ///
    /// [`Error`] when the API could not be asked or its reply not read; see
    /// [`Error::is_retryable`].
    pub async fn check_once<N, C, R, D>(
        &mut self,
        platform: &mut Platform<'_, N, C, R, D>,
        buffers: &mut Buffers<'_>,
    ) -> Result<Outcome, Error>
    where
        N: TcpConnect,
        C: Clock,
        R: CryptoRngCore,
        D: DelayNs,
    {
        let answered = self.attempt(platform, buffers).await?;
        report(&self.config, &answered.outcome);
        Ok(answered.outcome)
    }

    /// Asks until there is an answer: [`Checker::check_once`] with the policy of
    /// [`Config::retry`]. A refused signature (`AuthFailure.SignatureExpire`) corrects the clock
    /// from the reply's `Date` (or the server time in its message) and signs again once;
    /// `RequestLimitExceeded` and other passing API errors, network failures and timeouts are
    /// retried after a jittered exponential back-off, up to [`crate::Retry::attempts`].
    ///
    /// The outcome is logged: info for a healthy certificate, warn for an expiring one, error
    /// for one to stop using.
    ///
    /// # Errors
    ///
    /// The last attempt's [`Error`] when no attempt got an answer, or the first error that a
    /// retry cannot cure (an untrusted server, an invalid configuration).
    pub async fn check<N, C, R, D>(
        &mut self,
        platform: &mut Platform<'_, N, C, R, D>,
        buffers: &mut Buffers<'_>,
    ) -> Result<Outcome, Error>
    where
        N: TcpConnect,
        C: Clock,
        R: CryptoRngCore,
        D: DelayNs,
    {
        let attempts = self.config.retry.attempts.max(1);
        let mut failed = 0u8;
        let mut resigned = false;
        loop {
            debug!("attempt {} of {}", failed + 1, attempts);
            // The answer stays in this one place until it is returned: an outcome is a few
            // hundred bytes, and each move of it would take as much stack.
            let result = self.attempt(platform, buffers).await;

            let retry = match &result {
                Ok(answered) => match &answered.outcome {
                    Outcome::Api(err) if err.class() == ErrorClass::ClockSkew && !resigned => {
                        resigned = true;
                        if self.correct_clock(answered, err) {
                            continue;
                        }
                        false
                    }
                    Outcome::Api(err) if err.class().is_retryable() => {
                        warn!(
                            "attempt {} of {}: the API asks to retry later ({})",
                            failed + 1,
                            attempts,
                            err.code.as_str()
                        );
                        true
                    }
                    _ => false,
                },
                Err(err) if err.is_retryable() => {
                    warn!("attempt {} of {} failed: {}", failed + 1, attempts, err);
                    true
                }
                Err(_) => false,
            };
            if retry {
                failed += 1;
                if failed < attempts {
                    let wait = self.config.retry.backoff_ms(failed, jitter(platform.rng));
                    info!("retrying in {} ms", wait);
                    platform.delay.delay_ms(wait).await;
                    continue;
                }
            }

            match &result {
                Ok(answered) => report(&self.config, &answered.outcome),
                Err(err) if retry => error!(
                    "certificate check failed after {} attempts: {}",
                    failed, err
                ),
                Err(err) => error!("certificate check failed: {}", err),
            }
            return result.map(|answered| answered.outcome);
        }
    }

    /// Learns the server's time from a refused signature; false when the reply shows none.
    fn correct_clock(&mut self, answered: &Answered, err: &ApiError) -> bool {
        let offset = match answered.date {
            Some(date) => Some(ClockOffset::from_date(date, answered.local)),
            None => ClockOffset::from_signature_expire(&err.message, answered.local),
        };
        match offset {
            Some(offset) => {
                info!("clock corrected by {} s; signing again", offset.secs());
                self.offset = offset;
                true
            }
            None => {
                warn!("the signature expired and the reply tells no server time");
                false
            }
        }
    }

    /// One attempt, bounded in time.
    async fn attempt<N, C, R, D>(
        &mut self,
        platform: &mut Platform<'_, N, C, R, D>,
        buffers: &mut Buffers<'_>,
    ) -> Result<Answered, Error>
    where
        N: TcpConnect,
        C: Clock,
        R: CryptoRngCore,
        D: DelayNs,
    {
        let Platform {
            tcp,
            clock,
            rng,
            delay,
        } = platform;
        let timeout = self.config.retry.attempt_timeout_ms;
        let exchange = exchange(
            &self.config,
            &mut self.signer,
            self.offset,
            *tcp,
            *clock,
            &mut **rng,
            buffers,
        );
        // Pinned here and lent to the timer race, so that the future is stored once.
        let exchange = pin!(exchange);
        with_timeout(&mut **delay, timeout, exchange)
            .await
            .unwrap_or(Err(Error::Timeout))
    }
}

/// Connect, handshake, request, reply, verdict.
///
/// Writing the request and judging the reply are functions of their own, kept out of line: the
/// stack peaks during the handshake, below this function's frame, which should hold no more
/// than the handshake needs.
async fn exchange<N, C, R>(
    config: &Config<'_>,
    signer: &mut Signer,
    offset: ClockOffset,
    tcp: &N,
    clock: &C,
    rng: &mut R,
    buffers: &mut Buffers<'_>,
) -> Result<Answered, Error>
where
    N: TcpConnect,
    C: Clock,
    R: CryptoRngCore,
{
    let Buffers {
        tls_read,
        tls_write,
        message,
        record,
    } = buffers;

    // The request first, so that an invalid configuration costs no connection.
    let timestamp = offset.correct(clock.now_ms() / 1000);
    let request_len = write_request(config, signer, timestamp, message)?;

    let socket = tcp
        .connect(config.addr)
        .await
        .map_err(|err| Error::Connect(err.kind()))?;
    let mut tls: TlsConnection<'_, _, embedded_tls::Aes128GcmSha256> =
        TlsConnection::new(socket, tls_read, tls_write);
    let tls_config = TlsConfig::new().with_server_name(config.host);
    // The certificates must be valid at the time the request is signed for.
    let verifier = PinnedVerifier::new(config.ca_der, config.host, timestamp);
    let mut provider = PinnedCa::new(rng, verifier);
    tls.open(TlsContext::new(&tls_config, &mut provider))
        .await
        .map_err(Error::Handshake)?;
    debug!("TLS session open with {}", config.host);

    tls.write_all(&message[..request_len])
        .await
        .map_err(Error::Transfer)?;
    tls.flush().await.map_err(Error::Transfer)?;

    // Read until the reply is complete by its own framing: embedded-tls reports an error, not
    // an end of stream, when a server closes without close_notify.
    record.clear();
    let mut filled = 0;
    let answered = loop {
        let closed = match tls.read(&mut message[filled..]).await {
            Ok(0) | Err(TlsError::ConnectionClosed) => true,
            Ok(n) => {
                filled += n;
                false
            }
            Err(err) => return Err(Error::Transfer(err)),
        };
        if let Some(answered) = judge_reply(config, offset, clock, message, filled, closed, record)?
        {
            break answered;
        }
    };
    // The reply is complete; a failure to say goodbye changes nothing.
    let _ = tls.close().await;
    Ok(answered)
}

/// Signs and writes the request for `timestamp` into `message`; returns its length.
#[inline(never)]
fn write_request(
    config: &Config<'_>,
    signer: &mut Signer,
    timestamp: u64,
    message: &mut [u8],
) -> Result<usize, Error> {
    let mut host: String<{ HOST_MAX + 6 }> = String::new();
    let host = if config.addr.port() == 443 {
        config.host
    } else {
        use core::fmt::Write as _;
        write!(host, "{}:{}", config.host, config.addr.port())
            .map_err(|_| Error::Request(mqttcert_core::request::BuildError::BufferTooSmall))?;
        host.as_str()
    };
    let endpoint = Endpoint::new(host, config.region);
    let mut credential = Credential::new(config.secret_id, config.secret_key);
    if let Some(token) = config.token {
        credential = credential.with_token(token);
    }
    let query = DescribeDeviceCertificate {
        instance_id: config.instance_id,
        serial: config.serial,
    };
    query
        .write_request(message, &endpoint, &credential, signer, timestamp)
        .map_err(Error::Request)
}

/// Reads the `filled` bytes of `message` as the reply (chunked bodies are decoded in place):
/// `None` while it is incomplete and the
/// connection open, the answer judged at the corrected time once it is complete.
#[inline(never)]
fn judge_reply<C: Clock>(
    config: &Config<'_>,
    offset: ClockOffset,
    clock: &C,
    message: &mut [u8],
    filled: usize,
    closed: bool,
    record: &mut DeviceCertificate,
) -> Result<Option<Answered>, Error> {
    let reply = match response::read_reply(message, filled, closed, record).map_err(Error::Reply)? {
        Read::Complete(reply) => reply,
        Read::Incomplete if closed => {
            return Err(Error::Reply(response::HttpError::Truncated.into()));
        }
        Read::Incomplete => return Ok(None),
    };

    let local = clock.now_ms() / 1000;
    let outcome = match reply.answer {
        Answer::Certificate => {
            let now_ms = offset.correct_ms(clock.now_ms());
            Outcome::Verdict(check::judge(record, config.serial, now_ms, &config.policy))
        }
        Answer::Error(err) if err.class() == ErrorClass::NotFound => Outcome::NotFound(err),
        Answer::Error(err) => Outcome::Api(err),
    };
    Ok(Some(Answered {
        outcome,
        date: reply.date,
        local,
    }))
}

/// Logs the outcome at the level an operator needs.
fn report(config: &Config<'_>, outcome: &Outcome) {
    let serial = config.serial;
    match outcome {
        Outcome::Verdict(verdict @ Verdict::Healthy { .. }) => {
            info!(
                "certificate {}: healthy, {} days left",
                serial,
                days(*verdict)
            );
        }
        Outcome::Verdict(verdict @ Verdict::Expiring { .. }) => {
            warn!(
                "certificate {}: expiring, {} days left: renew it",
                serial,
                days(*verdict)
            );
        }
        Outcome::Verdict(verdict) => {
            error!(
                "certificate {}: {}: stop using the certificate",
                serial,
                verdict.as_str()
            );
        }
        Outcome::NotFound(err) => {
            error!(
                "certificate {}: not found ({}): stop using the certificate",
                serial,
                err.code.as_str()
            );
        }
        Outcome::Api(err) => {
            error!(
                "certificate {}: the API answered {} (request {})",
                serial,
                err.code.as_str(),
                err.request_id.as_str()
            );
        }
    }
}

fn days(verdict: Verdict) -> u64 {
    verdict.days_left().unwrap_or(0)
}

fn jitter(rng: &mut impl CryptoRngCore) -> u8 {
    (rng.next_u32() & 0xff) as u8
}

/// Runs `future` for at most `ms` milliseconds; `None` when the time ran out first.
async fn with_timeout<D: DelayNs, F: Future>(
    delay: &mut D,
    ms: u32,
    mut future: Pin<&mut F>,
) -> Option<F::Output> {
    let mut timer = pin!(delay.delay_ms(ms));
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            Poll::Ready(Some(output))
        } else if timer.as_mut().poll(cx).is_ready() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await
}
