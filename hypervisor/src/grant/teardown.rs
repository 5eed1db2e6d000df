//! What a dying domain's grants leave behind, and how it goes without a leak or a dangling
//! mapping:
//!
//! - As a mapper: its page tables are relinquished first (the page-table code skips grant
//!   entries, whose references are not the tables'), then every maptrack entry drops its
//!   frame references and its pins in the granter's table, clearing the granter's in-use
//!   flags so the granter can revoke.
//! - As a granter: its table's frames lose the hypervisor's reference and are freed with the
//!   domain's other frames. Frames it granted that others still map keep their mappers'
//!   references, so the domain teardown orphans them; each mapper's later unmap (which no
//!   longer finds the granter's table) drops the last reference and the frame is reaped.

use super::map::release;
use super::shared::GrantMemory;
use super::GrantTables;
use crate::mm::{DomId, Mfn, Paging};
use alloc::vec::Vec;

/// Releases everything domain `dom` holds through grants; returns its grant-table frames,
/// which now hold only their allocation reference (unless mapped elsewhere).
pub fn release_domain<M: GrantMemory>(paging: &mut Paging<'_, M>, tables: &mut impl GrantTables, dom: DomId) -> Vec<Mfn> {
    let mappings: Vec<_> = tables.maptrack(dom).map(|mt| mt.drain().collect()).unwrap_or_default();
    for mapping in &mappings {
        release(paging, tables, dom, mapping, mapping.kinds);
    }
    tables.shared(dom).map(|table| table.release_frames(paging)).unwrap_or_default()
}
