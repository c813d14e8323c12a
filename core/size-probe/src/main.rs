//! The size probe: one complete certificate check on a Cortex-M4F, measured.
//!
//! `cargo xtask size` builds this firmware twice for QEMU's `mps2-an386` machine. Without
//! features it is the baseline: it loads the reply into its buffer, paints the stack, calls an
//! empty piece of work, measures the stack and prints. With the `work` feature the same piece of
//! work runs the core: it signs and writes a `DescribeDeviceCertificate` request, reads the
//! documented reply and judges the certificate. The difference between the two binaries is what
//! the core adds to a firmware.
//!
//! On the semihosting console the probe prints `work-result=N` (the request's length with the
//! core, the reply's without) and `stack-peak-bytes=N`, the deepest the stack has been during the
//! work, counted from its top. It exits with success only when the work gave the expected
//! results, so a probe that measured nothing cannot pass.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use cortex_m::register::msp;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hprintln};

/// The reply the work reads: the documented `DescribeDeviceCertificate` answer with a whole
/// 1.3 KB PEM (a throwaway RSA-2048 certificate made with `openssl req -x509` for the documented
/// serial), behind an HTTP/1.1 200 head with `Content-Type` and `Date`.
static REPLY: &[u8] = include_bytes!("reply.http");

/// Room for the request, as the core advises for `DescribeDeviceCertificate`.
const REQUEST_CAPACITY: usize = 1024;
/// Room for the reply, as the core advises.
const REPLY_CAPACITY: usize = 8192;

/// The word the free stack is painted with.
const PAINT: u32 = 0xCAFE_BABE;
/// Bytes left unpainted below the stack pointer of [`paint`], so that it never paints over
/// anything live.
const MARGIN: usize = 64;

unsafe extern "C" {
    /// End of the statics (cortex-m-rt's linker script): the stack may grow down to here.
    static __sheap: u32;
    /// Top of the stack (cortex-m-rt's linker script).
    static _stack_start: u32;
}

#[entry]
fn main() -> ! {
    // The buffers live in RAM (`.bss`) rather than on the stack being measured, as they would in
    // a firmware.
    let Some(request) = cortex_m::singleton!(: [u8; REQUEST_CAPACITY] = [0; REQUEST_CAPACITY])
    else {
        fail("request buffer taken twice")
    };
    let Some(reply) = cortex_m::singleton!(: [u8; REPLY_CAPACITY] = [0; REPLY_CAPACITY]) else {
        fail("reply buffer taken twice")
    };

    paint();
    let result = work::run(request, reply);
    let peak = stack_top() - lowest_touched();

    match result {
        Ok(len) => {
            hprintln!("work-result={}", len);
            hprintln!("stack-peak-bytes={}", peak);
            exit(debug::EXIT_SUCCESS)
        }
        Err(what) => fail(what),
    }
}

/// Copies the reply into `buf`, as the network would; returns its length.
fn load_reply(buf: &mut [u8]) -> usize {
    let reply = black_box(REPLY);
    buf[..reply.len()].copy_from_slice(reply);
    black_box(buf);
    reply.len()
}

/// The baseline's work: only what the full build does besides calling the core.
#[cfg(not(feature = "work"))]
mod work {
    use core::hint::black_box;

    /// Loads the reply and keeps both buffers, the inputs and the failure messages of the full
    /// build alive, so that the difference is the core's code alone; returns the reply's length.
    #[inline(never)]
    pub fn run(request: &mut [u8], reply: &mut [u8]) -> Result<usize, &'static str> {
        use super::input::*;
        black_box(request);
        black_box((
            SECRET_ID,
            SECRET_KEY,
            HOST,
            REGION,
            INSTANCE_ID,
            SERIAL,
            NOW,
        ));
        black_box(super::failure::ALL);
        let filled = super::load_reply(reply);
        black_box(Ok(filled))
    }
}

/// The full build's work: one complete check with the core.
#[cfg(feature = "work")]
mod work {
    use core::hint::black_box;

    use mqttcert_core::check::{self, Policy};
    use mqttcert_core::request::{Credential, DescribeDeviceCertificate, Endpoint};
    use mqttcert_core::response::{self, Read};
    use mqttcert_core::sign::Signer;
    use mqttcert_core::{DeviceCertificate, SecretKey, Verdict};

    use super::failure;
    use super::input::*;

    /// Signs and writes the request twice with one signer (the first call derives the signing
    /// key, the second reuses it), reads the reply and judges it; returns the request's length.
    #[inline(never)]
    pub fn run(request: &mut [u8], reply: &mut [u8]) -> Result<usize, &'static str> {
        // The record, about 5 KB, lives in RAM rather than on the stack, as the core advises.
        // `singleton!` keeps it in `.bss` and writes it at run time: as the initialiser of a
        // plain static, `DeviceCertificate::new()` (whose enum tags are not zero) would put the
        // whole record in `.data`, and a 5 KB copy of it in flash.
        let record = cortex_m::singleton!(: DeviceCertificate = DeviceCertificate::new())
            .ok_or(failure::RECORD)?;

