//! The HTTP/1.1 reply: status line and headers through `httparse`, then the body framed by
//! `Content-Length`, by chunked transfer coding (decoded in place), or by the end of the
//! connection.
//!
//! Reading is restartable: call [`read`] each time more bytes have arrived; it answers
//! [`Read::Incomplete`] until the whole message is there and does not modify the buffer before
//! then.

use core::fmt;
use core::ops::Range;

use crate::time;

/// Most header fields a reply may carry.
pub const MAX_HEADERS: usize = 32;

/// The outcome of one attempt to read a reply.
#[derive(Debug, PartialEq, Eq)]
pub enum Read<T> {
    /// More bytes are needed; read more into the same buffer and call again.
    Incomplete,
    /// The whole message is there.
    Complete(T),
}

/// A complete HTTP reply, borrowed from the buffer it was read into.
#[derive(Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header, if present.
    pub content_type: Option<&'a str>,
    /// The `Date` header in Unix seconds, if present and an IMF-fixdate.
    pub date: Option<u64>,
    /// The body, de-chunked.
    pub body: &'a [u8],
}

/// Why a reply is not a usable HTTP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HttpError {
    /// The head does not fit in the buffer.
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// The status line or a header line is not valid HTTP/1.x, or the status code is outside
    /// 100–599.
    MalformedHead,
    /// Both `Content-Length` and `Transfer-Encoding`: a request-smuggling pattern, refused.
    AmbiguousFraming,
    /// A `Content-Length` that is not a decimal number, or several that disagree.
    InvalidContentLength,
    /// A transfer coding other than `chunked`.
    UnsupportedTransferEncoding,
    /// A chunk-size line that is not valid.
    InvalidChunk,
    /// The body does not fit in the buffer.
    BodyTooLarge,
    /// The connection ended before the message did.
    Truncated,
    /// Bytes follow the end of the announced body.
    TrailingData,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpError::HeadTooLarge => "the reply's head does not fit in the buffer",
            HttpError::TooManyHeaders => "the reply has too many header fields",
            HttpError::MalformedHead => "the reply's head is not valid HTTP/1.1",
            HttpError::AmbiguousFraming => {
                "the reply has both Content-Length and Transfer-Encoding"
            }
            HttpError::InvalidContentLength => "the reply's Content-Length is not valid",
            HttpError::UnsupportedTransferEncoding => {
                "the reply uses a transfer coding other than chunked"
            }
            HttpError::InvalidChunk => "the reply's chunked body is malformed",
            HttpError::BodyTooLarge => "the reply's body does not fit in the buffer",
            HttpError::Truncated => "the connection closed before the reply was complete",
            HttpError::TrailingData => "the reply is longer than its framing announces",
        })
    }
}

impl core::error::Error for HttpError {}

/// How the body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
    None,
}

/// What the head says, kept as positions so that the buffer can be borrowed anew.
struct Head {
    len: usize,
    status: u16,
    content_type: Option<Range<usize>>,
    date: Option<u64>,
    framing: Framing,
}

/// Reads the reply in `buf[..filled]`.
///
/// `buf.len()` is the capacity: a head or body that cannot fit in it is an error rather than
/// [`Read::Incomplete`]. `closed` says the peer has closed the connection, so nothing more will
/// come.
///
/// # Errors
///
/// An [`HttpError`] when the bytes cannot be a complete, well-framed reply.
pub fn read(buf: &mut [u8], filled: usize, closed: bool) -> Result<Read<Message<'_>>, HttpError> {
    let filled = filled.min(buf.len());
    // A full buffer is reported as too small before a closed connection is reported as a cut
    // reply: reading into a full buffer gives nothing, which a caller may take for the end.
    let head = match parse_head(&buf[..filled])? {
        Some(head) => head,
        None if filled == buf.len() => return Err(HttpError::HeadTooLarge),
        None if closed => return Err(HttpError::Truncated),
        None => return Ok(Read::Incomplete),
    };

    let (head_bytes, rest) = buf.split_at_mut(head.len);
    let capacity = rest.len();
    let received = filled - head.len;
    let body_len = match head.framing {
        Framing::None => {
            if received > 0 {
                return Err(HttpError::TrailingData);
            }
            0
        }
        Framing::Length(n) => {
            if n > capacity as u64 {
                return Err(HttpError::BodyTooLarge);
            }
            let n = n as usize;
            if received < n {
                return if closed {
                    Err(HttpError::Truncated)
                } else {
                    Ok(Read::Incomplete)
                };
            }
            if received > n {
                return Err(HttpError::TrailingData);
            }
            n
        }
        Framing::Chunked => match scan_chunks(&rest[..received], capacity)? {
            Some(end) if end < received => return Err(HttpError::TrailingData),
            Some(_) => decode_chunks(rest),
            None if received == capacity => return Err(HttpError::BodyTooLarge),
            None if closed => return Err(HttpError::Truncated),
            None => return Ok(Read::Incomplete),
        },
        Framing::UntilClose => {
            if !closed {
                if received == capacity {
                    return Err(HttpError::BodyTooLarge);
                }
                return Ok(Read::Incomplete);
            }
            received
        }
    };

    trace!("reply: status {}, body of {} bytes", head.status, body_len);
    let head_bytes: &[u8] = head_bytes;
    Ok(Read::Complete(Message {
        status: head.status,
        content_type: head
            .content_type
            .and_then(|range| core::str::from_utf8(&head_bytes[range]).ok()),
        date: head.date,
        body: &rest[..body_len],
    }))
}

