//! The one error type of every ring operation.

use core::fmt;

/// Why a ring operation did nothing.
///
/// [`RingError::Overflow`] is the only error a peer can cause; the others
/// mean the caller asked for something impossible (a full ring, memory too
/// small or misplaced for the ring it was asked to hold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RingError {
    /// The peer's index claims more entries (or bytes) than the ring can
    /// hold, or moved backwards: the peer is broken or hostile.  Nothing
    /// was consumed; the caller decides whether to reset or drop the ring.
    Overflow,
    /// No slot is free for this producer: the front end already has
    /// `size` requests outstanding, or the back end has answered every
    /// request it took.
    Full,
    /// The memory cannot hold a ring of these entries: not even one slot
    /// fits, the slot count would not fit the 32-bit index arithmetic, or
    /// a byte ring's size is not a power of two.
    BadGeometry,
    /// An access reached outside the ring memory.  The ring code never
    /// asks for one on memory it accepted; a byte-ring descriptor that does
    /// not fit the memory does.
    OutOfBounds,
    /// A 32-bit access at an offset that is not a multiple of 4, or ring
    /// memory whose base is not 4-byte aligned.
    Misaligned,
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RingError::Overflow => "peer index claims more entries than the ring holds",
            RingError::Full => "no free ring slot",
            RingError::BadGeometry => "memory cannot hold a ring of this shape",
            RingError::OutOfBounds => "access outside the ring memory",
            RingError::Misaligned => "misaligned 32-bit ring access",
        })
    }
}

impl core::error::Error for RingError {}
