//! A small blocking client for tests: requests signed by this crate's own TC3 code (not the
//! core's), written as raw HTTP/1.1 so that a test can tamper with any byte before sending.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::api::{ACTION, SERVICE, VERSION};
use crate::tc3::{self, Canonical};

/// A request as bytes-to-be: method, target, headers in order, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRequest {
    /// `POST`, `GET`, …
    pub method: String,
    /// `/` or `/?query`.
    pub target: String,
    /// Header names and values, written in this order.
    pub headers: Vec<(String, String)>,
    /// The body; a `Content-Length` header is added when writing.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The value of the first header of this name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces the header of this name, or adds it.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name.to_owned(), value)),
        }
    }

    /// Removes every header of this name.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// HTTP/1.1 bytes, with `Content-Length` for POST and for any non-empty body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.method == "POST" || !self.body.is_empty() {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// What to sign: every input of a TC3 request.
#[derive(Clone)]
pub struct Call {
    /// The `Host` header exactly as it is to be sent (and signed), e.g. `127.0.0.1:8080`.
    pub host: String,
    /// The SecretId.
    pub secret_id: String,
    /// The secret key; `Debug` hides it.
    pub secret_key: String,
    /// The session token sent as `X-TC-Token`, unsigned.
    pub token: Option<String>,
    /// `X-TC-Action`.
    pub action: String,
    /// `X-TC-Version`.
    pub version: String,
    /// `X-TC-Region`, or none to leave the header out.
    pub region: Option<String>,
    /// `X-TC-Timestamp`, Unix seconds.
    pub timestamp: i64,
    /// `POST` (payload is the body) or `GET` (payload is the query string).
    pub method: String,
    /// `Content-Type`, signed as written.
    pub content_type: String,
    /// The JSON body of a POST, or the query string of a GET.
    pub payload: String,
    /// Further headers to send and sign, e.g. `("x-tc-action", "DescribeDeviceCertificate")`.
    pub extra_signed: Vec<(String, String)>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("host", &self.host)
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<hidden>")
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("action", &self.action)
            .field("timestamp", &self.timestamp)
            .field("method", &self.method)
            .field("payload", &self.payload)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// `DescribeDeviceCertificate` as a POST with a JSON body, in region `ap-guangzhou`.
    pub fn describe(
        host: &str,
        secret_id: &str,
        secret_key: &str,
        instance_id: &str,
        serial: &str,
        timestamp: i64,
    ) -> Self {
        let payload = serde_json::json!({
            "DeviceCertificateSn": serial,
            "InstanceId": instance_id,
        })
        .to_string();
        Self {
            host: host.to_owned(),
            secret_id: secret_id.to_owned(),
            secret_key: secret_key.to_owned(),
            token: None,
            action: ACTION.to_owned(),
            version: VERSION.to_owned(),
            region: Some("ap-guangzhou".to_owned()),
            timestamp,
            method: "POST".to_owned(),
            content_type: "application/json".to_owned(),
            payload,
            extra_signed: Vec::new(),
        }
    }

    /// The same call as a GET with a form-encoded query.
    pub fn into_get(mut self, instance_id: &str, serial: &str) -> Self {
        self.method = "GET".to_owned();
        self.content_type = "application/x-www-form-urlencoded".to_owned();
        self.payload = format!("InstanceId={instance_id}&DeviceCertificateSn={serial}");
        self
    }

    /// Signs the call and lays it out as a request; the connection closes after the reply.
    pub fn sign(&self) -> RawRequest {
        let is_post = self.method == "POST";
        let mut signed: Vec<(&str, &str)> = vec![
            ("content-type", self.content_type.as_str()),
            ("host", self.host.as_str()),
        ];
        signed.extend(
            self.extra_signed
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        signed.sort_by(|a, b| a.0.cmp(b.0));

        let canonical = Canonical {
            method: &self.method,
            query: if is_post { "" } else { &self.payload },
            headers: &signed,
            payload: if is_post {
                self.payload.as_bytes()
            } else {
                b""
            },
        };
        let signature = tc3::sign(
            &canonical,
            &self.secret_id,
            &self.secret_key,
            SERVICE,
            self.timestamp,
        );

        let mut headers = vec![
            ("Host".to_owned(), self.host.clone()),
            ("Content-Type".to_owned(), self.content_type.clone()),
            ("X-TC-Action".to_owned(), self.action.clone()),
            ("X-TC-Version".to_owned(), self.version.clone()),
            ("X-TC-Timestamp".to_owned(), self.timestamp.to_string()),
        ];
        if let Some(region) = &self.region {
            headers.push(("X-TC-Region".to_owned(), region.clone()));
        }
        if let Some(token) = &self.token {
            headers.push(("X-TC-Token".to_owned(), token.clone()));
        }
        // An extra signed header that is already sent keeps the value sent.
        for (name, value) in &self.extra_signed {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                headers.push((name.clone(), value.clone()));
            }
        }
        headers.push(("Authorization".to_owned(), signature.authorization));
        headers.push(("Connection".to_owned(), "close".to_owned()));

        RawRequest {
            method: self.method.clone(),
            target: if is_post {
                "/".to_owned()
            } else {
                format!("/?{}", self.payload)
            },
            headers,
            body: if is_post {
                self.payload.clone().into_bytes()
            } else {
                Vec::new()
            },
        }
    }
}

/// A reply as read off the wire.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked if it came chunked.
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of the first header of this name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// `Response.Error.Code`, or `None` for a success.
    pub fn error_code(&self) -> Option<String> {
        self.json()["Response"]["Error"]["Code"]
            .as_str()
            .map(str::to_owned)
    }
}

/// Sends the bytes on a new connection and reads one reply (`Content-Length` or chunked),
/// within `timeout` for each read.
///
/// # Errors
///
/// I/O errors, a timeout, or `InvalidData` when the reply is not well-formed HTTP.
pub fn send(addr: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(request)?;
    read_reply(&mut stream)
}

/// Reads one reply from a stream.
///
/// # Errors
///
/// As [`send`].
pub fn read_reply(stream: &mut impl Read) -> io::Result<Reply> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];

    // The head.
    let (head_len, status, headers) = loop {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        if let httparse::Status::Complete(len) =
            response.parse(&buf).map_err(|_| invalid("bad head"))?
        {
            let headers = response
                .headers
                .iter()
                .map(|h| {
                    let value = String::from_utf8_lossy(h.value).into_owned();
                    (h.name.to_owned(), value)
                })
                .collect::<Vec<_>>();
            break (len, response.code.unwrap_or(0), headers);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut reply = Reply {
        status,
        headers,
        body: buf.split_off(head_len),
    };

    // The body.
    let fill = |stream: &mut dyn Read, body: &mut Vec<u8>, until: &dyn Fn(&[u8]) -> bool| {
        let mut chunk = [0u8; 4096];
        while !until(body) {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Ok(())
    };
    if reply
        .header("Transfer-Encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        fill(stream, &mut reply.body, &|b: &[u8]| {
            b.ends_with(b"0\r\n\r\n")
        })?;
        reply.body = dechunk(&reply.body).ok_or_else(|| invalid("bad chunks"))?;
    } else {
        let len: usize = reply
            .header("Content-Length")
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| invalid("no Content-Length"))?;
        fill(stream, &mut reply.body, &|b: &[u8]| b.len() >= len)?;
        reply.body.truncate(len);
    }
    Ok(reply)
}

/// Decodes a chunked body that ends with the last chunk and no trailers.
pub fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return (data == b"\r\n").then_some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size..)?.strip_prefix(b"\r\n")?;
    }
}
