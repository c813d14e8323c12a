//! The API layer: from a parsed HTTP request to the JSON envelope of the reply.
//!
//! Checks run in the order the service appears to use: common parameters, the `Authorization`
//! header, the time window, the key, the signature, the token, the rate limit, then the action
//! and its parameters. The first failure is the answer.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::fleet::{Certificate, Fleet};
use crate::tc3::{self, Authorization, Canonical};
use crate::time::utc_date;

/// The service name in credential scopes.
pub const SERVICE: &str = "mqtt";
/// The only action served.
pub const ACTION: &str = "DescribeDeviceCertificate";
/// The only version served.
pub const VERSION: &str = "2024-05-16";
/// How far a request's timestamp may be from the server's clock, in seconds.
pub const SIGNATURE_WINDOW_SECS: i64 = 300;
/// The API's rate limit for this action, requests per second and SecretId.
pub const DEFAULT_RATE_LIMIT: u32 = 20;

/// Regions accepted besides those of the fleet's instances.
pub const KNOWN_REGIONS: &[&str] = &[
    "ap-guangzhou",
    "ap-shanghai",
    "ap-nanjing",
    "ap-beijing",
    "ap-chengdu",
    "ap-chongqing",
    "ap-hongkong",
    "ap-singapore",
    "ap-jakarta",
    "ap-bangkok",
    "ap-seoul",
    "ap-tokyo",
    "na-siliconvalley",
    "na-ashburn",
    "eu-frankfurt",
    "sa-saopaulo",
];

const MAX_FIELD_LEN: usize = 64;

/// A request as the HTTP layer received it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The method, as sent.
    pub method: String,
    /// The request target, e.g. `/` or `/?a=b`.
    pub target: String,
    /// Header names and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The request whose head httparse read, without its body, which follows the head.
    pub fn from_head(head: &httparse::Request<'_, '_>) -> Self {
        Self {
            method: head.method.unwrap_or_default().to_owned(),
            target: head.path.unwrap_or_default().to_owned(),
            headers: head
                .headers
                .iter()
                .map(|h| {
                    let value = String::from_utf8_lossy(h.value).into_owned();
                    (h.name.to_owned(), value)
                })
                .collect(),
            body: Vec::new(),
        }
    }

    /// The first header of this name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }
}

/// What the API layer decided, for the reply and the log line.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The action named in the request, if any.
    pub action: Option<String>,
    /// The SecretId named in the request, if any.
    pub secret_id: Option<String>,
    /// The error code, or `None` for a success.
    pub code: Option<String>,
    /// The reply body: the `{"Response": …}` envelope.
    pub body: String,
}

/// An API error: a code and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// E.g. `AuthFailure.SignatureFailure`.
    pub code: &'static str,
    /// A sentence for a human.
    pub message: String,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The error envelope with a fresh RequestId.
pub fn error_body(code: &str, message: &str) -> String {
    json!({"Response": {
        "Error": {"Code": code, "Message": message},
        "RequestId": request_id(),
    }})
    .to_string()
}

