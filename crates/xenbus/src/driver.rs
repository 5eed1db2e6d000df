//! Runs the handshake of [`next_step`] against a real store: reads both
//! `state` nodes, calls the device class back, writes the new state.

use alloc::string::String;

use xen_abi::domid::DomId;

use crate::handshake::{has_resources, next_step, Action, Role, Step};
use crate::path::{join, keys, parse_domid};
use crate::state::XenbusState;
use crate::store::{read_state, XenbusStore};
use crate::XsError;

/// The two directories of one device, seen from one end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Which end this is.
    pub role: Role,
    /// This end's directory.
    pub own_dir: String,
    /// The other end's directory.
    pub other_dir: String,
    /// The other end's domain.
    pub other_domid: DomId,
}

impl Link {
    /// A link with known directories.
    pub fn new(role: Role, own_dir: String, other_dir: String, other_domid: DomId) -> Self {
        Self {
            role,
            own_dir,
            other_dir,
            other_domid,
        }
    }

    /// The front end's link: reads `backend` and `backend-id` from the
    /// front-end directory `own_dir`.
    pub fn frontend(store: &mut dyn XenbusStore, own_dir: &str) -> Result<Self, XsError> {
        Self::discover(
            store,
            Role::Frontend,
            own_dir,
            keys::BACKEND,
            keys::BACKEND_ID,
        )
    }

    /// The back end's link: reads `frontend` and `frontend-id` from the
    /// back-end directory `own_dir`.
    pub fn backend(store: &mut dyn XenbusStore, own_dir: &str) -> Result<Self, XsError> {
        Self::discover(
            store,
            Role::Backend,
            own_dir,
            keys::FRONTEND,
            keys::FRONTEND_ID,
        )
    }

    fn discover(
        store: &mut dyn XenbusStore,
        role: Role,
        own_dir: &str,
        dir_key: &str,
        id_key: &str,
    ) -> Result<Self, XsError> {
        let other_dir = store.read(&join(own_dir, dir_key))?;
        if !other_dir.starts_with('/') {
            return Err(XsError::EINVAL);
        }
        let id = store.read(&join(own_dir, id_key))?;
        let other_domid = parse_domid(id.trim_end_matches('\0')).ok_or(XsError::EINVAL)?;
        Ok(Self::new(role, own_dir.into(), other_dir, other_domid))
    }

    /// `<own_dir>/state`.
    pub fn own_state_path(&self) -> String {
        join(&self.own_dir, keys::STATE)
    }

    /// `<other_dir>/state`.
    pub fn other_state_path(&self) -> String {
        join(&self.other_dir, keys::STATE)
    }
}

/// What a device class (vif, vbd, console, ...) does at each step of the
/// handshake.  The same trait serves both ends; `link.role` says which.
pub trait DeviceClass {
    /// Writes this end's details into `link.own_dir` (front end: ring
    /// references and event channel; back end: features).
    fn publish(&mut self, store: &mut dyn XenbusStore, link: &Link) -> Result<(), XsError>;
    /// Reads the other end's details from `link.other_dir` and starts
    /// using the rings.
    fn connect(&mut self, store: &mut dyn XenbusStore, link: &Link) -> Result<(), XsError>;
    /// Stops using the rings and releases what `publish`/`connect` set up.
    /// Called once per close, and only after `publish` ran; it must cope
    /// with `connect` never having run.
    fn disconnect(&mut self, link: &Link);
}

/// Most switches in a row [`Connection::settle`] makes; more than the
/// longest chain the handshake allows against a fixed peer state.
const MAX_SETTLE_STEPS: usize = 4;

/// One end of one device: runs the handshake against the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    link: Link,
}

impl Connection {
    /// A connection over `link`.
    pub fn new(link: Link) -> Self {
        Self { link }
    }

    /// The directories this end works with.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// This end's state (missing or garbage: `Unknown`).
    pub fn own_state(&self, store: &mut dyn XenbusStore) -> Result<XenbusState, XsError> {
        read_state(store, &self.link.own_state_path())
    }

    /// The other end's state (missing or garbage: `Unknown`).
    pub fn other_state(&self, store: &mut dyn XenbusStore) -> Result<XenbusState, XsError> {
        read_state(store, &self.link.other_state_path())
    }

    /// Watches the other end's `state` node, so that its changes (and,
    /// once at registration, the current value) arrive as events with
    /// `token`; call [`settle`](Self::settle) on each.
    pub fn watch_other(&self, store: &mut dyn XenbusStore, token: &str) -> Result<(), XsError> {
        store.watch(&self.link.other_state_path(), token)
    }

    /// Removes the watch set by [`watch_other`](Self::watch_other).
    pub fn unwatch_other(&self, store: &mut dyn XenbusStore, token: &str) -> Result<(), XsError> {
        store.unwatch(&self.link.other_state_path(), token)
    }

    /// Takes one step: reads both states, runs the callback the handshake
    /// asks for, writes the new own state.  Returns the step taken.  If
    /// the callback fails, its error is returned and the state is left
    /// as it was (the caller may [`close`](Self::close)).
    pub fn step(
        &self,
        store: &mut dyn XenbusStore,
        device: &mut dyn DeviceClass,
    ) -> Result<Step, XsError> {
        let own = self.own_state(store)?;
        let other = self.other_state(store)?;
        let step = next_step(self.link.role, own, other);
        if let Step::Switch { action, to } = step {
            match action {
                Some(Action::Publish) => device.publish(store, &self.link)?,
                Some(Action::Connect) => device.connect(store, &self.link)?,
                Some(Action::Disconnect) => device.disconnect(&self.link),
                None => {}
            }
            store.write(&self.link.own_state_path(), to.as_decimal())?;
        }
        Ok(step)
    }

    /// Steps until the handshake waits for the other end (or is done), at
    /// most a few times.  Returns the last step ([`Step::Wait`] or
    /// [`Step::Done`]).
    pub fn settle(
        &self,
        store: &mut dyn XenbusStore,
        device: &mut dyn DeviceClass,
    ) -> Result<Step, XsError> {
        let mut step = Step::Wait;
        for _ in 0..MAX_SETTLE_STEPS {
            step = self.step(store, device)?;
            if !matches!(step, Step::Switch { .. }) {
                break;
            }
        }
        Ok(step)
    }

    /// Starts closing from this end: disconnects (if anything was set up)
    /// and switches to `Closing`; the other end's answer then finishes the
    /// close through [`settle`](Self::settle).  Does nothing if this end
    /// is already closing, closed, or has no `state` node.
    pub fn close(
        &self,
        store: &mut dyn XenbusStore,
        device: &mut dyn DeviceClass,
    ) -> Result<(), XsError> {
        use XenbusState::*;
        let own = self.own_state(store)?;
        if matches!(own, Unknown | Closing | Closed) {
            return Ok(());
        }
        if has_resources(own) {
            device.disconnect(&self.link);
        }
        store.write(&self.link.own_state_path(), Closing.as_decimal())
    }
}
