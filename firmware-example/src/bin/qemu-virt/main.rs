//! Board support for QEMU's riscv32 `virt` machine, and the firmware that runs on it.
//!
//! Started as `qemu-system-riscv32 -M virt -bios none -m 128M -nographic -serial stdio
//! -monitor none -netdev user,id=n0 -device virtio-net-device,netdev=n0 -device
//! virtio-rng-device -kernel qemu-virt` (which `cargo xtask firmware` does), the firmware:
//!
//! 1. boots in machine mode, paints its free stack and logs over the UART with defmt;
//! 2. reads the wall clock from the RTC;
//! 3. finds the virtio devices, seeds its random numbers from the entropy device and starts
//!    embassy-net on the network card, with an address from QEMU's DHCP server;
//! 4. talks to the API at the address and port of its build-time configuration (`config`);
//! 5. leaves QEMU with an exit status that tells the outcome (the table is in `exit`).
//!
//! Step 4 is a certificate check with the device library (`check`): TLS 1.3 with the pinned
//! CA, the signed `DescribeDeviceCertificate` request, the verdict, at boot and then every
//! `MQTTCERT_CHECK_INTERVAL_SECS`. With `MQTTCERT_BRINGUP=1` it is one plain HTTP exchange,
//! which proves the board without TLS or the API.
//!
//! The board glue (`exit`, `interrupts`, `rtc`, `stack`, `time_driver`, `uart`, `virtio`,
//! `virtio_net`) is the only code allowed `unsafe`; linker symbols are only ever used for their
//! address.
//!
//! # Running
//!
//! `cargo xtask firmware` starts the emulator of the API, builds this binary with a
//! configuration that points at it (`MQTTCERT_*`, documented in `build.rs`), runs it under
//! QEMU for each scenario (`xtask/src/firmware.rs` lists them: every outcome, resets, clock
//! skew, untrusted and misnamed servers, a missing device), decodes the defmt log with the ELF
//! and checks the exit status and the log. By hand, with an emulator running, the variables
//! set and `DEFMT_LOG=info,embassy_net=warn` (info, without the network stack's own link
//! messages), `cargo run` builds and runs the firmware once and prints its decoded log (its
//! runner is `cargo xtask qemu`):
//!
//! ```text
//! cargo run --profile firmware -p mqttcert-firmware --features qemu --bin qemu-virt \
//!     --target riscv32imac-unknown-none-elf
//! ```
//!
//! # Limits
//!
//! - The executor sleeps in `wfi` between events: the CLINT timer and the network card's
//!   interrupt wake it. The entropy device is read once at boot, by polling.
//! - There is no DNS resolver: the API is reached at `MQTTCERT_API_IP`, and `MQTTCERT_API_HOST`
//!   is only the name signed, sent as SNI and matched in the server certificate.
//! - The secret key is compiled into the image: give it only `mqtt:DescribeDeviceCertificate`.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[cfg(not(all(target_arch = "riscv32", target_os = "none")))]
compile_error!("the qemu-virt binary is built for riscv32imac-unknown-none-elf only");

mod bringup;
mod check;
// Each build uses the settings its mode needs.
#[allow(dead_code)]
mod config;
// Every outcome has its status, whether or not this build can reach it.
#[allow(dead_code, unsafe_code)]
mod exit;
#[allow(unsafe_code)]
mod interrupts;
mod rng;
#[allow(unsafe_code)]
mod rtc;
#[allow(unsafe_code)]
mod stack;
#[allow(unsafe_code)]
mod time_driver;
#[allow(unsafe_code)]
mod uart;
#[allow(unsafe_code)]
mod virtio;
#[allow(unsafe_code)]
mod virtio_net;

use core::panic::PanicInfo;

use embassy_executor::{Executor, Spawner};
use embassy_net::{Runner, Stack, StackResources};
use embassy_time::{Duration, Instant, with_timeout};
use rand_chacha::ChaCha20Rng;
use static_cell::StaticCell;

use crate::virtio_net::VirtioNet;

/// How long DHCP may take before the network counts as failed.
const DHCP_LIMIT: Duration = Duration::from_secs(20);
/// Sockets embassy-net makes room for: DHCP and the connection to the API.
const SOCKETS: usize = 3;

#[riscv_rt::entry]
fn main() -> ! {
    stack::paint();
    time_driver::init();
    interrupts::start();
    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    EXECUTOR
        .init(Executor::new())
        .run(|spawner| match boot(spawner) {
            Ok(token) => spawner.spawn(token),
            Err(_) => exit::exit(exit::BOARD),
        })
}

/// Brings the board up and starts the firmware's job.
#[embassy_executor::task]
async fn boot(spawner: Spawner) {
    let boot_secs = rtc::now_secs();
    defmt::info!(
        "qemu-virt booted: RTC {=u64} s since the epoch, API {}:{=u16}",
        boot_secs,
        embassy_net::Ipv4Address::from(config::API_IP),
        config::API_PORT
    );

    match start_network(spawner).await {
        Ok((stack, rng)) => match job(stack, rng) {
            Ok(token) => spawner.spawn(token),
            Err(_) => finish(exit::BOARD),
        },
        Err(status) => finish(status),
    }
}

/// The bring-up check or the certificate checks, then exit with their outcome.
///
/// A task of its own rather than a call from [`boot`]: the boot task's poll frame, sized by
/// the network set-up, is then off the stack while the TLS handshake runs at its deepest.
#[embassy_executor::task]
async fn job(stack: Stack<'static>, rng: ChaCha20Rng) {
    let status = if config::BRINGUP {
        bringup::run(stack).await
    } else {
        check::run(stack, rng).await
    };
    finish(status)
}

/// Reports the run and leaves QEMU with `status`.
fn finish(status: u16) -> ! {
    defmt::info!(
        "done after {=u64} ms, peak stack {=usize} bytes, exit status {=u16}",
        Instant::now().as_millis(),
        stack::peak(),
        status
    );
    exit::exit(status)
}

/// Finds the devices, starts embassy-net and waits for an address from DHCP; returns the network
/// stack and the random number generator.
async fn start_network(spawner: Spawner) -> Result<(Stack<'static>, ChaCha20Rng), u16> {
    let devices = virtio::probe();
    let (Some(net), Some(entropy)) = (devices.net, devices.rng) else {
        defmt::error!("a virtio-net and a virtio-rng device are needed");
        return Err(exit::BOARD);
    };
    let seeds = rng::seed(entropy.transport).map_err(|_| {
        defmt::error!("the virtio-rng device failed");
        exit::BOARD
    })?;
    let card = VirtioNet::new(net).map_err(|_| {
        defmt::error!("the virtio-net device failed to start");
        exit::BOARD
    })?;
    defmt::info!("virtio-net up, MAC {=[u8]:02x}", card.mac());

    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        card,
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seeds.net,
    );
    match net_task(runner) {
        Ok(token) => spawner.spawn(token),
        Err(_) => return Err(exit::BOARD),
    }

    if with_timeout(DHCP_LIMIT, stack.wait_config_up())
        .await
        .is_err()
    {
        defmt::error!("no address from DHCP within {=u64} s", DHCP_LIMIT.as_secs());
        return Err(exit::NETWORK);
    }
    if let Some(config) = stack.config_v4() {
        defmt::info!(
            "address {}, stack so far {=usize} bytes",
            config.address,
            stack::peak()
        );
    }
    Ok((stack, seeds.rng))
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, VirtioNet>) -> ! {
    runner.run().await
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit::exit(exit::PANIC)
}
