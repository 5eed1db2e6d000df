//! Xen's 2-level pending/mask/selector protocol (`xen/common/event_2l.c`). The order of the
//! steps is ABI: a guest scanning concurrently relies on it.

/// The shared bitmaps of one domain (`shared_info.evtchn_pending/mask`, each vCPU's
/// `evtchn_pending_sel` and `evtchn_upcall_pending`), with atomic read-modify-write.
pub trait EventBitmaps {
    /// Set the port's pending bit; returns whether it was already set.
    fn test_and_set_pending(&self, port: u32) -> bool;
    fn is_pending(&self, port: u32) -> bool;
    /// Clear the port's pending bit (a freed port must not hand a stale event to its next user).
    fn clear_pending(&self, port: u32);
    fn is_masked(&self, port: u32) -> bool;
    /// Clear the port's mask bit; returns whether it was set.
    fn test_and_clear_mask(&self, port: u32) -> bool;
    /// Set bit `word` of the vCPU's selector; returns whether it was already set.
    fn test_and_set_selector(&self, vcpu: u32, word: u32) -> bool;
    /// `evtchn_upcall_pending = 1`.
    fn set_upcall_pending(&self, vcpu: u32);
}

/// `evtchn_2l_set_pending`: returns true when the vCPU gained a new upcall (wake/kick it).
pub fn set_pending(b: &impl EventBitmaps, port: u32, vcpu: u32) -> bool {
    if b.test_and_set_pending(port) {
        return false; // already pending: no new edge
    }
    if !b.is_masked(port) && !b.test_and_set_selector(vcpu, port / 64) {
        b.set_upcall_pending(vcpu);
        return true;
    }
    false
}

/// `evtchn_2l_unmask`: returns true when the vCPU gained a new upcall.
pub fn unmask(b: &impl EventBitmaps, port: u32, vcpu: u32) -> bool {
    if b.test_and_clear_mask(port) && b.is_pending(port) && !b.test_and_set_selector(vcpu, port / 64) {
        b.set_upcall_pending(vcpu);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;

    struct Fake {
        pending: RefCell<[u64; 64]>,
        mask: RefCell<[u64; 64]>,
        sel: RefCell<u64>,
        upcall: RefCell<bool>,
    }

    impl Default for Fake {
        fn default() -> Self {
            Fake { pending: RefCell::new([0; 64]), mask: RefCell::new([0; 64]), sel: RefCell::new(0), upcall: RefCell::new(false) }
        }
    }

    fn bit(words: &RefCell<[u64; 64]>, port: u32) -> bool {
        words.borrow()[port as usize / 64] & (1 << (port % 64)) != 0
    }

    impl EventBitmaps for Fake {
        fn test_and_set_pending(&self, port: u32) -> bool {
            let was = bit(&self.pending, port);
            self.pending.borrow_mut()[port as usize / 64] |= 1 << (port % 64);
            was
        }
        fn is_pending(&self, port: u32) -> bool {
            bit(&self.pending, port)
        }
        fn clear_pending(&self, port: u32) {
            self.pending.borrow_mut()[port as usize / 64] &= !(1 << (port % 64));
        }
        fn is_masked(&self, port: u32) -> bool {
            bit(&self.mask, port)
        }
        fn test_and_clear_mask(&self, port: u32) -> bool {
            let was = bit(&self.mask, port);
            self.mask.borrow_mut()[port as usize / 64] &= !(1 << (port % 64));
            was
        }
        fn test_and_set_selector(&self, _vcpu: u32, word: u32) -> bool {
            let was = *self.sel.borrow() & (1 << word) != 0;
            *self.sel.borrow_mut() |= 1 << word;
            was
        }
        fn set_upcall_pending(&self, _vcpu: u32) {
            *self.upcall.borrow_mut() = true;
        }
    }

    #[test]
    fn pending_edge_sets_selector_and_upcall_once() {
        let f = Fake::default();
        assert!(set_pending(&f, 70, 0));
        assert_eq!(*f.sel.borrow(), 1 << 1);
        assert!(*f.upcall.borrow());
        *f.upcall.borrow_mut() = false;
        assert!(!set_pending(&f, 70, 0), "already pending: no new edge");
        assert!(!*f.upcall.borrow());
    }

    #[test]
    fn masked_port_stays_quiet_until_unmasked() {
        let f = Fake::default();
        f.mask.borrow_mut()[0] = 1 << 5;
        assert!(!set_pending(&f, 5, 0));
        assert!(f.is_pending(5));
        assert!(!*f.upcall.borrow());
        assert!(unmask(&f, 5, 0), "unmasking a pending port raises the upcall");
        assert!(*f.upcall.borrow());
        assert!(!unmask(&f, 5, 0), "already unmasked");
    }
}
