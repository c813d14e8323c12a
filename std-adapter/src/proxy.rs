//! HTTPS through a proxy: `HTTPS_PROXY`, `NO_PROXY` and the `CONNECT` tunnel.
//!
//! The adapter speaks to a proxy the way curl does: it asks the proxy, in plain HTTP, to open a
//! TCP tunnel to the endpoint (`CONNECT host:port`), and then runs TLS through the tunnel, so
//! the proxy sees neither the request nor the credentials. Only `http://` proxies without
//! credentials are supported.

use std::io::{Read, Write};

use crate::Error;
use crate::url::{Scheme, Url};

/// The largest proxy reply head read before giving up.
const MAX_REPLY_HEAD: usize = 8192;

/// Hosts that are reached directly, from a `NO_PROXY` list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    /// `*`: no host goes through the proxy.
    all: bool,
    /// Lower-case entries without a leading dot, each with an optional port.
    entries: Vec<(String, Option<u16>)>,
}

impl NoProxy {
    /// Parses a comma-separated list, as curl reads `NO_PROXY`: `*` for every host; otherwise
    /// each entry is a host name, a domain (`example.com` and `.example.com` both match the
    /// domain and every host under it) or an IP address, with an optional `:port`.
    pub fn parse(list: &str) -> Self {
        let mut no_proxy = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                no_proxy.all = true;
                continue;
            }
            let entry = entry.to_ascii_lowercase();
            let (host, port) = split_port(&entry);
            let host = host.trim_start_matches('.');
            let host = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            if !host.is_empty() {
                no_proxy.entries.push((host.to_owned(), port));
            }
        }
        no_proxy
    }

    /// Whether `host` (bare, without brackets) on `port` is reached without the proxy.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|(entry, entry_port)| {
            let port_fits = entry_port.is_none_or(|p| p == port);
            let host_fits = host == *entry
                || host
                    .strip_suffix(entry.as_str())
                    .is_some_and(|prefix| prefix.ends_with('.'));
            port_fits && host_fits
        })
    }
}

/// `host:port` into its parts when the part after the last colon is a port; IPv6 addresses
/// without brackets are left whole.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if entry.starts_with('[') {
        if let Some((host, port)) = entry.rsplit_once("]:")
            && let Ok(port) = port.parse()
        {
            return (&entry[..host.len() + 1], Some(port));
        }
        return (entry, None);
    }
    match entry.split_once(':') {
        Some((host, port)) if !port.contains(':') => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// The proxy for `endpoint`, from the environment as `lookup` reads it.
///
/// Only HTTPS endpoints use `HTTPS_PROXY` (or `https_proxy`, which wins when both are set, as
/// in curl); a `NO_PROXY`/`no_proxy` match sends the request directly. Plain `http://`
/// endpoints, used for local emulators, are always reached directly.
///
/// # Errors
///
/// [`Error::Config`] when the proxy URL is not `http://host[:port]`.
pub fn from_env(
    endpoint: &Url,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<Url>, Error> {
    if endpoint.scheme() != Scheme::Https {
        return Ok(None);
    }
    let var = |lower: &str, upper: &str| {
        lookup(lower)
            .or_else(|| lookup(upper))
            .filter(|v| !v.trim().is_empty())
    };
    let Some(proxy) = var("https_proxy", "HTTPS_PROXY") else {
        return Ok(None);
    };
    if let Some(list) = var("no_proxy", "NO_PROXY")
        && NoProxy::parse(&list).matches(endpoint.bare_host(), endpoint.port())
    {
        log::debug!("{} is in NO_PROXY: connecting directly", endpoint.host());
        return Ok(None);
    }
    parse_proxy(proxy.trim()).map(Some)
}

/// A proxy URL: `http://host[:port]`, or `host:port` without a scheme as curl accepts it.
///
/// # Errors
///
/// [`Error::Config`] for an `https://` proxy (TLS to the proxy itself is not supported) or a
/// malformed URL.
pub fn parse_proxy(text: &str) -> Result<Url, Error> {
    let url = if text.contains("://") {
        Url::parse(text)
    } else {
        Url::parse(&format!("http://{text}"))
    }
    .map_err(|err| Error::config_because("HTTPS_PROXY is not usable", err))?;
    if url.scheme() != Scheme::Http {
        return Err(Error::config(
            "HTTPS_PROXY must be an http:// proxy: TLS to the proxy itself is not supported",
        ));
    }
    Ok(url)
}

/// Asks the proxy at the other end of `stream` for a tunnel to `target` (`host:port`).
///
/// The reply head is read byte by byte so that nothing of the tunnel's own traffic is consumed.
///
/// # Errors
///
/// [`Error::Http`] with `from_proxy` set when the proxy refuses; [`Error::Network`] or
/// [`Error::Malformed`] when its reply is cut short or not HTTP.
pub fn connect_tunnel<S: Read + Write>(
    stream: &mut S,
    target: &str,
    proxy: &str,
) -> Result<(), Error> {
    let request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|err| Error::io(proxy, err))?;

    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_REPLY_HEAD {
            return Err(malformed(mqttcert_core::response::HttpError::HeadTooLarge));
        }
        match stream.read(&mut byte) {
            Ok(0) => {
                return Err(malformed(mqttcert_core::response::HttpError::Truncated));
            }
            Ok(_) => head.push(byte[0]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Error::io(proxy, err)),
        }
    }

    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut reply = httparse::Response::new(&mut headers);
    match reply.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(malformed(mqttcert_core::response::HttpError::MalformedHead)),
    }
    let status = reply.code.unwrap_or(0);
    log::debug!("proxy {proxy} answered CONNECT {target} with {status}");
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Error::Http {
            status,
            from_proxy: true,
        })
    }
}

