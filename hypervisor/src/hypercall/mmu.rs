//! Guest page-table management: `mmu_update`, `mmuext_op`, `update_va_mapping`. The rules
//! (types, counts, what may be mapped) live in `mm::pagetable`; this is argument decoding,
//! batching and TLB maintenance.

use super::Args;
use crate::arch::x86_64::paging;
use crate::domain::lifecycle;
use crate::hv::Hypervisor;
use crate::mm::{DomId, Errno, FrameMemory, Mfn, PageType};
use crate::regs::TrapFrame;
use super::decode::{self, MmuRequest, MmuextCmd};
use xen_abi::mm::*;

/// Largest batch handled in one call (Xen preempts long batches with a continuation; we
/// bound them instead, and guests loop on the `done` count).
const MAX_BATCH: u64 = 4096;

/// The domain whose frames a batch names: the caller's own, or (privileged callers only,
/// as Xen's XSM default allows) an existing other domain: a foreign mapping.
fn page_owner(hv: &Hypervisor, foreigndom: u64) -> Result<DomId, Errno> {
    let me = hv.current_domid();
    let owner = decode::page_owner(foreigndom, me)?;
    if owner != me {
        hv.domain_index(owner).ok_or(Errno::ESRCH)?;
        if !hv.domains[hv.current.0].privileged {
            return Err(Errno::EPERM);
        }
    }
    Ok(owner)
}

/// Run a batch of `count` guest structs at `list`, one `op` each, stopping at the first
/// error; returns how many succeeded (written to `done_va` when non-NULL) and the result.
fn run_batch<T: zerocopy::FromBytes + zerocopy::IntoBytes>(
    hv: &mut Hypervisor,
    list: u64,
    count: u64,
    done_va: u64,
    mut op: impl FnMut(&mut Hypervisor, T) -> Result<(), Errno>,
) -> (u64, Result<i64, Errno>) {
    if count > MAX_BATCH {
        return (0, Err(Errno::EINVAL));
    }
    let size = core::mem::size_of::<T>() as u64;
    let mut done = 0;
    let mut result = Ok(0);
    for i in 0..count {
        if let Err(e) = hv.read_guest::<T>(list.wrapping_add(i * size)).and_then(|item| op(hv, item)) {
            result = Err(e);
            break;
        }
        done += 1;
    }
    if done_va != 0 {
        if let Err(e) = hv.write_guest(done_va, &(done as u32)) {
            result = result.and(Err(e));
        }
    }
    (done, result)
}

/// `mmu_update(reqs, count, done, foreigndom)`.
pub fn mmu_update(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [reqs, count, done_va, foreigndom, _] = a.0;
    let pg_owner = page_owner(hv, foreigndom)?;
    let (done, result) = run_batch(hv, reqs, count, done_va, |hv, req: MmuUpdate| one_mmu_update(hv, pg_owner, req));
    if done > 0 {
        // Removed or downgraded mappings must not survive in the TLB (single pCPU: local).
        paging::flush_tlb();
        lifecycle::reap_orphans(hv);
    }
    result
}

/// One request: the table is always the caller's; a new leaf entry maps `pg_owner`'s frame.
fn one_mmu_update(hv: &mut Hypervisor, pg_owner: DomId, req: MmuUpdate) -> Result<(), Errno> {
    let me = hv.current_domid();
    match MmuRequest::try_from(req)? {
        MmuRequest::PtUpdate { table, index, val } => hv.with_paging(|p| p.update_entry_foreign(me, pg_owner, table, index, val)),
        MmuRequest::MachPhys { mfn, pfn } => {
            if !hv.frames.owned_by(mfn, pg_owner) {
                return Err(Errno::EPERM);
            }
            hv.set_m2p(mfn, pfn);
            Ok(())
        }
    }
}

/// `mmuext_op(ops, count, done, foreigndom)`.
pub fn mmuext_op(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [ops, count, done_va, foreigndom, _] = a.0;
    let pg_owner = page_owner(hv, foreigndom)?;
    let result = run_batch(hv, ops, count, done_va, |hv, op: MmuextOp| one_mmuext_op(hv, pg_owner, op)).1;
    lifecycle::reap_orphans(hv);
    result
}

