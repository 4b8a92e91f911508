//! Merged reads for publishing connections (SRS calls this `mr`).
//!
//! A publisher sends ~70 small messages a second and each one, arriving on its own, wakes the
//! event loop: that wake-up (epoll, read, hand-off to the stream actor) is most of what a
//! recording costs. Waiting after a read is not enough, because the socket stays registered
//! with epoll and every arriving segment still wakes the thread. So, once media flows:
//! - the socket's receive low-water mark (`SO_RCVLOWAT`) is raised, so the kernel reports it
//!   readable only when a large burst has queued;
//! - every connection reads what has queued at a shared tick, the same instants for all of them,
//!   so one wake-up of the loop serves every stream.
//!
//! Media is delayed by at most one tick, far below the 1 s a recording may lose on a crash.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Bytes that must queue before the kernel wakes us between ticks: 100 ms of a 40 Mbit/s
/// stream. Linux also clamps the receive window to it, which at this size limits nothing.
const LOW_WATER_MARK: i32 = 512 * 1024;

/// Raises the socket's receive low-water mark, or puts it back to one byte. Failure only costs
/// the optimization: the tick still reads whatever has queued.
pub fn set_low_water_mark(socket: &TcpStream, raised: bool) {
    #[cfg(unix)]
    {
        let value: i32 = if raised { LOW_WATER_MARK } else { 1 };
        use std::os::fd::AsRawFd;
        // socket2 has no SO_RCVLOWAT setter; this is one plain setsockopt on a live fd.
        // SAFETY: the fd is owned by `socket` for the duration of the call and the option
        // value is a valid c_int of the size given.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVLOWAT,
                (&value as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "SO_RCVLOWAT not set");
        }
    }
    #[cfg(not(unix))]
    let _ = (socket, raised);
}

/// Reads what the kernel holds into `buf`'s spare capacity (replacing its contents), without
/// waiting; returns the bytes read. tokio's `try_read` would not do: it trusts its cached
/// readiness, which below the low-water mark the kernel never sets. Reading into uninitialized
/// capacity spares zeroing a fresh buffer at every tick of every connection.
pub fn read_queued(socket: &TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.clear();
    let n = socket2::SockRef::from(socket).recv(buf.spare_capacity_mut())?;
    // SAFETY: `recv` initialized the first `n` bytes of the spare capacity it was given.
    unsafe { buf.set_len(n) };
    Ok(n)
}

/// Forgets readiness tokio has cached, after `read_queued` found the socket empty, so the
/// next wait sleeps until the kernel reports a new burst instead of returning at once.
pub fn clear_readiness(socket: &TcpStream) {
    let _ = socket.try_io(Interest::READABLE, || {
        Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock))
    });
}

/// The next shared tick after now: a multiple of `period` counted from one process-wide epoch,
/// so every connection's wait ends at the same instant.
pub fn next_tick(period: Duration) -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let period_ns = period.as_nanos().max(1);
    let elapsed = Instant::now().saturating_duration_since(epoch).as_nanos();
    let ticks = elapsed / period_ns + 1;
    epoch + Duration::from_nanos((ticks * period_ns) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ticks_are_shared_and_always_ahead() {
        let period = Duration::from_millis(100);
        let a = next_tick(period);
        assert!(a > Instant::now() && a <= Instant::now() + period);
        // A connection that starts waiting later in the same period wakes at the same instant.
        tokio::time::advance((a - Instant::now()).saturating_sub(Duration::from_millis(1))).await;
        assert_eq!(next_tick(period), a);
        // At the tick itself, the next one is a whole period later.
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(next_tick(period), a + period);
    }
}
