//! `vping-front count=N [hostile]`: connects to `device/vping/0` (waiting for the toolstack to
//! attach it), then
//! - N strict round trips (one `PING` outstanding, a notification every time, the answer
//!   awaited by blocking on the port);
//! - the grant test: a data page granted read-write, mapped and written by the back end,
//!   checked, refused revocation while mapped, unmapped, revoked, and maps of the revoked and
//!   of a never-made reference refused;
//! - the baselines of the bench: a null hypercall, and a `sched_yield` ping-pong with the back
//!   end (two hypercalls and two context switches per round);
//!
//! or, with `hostile`, garbage in the shared ring instead, checking that the back end drops
//! the device. Then it closes the device, prints `vping-front: done, F failures`, and idles
//! until a power request.

use super::{Phase, TimedOut};
use crate::pages::{OwnPage, PAGE_WORDS};
use crate::power::Power;
use alloc::string::ToString;
use core::fmt;
use domu_kernel::vping_proto::{self as proto, Counters, Op, Request, Response, DEVICE_CLASS, KEY_EVENT_CHANNEL, KEY_RING_REF, RING_SLOTS};
use pvguest::grant::{self, GrantError};
use pvguest::xenbus::{Device, Progress};
use pvguest::{events, hypercall, println, time, xenstore};
use xen_abi::domid::DomId;
use xen_abi::grant_table::GrantRef;
use xen_abi::ring::SringHeader;
use xen_ring::{FrontRing, PageMemory, RingError, RingMemory};
use xenbus::path::join;
use xenbus::{DeviceClass, Link, XenbusState, XenbusStore, XsError};

const NS_PER_S: u64 = 1_000_000_000;
/// Iterations of each baseline.
const BASELINE_ITERATIONS: u64 = 1000;
/// A reference never granted: beyond any grant table a guest of this project sets up.
const UNKNOWN_GREF: GrantRef = 0x00ff_fff0;
/// Bound on a phase of single requests (a back end that stops answering must not hang us).
const CALL_TIMEOUT_NS: u64 = 30 * NS_PER_S;
/// Extra allowance per round trip (or yield) of a long phase, far above what emulation needs.
const PER_ROUND_TRIP_NS: u64 = 10_000_000;
/// How long the back end has to drop a device whose ring we broke.
const HOSTILE_TIMEOUT_NS: u64 = 30 * NS_PER_S;
/// Token of our watch on `device` while waiting to be attached.
const DEVICES_TOKEN: &str = "vping-front/devices";

/// Failures so far, each reported as it happens.
#[derive(Default)]
struct Tally {
    failures: u32,
}

impl Tally {
    fn fail(&mut self, what: fmt::Arguments) {
        println!("vping-front: FAILED: {what}");
        self.failures += 1;
    }
}

pub fn run(round_trips: u64, hostile: bool, power: &Power) -> ! {
    let mut tally = Tally::default();
    match grant::init(1) {
        Ok(()) => {
            let dev = find_device(power);
            let mut front = Frontend::default();
            if connect(&dev, &mut front, power, &mut tally) {
                let backend = dev.link().other_domid;
                println!("vping-front: connected to back end in domain {backend}");
                if hostile {
                    break_ring(&dev, &mut front, power, &mut tally);
                } else if ping_pong(&mut front, round_trips, power, &mut tally) {
                    grant_test(&mut front, backend, power, &mut tally);
                    baseline(&mut front, power, &mut tally);
                }
            }
            close(dev, &mut front, power, &mut tally);
        }
        Err(rc) => tally.fail(format_args!("cannot set up our grant table (error {rc})")),
    }
    println!("vping-front: done, {} failures", tally.failures);
    crate::sleep::until_power_request(power)
}

