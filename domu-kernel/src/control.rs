//! The toolstack's power requests: the values a toolstack writes to `control/shutdown` (as
//! `xl shutdown`/`xl reboot` do) and what the guest does about each.

use xen_abi::sched::{SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT};

/// The node a toolstack writes its request to (relative to the domain's home).
pub const SHUTDOWN_NODE: &str = "control/shutdown";
/// Nodes a guest writes `1` to, announcing which requests it honours (as Linux does).
pub const FEATURE_NODES: [&str; 2] = ["control/feature-poweroff", "control/feature-reboot"];

/// A request read from `control/shutdown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerRequest {
    Poweroff,
    Reboot,
    Halt,
}

impl PowerRequest {
    /// The request a node value names; `None` for an empty value (no request, or our own
    /// acknowledgement) and for requests this guest does not implement (`suspend`, ...).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim_end_matches('\0') {
            "poweroff" => Some(Self::Poweroff),
            "reboot" => Some(Self::Reboot),
            "halt" => Some(Self::Halt),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Poweroff => "poweroff",
            Self::Reboot => "reboot",
            Self::Halt => "halt",
        }
    }

    /// The `SCHEDOP_shutdown` reason: a PV guest has no separate halt, so halt powers off.
    pub fn reason(self) -> u32 {
        match self {
            Self::Poweroff | Self::Halt => SHUTDOWN_POWEROFF,
            Self::Reboot => SHUTDOWN_REBOOT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(PowerRequest::parse("poweroff"), Some(PowerRequest::Poweroff));
        assert_eq!(PowerRequest::parse("reboot"), Some(PowerRequest::Reboot));
        assert_eq!(PowerRequest::parse("halt"), Some(PowerRequest::Halt));
        assert_eq!(PowerRequest::parse(""), None);
        assert_eq!(PowerRequest::parse("suspend"), None);
        assert_eq!(PowerRequest::parse("Poweroff"), None);
        assert_eq!(PowerRequest::Reboot.reason(), SHUTDOWN_REBOOT);
        assert_eq!(PowerRequest::Halt.reason(), SHUTDOWN_POWEROFF);
        assert_eq!(PowerRequest::Halt.name(), "halt");
    }
}