fn malformed(err: mqttcert_core::response::HttpError) -> Error {
    Error::Malformed(mqttcert_core::response::Error::Http(err))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn no_proxy_matches_hosts_and_domains() {
        let list = NoProxy::parse(
            " localhost, .internal.example ,tencentcloudapi.com,10.0.0.1,h:8443,[::1]",
        );
        let cases = [
            ("localhost", 443, true),
            ("LOCALHOST", 443, true),
            ("a.internal.example", 443, true),
            ("internal.example", 443, true),
            ("xinternal.example", 443, false),
            ("mqtt.intl.tencentcloudapi.com", 443, true),
            ("mqtt.intl.tencentcloudapi.com.", 443, true),
            ("tencentcloudapi.com.evil", 443, false),
            ("eviltencentcloudapi.com", 443, false),
            ("10.0.0.1", 443, true),
            ("10.0.0.10", 443, false),
            ("h", 8443, true),
            ("h", 443, false),
            ("::1", 443, true),
        ];
        for (host, port, direct) in cases {
            assert_eq!(list.matches(host, port), direct, "{host}:{port}");
        }
        assert!(NoProxy::parse("a, *").matches("anything", 1));
        assert!(!NoProxy::parse("").matches("anything", 1));
        assert!(!NoProxy::parse(" , ").matches("anything", 1));
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn proxy_from_the_environment() {
        let api = Url::parse("https://mqtt.intl.tencentcloudapi.com").unwrap();
        let local = Url::parse("http://127.0.0.1:8080").unwrap();

        let vars = [("HTTPS_PROXY", "http://proxy:3128")];
        let proxy = from_env(&api, env(&vars)).unwrap().unwrap();
        assert_eq!(proxy.authority(), "proxy:3128");
        assert_eq!(from_env(&local, env(&vars)).unwrap(), None);

        let vars = [("https_proxy", "proxy:8080"), ("HTTPS_PROXY", "other:1")];
        let proxy = from_env(&api, env(&vars)).unwrap().unwrap();
        assert_eq!(proxy.authority(), "proxy:8080");

        let vars = [
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", ".tencentcloudapi.com"),
        ];
        assert_eq!(from_env(&api, env(&vars)).unwrap(), None);

        assert_eq!(from_env(&api, env(&[])).unwrap(), None);
        let vars = [("HTTPS_PROXY", "https://proxy:3128")];
        assert!(from_env(&api, env(&vars)).is_err());
    }

    /// A stream whose reads come from a script and whose writes are kept.
    struct Scripted {
        reply: Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.reply.read(buf)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.sent.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn scripted(reply: &[u8]) -> Scripted {
        Scripted {
            reply: Cursor::new(reply.to_vec()),
            sent: Vec::new(),
        }
    }

    #[test]
    fn the_tunnel_is_asked_for_and_nothing_after_the_head_is_read() {
        let mut stream = scripted(b"HTTP/1.1 200 Connection established\r\n\r\nTLS");
        connect_tunnel(&mut stream, "h:443", "proxy:3128").unwrap();
        assert_eq!(
            stream.sent,
            b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"
        );
        let mut rest = String::new();
        stream.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "TLS");
    }

    #[test]
    fn a_refused_or_broken_tunnel_is_an_error() {
        let mut stream = scripted(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
        assert!(matches!(
            connect_tunnel(&mut stream, "h:443", "p:1"),
            Err(Error::Http {
                status: 407,
                from_proxy: true
            })
        ));
        let mut stream = scripted(b"HTTP/1.1 200 OK\r\n");
        assert!(matches!(
            connect_tunnel(&mut stream, "h:443", "p:1"),
            Err(Error::Malformed(_))
        ));
        let mut stream = scripted(b"SSH-2.0-OpenSSH\r\n\r\n");
        assert!(matches!(
            connect_tunnel(&mut stream, "h:443", "p:1"),
            Err(Error::Malformed(_))
        ));
    }
}
