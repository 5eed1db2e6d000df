//! The hypervisor's private shadow of a grant in use (Xen's `active_grant_entry`): which
//! domain uses it, the frame it resolved to when first used, and how many uses of each kind
//! are outstanding. A grant's shared entry is re-read only when its pins go from none to
//! some; while pinned, the shadow is what counts, so the granter cannot switch frames or
//! domains under a mapping.

use crate::mm::{DomId, Mfn};

/// The kinds of use one mapping (or copy) makes of a grant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapKinds {
    /// A CPU mapping at a virtual address (`GNTMAP_host_map`); copies count as this too.
    pub host: bool,
    /// A device (bus-address) mapping (`GNTMAP_device_map`).
    pub device: bool,
    /// Read-only use (`GNTMAP_readonly`); otherwise the frame may be written.
    pub readonly: bool,
}

impl MapKinds {
    /// What is left of `self` once `done` has been undone (`readonly` is kept).
    pub fn without(self, done: MapKinds) -> MapKinds {
        MapKinds { host: self.host && !done.host, device: self.device && !done.device, readonly: self.readonly }
    }

    /// Whether any use is left.
    pub fn any(self) -> bool {
        self.host || self.device
    }
}

/// Outstanding uses of one grant, by kind (Xen's four 8-bit fields of `pin`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pins {
    pub host_ro: u8,
    pub host_rw: u8,
    pub dev_ro: u8,
    pub dev_rw: u8,
}

/// A counter at or above this refuses further pins (Xen tests `pin & 0x80808080`), so no
/// counter can ever overflow.
const PIN_CEILING: u8 = 0x80;

impl Pins {
    /// Whether anything uses the grant.
    pub fn any(&self) -> bool {
        *self != Pins::default()
    }

    /// Whether some use may write the frame.
    pub fn writable(&self) -> bool {
        self.host_rw != 0 || self.dev_rw != 0
    }

    /// Whether one more use of any kind could overflow a counter.
    pub fn near_overflow(&self) -> bool {
        [self.host_ro, self.host_rw, self.dev_ro, self.dev_rw].iter().any(|&c| c >= PIN_CEILING)
    }

    /// Counts the uses in `kinds`. The caller checked [`Pins::near_overflow`].
    pub fn add(&mut self, kinds: MapKinds) {
        for counter in self.counters(kinds).into_iter().flatten() {
            *counter += 1;
        }
    }

    /// Forgets the uses in `kinds` (each must have been counted).
    pub fn remove(&mut self, kinds: MapKinds) {
        for counter in self.counters(kinds).into_iter().flatten() {
            debug_assert!(*counter > 0, "unpin without a pin");
            *counter = counter.saturating_sub(1);
        }
    }

    fn counters(&mut self, kinds: MapKinds) -> [Option<&mut u8>; 2] {
        let (host, dev) = if kinds.readonly {
            (&mut self.host_ro, &mut self.dev_ro)
        } else {
            (&mut self.host_rw, &mut self.dev_rw)
        };
        [kinds.host.then_some(host), kinds.device.then_some(dev)]
    }
}

/// The shadow of one grant reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveEntry {
    pub pins: Pins,
    /// The domain using the grant (meaningful while pinned; one user at a time).
    pub user: DomId,
    /// The frame the grant resolved to at its first pin.
    pub frame: Mfn,
}

impl Default for ActiveEntry {
    fn default() -> Self {
        ActiveEntry { pins: Pins::default(), user: 0, frame: Mfn(0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_RW: MapKinds = MapKinds { host: true, device: false, readonly: false };
    const BOTH_RO: MapKinds = MapKinds { host: true, device: true, readonly: true };

    #[test]
    fn pins_count_by_kind() {
        let mut p = Pins::default();
        assert!(!p.any() && !p.writable());
        p.add(BOTH_RO);
        assert_eq!(p, Pins { host_ro: 1, dev_ro: 1, ..Pins::default() });
        assert!(p.any() && !p.writable());
        p.add(HOST_RW);
        assert!(p.writable());
        p.remove(HOST_RW);
        p.remove(BOTH_RO.without(MapKinds { host: true, ..MapKinds::default() }));
        assert_eq!(p, Pins { host_ro: 1, ..Pins::default() });
        for _ in 0..0x7f {
            p.add(BOTH_RO);
        }
        assert!(p.near_overflow(), "{p:?}");
    }

    #[test]
    fn kinds_left_after_undoing() {
        let left = BOTH_RO.without(MapKinds { device: true, ..MapKinds::default() });
        assert_eq!(left, MapKinds { host: true, device: false, readonly: true });
        assert!(left.any());
        assert!(!left.without(HOST_RW).any());
    }
}