/// Our first `vping` device, once the toolstack has written its nodes.
fn find_device(power: &Power) -> Device {
    println!("vping-front: waiting for device/{DEVICE_CLASS}/");
    if let Err(e) = xenstore::watch("device", DEVICES_TOKEN) {
        println!("vping-front: cannot watch device ({e}); idling");
        crate::sleep::until_power_request(power);
    }
    let phase = Phase::unbounded(power);
    loop {
        while xenstore::take_watch_event_for(DEVICES_TOKEN).is_some() {}
        if let Some(&devid) = pvguest::xenbus::find_devices(DEVICE_CLASS).first() {
            match Device::frontend(DEVICE_CLASS, devid) {
                Ok(dev) => {
                    let _ = xenstore::unwatch("device", DEVICES_TOKEN);
                    return dev;
                }
                // The toolstack has not written every node yet.
                Err(XsError::ENOENT) => {}
                Err(e) => println!("vping-front: device/{DEVICE_CLASS}/{devid} is not usable ({e})"),
            }
        }
        let _ = phase.wait(|| xenstore::has_watch_event_for(DEVICES_TOKEN));
    }
}

/// Run the handshake to Connected; `false` (a failure reported) if it cannot get there.
fn connect(dev: &Device, front: &mut Frontend, power: &Power, tally: &mut Tally) -> bool {
    loop {
        match dev.wait_connected(front, || power.pending()) {
            Ok(Progress::Connected) => return true,
            Ok(Progress::Closed) => tally.fail(format_args!("the back end closed the device before connecting")),
            Ok(Progress::Interrupted) => match power.take_request() {
                Some(request) => power.act(request),
                None => continue,
            },
            Err(e) => tally.fail(format_args!("handshake failed ({e})")),
        }
        return false;
    }
}

/// Close from our end and wait until both ends are Closed; then the back end has unmapped
/// the ring and its grant can be revoked.
fn close(dev: Device, front: &mut Frontend, power: &Power, tally: &mut Tally) {
    if let Err(e) = dev.close(front) {
        tally.fail(format_args!("cannot switch to Closing ({e})"));
    }
    loop {
        match dev.wait_closed(front, || power.pending()) {
            Ok(true) => break,
            Ok(false) => {
                if let Some(request) = power.take_request() {
                    power.act(request);
                }
            }
            Err(e) => {
                tally.fail(format_args!("closing failed ({e})"));
                break;
            }
        }
    }
    // Whatever the handshake reached, give everything back.
    front.disconnect(dev.link());
    if let Err(e) = front.revoke_ring() {
        tally.fail(format_args!("the ring grant cannot be revoked after the back end closed ({e:?})"));
        front.abandon_ring_page();
    }
    if let Err(e) = dev.release() {
        println!("vping-front: cannot unwatch the back end ({e})");
    }
}

/// `count=N` strict round trips.
fn ping_pong(front: &mut Frontend, n: u64, power: &Power, tally: &mut Tally) -> bool {
    let phase = Phase::new(power, CALL_TIMEOUT_NS.saturating_add(n.saturating_mul(PER_ROUND_TRIP_NS)));
    let before = front.counters;
    let start = time::now_ns();
    let mut done = 0;
    for i in 0..n {
        let arg = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        match front.call(Op::Ping, arg, &phase) {
            Ok(rsp) if rsp.status == 0 && rsp.arg == arg => done += 1,
            Ok(rsp) => {
                tally.fail(format_args!("round trip {i}: sent arg {arg:#x}, got {rsp:?}"));
                break;
            }
            Err(e) => {
                tally.fail(format_args!("round trip {i}: {e}"));
                break;
            }
        }
    }
    let elapsed = time::now_ns().saturating_sub(start);
    println!(
        "vping-front: {done} round trips, {} events received, {} notifications sent, {} ns per round trip",
        front.counters.events_received - before.events_received,
        front.counters.notifications_sent - before.notifications_sent,
        proto::per_iteration(elapsed, done)
    );
    done == n
}

