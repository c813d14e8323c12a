//! API keys: where they come from, and how they are kept.
//!
//! Sources, in order of precedence, as Tencent Cloud's own tools name them:
//!
//! 1. explicit values: a secret id and key given by the caller (the CLI's flags), or a profile
//!    named explicitly (`--profile NAME`);
//! 2. the environment: `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY` and, for temporary
//!    credentials, `TENCENTCLOUD_TOKEN`;
//! 3. the `[default]` profile of `~/.tencentcloud/credentials` (INI; keys `secret_id`,
//!    `secret_key` and an optional `token`).
//!
//! The key lives in the core's [`SecretKey`]; the token and every transient copy of a secret
//! (an environment value, the profile file's text) are wiped when dropped. Nothing here prints
//! a secret: [`Credentials`]'s `Debug` shows the secret id only, and error messages name the
//! source, never the value.

use std::fmt;
use std::path::{Path, PathBuf};

use mqttcert_core::SecretKey;
use mqttcert_core::request::Credential;
use zeroize::Zeroizing;

use crate::Error;

/// The variable holding the secret id.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
/// The variable holding the secret key.
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
/// The variable holding the session token of temporary credentials.
pub const ENV_TOKEN: &str = "TENCENTCLOUD_TOKEN";
/// The variable holding the default region.
pub const ENV_REGION: &str = "TENCENTCLOUD_REGION";
/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// An API key, with the session token of temporary credentials.
pub struct Credentials {
    secret_id: String,
    secret_key: SecretKey,
    token: Option<Zeroizing<String>>,
}

impl Credentials {
    /// A permanent key.
    ///
    /// # Errors
    ///
    /// [`Error::Credentials`] when the id is empty or the key is not what the core accepts
    /// (empty, too long, not printable ASCII).
    pub fn new(secret_id: &str, secret_key: &str) -> Result<Self, Error> {
        let secret_id = secret_id.trim();
        if secret_id.is_empty() {
            return Err(Error::credentials("the secret id is empty"));
        }
        let secret_key = SecretKey::new(secret_key).map_err(|err| Error::Credentials {
            what: "the secret key is not usable".to_owned(),
            source: Some(Box::new(err)),
        })?;
        Ok(Self {
            secret_id: secret_id.to_owned(),
            secret_key,
            token: None,
        })
    }

    /// Adds the session token of temporary (STS) credentials; an empty token is ignored.
    pub fn with_token(mut self, token: Zeroizing<String>) -> Self {
        self.token = (!token.trim().is_empty()).then_some(token);
        self
    }

    /// The secret id (the public half of the key).
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// Whether these are temporary credentials, with a token.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The credential as the core signs with it.
    pub fn as_core(&self) -> Credential<'_> {
        let credential = Credential::new(&self.secret_id, &self.secret_key);
        match &self.token {
            Some(token) => credential.with_token(token.trim()),
            None => credential,
        }
    }

    /// The length of the token, which the request buffer must make room for.
    pub(crate) fn token_len(&self) -> usize {
        self.token.as_ref().map_or(0, |t| t.len())
    }

    /// Finds credentials in the sources, in order of precedence (see the module docs).
    ///
    /// `env` reads an environment variable; `home` is the user's home directory, where the
    /// profile file is looked for.
    ///
    /// # Errors
    ///
    /// [`Error::Credentials`] when no source has any, when a source has only half of a key, or
    /// when a profile named explicitly does not exist.
    pub fn resolve(
        explicit: Explicit,
        env: impl Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<(Self, Source), Error> {
        let Explicit {
            secret_id,
            secret_key,
            profile,
        } = explicit;

        match (secret_id, secret_key) {
            (Some(id), Some(key)) => {
                let credentials = Self::new(&id, &key)?;
                let token = env(ENV_TOKEN).map(Zeroizing::new);
                // A token belongs to one key: take it only if the id agrees with the
                // environment's, which it came with.
                let same_key = env(ENV_SECRET_ID).is_some_and(|env_id| env_id.trim() == id.trim());
                let credentials = match token {
                    Some(token) if same_key => credentials.with_token(token),
                    _ => credentials,
                };
                return Ok((credentials, Source::Explicit));
            }
            (Some(_), None) => {
                return Err(Error::credentials(
                    "--secret-id was given without --secret-key",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::credentials(
                    "--secret-key was given without --secret-id",
                ));
            }
            (None, None) => {}
        }

        let path = home.map(profile_path);
        if let Some(name) = profile {
            let path = path.ok_or_else(|| {
                Error::credentials(format!(
                    "profile {name:?} was asked for but the home directory is unknown"
                ))
            })?;
            return match read_profile(&path, &name)? {
                Some(credentials) => Ok((credentials, Source::Profile { path, name })),
                None => Err(Error::credentials(format!(
                    "no profile [{name}] with secret_id and secret_key in {}",
                    path.display()
                ))),
            };
        }

        let id = env(ENV_SECRET_ID).filter(|v| !v.trim().is_empty());
        let key = env(ENV_SECRET_KEY)
            .map(Zeroizing::new)
            .filter(|v| !v.is_empty());
        match (id, key) {
            (Some(id), Some(key)) => {
                let credentials = Self::new(&id, &key)?;
                let credentials = match env(ENV_TOKEN) {
                    Some(token) => credentials.with_token(Zeroizing::new(token)),
                    None => credentials,
                };
                return Ok((credentials, Source::Environment));
            }
            (Some(_), None) => {
                return Err(Error::credentials(format!(
                    "{ENV_SECRET_ID} is set but {ENV_SECRET_KEY} is not"
                )));
            }
            (None, Some(_)) => {
                return Err(Error::credentials(format!(
                    "{ENV_SECRET_KEY} is set but {ENV_SECRET_ID} is not"
                )));
            }
            (None, None) => {}
        }

        if let Some(path) = path
            && let Some(credentials) = read_profile(&path, DEFAULT_PROFILE)?
        {
            let name = DEFAULT_PROFILE.to_owned();
            return Ok((credentials, Source::Profile { path, name }));
        }
        Err(Error::credentials(format!(
            "none found: set {ENV_SECRET_ID} and {ENV_SECRET_KEY}, or write a [default] profile \
             to ~/.tencentcloud/credentials"
        )))
    }
}

/// Shows the secret id only.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &self.secret_key)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What the caller gave explicitly; each secret is wiped when dropped.
#[derive(Default)]
pub struct Explicit {
    /// `--secret-id`.
    pub secret_id: Option<String>,
    /// `--secret-key`.
    pub secret_key: Option<Zeroizing<String>>,
    /// `--profile`.
    pub profile: Option<String>,
}

impl fmt::Debug for Explicit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Explicit")
            .field("secret_id", &self.secret_id)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("profile", &self.profile)
            .finish()
    }
}

