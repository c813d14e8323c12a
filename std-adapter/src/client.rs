//! The blocking client: sign with the core, send, read with the core, retry when it may help.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mqttcert_core::check::{self, Policy};
use mqttcert_core::clock::ClockOffset;
use mqttcert_core::input::{Field, InvalidInput};
use mqttcert_core::request::{self, Call, DescribeDeviceCertificate, Endpoint, Language, Payload};
use mqttcert_core::response::{self, Answer, ErrorClass, Reply};
use mqttcert_core::sign::Signer;
use mqttcert_core::{DeviceCertificate, Verdict};
use rustls::ClientConfig;

use crate::credentials::Credentials;
use crate::retry::{RateLimiter, RetryPolicy};
use crate::transport::{self, Route};
use crate::url::{Scheme, Url};
use crate::{ApiFailure, Error};

/// The international endpoint, which the CLI uses by default.
pub const DEFAULT_ENDPOINT: &str = "https://mqtt.intl.tencentcloudapi.com";
/// The default limit for connecting to each address, and for one exchange.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the service knows of one certificate.
#[derive(Debug)]
pub struct Described {
    /// The record, with the API's field names when serialised.
    pub record: Box<DeviceCertificate>,
    /// The server's `Date` of the reply, in Unix seconds, when it sent one.
    pub server_date: Option<u64>,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// Time from the first attempt to the reply, waits included.
    pub elapsed: Duration,
}

/// A record and its verdict.
#[derive(Debug)]
pub struct Checked {
    /// The reply.
    pub described: Described,
    /// The verdict on it.
    pub verdict: Verdict,
    /// The time the verdict was made for, Unix milliseconds (the local clock, corrected by
    /// the offset learnt from the server if it was found off).
    pub judged_at_ms: u64,
}

/// How the proxy is chosen.
#[derive(Clone, Debug)]
enum ProxyChoice {
    FromEnv,
    Direct,
    Via(String),
}

/// Options of a [`Client`]; see [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    endpoint: String,
    region: Option<String>,
    credentials: Option<Credentials>,
    ca_file: Option<PathBuf>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    language: Option<Language>,
    retry: RetryPolicy,
    proxy: ProxyChoice,
    limiter: Option<Arc<RateLimiter>>,
}

impl ClientBuilder {
    /// The endpoint URL, `http[s]://host[:port][/]`; [`DEFAULT_ENDPOINT`] when not set.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }

    /// The region of the instance, such as `ap-guangzhou`. Required.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The API key. Required.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Trust the CA certificates of this PEM file instead of the standard web roots (for a
    /// private endpoint or an emulator).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The limit for one exchange once connected (the TLS handshake, the request and the
    /// whole reply), and for connecting to each address unless
    /// [`ClientBuilder::connect_timeout`] says otherwise; [`DEFAULT_TIMEOUT`] when not set.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit for connecting to each address.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The language of the API's error messages.
    pub fn language(mut self, language: Language) -> Self {
        self.language = Some(language);
        self
    }

    /// How often and for how long a call is tried; [`RetryPolicy::default`] when not set.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Tunnel through this `http://host:port` proxy, whatever the environment says.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyChoice::Via(url.into());
        self
    }

    /// Connect directly, whatever `HTTPS_PROXY` says.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Share this limiter instead of the process's (one request every
    /// [`crate::retry::DEFAULT_INTERVAL`]).
    pub fn rate_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Checks the options and sets up TLS.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed endpoint or proxy, a missing region, an unreadable
    /// CA file, or a host or region the core refuses; [`Error::Credentials`] when no
    /// credentials were given or the core refuses them.
    pub fn build(self) -> Result<Client, Error> {
        let endpoint = Url::parse(&self.endpoint)?;
        let region = self
            .region
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| Error::config("no region given (--region or TENCENTCLOUD_REGION)"))?;
        let credentials = self
            .credentials
            .ok_or_else(|| Error::credentials("none given to the client"))?;
        let proxy = match self.proxy {
            ProxyChoice::FromEnv => {
                crate::proxy::from_env(&endpoint, |name| std::env::var(name).ok())?
            }
            ProxyChoice::Direct => None,
            ProxyChoice::Via(url) => Some(crate::proxy::parse_proxy(&url)?),
        };
        let tls = match endpoint.scheme() {
            Scheme::Https => Some(transport::tls_config(self.ca_file.as_deref())?),
            Scheme::Http => None,
        };

        let inner = Inner {
            host_header: endpoint.host_header(),
            route: Route {
                endpoint,
                proxy,
                connect_timeout: self.connect_timeout.unwrap_or(self.timeout),
                io_timeout: self.timeout,
            },
            region,
            language: self.language,
            credentials,
            tls,
            retry: self.retry,
            limiter: self.limiter.unwrap_or_else(RateLimiter::process),
            signer: Mutex::new(Signer::new()),
            offset: Mutex::new(ClockOffset::ZERO),
        };
        inner.validate()?;
        log::debug!(
            "client for {} in {} as {}{}",
            inner.route.endpoint,
            inner.region,
            inner.credentials.secret_id(),
            if inner.credentials.has_token() {
                " (temporary credentials)"
            } else {
                ""
            }
        );
        Ok(Client {
            inner: Arc::new(inner),
        })
    }
}

