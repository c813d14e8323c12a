//! The crate's one logging shim: `defmt`, `log`, or nothing.
//!
//! Every macro takes `{}` placeholders, which both back ends understand; arguments implement
//! `Display` for `log` and `defmt::Format` for `defmt`. Nothing secret is ever an argument.
#![allow(unused_macros)]

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("the `defmt` and `log` features are exclusive: enable one of them, or neither");

macro_rules! log_at {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "defmt")]
        ::defmt::$level!($($arg)+);
        #[cfg(feature = "log")]
        ::log::$level!($($arg)+);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($crate::fmt::unused!($($arg)+)); }
    }};
}

macro_rules! debug {
    ($($arg:tt)+) => { log_at!(debug, $($arg)+) };
}

macro_rules! info {
    ($($arg:tt)+) => { log_at!(info, $($arg)+) };
}

macro_rules! warn {
    ($($arg:tt)+) => { log_at!(warn, $($arg)+) };
}

macro_rules! error {
    ($($arg:tt)+) => { log_at!(error, $($arg)+) };
}

/// Keeps the arguments "used" when logging is off, so that a value read only by a log line
/// raises no warning; it evaluates nothing else.
macro_rules! unused {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {
        ($(&$arg,)*)
    };
}

#[allow(unused_imports)] // Only used when neither back end is enabled.
pub(crate) use unused;
