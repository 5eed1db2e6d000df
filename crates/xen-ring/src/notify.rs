//! The notification protocol both ends of a request/response ring follow
//! (`ring.h`): a producer publishes its index and notifies only if the
//! peer's event threshold was crossed; a consumer about to sleep sets its
//! threshold to "the next entry" and looks once more.  The ends differ only
//! in which header words they use, so the logic lives here once.

use core::sync::atomic::{fence, Ordering};

use xen_abi::ring::{need_notify, RingIdx};

use crate::{RingError, RingMemory};

/// Publishes `new` as the producer index at `prod` and says whether the
/// peer asked (through the event index at `event`) to be notified of the
/// entries between the old producer index and `new` (C
/// `RING_PUSH_{REQUESTS,RESPONSES}_AND_CHECK_NOTIFY`).
pub(crate) fn publish_and_check_notify<M: RingMemory>(
    mem: &M,
    prod: usize,
    event: usize,
    new: RingIdx,
) -> Result<bool, RingError> {
    let old = mem.load_u32(prod)?;
    // wmb(): the entries must be visible before the index.
    fence(Ordering::Release);
    mem.store_u32(prod, new)?;
    // mb(): the new index must be visible before the event index is read,
    // or a peer going to sleep could be missed.
    fence(Ordering::SeqCst);
    let threshold = mem.load_u32(event)?;
    Ok(need_notify(old, new, threshold))
}

/// Whether `unconsumed` reports entries waiting; if none, first asks the
/// peer to notify on the next one (event index at `event` set to
/// `cons + 1`) and checks again, closing the race with an entry published
/// meanwhile (C `RING_FINAL_CHECK_FOR_{REQUESTS,RESPONSES}`).  `between`
/// runs after the event index is written and before the recheck, so tests
/// can place the peer's actions inside that window.
pub(crate) fn final_check<M: RingMemory>(
    mem: &M,
    event: usize,
    cons: RingIdx,
    unconsumed: impl Fn() -> Result<u32, RingError>,
    between: impl FnOnce(),
) -> Result<bool, RingError> {
    if unconsumed()? > 0 {
        return Ok(true);
    }
    mem.store_u32(event, cons.wrapping_add(1))?;
    // mb(): the event index must be visible before the producer index is
    // read again.
    fence(Ordering::SeqCst);
    between();
    Ok(unconsumed()? > 0)
}
