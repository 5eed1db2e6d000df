//! `vping-back`: serves the `vping` devices the toolstack attaches to this domain, one at a
//! time. It watches `backend` in its domain directory; a device whose own `state` is
//! Initialising is new (or re-created) and gets served until both ends are closed, or until
//! its front end breaks the ring, after which the back end waits for the next device.

use super::Phase;
use crate::pages::Mapping;
use crate::power::Power;
use alloc::format;
use domu_kernel::vping_proto::{self as proto, BackendOps, Counters, Request, Response, DEVICE_CLASS, KEY_EVENT_CHANNEL, KEY_RING_REF};
use pvguest::xenbus::{Device, Store};
use pvguest::{events, hypercall, println, xenstore};
use xen_abi::domid::DomId;
use xen_abi::grant_table::GrantRef;
use xen_ring::{BackRing, PageMemory, RingError};
use xenbus::path::join;
use xenbus::{DeviceClass, Link, Step, XenbusState, XenbusStore, XsError};

/// Token of our watch on `backend` (devices appearing, changing or going away).
const DEVICES_TOKEN: &str = "vping-back/devices";

pub fn run(power: &Power) -> ! {
    println!("vping-back: waiting for a front end under backend/{DEVICE_CLASS}/");
    if let Err(e) = xenstore::watch("backend", DEVICES_TOKEN) {
        println!("vping-back: cannot watch backend ({e}); idling");
        crate::sleep::until_power_request(power);
    }
    let phase = Phase::unbounded(power);
    loop {
        drain_device_events();
        if let Some((fe, devid)) = new_device() {
            if serve_device(fe, devid, &phase) {
                continue;
            }
        }
        // Nothing to serve (or a device not fully written yet): wait for the next change.
        let _ = phase.wait(|| xenstore::has_watch_event_for(DEVICES_TOKEN));
    }
}

fn drain_device_events() {
    while xenstore::take_watch_event_for(DEVICES_TOKEN).is_some() {}
}

/// A device nobody serves yet: our end of it is Initialising (the toolstack's doing).
fn new_device() -> Option<(DomId, u32)> {
    pvguest::xenbus::find_backends(DEVICE_CLASS).into_iter().find(|&(fe, devid)| {
        let state = xenstore::read(&format!("backend/{DEVICE_CLASS}/{fe}/{devid}/state"));
        state.ok().and_then(|s| XenbusState::parse(&s)) == Some(XenbusState::Initialising)
    })
}

/// Run device `backend/vping/<fe>/<devid>` until it is done with; `false` if it could not be
/// opened (its nodes are not all written yet).
fn serve_device(fe: DomId, devid: u32, phase: &Phase) -> bool {
    let dev = match Device::backend(DEVICE_CLASS, fe, devid) {
        Ok(dev) => dev,
        Err(e) => {
            println!("vping-back: cannot open backend/{DEVICE_CLASS}/{fe}/{devid} yet ({e})");
            return false;
        }
    };
    let mut back = Backend::new(dev.link().other_domid);
    // Settle the handshake first; afterwards only when the front end's state changed (a
    // settle reads both states from XenStore: not something to do per request).
    let mut news = true;
    loop {
        if news {
            match dev.service(&mut back) {
                Ok(Step::Done) => break,
                Ok(_) => {}
                Err(e) => {
                    println!("vping-back: handshake with front-end {} failed ({e}); closing", back.fe);
                    abandon(&dev, &mut back);
                    break;
                }
            }
            // A connected front end whose `state` vanished is gone (its domain was destroyed):
            // the engine would wait for it forever, with its ring still mapped here.
            if back.link.is_some() && matches!(dev.other_state(), Ok(XenbusState::Unknown)) {
                println!("vping-back: front-end {} is gone; disconnecting", back.fe);
                abandon(&dev, &mut back);
                break;
            }
        }
        if let Err(e) = back.serve() {
            if e == RingError::Overflow {
                println!("vping-back: front-end {} sent garbage ring indices; disconnecting", back.fe);
            } else {
                println!("vping-back: ring of front-end {} failed ({e}); disconnecting", back.fe);
            }
            abandon(&dev, &mut back);
            break;
        }
        let (mut ring_fired, mut devices) = (false, false);
        let port = back.port();
        let _ = phase.wait(|| {
            ring_fired = port.is_some_and(events::take);
            news = dev.has_news();
            devices = xenstore::has_watch_event_for(DEVICES_TOKEN);
            ring_fired || news || devices
        });
        if ring_fired {
            back.counters.events_received += 1;
        }
        if devices {
            drain_device_events();
            // The toolstack removed the device (its front end is gone): nobody to close with.
            if matches!(dev.own_state(), Ok(XenbusState::Unknown)) {
                println!("vping-back: device of front-end {} removed", back.fe);
                back.disconnect(dev.link());
                break;
            }
        }
    }
    if let Err(e) = dev.release() {
        println!("vping-back: cannot unwatch front-end {} ({e})", back.fe);
    }
    true
}

