//! XenBus device states (C `enum xenbus_state`, `io/xenbus.h`), kept in
//! each end's `state` node as a decimal string.

use core::fmt;

use xen_abi::xs_wire::{
    xenbus_state_name, XENBUS_STATE_CLOSED, XENBUS_STATE_CLOSING, XENBUS_STATE_CONNECTED,
    XENBUS_STATE_INITIALISED, XENBUS_STATE_INITIALISING, XENBUS_STATE_INIT_WAIT,
    XENBUS_STATE_RECONFIGURED, XENBUS_STATE_RECONFIGURING, XENBUS_STATE_UNKNOWN,
};

/// The state of one end of a XenBus device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum XenbusState {
    /// No (readable) `state` node.
    Unknown = XENBUS_STATE_UNKNOWN,
    /// Set up by the toolstack; the driver has not started.
    Initialising = XENBUS_STATE_INITIALISING,
    /// Back end: features published, waiting for the front end's details.
    InitWait = XENBUS_STATE_INIT_WAIT,
    /// Front end: ring details published.
    Initialised = XENBUS_STATE_INITIALISED,
    /// Connected and working.
    Connected = XENBUS_STATE_CONNECTED,
    /// Shutting down; waiting for the other end to acknowledge.
    Closing = XENBUS_STATE_CLOSING,
    /// Shut down.
    Closed = XENBUS_STATE_CLOSED,
    /// Reconfiguration requested (pvscsi; not driven by this crate).
    Reconfiguring = XENBUS_STATE_RECONFIGURING,
    /// Reconfiguration done (pvscsi; not driven by this crate).
    Reconfigured = XENBUS_STATE_RECONFIGURED,
}

impl XenbusState {
    /// Every state, in numeric order.
    pub const ALL: [XenbusState; 9] = [
        Self::Unknown,
        Self::Initialising,
        Self::InitWait,
        Self::Initialised,
        Self::Connected,
        Self::Closing,
        Self::Closed,
        Self::Reconfiguring,
        Self::Reconfigured,
    ];

    /// The state with C value `raw`.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        if (raw as usize) < Self::ALL.len() {
            Some(Self::ALL[raw as usize])
        } else {
            None
        }
    }

    /// The C value.
    pub const fn raw(self) -> u32 {
        self as u32
    }

    /// The value as written to a `state` node (`"4"` for Connected).
    pub const fn as_decimal(self) -> &'static str {
        ["0", "1", "2", "3", "4", "5", "6", "7", "8"][self as usize]
    }

    /// Parses a `state` node's value: a decimal number, optionally padded
    /// with whitespace or trailing NULs.  `None` for anything else,
    /// including numbers that name no state.
    pub fn parse(value: &str) -> Option<Self> {
        let digits = value.trim_end_matches('\0').trim();
        if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u32>().ok().and_then(Self::from_raw)
    }

    /// Xen's name for the state (`"InitWait"`).
    pub fn name(self) -> &'static str {
        xenbus_state_name(self.raw()).unwrap_or("Invalid")
    }
}

impl fmt::Display for XenbusState {
    /// The name, for logs; [`XenbusState::as_decimal`] is what XenStore
    /// holds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_parsing() {
        for (i, s) in XenbusState::ALL.iter().enumerate() {
            assert_eq!(s.raw(), i as u32);
            assert_eq!(XenbusState::from_raw(i as u32), Some(*s));
            assert_eq!(XenbusState::parse(s.as_decimal()), Some(*s));
        }
        assert_eq!(XenbusState::Connected.raw(), 4);
        assert_eq!(XenbusState::InitWait.name(), "InitWait");
        assert_eq!(XenbusState::from_raw(9), None);
        assert_eq!(XenbusState::parse("4\0"), Some(XenbusState::Connected));
        assert_eq!(XenbusState::parse(" 6\n"), Some(XenbusState::Closed));
        for bad in ["", "9", "-1", "+4", "4x", "0x4", "99999999999999", "\0"] {
            assert_eq!(XenbusState::parse(bad), None, "{bad:?}");
        }
    }
}
