//! StreamReader rules (docs/glossary.md, the R, X, U, L, E and F probes), one test per rule.
//!
//! CPython 3.13 is the oracle: every expected value below was probed on CPython 3.13.0 (and the
//! probe id or rule from the note is cited on the line above each test). Messages are spelled
//! out literally rather than taken from the crate's `messages` module, so a typo there shows up.

use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use streamcheck_impl::stream::reader::ReadControl;
use streamcheck_impl::stream::{StreamError, StreamReader, DEFAULT_LIMIT};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

const NOT_FOUND: &str = "Separator is not found, and chunk exceed the limit";
const FOUND_TOO_LONG: &str = "Separator is found, but chunk is longer than limit";

fn reader(limit: i64) -> StreamReader {
    StreamReader::with_limit(limit).expect("positive limit")
}

fn fed(limit: i64, data: &[u8]) -> StreamReader {
    let r = reader(limit);
    r.feed_data(data).unwrap();
    r
}

fn b(s: &'static [u8]) -> Bytes {
    Bytes::from_static(s)
}

fn reset(msg: &str) -> StreamError {
    StreamError::ConnectionReset(msg.into())
}

fn value_error(msg: &str) -> StreamError {
    StreamError::ValueError(msg.into())
}

fn overrun(consumed: usize, message: &'static str) -> StreamError {
    StreamError::LimitOverrun { consumed, message }
}

fn incomplete(partial: &'static [u8], expected: Option<usize>) -> StreamError {
    StreamError::IncompleteRead { partial: b(partial), expected }
}

/// A fake transport recording pause/resume calls, as the probes' Python stub did.
#[derive(Default)]
struct FakeTransport {
    log: Mutex<Vec<&'static str>>,
    pauses: AtomicUsize,
    resumes: AtomicUsize,
    cannot_pause: AtomicBool,
}

impl FakeTransport {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    fn unpausable() -> Arc<Self> {
        let t = Self::default();
        t.cannot_pause.store(true, Ordering::SeqCst);
        Arc::new(t)
    }
    fn log(&self) -> Vec<&'static str> {
        self.log.lock().unwrap().clone()
    }
}

impl ReadControl for FakeTransport {
    fn pause_reading(&self) -> bool {
        self.log.lock().unwrap().push("pause");
        self.pauses.fetch_add(1, Ordering::SeqCst);
        !self.cannot_pause.load(Ordering::SeqCst)
    }
    fn resume_reading(&self) {
        self.log.lock().unwrap().push("resume");
        self.resumes.fetch_add(1, Ordering::SeqCst);
    }
}

fn with_transport(limit: i64) -> (StreamReader, Arc<FakeTransport>) {
    let r = reader(limit);
    let t = FakeTransport::new();
    r.set_transport(t.clone()).unwrap();
    (r, t)
}

// ---------------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------------

// §1 State: limit <= 0 raises ValueError('Limit cannot be <= 0').
#[tokio::test]
async fn a_limit_of_zero_or_less_is_a_value_error() {
    assert_eq!(StreamReader::with_limit(0).unwrap_err(), value_error("Limit cannot be <= 0"));
    assert_eq!(StreamReader::with_limit(-1).unwrap_err(), value_error("Limit cannot be <= 0"));
}

// §1 State: limit defaults to 2**16.
#[tokio::test]
async fn the_default_limit_is_65536() {
    assert_eq!(DEFAULT_LIMIT, 65536);
    assert_eq!(StreamReader::new().limit(), 65536);
}

// ---------------------------------------------------------------------------------------------
// Order of checks per method
// ---------------------------------------------------------------------------------------------

// R07: read(n) checks the stored exception first, even with data buffered.
#[tokio::test]
async fn read_raises_the_stored_exception_even_when_data_is_buffered() {
    let r = fed(DEFAULT_LIMIT as i64, b"data");
    r.set_exception(reset("boom"));
    assert_eq!(r.read(4).await.unwrap_err(), reset("boom"));
    assert_eq!(r.read(-1).await.unwrap_err(), reset("boom"));
    // The buffer is kept (E04 / set_exception).
    assert_eq!(r.buffer(), b(b"data"));
}

// R07: the exception is checked before n == 0, so read(0) raises.
#[tokio::test]
async fn read_zero_raises_when_an_exception_is_set() {
    let r = reader(10);
    r.set_exception(reset("boom"));
    assert_eq!(r.read(0).await.unwrap_err(), reset("boom"));
}

// X05: readexactly(n < 0) raises ValueError before the exception is checked.
#[tokio::test]
async fn readexactly_rejects_a_negative_size_before_checking_the_exception() {
    let r = fed(10, b"abc");
    r.set_exception(reset("boom"));
    assert_eq!(r.readexactly(-1).await.unwrap_err(), value_error("readexactly size can not be less than zero"));
}