/// A fresh RequestId in the shape of a version 4 UUID.
pub fn request_id() -> String {
    let mut b = [0u8; 16];
    fastrand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = tc3::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Requests per second per SecretId, over a sliding one-second window. Refused requests are not
/// counted, so a client that backs off gets through.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per second and SecretId.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request at `now`; false when it is over the limit.
    pub fn admit(&self, secret_id: &str, now: Instant) -> bool {
        let mut seen = match self.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        let times = seen.entry(secret_id.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            times.pop_front();
        }
        if times.len() >= self.limit as usize {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// The API: the fleet and the rate limiter.
#[derive(Debug)]
pub struct Api {
    fleet: Fleet,
    limiter: Option<RateLimiter>,
}

impl Api {
    /// An API over `fleet`, rate limited when `rate_limit` is given.
    pub fn new(fleet: Fleet, rate_limit: Option<u32>) -> Self {
        Self {
            fleet,
            limiter: rate_limit.map(RateLimiter::new),
        }
    }

    /// Answers one request. `now_secs` is the server's notion of now, in Unix seconds.
    pub fn handle(&self, request: &Request, now_secs: i64) -> Outcome {
        let mut outcome = Outcome {
            action: request.header("X-TC-Action").map(str::to_owned),
            secret_id: None,
            code: None,
            body: String::new(),
        };
        let result = self.answer(request, now_secs, &mut outcome.secret_id);
        match result {
            Ok(certificate) => {
                outcome.body = success_body(certificate);
            }
            Err(e) => {
                outcome.body = error_body(e.code, &e.message);
                outcome.code = Some(e.code.to_owned());
            }
        }
        outcome
    }

    fn answer(
        &self,
        request: &Request,
        now_secs: i64,
        secret_id_seen: &mut Option<String>,
    ) -> Result<&Certificate, ApiError> {
        // Common parameters.
        let method = request.method.as_str();
        if method != "POST" && method != "GET" {
            return Err(ApiError::new(
                "UnsupportedProtocol",
                format!("The HTTP method {method} is not supported; use POST or GET."),
            ));
        }
        let action = required_header(request, "X-TC-Action", "Action")?;
        let version = required_header(request, "X-TC-Version", "Version")?;
        let timestamp = required_header(request, "X-TC-Timestamp", "Timestamp")?;
        let timestamp: i64 = timestamp
            .trim()
            .parse()
            .ok()
            .filter(|t: &i64| *t >= 0)
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidParameter",
                    format!("The parameter `Timestamp` is not a Unix time: `{timestamp}`."),
                )
            })?;

        // The Authorization header.
        let authorization = request.header("Authorization").ok_or_else(|| {
            ApiError::new(
                "AuthFailure.InvalidAuthorization",
                "The request has no Authorization header.",
            )
        })?;
        let auth = Authorization::parse(authorization)
            .map_err(|why| ApiError::new("AuthFailure.InvalidAuthorization", why))?;
        *secret_id_seen = Some(auth.secret_id.to_owned());
        if auth.service != SERVICE {
            return Err(ApiError::new(
                "AuthFailure.InvalidAuthorization",
                format!(
                    "The credential scope names service `{}`; this endpoint serves `{SERVICE}`.",
                    auth.service
                ),
            ));
        }
        for required in ["content-type", "host"] {
            if !auth.signed_headers.contains(&required) {
                return Err(ApiError::new(
                    "AuthFailure.InvalidAuthorization",
                    format!("SignedHeaders must include `{required}`."),
                ));
            }
        }

        // The time window, with the server's time in the message as the service writes it.
        if (timestamp - now_secs).abs() > SIGNATURE_WINDOW_SECS {
            return Err(ApiError::new(
                "AuthFailure.SignatureExpire",
                format!(
                    "Signature expired: timestamp {timestamp} is more than \
                     {SIGNATURE_WINDOW_SECS} s away from server time {now_secs}."
                ),
            ));
        }

        // The key and the signature.
        let credential = self.fleet.credential(auth.secret_id).ok_or_else(|| {
            ApiError::new(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        })?;
        verify_signature(request, &auth, timestamp, &credential.secret_key)?;

        // The session token is not signed; with temporary credentials it must match exactly.
        let token = request.header("X-TC-Token").filter(|t| !t.is_empty());
        match (credential.token.as_deref(), token) {
            (None, None) => {}
            (Some(expected), Some(sent)) if expected.as_bytes() == sent.as_bytes() => {}
            (None, Some(_)) => {
                return Err(ApiError::new(
                    "AuthFailure.TokenFailure",
                    "A token was sent with a permanent key.",
                ));
            }
            (Some(_), _) => {
                return Err(ApiError::new(
                    "AuthFailure.TokenFailure",
                    "The token is missing, invalid or expired.",
                ));
            }
        }

        if let Some(limiter) = &self.limiter
            && !limiter.admit(auth.secret_id, Instant::now())
        {
            return Err(ApiError::new(
                "RequestLimitExceeded",
                format!(
                    "Your current request times exceed the limit of {} requests per second.",
                    limiter.limit
                ),
            ));
        }

        // The action, version and region.
        if action != ACTION {
            return Err(ApiError::new(
                "InvalidAction",
                format!("The action `{action}` does not exist in service `{SERVICE}`."),
            ));
        }
        if version != VERSION {
            return Err(ApiError::new(
                "NoSuchVersion",
                format!("The version `{version}` of service `{SERVICE}` does not exist."),
            ));
        }
        let region = required_header(request, "X-TC-Region", "Region")?;
        let known = KNOWN_REGIONS.contains(&region)
            || self.fleet.instances.iter().any(|i| i.region == region);
        if !known {
            return Err(ApiError::new(
                "UnsupportedRegion",
                format!("The region `{region}` is not supported."),
            ));
        }

        // The parameters, then the lookup.
        let params = parameters(request)?;
        let instance = self
            .fleet
            .instance(region, &params.instance_id)
            .ok_or_else(|| {
                ApiError::new(
                    "ResourceNotFound.Instance",
                    format!(
                        "The instance `{}` does not exist in region `{region}`.",
                        params.instance_id
                    ),
                )
            })?;
        let wanted = normalise_serial(&params.serial);
        instance
            .certificates
            .iter()
            .find(|c| normalise_serial(&c.device_certificate_sn) == wanted)
            .ok_or_else(|| {
                ApiError::new(
                    "ResourceNotFound.Certificate",
                    format!(
                        "The device certificate `{}` does not exist in instance `{}`.",
                        params.serial, params.instance_id
                    ),
                )
            })
    }
}

fn required_header<'r>(
    request: &'r Request,
    header: &str,
    parameter: &str,
) -> Result<&'r str, ApiError> {
    match request.header(header) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim()),
        _ => Err(ApiError::new(
            "MissingParameter",
            format!("The request is missing the required parameter `{parameter}` ({header})."),
        )),
    }
}

