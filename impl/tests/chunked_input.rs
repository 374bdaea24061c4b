//! The StreamReader fed through `open_stream` by tokio-test's scripted I/O: each `.read(..)` of
//! the script is one `data_received` chunk, `.wait(..)` spaces them out (the clock is paused, so
//! waits are instant and deterministic), `.read_error(..)` is a failing `recv()`, and the end of
//! the script is EOF. The mock panics on any write, so these tests never write.
//!
//! Probe ids are explained in docs/glossary.md.

use bytes::Bytes;
use std::io;
use std::time::Duration;
use streamcheck_impl::stream::{open_stream, StreamError, StreamOptions, StreamReader, StreamWriter};
use tokio_test::io::{Builder, Mock};

const FOUND_TOO_LONG: &str = "Separator is found, but chunk is longer than limit";
const NOT_FOUND: &str = "Separator is not found, and chunk exceed the limit";
const GAP: Duration = Duration::from_millis(100);

fn open(mock: Mock, limit: i64) -> (StreamReader, StreamWriter) {
    open_stream(mock, StreamOptions { limit, ..StreamOptions::default() }).expect("open_stream")
}

fn b(s: &'static [u8]) -> Bytes {
    Bytes::from_static(s)
}

async fn all_lines(r: &StreamReader) -> Vec<Bytes> {
    let mut out = Vec::new();
    loop {
        let line = r.readline().await.expect("readline");
        if line.is_empty() {
            return out;
        }
        out.push(line);
    }
}

// test_readline [SEP]: lines spread over chunks, and chunks holding several lines.
#[tokio::test(start_paused = true)]
async fn lines_spread_over_chunks_are_reassembled() {
    let mock = Builder::new()
        .read(b"hel")
        .read(b"lo\nwor")
        .wait(GAP)
        .read(b"ld\nshort\n")
        .read(b"x")
        .read(b"y")
        .wait(GAP)
        .read(b"z\nunterminated")
        .build();
    let (r, _w) = open(mock, 100);
    assert_eq!(
        all_lines(&r).await,
        vec![b(b"hello\n"), b(b"world\n"), b(b"short\n"), b(b"xyz\n"), b(b"unterminated")]
    );
    assert!(r.at_eof());
}

// test_readuntil_multi_chunks_1 [SEP]: a two-byte separator split across reads is still found.
#[tokio::test(start_paused = true)]
async fn a_separator_split_across_reads_is_found() {
    let mock = Builder::new()
        .read(b"first\r")
        .wait(GAP)
        .read(b"\nsecond\r")
        .wait(GAP)
        .read(b"\n")
        .wait(GAP)
        .read(b"third\r")
        .build();
    let (r, _w) = open(mock, 100);
    assert_eq!(r.readuntil(b"\r\n").await.unwrap(), b(b"first\r\n"));
    assert_eq!(r.readuntil(b"\r\n").await.unwrap(), b(b"second\r\n"));
    // U06 / readuntil at EOF: the partial separator is part of `partial`, expected None.
    assert_eq!(
        r.readuntil(b"\r\n").await.unwrap_err(),
        StreamError::IncompleteRead { partial: b(b"third\r"), expected: None }
    );
    assert!(r.at_eof());
}

// [SEP]: a long separator arriving one byte per read.
#[tokio::test(start_paused = true)]
async fn a_long_separator_arriving_one_byte_per_read_is_found() {
    let mut builder = Builder::new();
    builder.read(b"body");
    for byte in b"--BOUNDARY--" {
        builder.wait(GAP).read(std::slice::from_ref(byte));
    }
    builder.read(b"after");
    let (r, _w) = open(builder.build(), 100);
    assert_eq!(r.readuntil(b"--BOUNDARY--").await.unwrap(), b(b"body--BOUNDARY--"));
    assert_eq!(r.read(-1).await.unwrap(), b(b"after"));
}

