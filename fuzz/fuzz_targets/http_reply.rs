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
//! - the body lies inside the buffer, after the head, and is no longer than the bytes received.
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
            check_body(&message, start, first);
            return;
        }
        Err(_) => return,
    }
    let filled = reply.len().min(capacity);
    buf[first..filled].copy_from_slice(&reply[first..filled]);
    let start = buf.as_ptr() as usize;
    let in_two = owned(http::read(&mut buf, filled, false), start, filled);
    assert_eq!(in_two, at_once, "two reads differ from one");
});

/// Reads `reply` from a fresh buffer of `capacity` bytes.
fn read_at_once(reply: &[u8], capacity: usize, closed: bool) -> Result<Read<Owned>, HttpError> {
    let mut buf = vec![0u8; capacity];
    let filled = reply.len().min(capacity);
    buf[..filled].copy_from_slice(&reply[..filled]);
    let start = buf.as_ptr() as usize;
    owned(http::read(&mut buf, filled, closed), start, filled)
}

/// Checks a complete reply's body and takes a copy of the reply.
fn owned(
    read: Result<Read<Message<'_>>, HttpError>,
    start: usize,
    filled: usize,
) -> Result<Read<Owned>, HttpError> {
    Ok(match read? {
        Read::Incomplete => Read::Incomplete,
        Read::Complete(message) => {
            check_body(&message, start, filled);
            Read::Complete(Owned::of(&message))
        }
    })
}

/// The body lies after the head and within the bytes received, in the buffer that starts at
/// address `start`.
fn check_body(message: &Message<'_>, start: usize, filled: usize) {
    let body = message.body.as_ptr_range();
    let (from, to) = (body.start as usize, body.end as usize);
    assert!(from > start, "the body starts before the end of the head");
    assert!(
        to <= start + filled,
        "the body runs past the bytes received"
    );
    assert!(
        (100..=599).contains(&message.status),
        "status {}",
        message.status
    );
}
