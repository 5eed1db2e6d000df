//! XenStore messages as byte streams: [`encode`] one, and a per-connection
//! [`Decoder`] that cuts a stream into messages.
//!
//! A message is a 16-byte `xsd_sockmsg` header (`type`, `req_id`, `tx_id`,
//! `len`, little-endian `u32`s) and `len` payload bytes, `len` at most
//! [`XENSTORE_PAYLOAD_MAX`].
//!
//! **Oversized headers.**  Xen's daemon drops a connection whose header
//! announces more than [`XENSTORE_PAYLOAD_MAX`] bytes.  A domain cannot
//! reconnect, so we are gentler: [`Decoder::next`] returns
//! [`WireError::TooBig`], the server answers with [`WireError::reply`] (an
//! `XS_ERROR` `"E2BIG"` echoing the header's ids), and the decoder discards
//! everything buffered for the connection, so decoding starts again at the
//! next byte fed.  Nothing is ever allocated for the oversized payload.

use alloc::vec::Vec;
use xen_abi::xs_wire::{XsdSockmsg, XENSTORE_PAYLOAD_MAX, XS_ERROR};

use crate::error::XsError;

/// Size of the message header (C `struct xsd_sockmsg`).
pub const HEADER_LEN: usize = core::mem::size_of::<XsdSockmsg>();

/// One XenStore message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// `XS_*` type (C `type`).
    pub kind: u32,
    /// Request id; replies echo it.
    pub req_id: u32,
    /// Transaction id (0 outside transactions); replies echo it.
    pub tx_id: u32,
    /// The payload, at most [`XENSTORE_PAYLOAD_MAX`] bytes on the wire.
    pub payload: Vec<u8>,
}

impl Message {
    /// A message of `kind` with the given ids and payload.
    pub fn new(kind: u32, req_id: u32, tx_id: u32, payload: Vec<u8>) -> Self {
        Self {
            kind,
            req_id,
            tx_id,
            payload,
        }
    }
}

/// The header followed by the payload.
///
/// The length field is the payload's length; callers keep payloads within
/// [`XENSTORE_PAYLOAD_MAX`] (the daemon never builds a longer one).
pub fn encode(msg: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + msg.payload.len());
    let len = u32::try_from(msg.payload.len()).unwrap_or(u32::MAX);
    for field in [msg.kind, msg.req_id, msg.tx_id, len] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(&msg.payload);
    out
}

/// A framing error found by [`Decoder::next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// The header announced a payload longer than [`XENSTORE_PAYLOAD_MAX`].
    TooBig {
        /// The header's type.
        kind: u32,
        /// The header's request id.
        req_id: u32,
        /// The header's transaction id.
        tx_id: u32,
        /// The announced payload length.
        len: u32,
    },
}

impl WireError {
    /// The `XS_ERROR` reply the server sends for this error.
    pub fn reply(&self) -> Message {
        match *self {
            WireError::TooBig { req_id, tx_id, .. } => {
                Message::new(XS_ERROR, req_id, tx_id, XsError::E2BIG.payload())
            }
        }
    }
}

/// Cuts one connection's byte stream into [`Message`]s.
///
/// Feed bytes as they arrive, then call [`Decoder::next`] until it returns
/// `Ok(None)`.  Only the bytes fed and not yet decoded are kept, and a
/// payload buffer is sized by its (checked) header, so no message costs more
/// than [`XENSTORE_PAYLOAD_MAX`] bytes.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Bytes fed and not yet decoded; `start` marks the first one.
    pending: Vec<u8>,
    start: usize,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append bytes received on the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        // Drop the consumed prefix before growing, so a decoder that is
        // drained after each feed never holds more than one partial message
        // plus the new bytes.
        if self.start > 0 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        self.pending.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.pending.len() - self.start
    }

    /// Forget everything buffered.
    pub fn reset(&mut self) {
        self.pending = Vec::new();
        self.start = 0;
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or
    /// [`WireError::TooBig`] (after which the buffered input is discarded).
    #[allow(clippy::should_implement_trait)] // fallible, so not an Iterator
    pub fn next(&mut self) -> Result<Option<Message>, WireError> {
        let avail = &self.pending[self.start..];
        let Some(header) = avail.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let field = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&header[i * 4..i * 4 + 4]);
            u32::from_le_bytes(b)
        };
        let (kind, req_id, tx_id, len) = (field(0), field(1), field(2), field(3));
        if len as usize > XENSTORE_PAYLOAD_MAX {
            self.reset();
            return Err(WireError::TooBig {
                kind,
                req_id,
                tx_id,
                len,
            });
        }
        let total = HEADER_LEN + len as usize;
        let Some(payload) = avail.get(HEADER_LEN..total) else {
            return Ok(None);
        };
        let msg = Message::new(kind, req_id, tx_id, payload.to_vec());
        self.start += total;
        if self.start == self.pending.len() {
            self.pending.clear();
            self.start = 0;
        }
        Ok(Some(msg))
    }
}
