//! Inter-domain event channels through real hypercalls, on a loopback channel (both ends in
//! this domain): allocate and bind, send both ways with the upcall observed, close one end and
//! see the other unbound, `SCHEDOP_poll` on pending and quiet ports, unmask, the 4096-port
//! limit and `EVTCHNOP_reset`, and hostile arguments refused.
#![no_std]
#![no_main]

use core::sync::atomic::Ordering;
use pvguest::{events, hypercall, time};
use test_guests::Report;
use xen_abi::domid::{DomId, DOMID_FIRST_RESERVED, DOMID_IO, DOMID_SELF};
use xen_abi::errno::{EFAULT, EINVAL, ENOSPC, ENOSYS, EPERM, ESRCH};
use xen_abi::event::*;
use xen_abi::start_info::{StartInfo, SIF_PRIVILEGED};

/// Longest an event may take to arrive before it counts as lost, even under slow emulation.
const EVENT_WAIT_NS: u64 = 1_000_000_000;
/// How long the poll on a quiet port waits.
const QUIET_POLL_NS: u64 = 20_000_000;
/// A domain id no domain has (ids count up from 1 and test guests are few).
const NO_SUCH_DOMAIN: DomId = DOMID_FIRST_RESERVED - 1;
/// The ports the hostile checks use: reserved port 0, the last 2-level port (never allocated
/// at that point), the first port past the ABI's limit, and the largest number.
const BAD_PORTS: [u32; 4] = [0, EVTCHN_2L_NR_CHANNELS - 1, EVTCHN_2L_NR_CHANNELS, u32::MAX];

/// Whether the upcall handler saw `port` fire within [`EVENT_WAIT_NS`]. The poll returns as
/// soon as the port is pending, and the upcall is delivered on the way back from it.
fn fired(port: u32) -> bool {
    let deadline = time::now_ns() + EVENT_WAIT_NS;
    loop {
        if events::take(port) {
            return true;
        }
        if time::now_ns() >= deadline {
            return false;
        }
        events::poll(&[port], deadline);
    }
}

/// `(status, u)` of one of our ports, or the error as the status.
fn state(port: u32) -> (i64, [u32; 2]) {
    match events::status(DOMID_SELF, port) {
        Ok(s) => (i64::from(s.status), s.u),
        Err(rc) => (rc, [0; 2]),
    }
}

