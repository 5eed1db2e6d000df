//! The XenBus connection handshake as a pure function: given which end
//! this is, its own state and the other end's, what to do next.
//!
//! Connecting (the order every split driver follows):
//!
//! ```text
//!  back end                                  front end
//!  Initialising --publish features--> InitWait
//!                                            Initialising --publish ring details--> Initialised
//!  InitWait (front Initialised) --connect--> Connected
//!                                            Initialised (back Connected) --connect--> Connected
//! ```
//!
//! Closing, started by either end ([`crate::Connection::close`]) or by the
//! toolstack writing `Closing`: an end that sees the other `Closing`
//! disconnects and goes `Closing`; an end that is `Closing` and sees the
//! other `Closing` or `Closed` (or gone) goes `Closed`; both `Closed` is
//! [`Step::Done`].  Any state the other end writes, valid or not, only
//! ever yields one of these steps: garbage reads as `Unknown`, which is
//! waited out.

use crate::state::XenbusState;

/// Which end of the device this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The guest side: publishes rings, uses the device.
    Frontend,
    /// The driver-domain side: serves the device.
    Backend,
}

/// A device-class callback to run before switching state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Write this end's details (front end: ring references, event
    /// channel; back end: features) into its own directory.
    Publish,
    /// Read the other end's details and start using the rings.
    Connect,
    /// Stop using the rings and release what publish/connect set up.
    Disconnect,
}

/// What an end should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Nothing until the other end's state changes.
    Wait,
    /// Run `action` (if any), then write `to` as this end's state.
    Switch {
        /// Callback to run first.
        action: Option<Action>,
        /// The new own state.
        to: XenbusState,
    },
    /// Both ends are closed: the device can be forgotten.
    Done,
}

/// Whether an end in `own` has set something up that a disconnect must
/// undo (it has at least published).
pub(crate) fn has_resources(own: XenbusState) -> bool {
    use XenbusState::*;
    matches!(
        own,
        InitWait | Initialised | Connected | Reconfiguring | Reconfigured
    )
}

const fn switch(action: Option<Action>, to: XenbusState) -> Step {
    Step::Switch { action, to }
}

/// The next step for the end playing `role`, in state `own`, seeing the
/// other end in state `other`.
pub fn next_step(role: Role, own: XenbusState, other: XenbusState) -> Step {
    use XenbusState::*;
    let disconnect = || has_resources(own).then_some(Action::Disconnect);
    match (own, other) {
        // No own node: the toolstack has not created the device yet, or
        // has already removed it.
        (Unknown, _) => Step::Wait,
        // Closing, whoever started it.
        (Closed, Closed | Unknown) => Step::Done,
        (Closed, _) => Step::Wait,
        (Closing, Closing | Closed | Unknown) => switch(None, Closed),
        (Closing, _) => Step::Wait,
        (_, Closing) => switch(disconnect(), Closing),
        (_, Closed) => switch(disconnect(), Closed),
        // Connecting.
        _ => match role {
            Role::Backend => backend_connect_step(own, other),
            Role::Frontend => frontend_connect_step(own, other),
        },
    }
}

fn backend_connect_step(own: XenbusState, other: XenbusState) -> Step {
    use XenbusState::*;
    match (own, other) {
        (Initialising, _) => switch(Some(Action::Publish), InitWait),
        (InitWait, Initialised | Connected) => switch(Some(Action::Connect), Connected),
        _ => Step::Wait,
    }
}

fn frontend_connect_step(own: XenbusState, other: XenbusState) -> Step {
    use XenbusState::*;
    match (own, other) {
        (Initialising, InitWait | Connected) => switch(Some(Action::Publish), Initialised),
        (Initialised, Connected) => switch(Some(Action::Connect), Connected),
        _ => Step::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use XenbusState::*;

    #[test]
    fn connect_sequence() {
        let b = Role::Backend;
        let f = Role::Frontend;
        assert_eq!(
            next_step(b, Initialising, Initialising),
            switch(Some(Action::Publish), InitWait)
        );
        assert_eq!(next_step(f, Initialising, Initialising), Step::Wait);
        assert_eq!(
            next_step(f, Initialising, InitWait),
            switch(Some(Action::Publish), Initialised)
        );
        assert_eq!(next_step(b, InitWait, Initialising), Step::Wait);
        assert_eq!(
            next_step(b, InitWait, Initialised),
            switch(Some(Action::Connect), Connected)
        );
        assert_eq!(next_step(f, Initialised, InitWait), Step::Wait);
        assert_eq!(
            next_step(f, Initialised, Connected),
            switch(Some(Action::Connect), Connected)
        );
        assert_eq!(next_step(b, Connected, Connected), Step::Wait);
        assert_eq!(next_step(f, Connected, Connected), Step::Wait);
    }

    #[test]
    fn close_sequence() {
        for role in [Role::Frontend, Role::Backend] {
            assert_eq!(
                next_step(role, Connected, Closing),
                switch(Some(Action::Disconnect), Closing)
            );
            // Nothing set up yet: nothing to disconnect.
            assert_eq!(
                next_step(role, Initialising, Closing),
                switch(None, Closing)
            );
            assert_eq!(next_step(role, Closing, Connected), Step::Wait);
            assert_eq!(next_step(role, Closing, Closing), switch(None, Closed));
            assert_eq!(next_step(role, Closing, Closed), switch(None, Closed));
            assert_eq!(next_step(role, Closing, Unknown), switch(None, Closed));
            assert_eq!(
                next_step(role, Connected, Closed),
                switch(Some(Action::Disconnect), Closed)
            );
            assert_eq!(next_step(role, Closed, Closing), Step::Wait);
            assert_eq!(next_step(role, Closed, Closed), Step::Done);
            assert_eq!(next_step(role, Closed, Unknown), Step::Done);
        }
    }

    #[test]
    fn stepping_against_a_fixed_peer_settles() {
        // Whatever the other end shows, an end stops switching within a
        // few steps: the driver's `settle` loop is bounded.
        for role in [Role::Frontend, Role::Backend] {
            for start in XenbusState::ALL {
                for other in XenbusState::ALL {
                    let mut own = start;
                    let mut switches = 0;
                    while let Step::Switch { to, .. } = next_step(role, own, other) {
                        assert_ne!(to, own, "{role:?} {own:?} {other:?} switches to itself");
                        own = to;
                        switches += 1;
                        assert!(switches <= 3, "{role:?} from {start:?} against {other:?}");
                    }
                }
            }
        }
    }
}
