//! An embassy-net driver for the virtio network card, woken by its interrupt.
//!
//! One receive buffer is kept posted to the card. When a frame has arrived it is copied out, the
//! buffer is posted again at once, and embassy-net reads the copy. A transmitted frame is written
//! into a buffer of its own and handed to the card, which QEMU consumes before `send` returns.
//! When nothing has arrived, embassy-net's runner waits: the card's interrupt (through the PLIC)
//! acknowledges it and wakes the runner.

use core::ptr;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use core::task::Context;

use embassy_sync::waitqueue::AtomicWaker;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};
use static_cell::ConstStaticCell;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::MmioTransport;

use crate::interrupts;
use crate::virtio::{self, DmaHal, Found};

/// The runner of embassy-net, waiting for a frame.
static WAKER: AtomicWaker = AtomicWaker::new();
/// The card's PLIC source, and the address of its registers (0 before the card starts).
static SOURCE: AtomicU32 = AtomicU32::new(0);
static REGISTERS: AtomicUsize = AtomicUsize::new(0);

/// Offsets of the virtio-mmio interrupt status and acknowledge registers.
const INTERRUPT_STATUS: usize = 0x060;
const INTERRUPT_ACK: usize = 0x064;

/// Descriptors in each of the card's queues.
const QUEUE_SIZE: usize = 16;
/// An Ethernet frame without its checksum, as embassy-net hands it over.
const MTU: usize = 1514;
/// Room for the virtio header (10 or 12 bytes) and a frame; `virtio-drivers` wants at least 1526.
const BUFFER: usize = 2048;

static RX_BUFFER: ConstStaticCell<[u8; BUFFER]> = ConstStaticCell::new([0; BUFFER]);
static FRAME: ConstStaticCell<[u8; BUFFER]> = ConstStaticCell::new([0; BUFFER]);
static TX_BUFFER: ConstStaticCell<[u8; BUFFER]> = ConstStaticCell::new([0; BUFFER]);

type Card = VirtIONetRaw<DmaHal, MmioTransport<'static>, QUEUE_SIZE>;

/// The network card, as embassy-net sees it.
pub struct VirtioNet {
    card: Card,
    mac: [u8; 6],
    /// The buffer the card fills; it belongs to the card while `posted` holds a token.
    rx: &'static mut [u8; BUFFER],
    posted: Option<u16>,
    /// The last frame received, copied out of `rx`.
    frame: &'static mut [u8; BUFFER],
    tx: &'static mut [u8; BUFFER],
}

impl VirtioNet {
    /// Starts the card and posts the first receive buffer.
    ///
    /// # Errors
    ///
    /// When the card refuses to start or to take the buffer.
    ///
    /// # Panics
    ///
    /// When called twice: the buffers are static.
    pub fn new(found: Found) -> Result<Self, virtio_drivers::Error> {
        let card = Card::new(found.transport)?;
        let mac = card.mac_address();
        let mut net = Self {
            card,
            mac,
            rx: RX_BUFFER.take(),
            posted: None,
            frame: FRAME.take(),
            tx: TX_BUFFER.take(),
        };
        net.post()?;

        let source = interrupts::virtio_source(found.slot);
        REGISTERS.store(virtio::slot_address(found.slot), Ordering::Release);
        SOURCE.store(source, Ordering::Release);
        interrupts::enable(source);
        Ok(net)
    }

    /// The card's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Hands the receive buffer to the card.
    fn post(&mut self) -> Result<(), virtio_drivers::Error> {
        // SAFETY: `rx` is not touched again until `receive_complete` has returned it, because
        // `posted` holds the token until then and every access to `rx` checks it first.
        let token = unsafe { self.card.receive_begin(self.rx.as_mut_slice())? };
        self.posted = Some(token);
        Ok(())
    }

    /// Copies the frame that has arrived, if any, into `frame` and posts the buffer again;
    /// returns the frame's length.
    fn take_frame(&mut self) -> Option<usize> {
        let token = self.posted?;
        if self.card.poll_receive() != Some(token) {
            return None;
        }
        self.posted = None;
        // SAFETY: `rx` is the buffer given to `receive_begin` for this token.
        let received = unsafe { self.card.receive_complete(token, self.rx.as_mut_slice()) };
        let frame = match received {
            Ok((header, length)) if length <= MTU => {
                self.frame[..length].copy_from_slice(&self.rx[header..header + length]);
                Some(length)
            }
            Ok((_, length)) => {
                defmt::warn!("virtio-net: dropped a frame of {} bytes", length);
                None
            }
            Err(_) => {
                defmt::warn!("virtio-net: a receive failed");
                None
            }
        };
        if self.post().is_err() {
            defmt::error!("virtio-net: the card refused the receive buffer");
        }
        frame
    }
}

impl Driver for VirtioNet {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Rx<'_>, Tx<'_>)> {
        // Registered before looking, so that a frame arriving in between still wakes the runner.
        WAKER.register(cx.waker());
        let length = self.take_frame()?;
        let rx = Rx {
            frame: &mut self.frame[..length],
        };
        let tx = Tx {
            card: &mut self.card,
            buffer: self.tx,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, _cx: &mut Context<'_>) -> Option<Tx<'_>> {
        Some(Tx {
            card: &mut self.card,
            buffer: self.tx,
        })
    }

    fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::default();
        capabilities.max_transmission_unit = MTU;
        capabilities
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

/// A received frame.
pub struct Rx<'a> {
    frame: &'a mut [u8],
}

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for a frame to send.
pub struct Tx<'a> {
    card: &'a mut Card,
    buffer: &'a mut [u8; BUFFER],
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = &mut self.buffer[..len.min(MTU)];
        let result = f(frame);
        if self.card.send(frame).is_err() {
            defmt::warn!("virtio-net: a frame of {} bytes was not sent", len);
        }
        result
    }
}

/// From the PLIC handler: when `source` is the card's, acknowledges its interrupt (a used
/// buffer on either queue) and wakes the runner, which looks for a frame.
pub fn interrupt(source: u32) {
    let registers = REGISTERS.load(Ordering::Acquire);
    if registers == 0 || source != SOURCE.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: `registers` is the card's virtio-mmio window, mapped for ever; the driver never
    // touches these two registers, so acknowledging here races with nothing.
    unsafe {
        let status = ptr::read_volatile((registers + INTERRUPT_STATUS) as *const u32);
        ptr::write_volatile((registers + INTERRUPT_ACK) as *mut u32, status);
    }
    WAKER.wake();
}