// X05: the exception comes before n == 0.
#[tokio::test]
async fn readexactly_zero_raises_when_an_exception_is_set() {
    let r = reader(10);
    r.set_exception(reset("boom"));
    assert_eq!(r.readexactly(0).await.unwrap_err(), reset("boom"));
}

// X05: readexactly(0) gives b'' without touching the buffer.
#[tokio::test]
async fn readexactly_zero_returns_empty_and_leaves_the_buffer_alone() {
    let r = fed(10, b"abc");
    assert_eq!(r.readexactly(0).await.unwrap(), Bytes::new());
    assert_eq!(r.buffer(), b(b"abc"));
}

// U16: readuntil validates the separator before it checks the exception.
#[tokio::test]
async fn readuntil_validates_the_separator_before_checking_the_exception() {
    let r = fed(10, b"a\n");
    r.set_exception(reset("boom"));
    assert_eq!(r.readuntil(b"").await.unwrap_err(), value_error("Separator should be at least one-byte string"));
    assert_eq!(r.readuntil_any(&[]).await.unwrap_err(), value_error("Separator should contain at least one element"));
    // A valid separator then meets the exception, even though a full line is buffered.
    assert_eq!(r.readuntil(b"\n").await.unwrap_err(), reset("boom"));
}

// R07 / set_exception: every later read* raises e first; readline does too, with a line buffered.
#[tokio::test]
async fn readline_raises_the_stored_exception_even_with_a_full_line_buffered() {
    let r = fed(10, b"a\n");
    r.set_exception(value_error("x"));
    assert_eq!(r.readline().await.unwrap_err(), value_error("x"));
    assert_eq!(r.exception(), Some(value_error("x")));
}

// ---------------------------------------------------------------------------------------------
// read(n)
// ---------------------------------------------------------------------------------------------

// R03: read(n) returns as soon as >= 1 byte is there and never waits to fill up to n.
#[tokio::test]
async fn read_returns_as_soon_as_any_byte_arrives_without_filling_up_to_n() {
    let r = reader(10);
    let mut t = spawn(r.read(100));
    assert_pending!(t.poll());
    r.feed_data(b"abc").unwrap();
    assert!(t.is_woken());
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"abc"));
}

// R03: with data already buffered, read(n) returns min(n, len(buf)) at once.
#[tokio::test]
async fn read_returns_at_most_n_bytes_from_the_buffer() {
    let r = fed(10, b"abcdef");
    assert_eq!(r.read(4).await.unwrap(), b(b"abcd"));
    assert_eq!(r.read(4).await.unwrap(), b(b"ef"));
}

// R04: at EOF with an empty buffer read(n) returns b''.
#[tokio::test]
async fn read_at_eof_with_an_empty_buffer_returns_empty() {
    let r = reader(10);
    r.feed_eof();
    assert_eq!(r.read(5).await.unwrap(), Bytes::new());
    assert_eq!(r.read(5).await.unwrap(), Bytes::new());
}

// R04: read(n) waits once; EOF arriving while it waits gives b''.
#[tokio::test]
async fn read_waiting_when_eof_arrives_returns_empty() {
    let r = reader(10);
    let mut t = spawn(r.read(5));
    assert_pending!(t.poll());
    r.feed_eof();
    assert_eq!(assert_ready!(t.poll()).unwrap(), Bytes::new());
}

// read(n): the limit does not cap the result.
#[tokio::test]
async fn read_is_not_capped_by_the_limit() {
    let r = fed(3, b"0123456789");
    assert_eq!(r.read(100).await.unwrap(), b(b"0123456789"));
}

// read(n), n == 0: b'' at once, no waiting, buffer untouched.
#[tokio::test]
async fn read_zero_returns_empty_without_waiting() {
    let r = reader(10);
    let mut t = spawn(r.read(0));
    assert_eq!(assert_ready!(t.poll()).unwrap(), Bytes::new());
    drop(t);
    r.feed_data(b"x").unwrap();
    assert_eq!(r.read(0).await.unwrap(), Bytes::new());
    assert_eq!(r.buffer(), b(b"x"));
}

// read(n), n < 0: reads everything until EOF, joining the pieces.
#[tokio::test]
async fn read_negative_reads_everything_until_eof() {
    let r = reader(2);
    let mut t = spawn(r.read(-1));
    assert_pending!(t.poll());
    r.feed_data(b"hello ").unwrap();
    let _ = t.poll();
    r.feed_data(b"world").unwrap();
    let _ = t.poll();
    r.feed_eof();
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"hello world"));
    assert!(r.at_eof());
}

// ---------------------------------------------------------------------------------------------
// readuntil
// ---------------------------------------------------------------------------------------------

// readuntil: removes and returns the body plus the separator, leaving the rest.
#[tokio::test]
async fn readuntil_returns_the_body_and_separator_and_keeps_the_rest() {
    let r = fed(100, b"lineA\r\nlineB\r\nrest");
    assert_eq!(r.readuntil(b"\r\n").await.unwrap(), b(b"lineA\r\n"));
    assert_eq!(r.readuntil(b"\r\n").await.unwrap(), b(b"lineB\r\n"));
    assert_eq!(r.buffer(), b(b"rest"));
}

