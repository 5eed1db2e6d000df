//! Grant mappings in the mapper's page tables: finding the L1 entry for a virtual address
//! of the current address space, writing a grant entry there, and removing it again.
//!
//! The entry carries `_PAGE_GNTTAB`, which guests may never set, so the page-table code
//! knows it for a grant mapping: it refuses guest updates of it and leaves its references
//! alone when the table is demoted (they belong to the maptrack). Only a validated L1 of
//! the mapper is ever written, so the entry is always seen by the page-table rules.

use crate::mm::pagetable::{is_grant_entry, _PAGE_GNTTAB};
use crate::mm::{DomId, FrameMemory, Mfn, PageType, Paging};
use xen_abi::grant_table::{GNTST_BAD_VIRT_ADDR, GNTST_GENERAL_ERROR};
use xen_abi::mm::*;
use xen_abi::x86::{HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_START};

/// An address a host mapping may use: canonical and outside the hypervisor's range.
pub fn check_host_addr(va: u64) -> Result<(), i16> {
    let canonical = ((va as i64) << 16 >> 16) as u64 == va;
    if canonical && !(HYPERVISOR_VIRT_START..HYPERVISOR_VIRT_END).contains(&va) {
        Ok(())
    } else {
        Err(GNTST_BAD_VIRT_ADDR)
    }
}

/// The entry a grant mapping of `frame` consists of (Xen's `grant_to_pte_flags`, with the
/// user bit every entry of a ring-3 PV kernel gets).
pub fn grant_entry(frame: Mfn, readonly: bool) -> u64 {
    let rw = if readonly { 0 } else { PAGE_RW };
    frame.addr() | PAGE_PRESENT | PAGE_USER | PAGE_ACCESSED | PAGE_DIRTY | PAGE_NX | _PAGE_GNTTAB | rw
}

/// The L1 table and slot that map `va` under the root `l4`, provided that L1 is a
/// validated L1 table of `dom` (Xen's `map_guest_l1e` plus its type check). No such L1 is
/// `GNTST_general_error`, as in Xen.
fn l1_slot<M: FrameMemory>(paging: &Paging<'_, M>, dom: DomId, l4: Mfn, va: u64) -> Result<(Mfn, usize), i16> {
    check_host_addr(va)?;
    let is_table = |mfn: Mfn, ty: PageType| {
        paging.frames.get(mfn).is_some_and(|i| i.owner == Some(dom) && i.ty == ty && i.type_count > 0)
    };
    if !is_table(l4, PageType::L4) {
        return Err(GNTST_GENERAL_ERROR);
    }
    let mut table = l4;
    for level in (2..=4u32).rev() {
        let entry = paging.mem.read_entry(table, ((va >> (12 + 9 * (level - 1))) & 0x1ff) as usize);
        table = Mfn(pte_mfn(entry));
        // Validated tables only lead to RAM; the bound keeps a broken invariant from
        // reaching outside the direct map all the same.
        if entry & PAGE_PRESENT == 0 || (level < 4 && entry & PAGE_PSE != 0) || table.0 >= paging.frames.len() {
            return Err(GNTST_GENERAL_ERROR);
        }
    }
    if !is_table(table, PageType::L1) {
        return Err(GNTST_GENERAL_ERROR);
    }
    Ok((table, ((va >> 12) & 0x1ff) as usize))
}

/// Maps `frame` at `va` of `dom`'s address space rooted at `l4`. An entry already there is
/// replaced and its references released (as Xen does), unless it is itself a grant
/// mapping, which only its unmap may remove (`GNTST_general_error`).
pub fn install<M: FrameMemory>(paging: &mut Paging<'_, M>, dom: DomId, l4: Mfn, va: u64, frame: Mfn, readonly: bool) -> Result<(), i16> {
    let (l1, index) = l1_slot(paging, dom, l4, va)?;
    let old = paging.mem.read_entry(l1, index);
    if is_grant_entry(old) {
        return Err(GNTST_GENERAL_ERROR);
    }
    if old & PAGE_PRESENT != 0 {
        // Through the page-table rules, so the old entry's references go exactly as a guest
        // clearing it would drop them.
        paging.update_entry(dom, l1, index, 0).map_err(|_| GNTST_GENERAL_ERROR)?;
    }
    paging.mem.write_entry(l1, index, grant_entry(frame, readonly));
    Ok(())
}

/// Clears the grant mapping of `frame` at `va`. The entry there must still be that mapping
/// (a grant entry for `frame`, writable exactly when the mapping is); otherwise nothing
/// changes and the result is `GNTST_general_error` (Xen's `replace_grant_pv_mapping`).
pub fn remove<M: FrameMemory>(paging: &mut Paging<'_, M>, dom: DomId, l4: Mfn, va: u64, frame: Mfn, readonly: bool) -> Result<(), i16> {
    let (l1, index) = l1_slot(paging, dom, l4, va)?;
    let old = paging.mem.read_entry(l1, index);
    let writable = old & PAGE_RW != 0;
    if !is_grant_entry(old) || Mfn(pte_mfn(old)) != frame || writable == readonly {
        return Err(GNTST_GENERAL_ERROR);
    }
    paging.mem.write_entry(l1, index, 0);
    Ok(())
}
