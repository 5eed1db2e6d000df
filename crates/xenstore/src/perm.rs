//! Node permissions in Xen's model.
//!
//! A node's permission list is never empty.  Its first entry names the
//! owner and gives the access of every domain not listed further on; each
//! later entry overrides that access for one domain (the first match
//! counts).  The owner and privileged connections (Dom0) have full access
//! whatever the list says.  On the wire an entry is a letter and a decimal
//! domid: `n` none, `r` read, `w` write, `b` both (`"b0"`, `"r5"`).

use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use crate::error::XsError;

/// What a permission entry grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `n`: nothing.
    None,
    /// `r`: read.
    Read,
    /// `w`: write.
    Write,
    /// `b`: read and write.
    Both,
}

impl Access {
    /// The wire letter.
    pub const fn letter(self) -> char {
        match self {
            Access::None => 'n',
            Access::Read => 'r',
            Access::Write => 'w',
            Access::Both => 'b',
        }
    }

    fn rights(self) -> Rights {
        match self {
            Access::None => Rights::NONE,
            Access::Read => Rights::READ,
            Access::Write => Rights::WRITE,
            Access::Both => Rights::READ.union(Rights::WRITE),
        }
    }
}

/// One permission entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Perm {
    /// The domain the entry is about (the owner, for the first entry).
    pub domid: u16,
    /// What it grants.
    pub access: Access,
}

impl Perm {
    /// An entry.
    pub const fn new(domid: u16, access: Access) -> Self {
        Self { domid, access }
    }

    /// Parse Xen's string form (`"b0"`, `"n5"`); anything else is `EINVAL`.
    pub fn parse(text: &[u8]) -> Result<Self, XsError> {
        let (&letter, digits) = text.split_first().ok_or(XsError::EINVAL)?;
        let access = match letter {
            b'n' => Access::None,
            b'r' => Access::Read,
            b'w' => Access::Write,
            b'b' => Access::Both,
            _ => return Err(XsError::EINVAL),
        };
        Ok(Self::new(crate::path::parse_domid(digits)?, access))
    }

    /// Parse a NUL-separated list (each entry NUL-terminated, as in
    /// `XS_GET_PERMS` replies).  The list must hold at least one entry.
    pub fn parse_list(payload: &[u8]) -> Result<Vec<Self>, XsError> {
        let body = payload.strip_suffix(&[0]).ok_or(XsError::EINVAL)?;
        let perms = body
            .split(|&b| b == 0)
            .map(Self::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(perms)
    }

    /// The list as a payload: each entry followed by a NUL.
    pub fn list_payload(perms: &[Perm]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in perms {
            out.extend_from_slice(alloc::format!("{p}").as_bytes());
            out.push(0);
        }
        out
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.access.letter(), self.domid)
    }
}

impl FromStr for Perm {
    type Err = XsError;

    fn from_str(s: &str) -> Result<Self, XsError> {
        Self::parse(s.as_bytes())
    }
}

/// Rights a connection holds on a node (Xen's `XS_PERM_*` bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rights(u8);

impl Rights {
    pub(crate) const NONE: Self = Self(0);
    pub(crate) const READ: Self = Self(1);
    pub(crate) const WRITE: Self = Self(2);
    /// Owner-only operations (`XS_SET_PERMS`).
    pub(crate) const OWNER: Self = Self(8);
    const ALL: Self = Self(1 | 2 | 8);

    pub(crate) const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub(crate) const fn contains(self, wanted: Self) -> bool {
        self.0 & wanted.0 == wanted.0
    }

    pub(crate) const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

/// Who is asking: a connection's domain and whether it is privileged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) domid: u16,
    pub(crate) privileged: bool,
}

impl Caller {
    /// Dom0's toolstack connection.
    pub(crate) const DOM0: Self = Self {
        domid: 0,
        privileged: true,
    };

    /// The rights this caller holds under a permission list.
    pub(crate) fn rights(self, perms: &[Perm]) -> Rights {
        let Some((owner, overrides)) = perms.split_first() else {
            // An empty list never occurs; grant nothing rather than panic.
            return if self.privileged {
                Rights::ALL
            } else {
                Rights::NONE
            };
        };
        if self.privileged || owner.domid == self.domid {
            return Rights::ALL;
        }
        overrides
            .iter()
            .find(|p| p.domid == self.domid)
            .unwrap_or(owner)
            .access
            .rights()
    }

    /// May this caller read a node with these permissions?
    pub(crate) fn can_read(self, perms: &[Perm]) -> bool {
        self.rights(perms).contains(Rights::READ)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn string_form() {
        assert_eq!(Perm::parse(b"b0"), Ok(Perm::new(0, Access::Both)));
        assert_eq!("r12".parse::<Perm>(), Ok(Perm::new(12, Access::Read)));
        assert_eq!(Perm::new(7, Access::Write).to_string(), "w7");
        assert_eq!(Perm::new(65535, Access::None).to_string(), "n65535");
        for bad in [&b""[..], b"x1", b"r", b"r-1", b"r70000", b"r1a", b" r1"] {
            assert_eq!(Perm::parse(bad), Err(XsError::EINVAL), "{bad:?}");
        }
        let list = [Perm::new(1, Access::None), Perm::new(0, Access::Read)];
        let payload = Perm::list_payload(&list);
        assert_eq!(payload, b"n1\0r0\0");
        assert_eq!(Perm::parse_list(&payload).unwrap(), list);
        assert_eq!(Perm::parse_list(b"n1"), Err(XsError::EINVAL));
        assert_eq!(Perm::parse_list(b"\0"), Err(XsError::EINVAL));
    }

    #[test]
    fn rights() {
        let perms = [
            Perm::new(5, Access::Read),
            Perm::new(6, Access::None),
            Perm::new(7, Access::Write),
            Perm::new(7, Access::Read),
        ];
        let dom = |domid| Caller {
            domid,
            privileged: false,
        };
        assert_eq!(dom(5).rights(&perms), Rights::ALL); // owner
        assert_eq!(Caller::DOM0.rights(&perms), Rights::ALL);
        assert_eq!(dom(6).rights(&perms), Rights::NONE);
        assert_eq!(dom(7).rights(&perms), Rights::WRITE); // first match
        assert_eq!(dom(8).rights(&perms), Rights::READ); // everyone else
        assert!(!dom(6).can_read(&perms));
    }
}