// test_readuntil_multi_chunks_1 [SEP]: a separator split across feeds is found.
#[tokio::test]
async fn readuntil_finds_a_separator_split_across_feeds() {
    let r = reader(100);
    let mut t = spawn(r.readuntil(b"aaa"));
    assert_pending!(t.poll());
    r.feed_data(b"QWEaa").unwrap();
    assert_pending!(t.poll());
    r.feed_data(b"XYaa").unwrap();
    assert_pending!(t.poll());
    r.feed_data(b"a").unwrap();
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"QWEaaXYaaa"));
}

// U13 (bytes-like): any byte slice works as separator (bytearray/memoryview in CPython).
#[tokio::test]
async fn readuntil_accepts_a_separator_from_any_byte_buffer() {
    let r = fed(100, b"ab--cd");
    let sep: Vec<u8> = b"--".to_vec();
    assert_eq!(r.readuntil(&sep).await.unwrap(), b(b"ab--"));
    let sep = bytes::BytesMut::from(&b"d"[..]);
    assert_eq!(r.readuntil(&sep).await.unwrap(), b(b"cd"));
}

// U02: not found, consumed = len(buf) - seplen + 1 (11 bytes, sep 'AAA' -> 9), not len(buf).
#[tokio::test]
async fn readuntil_not_found_reports_consumed_as_len_minus_seplen_plus_one() {
    let r = fed(3, b"xxxxxxxxxxx");
    assert_eq!(r.readuntil(b"AAA").await.unwrap_err(), overrun(9, NOT_FOUND));
}

// U15: 6 bytes, 3-byte separator -> consumed = 4.
#[tokio::test]
async fn readuntil_not_found_with_six_bytes_reports_consumed_four() {
    let r = fed(3, b"abcdef");
    assert_eq!(r.readuntil(b"XYZ").await.unwrap_err(), overrun(4, NOT_FOUND));
}

// U07: the buffer is checked before EOF, so a separator arriving with EOF is still returned.
#[tokio::test]
async fn readuntil_returns_a_separator_that_arrives_together_with_eof() {
    let r = reader(100);
    let mut t = spawn(r.readuntil(b"\n"));
    assert_pending!(t.poll());
    r.feed_data(b"last\n").unwrap();
    r.feed_eof();
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"last\n"));
}

// U06: EOF with an empty buffer raises IncompleteReadError(partial=b'', expected=None), never b''.
#[tokio::test]
async fn readuntil_at_eof_with_an_empty_buffer_raises_incomplete_read_with_empty_partial() {
    let r = reader(100);
    r.feed_eof();
    let e = r.readuntil(b"\n").await.unwrap_err();
    assert_eq!(e, incomplete(b"", None));
    assert_eq!(e.to_string(), "0 bytes read on a total of undefined expected bytes");
}

// readuntil at EOF without a match: partial = all bytes (partial separator included), buffer cleared.
#[tokio::test]
async fn readuntil_at_eof_returns_all_bytes_as_partial_and_clears_the_buffer() {
    let r = reader(100);
    let mut t = spawn(r.readuntil(b"\r\n"));
    assert_pending!(t.poll());
    r.feed_data(b"abcde\r").unwrap();
    assert_pending!(t.poll());
    r.feed_eof();
    let e = assert_ready!(t.poll()).unwrap_err();
    assert_eq!(e, incomplete(b"abcde\r", None));
    assert_eq!(e.to_string(), "6 bytes read on a total of undefined expected bytes");
    assert_eq!(r.buffered_len(), 0);
    assert!(r.at_eof());
}

// L03: the limit is strict: a body of exactly `limit` bytes plus the separator is accepted.
#[tokio::test]
async fn readuntil_accepts_a_body_of_exactly_limit_bytes() {
    let r = fed(3, b"abc\n");
    assert_eq!(r.readuntil(b"\n").await.unwrap(), b(b"abc\n"));
}

// L03: one byte more and the "found" error is raised with consumed = index of the separator.
#[tokio::test]
async fn readuntil_rejects_a_body_of_limit_plus_one_bytes_with_the_found_error() {
    let r = fed(3, b"abcd\n");
    let e = r.readuntil(b"\n").await.unwrap_err();
    assert_eq!(e, overrun(4, FOUND_TOO_LONG));
    assert_eq!(e.to_string(), FOUND_TOO_LONG);
    assert_eq!(e.python_class(), "LimitOverrunError");
}