#[no_mangle]
fn guest_main(si: &'static StartInfo) -> ! {
    let mut r = Report::new("tg-evtchn");

    // A loopback channel: a port waiting for ourselves, and our own binding to it.
    let a = match events::alloc_unbound(DOMID_SELF) {
        Ok(p) => p,
        Err(rc) => {
            r.error("alloc_unbound(DOMID_SELF)", format_args!("error {rc}"));
            r.finish()
        }
    };
    let (st, u) = state(a);
    let me = u[0] as DomId;
    r.check(
        "alloc_unbound(DOMID_SELF) is unbound, waiting for our domid",
        st == i64::from(EVTCHNSTAT_UNBOUND) && me != 0 && me < DOMID_FIRST_RESERVED,
        format_args!("port {a}: status {st}, remote d{me}"),
    );
    let b = match events::bind_interdomain(DOMID_SELF, a) {
        Ok(p) => p,
        Err(rc) => {
            r.error("bind_interdomain(DOMID_SELF, a)", format_args!("error {rc}"));
            r.finish()
        }
    };
    let ends = (state(a), state(b));
    let want = |peer: u32| (i64::from(EVTCHNSTAT_INTERDOMAIN), [u32::from(me), peer]);
    r.check(
        "both ends report interdomain, each naming the other",
        b != a && ends == (want(b), want(a)),
        format_args!("ports {a} and {b}: {ends:?}"),
    );
    r.check("the newly bound port starts pending (as Xen)", fired(b), format_args!("port {b}"));

    let upcalls = events::UPCALLS.load(Ordering::SeqCst);
    let rc = events::notify(a);
    r.check("send on one end fires the other", rc == 0 && fired(b), format_args!("send({a}) = {rc}"));
    let rc = events::notify(b);
    r.check("and back", rc == 0 && fired(a), format_args!("send({b}) = {rc}"));
    let seen = events::UPCALLS.load(Ordering::SeqCst) - upcalls;
    r.check("each event arrived through an upcall", seen >= 2, format_args!("{seen} upcalls"));

    // Unbound ports: sends are dropped, and only the named domain may bind.
    let for_dom0 = match events::alloc_unbound(0) {
        Ok(p) => p,
        Err(rc) => {
            r.error("alloc_unbound(0)", format_args!("error {rc}"));
            r.finish()
        }
    };
    let rc = events::notify(for_dom0);
    r.check(
        "send on an unbound port is dropped silently",
        rc == 0 && !events::is_pending(for_dom0),
        format_args!("send = {rc}, pending {}", events::is_pending(for_dom0)),
    );
    let rc = events::bind_interdomain(DOMID_SELF, for_dom0);
    r.check("binding to a port unbound for Dom0 is refused", rc == Err(-EINVAL), format_args!("{rc:?}"));
    let rc = events::bind_interdomain(DOMID_SELF, a);
    r.check("binding to a connected port is refused", rc == Err(-EINVAL), format_args!("{rc:?}"));

    // Closing one end leaves the other waiting for us again.
    let rc = events::close(a);
    let (sa, sb) = (state(a), state(b));
    r.check(
        "close one end: it is closed, the other unbound for us",
        rc == 0 && sa.0 == i64::from(EVTCHNSTAT_CLOSED) && sb == (i64::from(EVTCHNSTAT_UNBOUND), [u32::from(me), 0]),
        format_args!("close = {rc}; port {a}: {sa:?}; port {b}: {sb:?}"),
    );
    let rc = events::notify(b);
    r.check("send on the surviving (now unbound) end is dropped", rc == 0, format_args!("send = {rc}"));
    let rc = events::close(a);
    r.check("closing it twice is refused", rc == -EINVAL, format_args!("close = {rc}"));
    let a = match events::bind_interdomain(me, b) {
        Ok(p) => {
            r.check("the surviving end binds again (by our own domid)", state(b) == want(p), format_args!("new port {p}"));
            let _ = fired(p); // starts pending
            p
        }
        Err(rc) => {
            r.error("rebinding the surviving end", format_args!("error {rc}"));
            r.finish()
        }
    };

    // SCHEDOP_poll: a pending port (masked, so no upcall takes it) returns at once; a quiet
    // one sleeps until the timeout.
    events::mask(b);
    let rc = events::notify(a);
    let quiet = match events::alloc_unbound(DOMID_SELF) {
        Ok(p) => p,
        Err(rc) => {
            r.error("alloc_unbound for the quiet port", format_args!("error {rc}"));
            r.finish()
        }
    };
    let t0 = time::now_ns();
    let polled = events::poll(&[quiet, b], t0 + 10 * EVENT_WAIT_NS);
    let took = time::now_ns() - t0;
    r.check(
        "poll on a pending (masked) port returns at once",
        rc == 0 && polled == 0 && took < EVENT_WAIT_NS,
        format_args!("send = {rc}, poll = {polled} after {} us", took / 1000),
    );
    let t0 = time::now_ns();
    let polled = events::poll(&[quiet], t0 + QUIET_POLL_NS);
    let took = time::now_ns() - t0;
    r.check(
        "poll on a quiet port sleeps until its timeout",
        polled == 0 && took + 100_000 >= QUIET_POLL_NS && took < QUIET_POLL_NS + EVENT_WAIT_NS,
        format_args!("poll = {polled} after {} us (timeout {} us)", took / 1000, QUIET_POLL_NS / 1000),
    );
    let rc = events::unmask(b);
    r.check("unmasking the pending port delivers its event", rc == 0 && fired(b), format_args!("unmask = {rc}"));

    // Hostile arguments.
    for port in BAD_PORTS {
        let (send, close, unmask) = (events::notify(port), events::close(port), events::unmask(port));
        r.check(
            "send/close/unmask on a port we do not hold are refused",
            (send, close, unmask) == (-EINVAL, -EINVAL, -EINVAL),
            format_args!("port {port}: send {send}, close {close}, unmask {unmask}"),
        );
    }
    let statuses = BAD_PORTS.map(|p| state(p).0);
    let closed = i64::from(EVTCHNSTAT_CLOSED);
    r.check(
        "status: ports below 4096 not held are closed, ports past it refused",
        statuses == [closed, closed, -EINVAL, -EINVAL],
        format_args!("{BAD_PORTS:?} -> {statuses:?}"),
    );
    match events::bind_virq(VIRQ_TIMER) {
        Ok(virq) => {
            let rc = events::notify(virq);
            r.check("send on a VIRQ port is refused", rc == -EINVAL, format_args!("port {virq}: send {rc}"));
        }
        Err(rc) => r.error("bind VIRQ_TIMER", format_args!("error {rc}")),
    }
    let rc = events::bind_interdomain(0, 1);
    r.check("binding to Dom0's port 1 (not unbound for us) is refused", rc == Err(-EINVAL), format_args!("{rc:?}"));
    for port in [0, EVTCHN_2L_NR_CHANNELS, u32::MAX] {
        let rc = events::bind_interdomain(DOMID_SELF, port);
        r.check("binding to a port out of range is refused", rc == Err(-EINVAL), format_args!("port {port}: {rc:?}"));
    }
    for dom in [NO_SUCH_DOMAIN, DOMID_IO] {
        let bind = events::bind_interdomain(dom, 1);
        let alloc = events::alloc_unbound_in(dom, DOMID_SELF);
        let reset = events::reset(dom);
        r.check(
            "a domain that does not exist: -ESRCH",
            bind == Err(-ESRCH) && alloc == Err(-ESRCH) && reset == -ESRCH,
            format_args!("d{dom:#x}: bind {bind:?}, alloc_unbound {alloc:?}, reset {reset}"),
        );
    }
    if si.flags & SIF_PRIVILEGED != 0 {
        r.skip("another domain's ports refused", format_args!("running privileged"));
    } else {
        let alloc = events::alloc_unbound_in(0, DOMID_SELF);
        let reset = events::reset(0);
        let status = events::status(0, 1).map(|s| s.status);
        r.check(
            "another domain's ports: alloc_unbound, reset and status are -EPERM",
            alloc == Err(-EPERM) && reset == -EPERM && status == Err(-EPERM),
            format_args!("alloc_unbound {alloc:?}, reset {reset}, status {status:?}"),
        );
    }
    let too_many = [b; 129];
    let rc = events::poll(&too_many, 0);
    r.check("poll on more than 128 ports is refused", rc == -EINVAL, format_args!("poll = {rc}"));
    let rc = events::poll(&[EVTCHN_2L_NR_CHANNELS], 0);
    r.check("poll on a port past the table is refused", rc == -EINVAL, format_args!("poll = {rc}"));
    let null = hypercall::raw(xen_abi::hypercall::nr::EVENT_CHANNEL_OP, [u64::from(EVTCHNOP_SEND), 0, 0, 0, 0]);
    let hv_memory = hypercall::raw(xen_abi::hypercall::nr::EVENT_CHANNEL_OP, [u64::from(EVTCHNOP_ALLOC_UNBOUND), 0xffff_8000_0000_0000, 0, 0, 0]);
    r.check(
        "argument pointers to nothing or to the hypervisor: -EFAULT",
        null == -EFAULT && hv_memory == -EFAULT,
        format_args!("null {null}, hypervisor area {hv_memory}"),
    );
    let rc = hypercall::raw(xen_abi::hypercall::nr::EVENT_CHANNEL_OP, [99, 0, 0, 0, 0]);
    r.check("unknown event_channel_op command: -ENOSYS", rc == -ENOSYS, format_args!("got {rc}"));

    // Fill the table, then reset it.
    let mut allocated = 0u32;
    let full = loop {
        match events::alloc_unbound(DOMID_SELF) {
            Ok(_) => allocated += 1,
            Err(rc) => break rc,
        }
    };
    let last = state(EVTCHN_2L_NR_CHANNELS - 1).0;
    r.check(
        "ports run out at 4096 with -ENOSPC",
        full == -ENOSPC && last == i64::from(EVTCHNSTAT_UNBOUND),
        format_args!("{allocated} more allocated, then {full}; port 4095 status {last}"),
    );
    let rc = events::reset(DOMID_SELF);
    let held = [a, b, quiet, for_dom0, EVTCHN_2L_NR_CHANNELS - 1].map(|p| state(p).0);
    r.check(
        "reset closes every port",
        rc == 0 && held.iter().all(|&s| s == closed),
        format_args!("reset = {rc}; statuses {held:?}"),
    );
    let first = events::alloc_unbound(DOMID_SELF);
    r.check("after reset the first port handed out is 1 (0 stays reserved)", first == Ok(1), format_args!("{first:?}"));

    r.finish()
}
