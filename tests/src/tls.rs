//! The HTTPS side: a private CA and a server certificate, generated or read from a directory,
//! and the rustls configuration that presents them.
//!
//! A directory holds `ca.pem` (the CA certificate clients pin), `server.pem` and `server.key`.
//! The CA's own key is not kept: a new server certificate means a new CA.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// File name of the CA certificate in a TLS directory.
pub const CA_FILE: &str = "ca.pem";
/// File name of the server certificate in a TLS directory.
pub const SERVER_CERT_FILE: &str = "server.pem";
/// File name of the server's private key in a TLS directory.
pub const SERVER_KEY_FILE: &str = "server.key";

/// The names a server certificate covers unless told otherwise.
pub const DEFAULT_NAMES: &[&str] = &["localhost", "127.0.0.1"];

/// How the HTTPS listener is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Subject alternative names of the server certificate: host names or IP addresses.
    pub names: Vec<String>,
    /// Where to keep `ca.pem`, `server.pem` and `server.key`: read when all three are there,
    /// otherwise generated and written. `None` keeps them in memory only.
    pub dir: Option<PathBuf>,
    /// Sign the server certificate with a second CA that is not the one in `ca.pem`, so that a
    /// client pinning `ca.pem` must refuse the handshake. Always generates fresh certificates.
    pub untrusted_issuer: bool,
}

impl TlsOptions {
    /// Fresh certificates in memory for these names, listening on `127.0.0.1:0`.
    pub fn generate<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            names: names.into_iter().map(Into::into).collect(),
            dir: None,
            untrusted_issuer: false,
        }
    }

    /// Certificates for the default names, kept in `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
            ..Self::generate(DEFAULT_NAMES.iter().copied())
        }
    }

    /// The same options, with the server certificate signed by a CA other than `ca.pem`.
    pub fn with_untrusted_issuer(mut self) -> Self {
        self.untrusted_issuer = true;
        self
    }
}

/// The CA and server certificates in PEM text.
#[derive(Clone)]
pub struct Pki {
    /// The CA certificate that clients pin.
    pub ca_pem: String,
    /// The server certificate.
    pub server_cert_pem: String,
    server_key_pem: String,
}

impl fmt::Debug for Pki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pki")
            .field("ca_pem", &self.ca_pem)
            .field("server_cert_pem", &self.server_cert_pem)
            .field("server_key_pem", &"<hidden>")
            .finish()
    }
}

impl Pki {
    /// A new P-256 CA and a server certificate for `names` signed by it, or, with
    /// `untrusted_issuer`, by another CA generated on the spot and thrown away.
    ///
    /// # Errors
    ///
    /// [`Error::Certificate`] when a name is not a valid DNS name or IP address.
    pub fn generate(names: &[String], untrusted_issuer: bool) -> Result<Self, Error> {
        let (ca_params, ca_key) = ca("mqttcert emulator CA")?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(Error::Certificate)?;

        let issuer = if untrusted_issuer {
            let (other_params, other_key) = ca("mqttcert emulator CA")?;
            Issuer::new(other_params, other_key)
        } else {
            Issuer::new(ca_params, ca_key)
        };

        let mut params = CertificateParams::new(names.to_vec()).map_err(Error::Certificate)?;
        params.distinguished_name = DistinguishedName::new();
        let cn = names.first().map_or("localhost", String::as_str);
        params.distinguished_name.push(DnType::CommonName, cn);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(Error::Certificate)?;
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(Error::Certificate)?;

        Ok(Self {
            ca_pem: ca_cert.pem(),
            server_cert_pem: cert.pem(),
            server_key_pem: key.serialize_pem(),
        })
    }

    /// Reads the three files of `dir`, or generates new ones and writes them there when any is
    /// missing (or always, with `untrusted_issuer`).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the directory cannot be read or written, otherwise as
    /// [`Pki::generate`].
    pub fn load_or_generate(
        dir: &Path,
        names: &[String],
        untrusted_issuer: bool,
    ) -> Result<Self, Error> {
        let files = [CA_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE].map(|f| dir.join(f));
        if !untrusted_issuer && files.iter().all(|f| f.is_file()) {
            let read = |path: &PathBuf| {
                std::fs::read_to_string(path)
                    .map_err(|e| Error::io(format!("reading {}", path.display()), e))
            };
            log::info!("using the certificates in {}", dir.display());
            return Ok(Self {
                ca_pem: read(&files[0])?,
                server_cert_pem: read(&files[1])?,
                server_key_pem: read(&files[2])?,
            });
        }

        let pki = Self::generate(names, untrusted_issuer)?;
        pki.write(dir)?;
        log::info!(
            "wrote a new CA and server certificate for {} to {}",
            names.join(", "),
            dir.display()
        );
        Ok(pki)
    }

    /// Writes `ca.pem`, `server.pem` and `server.key` into `dir`, creating it.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file that could not be written.
    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        for (name, text) in [
            (CA_FILE, &self.ca_pem),
            (SERVER_CERT_FILE, &self.server_cert_pem),
            (SERVER_KEY_FILE, &self.server_key_pem),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        }
        Ok(())
    }

    /// A rustls server configuration (ring provider) presenting the server certificate.
    ///
    /// # Errors
    ///
    /// [`Error::Pem`] when the PEM text holds no certificate or key, [`Error::Tls`] when rustls
    /// refuses them.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, Error> {
        let chain = CertificateDer::pem_slice_iter(self.server_cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Pem(format!("server certificate: {e}")))?;
        if chain.is_empty() {
            return Err(Error::Pem(
                "no certificate in the server certificate file".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .map_err(|e| Error::Pem(format!("server key: {e}")))?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(Error::Tls)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(Error::Tls)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn ca(name: &str) -> Result<(CertificateParams, KeyPair), Error> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(Error::Certificate)?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().map_err(Error::Certificate)?;
    Ok((params, key))
}