// U04: on LimitOverrunError the buffer is left untouched; calling again raises again.
#[tokio::test]
async fn readuntil_overrun_leaves_the_buffer_untouched_and_raises_again() {
    let r = fed(3, b"abcdef\nXY");
    assert_eq!(r.readuntil(b"\n").await.unwrap_err(), overrun(6, FOUND_TOO_LONG));
    assert_eq!(r.buffer(), b(b"abcdef\nXY"));
    assert_eq!(r.readuntil(b"\n").await.unwrap_err(), overrun(6, FOUND_TOO_LONG));
    assert_eq!(r.buffer(), b(b"abcdef\nXY"));

    let r = fed(3, b"abcdefgh");
    assert_eq!(r.readuntil(b"\n").await.unwrap_err(), overrun(8, NOT_FOUND));
    assert_eq!(r.readuntil(b"\n").await.unwrap_err(), overrun(8, NOT_FOUND));
    assert_eq!(r.buffer(), b(b"abcdefgh"));
}

// L04: a buffer growing past the limit with no separator fails as soon as offset > limit,
// without waiting for a later separator.
#[tokio::test]
async fn readuntil_fails_as_soon_as_the_buffer_passes_the_limit_without_a_separator() {
    let r = reader(5);
    let mut t = spawn(r.readuntil(b"\n"));
    assert_pending!(t.poll());
    r.feed_data(b"abcde").unwrap(); // offset 5, not > 5: keeps waiting
    assert_pending!(t.poll());
    r.feed_data(b"f").unwrap(); // offset 6 > 5
    assert_eq!(assert_ready!(t.poll()).unwrap_err(), overrun(6, NOT_FOUND));
    assert_eq!(r.buffer(), b(b"abcdef"));
}

// L04: a separator already in the buffer beyond the limit gives the "found" error.
#[tokio::test]
async fn readuntil_separator_arriving_in_the_same_chunk_beyond_the_limit_is_the_found_error() {
    let r = reader(5);
    let mut t = spawn(r.readuntil(b"\n"));
    assert_pending!(t.poll());
    r.feed_data(b"abcdefgh\n").unwrap();
    assert_eq!(assert_ready!(t.poll()).unwrap_err(), overrun(8, FOUND_TOO_LONG));
}

// U10: tuple form, the match whose END comes first wins: (b'DEF', b'BCDE') on ABCDEFG -> ABCDE.
#[tokio::test]
async fn readuntil_tuple_returns_the_match_that_ends_first() {
    let r = fed(100, b"ABCDEFG");
    assert_eq!(r.readuntil_any(&[b"DEF", b"BCDE"]).await.unwrap(), b(b"ABCDE"));
    assert_eq!(r.buffer(), b(b"FG"));
}

// U11: equal ends go to the shorter separator, so `consumed` is the shorter one's start (9, not 0).
#[tokio::test]
async fn readuntil_tuple_tie_goes_to_the_shorter_separator_for_the_limit_check() {
    let r = fed(3, b"aaaaaaaaaX");
    assert_eq!(r.readuntil_any(&[b"aaaaaaaaaX", b"X"]).await.unwrap_err(), overrun(9, FOUND_TOO_LONG));
    let r = fed(100, b"aaaaaaaaaX");
    // Same returned bytes either way, but the shorter is the one that matched.
    assert_eq!(r.readuntil_any(&[b"aaaaaaaaaX", b"X"]).await.unwrap(), b(b"aaaaaaaaaX"));
}

// U14: the rescan offset is set from the LONGEST separator and clamped at 0 (negative-offset fix).
#[tokio::test]
async fn readuntil_tuple_offset_is_clamped_at_zero() {
    let r = fed(100, b"ab");
    let mut t = spawn(r.readuntil_any(&[b"c", b"ddddd"]));
    assert_pending!(t.poll());
    r.feed_data(b"xc").unwrap();
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"abxc"));
}

// 3.13 tuple form: an empty tuple raises ValueError('Separator should contain at least one element').
#[tokio::test]
async fn readuntil_with_an_empty_tuple_is_a_value_error() {
    let r = fed(100, b"abc\n");
    assert_eq!(r.readuntil_any(&[]).await.unwrap_err(), value_error("Separator should contain at least one element"));
    assert_eq!(r.buffer(), b(b"abc\n"));
}

// 3.13 tuple form: any empty member raises the "at least one-byte" error; so does b''.
#[tokio::test]
async fn readuntil_with_an_empty_separator_or_empty_member_is_a_value_error() {
    let r = fed(100, b"abc\n");
    let msg = "Separator should be at least one-byte string";
    assert_eq!(r.readuntil(b"").await.unwrap_err(), value_error(msg));
    assert_eq!(r.readuntil_any(&[b"\n", b""]).await.unwrap_err(), value_error(msg));
    assert_eq!(r.readuntil_any(&[b""]).await.unwrap_err(), value_error(msg));
}

// ---------------------------------------------------------------------------------------------
// readline
// ---------------------------------------------------------------------------------------------

// L06: at EOF readline returns the unterminated last line, then b'' at clean EOF.
#[tokio::test]
async fn readline_returns_the_unterminated_last_line_then_empty_at_eof() {
    let r = fed(100, b"one\ntwo");
    r.feed_eof();
    assert_eq!(r.readline().await.unwrap(), b(b"one\n"));
    assert_eq!(r.readline().await.unwrap(), b(b"two"));
    assert_eq!(r.readline().await.unwrap(), Bytes::new());
    assert_eq!(r.readline().await.unwrap(), Bytes::new());
}

