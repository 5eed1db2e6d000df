//! `XENMEM_{populate_physmap, increase_reservation, decrease_reservation}`: giving frames to a
//! domain and taking them back. A domain may change its own reservation; a privileged one may
//! also populate another (the domain builder does, for a domain it is creating).

use crate::arch::x86_64::paging::DirectMap;
use crate::hv::Hypervisor;
use crate::mm::{Errno, Mfn};
use xen_abi::mm::*;

/// The 8 low bits of `mem_flags` are `address_bits` (a limit for DMA-able memory): accepted
/// and not honoured, as every frame here is below 4 PiB anyway. No other flag is supported.
const ADDRESS_BITS_MASK: u32 = 0xff;

/// The domain index a reservation names: the caller's own, or (privileged callers only)
/// another domain.
pub fn target_domain(hv: &Hypervisor, domid: u16) -> Result<usize, Errno> {
    let d = hv.resolve_domid(u64::from(domid))?;
    if d != hv.current.0 && !hv.domains[hv.current.0].privileged {
        return Err(Errno::EPERM);
    }
    Ok(d)
}

/// Run one reservation op from extent `start` (the restart point Xen encodes above the
/// command bits). Returns how many extents are done in total, as Xen does: a short count means
/// the domain hit its limit or the host ran out of memory.
pub fn reservation(hv: &mut Hypervisor, op: u32, start: u64, arg: u64) -> Result<i64, Errno> {
    let req: XenMemoryReservation = hv.read_guest(arg)?;
    let d = target_domain(hv, req.domid)?;
    if req.extent_order != 0 || req.mem_flags & !ADDRESS_BITS_MASK != 0 || start > req.nr_extents {
        return Err(Errno::EINVAL);
    }
    if hv.domains[d].shutdown.is_some() {
        return Err(Errno::EINVAL); // a dying or stopped domain gets no new memory
    }
    let mut done = start;
    while done < req.nr_extents {
        let slot = req.extent_start.wrapping_add(done * 8);
        let result = match op {
            XENMEM_POPULATE_PHYSMAP => {
                let gpfn: u64 = hv.read_guest(slot)?;
                give_frame(hv, d, Some(gpfn)).and_then(|mfn| hv.write_guest(slot, &mfn.0))
            }
            XENMEM_INCREASE_RESERVATION => give_frame(hv, d, None).and_then(|mfn| {
                if req.extent_start == 0 {
                    Ok(())
                } else {
                    hv.write_guest(slot, &mfn.0)
                }
            }),
            _ => {
                let mfn: u64 = hv.read_guest(slot)?;
                take_frame(hv, d, Mfn(mfn))
            }
        };
        if let Err(e) = result {
            if done == start {
                // Nothing happened: say why rather than "0 done".
                return if e == Errno::ENOMEM { Ok(done as i64) } else { Err(e) };
            }
            break;
        }
        done += 1;
    }
    Ok(done as i64)
}

/// Allocate a zeroed frame to domain `d` (within its `max_pages`), recording `M2P[mfn] = gpfn`.
fn give_frame(hv: &mut Hypervisor, d: usize, gpfn: Option<u64>) -> Result<Mfn, Errno> {
    let dom = &hv.domains[d];
    if dom.tot_pages >= dom.max_pages {
        return Err(Errno::ENOMEM);
    }
    let id = dom.id;
    let mfn = hv.alloc.alloc().ok_or(Errno::ENOMEM)?;
    // Never hand out what a previous owner left in the frame.
    DirectMap::zero(mfn);
    if let Err(e) = hv.frames.assign(mfn, id) {
        let _ = hv.alloc.free(mfn);
        return Err(e);
    }
    hv.set_m2p(mfn, gpfn.unwrap_or(u64::MAX));
    hv.domains[d].tot_pages += 1;
    Ok(mfn)
}

/// Take back a frame of domain `d` that nothing uses any more (no mapping, type or pin).
fn take_frame(hv: &mut Hypervisor, d: usize, mfn: Mfn) -> Result<(), Errno> {
    if !hv.frames.owned_by(mfn, hv.domains[d].id) || mfn == hv.domains[d].shared_info {
        return Err(Errno::EINVAL);
    }
    hv.free_frame(mfn)?;
    hv.domains[d].tot_pages = hv.domains[d].tot_pages.saturating_sub(1);
    Ok(())
}
