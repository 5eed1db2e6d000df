//! The domain builder for PV DomUs: what Xen's libxenguest (`xc_dom_*`) does, in the same
//! order. Everything that can be decided from the kernel file and the request (ELF and Xen
//! notes, the start-of-day layout, the memory check) is decided first, in a [`DomainImage`],
//! so a bad kernel or an impossible size is refused before any domain exists. Then:
//!
//! 1. `createdomain`, `max_mem`, `max_vcpus`;
//! 2. `populate_physmap` for every pfn, writing the P2M list into the guest as it goes;
//! 3. the kernel's segments, the bootstrap page tables, the hypercall page (by the
//!    hypervisor), `start_info`, all through [`ForeignPage`] mappings;
//! 4. with every foreign mapping gone, pin the L4 (the hypervisor validates the tree);
//! 5. vCPU 0's registers.
//!
//! The domain is left paused. Any failure after `createdomain` destroys it again.

use super::foreign::{ForeignError, ForeignPage};
use super::xc::{self, DomId, Errno};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use xen_abi::start_info::{StartInfo, START_INFO_MAGIC};
use xen_abi::x86::{xen_pfn_to_cr3, VcpuGuestContext, FLAT_KERNEL_CS, FLAT_KERNEL_SS, VGCF_IN_KERNEL, VGCF_ONLINE};
use xen_image::layout::{Layout, LayoutError, LayoutRequest};
use xen_image::pagetables::BootstrapTables;
use xen_image::{ImageError, KernelImage, PAGE_SIZE};
use zerocopy::IntoBytes;

/// What the shell's `create` asks for.
pub struct BuildRequest<'a> {
    /// The kernel's ELF file.
    pub kernel: &'a [u8],
    /// The domain's memory.
    pub memory_mib: u64,
    /// `start_info.cmd_line` (truncated to 1023 bytes).
    pub cmdline: &'a str,
    /// The `createdomain` handle (a UUID).
    pub handle: [u8; 16],
}

/// A domain built and paused, ready for scheduler parameters and [`xc::unpause`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Built {
    pub domid: u16,
    pub nr_pages: u64,
    pub entry: u64,
    /// The XenStore ring page and the domain's end of its channel (`start_info.store_*`).
    pub store: RingPage,
    /// The console ring page and the domain's end of its channel (`start_info.console.domU`).
    pub console: RingPage,
}

/// A shared ring page of a new domain and its unbound event channel (remote: Dom0), for the
/// back-end that connects to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingPage {
    pub mfn: u64,
    pub port: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The ELF or its Xen notes are unusable.
    BadKernel(ImageError),
    /// The kernel has no `XEN_ELFNOTE_HYPERCALL_PAGE`.
    NoHypercallPage,
    /// The kernel and its start-of-day data do not fit the memory asked for.
    Layout(LayoutError),
    /// The memory size does not even fit the arithmetic.
    MemoryTooLarge { mib: u64 },
    /// The host has too little free memory.
    NotEnoughMemory { need_mib: u64, free_mib: u64 },
    /// Dom0's heap cannot hold the builder's bookkeeping.
    Dom0OutOfMemory,
    /// A hypercall failed; `what` names the step.
    Refused { what: &'static str, errno: Errno },
    /// Mapping the new domain's memory into Dom0 failed.
    Foreign(ForeignError),
    /// An address the kernel names lies outside its start-of-day region (cannot happen for
    /// a kernel `KernelImage::parse` accepted; checked rather than trusted).
    OutsideRegion { va: u64 },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BadKernel(e) => write!(f, "kernel is not a valid PV ELF: {e}"),
            Self::NoHypercallPage => f.write_str("kernel is not a valid PV ELF: it has no XEN_ELFNOTE_HYPERCALL_PAGE note"),
            Self::Layout(e) => write!(f, "cannot lay out the domain: {e}"),
            Self::MemoryTooLarge { mib } => write!(f, "memory = {mib} MiB is too large"),
            Self::NotEnoughMemory { need_mib, free_mib } => write!(f, "not enough free memory: need {need_mib} MiB, {free_mib} MiB free"),
            Self::Dom0OutOfMemory => f.write_str("Dom0 is out of heap memory for the domain builder"),
            Self::Refused { what, errno } => match xen_abi::errno::name(-errno) {
                Some(name) => write!(f, "hypervisor refused {what}: errno {errno} ({name})"),
                None => write!(f, "hypervisor refused {what}: errno {errno}"),
            },
            Self::Foreign(e) => write!(f, "cannot write the new domain's memory: {e}"),
            Self::OutsideRegion { va } => write!(f, "kernel address {va:#x} lies outside its start-of-day region"),
        }
    }
}

