//! Random numbers: a ChaCha20 generator seeded once from the virtio entropy device.
//!
//! QEMU's `virtio-rng-device` reads the host's `/dev/urandom`. Asking it for every byte would be
//! slow (one virtqueue round trip each time), so it gives the 32-byte seed of a ChaCha20 stream,
//! the usual cryptographic generator, and a second seed for embassy-net's own use.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use virtio_drivers::device::rng::VirtIORng;
use virtio_drivers::transport::mmio::MmioTransport;

use crate::virtio::DmaHal;

/// The seeds drawn at boot.
pub struct Seeds {
    /// The cryptographic generator for TLS.
    pub rng: ChaCha20Rng,
    /// embassy-net's seed (TCP initial sequence numbers, DHCP transaction ids, ports).
    pub net: u64,
}

/// Draws the seeds from the entropy device.
///
/// # Errors
///
/// When the device does not start or gives fewer bytes than asked.
pub fn seed(transport: MmioTransport<'static>) -> Result<Seeds, virtio_drivers::Error> {
    let mut device = VirtIORng::<DmaHal, _>::new(transport)?;
    let mut seed = [0u8; 32 + 8];
    let mut filled = 0;
    while filled < seed.len() {
        match device.request_entropy(&mut seed[filled..])? {
            0 => return Err(virtio_drivers::Error::IoError),
            n => filled += n,
        }
    }

    let mut chacha = [0u8; 32];
    chacha.copy_from_slice(&seed[..32]);
    let mut net = [0u8; 8];
    net.copy_from_slice(&seed[32..]);
    seed.fill(0);
    Ok(Seeds {
        rng: ChaCha20Rng::from_seed(chacha),
        net: u64::from_le_bytes(net),
    })
}
