//! XenStore node permissions in the wire syntax of `XS_SET_PERMS` /
//! `XS_GET_PERMS`: one letter then a domain id, e.g. `r5`.  The first
//! entry names the owner (who may always read and write) and gives the
//! access of every domain not listed; later entries grant specific
//! domains.

use alloc::string::String;
use core::fmt;

use xen_abi::domid::DomId;

use crate::path::parse_domid;

/// The access one permission entry grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `n`: none.
    None,
    /// `r`: read.
    Read,
    /// `w`: write.
    Write,
    /// `b`: read and write.
    Both,
}

impl Access {
    /// The letter used on the wire.
    pub const fn letter(self) -> char {
        match self {
            Access::None => 'n',
            Access::Read => 'r',
            Access::Write => 'w',
            Access::Both => 'b',
        }
    }

    /// The access a wire letter stands for.
    pub const fn from_letter(letter: u8) -> Option<Self> {
        match letter {
            b'n' => Some(Access::None),
            b'r' => Some(Access::Read),
            b'w' => Some(Access::Write),
            b'b' => Some(Access::Both),
            _ => None,
        }
    }
}

/// One permission entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Perm {
    /// The domain the entry is about.
    pub domid: DomId,
    /// What it may do (for the first entry: what everyone else may do).
    pub access: Access,
}

impl Perm {
    /// An entry for `domid`.
    pub const fn new(domid: DomId, access: Access) -> Self {
        Self { domid, access }
    }

    /// Parses one entry (`"r5"`).
    pub fn parse(s: &str) -> Option<Self> {
        let (&letter, _) = s.as_bytes().split_first()?;
        let access = Access::from_letter(letter)?;
        let domid = parse_domid(s.get(1..)?)?;
        Some(Self { domid, access })
    }

    /// The wire form (`"r5"`).
    pub fn to_wire(self) -> String {
        alloc::format!("{self}")
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.access.letter(), self.domid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        assert_eq!(Perm::new(5, Access::Read).to_wire(), "r5");
        assert_eq!(Perm::new(0, Access::None).to_wire(), "n0");
        assert_eq!(Perm::parse("b32752"), Some(Perm::new(32752, Access::Both)));
        assert_eq!(Perm::parse("w1"), Some(Perm::new(1, Access::Write)));
        for bad in ["", "r", "x1", "r-1", "r01", "R1", "r70000", "é1"] {
            assert_eq!(Perm::parse(bad), None, "{bad}");
        }
    }
}
