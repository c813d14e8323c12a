//! One logging shim for the whole crate: `defmt`, `log`, or nothing.
//!
//! Every macro takes `{}` placeholders, which both back ends understand; arguments must
//! implement `Display` for `log` and `defmt::Format` for `defmt`.
#![allow(unused_macros)]

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("the `defmt` and `log` features are exclusive: enable one of them, or neither");

macro_rules! trace {
    ($($arg:tt)+) => {{
        #[cfg(feature = "defmt")]
        ::defmt::trace!($($arg)+);
        #[cfg(feature = "log")]
        ::log::trace!($($arg)+);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($crate::fmt::unused!($($arg)+)); }
    }};
}

macro_rules! debug {
    ($($arg:tt)+) => {{
        #[cfg(feature = "defmt")]
        ::defmt::debug!($($arg)+);
        #[cfg(feature = "log")]
        ::log::debug!($($arg)+);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($crate::fmt::unused!($($arg)+)); }
    }};
}

macro_rules! info {
    ($($arg:tt)+) => {{
        #[cfg(feature = "defmt")]
        ::defmt::info!($($arg)+);
        #[cfg(feature = "log")]
        ::log::info!($($arg)+);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($crate::fmt::unused!($($arg)+)); }
    }};
}

macro_rules! warn {
    ($($arg:tt)+) => {{
        #[cfg(feature = "defmt")]
        ::defmt::warn!($($arg)+);
        #[cfg(feature = "log")]
        ::log::warn!($($arg)+);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        { let _ = ($crate::fmt::unused!($($arg)+)); }
    }};
}

/// Evaluates nothing but keeps the arguments "used" when logging is off, so that a variable
/// read only by a log line does not raise a warning.
macro_rules! unused {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {
        ($(&$arg,)*)
    };
}

#[allow(unused_imports)] // Only used when neither back end is enabled.
pub(crate) use unused;