/// Parses the head; `None` while it is incomplete.
///
/// Out of line, so that the header array lives only while the head is parsed.
#[inline(never)]
fn parse_head(bytes: &[u8]) -> Result<Option<Head>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
        Err(_) => return Err(HttpError::MalformedHead),
    };
    // httparse takes any three digits; valid status codes run from 100 to 599
    // (RFC 9110, section 15), and one below 100 would read as a bodiless interim reply.
    let status = response
        .code
        .filter(|code| (100..=599).contains(code))
        .ok_or(HttpError::MalformedHead)?;

    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut content_type = None;
    let mut date = None;
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = parse_content_length(header.value)?;
            if content_length.is_some_and(|seen| seen != n) {
                return Err(HttpError::InvalidContentLength);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Only a single `chunked` coding is supported; a repeated header is a list too.
            if transfer_encoding || !header.value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Err(HttpError::UnsupportedTransferEncoding);
            }
            transfer_encoding = true;
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(offset_of(bytes, header.value.trim_ascii()));
        } else if name.eq_ignore_ascii_case("date") {
            date = time::parse_http_date(header.value);
            if date.is_none() {
                warn!("ignoring a Date header that is not an IMF-fixdate");
            }
        }
    }

    let bodiless = status < 200 || status == 204 || status == 304;
    let framing = match (content_length, chunked) {
        (Some(_), true) => return Err(HttpError::AmbiguousFraming),
        _ if bodiless => Framing::None,
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
        (None, false) => Framing::UntilClose,
    };
    Ok(Some(Head {
        len,
        status,
        content_type,
        date,
        framing,
    }))
}

/// The position of `part` inside `whole`; `part` must be a sub-slice of it.
fn offset_of(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    start..start + part.len()
}

/// `Content-Length`: decimal digits only, no sign, at most 19 of them.
fn parse_content_length(value: &[u8]) -> Result<u64, HttpError> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(HttpError::InvalidContentLength);
    }
    Ok(digits
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// Walks a chunked body without changing it: `Some(end)` when the last chunk and the trailer
/// section are complete, `None` while more is needed.
fn scan_chunks(body: &[u8], capacity: usize) -> Result<Option<usize>, HttpError> {
    let mut pos = 0;
    loop {
        // httparse reads an empty size line as 0; it is malformed.
        if body.get(pos).is_some_and(|b| !b.is_ascii_hexdigit()) {
            return Err(HttpError::InvalidChunk);
        }
        let (size_line, size) = match httparse::parse_chunk_size(&body[pos..]) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(HttpError::InvalidChunk),
        };
        pos += size_line;

        if size == 0 {
            return scan_trailers(body, pos);
        }
        // The data and its CRLF must follow, and fit in the buffer.
        let data_end = usize::try_from(size)
            .ok()
            .and_then(|n| pos.checked_add(n))
            .ok_or(HttpError::BodyTooLarge)?;
        if data_end.saturating_add(2) > capacity {
            return Err(HttpError::BodyTooLarge);
        }
        let Some(crlf) = body.get(data_end..data_end + 2) else {
            return Ok(None);
        };
        if crlf != b"\r\n" {
            return Err(HttpError::InvalidChunk);
        }
        pos = data_end + 2;
    }
}

/// After the last chunk: trailer fields, ignored, then an empty line.
fn scan_trailers(body: &[u8], mut pos: usize) -> Result<Option<usize>, HttpError> {
    loop {
        let rest = &body[pos..];
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        pos += eol + 2;
        if eol == 0 {
            return Ok(Some(pos));
        }
        if rest[..eol].iter().any(|&b| b == b'\n' || b == b'\r') {
            return Err(HttpError::InvalidChunk);
        }
    }
}

