//! The hypervisor's global state and the checked ways of reaching guest memory.
//!
//! One pCPU for now and the hypervisor runs with interrupts off, so one lock around all
//! of it is both simple and correct: a trap takes it once, does its work and drops it
//! before returning to the guest (or before halting in the idle loop).

use crate::arch::x86_64::paging::DirectMap;
use crate::domain::{Domain, Vcpu};
use crate::mm::{DomId, Errno, FrameAllocator, FrameTable, Mfn, Paging};
use crate::scheduler::Scheduler;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use spin::{Mutex, MutexGuard};
use zerocopy::{FromBytes, Immutable, IntoBytes};

pub struct Hypervisor {
    pub frames: FrameTable,
    pub alloc: FrameAllocator,
    /// L4 slots 256..=271 as every PV address space holds them.
    pub xen_l4_slots: [u64; 16],
    /// The hypervisor's own root (used while no guest is loaded).
    pub idle_l4: Mfn,
    pub domains: Vec<Domain>,
    /// Index into `domains` and vCPU id of what the CPU runs.
    pub current: (usize, usize),
    /// Frames of RAM the machine has (usable at boot).
    pub total_pages: u64,
    pub max_mfn: u64,
    pub cmdline: String,
    /// Host memory map (for `XENMEM_machine_memory_map`): (start, length, E820 type).
    pub e820: Vec<(u64, u64, u32)>,
    /// M2P frames (2 MiB extents are what `XENMEM_machphys_mfn_list` reports).
    pub m2p_frames: Vec<Mfn>,
    /// The vCPU scheduler (`sched=` on the command line).
    pub scheduler: Box<dyn Scheduler>,
    /// Call the scheduler before returning to a guest (a wake-up preempts, or the current
    /// vCPU stopped).
    pub need_resched: bool,
    /// The scheduler wants to run again by this time (end of slice, accounting period).
    pub sched_deadline: Option<u64>,
    /// An event or timer fired since the last look: some blocked vCPU may be ready.
    pub wake_check: bool,
    /// Id for the next `createdomain` (ids are not reused until they wrap, so a stale
    /// reference to a destroyed domain can never reach a new one).
    pub next_domid: DomId,
    /// Frames of destroyed domains still referenced by a mapping elsewhere; freed once the
    /// last reference goes (see `domain::destroy`).
    pub orphan_frames: Vec<Mfn>,
}

pub static HV: Mutex<Option<Hypervisor>> = Mutex::new(None);

/// Lock the global state. Panics only if called before boot finished (a hypervisor bug).
pub fn lock() -> HvGuard {
    HvGuard(HV.lock())
}

pub struct HvGuard(MutexGuard<'static, Option<Hypervisor>>);

impl core::ops::Deref for HvGuard {
    type Target = Hypervisor;
    fn deref(&self) -> &Hypervisor {
        self.0.as_ref().expect("hypervisor state used before boot")
    }
}

impl core::ops::DerefMut for HvGuard {
    fn deref_mut(&mut self) -> &mut Hypervisor {
        self.0.as_mut().expect("hypervisor state used before boot")
    }
}

impl Hypervisor {
    /// Run `f` with the page-table engine over the real frame contents.
    pub fn with_paging<R>(&mut self, f: impl FnOnce(&mut Paging<'_, DirectMap>) -> R) -> R {
        let mut mem = DirectMap;
        let mut paging = Paging::new(&mut self.frames, &mut mem, &self.xen_l4_slots);
        f(&mut paging)
    }

    pub fn current_domain(&mut self) -> &mut Domain {
        &mut self.domains[self.current.0]
    }

    pub fn current_vcpu(&mut self) -> &mut Vcpu {
        let (d, v) = self.current;
        &mut self.domains[d].vcpus[v]
    }

    pub fn current_domid(&self) -> DomId {
        self.domains[self.current.0].id
    }

    pub fn domain_index(&self, id: DomId) -> Option<usize> {
        self.domains.iter().position(|d| d.id == id)
    }

    /// The domain `id` names from the caller's point of view (`DOMID_SELF` is the caller).
    pub fn resolve_domid(&self, id: u64) -> Result<usize, Errno> {
        if id == u64::from(xen_abi::domid::DOMID_SELF) {
            return Ok(self.current.0);
        }
        let id = DomId::try_from(id).map_err(|_| Errno::ESRCH)?;
        self.domain_index(id).ok_or(Errno::ESRCH)
    }

    /// The root page table of the current vCPU's current mode: guest virtual addresses in
    /// hypercall arguments are resolved through it.
    fn current_table(&mut self) -> Result<Mfn, Errno> {
        self.current_vcpu().active_table().ok_or(Errno::EFAULT)
    }

    /// Copy guest memory at `va` (current address space) into `buf`, checking every page.
    pub fn copy_from_guest(&mut self, va: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let l4 = self.current_table()?;
        self.with_paging(|p| p.copy_from_guest(l4, va, buf)).map_err(Errno::from)
    }

    /// Copy `buf` to guest memory at `va`, which must be mapped writable and user.
    pub fn copy_to_guest(&mut self, va: u64, buf: &[u8]) -> Result<(), Errno> {
        let l4 = self.current_table()?;
        self.with_paging(|p| p.copy_to_guest(l4, va, buf)).map_err(Errno::from)
    }

    /// Read one ABI struct from guest memory.
    pub fn read_guest<T: FromBytes + IntoBytes>(&mut self, va: u64) -> Result<T, Errno> {
        let mut value = T::new_zeroed();
        self.copy_from_guest(va, value.as_mut_bytes())?;
        Ok(value)
    }

    /// Write one ABI struct to guest memory.
    pub fn write_guest<T: IntoBytes + Immutable>(&mut self, va: u64, value: &T) -> Result<(), Errno> {
        self.copy_to_guest(va, value.as_bytes())
    }

    /// Record `M2P[mfn] = pfn` (the read-only table every guest can read at slot 256).
    pub fn set_m2p(&mut self, mfn: Mfn, pfn: u64) {
        let index = mfn.0 as usize;
        let frame = self.m2p_frames.get(index / 512).copied();
        if let Some(frame) = frame {
            let mut mem = DirectMap;
            crate::mm::FrameMemory::write_entry(&mut mem, frame, index % 512, pfn);
        }
    }

    /// Take a frame back from its owner and return it to the allocator (its M2P entry
    /// becomes invalid). Refused, changing nothing, while anything still references it.
    pub fn free_frame(&mut self, mfn: Mfn) -> Result<(), Errno> {
        self.frames.unassign(mfn)?;
        self.set_m2p(mfn, u64::MAX);
        let _ = self.alloc.free(mfn);
        Ok(())
    }

    /// Drop the page-table references a vCPU's base pointers hold (kernel and user root).
    pub fn release_vcpu_tables(&mut self, d: usize, v: usize) {
        let vcpu = &mut self.domains[d].vcpus[v];
        let tables = [vcpu.guest_table.take(), vcpu.guest_table_user.take()];
        for table in tables.into_iter().flatten() {
            self.with_paging(|p| p.put_page_and_type(table));
        }
    }

    pub fn free_pages(&self) -> u64 {
        self.alloc.free_count()
    }
}