// test_readline [SEP]: a line spread over several feeds.
#[tokio::test]
async fn readline_joins_a_line_spread_over_several_feeds() {
    let r = reader(100);
    let mut t = spawn(r.readline());
    assert_pending!(t.poll());
    r.feed_data(b"chunk1 ").unwrap();
    assert_pending!(t.poll());
    r.feed_data(b"chunk2 ").unwrap();
    assert_pending!(t.poll());
    r.feed_data(b"chunk3\n").unwrap();
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"chunk1 chunk2 chunk3\n"));
}

// L01, L05: "found" overrun deletes the whole over-long line with its newline and keeps the rest
// ('XY' survives), raising ValueError with the found message.
#[tokio::test]
async fn readline_found_overrun_drops_the_long_line_keeps_the_rest_and_raises_value_error() {
    let r = fed(3, b"abcdef\nXY");
    assert_eq!(r.readline().await.unwrap_err(), value_error(FOUND_TOO_LONG));
    assert_eq!(r.buffer(), b(b"XY"));
    r.feed_eof();
    assert_eq!(r.readline().await.unwrap(), b(b"XY"));
}

// readline "not found" overrun clears the entire buffer and raises ValueError with that message.
#[tokio::test]
async fn readline_not_found_overrun_clears_the_buffer_and_raises_value_error() {
    let r = fed(3, b"abcdefgh");
    assert_eq!(r.readline().await.unwrap_err(), value_error(NOT_FOUND));
    assert_eq!(r.buffered_len(), 0);
}

// L02: after a not-found overrun, the rest of the over-long line is NOT skipped: the next
// readline returns that tail as if it were a line.
#[tokio::test]
async fn readline_after_a_not_found_overrun_returns_the_tail_as_a_line() {
    let r = reader(7);
    let mut t = spawn(r.readline());
    assert_pending!(t.poll());
    r.feed_data(b"abcdefgh").unwrap();
    assert_eq!(assert_ready!(t.poll()).unwrap_err(), value_error(NOT_FOUND));
    drop(t);
    assert_eq!(r.buffered_len(), 0);
    r.feed_data(b"ij\n").unwrap();
    assert_eq!(r.readline().await.unwrap(), b(b"ij\n"));
}

// ---------------------------------------------------------------------------------------------
// readexactly
// ---------------------------------------------------------------------------------------------

// readexactly waits until n bytes are there, across feeds.
#[tokio::test]
async fn readexactly_waits_for_exactly_n_bytes() {
    let r = reader(100);
    let mut t = spawn(r.readexactly(5));
    assert_pending!(t.poll());
    r.feed_data(b"ab").unwrap();
    assert_pending!(t.poll());
    r.feed_data(b"cdefg").unwrap();
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"abcde"));
    assert_eq!(r.buffer(), b(b"fg"));
}

// X04: n may be larger than the limit.
#[tokio::test]
async fn readexactly_may_ask_for_more_than_the_limit() {
    let r = fed(2, b"0123456789");
    assert_eq!(r.readexactly(7).await.unwrap(), b(b"0123456"));
}

// readexactly at EOF: IncompleteReadError(partial, expected=n), buffer cleared, CPython message.
#[tokio::test]
async fn readexactly_at_eof_raises_incomplete_read_and_clears_the_buffer() {
    let r = fed(100, b"abc");
    r.feed_eof();
    let e = r.readexactly(5).await.unwrap_err();
    assert_eq!(e, incomplete(b"abc", Some(5)));
    assert_eq!(e.to_string(), "3 bytes read on a total of 5 expected bytes");
    assert_eq!(e.python_class(), "IncompleteReadError");
    assert_eq!(r.buffered_len(), 0);
    assert!(r.at_eof());
}

// readexactly: EOF arriving while it waits raises IncompleteReadError too.
#[tokio::test]
async fn readexactly_waiting_when_eof_arrives_raises_incomplete_read() {
    let r = reader(100);
    let mut t = spawn(r.readexactly(4));
    assert_pending!(t.poll());
    r.feed_data(b"xy").unwrap();
    assert_pending!(t.poll());
    r.feed_eof();
    assert_eq!(assert_ready!(t.poll()).unwrap_err(), incomplete(b"xy", Some(4)));
    assert_eq!(r.buffered_len(), 0);
}

// ---------------------------------------------------------------------------------------------
// EOF, feed_data, set_exception
// ---------------------------------------------------------------------------------------------