/// Where the credentials were found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Given by the caller.
    Explicit,
    /// The `TENCENTCLOUD_*` variables.
    Environment,
    /// A section of the profile file.
    Profile {
        /// The file.
        path: PathBuf,
        /// The section.
        name: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Explicit => f.write_str("the command line"),
            Source::Environment => f.write_str("the environment"),
            Source::Profile { path, name } => write!(f, "profile [{name}] of {}", path.display()),
        }
    }
}

/// `~/.tencentcloud/credentials`.
pub fn profile_path(home: &Path) -> PathBuf {
    home.join(".tencentcloud").join("credentials")
}

/// Reads section `name` of the profile file at `path`; `Ok(None)` when the file or the
/// section does not exist.
fn read_profile(path: &Path, name: &str) -> Result<Option<Credentials>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Zeroizing::new(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(Error::Credentials {
                what: format!("cannot read {}", path.display()),
                source: Some(Box::new(err)),
            });
        }
    };
    let Some(profile) = parse_profile(&text, name) else {
        return Ok(None);
    };
    let (Some(id), Some(key)) = (profile.secret_id, profile.secret_key) else {
        return Err(Error::credentials(format!(
            "profile [{name}] of {} lacks secret_id or secret_key",
            path.display()
        )));
    };
    let credentials = Credentials::new(&id, &key)?;
    Ok(Some(match profile.token {
        Some(token) => credentials.with_token(token),
        None => credentials,
    }))
}

/// The keys of one profile section.
#[derive(Default)]
pub struct Profile {
    /// `secret_id`.
    pub secret_id: Option<String>,
    /// `secret_key`, wiped on drop.
    pub secret_key: Option<Zeroizing<String>>,
    /// `token`, wiped on drop.
    pub token: Option<Zeroizing<String>>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("secret_id", &self.secret_id)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Reads section `[name]` of an INI text as Python's `configparser` writes it: `key = value`
/// or `key: value`, `#` and `;` comment lines, names of sections and keys compared without
/// regard to case. `None` when there is no such section.
pub fn parse_profile(text: &str, name: &str) -> Option<Profile> {
    let mut in_section = false;
    let mut found = None::<Profile>;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = section.trim().eq_ignore_ascii_case(name);
            if in_section && found.is_none() {
                found = Some(Profile::default());
            }
            continue;
        }
        let (Some(profile), true) = (found.as_mut(), in_section) else {
            continue;
        };
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "secret_id" => profile.secret_id = Some(value.to_owned()),
            "secret_key" => profile.secret_key = Some(Zeroizing::new(value.to_owned())),
            "token" => profile.token = Some(Zeroizing::new(value.to_owned())),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

