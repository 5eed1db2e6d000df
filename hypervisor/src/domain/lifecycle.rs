//! Creating and destroying DomUs: what `XEN_DOMCTL_createdomain` and `destroydomain` do in the
//! hypervisor. Dom0's toolstack decides and builds; this keeps the books (ids, shared_info,
//! the scheduler's run queue) and, on destruction, returns every frame.

use super::Domain;
use crate::arch::x86_64::paging::DirectMap;
use crate::hv::Hypervisor;
use crate::mm::{DomId, Errno, Mfn, PageType};
use crate::sched;
use crate::scheduler::{SchedParams, VcpuRef};
use crate::shared::SharedInfoPage;
use alloc::vec::Vec;
use xen_abi::domid::DOMID_FIRST_RESERVED;

/// vCPUs per domain for now (one pCPU; documented in docs/abi.md).
pub const MAX_VCPUS: u32 = 1;

/// A new, empty, paused PV domain with `nr_vcpus` offline vCPUs and its shared_info page.
pub fn create(hv: &mut Hypervisor, nr_vcpus: u32, handle: [u8; 16]) -> Result<DomId, Errno> {
    if nr_vcpus == 0 || nr_vcpus > MAX_VCPUS {
        return Err(Errno::EINVAL);
    }
    let id = next_free_domid(hv).ok_or(Errno::ENOMEM)?;
    let shared_info = hv.alloc.alloc().ok_or(Errno::ENOMEM)?;
    DirectMap::zero(shared_info);
    let shared_ok = hv.frames.assign(shared_info, id).and_then(|()| {
        // Written by the hypervisor behind the guest's back: never a page table (as Dom0's).
        hv.with_paging(|p| p.get_page_and_type(id, shared_info, PageType::Writable))
    });
    if let Err(e) = shared_ok {
        let _ = hv.free_frame(shared_info);
        return Err(e);
    }
    let shared = SharedInfoPage(shared_info);
    for v in 0..nr_vcpus {
        shared.set_upcall_mask(v, true); // no upcalls until the guest has a callback and unmasks
    }
    shared.write_wallclock(crate::time::boot_wallclock(), 0);

    let now = sched::now();
    for v in 0..nr_vcpus {
        if hv.scheduler.add_vcpu(VcpuRef::new(id, v), SchedParams::default(), now).is_err() {
            for undo in 0..v {
                let _ = hv.scheduler.remove_vcpu(VcpuRef::new(id, undo), now);
            }
            hv.with_paging(|p| p.put_page_and_type(shared_info));
            let _ = hv.free_frame(shared_info);
            return Err(Errno::EINVAL);
        }
    }
    let mut dom = Domain::new(id, "", false, shared_info, nr_vcpus);
    dom.controller_pause_count = 1; // Xen creates domains paused by the controller
    dom.handle = handle;
    hv.domains.push(dom);
    hv.next_domid = if id + 1 >= DOMID_FIRST_RESERVED { 1 } else { id + 1 };
    log::info!("d{id}: created at {now} ns ({nr_vcpus} vCPU, paused)");
    Ok(id)
}

/// The next id after the last one handed out that no live domain holds and no orphaned
/// frame still names (so a stale reference can never reach a new domain).
fn next_free_domid(hv: &Hypervisor) -> Option<DomId> {
    let span = DOMID_FIRST_RESERVED - 1;
    (0..span).map(|i| 1 + (hv.next_domid - 1 + i) % span).find(|&id| {
        hv.domain_index(id).is_none()
            && !hv.orphan_frames.iter().any(|&m| hv.frames.get(m).is_some_and(|info| info.owner == Some(id)))
    })
}

/// Tear down domain index `d` and give back all of its memory. A frame another domain still
/// maps (Dom0's foreign mapping) is freed when that mapping goes.
pub fn destroy(hv: &mut Hypervisor, d: usize) -> Result<(), Errno> {
    if d == hv.current.0 || hv.domains[d].privileged {
        return Err(Errno::EINVAL);
    }
    let id = hv.domains[d].id;
    let now = sched::now();
    // Close its channels first: every peer goes back to unbound instead of pointing at a
    // domain that no longer exists.
    crate::event::interdomain::close_all(hv.domains.as_mut_slice(), id);
    for v in 0..hv.domains[d].vcpus.len() {
        let answer = hv.scheduler.remove_vcpu(VcpuRef::new(id, v as u32), now);
        sched::apply(hv, answer);
        hv.release_vcpu_tables(d, v);
    }
    let frames: Vec<Mfn> = hv.frames.owned_frames(id).collect();
    hv.with_paging(|p| p.relinquish(id, &frames));
    crate::grant::glue::release_domain(hv, d);
    let shared_info = hv.domains[d].shared_info;
    hv.with_paging(|p| p.put_page_and_type(shared_info));
    let mut still_mapped = 0;
    for &mfn in &frames {
        if hv.free_frame(mfn).is_err() {
            hv.frames.orphan(mfn);
            hv.orphan_frames.push(mfn);
            still_mapped += 1;
        }
    }
    hv.domains.remove(d);
    if hv.current.0 > d {
        hv.current.0 -= 1;
    }
    log::info!(
        "d{id}: destroyed in {} ns, {} frames returned, {still_mapped} held by other mappings",
        sched::now() - now,
        frames.len() - still_mapped
    );
    sched::notify_dom0_of_domain_change(hv);
    Ok(())
}

/// Free orphaned frames whose last foreign mapping has gone (after page-table updates).
pub fn reap_orphans(hv: &mut Hypervisor) {
    if hv.orphan_frames.is_empty() {
        return;
    }
    let mut orphans = core::mem::take(&mut hv.orphan_frames);
    orphans.retain(|&mfn| {
        if hv.frames.reap(mfn) {
            hv.set_m2p(mfn, u64::MAX);
            let _ = hv.alloc.free(mfn);
            false
        } else {
            true
        }
    });
    hv.orphan_frames = orphans;
}