// U10 over chunks: the tuple form picks the match that ends first even when it completes late.
#[tokio::test(start_paused = true)]
async fn tuple_separators_over_chunks_pick_the_earliest_end() {
    let mock = Builder::new().read(b"ABC").wait(GAP).read(b"DE").wait(GAP).read(b"FG").build();
    let (r, _w) = open(mock, 100);
    assert_eq!(r.readuntil_any(&[b"DEF", b"BCDE"]).await.unwrap(), b(b"ABCDE"));
    assert_eq!(r.read(-1).await.unwrap(), b(b"FG"));
}

// R03 over chunks: read(n) returns what the first chunk delivered, not n bytes.
#[tokio::test(start_paused = true)]
async fn read_returns_one_chunk_at_a_time_when_chunks_are_spaced_out() {
    let mock = Builder::new().read(b"abc").wait(GAP).read(b"defgh").build();
    let (r, _w) = open(mock, 100);
    assert_eq!(r.read(100).await.unwrap(), b(b"abc"));
    assert_eq!(r.read(100).await.unwrap(), b(b"defgh"));
    assert_eq!(r.read(100).await.unwrap(), Bytes::new()); // R04
}

// connection_lost(exc) -> set_exception(exc): a recv() error mid-stream surfaces as the matching
// StreamError (ConnectionResetError), also for the bytes still buffered, and stays sticky.
#[tokio::test(start_paused = true)]
async fn a_read_error_mid_stream_surfaces_as_connection_reset() {
    let mock = Builder::new()
        .read(b"line1\npart")
        .wait(GAP)
        .read_error(io::Error::new(io::ErrorKind::ConnectionReset, "reset by peer"))
        .build();
    let (r, w) = open(mock, 100);
    assert_eq!(r.readline().await.unwrap(), b(b"line1\n"));
    let e = r.readline().await.unwrap_err();
    assert_eq!(e, StreamError::ConnectionReset("reset by peer".into()));
    assert_eq!(e.python_class(), "ConnectionResetError");
    // The unterminated "part" is still buffered but unreadable (R07: exception first).
    assert_eq!(r.buffer(), b(b"part"));
    assert_eq!(r.read(1).await.unwrap_err(), e);
    assert_eq!(r.readexactly(0).await.unwrap_err(), e);
    assert!(!r.at_eof());
    // wait_closed raises the connection_lost exception; drain raises the reader's exception (W08).
    assert_eq!(w.wait_closed().await.unwrap_err(), e);
    assert_eq!(w.drain().await.unwrap_err(), e);
}

// A reset that arrives while readexactly is waiting wakes it with the exception (E04).
#[tokio::test(start_paused = true)]
async fn a_read_error_wakes_a_waiting_readexactly() {
    let mock = Builder::new()
        .read(b"abc")
        .wait(GAP)
        .read_error(io::Error::new(io::ErrorKind::ConnectionAborted, "aborted"))
        .build();
    let (r, _w) = open(mock, 100);
    // ConnectionAborted maps onto the same contract type as ConnectionReset.
    assert_eq!(r.readexactly(10).await.unwrap_err(), StreamError::ConnectionReset("aborted".into()));
    assert_eq!(r.buffer(), b(b"abc"));
}

// readexactly at EOF: IncompleteReadError(partial, expected=n) and the buffer is cleared.
#[tokio::test(start_paused = true)]
async fn eof_in_the_middle_of_readexactly_raises_incomplete_read() {
    let mock = Builder::new().read(b"abc").wait(GAP).read(b"de").wait(GAP).build();
    let (r, _w) = open(mock, 100);
    let e = r.readexactly(10).await.unwrap_err();
    assert_eq!(e, StreamError::IncompleteRead { partial: b(b"abcde"), expected: Some(10) });
    assert_eq!(e.to_string(), "5 bytes read on a total of 10 expected bytes");
    assert_eq!(r.buffered_len(), 0);
    assert!(r.at_eof());
}

// readexactly assembles its bytes from many 1-byte chunks.
#[tokio::test(start_paused = true)]
async fn readexactly_assembles_many_small_chunks() {
    let mut builder = Builder::new();
    for byte in b"0123456789" {
        builder.read(std::slice::from_ref(byte)).wait(GAP);
    }
    let (r, _w) = open(builder.build(), 100);
    assert_eq!(r.readexactly(4).await.unwrap(), b(b"0123"));
    assert_eq!(r.readexactly(6).await.unwrap(), b(b"456789"));
    assert_eq!(r.readexactly(1).await.unwrap_err(), StreamError::IncompleteRead { partial: Bytes::new(), expected: Some(1) });
}