// E01: at_eof() only when EOF has been seen AND the buffer is empty; the exception is ignored.
#[tokio::test]
async fn at_eof_needs_eof_and_an_empty_buffer_and_ignores_the_exception() {
    let r = reader(100);
    assert!(!r.at_eof());
    r.feed_data(b"x").unwrap();
    r.feed_eof();
    assert!(!r.at_eof());
    assert_eq!(r.read(1).await.unwrap(), b(b"x"));
    assert!(r.at_eof());
    r.set_exception(reset("boom"));
    assert!(r.at_eof());

    let r = reader(100);
    r.set_exception(reset("boom"));
    assert!(!r.at_eof());
}

// E03: feed_eof may be called repeatedly.
#[tokio::test]
async fn feed_eof_may_be_called_repeatedly() {
    let r = fed(100, b"a");
    r.feed_eof();
    r.feed_eof();
    r.feed_eof();
    assert_eq!(r.read(-1).await.unwrap(), b(b"a"));
    assert!(r.at_eof());
}

// E02: feed_data after feed_eof is AssertionError('feed_data after feed_eof'), even for empty data.
#[tokio::test]
async fn feed_data_after_eof_is_an_assertion_error_even_for_empty_data() {
    let r = reader(100);
    r.feed_eof();
    let want = StreamError::Other { class: "AssertionError".into(), message: "feed_data after feed_eof".into() };
    assert_eq!(r.feed_data(b"x").unwrap_err(), want);
    assert_eq!(r.feed_data(b"").unwrap_err(), want);
    assert_eq!(want.python_class(), "AssertionError");
    assert_eq!(r.buffered_len(), 0);
}

// feed_data: empty data does nothing and does not wake the waiter.
#[tokio::test]
async fn feeding_empty_data_does_not_wake_the_waiter() {
    let r = reader(100);
    let mut t = spawn(r.read(3));
    assert_pending!(t.poll());
    r.feed_data(b"").unwrap();
    assert!(!t.is_woken());
    assert_pending!(t.poll());
    r.feed_data(b"z").unwrap();
    assert!(t.is_woken());
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"z"));
}

// E04: set_exception wakes the pending waiter with the exception; the buffer is kept.
#[tokio::test]
async fn set_exception_wakes_the_waiter_with_the_exception() {
    let r = reader(100);
    let mut t = spawn(r.readexactly(5));
    assert_pending!(t.poll());
    r.feed_data(b"abc").unwrap();
    assert_pending!(t.poll());
    r.set_exception(reset("boom"));
    assert!(t.is_woken());
    assert_eq!(assert_ready!(t.poll()).unwrap_err(), reset("boom"));
    assert_eq!(r.buffer(), b(b"abc"));
    assert_eq!(r.exception(), Some(reset("boom")));
}

// E04 (set_exception reaches only a *pending* waiter): if feed_data already woke the waiter
// (CPython clears `_waiter` then), a set_exception before the reader runs does not reach it, and
// read(n) returns the data it was woken for. Probed on 3.13.0: read(5) -> b'abc'.
#[tokio::test]
async fn read_woken_by_data_returns_it_even_if_an_exception_is_set_before_it_runs() {
    let r = reader(100);
    let mut t = spawn(r.read(5));
    assert_pending!(t.poll());
    r.feed_data(b"abc").unwrap();
    r.set_exception(reset("boom"));
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"abc"));
    // The exception is sticky for later calls.
    assert_eq!(r.read(5).await.unwrap_err(), reset("boom"));
}

// ---------------------------------------------------------------------------------------------
// Single waiter, cancellation
// ---------------------------------------------------------------------------------------------

// L07: a second waiter gets RuntimeError naming the internal caller: read, readexactly, and
// readuntil (also for readline).
#[tokio::test]
async fn a_second_waiter_gets_a_runtime_error_naming_the_internal_caller() {
    let r = reader(100);
    let mut first = spawn(r.read(1));
    assert_pending!(first.poll());
    let msg = |name: &str| {
        StreamError::RuntimeError(format!("{name}() called while another coroutine is already waiting for incoming data"))
    };
    assert_eq!(r.readline().await.unwrap_err(), msg("readuntil"));
    assert_eq!(r.readexactly(2).await.unwrap_err(), msg("readexactly"));
    assert_eq!(r.read(3).await.unwrap_err(), msg("read"));
    assert_eq!(r.read(-1).await.unwrap_err(), msg("read"));
    assert_eq!(r.readuntil(b"x").await.unwrap_err(), msg("readuntil"));
    // The first waiter is unaffected.
    r.feed_data(b"q").unwrap();
    assert_eq!(assert_ready!(first.poll()).unwrap(), b(b"q"));
}

// L07: a clone of the reader (the shared-handle case) meets the same rule.
#[tokio::test]
async fn the_single_waiter_rule_holds_across_clones() {
    let r = reader(100);
    let other = r.clone();
    let mut first = spawn(r.readexactly(3));
    assert_pending!(first.poll());
    let e = other.readline().await.unwrap_err();
    assert_eq!(e.python_class(), "RuntimeError");
    assert_eq!(e.to_string(), "readuntil() called while another coroutine is already waiting for incoming data");
}