/// The grant test: our page mapped and written by the back end, revocation refused while
/// mapped and allowed after the unmap, maps of revoked and unknown references refused.
fn grant_test(front: &mut Frontend, backend: DomId, power: &Power, tally: &mut Tally) {
    let phase = Phase::new(power, CALL_TIMEOUT_NS);
    let Some((page, mfn)) = OwnPage::new().and_then(|p| p.mfn().map(|mfn| (p, mfn))) else {
        tally.fail(format_args!("no page to grant"));
        return;
    };
    let gref = match grant::grant_access(backend, mfn, false) {
        Ok(gref) => gref,
        Err(e) => {
            tally.fail(format_args!("cannot grant a data page ({e:?})"));
            return;
        }
    };
    match front.call(Op::MapData, gref.into(), &phase) {
        Ok(rsp) if rsp.status == 0 => match proto::pattern_mismatch(gref, (0..PAGE_WORDS).map(|i| page.read_word(i))) {
            None => println!("vping-front: backend wrote the pattern into our granted page"),
            Some(i) => tally.fail(format_args!("word {i} of our granted page is {:#x}, not the pattern", page.read_word(i))),
        },
        Ok(rsp) => tally.fail(format_args!("the back end could not map our grant {gref} (status {})", rsp.status)),
        Err(e) => tally.fail(format_args!("MAP_DATA: {e}")),
    }
    match grant::end_access(gref) {
        Err(GrantError::InUse) => println!("vping-front: revoke while mapped refused"),
        Ok(()) => tally.fail(format_args!("grant {gref} was revoked while the back end had it mapped")),
        Err(e) => tally.fail(format_args!("revoking the mapped grant {gref}: {e:?}")),
    }
    match front.call(Op::UnmapData, 0, &phase) {
        Ok(rsp) if rsp.status == 0 => {}
        Ok(rsp) => tally.fail(format_args!("UNMAP_DATA: status {}", rsp.status)),
        Err(e) => tally.fail(format_args!("UNMAP_DATA: {e}")),
    }
    let revoked = match grant::end_access(gref) {
        Ok(()) => {
            println!("vping-front: grant revoked after unmap");
            true
        }
        Err(e) => {
            tally.fail(format_args!("revoking grant {gref} after the unmap: {e:?}"));
            false
        }
    };
    expect_map_refused(front, gref, "revoked", &phase, tally);
    expect_map_refused(front, UNKNOWN_GREF, "unknown", &phase, tally);
    if revoked {
        drop(page);
    } else {
        // The back end may still write it.
        page.leak();
    }
}

fn expect_map_refused(front: &mut Frontend, gref: GrantRef, what: &str, phase: &Phase, tally: &mut Tally) {
    match front.call(Op::MapData, gref.into(), phase) {
        Ok(rsp) if rsp.status != 0 => println!("vping-front: map of {what} grant refused (status {})", rsp.status),
        Ok(_) => {
            tally.fail(format_args!("the back end mapped the {what} grant {gref}"));
            let _ = front.call(Op::UnmapData, 0, phase);
        }
        Err(e) => tally.fail(format_args!("MAP_DATA of the {what} grant: {e}")),
    }
}

/// The baselines the bench sets the round trip against.
fn baseline(front: &mut Frontend, power: &Power, tally: &mut Tally) {
    let n = BASELINE_ITERATIONS;
    let start = time::now_ns();
    for _ in 0..n {
        hypercall::xen_version::<()>(xen_abi::version::XENVER_VERSION, None);
    }
    let null_ns = proto::per_iteration(time::now_ns().saturating_sub(start), n);
    let phase = Phase::new(power, CALL_TIMEOUT_NS.saturating_add(n.saturating_mul(PER_ROUND_TRIP_NS)));
    let id = match front.send(Op::YieldBench, n) {
        Ok(id) => id,
        Err(e) => {
            tally.fail(format_args!("YIELD_BENCH: {e}"));
            return;
        }
    };
    // The back end yields as many times meanwhile: each of our yields runs it once.
    let start = time::now_ns();
    for _ in 0..n {
        hypercall::sched_yield();
    }
    let yield_ns = proto::per_iteration(time::now_ns().saturating_sub(start), n);
    match front.await_response(id, &phase) {
        Ok(rsp) if rsp.status == 0 => {}
        Ok(rsp) => tally.fail(format_args!("YIELD_BENCH: status {}", rsp.status)),
        Err(e) => tally.fail(format_args!("YIELD_BENCH: {e}")),
    }
    println!("vping-front: baseline: null hypercall {null_ns} ns, yield round trip {yield_ns} ns (2 hypercalls + 2 context switches)");
}