// X04 + F02 through the transport: readexactly(n > 2*limit) resumes the paused transport while
// waiting, so it completes instead of deadlocking.
#[tokio::test(start_paused = true)]
async fn readexactly_larger_than_twice_the_limit_completes_over_a_pausing_transport() {
    let data: Vec<u8> = (0..200u8).collect();
    let mut builder = Builder::new();
    for piece in data.chunks(7) {
        builder.read(piece);
    }
    let (r, _w) = open(builder.build(), 8);
    assert_eq!(&r.readexactly(150).await.unwrap()[..], &data[..150]);
    assert_eq!(&r.read(-1).await.unwrap()[..], &data[150..]);
}

// test_read_all_from_pipe_reader [LIM][SLOW]: limit=1 forces pause/resume; read(-1) gets everything.
#[tokio::test(start_paused = true)]
async fn read_all_with_limit_one_gets_every_chunk() {
    let mock = Builder::new().read(b"1234567890").read(b"abc").wait(GAP).read(b"defg").build();
    let (r, _w) = open(mock, 1);
    assert_eq!(r.read(-1).await.unwrap(), b(b"1234567890abcdefg"));
    assert!(r.at_eof());
}

// A single line larger than READ_CHUNK (64 KiB) arrives in several socket reads and is returned whole.
#[tokio::test(start_paused = true)]
async fn a_line_longer_than_one_socket_read_is_returned_whole() {
    let mut line = vec![b'q'; 150_000];
    line.push(b'\n');
    let mock = Builder::new().read(&line).read(b"next\n").build();
    let (r, _w) = open(mock, 200_000);
    assert_eq!(r.readline().await.unwrap().len(), 150_001);
    assert_eq!(r.readline().await.unwrap(), b(b"next\n"));
    assert_eq!(r.readline().await.unwrap(), Bytes::new());
}

// L01/L05 over chunks: an over-long line whose newline is in the buffer is dropped whole.
#[tokio::test(start_paused = true)]
async fn an_over_long_line_with_its_newline_is_dropped_whole() {
    let mock = Builder::new().read(b"0123456789\nok\n").build();
    let (r, _w) = open(mock, 8);
    assert_eq!(r.readline().await.unwrap_err(), StreamError::ValueError(FOUND_TOO_LONG.into()));
    assert_eq!(r.readline().await.unwrap(), b(b"ok\n"));
    assert_eq!(r.readline().await.unwrap(), Bytes::new());
}

// L02 over chunks: a not-found overrun clears the buffer and the tail of the long line comes
// back as a line of its own.
#[tokio::test(start_paused = true)]
async fn the_tail_of_an_over_long_line_comes_back_as_a_line() {
    let mock = Builder::new().read(b"0123456789").wait(GAP).read(b"ab\nok\n").build();
    let (r, _w) = open(mock, 8);
    assert_eq!(r.readline().await.unwrap_err(), StreamError::ValueError(NOT_FOUND.into()));
    assert_eq!(r.readline().await.unwrap(), b(b"ab\n"));
    assert_eq!(r.readline().await.unwrap(), b(b"ok\n"));
}

// I01 over chunks: async iteration ends at EOF.
#[tokio::test(start_paused = true)]
async fn iterating_lines_over_chunks_ends_at_eof() {
    use std::future::poll_fn;
    use std::pin::Pin;
    let mock = Builder::new().read(b"a\nb").wait(GAP).read(b"\nc").build();
    let (r, _w) = open(mock, 100);
    let mut lines = r.lines();
    let mut got = Vec::new();
    while let Some(item) = poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut lines), cx)).await {
        got.push(item.unwrap());
    }
    assert_eq!(got, vec![b(b"a\n"), b(b"b\n"), b(b"c")]);
}
