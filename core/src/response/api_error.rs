//! Errors the API itself returns, in the `Response.Error` object of an HTTP 200 reply.

use core::fmt;

use heapless::String;

/// Capacity of [`ApiError::code`]; the longest documented code has 42 characters.
pub const CODE_CAPACITY: usize = 64;
/// Capacity of [`ApiError::message`]; a longer message is cut at a character boundary.
pub const MESSAGE_CAPACITY: usize = 256;
/// Capacity of [`ApiError::request_id`]; request ids are 36-character UUIDs.
pub const REQUEST_ID_CAPACITY: usize = 64;

/// What a client should do about an API error, from its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ErrorClass {
    /// Rate limit or a server-side failure: back off and retry, a bounded number of times.
    RetryLater,
    /// `AuthFailure.SignatureExpire`: the local clock is off; correct it and sign again once.
    ClockSkew,
    /// The key, the token or the permissions are wrong: report; retrying will not help.
    Credentials,
    /// The request itself is wrong (action, version, region, parameters): report.
    CallerError,
    /// The instance or certificate does not exist.
    NotFound,
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// Classifies an error code. Codes are open-ended; an unknown one is [`ErrorClass::Other`]
    /// unless its family (the part before the first `.`) is known.
    pub fn of(code: &str) -> Self {
        let family = code.split('.').next().unwrap_or(code);
        match (family, code) {
            (_, "AuthFailure.SignatureExpire") => ErrorClass::ClockSkew,
            ("RequestLimitExceeded" | "InternalError" | "ServiceUnavailable", _) => {
                ErrorClass::RetryLater
            }
            ("AuthFailure" | "UnauthorizedOperation", _) => ErrorClass::Credentials,
            ("ResourceNotFound", _) => ErrorClass::NotFound,
            (
                "InvalidAction"
                | "NoSuchVersion"
                | "NoSuchProduct"
                | "UnsupportedRegion"
                | "UnsupportedProtocol"
                | "MissingParameter"
                | "InvalidParameter"
                | "InvalidParameterValue"
                | "UnknownParameter"
                | "RequestSizeLimitExceeded",
                _,
            ) => ErrorClass::CallerError,
            _ => ErrorClass::Other,
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(self) -> bool {
        self == ErrorClass::RetryLater
    }
}

/// An error answered by the API: its code, message and request id, kept as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ApiError {
    /// The error code, such as `ResourceNotFound.Certificate`.
    pub code: String<CODE_CAPACITY>,
    /// The human-readable message, in the language asked for; cut to [`MESSAGE_CAPACITY`].
    pub message: String<MESSAGE_CAPACITY>,
    /// The id of the request, which Tencent Cloud support asks for.
    pub request_id: String<REQUEST_ID_CAPACITY>,
}

impl ApiError {
    /// What to do about it.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::of(&self.code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (request id {})",
            self.code, self.message, self.request_id
        )
    }
}

impl core::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_documented_codes() {
        let cases = [
            ("AuthFailure.SignatureExpire", ErrorClass::ClockSkew),
            ("AuthFailure.SignatureFailure", ErrorClass::Credentials),
            ("AuthFailure.SecretIdNotFound", ErrorClass::Credentials),
            ("AuthFailure.TokenFailure", ErrorClass::Credentials),
            ("UnauthorizedOperation", ErrorClass::Credentials),
            ("RequestLimitExceeded", ErrorClass::RetryLater),
            (
                "RequestLimitExceeded.UinLimitExceeded",
                ErrorClass::RetryLater,
            ),
            ("InternalError", ErrorClass::RetryLater),
            ("ServiceUnavailable", ErrorClass::RetryLater),
            ("InvalidAction", ErrorClass::CallerError),
            ("UnsupportedRegion", ErrorClass::CallerError),
            ("InvalidParameterValue.Format", ErrorClass::CallerError),
            ("ResourceNotFound.Certificate", ErrorClass::NotFound),
            ("ResourceNotFound.Instance", ErrorClass::NotFound),
            ("FailedOperation", ErrorClass::Other),
            ("IpInBlacklist", ErrorClass::Other),
            ("SomethingNew.Entirely", ErrorClass::Other),
        ];
        for (code, class) in cases {
            assert_eq!(ErrorClass::of(code), class, "{code}");
        }
    }
}
