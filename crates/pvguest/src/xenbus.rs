//! XenBus for guest drivers: [`Store`] implements `xenbus::XenbusStore` over this guest's
//! XenStore client ([`crate::xenstore`]), [`find_devices`]/[`find_backends`] list the devices
//! the toolstack created for us, and [`Device`] runs one end's connection handshake
//! (`xenbus::Connection`), woken by a watch on the other end's `state` node.
//!
//! A front-end driver, in outline (the device class implements `xenbus::DeviceClass`:
//! `publish` writes its ring reference and event channel into `link.own_dir`, `connect`
//! reads the back end's details from `link.other_dir`, `disconnect` undoes both):
//!
//! ```ignore
//! pvguest::xenstore::init()?;
//! for devid in pvguest::xenbus::find_devices("vping") {
//!     let dev = pvguest::xenbus::Device::frontend("vping", devid)?;
//!     let mut driver = MyFront::new();
//!     match dev.wait_connected(&mut driver, || shutdown_requested())? {
//!         Progress::Connected => { /* use the rings; in the wait loop's condition also
//!                                    check dev.has_news(), then call dev.service(..) */ }
//!         Progress::Closed | Progress::Interrupted => {}
//!     }
//!     dev.close(&mut driver)?; // when done: Closing, then Closed once the back end agrees
//! }
//! ```
//!
//! A back end does the same with [`find_backends`] and [`Device::backend`]. Directories are
//! relative to the domain's home (`device/<class>/<devid>`, `backend/<class>/<fe>/<devid>`);
//! the other end's directory is read from `backend`/`frontend` as the toolstack wrote it.
//! Errors are `xenbus::XsError` (the `xenstore` crate's error, as [`crate::xenstore`] returns it).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use xen_abi::domid::DomId;
use xenbus::{Connection, DeviceClass, Link, Perm, Step, XenbusState, XenbusStore, XsError};

use crate::xenstore;

/// The XenStore operations XenBus needs, through [`crate::xenstore`] (outside transactions).
#[derive(Clone, Copy, Debug, Default)]
pub struct Store;

impl XenbusStore for Store {
    fn read(&mut self, path: &str) -> Result<String, XsError> {
        xenstore::read(path)
    }

    fn write(&mut self, path: &str, value: &str) -> Result<(), XsError> {
        xenstore::write(path, value)
    }

    fn rm(&mut self, path: &str) -> Result<(), XsError> {
        xenstore::rm(path)
    }

    fn set_perms(&mut self, path: &str, perms: &[Perm]) -> Result<(), XsError> {
        let wire: Vec<String> = perms.iter().map(|p| format!("{p}")).collect();
        let refs: Vec<&str> = wire.iter().map(String::as_str).collect();
        xenstore::set_perms(path, &refs)
    }

    fn watch(&mut self, path: &str, token: &str) -> Result<(), XsError> {
        xenstore::watch(path, token)
    }

    fn unwatch(&mut self, path: &str, token: &str) -> Result<(), XsError> {
        xenstore::unwatch(path, token)
    }
}

/// A device id as XenStore names it: plain decimal.
fn parse_id<T: core::str::FromStr>(name: &str) -> Option<T> {
    let canonical = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) && (name == "0" || !name.starts_with('0'));
    canonical.then(|| name.parse().ok()).flatten()
}

/// The numbered children of `dir`, sorted; none if it is missing or unreadable.
fn numbered_children<T: core::str::FromStr + Ord>(dir: &str) -> Vec<T> {
    let mut ids: Vec<T> = xenstore::directory(dir).unwrap_or_default().iter().filter_map(|n| parse_id(n)).collect();
    ids.sort();
    ids
}

/// The ids of our front-end devices of `class` (`device/<class>/<devid>`), sorted.
pub fn find_devices(class: &str) -> Vec<u32> {
    numbered_children(&format!("device/{class}"))
}

/// The devices of `class` we serve as back end (`backend/<class>/<fe>/<devid>`), as
/// `(front-end domain, devid)`, sorted.
pub fn find_backends(class: &str) -> Vec<(DomId, u32)> {
    let mut found = Vec::new();
    for fe in numbered_children::<DomId>(&format!("backend/{class}")) {
        for devid in numbered_children::<u32>(&format!("backend/{class}/{fe}")) {
            found.push((fe, devid));
        }
    }
    found
}

