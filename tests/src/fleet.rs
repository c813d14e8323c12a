//! The emulated account: API keys, and TDMQ-MQTT instances holding device certificates.
//!
//! A fleet is read from JSON whose certificate fields carry the API's own names, so a record can
//! be pasted from a real reply:
//!
//! ```json
//! {"credentials": [{"secret_id": "AKID…", "secret_key": "…", "token": null}],
//!  "instances": [{"instance_id": "mqtt-demo01", "region": "ap-guangzhou",
//!                 "certificates": [{"DeviceCertificateSn": "…", "Status": "ACTIVE", …}]}]}
//! ```

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The SecretId of [`Fleet::demo`].
pub const DEMO_SECRET_ID: &str = "AKIDDEMO7kq2ZCu4mQx9Tn3Lw8Rb5Hs6Jp1Vy0EXAMPLE";
/// The secret key of [`Fleet::demo`]. It is public: never use it anywhere real.
pub const DEMO_SECRET_KEY: &str = "DemoSecretKeyForTheLocalEmulator01";
/// The instance of [`Fleet::demo`].
pub const DEMO_INSTANCE_ID: &str = "mqtt-demo01";
/// The region of [`Fleet::demo`].
pub const DEMO_REGION: &str = "ap-guangzhou";
/// Serial of the demo certificate that is valid for a year.
pub const DEMO_HEALTHY_SN: &str = "5a1e0000000000000000000000000000000000a1";
/// Serial of the demo certificate that expires in 10 days.
pub const DEMO_EXPIRING_SN: &str = "5a1e0000000000000000000000000000000000b2";
/// Serial of the revoked demo certificate.
pub const DEMO_REVOKED_SN: &str = "5a1e0000000000000000000000000000000000c3";

/// An API key pair, with the session token of temporary credentials.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// The public half, sent in every request.
    pub secret_id: String,
    /// The private half; never logged, never printed by `Debug`.
    pub secret_key: String,
    /// With temporary credentials, the exact `X-TC-Token` requests must carry.
    #[serde(default)]
    pub token: Option<String>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<hidden>")
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// One TDMQ-MQTT instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// E.g. `mqtt-jbgwp4ae`.
    pub instance_id: String,
    /// The region it lives in, e.g. `ap-guangzhou`; requests for another region do not find it.
    pub region: String,
    /// Its device certificates.
    #[serde(default)]
    pub certificates: Vec<Certificate>,
}

/// A device certificate record, field for field what `DescribeDeviceCertificate` returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Certificate {
    /// Serial of the issuing CA.
    pub ca_sn: String,
    /// `API` or `JITP`.
    pub certificate_source: String,
    /// MQTT client id bound to the certificate.
    pub client_id: String,
    /// Creation time, Unix milliseconds.
    pub created_time: i64,
    /// The certificate, PEM text.
    pub device_certificate: String,
    /// Subject common name.
    pub device_certificate_cn: String,
    /// Serial, lowercase hex; requests match it without regard to case.
    pub device_certificate_sn: String,
    /// `PEM`.
    pub format: String,
    /// Last activation, Unix milliseconds, 0 for never.
    pub last_activation_time: i64,
    /// Last deactivation, Unix milliseconds, 0 for never.
    pub last_inactivation_time: i64,
    /// End of validity, Unix milliseconds.
    pub not_after_time: i64,
    /// Start of validity, Unix milliseconds.
    pub not_before_time: i64,
    /// Subject organisational unit.
    pub organizational_unit: String,
    /// `ACTIVE`, `INACTIVE`, `REVOKED`, `PENDING_ACTIVATION`, or anything else.
    pub status: String,
    /// Last update, Unix milliseconds.
    pub update_time: i64,
}

/// Everything the emulator knows: who may call, and what they may ask about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    /// API keys accepted.
    #[serde(default)]
    pub credentials: Vec<Credential>,
    /// Instances and their certificates.
    #[serde(default)]
    pub instances: Vec<Instance>,
}

