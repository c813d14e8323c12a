//! TC3-HMAC-SHA256, from the server's side: the canonical request, the string to sign, the
//! signing key and the check of a received signature.
//!
//! Written from the API reference, independently of `mqttcert-core`'s signer, so that the two
//! can catch each other's mistakes. [`sign`] is the client half, for tests that need a request
//! signed by something other than the code under test.

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::time::utc_date;

type HmacSha256 = Hmac<Sha256>;

/// The algorithm name that opens an `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The last element of every credential scope.
pub const TERMINATOR: &str = "tc3_request";

/// The parts of a request that the signature covers.
#[derive(Clone, Copy, Debug)]
pub struct Canonical<'a> {
    /// `POST` or `GET`, as sent.
    pub method: &'a str,
    /// The query string as sent, without `?`; empty for POST.
    pub query: &'a str,
    /// Signed header names (lowercase, in `SignedHeaders` order) with their values as received.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes.
    pub payload: &'a [u8],
}

impl Canonical<'_> {
    /// The `SignedHeaders` list: the names joined by `;`, in the order given.
    pub fn signed_headers(&self) -> String {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        names.join(";")
    }

    /// The canonical request: method, URI `/`, query, one `name:value` line per signed header
    /// (value trimmed and lowercased), the signed header list and the payload's hash.
    pub fn request(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str(self.method);
        out.push_str("\n/\n");
        out.push_str(self.query);
        out.push('\n');
        for (name, value) in self.headers {
            out.push_str(name);
            out.push(':');
            out.push_str(&value.trim().to_ascii_lowercase());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.signed_headers());
        out.push('\n');
        out.push_str(&hex_sha256(self.payload));
        out
    }
}

/// `date/service/tc3_request`.
pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/{TERMINATOR}")
}

/// The string to sign: algorithm, timestamp, credential scope and the canonical request's hash,
/// one per line.
pub fn string_to_sign(timestamp: i64, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        hex_sha256(canonical_request.as_bytes())
    )
}

/// The day's signing key: three chained HMACs over the date, the service and the terminator.
pub fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let mut seed = Vec::with_capacity(3 + secret_key.len());
    seed.extend_from_slice(b"TC3");
    seed.extend_from_slice(secret_key.as_bytes());

    let secret_date = hmac(&seed, date.as_bytes());
    let secret_service = hmac(&secret_date, service.as_bytes());
    hmac(&secret_service, TERMINATOR.as_bytes())
}

/// The signature of a string to sign, as raw bytes.
pub fn signature(key: &[u8; 32], string_to_sign: &str) -> [u8; 32] {
    hmac(key, string_to_sign.as_bytes())
}

/// Checks a received signature in constant time.
pub fn verify(key: &[u8; 32], string_to_sign: &str, received: &[u8]) -> bool {
    let mut mac = new_mac(key);
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(received).is_ok()
}

/// What [`sign`] produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// `date/service/tc3_request`.
    pub credential_scope: String,
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The signature, lowercase hex.
    pub signature: String,
    /// The whole `Authorization` header value.
    pub authorization: String,
}

/// Signs a request as a client does; the emulator's own tests use it to build requests.
pub fn sign(
    canonical: &Canonical<'_>,
    secret_id: &str,
    secret_key: &str,
    service: &str,
    timestamp: i64,
) -> Signed {
    let date = utc_date(timestamp);
    let credential_scope = credential_scope(&date, service);
    let canonical_request = canonical.request();
    let string_to_sign = string_to_sign(timestamp, &credential_scope, &canonical_request);
    let key = signing_key(secret_key, &date, service);
    let signature = hex(&signature(&key, &string_to_sign));
    let authorization = format!(
        "{ALGORITHM} Credential={secret_id}/{credential_scope}, SignedHeaders={}, Signature={signature}",
        canonical.signed_headers()
    );

    Signed {
        credential_scope,
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}

/// A parsed `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The SecretId.
    pub secret_id: &'a str,
    /// The credential scope's date, `yyyy-mm-dd`.
    pub date: &'a str,
    /// The credential scope's service.
    pub service: &'a str,
    /// Signed header names, in the order given.
    pub signed_headers: Vec<&'a str>,
    /// The signature's 32 bytes.
    pub signature: [u8; 32],
}

