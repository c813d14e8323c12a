//! Endpoint and proxy URLs: `scheme://host[:port][/]`, nothing more.
//!
//! API 3.0 requests always go to the root path, so the adapter needs only the scheme, the host
//! and the port. A hand-split of that narrow form is easier to audit than a general URL parser:
//! anything beyond it (a path, a query, user information) is refused with a message that says
//! why.

use std::fmt;

use crate::Error;

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP, for local emulators and tests.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A URL of the form `scheme://host[:port][/]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    scheme: Scheme,
    /// The host as written, IPv6 literals keeping their brackets.
    host: String,
    /// The port written in the URL, if any.
    port: Option<u16>,
}

impl Url {
    /// Splits `text` into scheme, host and port.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the scheme is not `http` or `https`, the host is empty, the port
    /// is not a number from 1 to 65535, or the URL has user information, a path other than `/`,
    /// a query or a fragment.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::config(format!("invalid URL {text:?}: {why}"));

        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://host[:port]"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(bad("API 3.0 endpoints take no path, query or fragment"));
        }
        if authority.contains('@') {
            return Err(bad("user information in URLs is not supported"));
        }

        // An IPv6 literal keeps its brackets: `[::1]:8443`.
        let (host, port) = match authority.rfind(']') {
            Some(end) if authority.starts_with('[') => {
                let (host, after) = authority.split_at(end + 1);
                match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None if after.is_empty() => (host, None),
                    None => return Err(bad("unexpected text after the IPv6 address")),
                }
            }
            _ => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() || host == "[]" {
            return Err(bad("the host is empty"));
        }
        if host.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(bad("the host must be printable ASCII without spaces"));
        }
        let port = match port {
            None => None,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => Some(port),
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };

        Ok(Self {
            scheme,
            host: host.to_owned(),
            port,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host as written, with brackets around an IPv6 literal.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host to resolve and to name in TLS: an IPv6 literal without brackets.
    pub fn bare_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host)
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// The `Host` header, and what the signature covers: the host, with `:port` when the URL
    /// names a port other than the scheme's default.
    pub fn host_header(&self) -> String {
        match self.port {
            Some(port) if port != self.scheme.default_port() => format!("{}:{port}", self.host),
            _ => self.host.clone(),
        }
    }

    /// `host:port`, for `CONNECT` and for messages.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port())
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host_header())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_what_endpoints_look_like() {
        let cases = [
            (
                "https://mqtt.intl.tencentcloudapi.com",
                Scheme::Https,
                "mqtt.intl.tencentcloudapi.com",
                443,
                "mqtt.intl.tencentcloudapi.com",
            ),
            (
                "https://mqtt.tencentcloudapi.com/",
                Scheme::Https,
                "mqtt.tencentcloudapi.com",
                443,
                "mqtt.tencentcloudapi.com",
            ),
            (
                "http://127.0.0.1:8080",
                Scheme::Http,
                "127.0.0.1",
                8080,
                "127.0.0.1:8080",
            ),
            (
                "HTTPS://127.0.0.1:8443/",
                Scheme::Https,
                "127.0.0.1",
                8443,
                "127.0.0.1:8443",
            ),
            ("https://h:443", Scheme::Https, "h", 443, "h"),
            ("http://h:80", Scheme::Http, "h", 80, "h"),
            (
                "https://[::1]:8443",
                Scheme::Https,
                "::1",
                8443,
                "[::1]:8443",
            ),
            ("http://[fe80::1]", Scheme::Http, "fe80::1", 80, "[fe80::1]"),
        ];
        for (text, scheme, host, port, header) in cases {
            let url = Url::parse(text).unwrap();
            assert_eq!(url.scheme(), scheme, "{text}");
            assert_eq!(url.bare_host(), host, "{text}");
            assert_eq!(url.port(), port, "{text}");
            assert_eq!(url.host_header(), header, "{text}");
        }
        assert_eq!(
            Url::parse("http://127.0.0.1:8080/").unwrap().to_string(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn refuses_what_the_api_does_not_use() {
        for text in [
            "mqtt.intl.tencentcloudapi.com",
            "ftp://h",
            "https://",
            "https://:443",
            "https://h:0",
            "https://h:65536",
            "https://h:port",
            "https://h:",
            "https://h/path",
            "https://h/?q=1",
            "https://h#frag",
            "https://user:pw@h",
            "https://[::1]x",
            "https://h o",
        ] {
            assert!(
                matches!(Url::parse(text), Err(Error::Config { .. })),
                "{text}"
            );
        }
    }
}