// L08: cancelling a waiting read leaves the buffer intact and clears the waiter.
#[tokio::test]
async fn cancelling_a_waiting_read_keeps_the_buffer_and_frees_the_waiter_slot() {
    let r = reader(100);
    let mut t = spawn(r.readexactly(5));
    assert_pending!(t.poll());
    r.feed_data(b"abc").unwrap();
    assert_pending!(t.poll());
    drop(t); // task.cancel()
    assert_eq!(r.buffer(), b(b"abc"));
    // No RuntimeError: the waiter is gone.
    let mut t = spawn(r.readline());
    assert_pending!(t.poll());
    r.feed_data(b"\n").unwrap();
    assert_eq!(assert_ready!(t.poll()).unwrap(), b(b"abc\n"));
}

// ---------------------------------------------------------------------------------------------
// Async iteration
// ---------------------------------------------------------------------------------------------

// I01: `async for` yields lines and ends on b'' (EOF).
#[tokio::test]
async fn lines_yields_every_line_and_ends_at_eof() {
    let r = reader(100);
    let mut lines = spawn(r.lines());
    assert_pending!(lines.poll_next());
    r.feed_data(b"a\nb").unwrap();
    assert_eq!(assert_ready!(lines.poll_next()).unwrap().unwrap(), b(b"a\n"));
    assert_pending!(lines.poll_next());
    r.feed_eof();
    assert_eq!(assert_ready!(lines.poll_next()).unwrap().unwrap(), b(b"b"));
    assert!(assert_ready!(lines.poll_next()).is_none());
    assert!(assert_ready!(lines.poll_next()).is_none());
}

// I02: an overrun's ValueError comes out of the iteration and the reader stays usable.
#[tokio::test]
async fn lines_surfaces_an_overrun_value_error_and_the_reader_stays_usable() {
    let r = fed(4, b"ab\n123456789\ncd\n");
    r.feed_eof();
    let mut lines = spawn(r.lines());
    assert_eq!(assert_ready!(lines.poll_next()).unwrap().unwrap(), b(b"ab\n"));
    assert_eq!(assert_ready!(lines.poll_next()).unwrap().unwrap_err(), value_error(FOUND_TOO_LONG));
    // A fresh `async for` over the same reader goes on.
    let mut again = spawn(r.lines());
    assert_eq!(assert_ready!(again.poll_next()).unwrap().unwrap(), b(b"cd\n"));
    assert!(assert_ready!(again.poll_next()).is_none());
}

// ---------------------------------------------------------------------------------------------
// Flow control (fake transport)
// ---------------------------------------------------------------------------------------------

// F01: pause only when len(buf) > 2*limit (strictly greater).
#[tokio::test]
async fn the_transport_is_paused_only_strictly_above_twice_the_limit() {
    let (r, t) = with_transport(4);
    r.feed_data(b"12345678").unwrap(); // == 2*limit
    assert_eq!(t.log(), Vec::<&str>::new());
    assert!(!r.is_paused());
    r.feed_data(b"9").unwrap(); // > 2*limit
    assert_eq!(t.log(), vec!["pause"]);
    assert!(r.is_paused());
    r.feed_data(b"more").unwrap(); // already paused: no second call
    assert_eq!(t.log(), vec!["pause"]);
}

// F01: after consumption, resume once len(buf) <= limit (less than or equal).
#[tokio::test]
async fn the_transport_is_resumed_when_the_buffer_drops_to_the_limit() {
    let (r, t) = with_transport(4);
    r.feed_data(b"123456789").unwrap();
    assert_eq!(r.read(4).await.unwrap(), b(b"1234")); // 5 left
    assert_eq!(t.log(), vec!["pause"]);
    assert_eq!(r.read(1).await.unwrap(), b(b"5")); // 4 left == limit
    assert_eq!(t.log(), vec!["pause", "resume"]);
    assert!(!r.is_paused());
}

// F01: readexactly and a successful readuntil also resume.
#[tokio::test]
async fn readexactly_and_a_successful_readuntil_resume_the_transport() {
    let (r, t) = with_transport(4);
    r.feed_data(b"12345678\n").unwrap();
    assert_eq!(r.readexactly(5).await.unwrap(), b(b"12345"));
    assert_eq!(t.log(), vec!["pause", "resume"]);

    let (r, t) = with_transport(4);
    r.feed_data(b"ab\n").unwrap();
    r.feed_data(b"cdefgh").unwrap(); // 9 > 8
    assert_eq!(t.log(), vec!["pause"]);
    assert_eq!(r.readuntil(b"\n").await.unwrap(), b(b"ab\n")); // 6 left > 4
    assert_eq!(t.log(), vec!["pause"]);
    r.feed_data(b"\n").unwrap();
    assert_eq!(r.readuntil(b"\n").await.unwrap_err(), overrun(6, FOUND_TOO_LONG));
    assert_eq!(t.log(), vec!["pause"]);
}

