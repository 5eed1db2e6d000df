//! Grant tables, version 1, with the semantics of Xen's `xen/common/grant_table.c` for
//! x86-64 PV guests (`xen/include/public/grant_table.h` is the interface).
//!
//! A domain (the granter) writes grants into frames it shares with the hypervisor: "domain
//! D may map (or copy from/to) my frame F, read-only or not". Another domain (or the same
//! one) maps such a grant into its address space, or has the hypervisor copy through it.
//! While a grant is in use the hypervisor holds references on the frame in the user's name,
//! and marks the shared entry `GTF_reading`/`GTF_writing`, which makes the granter's revoke
//! (a compare-exchange of the flags to 0) fail until the last use is gone.
//!
//! - [`limits`]: per-domain maxima from `createdomain`.
//! - [`shared`]: the v1 entries and the atomic accesses to them ([`GrantMemory`]).
//! - [`active`], [`table`]: the granter's table and the pinning rules.
//! - [`maptrack`]: the mapper's record of its mappings, by handle.
//! - [`map`], [`copy`], [`teardown`]: the operations, over [`GrantTables`] and the
//!   page-table engine, so all of it runs in host tests.
//! - `glue` (bare metal only): the direct-map memory and the domain list behind the traits.
//!
//! Not offered (documented in `docs/abi.md`): grant table v2 and its status frames,
//! transitive and sub-page grants, `GNTMAP_contains_pte`, transfer, `unmap_and_replace`,
//! `swap_grant_ref`, `dump_table` and `cache_flush`.
#![deny(unsafe_code)]

pub mod active;
pub mod copy;
pub mod limits;
pub mod map;
pub mod maptrack;
mod pte;
mod refs;
pub mod shared;
pub mod table;
pub mod teardown;

#[cfg(target_os = "none")]
pub mod glue;

#[cfg(test)]
mod tests;

pub use active::MapKinds;
pub use limits::GrantLimits;
pub use maptrack::{Mapping, Maptrack};
pub use shared::GrantMemory;
pub use table::SharedTable;

use crate::mm::DomId;

/// The grant table version this hypervisor runs (and the only one it accepts).
pub const GRANT_VERSION: u32 = 1;

/// A domain's grant state: its own table (as a granter) and its maptrack (as a mapper).
#[derive(Debug)]
pub struct GrantTable {
    pub shared: SharedTable,
    pub maptrack: Maptrack,
}

impl GrantTable {
    /// Empty state with these limits.
    pub fn new(limits: GrantLimits) -> GrantTable {
        GrantTable { shared: SharedTable::new(limits), maptrack: Maptrack::new(limits.max_mappings()) }
    }
}

/// Every domain's grant state, by domain id. The operations borrow one part at a time, so a
/// domain that maps its own grants needs nothing special.
pub trait GrantTables {
    /// The table of domain `dom`, if it exists.
    fn shared(&mut self, dom: DomId) -> Option<&mut SharedTable>;
    /// The maptrack of domain `dom`, if it exists.
    fn maptrack(&mut self, dom: DomId) -> Option<&mut Maptrack>;
}