/// How [`Device::wait_connected`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// This end is `Connected`.
    Connected,
    /// Both ends closed (the device is being removed, or was never wanted).
    Closed,
    /// The caller's `interrupt` condition became true first.
    Interrupted,
}

/// One end of one device: its handshake, with a watch on the other end's `state`.
#[derive(Debug)]
pub struct Device {
    conn: Connection,
    token: String,
}

impl Device {
    /// Our front end of `device/<class>/<devid>`: finds the back end from `backend` and
    /// `backend-id`, and watches its `state`.
    pub fn frontend(class: &str, devid: u32) -> Result<Self, XsError> {
        let link = Link::frontend(&mut Store, &format!("device/{class}/{devid}"))?;
        Self::watched(link, format!("xenbus-front/{class}/{devid}"))
    }

    /// Our back end of `backend/<class>/<fe>/<devid>`: finds the front end from `frontend`
    /// and `frontend-id`, and watches its `state`.
    pub fn backend(class: &str, fe: DomId, devid: u32) -> Result<Self, XsError> {
        let link = Link::backend(&mut Store, &format!("backend/{class}/{fe}/{devid}"))?;
        Self::watched(link, format!("xenbus-back/{class}/{fe}/{devid}"))
    }

    fn watched(link: Link, token: String) -> Result<Self, XsError> {
        let conn = Connection::new(link);
        conn.watch_other(&mut Store, &token)?;
        Ok(Self { conn, token })
    }

    /// The two directories and the other end's domain.
    pub fn link(&self) -> &Link {
        self.conn.link()
    }

    /// The handshake engine, for anything this wrapper does not cover.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The watch token of the other end's `state`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// This end's state.
    pub fn own_state(&self) -> Result<XenbusState, XsError> {
        self.conn.own_state(&mut Store)
    }

    /// The other end's state.
    pub fn other_state(&self) -> Result<XenbusState, XsError> {
        self.conn.other_state(&mut Store)
    }

    /// Whether the other end's state may have changed (a watch event is queued). Never
    /// blocks: use it in an `events::wait_until` condition (the store port wakes it), then
    /// call [`service`](Self::service).
    pub fn has_news(&self) -> bool {
        xenstore::has_watch_event_for(&self.token)
    }

    /// Take the queued watch events and let the handshake react (e.g. disconnect when the
    /// other end closes). Returns the last step.
    pub fn service(&self, device: &mut dyn DeviceClass) -> Result<Step, XsError> {
        while xenstore::take_watch_event_for(&self.token).is_some() {}
        self.conn.settle(&mut Store, device)
    }

    /// Run the handshake until this end is `Connected` or both ends are closed, sleeping
    /// between the other end's state changes. `interrupt` is checked whenever the guest wakes
    /// (it must not block: it runs inside `events::wait_until`); when it holds, this returns
    /// [`Progress::Interrupted`].
    pub fn wait_connected(&self, device: &mut dyn DeviceClass, mut interrupt: impl FnMut() -> bool) -> Result<Progress, XsError> {
        loop {
            if self.service(device)? == Step::Done {
                return Ok(Progress::Closed);
            }
            if self.own_state()? == XenbusState::Connected {
                return Ok(Progress::Connected);
            }
            let mut interrupted = false;
            crate::events::wait_until(|| {
                interrupted = interrupt();
                interrupted || self.has_news()
            });
            if interrupted {
                return Ok(Progress::Interrupted);
            }
        }
    }

    /// Start closing from this end (disconnecting first if needed); the other end's answer
    /// arrives through [`service`](Self::service) / [`wait_closed`](Self::wait_closed).
    pub fn close(&self, device: &mut dyn DeviceClass) -> Result<(), XsError> {
        self.conn.close(&mut Store, device)
    }

    /// Run the handshake until both ends are closed (after [`close`](Self::close), or when
    /// the other end closes), or until `interrupt` holds (then `false`).
    pub fn wait_closed(&self, device: &mut dyn DeviceClass, mut interrupt: impl FnMut() -> bool) -> Result<bool, XsError> {
        loop {
            if self.service(device)? == Step::Done {
                return Ok(true);
            }
            let mut interrupted = false;
            crate::events::wait_until(|| {
                interrupted = interrupt();
                interrupted || self.has_news()
            });
            if interrupted {
                return Ok(false);
            }
        }
    }

    /// Stop watching the other end (the device is done with).
    pub fn release(self) -> Result<(), XsError> {
        self.conn.unwatch_other(&mut Store, &self.token)
    }
}
