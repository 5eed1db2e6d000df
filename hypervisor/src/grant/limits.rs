//! How big a domain's grant table and maptrack may grow, as `XEN_DOMCTL_createdomain` sets
//! them (`max_grant_frames`, `max_maptrack_frames`, `grant_opts`).

use crate::mm::Errno;
use xen_abi::domctl::{grant_version, DomctlCreatedomain, XEN_DOMCTL_GRANT_VERSION_MASK};
use xen_abi::grant_table::GrantEntryV1;

/// Grant frames a domain may have when the toolstack leaves the choice to us (libxl's
/// default `max_grant_frames`).
pub const DEFAULT_MAX_GRANT_FRAMES: u32 = 32;
/// Maptrack frames a domain may have by default (Xen's and libxl's 1024).
pub const DEFAULT_MAX_MAPTRACK_FRAMES: u32 = 1024;
/// The most grant frames any domain may ask for (Xen's `gnttab_max_frames` default, 64).
pub const GRANT_FRAMES_CEILING: u32 = 64;
/// The most maptrack frames any domain may ask for (Xen's `gnttab_max_maptrack_frames`).
pub const MAPTRACK_FRAMES_CEILING: u32 = 1024;

/// v1 entries per 4 KiB grant frame (8-byte `grant_entry_v1`).
pub const ENTRIES_PER_FRAME: u32 = (4096 / core::mem::size_of::<GrantEntryV1>()) as u32;
/// Size of one maptrack entry as Xen counts it (`struct grant_mapping`: ref, flags, domid,
/// vcpu, pad), which turns maptrack frames into a number of handles.
pub const MAPTRACK_ENTRY_SIZE: u32 = 16;
/// Maptrack entries (mapping handles) per maptrack frame.
pub const MAPTRACK_PER_FRAME: u32 = 4096 / MAPTRACK_ENTRY_SIZE;

/// The two per-domain limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantLimits {
    /// Grant-table frames the domain may set up (`GNTTABOP_setup_table`, `query_size`).
    pub max_grant_frames: u32,
    /// Maptrack frames: how many mappings of others' grants the domain may hold at once.
    pub max_maptrack_frames: u32,
}

impl Default for GrantLimits {
    fn default() -> Self {
        GrantLimits { max_grant_frames: DEFAULT_MAX_GRANT_FRAMES, max_maptrack_frames: DEFAULT_MAX_MAPTRACK_FRAMES }
    }
}

impl GrantLimits {
    /// The limits a `createdomain` request asks for. Zero or negative (Xen's "use the
    /// default") gives the defaults; more than the ceilings is refused with `EINVAL`, as are
    /// unknown `grant_opts` bits and a maximum grant version other than 1 (version 0 counts
    /// as the default, 1; version 2 is not offered, so it is refused as Xen booted with
    /// `gnttab=max-ver:1` refuses it).
    pub fn from_createdomain(config: &DomctlCreatedomain) -> Result<GrantLimits, Errno> {
        if config.grant_opts & !XEN_DOMCTL_GRANT_VERSION_MASK != 0 || grant_version(config.grant_opts) > 1 {
            return Err(Errno::EINVAL);
        }
        Ok(GrantLimits {
            max_grant_frames: pick(config.max_grant_frames, DEFAULT_MAX_GRANT_FRAMES, GRANT_FRAMES_CEILING)?,
            max_maptrack_frames: pick(config.max_maptrack_frames, DEFAULT_MAX_MAPTRACK_FRAMES, MAPTRACK_FRAMES_CEILING)?,
        })
    }

    /// Grant entries the domain's table can hold at its largest.
    pub fn max_entries(self) -> u32 {
        self.max_grant_frames * ENTRIES_PER_FRAME
    }

    /// Mappings the domain may hold at once.
    pub fn max_mappings(self) -> u32 {
        self.max_maptrack_frames * MAPTRACK_PER_FRAME
    }
}

fn pick(asked: i32, default: u32, ceiling: u32) -> Result<u32, Errno> {
    match u32::try_from(asked) {
        Ok(0) | Err(_) => Ok(default),
        Ok(n) if n <= ceiling => Ok(n),
        Ok(_) => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(grant: i32, maptrack: i32, opts: u32) -> DomctlCreatedomain {
        DomctlCreatedomain { max_grant_frames: grant, max_maptrack_frames: maptrack, grant_opts: opts, ..Default::default() }
    }

    #[test]
    fn createdomain_limits() {
        let l = GrantLimits::from_createdomain(&config(4, 2, 1)).unwrap();
        assert_eq!(l, GrantLimits { max_grant_frames: 4, max_maptrack_frames: 2 });
        assert_eq!((l.max_entries(), l.max_mappings()), (2048, 512));
        for (g, m) in [(0, 0), (-1, -1)] {
            assert_eq!(GrantLimits::from_createdomain(&config(g, m, 0)), Ok(GrantLimits::default()));
        }
        assert_eq!(GrantLimits::default().max_grant_frames, 32);
        assert!(GrantLimits::from_createdomain(&config(64, 1024, 1)).is_ok());
        for bad in [config(65, 1, 1), config(1, 1025, 1), config(i32::MAX, 1, 1), config(1, 1, 2), config(1, 1, 1 << 4)] {
            assert_eq!(GrantLimits::from_createdomain(&bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!((ENTRIES_PER_FRAME, MAPTRACK_PER_FRAME), (512, 256));
    }
}