/// Checks the signature of a request whose `Authorization` was parsed into `auth`, with the
/// timestamp of its `X-TC-Timestamp` and the SecretId's key: the credential date must be the
/// timestamp's UTC date, every signed header must be present, and the signature must match in
/// constant time.
///
/// # Errors
///
/// `AuthFailure.SignatureFailure`, with a message saying which check failed.
pub fn verify_signature(
    request: &Request,
    auth: &Authorization<'_>,
    timestamp: i64,
    secret_key: &str,
) -> Result<(), ApiError> {
    let failure = |message: String| ApiError::new("AuthFailure.SignatureFailure", message);

    if auth.date != utc_date(timestamp) {
        return Err(failure(format!(
            "The credential date {} is not the UTC date of timestamp {timestamp}.",
            auth.date
        )));
    }
    let mut headers = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let value = request
            .header(name)
            .ok_or_else(|| failure(format!("The signed header `{name}` is not in the request.")))?;
        headers.push((*name, value));
    }

    let is_post = request.method == "POST";
    let canonical = Canonical {
        method: &request.method,
        query: if is_post { "" } else { request.query() },
        headers: &headers,
        payload: if is_post { &request.body } else { b"" },
    };
    let canonical_request = canonical.request();
    let scope = tc3::credential_scope(auth.date, auth.service);
    let string_to_sign = tc3::string_to_sign(timestamp, &scope, &canonical_request);
    let key = tc3::signing_key(secret_key, auth.date, auth.service);

    if tc3::verify(&key, &string_to_sign, &auth.signature) {
        return Ok(());
    }
    // What the client should have signed helps it find its mistake. The canonical request
    // holds no secret unless the client signed its session token, which is hidden here.
    let shown: Vec<String> = canonical_request
        .split('\n')
        .map(|line| match line.strip_prefix("x-tc-token:") {
            Some(_) => "x-tc-token:<hidden>".to_owned(),
            None => line.to_owned(),
        })
        .collect();
    log::debug!(
        "signature mismatch; expected canonical request:\n{}",
        shown.join("\n")
    );
    log::debug!("expected string to sign:\n{string_to_sign}");
    Err(failure(
        "The provided credentials could not be validated. Please check your signature is correct."
            .to_owned(),
    ))
}

struct Parameters {
    instance_id: String,
    serial: String,
}

