//! `grant_table_op(cmd, uop, count)`: grant table v1. The rules live in `crate::grant`;
//! this reads each operation from the guest, runs it, writes the results back, and keeps
//! the TLB and the orphan list in step.

use super::Args;
use crate::arch::x86_64::paging::{self, DirectMap};
use crate::domain::lifecycle;
use crate::grant::copy::{copy, CopyRequest};
use crate::grant::glue::with_grants;
use crate::grant::map::{map, unmap, MapRequest, UnmapRequest};
use crate::grant::GRANT_VERSION;
use crate::hv::Hypervisor;
use crate::mm::{Errno, Mfn};
use crate::regs::TrapFrame;
use alloc::vec::Vec;
use xen_abi::grant_table::*;
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Most operations handled in one batched call (Xen preempts long batches with a
/// continuation; we bound them instead: more is `-EINVAL`).
const MAX_BATCH: u64 = 512;

/// Bits of `cmd` above the command number: Xen's continuation argument, which only
/// `cache_flush` (not offered) may carry.
const CMD_MASK: u64 = (1 << 12) - 1;

pub fn grant_table_op(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, uop, count, ..] = a.0;
    if cmd & !CMD_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    match cmd as u32 {
        GNTTABOP_MAP_GRANT_REF => batch(hv, uop, count, map_one),
        GNTTABOP_UNMAP_GRANT_REF => {
            let result = batch(hv, uop, count, unmap_one);
            lifecycle::reap_orphans(hv);
            result
        }
        GNTTABOP_COPY => batch(hv, uop, count, copy_one),
        GNTTABOP_SETUP_TABLE => single(hv, uop, count, setup_table),
        GNTTABOP_QUERY_SIZE => single(hv, uop, count, query_size),
        GNTTABOP_SET_VERSION => set_version(hv, uop),
        GNTTABOP_GET_VERSION => get_version(hv, uop),
        // dump_table, transfer, unmap_and_replace, get_status_frames (v2), swap_grant_ref,
        // cache_flush: not offered (docs/abi.md).
        _ => Err(Errno::ENOSYS),
    }
}

/// Runs `one` on each of `count` guest structs at `uop`, writing each back; a struct the
/// guest cannot give or take is `-EFAULT` (the ones before it are done, as in Xen).
fn batch<T: FromBytes + IntoBytes + Immutable>(hv: &mut Hypervisor, uop: u64, count: u64, one: fn(&mut Hypervisor, &mut T)) -> Result<i64, Errno> {
    if count > MAX_BATCH {
        return Err(Errno::EINVAL);
    }
    let size = core::mem::size_of::<T>() as u64;
    for i in 0..count {
        let va = uop.wrapping_add(i * size);
        let mut op: T = hv.read_guest(va)?;
        one(hv, &mut op);
        hv.write_guest(va, &op)?;
    }
    Ok(0)
}

/// The commands that take exactly one struct (`count` must be 1, as in Xen).
fn single<T: FromBytes + IntoBytes + Immutable>(hv: &mut Hypervisor, uop: u64, count: u64, one: fn(&mut Hypervisor, &mut T)) -> Result<i64, Errno> {
    if count != 1 {
        return Err(Errno::EINVAL);
    }
    batch(hv, uop, 1, one)
}

fn status(result: Result<(), i16>) -> i16 {
    result.err().unwrap_or(GNTST_OKAY)
}

fn map_one(hv: &mut Hypervisor, op: &mut GnttabMapGrantRef) {
    let mapper = hv.current_domid();
    let l4 = hv.current_vcpu().active_table();
    let result = MapRequest::parse(op).and_then(|req| {
        let mapped = with_grants(hv, |p, domains| map(p, domains, mapper, l4, &req))?;
        if req.kinds.host {
            // The entry replaced may be cached.
            paging::invlpg(req.host_addr);
        }
        Ok(mapped)
    });
    op.status = match result {
        Ok(mapped) => {
            op.handle = mapped.handle;
            op.dev_bus_addr = mapped.frame.addr();
            GNTST_OKAY
        }
        Err(status) => status,
    };
}

fn unmap_one(hv: &mut Hypervisor, op: &mut GnttabUnmapGrantRef) {
    let mapper = hv.current_domid();
    let l4 = hv.current_vcpu().active_table();
    let req = UnmapRequest::from(&*op);
    let result = with_grants(hv, |p, domains| unmap(p, domains, mapper, l4, &req));
    if result.is_ok() && req.host_addr != 0 {
        // One pCPU, interrupts off: no guest runs between the entry's clearing and this
        // flush, and the frames whose references went are reaped only after the batch.
        paging::invlpg(req.host_addr);
    }
    op.status = status(result);
}

