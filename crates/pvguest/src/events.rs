//! Event channels from the guest side: the upcall handler (Xen's 2-level scan: clear
//! `upcall_pending`, swap the selector, handle pending & !masked, clearing each bit first),
//! VIRQ binding, and a race-free way to sleep until something happened.

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use xen_abi::event::{EvtchnBindVirq, EVTCHNOP_BIND_VIRQ};

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
    let si = crate::start::shared_info();
    // SAFETY: addresses of the bitmaps inside the mapped shared_info page.
    let (pending, mask, sel) = unsafe {
        (
            core::ptr::addr_of_mut!((*si).evtchn_pending) as *mut u64,
            core::ptr::addr_of_mut!((*si).evtchn_mask) as *mut u64,
            AtomicU64::from_ptr(core::ptr::addr_of_mut!((*vcpu0()).evtchn_pending_sel)),
        )
    };
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
