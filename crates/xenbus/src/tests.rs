//! Both ends of a device running the handshake against a simulated
//! XenStore, driven only by watch events, in random interleavings.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::string::{String, ToString};
use std::vec::Vec;

use proptest::prelude::*;

use crate::path::{backend_dir, frontend_dir, join};
use crate::{
    create_device, device_nodes, remove_device, Action, Connection, DeviceClass, Link, Perm, Role,
    Step, XenbusState, XenbusStore, XsError,
};

/// An in-memory XenStore: nodes, watches, and the watch events fired.
#[derive(Default)]
struct SimStore {
    nodes: BTreeMap<String, (String, Vec<Perm>)>,
    watches: Vec<(String, String)>,
    /// `(path, token)` events not yet delivered.
    events: Vec<(String, String)>,
}

fn is_under(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl SimStore {
    fn fire(&mut self, changed: &str, removed: bool) {
        for (path, token) in &self.watches {
            if is_under(changed, path) || (removed && is_under(path, changed)) {
                self.events.push((changed.to_string(), token.clone()));
            }
        }
    }

    /// Delivers (drops) every event for `token`; whether there were any.
    fn take_events(&mut self, token: &str) -> bool {
        let before = self.events.len();
        self.events.retain(|(_, t)| t != token);
        self.events.len() != before
    }

    fn has_events(&self, token: &str) -> bool {
        self.events.iter().any(|(_, t)| t == token)
    }
}

impl XenbusStore for SimStore {
    fn read(&mut self, path: &str) -> Result<String, XsError> {
        self.nodes
            .get(path)
            .map(|(v, _)| v.clone())
            .ok_or(XsError::ENOENT)
    }

    fn write(&mut self, path: &str, value: &str) -> Result<(), XsError> {
        // Missing parents appear as empty directories.
        let mut parent = String::new();
        for element in path.split('/').skip(1) {
            parent = join(&parent, element);
            self.nodes.entry(parent.clone()).or_default();
        }
        self.nodes.get_mut(path).expect("just created").0 = value.to_string();
        self.fire(path, false);
        Ok(())
    }

    fn rm(&mut self, path: &str) -> Result<(), XsError> {
        if !self.nodes.contains_key(path) {
            return Err(XsError::ENOENT);
        }
        self.nodes.retain(|p, _| !is_under(p, path));
        self.fire(path, true);
        Ok(())
    }

    fn set_perms(&mut self, path: &str, perms: &[Perm]) -> Result<(), XsError> {
        let node = self.nodes.get_mut(path).ok_or(XsError::ENOENT)?;
        node.1 = perms.to_vec();
        self.fire(path, false);
        Ok(())
    }

    fn watch(&mut self, path: &str, token: &str) -> Result<(), XsError> {
        self.watches.push((path.to_string(), token.to_string()));
        // XenStore fires a new watch once straight away.
        self.events.push((path.to_string(), token.to_string()));
        Ok(())
    }

    fn unwatch(&mut self, path: &str, token: &str) -> Result<(), XsError> {
        let before = self.watches.len();
        self.watches.retain(|(p, t)| !(p == path && t == token));
        if self.watches.len() == before {
            return Err(XsError::ENOENT);
        }
        Ok(())
    }
}

type Log = Rc<RefCell<Vec<(Role, Action)>>>;

/// A device class that publishes one key and, on connect, insists on
/// finding the other end's key.
struct TestDevice {
    log: Log,
    published: bool,
    disconnects: u32,
}

const DETAIL: &str = "detail";

impl DeviceClass for TestDevice {
    fn publish(&mut self, store: &mut dyn XenbusStore, link: &Link) -> Result<(), XsError> {
        self.log.borrow_mut().push((link.role, Action::Publish));
        self.published = true;
        store.write(&join(&link.own_dir, DETAIL), "42")
    }

    fn connect(&mut self, store: &mut dyn XenbusStore, link: &Link) -> Result<(), XsError> {
        self.log.borrow_mut().push((link.role, Action::Connect));
        assert!(self.published, "connect before publish");
        let theirs = store.read(&join(&link.other_dir, DETAIL))?;
        assert_eq!(theirs, "42");
        Ok(())
    }

    fn disconnect(&mut self, link: &Link) {
        self.log.borrow_mut().push((link.role, Action::Disconnect));
        self.disconnects += 1;
    }
}

struct End {
    conn: Connection,
    device: TestDevice,
    token: &'static str,
}

impl End {
    fn settle(&mut self, store: &mut SimStore) -> Step {
        self.conn.settle(store, &mut self.device).unwrap()
    }

    fn state(&self, store: &mut SimStore) -> XenbusState {
        self.conn.own_state(store).unwrap()
    }
}

const FE: u16 = 7;
const BE: u16 = 0;

/// A store with a freshly created device and both ends watching.
fn setup(log: &Log) -> (SimStore, [End; 2]) {
    let mut store = SimStore::default();
    create_device(
        &mut store,
        &device_nodes("vtest", 3, FE, BE, &[("mode", "w")]),
    )
    .unwrap();
    let fe_dir = frontend_dir(FE, "vtest", 3);
    let be_dir = backend_dir(BE, "vtest", FE, 3);
    let front = Link::frontend(&mut store, &fe_dir).unwrap();
    assert_eq!(
        (front.other_dir.as_str(), front.other_domid),
        (be_dir.as_str(), BE)
    );
    let back = Link::backend(&mut store, &be_dir).unwrap();
    assert_eq!(
        (back.other_dir.as_str(), back.other_domid),
        (fe_dir.as_str(), FE)
    );
    let end = |link, token| End {
        conn: Connection::new(link),
        device: TestDevice {
            log: log.clone(),
            published: false,
            disconnects: 0,
        },
        token,
    };
    let ends = [end(front, "fe"), end(back, "be")];
    for e in &ends {
        e.conn.watch_other(&mut store, e.token).unwrap();
    }
    (store, ends)
}

/// Delivers pending events, choosing the end from `schedule` while it
/// lasts, then in turn; stops when no event is pending.  Runs `close`
/// (once) when `close_at` steps have been taken.
fn run(store: &mut SimStore, ends: &mut [End; 2], schedule: &[u8], mut close: Option<(usize, u8)>) {
    for i in 0..schedule.len() + 200 {
        if let Some((at, who)) = close {
            if i >= at {
                for (n, e) in ends.iter_mut().enumerate() {
                    if who & (1 << n) != 0 {
                        e.conn.close(store, &mut e.device).unwrap();
                    }
                }
                close = None;
            }
        }
        let pending: Vec<usize> = (0..2)
            .filter(|&n| store.has_events(ends[n].token))
            .collect();
        if pending.is_empty() {
            if close.is_none() {
                return;
            }
            continue;
        }
        let pick = schedule.get(i).map_or(i, |&b| usize::from(b));
        let e = &mut ends[pending[pick % pending.len()]];
        assert!(store.take_events(e.token));
        e.settle(store);
    }
    panic!("events still flowing after every step was taken");
}

#[test]
fn connect_then_close_in_order() {
    let log = Log::default();
    let (mut store, mut ends) = setup(&log);
    run(&mut store, &mut ends, &[], None);
    for e in &ends {
        assert_eq!(e.state(&mut store), XenbusState::Connected);
    }
    use {Action::*, Role::*};
    assert_eq!(
        *log.borrow(),
        [
            (Backend, Publish),
            (Frontend, Publish),
            (Backend, Connect),
            (Frontend, Connect)
        ]
    );
    // The front end closes; the back end follows.
    let [front, _] = &mut ends;
    front.conn.close(&mut store, &mut front.device).unwrap();
    run(&mut store, &mut ends, &[], None);
    for e in &mut ends {
        assert_eq!(e.state(&mut store), XenbusState::Closed);
        assert_eq!(e.settle(&mut store), Step::Done);
        assert_eq!(e.device.disconnects, 1);
    }
    remove_device(&mut store, "vtest", 3, FE, BE).unwrap();
    let fe_dir = frontend_dir(FE, "vtest", 3);
    let be_dir = backend_dir(BE, "vtest", FE, 3);
    assert!(store
        .nodes
        .keys()
        .all(|p| !is_under(p, &fe_dir) && !is_under(p, &be_dir)));
    // Removing again is not an error.
    remove_device(&mut store, "vtest", 3, FE, BE).unwrap();
    // Gone directories: both ends see `Unknown` and wait.
    for e in &mut ends {
        assert_eq!(e.settle(&mut store), Step::Wait);
    }
}

#[test]
fn created_nodes_carry_permissions() {
    let log = Log::default();
    let (store, _) = setup(&log);
    let fe_state = join(&frontend_dir(FE, "vtest", 3), "state");
    let (value, perms) = &store.nodes[&fe_state];
    assert_eq!(value, "1");
    let wire: Vec<String> = perms.iter().map(|p| p.to_string()).collect();
    assert_eq!(wire, ["n7", "r0"]);
    let be_mode = join(&backend_dir(BE, "vtest", FE, 3), "mode");
    assert_eq!(store.nodes[&be_mode].0, "w");
    let mut store = SimStore::default();
    let bad = device_nodes("v test", 3, FE, BE, &[]);
    assert_eq!(create_device(&mut store, &bad), Err(XsError::EINVAL));
    assert!(store.nodes.is_empty());
}

#[test]
fn garbage_from_the_other_end_is_waited_out() {
    let log = Log::default();
    let (mut store, mut ends) = setup(&log);
    // The back end publishes, then scribbles over its own state before
    // the front end looks.
    let back = &mut ends[1];
    store.take_events(back.token);
    back.settle(&mut store);
    assert_eq!(back.state(&mut store), XenbusState::InitWait);
    let be_state = join(&backend_dir(BE, "vtest", FE, 3), "state");
    store.write(&be_state, "banana").unwrap();
    run(&mut store, &mut ends, &[], None);
    let [front, back] = &mut ends;
    assert_eq!(front.state(&mut store), XenbusState::Initialising);
    assert_eq!(
        back.conn.other_state(&mut store),
        Ok(XenbusState::Initialising)
    );
    assert_eq!(front.conn.other_state(&mut store), Ok(XenbusState::Unknown));
    // A real state again: the handshake resumes.
    store.write(&be_state, "2").unwrap();
    run(&mut store, &mut ends, &[], None);
    for e in &mut ends {
        assert_eq!(e.state(&mut store), XenbusState::Connected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_interleaving_connects(schedule in proptest::collection::vec(any::<u8>(), 0..40)) {
        let log = Log::default();
        let (mut store, mut ends) = setup(&log);
        run(&mut store, &mut ends, &schedule, None);
        for e in &mut ends {
            prop_assert_eq!(e.state(&mut store), XenbusState::Connected);
        }
        prop_assert_eq!(log.borrow().len(), 4);
    }

    #[test]
    fn any_close_reaches_closed(
        schedule in proptest::collection::vec(any::<u8>(), 0..40),
        close_at in 0usize..12,
        who in 1u8..4,
    ) {
        let log = Log::default();
        let (mut store, mut ends) = setup(&log);
        run(&mut store, &mut ends, &schedule, Some((close_at, who)));
        for e in &mut ends {
            prop_assert_eq!(e.state(&mut store), XenbusState::Closed);
            prop_assert_eq!(e.settle(&mut store), Step::Done);
            // Disconnected exactly once if anything was set up.
            prop_assert_eq!(e.device.disconnects, u32::from(e.device.published));
        }
    }
}
