//! Event channels from the guest side: the upcall handler (Xen's 2-level scan: clear
//! `upcall_pending`, swap the selector, handle pending & !masked, clearing each bit first),
//! VIRQ binding, inter-domain channels (allocate, bind, notify, close, status, reset), port
//! masks, `SCHEDOP_poll`, and a race-free way to sleep until something happened.

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use xen_abi::domid::{DomId, DOMID_SELF};
use xen_abi::event::*;
use xen_abi::sched::{SchedPoll, SCHEDOP_POLL};

/// Ports that fired since their owner last looked (ports 0..4095, one bit each).
static FIRED: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
/// Upcalls handled, for tests and statistics.
pub static UPCALLS: AtomicU64 = AtomicU64::new(0);

fn vcpu0() -> *mut xen_abi::shared_info::VcpuInfo {
    // SAFETY: only the address is computed; shared_info is mapped for the guest's life.
    unsafe { core::ptr::addr_of_mut!((*crate::start::shared_info()).vcpu_info[0]) }
}

fn mask_byte() -> &'static AtomicU8 {
    // SAFETY: the mask byte of our vcpu_info, a byte-sized field in a mapped page.
    unsafe { AtomicU8::from_ptr(core::ptr::addr_of_mut!((*vcpu0()).evtchn_upcall_mask)) }
}

fn pending_byte() -> &'static AtomicU8 {
    // SAFETY: as for `mask_byte`.
    unsafe { AtomicU8::from_ptr(core::ptr::addr_of_mut!((*vcpu0()).evtchn_upcall_pending)) }
}

fn word(base: *mut u64, i: usize) -> &'static AtomicU64 {
    // SAFETY: `base` points at one of the 64-word bitmaps of shared_info; i < 64.
    unsafe { AtomicU64::from_ptr(base.add(i)) }
}

/// CR2 as Xen reported it for the last page fault.
pub fn cr2() -> u64 {
    // SAFETY: plain read of a mapped field.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*vcpu0()).arch.cr2)) }
}

/// Called from the event-callback entry with events masked.
pub fn handle_upcall() {
    UPCALLS.fetch_add(1, Ordering::Relaxed);
    let (pending, mask) = (pending_bitmap(), mask_bitmap());
    // SAFETY: our vcpu_info's selector word, 8-aligned in the mapped shared_info page.
    let sel = unsafe { AtomicU64::from_ptr(core::ptr::addr_of_mut!((*vcpu0()).evtchn_pending_sel)) };
    pending_byte().store(0, Ordering::SeqCst);
    let mut selector = sel.swap(0, Ordering::SeqCst);
    while selector != 0 {
        let w = selector.trailing_zeros() as usize;
        selector &= selector - 1;
        let mut bits = word(pending, w).load(Ordering::SeqCst) & !word(mask, w).load(Ordering::SeqCst);
        while bits != 0 {
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            word(pending, w).fetch_and(!(1 << b), Ordering::SeqCst);
            FIRED[w].fetch_or(1 << b, Ordering::SeqCst);
        }
    }
}

/// Bind a VIRQ on vCPU 0 and return its port.
pub fn bind_virq(virq: u32) -> Result<u32, i64> {
    let mut req = EvtchnBindVirq { virq, vcpu: 0, port: 0 };
    match crate::hypercall::event_channel_op(EVTCHNOP_BIND_VIRQ, &mut req) {
        0 => Ok(req.port),
        e => Err(e),
    }
}

/// `EVTCHNOP_alloc_unbound` for ourselves: a new port that domain `remote` may bind to
/// (`DOMID_SELF` for a loopback channel).
pub fn alloc_unbound(remote: DomId) -> Result<u32, i64> {
    alloc_unbound_in(DOMID_SELF, remote)
}

/// `EVTCHNOP_alloc_unbound` in domain `dom` (another domain's table: privileged callers only).
pub fn alloc_unbound_in(dom: DomId, remote: DomId) -> Result<u32, i64> {
    let mut req = EvtchnAllocUnbound { dom, remote_dom: remote, port: 0 };
    match crate::hypercall::event_channel_op(EVTCHNOP_ALLOC_UNBOUND, &mut req) {
        0 => Ok(req.port),
        e => Err(e),
    }
}

/// `EVTCHNOP_bind_interdomain`: connect a new local port to `remote_port` of `remote_dom`,
/// which must have been allocated unbound for us. The new port starts pending (as on Xen).
pub fn bind_interdomain(remote_dom: DomId, remote_port: u32) -> Result<u32, i64> {
    let mut req = EvtchnBindInterdomain { remote_dom, _pad: 0, remote_port, local_port: 0 };
    match crate::hypercall::event_channel_op(EVTCHNOP_BIND_INTERDOMAIN, &mut req) {
        0 => Ok(req.local_port),
        e => Err(e),
    }
}