impl From<ForeignError> for BuildError {
    fn from(e: ForeignError) -> Self {
        Self::Foreign(e)
    }
}

/// `map_err` adapter naming the hypercall that failed.
fn refused(what: &'static str) -> impl FnOnce(Errno) -> BuildError {
    move |errno| BuildError::Refused { what, errno }
}

/// Free host memory the domain needs beyond its own pages: the hypervisor's per-domain
/// allocations (shared info, grant and vCPU structures) come from the same pool.
const MARGIN_PAGES: u64 = 256;
/// Pfns per `populate_physmap` call; also one page of the P2M list.
const BATCH: usize = 512;
const PAGES_PER_MIB: u64 = 256;

/// Build a paused PV DomU. On failure no domain and no foreign mapping is left behind.
pub fn build(req: &BuildRequest) -> Result<Built, BuildError> {
    let plan = DomainImage::plan(req)?;
    check_free_memory(plan.nr_pages)?;
    let domid = xc::create_domain(1, req.handle).map_err(refused("createdomain"))?;
    // Every ForeignPage lives inside `construct`, so all are unmapped when it returns.
    match plan.construct(domid) {
        Ok((store, console)) => Ok(Built { domid, nr_pages: plan.nr_pages, entry: plan.image.entry, store, console }),
        Err(e) => {
            destroy_half_built(domid);
            Err(e)
        }
    }
}

/// Everything decided before the hypervisor is asked for anything.
struct DomainImage<'a> {
    image: KernelImage<'a>,
    layout: Layout,
    nr_pages: u64,
    max_kib: u64,
    /// Pfn of the kernel's hypercall page.
    hypercall_pfn: u64,
    cmdline: &'a str,
}

impl<'a> DomainImage<'a> {
    fn plan(req: &BuildRequest<'a>) -> Result<Self, BuildError> {
        let image = KernelImage::parse(req.kernel).map_err(BuildError::BadKernel)?;
        let too_large = BuildError::MemoryTooLarge { mib: req.memory_mib };
        let nr_pages = req.memory_mib.checked_mul(PAGES_PER_MIB).ok_or(too_large)?;
        let max_kib = req.memory_mib.checked_mul(1024).ok_or(too_large)?;
        let layout = Layout::compute(&LayoutRequest::for_kernel(&image, 0, nr_pages, true)).map_err(BuildError::Layout)?;
        let hypercall_va = image.hypercall_page.ok_or(BuildError::NoHypercallPage)?;
        let hypercall_pfn = layout.va_to_pfn(hypercall_va).ok_or(BuildError::OutsideRegion { va: hypercall_va })?;
        Ok(Self { image, layout, nr_pages, max_kib, hypercall_pfn, cmdline: req.cmdline })
    }

    /// Steps 1–5 of the module docs on the (paused, empty) domain `dom`. Returns the XenStore
    /// and console rings.
    fn construct(&self, dom: DomId) -> Result<(RingPage, RingPage), BuildError> {
        xc::set_max_mem(dom, self.max_kib).map_err(refused("max_mem"))?;
        xc::set_max_vcpus(dom, 1).map_err(refused("max_vcpus"))?;
        let mem = self.populate(dom)?;

        for seg in self.image.segments() {
            mem.write(seg.vaddr, seg.file_bytes)?; // bss needs nothing: fresh frames are zero
        }
        let l4 = self.write_page_tables(&mem)?;
        // After the segments, which would overwrite it with the image's placeholder.
        xc::hypercall_init(dom, mem.mfn(self.hypercall_pfn)).map_err(refused("hypercall_init"))?;
        let info = xc::domain_info(dom).map_err(refused("getdomaininfo"))?;
        // The channels the XenStore daemon and the console back-end (both in Dom0) bind to.
        let ring = |region: Option<xen_image::Region>, what| -> Result<RingPage, BuildError> {
            let port = xc::alloc_unbound(dom, 0).map_err(refused(what))?;
            Ok(RingPage { mfn: region.map_or(0, |r| mem.mfn(r.pfn)), port })
        };
        let store = ring(self.layout.xenstore, "the XenStore event channel")?;
        let console = ring(self.layout.console, "the console event channel")?;
        let si = self.start_info(dom, info.shared_info_frame, store, console);
        mem.write(self.layout.start_info.va, si.as_bytes())?;

        // Every foreign mapping has been dropped by now: no writable mapping of a table is
        // left, which the validation requires.
        xc::pin_table(dom, l4, 4).map_err(refused("pinning the page tables"))?;
        xc::set_vcpu_context(dom, 0, &self.vcpu_context(l4)).map_err(refused("setvcpucontext"))?;
        Ok((store, console))
    }

