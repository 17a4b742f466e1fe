//! A tokio echo server on tunstack, and a client talking to it over an in-memory link:
//! `cargo run -p tunstack --example tokio_echo --features tokio`.

use std::net::Ipv4Addr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::{Medium, MemoryLink};
use tunstack::socket::Runtime;
use tunstack::stack::{Stack, StackConfig};
use tunstack::tokio::{TcpListener, TcpStream};

/// The echo server: one task per connection, no thread per connection.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (mut conn, _) = listener.accept().await?;
        tokio::spawn(async move {
            let (mut rd, mut wr) = tokio::io::split(&mut conn);
            tokio::io::copy(&mut rd, &mut wr).await
        });
    }
}

/// Two stacks joined by an in-memory link, 10.7.0.1 and 10.7.0.2.
fn stack(addr: Ipv4Addr, seed: u64, dev: tunstack::link::MemoryEnd) -> std::io::Result<Runtime> {
    let mut s = Stack::new(StackConfig::default(), tunstack::rand::Rng::new(seed));
    let cidr = Ipv4Cidr::new(addr, 24).expect("valid prefix");
    let i = s.add_interface(InterfaceConfig::ip("mem0", cidr));
    Runtime::spawn(s, vec![(i, Box::new(dev))])
}

#[tokio::main(flavor = "current_thread")]
pub async fn main() -> std::io::Result<()> {
    let (a, b) = MemoryLink::pair(Medium::Ip, 1500);
    let (server, client) = (
        stack([10, 7, 0, 1].into(), 1, a)?,
        stack([10, 7, 0, 2].into(), 2, b)?,
    );
    let listener = TcpListener::bind_on(&server.handle(), "10.7.0.1:7")?;
    tokio::spawn(serve(listener));
    let mut c = TcpStream::connect_on(&client.handle(), "10.7.0.1:7").await?;
    c.write_all(b"hello, tunstack").await?;
    let mut back = [0u8; 15];
    c.read_exact(&mut back).await?;
    println!("echoed: {}", String::from_utf8_lossy(&back));
    assert_eq!(&back, b"hello, tunstack");
    Ok(())
}
