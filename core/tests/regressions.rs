//! Inputs that fuzzing (`cargo xtask fuzz`) found mishandled, each kept as a test of the fix.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mqttcert_core::response::http::{self, HttpError};

/// Reads `reply` whole from a buffer with room to spare, the connection closed.
fn read_closed(reply: &[u8]) -> Result<(), HttpError> {
    let mut buf = vec![0u8; reply.len() + 64];
    buf[..reply.len()].copy_from_slice(reply);
    http::read(&mut buf, reply.len(), true).map(|_| ())
}

/// httparse reads any three digits as a status code; `025` was taken for a bodiless interim
/// reply.
#[test]
fn status_codes_outside_100_to_599_are_malformed() {
    for status in ["000", "025", "099", "600", "999"] {
        let reply = format!("HTTP/1.1 {status} No Content\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            read_closed(reply.as_bytes()),
            Err(HttpError::MalformedHead),
            "{status}"
        );
    }
    for status in ["100", "204", "599"] {
        let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(read_closed(reply.as_bytes()), Ok(()), "{status}");
    }
}