fn copy_one(hv: &mut Hypervisor, op: &mut GnttabCopy) {
    let caller = hv.current_domid();
    let result = CopyRequest::parse(op, caller).and_then(|req| with_grants(hv, |p, domains| copy(p, domains, caller, &req)));
    op.status = status(result);
}

/// The domain a `setup_table` or `query_size` names: the caller (`DOMID_SELF` or its own
/// id) or, for a privileged caller, any other.
fn target(hv: &Hypervisor, dom: u16) -> Result<usize, i16> {
    let d = hv.resolve_domid(u64::from(dom)).map_err(|_| GNTST_BAD_DOMAIN)?;
    if d != hv.current.0 && !hv.domains[hv.current.0].privileged {
        return Err(GNTST_PERMISSION_DENIED);
    }
    Ok(d)
}

/// `GNTTABOP_setup_table`: grows the table to `nr_frames` (never shrinks it) and lists the
/// first `nr_frames` frames' MFNs, which the guest then maps.
fn setup_table(hv: &mut Hypervisor, op: &mut GnttabSetupTable) {
    let result = target(hv, op.dom).and_then(|d| {
        let missing = hv.domains[d].grants.shared.frames_missing(op.nr_frames)?;
        grow(hv, d, missing)?;
        // `grow` succeeded, so the table has at least `nr_frames` frames.
        let frames: Vec<Mfn> = hv.domains[d].grants.shared.frames().get(..op.nr_frames as usize).ok_or(GNTST_GENERAL_ERROR)?.to_vec();
        let mut listed = Ok(());
        for (i, mfn) in frames.iter().enumerate() {
            if hv.write_guest(op.frame_list.wrapping_add(8 * i as u64), &mfn.0).is_err() {
                listed = Err(GNTST_BAD_VIRT_ADDR);
            }
        }
        listed
    });
    op.status = status(result);
}

/// Adds `missing` fresh, zeroed frames to domain index `d`'s table: all or none.
fn grow(hv: &mut Hypervisor, d: usize, missing: u32) -> Result<(), i16> {
    if missing == 0 {
        return Ok(());
    }
    let mut new = Vec::new();
    if new.try_reserve_exact(missing as usize).is_err() {
        return Err(GNTST_GENERAL_ERROR);
    }
    for _ in 0..missing {
        match hv.alloc.alloc() {
            Some(mfn) => {
                // Never show the guest what a previous owner left in the frame.
                DirectMap::zero(mfn);
                new.push(mfn);
            }
            None => break,
        }
    }
    let id = hv.domains[d].id;
    let added = if new.len() == missing as usize {
        with_grants(hv, |p, domains| domains[d].grants.shared.add_frames(p, id, &new))
    } else {
        Err(GNTST_GENERAL_ERROR)
    };
    for &mfn in &new {
        if added.is_ok() {
            hv.set_m2p(mfn, u64::MAX); // not part of the guest's pseudo-physical memory
        } else {
            let _ = hv.alloc.free(mfn);
        }
    }
    added
}

fn query_size(hv: &mut Hypervisor, op: &mut GnttabQuerySize) {
    op.status = match target(hv, op.dom) {
        Ok(d) => {
            let table = &hv.domains[d].grants.shared;
            op.nr_frames = table.nr_frames();
            op.max_nr_frames = table.limits().max_grant_frames;
            GNTST_OKAY
        }
        Err(status) => status,
    };
}

/// `GNTTABOP_set_version`: only version 1 is offered. As Xen does when booted with
/// `gnttab=max-ver:1`: 1 succeeds, 2 is `-ENOSYS`, anything else `-EINVAL`; the version
/// in force is written back in every case.
fn set_version(hv: &mut Hypervisor, uop: u64) -> Result<i64, Errno> {
    let mut op: GnttabSetVersion = hv.read_guest(uop)?;
    let result = match op.version {
        GRANT_VERSION => Ok(0),
        2 => Err(Errno::ENOSYS),
        _ => Err(Errno::EINVAL),
    };
    op.version = GRANT_VERSION;
    hv.write_guest(uop, &op)?;
    result
}

/// `GNTTABOP_get_version`: of the caller or (privileged callers) any domain.
fn get_version(hv: &mut Hypervisor, uop: u64) -> Result<i64, Errno> {
    let mut op: GnttabGetVersion = hv.read_guest(uop)?;
    let d = hv.resolve_domid(u64::from(op.dom))?;
    if d != hv.current.0 && !hv.current_domain().privileged {
        return Err(Errno::EPERM);
    }
    op.version = GRANT_VERSION;
    hv.write_guest(uop, &op)?;
    Ok(0)
}