/// One op: pins name `pg_owner`'s frames (the builder pins a new domain's tables); the
/// vCPU's own state (base pointers) only ever the caller's.
fn one_mmuext_op(hv: &mut Hypervisor, pg_owner: DomId, op: MmuextOp) -> Result<(), Errno> {
    let me = hv.current_domid();
    let cmd = MmuextCmd::try_from(op)?;
    if pg_owner != me && matches!(cmd, MmuextCmd::NewBaseptr { .. } | MmuextCmd::NewUserBaseptr { .. }) {
        return Err(Errno::EPERM);
    }
    match cmd {
        MmuextCmd::Pin { mfn, level } => hv.with_paging(|p| p.pin(pg_owner, mfn, level)),
        MmuextCmd::Unpin { mfn } => {
            hv.with_paging(|p| p.unpin(pg_owner, mfn))?;
            paging::flush_tlb();
            Ok(())
        }
        MmuextCmd::NewBaseptr { mfn } => new_baseptr(hv, me, Some(mfn), false),
        MmuextCmd::NewUserBaseptr { mfn } => new_baseptr(hv, me, mfn, true),
        MmuextCmd::TlbFlush => {
            paging::flush_tlb();
            Ok(())
        }
        MmuextCmd::Invlpg { va } => {
            paging::invlpg(va);
            Ok(())
        }
    }
}

/// Switch the vCPU's kernel (or user) root table; the new root takes an L4 type reference and
/// the old one drops its.
fn new_baseptr(hv: &mut Hypervisor, dom: DomId, mfn: Option<Mfn>, user: bool) -> Result<(), Errno> {
    let Some(mfn) = mfn else {
        let old = hv.current_vcpu().guest_table_user.take();
        if let Some(old) = old {
            hv.with_paging(|p| p.put_page_and_type(old));
        }
        return Ok(());
    };
    hv.with_paging(|p| p.get_page_and_type(dom, mfn, PageType::L4))?;
    let vcpu = hv.current_vcpu();
    let slot = if user { &mut vcpu.guest_table_user } else { &mut vcpu.guest_table };
    let old = slot.replace(mfn);
    let reload = !user && vcpu.in_kernel || user && !vcpu.in_kernel;
    if reload {
        paging::load_cr3(mfn);
    }
    if let Some(old) = old {
        hv.with_paging(|p| p.put_page_and_type(old));
    }
    Ok(())
}

/// The L1 table and slot that map `va` in the current address space.
fn find_l1_slot(hv: &mut Hypervisor, va: u64) -> Result<(Mfn, usize), Errno> {
    decode::guest_address(va)?;
    let mut table = hv.current_vcpu().active_table().ok_or(Errno::EINVAL)?;
    let mem = paging::DirectMap;
    for level in (2..=4).rev() {
        let index = ((va >> (12 + 9 * (level - 1))) & 0x1ff) as usize;
        let entry = mem.read_entry(table, index);
        if entry & PAGE_PRESENT == 0 || entry & PAGE_PSE != 0 && level != 4 {
            return Err(Errno::EINVAL);
        }
        table = Mfn(pte_mfn(entry));
    }
    Ok((table, ((va >> 12) & 0x1ff) as usize))
}

/// `update_va_mapping(va, val, flags)`: one L1 update addressed by virtual address.
pub fn update_va_mapping(hv: &mut Hypervisor, f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [va, val, flags, ..] = a.0;
    update_va_mapping_otherdomain(hv, f, Args([va, val, flags, u64::from(xen_abi::domid::DOMID_SELF), 0]))
}

/// `update_va_mapping_otherdomain(va, val, flags, domid)`: the same, mapping a frame of
/// `domid` (a foreign mapping; privileged callers only).
pub fn update_va_mapping_otherdomain(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [va, val, flags, domid, _] = a.0;
    let pg_owner = page_owner(hv, domid & 0xffff)?;
    let me = hv.current_domid();
    let (l1, index) = find_l1_slot(hv, va)?;
    hv.with_paging(|p| p.update_entry_foreign(me, pg_owner, l1, index, val))?;
    lifecycle::reap_orphans(hv);
    match flags & UVMF_FLUSHTYPE_MASK {
        UVMF_TLB_FLUSH => paging::flush_tlb(),
        UVMF_INVLPG => paging::invlpg(va),
        // No flush requested: still never leave a stale translation to a frame the guest may
        // no longer own.
        _ => paging::invlpg(va),
    }
    Ok(0)
}