// F02: before waiting, a paused transport is always resumed (even with more than limit buffered).
#[tokio::test]
async fn a_paused_transport_is_resumed_before_waiting_for_data() {
    let (r, t) = with_transport(4);
    r.feed_data(b"123456789").unwrap();
    assert!(r.is_paused());
    let mut w = spawn(r.readexactly(20)); // X04: n > 2*limit needs this
    assert_pending!(w.poll());
    assert_eq!(t.log(), vec!["pause", "resume"]);
    assert!(!r.is_paused());
    r.feed_data(&[b'x'; 11]).unwrap();
    assert_eq!(assert_ready!(w.poll()).unwrap().len(), 20);
}

// F03: a transport that cannot pause (NotImplementedError) is forgotten; data buffers without bound.
#[tokio::test]
async fn a_transport_that_cannot_pause_is_forgotten() {
    let r = reader(4);
    let t = FakeTransport::unpausable();
    r.set_transport(t.clone()).unwrap();
    r.feed_data(b"123456789").unwrap();
    r.feed_data(b"123456789").unwrap();
    assert_eq!(t.log(), vec!["pause"]);
    assert!(!r.is_paused());
    assert_eq!(r.buffered_len(), 18);
    assert_eq!(r.repr(), "<StreamReader 18 bytes limit=4>");
    // Consumption never resumes a forgotten transport.
    r.read(18).await.unwrap();
    assert_eq!(t.log(), vec!["pause"]);
}

// Flow control: a readuntil that fails with LimitOverrunError or IncompleteReadError does not resume.
#[tokio::test]
async fn a_failed_readuntil_does_not_resume_the_transport() {
    let (r, t) = with_transport(4);
    r.feed_data(b"123456789").unwrap();
    assert_eq!(r.readuntil(b"\n").await.unwrap_err(), overrun(9, NOT_FOUND));
    assert_eq!(t.log(), vec!["pause"]);
    r.feed_eof();
    // A separator longer than the buffer skips the scan and reaches the EOF branch.
    let long = [b'-'; 20];
    assert_eq!(r.readuntil(&long).await.unwrap_err(), incomplete(b"123456789", None));
    assert_eq!(t.log(), vec!["pause"]);
    assert!(r.is_paused());
    assert_eq!(r.buffered_len(), 0);
}

// Flow control: readexactly's IncompleteReadError does not resume either (CPython: no resume call).
#[tokio::test]
async fn readexactly_incomplete_read_does_not_resume_the_transport() {
    let (r, t) = with_transport(4);
    r.feed_data(b"123456789").unwrap();
    r.feed_eof();
    assert_eq!(r.readexactly(20).await.unwrap_err(), incomplete(b"123456789", Some(20)));
    assert_eq!(t.log(), vec!["pause"]);
    assert!(r.is_paused());
}

// Flow control: readline's overrun cleanup resumes the transport.
#[tokio::test]
async fn readline_overrun_cleanup_resumes_the_transport() {
    let (r, t) = with_transport(4);
    r.feed_data(b"123456789\nab\n").unwrap();
    assert_eq!(r.readline().await.unwrap_err(), value_error(FOUND_TOO_LONG));
    assert_eq!(t.log(), vec!["pause", "resume"]);
    assert_eq!(r.buffer(), b(b"ab\n"));
}

// set_transport may only be done once.
#[tokio::test]
async fn set_transport_may_only_be_called_once() {
    let (r, _t) = with_transport(4);
    let e = r.set_transport(FakeTransport::new()).unwrap_err();
    assert_eq!(e.python_class(), "AssertionError");
}

// ---------------------------------------------------------------------------------------------
// §3 exception messages
// ---------------------------------------------------------------------------------------------

// §3: IncompleteReadError's message uses repr(expected) or 'undefined'; class subclasses EOFError.
#[tokio::test]
async fn incomplete_read_messages_match_cpython() {
    assert_eq!(incomplete(b"abc", Some(5)).to_string(), "3 bytes read on a total of 5 expected bytes");
    assert_eq!(incomplete(b"abcdef", None).to_string(), "6 bytes read on a total of undefined expected bytes");
    assert_eq!(incomplete(b"", Some(0)).to_string(), "0 bytes read on a total of 0 expected bytes");
}

// §3: LimitOverrunError's str() is the message, `.consumed` is kept; exactly two messages.
#[tokio::test]
async fn limit_overrun_messages_match_cpython() {
    let r = fed(3, b"abcdefgh");
    let e = r.readuntil(b"\n").await.unwrap_err();
    assert_eq!(e.to_string(), "Separator is not found, and chunk exceed the limit");
    assert!(matches!(e, StreamError::LimitOverrun { consumed: 8, .. }));
    r.feed_data(b"\n").unwrap();
    let e = r.readuntil(b"\n").await.unwrap_err();
    assert_eq!(e.to_string(), "Separator is found, but chunk is longer than limit");
    assert!(matches!(e, StreamError::LimitOverrun { consumed: 8, .. }));
}
