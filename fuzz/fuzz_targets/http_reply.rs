//! Feeds arbitrary bytes to the HTTP reply reader, [`http::read`].
//!
//! The first two bytes are not part of the reply: they choose the point at which the reply is
//! split, so that it arrives in two reads, and a third chooses the buffer's capacity around
//! the reply's length. The reader must never panic. It is also checked against what its
//! documentation promises:
//!
//! - a read with the connection closed is never `Incomplete`;
//! - an `Incomplete` read leaves the buffer as it was;
//! - reading in two steps gives the same answer as reading the whole reply at once;
//! - a complete reply read before the peer closed reads the same once it has closed;
//! - the body starts right after the head and, read against the head as httparse parses it
//!   here, is exactly the `Content-Length` bytes, the rest of the input when the connection
//!   delimits it, empty for a bodiless status, or shorter than the chunks it was decoded from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttcert_core::response::http::{self, HttpError, Message, Read};

/// A reply as the tests compare it: owned, so that two buffers can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Owned {
    status: u16,
    content_type: Option<String>,
    date: Option<u64>,
    body: Vec<u8>,
}

impl Owned {
    fn of(message: &Message<'_>) -> Self {
        Self {
            status: message.status,
            content_type: message.content_type.map(str::to_owned),
            date: message.date,
            body: message.body.to_vec(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [split_lo, split_hi, slack, reply @ ..] = data else {
        return;
    };
    let split = usize::from(u16::from_le_bytes([*split_lo, *split_hi])) % (reply.len() + 1);
    // Capacities from 128 bytes short of the reply to 127 beyond it.
    let capacity = (reply.len() + usize::from(*slack)).saturating_sub(128);

    let at_once = read_at_once(reply, capacity, false);
    let closed = read_at_once(reply, capacity, true);
    assert_ne!(closed, Ok(Read::Incomplete), "closed, yet incomplete");
    if let Ok(Read::Complete(message)) = &at_once {
        assert_eq!(
            closed,
            Ok(Read::Complete(message.clone())),
            "closing changed the reply"
        );
    }

    // The same reply in two reads into one buffer.
    let mut buf = vec![0u8; capacity];
    let first = split.min(capacity);
    buf[..first].copy_from_slice(&reply[..first]);
    let before = buf.clone();
    let start = buf.as_ptr() as usize;
    match http::read(&mut buf, first, false) {
        Ok(Read::Incomplete) => {
            assert_eq!(buf, before, "an incomplete read changed the buffer");
        }
        // A prefix may be a complete reply of its own, or already be wrong: the connection
        // ends there.
        Ok(Read::Complete(message)) => {
            check_body(&message, start, &reply[..first]);
            return;
        }
        Err(_) => return,
    }
    let filled = reply.len().min(capacity);
    buf[first..filled].copy_from_slice(&reply[first..filled]);
    let start = buf.as_ptr() as usize;
    let in_two = owned(http::read(&mut buf, filled, false), start, &reply[..filled]);
    assert_eq!(in_two, at_once, "two reads differ from one");
});

/// Reads `reply` from a fresh buffer of `capacity` bytes.
fn read_at_once(reply: &[u8], capacity: usize, closed: bool) -> Result<Read<Owned>, HttpError> {
    let mut buf = vec![0u8; capacity];
    let filled = reply.len().min(capacity);
    buf[..filled].copy_from_slice(&reply[..filled]);
    let start = buf.as_ptr() as usize;
    owned(
        http::read(&mut buf, filled, closed),
        start,
        &reply[..filled],
    )
}

/// Checks a complete reply's body and takes a copy of the reply.
fn owned(
    read: Result<Read<Message<'_>>, HttpError>,
    start: usize,
    received: &[u8],
) -> Result<Read<Owned>, HttpError> {
    Ok(match read? {
        Read::Incomplete => Read::Incomplete,
        Read::Complete(message) => {
            check_body(&message, start, received);
            Read::Complete(Owned::of(&message))
        }
    })
}

/// The body agrees with the head: `received` is what the buffer starting at address `start`
/// held before the read.
fn check_body(message: &Message<'_>, start: usize, received: &[u8]) {
    assert!(
        (100..=599).contains(&message.status),
        "status {}",
        message.status
    );
    let Some((head_len, framing)) = framing(received) else {
        panic!("a complete reply whose head httparse refuses");
    };
    let body = message.body;
    assert_eq!(
        body.as_ptr() as usize - start,
        head_len,
        "the body does not start right after the head"
    );
    let after_head = &received[head_len..];
    match framing {
        Framing::Length(n) => {
            assert_eq!(
                after_head.len(),
                n,
                "Content-Length {n}, body received differs"
            );
            assert_eq!(body, after_head, "the body is not the bytes received");
        }
        Framing::UntilClose => assert_eq!(body, after_head, "the body is not the rest"),
        Framing::Bodiless => assert!(body.is_empty(), "a bodiless status with a body"),
        // The shortest chunked body is the last chunk, `0\r\n\r\n`.
        Framing::Chunked => assert!(
            body.len() + 5 <= after_head.len(),
            "the decoded body is as long as its chunks"
        ),
    }
}

/// How the head says the body is delimited, as this target reads it.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
    Bodiless,
}

/// The head's length and the framing it announces, read with httparse.
fn framing(bytes: &[u8]) -> Option<(usize, Framing)> {
    let mut headers = [httparse::EMPTY_HEADER; http::MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = response.parse(bytes).ok()? else {
        return None;
    };
    let status = response.code?;
    let named = |name: &str| {
        let found = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name));
        found.map(|h| h.value)
    };
    let framing = if status < 200 || status == 204 || status == 304 {
        Framing::Bodiless
    } else if let Some(value) = named("content-length") {
        Framing::Length(std::str::from_utf8(value).ok()?.trim().parse().ok()?)
    } else if named("transfer-encoding").is_some() {
        Framing::Chunked
    } else {
        Framing::UntilClose
    };
    Some((head_len, framing))
}
