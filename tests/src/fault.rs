//! Faults the emulator can inject into its replies, for client tests.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How a reply goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMode {
    /// Wait this long before answering, then answer normally.
    Delay(Duration),
    /// Send the head and part of the body, then close with a TCP reset.
    Reset,
    /// Answer normally, but with `Transfer-Encoding: chunked` in several chunks.
    Chunked,
    /// Answer `502 Bad Gateway` with an HTML body, as a gateway in front of the API would.
    BadGateway,
    /// Announce the whole `Content-Length`, send part of the body, then close normally.
    Truncated,
}

/// A fault mode, applied to every request or to the first few only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What goes wrong.
    pub mode: FaultMode,
    /// Apply it to the first `count` requests and answer normally afterwards; 0 = always.
    pub count: u64,
}

impl Fault {
    /// The fault on every request.
    pub fn always(mode: FaultMode) -> Self {
        Self { mode, count: 0 }
    }

    /// The fault on the first `count` requests only, so that a retrying client recovers.
    pub fn first(count: u64, mode: FaultMode) -> Self {
        Self { mode, count }
    }

    /// Whether the request numbered `n` (from 0) gets the fault.
    pub fn applies_to(&self, n: u64) -> bool {
        self.count == 0 || n < self.count
    }
}

/// The reason a fault mode's text was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFaultError(String);

impl fmt::Display for ParseFaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown fault `{}`: expected delay:MS, reset, chunked, 502 or truncated",
            self.0
        )
    }
}

impl std::error::Error for ParseFaultError {}

impl FromStr for FaultMode {
    type Err = ParseFaultError;

    /// `delay:MS`, `reset`, `chunked`, `502` (or `bad-gateway`), `truncated`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = || ParseFaultError(text.to_owned());
        if let Some(ms) = text.strip_prefix("delay:") {
            let ms = ms.parse().map_err(|_| refuse())?;
            return Ok(Self::Delay(Duration::from_millis(ms)));
        }
        match text {
            "reset" => Ok(Self::Reset),
            "chunked" => Ok(Self::Chunked),
            "502" | "bad-gateway" => Ok(Self::BadGateway),
            "truncated" => Ok(Self::Truncated),
            _ => Err(refuse()),
        }
    }
}

impl fmt::Display for FaultMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Delay(d) => write!(f, "delay:{}", d.as_millis()),
            Self::Reset => f.write_str("reset"),
            Self::Chunked => f.write_str("chunked"),
            Self::BadGateway => f.write_str("502"),
            Self::Truncated => f.write_str("truncated"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for text in ["delay:250", "reset", "chunked", "502", "truncated"] {
            let mode: FaultMode = text.parse().unwrap();
            assert_eq!(mode.to_string(), text);
        }
        assert_eq!("bad-gateway".parse(), Ok(FaultMode::BadGateway));
        assert!("delay".parse::<FaultMode>().is_err());
        assert!("delay:x".parse::<FaultMode>().is_err());
    }

    #[test]
    fn first_n_only() {
        let fault = Fault::first(2, FaultMode::Reset);
        assert!(fault.applies_to(0) && fault.applies_to(1) && !fault.applies_to(2));
        assert!(Fault::always(FaultMode::Reset).applies_to(1_000));
    }
}