/// Moves the chunks' data to the front of `body`, which [`scan_chunks`] has checked; returns
/// the decoded length.
fn decode_chunks(body: &mut [u8]) -> usize {
    let mut read = 0;
    let mut written = 0;
    while let Ok(httparse::Status::Complete((size_line, size))) =
        httparse::parse_chunk_size(&body[read..])
    {
        let size = size as usize;
        if size == 0 {
            break;
        }
        read += size_line;
        // Data only ever moves towards the front: a forward copy is enough, and it spares the
        // firmware a general `memmove`.
        for i in read..read + size {
            body[written] = body[i];
            written += 1;
        }
        read += size + 2;
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8], capacity: usize) -> Result<Read<std::vec::Vec<u8>>, HttpError> {
        let mut buf = std::vec![0u8; capacity];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(match read(&mut buf, bytes.len(), true)? {
            Read::Complete(message) => Read::Complete(message.body.to_vec()),
            Read::Incomplete => Read::Incomplete,
        })
    }

    #[test]
    fn content_length_framing() {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\
                      Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n{}";
        let mut buf = [0u8; 256];
        buf[..reply.len()].copy_from_slice(reply);
        let Read::Complete(message) = read(&mut buf, reply.len(), false).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!(message.status, 200);
        assert_eq!(message.body, b"{}");
        assert_eq!(message.content_type, Some("application/json"));
        assert_eq!(message.date, Some(784_111_777));
    }

    #[test]
    fn every_prefix_is_incomplete_until_the_end() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: y\r\n\r\n";
        let mut buf = [0u8; 256];
        for cut in 0..reply.len() {
            buf[..cut].copy_from_slice(&reply[..cut]);
            assert_eq!(read(&mut buf, cut, false), Ok(Read::Incomplete), "{cut}");
            assert_eq!(
                read(&mut buf, cut, true),
                Err(HttpError::Truncated),
                "{cut}"
            );
        }
        buf[..reply.len()].copy_from_slice(reply);
        let Read::Complete(message) = read(&mut buf, reply.len(), false).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!(message.body, b"abcde");
    }

    #[test]
    fn framing_errors() {
        let cases: [(&[u8], HttpError); 10] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
                HttpError::AmbiguousFraming,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 9999999\r\n\r\n{}",
                HttpError::BodyTooLarge,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{}",
                HttpError::TrailingData,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}",
                HttpError::Truncated,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                HttpError::UnsupportedTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                HttpError::InvalidChunk,
            ),
        ];
        for (reply, expected) in cases {
            assert_eq!(
                read_all(reply, 256),
                Err(expected),
                "{}",
                std::string::String::from_utf8_lossy(reply)
            );
        }
    }

    #[test]
    fn chunk_errors() {
        let cases: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        ];
        for reply in cases {
            assert_eq!(
                read_all(reply, 256),
                Err(HttpError::InvalidChunk),
                "{}",
                std::string::String::from_utf8_lossy(reply)
            );
        }
        let trailing = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nextra";
        assert_eq!(read_all(trailing, 256), Err(HttpError::TrailingData));
    }

    #[test]
    fn head_larger_than_the_buffer() {
        let reply = b"HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let mut buf = [0u8; 40];
        buf.copy_from_slice(&reply[..40]);
        assert_eq!(read(&mut buf, 40, false), Err(HttpError::HeadTooLarge));
        // Reading into a full buffer gives nothing, which looks like a close: still too large.
        assert_eq!(read(&mut buf, 40, true), Err(HttpError::HeadTooLarge));
    }

    #[test]
    fn chunks_beyond_a_full_buffer() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n";
        // The buffer ends within the second chunk's size line.
        let mut buf = [0u8; 57];
        buf.copy_from_slice(&reply[..57]);
        assert_eq!(read(&mut buf, 57, false), Err(HttpError::BodyTooLarge));
        assert_eq!(read(&mut buf, 57, true), Err(HttpError::BodyTooLarge));
    }

    #[test]
    fn body_until_close() {
        let reply = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<html>";
        let mut buf = [0u8; 128];
        buf[..reply.len()].copy_from_slice(reply);
        assert_eq!(read(&mut buf, reply.len(), false), Ok(Read::Incomplete));
        let Read::Complete(message) = read(&mut buf, reply.len(), true).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!((message.status, message.body), (502, &b"<html>"[..]));
    }

    #[test]
    fn malformed_heads() {
        for reply in [
            &b"HTTP/1.1 2000 OK\r\n\r\n"[..],
            b"HTTP/9 200\r\n\r\n",
            b"\xff\r\n\r\n",
        ] {
            assert_eq!(read_all(reply, 64), Err(HttpError::MalformedHead));
        }
        let mut many = std::string::String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..=MAX_HEADERS {
            many.push_str(&std::format!("X-{i}: v\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(
            read_all(many.as_bytes(), 4096),
            Err(HttpError::TooManyHeaders)
        );
    }
}