        let secret_key = SecretKey::new(black_box(SECRET_KEY)).map_err(|_| failure::SECRET_KEY)?;
        let credential = Credential::new(black_box(SECRET_ID), &secret_key);
        let endpoint = Endpoint::new(black_box(HOST), black_box(REGION));
        let query = DescribeDeviceCertificate {
            instance_id: black_box(INSTANCE_ID),
            serial: black_box(SERIAL),
        };
        let now = black_box(NOW);

        let mut signer = Signer::new();
        let first = query
            .write_request(request, &endpoint, &credential, &mut signer, now)
            .map_err(|_| failure::FIRST_REQUEST)?;
        let second = query
            .write_request(request, &endpoint, &credential, &mut signer, now + 60)
            .map_err(|_| failure::SECOND_REQUEST)?;
        if first == 0 || second != first || !request.starts_with(b"POST / HTTP/1.1\r\n") {
            return Err(failure::REQUEST);
        }

        let filled = super::load_reply(reply);
        let info = match response::read_reply(reply, filled, true, record) {
            Ok(Read::Complete(info)) => info,
            Ok(Read::Incomplete) => return Err(failure::INCOMPLETE),
            Err(_) => return Err(failure::REFUSED),
        };
        if info.date != Some(NOW)
            || !record
                .device_certificate
                .ends_with("-----END CERTIFICATE-----\n")
        {
            return Err(failure::MISREAD);
        }

        match check::judge(record, query.serial, now * 1000, &Policy::default()) {
            Verdict::Healthy { .. } => Ok(first),
            _ => Err(failure::VERDICT),
        }
    }
}

/// What both builds take in: the documented example.
mod input {
    pub const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    pub const SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    pub const HOST: &str = "mqtt.intl.tencentcloudapi.com";
    pub const REGION: &str = "ap-guangzhou";
    pub const INSTANCE_ID: &str = "mqtt-jbgwp4ae";
    pub const SERIAL: &str = "0eef68a582b94254296e54ce754f94d707a59911";
    /// The moment of the check, Unix seconds: the reply's `Date`.
    pub const NOW: u64 = 1_724_100_000;
    /// Every text input, for the baseline to keep.
    pub static ALL: [&str; 6] = [SECRET_ID, SECRET_KEY, HOST, REGION, INSTANCE_ID, SERIAL];
}

/// How the full build's work can fail; both builds carry the words.
mod failure {
    pub const RECORD: &str = "record taken twice";
    pub const SECRET_KEY: &str = "secret key refused";
    pub const FIRST_REQUEST: &str = "first request not written";
    pub const SECOND_REQUEST: &str = "second request not written";
    pub const REQUEST: &str = "request malformed";
    pub const INCOMPLETE: &str = "reply incomplete";
    pub const REFUSED: &str = "reply refused";
    pub const MISREAD: &str = "reply misread";
    pub const VERDICT: &str = "unexpected verdict";
    pub static ALL: [&str; 9] = [
        RECORD,
        SECRET_KEY,
        FIRST_REQUEST,
        SECOND_REQUEST,
        REQUEST,
        INCOMPLETE,
        REFUSED,
        MISREAD,
        VERDICT,
    ];
}

/// Paints the free stack, from the end of the statics to [`MARGIN`] bytes below the stack
/// pointer, with [`PAINT`].
#[inline(never)]
fn paint() {
    let end = msp::read() as usize - MARGIN;
    let mut word = stack_bottom() as *mut u32;
    while (word as usize) < end {
        // SAFETY: the words between the end of the statics and the stack pointer belong to no
        // live object (there is no heap) and to no frame (the stack grows down, and this loop
        // calls nothing), and they are 4-byte aligned, as the linker script asserts.
        unsafe {
            word.write_volatile(PAINT);
            word = word.add(1);
        }
    }
}

/// The lowest address written since [`paint`]: the first word, from the bottom up, that lost
/// its paint.
#[inline(never)]
fn lowest_touched() -> usize {
    let end = stack_top();
    let mut word = stack_bottom() as *const u32;
    // SAFETY: every word from the end of the statics to the top of the stack is RAM, aligned,
    // and only read here.
    while (word as usize) < end && unsafe { word.read_volatile() } == PAINT {
        word = word.wrapping_add(1);
    }
    word as usize
}

/// The lowest address the stack may reach.
fn stack_bottom() -> usize {
    (&raw const __sheap) as usize
}

/// The address just above the stack, where it starts.
fn stack_top() -> usize {
    (&raw const _stack_start) as usize
}

/// Reports `what` and ends QEMU with a failure.
fn fail(what: &str) -> ! {
    hprintln!("probe failed: {}", what);
    exit(debug::EXIT_FAILURE)
}

/// Ends QEMU with `status`.
fn exit(status: debug::ExitStatus) -> ! {
    debug::exit(status);
    // Semihosting returns only when no host listens: stop here.
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    // The message is left out: formatting it would pull the `Debug` code of every panic site's
    // arguments into the binary, which a firmware built for size does not carry either.
    match info.location() {
        Some(at) => hprintln!("probe panicked at {}:{}", at.file(), at.line()),
        None => hprintln!("probe panicked"),
    }
    exit(debug::EXIT_FAILURE)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("probe faulted at pc {:#010x}", frame.pc());
    exit(debug::EXIT_FAILURE)
}