impl Fleet {
    /// Parses and checks a fleet.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when the text is not a fleet, [`Error::InvalidFleet`] when it contradicts
    /// itself (see [`Fleet::validate`]).
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let fleet: Self = serde_json::from_str(text).map_err(|source| Error::Json {
            context: "the fleet text".to_owned(),
            source,
        })?;
        fleet.validate()?;
        Ok(fleet)
    }

    /// Reads, parses and checks a fleet file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, otherwise as [`Fleet::from_json`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let fleet: Self = serde_json::from_str(&text).map_err(|source| Error::Json {
            context: path.display().to_string(),
            source,
        })?;
        fleet.validate()?;
        Ok(fleet)
    }

    /// The fleet as pretty JSON, in the file format.
    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks that SecretIds are non-empty and unique, secret keys non-empty, instance ids
    /// non-empty and unique, and serials unique within an instance.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFleet`] naming the first problem.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |why: String| Err(Error::InvalidFleet(why));

        let mut ids = HashSet::new();
        for credential in &self.credentials {
            if credential.secret_id.is_empty() || credential.secret_key.is_empty() {
                return invalid("a credential has an empty secret_id or secret_key".to_owned());
            }
            if !ids.insert(credential.secret_id.as_str()) {
                return invalid(format!("SecretId {} appears twice", credential.secret_id));
            }
        }

        let mut instances = HashSet::new();
        for instance in &self.instances {
            if instance.instance_id.is_empty() || instance.region.is_empty() {
                return invalid("an instance has an empty instance_id or region".to_owned());
            }
            if !instances.insert(instance.instance_id.as_str()) {
                return invalid(format!("instance {} appears twice", instance.instance_id));
            }
            let mut serials = HashSet::new();
            for certificate in &instance.certificates {
                if !serials.insert(certificate.device_certificate_sn.to_ascii_lowercase()) {
                    return invalid(format!(
                        "certificate {} appears twice in {}",
                        certificate.device_certificate_sn, instance.instance_id
                    ));
                }
            }
        }
        Ok(())
    }

    /// The credential of a SecretId.
    pub fn credential(&self, secret_id: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.secret_id == secret_id)
    }

    /// The instance with this id in this region.
    pub fn instance(&self, region: &str, instance_id: &str) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|i| i.instance_id == instance_id && i.region == region)
    }

    /// A demonstration fleet, with times computed from `now_ms` (Unix milliseconds): one
    /// credential ([`DEMO_SECRET_ID`], [`DEMO_SECRET_KEY`]) and instance [`DEMO_INSTANCE_ID`] in
    /// [`DEMO_REGION`] holding three certificates: [`DEMO_HEALTHY_SN`], valid for a year;
    /// [`DEMO_EXPIRING_SN`], expiring in 10 days; [`DEMO_REVOKED_SN`], revoked.
    pub fn demo(now_ms: i64) -> Self {
        const DAY_MS: i64 = 86_400_000;

        let record = |sn: &str, client: &str, status: &str, from: i64, to: i64| Certificate {
            ca_sn: "5a1eca0000000000000000000000000000000001".to_owned(),
            certificate_source: "API".to_owned(),
            client_id: client.to_owned(),
            created_time: from,
            device_certificate: demo_pem(sn),
            device_certificate_cn: format!("{client}.demo.example"),
            device_certificate_sn: sn.to_owned(),
            format: "PEM".to_owned(),
            last_activation_time: from,
            last_inactivation_time: 0,
            not_after_time: to,
            not_before_time: from,
            organizational_unit: "Demo Fleet".to_owned(),
            status: status.to_owned(),
            update_time: from,
        };

        let mut revoked = record(
            DEMO_REVOKED_SN,
            "gateway-3",
            "REVOKED",
            now_ms - 100 * DAY_MS,
            now_ms + 265 * DAY_MS,
        );
        revoked.update_time = now_ms - 2 * DAY_MS;
        revoked.last_inactivation_time = now_ms - 2 * DAY_MS;

        Self {
            credentials: vec![Credential {
                secret_id: DEMO_SECRET_ID.to_owned(),
                secret_key: DEMO_SECRET_KEY.to_owned(),
                token: None,
            }],
            instances: vec![Instance {
                instance_id: DEMO_INSTANCE_ID.to_owned(),
                region: DEMO_REGION.to_owned(),
                certificates: vec![
                    record(
                        DEMO_HEALTHY_SN,
                        "gateway-1",
                        "ACTIVE",
                        now_ms - DAY_MS,
                        now_ms + 365 * DAY_MS,
                    ),
                    record(
                        DEMO_EXPIRING_SN,
                        "gateway-2",
                        "ACTIVE",
                        now_ms - 355 * DAY_MS,
                        now_ms + 10 * DAY_MS,
                    ),
                    revoked,
                ],
            }],
        }
    }
}

/// A PEM-shaped stand-in for a demo certificate. It is not a parseable certificate: the API
/// returns the PEM as opaque text and clients only display it.
fn demo_pem(sn: &str) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\nMIIBdemoZGVtbyBjZXJ0aWZpY2F0ZSBmb3IgdGhlIGxvY2FsIGVtdWxhdG9y\n{}\n-----END CERTIFICATE-----\n",
        &sn[sn.len().saturating_sub(8)..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_round_trips_and_validates() {
        let fleet = Fleet::demo(1_700_000_000_000);
        fleet.validate().unwrap();
        assert_eq!(Fleet::from_json(&fleet.to_json()).unwrap(), fleet);
        assert!(format!("{fleet:?}").contains("<hidden>"));
        assert!(!format!("{fleet:?}").contains(DEMO_SECRET_KEY));
    }

    #[test]
    fn contradictions_are_refused() {
        let mut fleet = Fleet::demo(0);
        fleet.credentials.push(fleet.credentials[0].clone());
        assert!(matches!(fleet.validate(), Err(Error::InvalidFleet(_))));

        let mut fleet = Fleet::demo(0);
        let copy = fleet.instances[0].certificates[0].clone();
        fleet.instances[0].certificates.push(copy);
        assert!(matches!(fleet.validate(), Err(Error::InvalidFleet(_))));

        assert!(matches!(
            Fleet::from_json(r#"{"credentials":[],"instances":[],"extra":1}"#),
            Err(Error::Json { .. })
        ));
    }
}
