//! An embassy-net driver for the virtio network card, busy-polled.
//!
//! One receive buffer is kept posted to the card. When a frame has arrived it is copied out, the
//! buffer is posted again at once, and embassy-net reads the copy. A transmitted frame is written
//! into a buffer of its own and handed to the card, which QEMU consumes before `send` returns.
//! There are no interrupts: when nothing has arrived the driver asks to be polled again, and the
//! spinning executor does so.

use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};
use static_cell::ConstStaticCell;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::MmioTransport;

use crate::virtio::DmaHal;

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
    pub fn new(transport: MmioTransport<'static>) -> Result<Self, virtio_drivers::Error> {
        let card = Card::new(transport)?;
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
        let Some(length) = self.take_frame() else {
            cx.waker().wake_by_ref();
            return None;
        };
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