    /// Give the domain all its memory (pfn `i` for `i` in `0..nr_pages`) and write its P2M
    /// list. Only the start-of-day region's MFNs are kept in Dom0 (they are all the builder
    /// needs later); the rest go straight into the guest's list, one P2M page per batch.
    fn populate(&self, dom: DomId) -> Result<GuestMemory<'_>, BuildError> {
        let region_pages = self.layout.total_pages_mapped; // <= nr_pages (Layout checks)
        let mut region: Vec<u64> = Vec::new();
        region.try_reserve_exact(region_pages as usize).map_err(|_| BuildError::Dom0OutOfMemory)?;
        region.extend(0..region_pages);
        for chunk in region.chunks_mut(BATCH) {
            xc::populate_physmap(dom, chunk).map_err(refused("populate_physmap"))?;
        }
        let mem = GuestMemory { dom, layout: &self.layout, region };

        let mut batch = [0u64; BATCH];
        let mut p2m_va = self.layout.p2m.va;
        for first in (0..self.nr_pages).step_by(BATCH) {
            let n = (self.nr_pages - first).min(BATCH as u64) as usize;
            let entries = &mut batch[..n];
            for (pfn, e) in (first..).zip(entries.iter_mut()) {
                *e = mem.region.get(pfn as usize).copied().unwrap_or(pfn);
            }
            // The region's pfns were populated above; the rest of the batch is new.
            let known = (region_pages.saturating_sub(first) as usize).min(n);
            if known < n {
                xc::populate_physmap(dom, &mut entries[known..]).map_err(refused("populate_physmap"))?;
            }
            mem.write(p2m_va, entries.as_bytes())?;
            p2m_va += PAGE_SIZE;
        }
        Ok(mem)
    }

    /// Write the bootstrap page tables (one table mapped at a time; the generator yields each
    /// table's entries together). Returns the L4's MFN.
    fn write_page_tables(&self, mem: &GuestMemory) -> Result<u64, BuildError> {
        let tables = BootstrapTables::new(&self.layout);
        let mut current: Option<(u64, ForeignPage)> = None;
        for e in tables.entries(|pfn| mem.mfn(pfn)) {
            let mut page = match current.take() {
                Some((pfn, page)) if pfn == e.table_pfn => page,
                previous => {
                    if let Some((_, old)) = previous {
                        old.unmap()?;
                    }
                    ForeignPage::map(mem.dom, mem.mfn(e.table_pfn))?
                }
            };
            let at = e.index * 8;
            page.bytes_mut()[at..at + 8].copy_from_slice(&e.value.to_le_bytes());
            current = Some((e.table_pfn, page));
        }
        if let Some((_, last)) = current {
            last.unmap()?;
        }
        Ok(mem.mfn(tables.l4_pfn()))
    }

    fn start_info(&self, dom: DomId, shared_info_frame: u64, store: RingPage, console: RingPage) -> StartInfo {
        let l = &self.layout;
        let mut si = StartInfo::zeroed();
        si.set_magic(START_INFO_MAGIC);
        si.nr_pages = self.nr_pages;
        si.shared_info = shared_info_frame << 12;
        si.flags = 0; // an unprivileged domain
        si.store_mfn = store.mfn;
        si.store_evtchn = store.port;
        si.console_mfn = console.mfn;
        si.console_evtchn = console.port;
        si.pt_base = l.pt_base();
        si.nr_pt_frames = l.nr_pt_frames;
        si.mfn_list = l.p2m.va;
        si.mod_start = 0;
        si.mod_len = 0;
        si.first_p2m_pfn = l.p2m.pfn;
        si.nr_p2m_frames = l.p2m.pages;
        // A guest can also read its id from XenStore (`domid`); the command line has it from
        // the first instruction on (the word is appended only when it fits).
        let with_id = alloc::format!("{} domid={}", self.cmdline, dom);
        let line = if with_id.len() < si.cmd_line.len() { with_id.as_str() } else { self.cmdline };
        si.set_cmd_line(line.trim_start().as_bytes());
        si
    }

    /// vCPU 0 enters the kernel as Xen starts a 64-bit PV guest: kernel mode, RSI =
    /// `start_info`, RSP = the bootstrap stack, CR3 = the pinned L4 (libxenguest's
    /// `vcpu_x86_64`).
    fn vcpu_context(&self, l4_mfn: u64) -> Box<VcpuGuestContext> {
        let mut c = Box::new(VcpuGuestContext::zeroed());
        c.flags = VGCF_IN_KERNEL | VGCF_ONLINE;
        let r = &mut c.user_regs;
        r.rip = self.image.entry;
        r.rsp = self.layout.stack_top();
        r.rsi = self.layout.start_info.va;
        r.rflags = 0x202; // IF | the always-one bit 1
        r.cs = FLAT_KERNEL_CS;
        r.ss = FLAT_KERNEL_SS;
        r.ds = FLAT_KERNEL_SS;
        r.es = FLAT_KERNEL_SS;
        c.kernel_ss = u64::from(FLAT_KERNEL_SS);
        c.kernel_sp = self.layout.stack_top();
        c.ctrlreg[3] = xen_pfn_to_cr3(l4_mfn);
        c
    }
}

