//! The memory of a check, provided by the caller so that it can live in a static.

use mqttcert_core::DeviceCertificate;
use mqttcert_core::response::REPLY_CAPACITY;

/// A TLS record of the largest size (16 KiB of plaintext) with its header, padding and tag,
/// which a server may always send.
pub const TLS_READ_BUFFER: usize = 16_384 + 256;

/// Outgoing TLS records: the client hello and the request. A longer request (a session token
/// near its 4 KiB limit) is sent as several records.
pub const TLS_WRITE_BUFFER: usize = 4096;

/// The request is written here, then the reply read into it: the core's
/// [`REPLY_CAPACITY`] (8 KiB), which holds the head
/// and a record with a 4 KiB PEM.
pub const MESSAGE_BUFFER: usize = REPLY_CAPACITY;

/// Borrowed buffers for one check at a time.
pub struct Buffers<'b> {
    /// Incoming TLS records; at least [`TLS_READ_BUFFER`] bytes.
    pub tls_read: &'b mut [u8],
    /// Outgoing TLS records; [`TLS_WRITE_BUFFER`] bytes are plenty.
    pub tls_write: &'b mut [u8],
    /// The request, then the reply; its length is the longest reply accepted
    /// ([`MESSAGE_BUFFER`]).
    pub message: &'b mut [u8],
    /// The certificate record of the last successful reply (about 5 KB).
    pub record: &'b mut DeviceCertificate,
}

/// The buffers at their recommended sizes in one value (about 34 KB), for a static.
pub struct BufferStorage {
    tls_read: [u8; TLS_READ_BUFFER],
    tls_write: [u8; TLS_WRITE_BUFFER],
    message: [u8; MESSAGE_BUFFER],
    record: DeviceCertificate,
}

impl BufferStorage {
    /// Zeroed buffers and an empty record; `const`, so it can initialise a static.
    pub const fn new() -> Self {
        Self {
            tls_read: [0; TLS_READ_BUFFER],
            tls_write: [0; TLS_WRITE_BUFFER],
            message: [0; MESSAGE_BUFFER],
            record: DeviceCertificate::new(),
        }
    }

    /// Lends the buffers to a check.
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            tls_read: &mut self.tls_read,
            tls_write: &mut self.tls_write,
            message: &mut self.message,
            record: &mut self.record,
        }
    }
}

impl Default for BufferStorage {
    fn default() -> Self {
        Self::new()
    }
}