/// `EVTCHNOP_send`: notify the other end of `port` (an IPI port notifies ourselves).
pub fn notify(port: u32) -> i64 {
    crate::hypercall::event_channel_op(EVTCHNOP_SEND, &mut EvtchnSend { port })
}

/// `EVTCHNOP_close`.
pub fn close(port: u32) -> i64 {
    crate::hypercall::event_channel_op(EVTCHNOP_CLOSE, &mut EvtchnClose { port })
}

/// `EVTCHNOP_unmask`: clear the port's mask bit; the hypervisor raises the upcall if the port
/// was pending meanwhile.
pub fn unmask(port: u32) -> i64 {
    crate::hypercall::event_channel_op(EVTCHNOP_UNMASK, &mut EvtchnUnmask { port })
}

/// `EVTCHNOP_reset`: close every port of `dom` (`DOMID_SELF`, or any domain when privileged).
pub fn reset(dom: DomId) -> i64 {
    crate::hypercall::event_channel_op(EVTCHNOP_RESET, &mut EvtchnReset { dom })
}

/// `EVTCHNOP_status` of `port` of `dom` (`DOMID_SELF` for ours).
pub fn status(dom: DomId, port: u32) -> Result<EvtchnStatus, i64> {
    let mut req = EvtchnStatus { dom, port, ..Default::default() };
    match crate::hypercall::event_channel_op(EVTCHNOP_STATUS, &mut req) {
        0 => Ok(req),
        e => Err(e),
    }
}

/// `SCHEDOP_poll`: sleep until one of `ports` is pending or the absolute system time
/// `timeout_abs_ns` passes (0: no timeout). Returns at once if one is pending already.
pub fn poll(ports: &[u32], timeout_abs_ns: u64) -> i64 {
    let nr_ports = u32::try_from(ports.len()).unwrap_or(u32::MAX);
    let req = SchedPoll { ports: ports.as_ptr() as u64, nr_ports, _pad: 0, timeout: timeout_abs_ns };
    crate::hypercall::sched_op(SCHEDOP_POLL, &req)
}

/// The word of a shared_info port bitmap (`evtchn_pending` or `evtchn_mask`) holding `port`,
/// and the port's bit in it.
fn port_bit(bitmap: *mut u64, port: u32) -> (&'static AtomicU64, u64) {
    (word(bitmap, (port / 64) as usize % 64), 1 << (port % 64))
}

fn pending_bitmap() -> *mut u64 {
    // SAFETY: only the address of the bitmap inside the mapped shared_info page is computed.
    unsafe { core::ptr::addr_of_mut!((*crate::start::shared_info()).evtchn_pending) as *mut u64 }
}

fn mask_bitmap() -> *mut u64 {
    // SAFETY: as for `pending_bitmap`.
    unsafe { core::ptr::addr_of_mut!((*crate::start::shared_info()).evtchn_mask) as *mut u64 }
}

/// Mask `port`: it may still become pending, but raises no upcall until unmasked. Guests
/// set the bit themselves; there is no hypercall for it.
pub fn mask(port: u32) {
    let (w, bit) = port_bit(mask_bitmap(), port);
    w.fetch_or(bit, Ordering::SeqCst);
}

/// Whether `port`'s pending bit is set in shared_info (not yet taken by the upcall handler).
pub fn is_pending(port: u32) -> bool {
    let (w, bit) = port_bit(pending_bitmap(), port);
    w.load(Ordering::SeqCst) & bit != 0
}

/// Whether `port` fired since the last call (clears the record).
pub fn take(port: u32) -> bool {
    let bit = 1u64 << (port % 64);
    FIRED[(port / 64) as usize % 64].fetch_and(!bit, Ordering::SeqCst) & bit != 0
}

/// Whether upcalls are masked right now (`vcpu_info.evtchn_upcall_mask`).
pub fn masked() -> bool {
    mask_byte().load(Ordering::SeqCst) != 0
}

/// Enable upcalls, and take any that arrived while they were masked.
pub fn unmask_events() {
    mask_byte().store(0, Ordering::SeqCst);
    if pending_byte().load(Ordering::SeqCst) != 0 {
        // Any hypercall returns through the hypervisor's event check.
        crate::hypercall::xen_version::<()>(xen_abi::version::XENVER_VERSION, None);
    }
}

/// Sleep until `ready()` holds. Events are masked while `ready` is checked, and
/// `SCHEDOP_block` unmasks and sleeps as one step, so no event can slip between the two.
pub fn wait_until(mut ready: impl FnMut() -> bool) {
    loop {
        mask_byte().store(1, Ordering::SeqCst);
        if ready() {
            unmask_events();
            return;
        }
        crate::hypercall::sched_block();
    }
}

/// Start taking upcalls (the hypervisor starts us with them masked).
pub fn init() {
    unmask_events();
}