impl<'a> Authorization<'a> {
    /// Parses `TC3-HMAC-SHA256 Credential=id/date/service/tc3_request, SignedHeaders=a;b,
    /// Signature=hex`. The three parts may come in any order; a space after each comma is
    /// optional.
    ///
    /// # Errors
    ///
    /// A sentence saying what is wrong, for the `AuthFailure.InvalidAuthorization` message.
    pub fn parse(header: &'a str) -> Result<Self, &'static str> {
        let rest = header
            .trim()
            .strip_prefix(ALGORITHM)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or("Authorization does not start with TC3-HMAC-SHA256.")?;

        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (key, value) = part
                .trim()
                .split_once('=')
                .ok_or("Authorization has a part without '='.")?;
            let slot = match key {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => return Err("Authorization has an unknown part."),
            };
            if slot.replace(value).is_some() {
                return Err("Authorization repeats a part.");
            }
        }
        let credential = credential.ok_or("Authorization lacks Credential.")?;
        let signed_headers = signed_headers.ok_or("Authorization lacks SignedHeaders.")?;
        let signature = signature.ok_or("Authorization lacks Signature.")?;

        let mut scope = credential.split('/');
        let (Some(secret_id), Some(date), Some(service), Some(TERMINATOR), None) = (
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
        ) else {
            return Err("Credential is not SecretId/date/service/tc3_request.");
        };
        if secret_id.is_empty() || date.len() != 10 || service.is_empty() {
            return Err("Credential is not SecretId/date/service/tc3_request.");
        }

        let signed_headers: Vec<&str> = signed_headers.split(';').collect();
        let well_formed = |name: &&str| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !signed_headers.iter().all(well_formed) {
            return Err("SignedHeaders must be lowercase header names separated by ';'.");
        }

        let signature =
            unhex32(signature).ok_or("Signature is not 64 lowercase hexadecimal digits.")?;

        Ok(Self {
            secret_id,
            date,
            service,
            signed_headers,
            signature,
        })
    }
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn hex_sha256(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }

    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_round_trip() {
        let headers = [("content-type", "application/json"), ("host", "h")];
        let canonical = Canonical {
            method: "POST",
            query: "",
            headers: &headers,
            payload: b"{}",
        };
        let signed = sign(&canonical, "AKID", "key", "mqtt", 1_700_000_000);
        let auth = Authorization::parse(&signed.authorization).unwrap();
        assert_eq!(auth.secret_id, "AKID");
        assert_eq!(auth.date, "2023-11-14");
        assert_eq!(auth.service, "mqtt");
        assert_eq!(auth.signed_headers, ["content-type", "host"]);
        assert_eq!(hex(&auth.signature), signed.signature);
    }

    #[test]
    fn malformed_authorizations() {
        let sig = "0".repeat(64);
        for bad in [
            String::new(),
            "TC3-HMAC-SHA1 Credential=a/2024-01-01/mqtt/tc3_request".to_owned(),
            format!("TC3-HMAC-SHA256 Credential=a/2024-01-01/mqtt, SignedHeaders=host, Signature={sig}"),
            format!("TC3-HMAC-SHA256 Credential=a/2024-01-01/mqtt/tc3_request, Signature={sig}"),
            format!("TC3-HMAC-SHA256 Credential=a/2024-01-01/mqtt/tc3_request, SignedHeaders=Host, Signature={sig}"),
            "TC3-HMAC-SHA256 Credential=a/2024-01-01/mqtt/tc3_request, SignedHeaders=host, Signature=zz".to_owned(),
            format!("TC3-HMAC-SHA256 Credential=a/2024-01-01/mqtt/tc3_request, SignedHeaders=host, Signature={sig}, Foo=1"),
        ] {
            assert!(Authorization::parse(&bad).is_err(), "{bad}");
        }
    }
}