/// `hostile`: random entries in every slot and a `req_prod` half the index space ahead, then
/// the back end must drop the device.
fn break_ring(dev: &Device, front: &mut Frontend, power: &Power, tally: &mut Tally) {
    let (Some(ring), Some(port)) = (front.ring.as_ref(), front.port) else {
        tally.fail(format_args!("no ring to break"));
        return;
    };
    let mem = *ring.memory();
    let header = core::mem::size_of::<SringHeader>();
    let mut garbage = time::now_ns() | 1;
    for offset in (header..header + RING_SLOTS * core::mem::size_of::<Request>()).step_by(8) {
        garbage = proto::xorshift64(garbage);
        let _ = mem.write_bytes(offset, &garbage.to_le_bytes());
    }
    let rsp_prod = mem.load_u32(core::mem::offset_of!(SringHeader, rsp_prod)).unwrap_or(0);
    let _ = mem.store_u32(core::mem::offset_of!(SringHeader, req_prod), proto::hostile_req_prod(rsp_prod));
    events::notify(port);
    front.counters.notifications_sent += 1;
    let phase = Phase::new(power, HOSTILE_TIMEOUT_NS);
    let state = loop {
        let state = dev.other_state().unwrap_or(XenbusState::Unknown);
        if matches!(state, XenbusState::Closing | XenbusState::Closed) {
            break state;
        }
        while xenstore::take_watch_event_for(dev.token()).is_some() {}
        if phase.wait(|| dev.has_news()).is_err() {
            break state;
        }
    };
    println!("vping-front: hostile ring indices sent; backend state {state}");
    if !matches!(state, XenbusState::Closing | XenbusState::Closed) {
        tally.fail(format_args!("the back end kept the device with a broken ring"));
    }
}

/// Why a request got no answer.
#[derive(Debug)]
enum CallError {
    NotConnected,
    Ring(RingError),
    TimedOut,
    /// An answer to another request.
    WrongAnswer(Response),
}

impl From<RingError> for CallError {
    fn from(e: RingError) -> Self {
        CallError::Ring(e)
    }
}

impl From<TimedOut> for CallError {
    fn from(_: TimedOut) -> Self {
        CallError::TimedOut
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NotConnected => f.write_str("not connected"),
            CallError::Ring(e) => write!(f, "ring: {e}"),
            CallError::TimedOut => f.write_str("no answer in time"),
            CallError::WrongAnswer(rsp) => write!(f, "answer to another request: {rsp:?}"),
        }
    }
}

/// Our end of the device.
#[derive(Default)]
struct Frontend {
    /// Over `page`: declared first, so it is dropped before the page.
    ring: Option<FrontRing<PageMemory, Request, Response>>,
    /// The ring page, granted to the back end while `gref` is set.
    page: Option<OwnPage>,
    gref: Option<GrantRef>,
    port: Option<u32>,
    counters: Counters,
    next_id: u32,
}

impl Frontend {
    /// Put `op(arg)` on the ring and notify. The answer's event is armed first
    /// (`rsp_event` = next response), so every answer comes with an event.
    fn send(&mut self, op: Op, arg: u64) -> Result<u32, CallError> {
        let (Some(ring), Some(port)) = (self.ring.as_mut(), self.port) else { return Err(CallError::NotConnected) };
        let id = self.next_id;
        self.next_id = id.wrapping_add(1);
        // With nothing outstanding this finds no response and sets `rsp_event`.
        ring.final_check_for_responses()?;
        ring.push_request(&op.request(id, arg))?;
        ring.push_requests()?;
        events::notify(port);
        self.counters.notifications_sent += 1;
        Ok(id)
    }

