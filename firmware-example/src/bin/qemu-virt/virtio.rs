//! The virtio-mmio slots of QEMU's `virt` machine, and the DMA memory their devices use.
//!
//! The machine has eight slots from `0x1000_1000`, `0x1000` apart. QEMU fills them from the last
//! one down in the order of the `-device` options, so the firmware looks at every slot and takes
//! the devices by type. QEMU 7.2 presents them as legacy (version 1) MMIO devices, which
//! `virtio-drivers` supports as it does version 2.
//!
//! Memory is identity-mapped in machine mode: a physical address is the pointer itself. The
//! queues come from a static page-aligned pool that is never given back, since the devices live
//! as long as the firmware.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

/// Address of the first virtio-mmio slot.
const FIRST_SLOT: usize = 0x1000_1000;
/// Distance between two slots, which is also the size of each.
const SLOT_SIZE: usize = 0x1000;
/// Number of slots.
const SLOTS: usize = 8;

/// Pages in the DMA pool. Each virtqueue of up to 16 descriptors takes two pages, in the legacy
/// layout as in the modern one: the network card's two queues and the RNG's one take all 6.
/// Running out panics with a message that says so (exit status 8), which a test would show.
const DMA_PAGES: usize = 6;

/// The devices found in the slots.
pub struct Devices {
    /// The first network card.
    pub net: Option<Found>,
    /// The first entropy source.
    pub rng: Option<Found>,
}

/// A device and where it sits.
pub struct Found {
    /// The device's registers, as `virtio-drivers` drives them.
    pub transport: MmioTransport<'static>,
    /// Its slot, from 0: the address of its registers is `FIRST_SLOT + slot * SLOT_SIZE`.
    pub slot: usize,
}

/// The address of the registers of `slot`.
pub const fn slot_address(slot: usize) -> usize {
    FIRST_SLOT + slot * SLOT_SIZE
}

/// Looks at every slot once and keeps the first network card and the first entropy source.
///
/// # Panics
///
/// When called twice: each slot must have a single owner.
pub fn probe() -> Devices {
    static PROBED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    assert!(
        !PROBED.swap(true, Ordering::Relaxed),
        "virtio slots probed twice"
    );

    let mut devices = Devices {
        net: None,
        rng: None,
    };
    for slot in 0..SLOTS {
        let address = slot_address(slot);
        let Some(header) = NonNull::new(address as *mut VirtIOHeader) else {
            continue;
        };
        // SAFETY: each slot is a virtio-mmio register window of SLOT_SIZE bytes that the `virt`
        // machine maps for ever; `PROBED` makes this the only transport over it.
        let Ok(transport) = (unsafe { MmioTransport::new(header, SLOT_SIZE) }) else {
            continue; // an empty slot (device id 0) or an unknown device
        };
        let kind = transport.device_type();
        defmt::debug!(
            "virtio slot {} at {=usize:#x}: device type {}",
            slot,
            address,
            kind as u32
        );
        match kind {
            DeviceType::Network if devices.net.is_none() => {
                devices.net = Some(Found { transport, slot });
            }
            DeviceType::EntropySource if devices.rng.is_none() => {
                devices.rng = Some(Found { transport, slot });
            }
            _ => {}
        }
    }
    devices
}

/// The DMA pool: whole pages, page-aligned, as the virtqueues need.
#[repr(C, align(4096))]
struct Pool(UnsafeCell<[u8; DMA_PAGES * PAGE_SIZE]>);

// SAFETY: `NEXT` hands every page out at most once, so no two users share a byte of the pool.
unsafe impl Sync for Pool {}

static POOL: Pool = Pool(UnsafeCell::new([0; DMA_PAGES * PAGE_SIZE]));
/// The first page not yet handed out.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// `virtio-drivers`' platform layer for this machine: identity mapping and the static pool.
pub struct DmaHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned pages of the static pool that are never handed
// out twice; addresses are identity-mapped, so `share` may return the buffer's own address.
unsafe impl Hal for DmaHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let first = NEXT.fetch_add(pages, Ordering::Relaxed);
        assert!(
            first + pages <= DMA_PAGES,
            "the DMA pool of {} pages is exhausted",
            DMA_PAGES
        );
        // SAFETY: pages `first..first + pages` lie inside the pool (checked above) and were never
        // handed out (`NEXT` only grows), so nothing else refers to them.
        let start = unsafe { POOL.0.get().cast::<u8>().add(first * PAGE_SIZE) };
        // SAFETY: as above; the static pool starts zeroed, and the pages are cleared again in
        // case of a restart without reloading the image.
        unsafe { start.write_bytes(0, pages * PAGE_SIZE) };
        let Some(vaddr) = NonNull::new(start) else {
            unreachable!("a static has a non-null address")
        };
        (start as usize as PhysAddr, vaddr)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        // The devices are never dropped; pages are not reused.
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as usize as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as usize as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
