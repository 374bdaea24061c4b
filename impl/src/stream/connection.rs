//! `open_connection` and `start_server`, generic over the network: real tokio sockets, or
//! turmoil's simulated ones. The streams code above never knows which.

use super::error::StreamError;
use super::reader::StreamReader;
use super::transport::{open_stream, StreamOptions};
use super::writer::StreamWriter;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::JoinHandle;

/// A network that can connect and listen: [`TokioNet`] or [`TurmoilNet`].
pub trait Network: Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;
    type Listener: Send + Sync + 'static;

    fn connect(host: &str, port: u16) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    fn bind(host: &str, port: u16) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    fn listener_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;
    /// (peer, local) addresses of a connected stream.
    fn addrs(stream: &Self::Stream) -> (Option<SocketAddr>, Option<SocketAddr>);
}

/// Real sockets: `tokio::net`.
pub struct TokioNet;

impl Network for TokioNet {
    type Stream = tokio::net::TcpStream;
    type Listener = tokio::net::TcpListener;

    async fn connect(host: &str, port: u16) -> io::Result<Self::Stream> {
        tokio::net::TcpStream::connect((host, port)).await
    }
    async fn bind(host: &str, port: u16) -> io::Result<Self::Listener> {
        tokio::net::TcpListener::bind((host, port)).await
    }
    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        listener.accept().await.map(|(s, _)| s)
    }
    fn listener_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }
    fn addrs(stream: &Self::Stream) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (stream.peer_addr().ok(), stream.local_addr().ok())
    }
}

/// Simulated sockets: `turmoil::net`, usable only inside a turmoil host or client.
pub struct TurmoilNet;

/// A turmoil stream whose flush and shutdown first wait for a free send credit: turmoil loses a
/// FIN sent while the receiver's queue is full (notes/turmoil.md §2), where real TCP delivers it.
pub struct TurmoilSocket {
    inner: turmoil::net::TcpStream,
}

impl TurmoilSocket {
    fn poll_credit(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // `writable()` is stateless (a poll_fn over the socket), so a fresh one per poll is fine.
        let ready = self.inner.writable();
        std::pin::pin!(ready).poll(cx)
    }
}

impl AsyncRead for TurmoilSocket {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TurmoilSocket {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_credit(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_credit(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Network for TurmoilNet {
    type Stream = TurmoilSocket;
    type Listener = turmoil::net::TcpListener;

    async fn connect(host: &str, port: u16) -> io::Result<Self::Stream> {
        turmoil::net::TcpStream::connect((host, port)).await.map(|inner| TurmoilSocket { inner })
    }
    async fn bind(host: &str, port: u16) -> io::Result<Self::Listener> {
        let ip: std::net::IpAddr = host.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))?;
        turmoil::net::TcpListener::bind((ip, port)).await
    }
    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        listener.accept().await.map(|(inner, _)| TurmoilSocket { inner })
    }
    fn listener_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }
    fn addrs(stream: &Self::Stream) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (stream.inner.peer_addr().ok(), stream.inner.local_addr().ok())
    }
}

fn into_streams<N: Network>(stream: N::Stream, limit: i64) -> Result<(StreamReader, StreamWriter), StreamError> {
    let (peer_addr, local_addr) = N::addrs(&stream);
    open_stream(stream, StreamOptions { limit, peer_addr, local_addr })
}

/// `asyncio.open_connection(host, port, limit=...)`.
pub async fn open_connection<N: Network>(host: &str, port: u16, limit: i64) -> Result<(StreamReader, StreamWriter), StreamError> {
    let stream = N::connect(host, port).await?;
    into_streams::<N>(stream, limit)
}

/// A listening server; dropping it (or `close`) stops accepting.
pub struct Server {
    addr: SocketAddr,
    accept_loop: JoinHandle<()>,
}

impl Server {
    /// The address the server listens on (`sockets[0].getsockname()`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting new connections; established ones carry on.
    pub fn close(&self) {
        self.accept_loop.abort();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// `asyncio.start_server(client_connected_cb, host, port, limit=...)`: each accepted connection
/// gets its own reader and writer, and the callback runs as its own task.
pub async fn start_server<N, F, Fut>(host: &str, port: u16, limit: i64, callback: F) -> Result<Server, StreamError>
where
    N: Network,
    F: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    // Validates the limit before binding, as StreamReader's constructor would on first accept.
    StreamReader::with_limit(limit)?;
    let listener = N::bind(host, port).await?;
    let addr = N::listener_addr(&listener)?;
    let accept_loop = tokio::spawn(async move {
        while let Ok(stream) = N::accept(&listener).await {
            if let Ok((reader, writer)) = into_streams::<N>(stream, limit) {
                tokio::spawn(callback(reader, writer));
            }
        }
    });
    Ok(Server { addr, accept_loop })
}
