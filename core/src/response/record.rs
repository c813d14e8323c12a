//! The device certificate record, in fixed-capacity fields.

use core::fmt;

use heapless::String;
use serde::Serialize;

/// Default capacity of [`DeviceCertificate::device_certificate`], the PEM text: 4 KiB holds
/// an RSA-4096 certificate with room to spare (typical ones are 1.2–2.5 KB).
pub const PEM_CAPACITY: usize = 4096;
/// Default capacity of every other text field of the record.
pub const TEXT_CAPACITY: usize = 128;
/// Capacity of an unknown `Status` or `CertificateSource` label kept as data.
pub const LABEL_CAPACITY: usize = 32;

/// A label the service sent that this crate does not know yet, kept as it was sent.
pub type Label = String<LABEL_CAPACITY>;

/// The state of a device certificate (`Status`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status {
    /// The reply did not say (only in a record not filled yet).
    #[default]
    Missing,
    /// `ACTIVE`: devices may connect with it.
    Active,
    /// `INACTIVE`: deactivated by the owner.
    Inactive,
    /// `REVOKED`: revoked for good.
    Revoked,
    /// `PENDING_ACTIVATION`: registered, not activated yet.
    PendingActivation,
    /// A value this crate does not know. The service adds values over time.
    Unknown(Label),
}

impl Status {
    /// Maps the API's label; an unknown one is kept, cut to [`LABEL_CAPACITY`] bytes.
    pub fn from_label(label: &str) -> Self {
        match label {
            "ACTIVE" => Status::Active,
            "INACTIVE" => Status::Inactive,
            "REVOKED" => Status::Revoked,
            "PENDING_ACTIVATION" => Status::PendingActivation,
            other => Status::Unknown(label_of(other)),
        }
    }

    /// The API's label for this status (empty when missing).
    pub fn as_str(&self) -> &str {
        match self {
            Status::Active => "ACTIVE",
            Status::Inactive => "INACTIVE",
            Status::Revoked => "REVOKED",
            Status::PendingActivation => "PENDING_ACTIVATION",
            Status::Unknown(label) => label,
            Status::Missing => "",
        }
    }
}

/// How the certificate was registered (`CertificateSource`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CertificateSource {
    /// The reply did not say.
    #[default]
    Missing,
    /// `API`: registered by hand.
    Api,
    /// `JITP`: registered by just-in-time provisioning.
    Jitp,
    /// A value this crate does not know.
    Unknown(Label),
}

impl CertificateSource {
    /// Maps the API's label; an unknown one is kept, cut to [`LABEL_CAPACITY`] bytes.
    pub fn from_label(label: &str) -> Self {
        match label {
            "API" => CertificateSource::Api,
            "JITP" => CertificateSource::Jitp,
            other => CertificateSource::Unknown(label_of(other)),
        }
    }

    /// The API's label (empty when missing).
    pub fn as_str(&self) -> &str {
        match self {
            CertificateSource::Api => "API",
            CertificateSource::Jitp => "JITP",
            CertificateSource::Unknown(label) => label,
            CertificateSource::Missing => "",
        }
    }
}

/// The longest prefix of `text` that fits a [`Label`], cut at a character boundary.
fn label_of(text: &str) -> Label {
    let mut label = Label::new();
    for c in text.chars() {
        if label.push(c).is_err() {
            break;
        }
    }
    label
}

macro_rules! label_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
label_serde!(Status);
label_serde!(CertificateSource);

/// What `DescribeDeviceCertificate` returns, all 16 fields, in fixed capacity.
///
/// `PEM` bounds the certificate text, `TEXT` every other string. Times are Unix milliseconds,
/// 0 when the service has none (a certificate never deactivated, for example). Serialising it
/// gives the field names and shape of the API's `Response` object.
///
/// The record is about 5 KB with the default capacities: on a device, keep it in a static or
/// in the task that owns the check rather than on a small stack.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "PascalCase")]
pub struct DeviceCertificate<const PEM: usize = PEM_CAPACITY, const TEXT: usize = TEXT_CAPACITY> {
    /// Serial of the issuing CA (`CaSn`).
    pub ca_sn: String<TEXT>,
    /// How the certificate was registered.
    pub certificate_source: CertificateSource,
    /// The MQTT client id bound to the certificate.
    pub client_id: String<TEXT>,
    /// When the record was created.
    pub created_time: u64,
    /// The certificate, PEM text with real newlines.
    pub device_certificate: String<PEM>,
    /// The subject common name.
    pub device_certificate_cn: String<TEXT>,
    /// The serial of the certificate described.
    pub device_certificate_sn: String<TEXT>,
    /// The certificate format, `PEM`.
    pub format: String<TEXT>,
    /// When the certificate was last activated (0: never).
    pub last_activation_time: u64,
    /// When the certificate was last deactivated (0: never).
    pub last_inactivation_time: u64,
    /// End of validity.
    pub not_after_time: u64,
    /// Start of validity.
    pub not_before_time: u64,
    /// The subject organisational unit.
    pub organizational_unit: String<TEXT>,
    /// The id of the request that returned this record.
    pub request_id: String<TEXT>,
    /// The state of the certificate.
    pub status: Status,
    /// When the record was last changed.
    pub update_time: u64,
}

impl<const PEM: usize, const TEXT: usize> DeviceCertificate<PEM, TEXT> {
    /// An empty record, to be filled by [`super::read_reply`] or [`super::parse_body`].
    pub const fn new() -> Self {
        Self {
            ca_sn: String::new(),
            certificate_source: CertificateSource::Missing,
            client_id: String::new(),
            created_time: 0,
            device_certificate: String::new(),
            device_certificate_cn: String::new(),
            device_certificate_sn: String::new(),
            format: String::new(),
            last_activation_time: 0,
            last_inactivation_time: 0,
            not_after_time: 0,
            not_before_time: 0,
            organizational_unit: String::new(),
            request_id: String::new(),
            status: Status::Missing,
            update_time: 0,
        }
    }

    /// Empties every field in place (a record is too large to rebuild on a small stack).
    pub fn clear(&mut self) {
        for text in [
            &mut self.ca_sn,
            &mut self.client_id,
            &mut self.device_certificate_cn,
            &mut self.device_certificate_sn,
            &mut self.format,
            &mut self.organizational_unit,
            &mut self.request_id,
        ] {
            text.clear();
        }
        self.device_certificate.clear();
        self.certificate_source = CertificateSource::Missing;
        self.status = Status::Missing;
        self.created_time = 0;
        self.update_time = 0;
        self.not_before_time = 0;
        self.not_after_time = 0;
        self.last_activation_time = 0;
        self.last_inactivation_time = 0;
    }
}