/// A blocking client of `DescribeDeviceCertificate`.
///
/// Cheap to clone; clones share the signing-key cache, the clock correction and the rate
/// limiter, and can be used from several threads at once.
///
/// ```no_run
/// use mqttcert::{Client, Credentials};
/// use mqttcert_core::check::Policy;
///
/// let credentials = Credentials::new("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "…")?;
/// let client = Client::builder()
///     .region("ap-guangzhou")
///     .credentials(credentials)
///     .build()?;
/// let checked = client.check("mqtt-jbgwp4ae", "0eef68a582b9…", &Policy::default())?;
/// println!("{}", checked.verdict);
/// # Ok::<(), mqttcert::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    route: Route,
    host_header: String,
    region: String,
    language: Option<Language>,
    credentials: Credentials,
    tls: Option<Arc<ClientConfig>>,
    retry: RetryPolicy,
    limiter: Arc<RateLimiter>,
    signer: Mutex<Signer>,
    /// Server time minus local time, learnt from a `SignatureExpire` reply.
    offset: Mutex<ClockOffset>,
}

impl Client {
    /// Options, starting from the defaults: [`DEFAULT_ENDPOINT`], [`DEFAULT_TIMEOUT`],
    /// [`RetryPolicy::default`], the proxy from `HTTPS_PROXY`, the web roots.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            region: None,
            credentials: None,
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            language: None,
            retry: RetryPolicy::default(),
            proxy: ProxyChoice::FromEnv,
            limiter: None,
        }
    }

    /// Asks the service about the certificate `serial` of instance `instance_id`.
    ///
    /// Retries, within the [`RetryPolicy`], on rate limits and server errors of the API, 5xx
    /// statuses and network failures. When the API answers `AuthFailure.SignatureExpire`, the
    /// clock offset is taken from the reply's `Date` (or its message) and the request signed
    /// again, once; later calls keep the correction.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for an error the API answered (after retries, if it was retryable),
    /// [`Error::Config`] for an instance id or serial the core refuses, and the network, TLS,
    /// HTTP and reply errors of the last attempt.
    pub fn describe(&self, instance_id: &str, serial: &str) -> Result<Described, Error> {
        self.inner.describe(instance_id, serial)
    }

    /// [`Client::describe`], then the verdict under `policy`.
    ///
    /// # Errors
    ///
    /// As [`Client::describe`].
    pub fn check(
        &self,
        instance_id: &str,
        serial: &str,
        policy: &Policy,
    ) -> Result<Checked, Error> {
        let described = self.describe(instance_id, serial)?;
        let judged_at_ms = self
            .inner
            .offset()
            .correct_ms(unix_now().as_millis() as u64);
        let verdict = check::judge(&described.record, serial, judged_at_ms, policy);
        log::info!(
            "checked SN {serial} in {} ms: {verdict}",
            described.elapsed.as_millis()
        );
        Ok(Checked {
            described,
            verdict,
            judged_at_ms,
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.route.endpoint
    }

    /// The current correction of the local clock.
    pub fn clock_offset(&self) -> ClockOffset {
        self.inner.offset()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.route.endpoint)
            .field("proxy", &self.inner.route.proxy)
            .field("region", &self.inner.region)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            host: &self.host_header,
            region: &self.region,
            language: self.language,
        }
    }

    fn offset(&self) -> ClockOffset {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_offset(&self, offset: ClockOffset) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) = offset;
    }

    /// Signs a request for `query` at the current corrected time into `buf`.
    fn sign(
        &self,
        query: &DescribeDeviceCertificate<'_>,
        buf: &mut [u8],
    ) -> Result<(usize, u64), Error> {
        let timestamp = self.offset().correct(unix_now().as_secs());
        let mut signer = self.signer.lock().unwrap_or_else(PoisonError::into_inner);
        let credential = self.credentials.as_core();
        let len = query
            .write_request(buf, &self.endpoint(), &credential, &mut signer, timestamp)
            .map_err(|err| match err {
                request::BuildError::Input(input) => refused(input),
                other => Error::config_because("the request cannot be written", other),
            })?;
        Ok((len, timestamp))
    }

    /// Checks the host, the region and the credential as the core will, so that a bad one is
    /// reported by `build` rather than by the first call.
    fn validate(&self) -> Result<(), Error> {
        let call = Call {
            host: &self.host_header,
            service: request::SERVICE,
            action: request::DESCRIBE_DEVICE_CERTIFICATE,
            version: request::VERSION,
            region: Some(&self.region),
            language: self.language,
            timestamp: 0,
            payload: Payload::Json {
                content_type: request::JSON,
                body: b"{}",
            },
        };
        call.validate(&self.credentials.as_core()).map_err(refused)
    }

    fn request_capacity(&self) -> usize {
        request::DESCRIBE_REQUEST_CAPACITY + self.credentials.token_len()
    }

    fn describe(&self, instance_id: &str, serial: &str) -> Result<Described, Error> {
        let query = DescribeDeviceCertificate {
            instance_id,
            serial,
        };
        let started = Instant::now();
        let mut request = vec![0; self.request_capacity()];
        let mut reply = vec![0; response::REPLY_CAPACITY];
        let mut record = Box::new(DeviceCertificate::new());
        let mut attempts = 0;
        let mut resigned = false;

        loop {
            attempts += 1;
            let waited = self.limiter.wait();
            let (len, timestamp) = self.sign(&query, &mut request)?;
            log::debug!(
                "attempt {attempts} for SN {serial}: signed at {timestamp} (clock offset {} s, \
                 waited {} ms for a slot)",
                self.offset().secs(),
                waited.as_millis()
            );

            record.clear();
            let outcome = transport::exchange(
                &self.route,
                self.tls.as_ref(),
                &request[..len],
                &mut reply,
                &mut record,
            );
            let err = match outcome {
                Ok(Reply {
                    answer: Answer::Certificate,
                    date,
                }) => {
                    let elapsed = started.elapsed();
                    log::debug!(
                        "SN {serial} described in {} ms after {attempts} attempt(s)",
                        elapsed.as_millis()
                    );
                    return Ok(Described {
                        record,
                        server_date: date,
                        attempts,
                        elapsed,
                    });
                }
                Ok(Reply {
                    answer: Answer::Error(api),
                    date,
                }) => {
                    let failure = ApiFailure::from(&api);
                    if failure.class == ErrorClass::ClockSkew
                        && !resigned
                        && let Some(offset) = self.learn_offset(date, &failure.message)
                    {
                        log::debug!(
                            "{}: the server's clock is {:+} s from ours; signing again",
                            failure.code,
                            offset.secs()
                        );
                        self.set_offset(offset);
                        resigned = true;
                        continue;
                    }
                    Error::Api(failure)
                }
                Err(err) => err,
            };

            if !err.is_retryable() {
                return Err(err);
            }
            match self
                .retry
                .next_delay(attempts, started.elapsed(), fastrand::f64())
            {
                Some(delay) => {
                    log::debug!(
                        "attempt {attempts} for SN {serial} failed: {}; retrying in {} ms",
                        chain(&err),
                        delay.as_millis()
                    );
                    std::thread::sleep(delay);
                }
                None => {
                    log::debug!("attempt {attempts} for SN {serial} failed; giving up");
                    return Err(err);
                }
            }
        }
    }

    /// The clock offset shown by a `SignatureExpire` reply: from its `Date`, or else from
    /// the server time its message names.
    fn learn_offset(&self, date: Option<u64>, message: &str) -> Option<ClockOffset> {
        let local = unix_now().as_secs();
        date.map(|server| ClockOffset::from_date(server, local))
            .or_else(|| ClockOffset::from_signature_expire(message, local))
    }
}

/// An input the core refuses: a credential error for the key's parts, a configuration error
/// for anything else.
fn refused(input: InvalidInput) -> Error {
    match input.field {
        Field::SecretId | Field::SecretKey | Field::Token => Error::Credentials {
            what: "the core refuses them".to_owned(),
            source: Some(Box::new(input)),
        },
        _ => Error::config_because("invalid input", input),
    }
}

/// An error with its causes, on one line.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The local clock, as time since the Unix epoch (zero if it is set before 1970).
fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