/// Stop serving a device at once: disconnect, Closing, then Closed without waiting for the
/// front end (which misbehaved, cannot be connected to, or is gone). A device the toolstack
/// already removed gets no `state` node written back.
fn abandon(dev: &Device, back: &mut Backend) {
    let present = !matches!(dev.own_state(), Ok(XenbusState::Unknown));
    if present {
        if let Err(e) = dev.close(back) {
            println!("vping-back: cannot switch to Closing ({e})");
        }
    }
    back.disconnect(dev.link());
    if present {
        if let Err(e) = Store.write(&dev.link().own_state_path(), XenbusState::Closed.as_decimal()) {
            println!("vping-back: cannot switch to Closed ({e})");
        }
    }
}

/// The connected ring: the front end's page mapped here, and our end of its channel.
struct RingLink {
    /// Over `mapping`'s page: declared first, so it is dropped before the mapping ends.
    ring: BackRing<PageMemory, Request, Response>,
    mapping: Mapping,
    port: u32,
}

/// The front end's data page while mapped (`MAP_DATA` .. `UNMAP_DATA`).
struct DataPage {
    fe: DomId,
    mapped: Option<Mapping>,
}

impl BackendOps for DataPage {
    fn data_mapped(&self) -> bool {
        self.mapped.is_some()
    }

    fn map_data(&mut self, gref: GrantRef) -> i32 {
        match Mapping::map(self.fe, gref) {
            Ok(mapping) => {
                for i in 0..proto::PAGE_WORDS {
                    mapping.write_word(i, proto::pattern_word(gref, i));
                }
                self.mapped = Some(mapping);
                0
            }
            Err(status) => status.into(),
        }
    }

    fn unmap_data(&mut self) -> i32 {
        match self.mapped.take().map(Mapping::unmap) {
            Some(Err(status)) => status.into(),
            _ => 0,
        }
    }

    fn yield_cpu(&mut self, n: u64) {
        for _ in 0..n {
            hypercall::sched_yield();
        }
    }
}

/// Our end of one device.
struct Backend {
    fe: DomId,
    link: Option<RingLink>,
    data: DataPage,
    counters: Counters,
}

impl Backend {
    fn new(fe: DomId) -> Self {
        Self { fe, link: None, data: DataPage { fe, mapped: None }, counters: Counters::default() }
    }

    fn port(&self) -> Option<u32> {
        self.link.as_ref().map(|l| l.port)
    }

    /// Answer whatever requests wait (nothing before the ring is connected).
    fn serve(&mut self) -> Result<(), RingError> {
        let Some(link) = self.link.as_mut() else { return Ok(()) };
        let notify = proto::serve(&mut link.ring, &mut self.data, &mut self.counters, report)?;
        if notify {
            events::notify(link.port);
            self.counters.notifications_sent += 1;
        }
        Ok(())
    }

    fn connect_ring(&mut self, store: &mut dyn XenbusStore, link: &Link) -> Result<RingLink, XsError> {
        let fe = link.other_domid;
        let gref: GrantRef = read_number(store, link, KEY_RING_REF)?;
        let remote_port: u32 = read_number(store, link, KEY_EVENT_CHANNEL)?;
        let mapping = Mapping::map(fe, gref).map_err(|status| {
            println!("vping-back: cannot map ring grant {gref} of domain {fe} (status {status})");
            XsError::EIO
        })?;
        let ring = BackRing::new(mapping.memory()).map_err(|_| XsError::EINVAL)?;
        let port = events::bind_interdomain(fe, remote_port).map_err(|rc| {
            println!("vping-back: cannot bind port {remote_port} of domain {fe} (error {rc})");
            XsError::from_errno(i32::try_from(-rc).unwrap_or(0))
        })?;
        Ok(RingLink { ring, mapping, port })
    }
}

/// `<front-end dir>/<key>` as a decimal number.
fn read_number<T: core::str::FromStr>(store: &mut dyn XenbusStore, link: &Link, key: &str) -> Result<T, XsError> {
    let value = store.read(&join(&link.other_dir, key))?;
    proto::parse_decimal(&value).ok_or_else(|| {
        println!("vping-back: front-end {} wrote a bad {key} \"{value}\"", link.other_domid);
        XsError::EINVAL
    })
}

fn report(c: &Counters) {
    println!(
        "vping-back: {} requests served, {} events received, {} notifications sent",
        c.requests, c.events_received, c.notifications_sent
    );
}

impl DeviceClass for Backend {
    /// The back end has no features to announce.
    fn publish(&mut self, _store: &mut dyn XenbusStore, _link: &Link) -> Result<(), XsError> {
        Ok(())
    }

    fn connect(&mut self, store: &mut dyn XenbusStore, link: &Link) -> Result<(), XsError> {
        let ring = self.connect_ring(store, link)?;
        self.link = Some(ring);
        self.counters = Counters::default();
        println!("vping-back: connected to domain {}", self.fe);
        Ok(())
    }

    /// Unmap the data page and the ring, close our port; report. Safe to call again.
    fn disconnect(&mut self, _link: &Link) {
        if self.data.unmap_data() != 0 {
            println!("vping-back: unmapping the data page of front-end {} failed", self.fe);
        }
        // The ring (a view of the mapped page) goes with the rest of the link.
        let Some(RingLink { mapping, port, .. }) = self.link.take() else { return };
        let rc = events::close(port);
        if rc != 0 {
            println!("vping-back: closing port {port} failed (error {rc})");
        }
        if let Err(status) = mapping.unmap() {
            println!("vping-back: unmapping the ring of front-end {} failed (status {status})", self.fe);
        }
        report(&self.counters);
    }
}
