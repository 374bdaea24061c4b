//! The same streams code over real tokio sockets and over turmoil's simulated network:
//! half-close, reset, and drain against a peer that does not read.

use std::time::Duration;
use streamcheck_impl::stream::{open_connection, start_server, Network, StreamError, TokioNet, TurmoilNet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Half-close: the client's write_eof reaches the server as EOF, and the server's reply still
/// comes back over the other direction.
async fn half_close_roundtrip<N: Network>(host: &str, port: u16) {
    let (reader, writer) = open_connection::<N>(host, port, 65536).await.unwrap();
    writer.write(b"hello\n").unwrap();
    writer.write_eof();
    assert_eq!(&reader.readline().await.unwrap()[..], b"HELLO\n");
    assert_eq!(&reader.read(-1).await.unwrap()[..], b"");
    assert!(reader.at_eof());
    writer.close();
    writer.wait_closed().await.unwrap();
}

async fn upper_echo_server<N: Network>(host: &str, port: u16) -> streamcheck_impl::stream::Server {
    start_server::<N, _, _>(host, port, 65536, |reader, writer| async move {
        let all = reader.read(-1).await.unwrap();
        writer.write(&all.to_ascii_uppercase()).unwrap();
        writer.drain().await.unwrap();
        writer.close();
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn tokio_half_close_delivers_eof_while_the_other_direction_works() {
    let server = upper_echo_server::<TokioNet>("127.0.0.1", 0).await;
    half_close_roundtrip::<TokioNet>("127.0.0.1", server.local_addr().port()).await;
}

#[test]
fn turmoil_half_close_delivers_eof_while_the_other_direction_works() {
    let mut sim = turmoil::Builder::new().rng_seed(1).build();
    sim.host("server", || async {
        let _server = upper_echo_server::<TurmoilNet>("0.0.0.0", 9000).await;
        std::future::pending::<()>().await;
        Ok(())
    });
    sim.client("client", async {
        half_close_roundtrip::<TurmoilNet>("server", 9000).await;
        Ok(())
    });
    sim.run().unwrap();
}

#[tokio::test]
async fn tokio_reset_surfaces_as_connection_reset() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(b"partial").await.unwrap();
        // Wait for the client's bytes, leave them unread, and abort with SO_LINGER 0 (RST).
        s.readable().await.unwrap();
        #[allow(deprecated)] // tokio marks set_linger deprecated; SO_LINGER 0 is exactly what we want here.
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s);
    });
    let (reader, writer) = open_connection::<TokioNet>("127.0.0.1", port, 65536).await.unwrap();
    writer.write(b"x").unwrap();
    peer.await.unwrap();
    let mut saw_reset = false;
    for _ in 0..3 {
        match reader.read(100).await {
            Ok(b) if !b.is_empty() => continue,
            Err(StreamError::ConnectionReset(_)) => {
                saw_reset = true;
                break;
            }
            other => panic!("expected ConnectionReset, got {other:?}"),
        }
    }
    assert!(saw_reset);
    assert!(matches!(writer.wait_closed().await, Err(StreamError::ConnectionReset(_))));
}

#[test]
fn turmoil_reset_surfaces_as_connection_reset() {
    let mut sim = turmoil::Builder::new().rng_seed(2).build();
    sim.host("server", || async {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 9000)).await?;
        let (mut s, _) = listener.accept().await?;
        s.write_all(b"data").await?;
        // Dropping a stream that holds unread data is turmoil's only way to send a RST.
        let mut one = [0u8; 1];
        s.peek(&mut one).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(s);
        std::future::pending::<()>().await;
        Ok(())
    });
    sim.client("client", async {
        let (reader, writer) = open_connection::<TurmoilNet>("server", 9000, 65536).await.unwrap();
        writer.write(b"unread").unwrap();
        assert_eq!(&reader.read(100).await.unwrap()[..], b"data");
        let err = reader.read(100).await.unwrap_err();
        assert!(matches!(err, StreamError::ConnectionReset(_)), "{err:?}");
        assert!(matches!(writer.drain().await, Err(StreamError::ConnectionReset(_))));
        Ok(())
    });
    sim.run().unwrap();
}

/// Drain blocks while the peer reads nothing, and completes once it reads.
#[tokio::test]
async fn tokio_drain_blocks_against_a_peer_that_does_not_read() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let peer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        go_rx.await.unwrap();
        let mut sink = Vec::new();
        s.read_to_end(&mut sink).await.unwrap();
        sink.len()
    });
    let (_reader, writer) = open_connection::<TokioNet>("127.0.0.1", port, 65536).await.unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let mut total = 0;
    // Fill the kernel buffers until our own buffer passes the high-water mark.
    while !writer.is_writing_paused() {
        writer.write(&chunk).unwrap();
        total += chunk.len();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let drain = writer.drain();
    tokio::pin!(drain);
    assert!(tokio::time::timeout(Duration::from_millis(200), &mut drain).await.is_err(), "drain must block");
    go_tx.send(()).unwrap();
    drain.await.unwrap();
    assert!(writer.get_write_buffer_size() <= writer.get_write_buffer_limits().0);
    writer.close();
    writer.wait_closed().await.unwrap();
    assert_eq!(peer.await.unwrap(), total);
}

#[test]
fn turmoil_drain_blocks_against_a_peer_that_does_not_read() {
    let mut sim = turmoil::Builder::new().rng_seed(3).tcp_capacity(4).build();
    sim.host("server", || async {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 9000)).await?;
        let (mut s, _) = listener.accept().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut sink = Vec::new();
        s.read_to_end(&mut sink).await?;
        assert_eq!(sink.len(), 100 * 1024);
        Ok(())
    });
    sim.client("client", async {
        let (_reader, writer) = open_connection::<TurmoilNet>("server", 9000, 65536).await.unwrap();
        // turmoil counts segments, not bytes: 4 credits, then our own buffer grows.
        for _ in 0..100 {
            writer.write(&[b'y'; 1024]).unwrap();
            tokio::task::yield_now().await;
        }
        assert!(writer.is_writing_paused(), "buffer {}", writer.get_write_buffer_size());
        let start = tokio::time::Instant::now();
        writer.drain().await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(1900), "drain returned after {:?}", start.elapsed());
        writer.close();
        writer.wait_closed().await.unwrap();
        Ok(())
    });
    sim.run().unwrap();
}