    /// Block on the port until the answer to request `id` is on the ring.
    fn await_response(&mut self, id: u32, phase: &Phase) -> Result<Response, CallError> {
        let Self { ring: Some(ring), port: Some(port), counters, .. } = self else { return Err(CallError::NotConnected) };
        let port = *port;
        loop {
            let mut fired = false;
            // The answer itself also ends the wait, in case its event is still on its way.
            phase.wait(|| {
                fired = events::take(port);
                fired || ring.unconsumed_responses().map_or(true, |n| n > 0)
            })?;
            if fired {
                counters.events_received += 1;
            }
            if let Some(rsp) = ring.take_response()? {
                return if rsp.id == id { Ok(rsp) } else { Err(CallError::WrongAnswer(rsp)) };
            }
        }
    }

    fn call(&mut self, op: Op, arg: u64, phase: &Phase) -> Result<Response, CallError> {
        let id = self.send(op, arg)?;
        self.await_response(id, phase)
    }

    /// Revoke the ring grant and free the page; refused while the back end still maps it.
    fn revoke_ring(&mut self) -> Result<(), GrantError> {
        let Some(gref) = self.gref else { return Ok(()) };
        grant::end_access(gref)?;
        self.gref = None;
        self.ring = None;
        self.page = None;
        Ok(())
    }

    /// The ring grant could not be revoked: never reuse its page.
    fn abandon_ring_page(&mut self) {
        self.ring = None;
        if let Some(page) = self.page.take() {
            page.leak();
        }
    }

    /// Set up the ring page, its grant and our port, and publish them.
    fn publish_ring(&mut self, store: &mut dyn XenbusStore, link: &Link) -> Result<(), XsError> {
        let backend = link.other_domid;
        let page = OwnPage::new().ok_or(XsError::ENOMEM)?;
        // XenStore's error names have no EFAULT; EINVAL is what an unnamed errno reads as.
        let mfn = page.mfn().ok_or(XsError::EINVAL)?;
        let ring = FrontRing::init(page.memory()).map_err(|_| XsError::EINVAL)?;
        let gref = grant::grant_access(backend, mfn, false).map_err(|e| {
            println!("vping-front: cannot grant the ring page ({e:?})");
            XsError::ENOSPC
        })?;
        let port = match events::alloc_unbound(backend) {
            Ok(port) => port,
            Err(rc) => {
                let _ = grant::end_access(gref);
                println!("vping-front: cannot allocate a port for domain {backend} (error {rc})");
                return Err(XsError::from_errno(i32::try_from(-rc).unwrap_or(0)));
            }
        };
        // From here on `disconnect` undoes it all.
        (self.ring, self.page, self.gref, self.port) = (Some(ring), Some(page), Some(gref), Some(port));
        store.write(&join(&link.own_dir, KEY_RING_REF), &gref.to_string())?;
        store.write(&join(&link.own_dir, KEY_EVENT_CHANNEL), &port.to_string())
    }
}

impl DeviceClass for Frontend {
    fn publish(&mut self, store: &mut dyn XenbusStore, link: &Link) -> Result<(), XsError> {
        self.publish_ring(store, link)
    }

    /// Nothing to read from the back end: the ring and port are ours.
    fn connect(&mut self, _store: &mut dyn XenbusStore, _link: &Link) -> Result<(), XsError> {
        Ok(())
    }

    /// Stop using the ring and close our port. The grant is revoked if the back end has
    /// unmapped it already; otherwise [`Frontend::revoke_ring`] is retried once it closed.
    fn disconnect(&mut self, _link: &Link) {
        self.ring = None;
        if let Some(port) = self.port.take() {
            let rc = events::close(port);
            if rc != 0 {
                println!("vping-front: closing port {port} failed (error {rc})");
            }
        }
        let _ = self.revoke_ring();
    }
}