    #[test]
    fn profiles_are_read_by_section() {
        let text = "\
# written by hand
[default]
secret_id = AKIDdefault
secret_key = keydefault

[Ops]
secret_id: AKIDops
SECRET_KEY=keyops ; not a comment in configparser
token = tok
unknown = 1
[other]
secret_id = AKIDother
";
        let default = parse_profile(text, "default").unwrap();
        assert_eq!(default.secret_id.as_deref(), Some("AKIDdefault"));
        assert_eq!(
            default.secret_key.as_deref().map(String::as_str),
            Some("keydefault")
        );
        assert!(default.token.is_none());

        let ops = parse_profile(text, "ops").unwrap();
        assert_eq!(ops.secret_id.as_deref(), Some("AKIDops"));
        assert_eq!(
            ops.secret_key.as_deref().map(String::as_str),
            Some("keyops ; not a comment in configparser")
        );
        assert_eq!(ops.token.as_deref().map(String::as_str), Some("tok"));

        assert!(parse_profile(text, "missing").is_none());
        assert!(parse_profile("secret_id = x\n", "default").is_none());
        let shown = format!("{ops:?}");
        assert!(!shown.contains("keyops") && !shown.contains("tok\""));
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn home_with(profile: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "mqttcert-home-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(dir.join(".tencentcloud")).unwrap();
        std::fs::write(profile_path(&dir), profile).unwrap();
        dir
    }

    fn explicit(id: Option<&str>, key: Option<&str>, profile: Option<&str>) -> Explicit {
        Explicit {
            secret_id: id.map(str::to_owned),
            secret_key: key.map(|k| Zeroizing::new(k.to_owned())),
            profile: profile.map(str::to_owned),
        }
    }

    #[test]
    fn sources_in_order_of_precedence() {
        let home = home_with(&format!(
            "[default]\nsecret_id = AKIDfile\nsecret_key = {KEY}\n\
             [ops]\nsecret_id = AKIDops\nsecret_key = {KEY}\ntoken = t\n"
        ));
        let vars = [
            (ENV_SECRET_ID, "AKIDenv"),
            (ENV_SECRET_KEY, KEY),
            (ENV_TOKEN, "envtoken"),
        ];

        let (c, source) = Credentials::resolve(
            explicit(Some("AKIDflag"), Some(KEY), None),
            env(&vars),
            Some(&home),
        )
        .unwrap();
        assert_eq!((c.secret_id(), source), ("AKIDflag", Source::Explicit));
        assert!(
            !c.has_token(),
            "the environment's token belongs to another key"
        );

        let (c, source) =
            Credentials::resolve(explicit(None, None, Some("ops")), env(&vars), Some(&home))
                .unwrap();
        assert_eq!(c.secret_id(), "AKIDops");
        assert!(c.has_token());
        assert!(matches!(source, Source::Profile { name, .. } if name == "ops"));

        let (c, source) =
            Credentials::resolve(Explicit::default(), env(&vars), Some(&home)).unwrap();
        assert_eq!((c.secret_id(), source), ("AKIDenv", Source::Environment));
        assert!(c.has_token());

        let (c, source) = Credentials::resolve(Explicit::default(), env(&[]), Some(&home)).unwrap();
        assert_eq!(c.secret_id(), "AKIDfile");
        assert!(matches!(source, Source::Profile { name, .. } if name == "default"));

        let err = Credentials::resolve(Explicit::default(), env(&[]), None).unwrap_err();
        assert!(err.to_string().contains(ENV_SECRET_ID));
        std::fs::remove_dir_all(home).unwrap();
    }

    #[test]
    fn half_a_key_is_an_error_that_names_the_missing_half() {
        let err =
            Credentials::resolve(explicit(Some("AKID"), None, None), env(&[]), None).unwrap_err();
        assert!(err.to_string().contains("--secret-key"));
        let vars = [(ENV_SECRET_ID, "AKIDenv")];
        let err = Credentials::resolve(Explicit::default(), env(&vars), None).unwrap_err();
        assert!(err.to_string().contains(ENV_SECRET_KEY));
        let err =
            Credentials::resolve(explicit(None, None, Some("nope")), env(&[]), None).unwrap_err();
        assert!(matches!(err, Error::Credentials { .. }));
    }

    #[test]
    fn debug_output_and_errors_hide_secrets() {
        let c = Credentials::new("AKIDx", KEY)
            .unwrap()
            .with_token(Zeroizing::new("sts-token-value".to_owned()));
        let shown = format!("{c:?}");
        assert!(shown.contains("AKIDx"));
        assert!(!shown.contains("Gu5t9") && !shown.contains("sts-token-value"));

        let err = Credentials::new("AKIDx", "bad key with spaces").unwrap_err();
        assert!(!format!("{err} {err:?}").contains("bad key"));

        let e = explicit(Some("AKIDx"), Some(KEY), None);
        assert!(!format!("{e:?}").contains("Gu5t9"));
    }
}