/// The new domain's start-of-day region, written through foreign mappings.
struct GuestMemory<'a> {
    dom: DomId,
    layout: &'a Layout,
    /// MFN of each pfn of the region (`0..layout.total_pages_mapped`).
    region: Vec<u64>,
}

/// Not a frame any domain owns: the hypervisor refuses any mapping of it.
const INVALID_MFN: u64 = u64::MAX >> 12;

impl GuestMemory<'_> {
    /// MFN of region pfn `pfn`. Every pfn the builder asks for comes from the layout, so it
    /// is inside the region; were it not, the hypervisor would refuse the invalid frame.
    fn mfn(&self, pfn: u64) -> u64 {
        usize::try_from(pfn).ok().and_then(|i| self.region.get(i)).copied().unwrap_or(INVALID_MFN)
    }

    /// Copy `bytes` to virtual address `va` of the region, a page at a time.
    fn write(&self, va: u64, bytes: &[u8]) -> Result<(), BuildError> {
        let mut done = 0;
        while done < bytes.len() {
            let at = va.checked_add(done as u64).ok_or(BuildError::OutsideRegion { va })?;
            let pfn = self.layout.va_to_pfn(at).ok_or(BuildError::OutsideRegion { va: at })?;
            let offset = (at % PAGE_SIZE) as usize;
            let n = (PAGE_SIZE as usize - offset).min(bytes.len() - done);
            let mut page = ForeignPage::map(self.dom, self.mfn(pfn))?;
            page.bytes_mut()[offset..offset + n].copy_from_slice(&bytes[done..done + n]);
            page.unmap()?;
            done += n;
        }
        Ok(())
    }
}

/// Refuse a domain the host cannot hold, before creating it.
fn check_free_memory(nr_pages: u64) -> Result<(), BuildError> {
    let info = xc::physinfo().map_err(refused("physinfo"))?;
    let need = nr_pages.saturating_add(MARGIN_PAGES);
    if info.free_pages < need {
        return Err(BuildError::NotEnoughMemory { need_mib: need.div_ceil(PAGES_PER_MIB), free_mib: info.free_pages / PAGES_PER_MIB });
    }
    Ok(())
}

/// Tear down a domain whose build failed. The build's own error is what the caller reports;
/// a failure here is only printed, as nothing more can be done about it.
fn destroy_half_built(dom: DomId) {
    // As libxc: the hypervisor may ask us to retry while it releases the domain's memory.
    let mut result = xc::destroy(dom);
    for _ in 0..1000 {
        if result != Err(-xen_abi::errno::EAGAIN) {
            break;
        }
        result = xc::destroy(dom);
    }
    if let Err(e) = result {
        pvguest::println!("warning: could not destroy the half-built domain {dom}: errno {e}");
    }
}