fn parameters(request: &Request) -> Result<Parameters, ApiError> {
    let fields: Vec<(String, Value)> = if request.method == "GET" {
        form_pairs(request.query())?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else if request.body.is_empty() {
        Vec::new()
    } else {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            _ => {
                return Err(ApiError::new(
                    "InvalidParameter",
                    "The request body is not a JSON object.",
                ));
            }
        }
    };

    let (mut instance_id, mut serial) = (None, None);
    for (name, value) in fields {
        let slot = match name.as_str() {
            "InstanceId" => &mut instance_id,
            "DeviceCertificateSn" => &mut serial,
            _ => {
                return Err(ApiError::new(
                    "UnknownParameter",
                    format!("The parameter `{name}` is not recognised."),
                ));
            }
        };
        let Value::String(text) = value else {
            return Err(ApiError::new(
                "InvalidParameter",
                format!("The parameter `{name}` must be a String."),
            ));
        };
        *slot = Some(text);
    }

    let missing = |name: &str| {
        ApiError::new(
            "MissingParameter",
            format!("The request is missing the required parameter `{name}`."),
        )
    };
    let instance_id = instance_id.ok_or_else(|| missing("InstanceId"))?;
    let serial = serial.ok_or_else(|| missing("DeviceCertificateSn"))?;

    let id_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if instance_id.is_empty()
        || instance_id.len() > MAX_FIELD_LEN
        || !instance_id.chars().all(id_ok)
    {
        return Err(ApiError::new(
            "InvalidParameterValue",
            format!("The value `{instance_id}` of `InstanceId` is not an instance id."),
        ));
    }
    let serial_ok = |c: char| c.is_ascii_hexdigit() || c == ':';
    if serial.is_empty() || serial.len() > MAX_FIELD_LEN || !serial.chars().all(serial_ok) {
        return Err(ApiError::new(
            "InvalidParameterValue",
            format!("The value `{serial}` of `DeviceCertificateSn` is not a hexadecimal serial."),
        ));
    }
    Ok(Parameters {
        instance_id,
        serial,
    })
}

/// Serials compare without case and without `:` separators.
fn normalise_serial(serial: &str) -> String {
    serial
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Decodes `a=b&c=d` with `%XX` escapes and `+` for space.
fn form_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let invalid = || ApiError::new("InvalidParameter", "The query string is not form-encoded.");
    let decode = |text: &str| -> Result<String, ApiError> {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = text.get(i + 1..i + 3).ok_or_else(invalid)?;
                    out.push(u8::from_str_radix(hex, 16).map_err(|_| invalid())?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| invalid())
    };

    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

fn success_body(c: &Certificate) -> String {
    let mut response = Map::new();
    let mut text = |name: &str, value: &str| {
        response.insert(name.to_owned(), Value::String(value.to_owned()));
    };
    text("CaSn", &c.ca_sn);
    text("CertificateSource", &c.certificate_source);
    text("ClientId", &c.client_id);
    text("DeviceCertificate", &c.device_certificate);
    text("DeviceCertificateCn", &c.device_certificate_cn);
    text("DeviceCertificateSn", &c.device_certificate_sn);
    text("Format", &c.format);
    text("OrganizationalUnit", &c.organizational_unit);
    text("Status", &c.status);
    text("RequestId", &request_id());
    for (name, value) in [
        ("CreatedTime", c.created_time),
        ("LastActivationTime", c.last_activation_time),
        ("LastInactivationTime", c.last_inactivation_time),
        ("NotAfterTime", c.not_after_time),
        ("NotBeforeTime", c.not_before_time),
        ("UpdateTime", c.update_time),
    ] {
        response.insert(name.to_owned(), Value::from(value));
    }
    json!({ "Response": response }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuid_v4() {
        let id = request_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(request_id(), id);
    }

    #[test]
    fn rate_limiter_slides() {
        let limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        assert!(limiter.admit("a", t0));
        assert!(limiter.admit("a", t0));
        assert!(!limiter.admit("a", t0 + Duration::from_millis(500)));
        assert!(limiter.admit("b", t0));
        assert!(limiter.admit("a", t0 + Duration::from_millis(1000)));
    }

    #[test]
    fn form_decoding() {
        assert_eq!(
            form_pairs("a=b%20c&d=e+f&g").unwrap(),
            [
                ("a".into(), "b c".into()),
                ("d".into(), "e f".into()),
                ("g".into(), String::new())
            ]
        );
        assert!(form_pairs("a=%zz").is_err());
        assert!(form_pairs("a=%4").is_err());
    }
}
