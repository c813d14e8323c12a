//! The bring-up exchange: one plain HTTP request to the configured API address and its reply,
//! which proves the board (network card, TCP/IP, timers) without TLS or the API's rules.

use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, with_timeout};

use crate::{config, exit};

/// How long connecting, sending and reading may take in all.
const LIMIT: Duration = Duration::from_secs(20);
/// Room for the reply's head; the rest is read and dropped.
const REPLY: usize = 1024;

/// Sends `GET /` to the API address and logs the reply's status line; returns the exit status.
pub async fn run(stack: Stack<'static>) -> u16 {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 512];
    let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
    socket.set_timeout(Some(LIMIT));

    let mut reply = [0u8; REPLY];
    match with_timeout(LIMIT, exchange(&mut socket, &mut reply)).await {
        Ok(Ok(filled)) => {
            let head = &reply[..filled];
            let status_line = head.split(|&b| b == b'\r').next().unwrap_or(head);
            match core::str::from_utf8(status_line) {
                Ok(line) if line.starts_with("HTTP/1.") => {
                    defmt::info!("bring-up reply: {=str} ({=usize} bytes read)", line, filled);
                    exit::SUCCESS
                }
                _ => {
                    defmt::error!("bring-up: not an HTTP reply: {=[u8]:a}", status_line);
                    exit::API
                }
            }
        }
        Ok(Err(())) => exit::NETWORK,
        Err(_) => {
            defmt::error!("bring-up: no reply within {=u64} s", LIMIT.as_secs());
            exit::NETWORK
        }
    }
}

/// Connects, sends the request and reads until the server closes or `reply` is full.
async fn exchange(socket: &mut TcpSocket<'_>, reply: &mut [u8]) -> Result<usize, ()> {
    let endpoint = (
        embassy_net::Ipv4Address::from(config::API_IP),
        config::API_PORT,
    );
    socket.connect(endpoint).await.map_err(|err| {
        defmt::error!("bring-up: connect failed: {}", err);
    })?;
    defmt::info!("bring-up: connected to {}:{=u16}", endpoint.0, endpoint.1);

    for part in [
        "GET / HTTP/1.1\r\nHost: ",
        config::API_HOST,
        "\r\nConnection: close\r\n\r\n",
    ] {
        write_all(socket, part.as_bytes()).await?;
    }

    let mut filled = 0;
    let mut scratch = [0u8; 256];
    loop {
        let into = if filled < reply.len() {
            &mut reply[filled..]
        } else {
            &mut scratch[..]
        };
        match socket.read(into).await {
            Ok(0) => break,
            Ok(n) if filled < reply.len() => filled += n,
            Ok(_) => {}
            Err(err) => {
                defmt::error!("bring-up: read failed: {}", err);
                return Err(());
            }
        }
    }
    socket.close();
    Ok(filled)
}

async fn write_all(socket: &mut TcpSocket<'_>, mut bytes: &[u8]) -> Result<(), ()> {
    while !bytes.is_empty() {
        match socket.write(bytes).await {
            Ok(0) | Err(_) => {
                defmt::error!("bring-up: write failed");
                return Err(());
            }
            Ok(n) => bytes = &bytes[n..],
        }
    }
    Ok(())
}
