//! What no log may show, in the forms a careless log line would show it: a secret key, the
//! three keys TC3-HMAC-SHA256 derives from it for a day (`kDate`, `kService`, `kSigning`) and a
//! session token, each raw, in hex, in base64 and as Rust prints a byte slice.
//!
//! The tests of the emulator's logs and of the `mqttcert` CLI's output build a [`Secrets`] and
//! look for every form in everything captured; `cargo xtask firmware` compiles this same file
//! to look through the firmware's decoded log. It depends on nothing of this crate's, and
//! derives the keys with its own three HMACs.
//!
//! ```
//! use mqttcert_tests::hygiene::{Secrets, hex};
//! use mqttcert_tests::tc3::signing_key;
//!
//! let mut secrets = Secrets::default();
//! secrets.key("the key", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", &["2024-08-19"], "mqtt");
//! assert_eq!(secrets.find(b"a harmless line"), None);
//! let signing = signing_key("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "2024-08-19", "mqtt");
//! let line = format!("key {}", hex(&signing).to_uppercase());
//! assert!(secrets.find(line.as_bytes()).unwrap().contains("kSigning"));
//! ```

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest prefix of a derived key's hex that counts as a leak on its own: 16 digits (64 bits)
/// cannot turn up by chance in a log of this size.
pub const HEX_PREFIX: usize = 16;

/// The secrets to look for, each in every form.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    forms: Vec<(String, Vec<u8>)>,
}

impl Secrets {
    /// Adds `secret_key` and the keys derived from it for each of `dates` (`YYYY-MM-DD`) and
    /// `service`; `name` says which key it is in a failure.
    pub fn key(&mut self, name: &str, secret_key: &str, dates: &[&str], service: &str) {
        self.text(name, secret_key);
        for date in dates {
            let keys = derived_keys(secret_key, date, service);
            for (label, key) in ["kDate", "kService", "kSigning"].iter().zip(keys) {
                let name = format!("{label} of {name} for {date}");
                self.bytes(&name, &key);
                self.push(&name, "the first hex digits", &hex(&key)[..HEX_PREFIX]);
            }
        }
    }

    /// Adds a secret that is text, such as a token: the text itself and its encodings.
    pub fn text(&mut self, name: &str, secret: &str) {
        self.bytes(name, secret.as_bytes());
    }

    /// Adds a secret given as bytes, in every form.
    pub fn bytes(&mut self, name: &str, secret: &[u8]) {
        let hex = hex(secret);
        self.forms.push((format!("{name} (raw)"), secret.to_vec()));
        self.push(name, "hex", &hex);
        self.push(name, "upper-case hex", &hex.to_uppercase());
        self.push(name, "base64", &base64(secret, STANDARD, false));
        self.push(
            name,
            "unpadded URL-safe base64",
            &base64(secret, URL_SAFE, false),
        );
        self.push(name, "bytes as Debug", &format!("{secret:?}"));
        self.push(name, "bytes as hex Debug", &format!("{secret:x?}"));
        self.push(name, "bytes as padded hex Debug", &format!("{secret:02x?}"));
        // A base64 text that is longer than the secret's own is padded; its first characters
        // (all but the last group) are the same whether it is padded or not.
        let padded = base64(secret, STANDARD, true);
        if padded.len() > 4 {
            let stem = &padded[..padded.len() - 4];
            self.push(name, "base64 without its last group", stem);
        }
    }

    fn push(&mut self, name: &str, form: &str, text: &str) {
        self.forms
            .push((format!("{name} ({form})"), text.as_bytes().to_vec()));
    }

    /// How many forms are looked for.
    pub fn len(&self) -> usize {
        self.forms.len()
    }

    /// Whether nothing is looked for.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// The first secret found in `haystack`, named with its form; `None` when there is none.
    pub fn find(&self, haystack: &[u8]) -> Option<String> {
        self.forms
            .iter()
            .find(|(_, needle)| {
                !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
            })
            .map(|(name, _)| name.clone())
    }
}

/// The date key (`kDate`), the service key (`kService`) and the signing key (`kSigning`) of
/// TC3-HMAC-SHA256 for `secret_key` on `date` (`YYYY-MM-DD`) and `service`.
pub fn derived_keys(secret_key: &str, date: &str, service: &str) -> [[u8; 32]; 3] {
    let hmac = |key: &[u8], data: &str| -> [u8; 32] {
        // HMAC takes a key of any length, so this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
            unreachable!("HMAC refused a key")
        };
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().into()
    };
    let date_key = hmac(format!("TC3{secret_key}").as_bytes(), date);
    let service_key = hmac(&date_key, service);
    let signing_key = hmac(&service_key, "tc3_request");
    [date_key, service_key, signing_key]
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `bytes` in base64 with `alphabet`, with or without `=` padding.
fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=group.len() {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(alphabet[index as usize]));
        }
        if pad {
            for _ in group.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (text, encoded) in cases {
            assert_eq!(base64(text.as_bytes(), STANDARD, true), encoded);
            assert_eq!(
                base64(text.as_bytes(), STANDARD, false),
                encoded.trim_end_matches('=')
            );
        }
        assert_eq!(base64(&[0xfb, 0xff], URL_SAFE, false), "-_8");
    }

    #[test]
    fn the_keys_are_those_of_tc3() {
        // Computed apart, with Python's hmac module.
        let keys = derived_keys("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "2024-08-19", "mqtt");
        assert_eq!(
            hex(&keys[0]),
            "af46ef8c2618c1243d486bd0f1c91b6ed2579f17711c8a86f7450d8f7e25d21d"
        );
        assert_eq!(
            hex(&keys[1]),
            "472bb10048ba62369f71a55ebc4bd30a3210660de9e48658f9988538e629f78a"
        );
        assert_eq!(
            hex(&keys[2]),
            "9f1fda36b96d933e0e9fe4327bbbfa4de5a53f2f79b5b7103a8f912bba1334f2"
        );
    }

    #[test]
    fn every_form_is_found() {
        let key = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
        let mut secrets = Secrets::default();
        secrets.key("the key", key, &["2024-08-19"], "mqtt");
        let [date_key, _, signing] = derived_keys(key, "2024-08-19", "mqtt");

        for line in [
            format!("secret={key}"),
            format!("k={}", base64(key.as_bytes(), STANDARD, true)),
            format!("kSigning={}", hex(&signing)),
            format!("kSigning={}…", &hex(&signing)[..HEX_PREFIX]),
            format!("kDate {date_key:?}"),
            format!("kDate {date_key:x?}"),
            base64(&signing, URL_SAFE, false),
        ] {
            assert!(secrets.find(line.as_bytes()).is_some(), "{line}");
        }
        let mut raw = b"key: ".to_vec();
        raw.extend_from_slice(&signing);
        assert!(secrets.find(&raw).unwrap().contains("kSigning"));
        assert_eq!(
            secrets.find(b"SecretId=AKIDEXAMPLE -> Success in 0.3 ms"),
            None
        );
        assert!(!secrets.is_empty());
    }
}
