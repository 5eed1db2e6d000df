//! The Dom0 builder: what Xen's `dom0_build.c` does, for our PV Dom0 — load the ELF from the
//! boot bundle using its Xen notes, lay out the start-of-day area, build and pin the bootstrap
//! page tables (validated by the same engine that checks every guest update), fill in
//! `start_info`, the P2M and the hypercall page, and set the initial vCPU registers.

use crate::arch::x86_64::paging::DirectMap;
use crate::domain::Domain;
use crate::hv::Hypervisor;
use crate::mm::{FrameMemory, Mfn, PageType};
use crate::shared::SharedInfoPage;
use alloc::vec::Vec;
use xen_abi::start_info::{StartInfo, SIF_INITDOMAIN, SIF_PRIVILEGED, START_INFO_MAGIC};
use xen_abi::x86::{FLAT_KERNEL_CS, FLAT_KERNEL_SS};
use xen_image::layout::{Layout, LayoutRequest};
use xen_image::pagetables::BootstrapTables;
use xen_image::KernelImage;

/// Why Dom0 could not be built (the hypervisor cannot continue without it).
#[derive(Debug)]
pub enum BuildError {
    Image(xen_image::ImageError),
    Layout(xen_image::layout::LayoutError),
    NoHypercallPage,
    OutOfMemory,
    PageTables(crate::mm::Errno),
}

const PAGE: u64 = 4096;

/// Build Dom0 with `nr_pages` of memory from `kernel` (its ELF) and hand it `module`.
pub fn build(hv: &mut Hypervisor, kernel: &[u8], module: &[u8], nr_pages: u64, cmdline: &str) -> Result<Domain, BuildError> {
    let image = KernelImage::parse(kernel).map_err(BuildError::Image)?;
    let hypercall_page = image.hypercall_page.ok_or(BuildError::NoHypercallPage)?;
    let layout = Layout::compute(&LayoutRequest::for_kernel(&image, module.len() as u64, nr_pages, false)).map_err(BuildError::Layout)?;

    // Memory: every pseudo-physical page gets a zeroed machine frame owned by Dom0.
    let mut p2m: Vec<Mfn> = Vec::with_capacity(nr_pages as usize);
    for pfn in 0..nr_pages {
        let mfn = hv.alloc.alloc().ok_or(BuildError::OutOfMemory)?;
        DirectMap::zero(mfn);
        hv.frames.assign(mfn, 0).map_err(BuildError::PageTables)?;
        hv.set_m2p(mfn, pfn);
        p2m.push(mfn);
    }
    let shared_info = hv.alloc.alloc().ok_or(BuildError::OutOfMemory)?;
    DirectMap::zero(shared_info);
    hv.frames.assign(shared_info, 0).map_err(BuildError::PageTables)?;
    // The hypervisor writes this page behind the guest's back (event bits, time), so it must
    // never become a page table: hold a writable type reference for the domain's life, as Xen
    // does for pages it shares with a guest.
    hv.with_paging(|p| p.get_page_and_type(0, shared_info, PageType::Writable)).map_err(BuildError::PageTables)?;

    // Writes into Dom0's memory by virtual address in the start-of-day region.
    let write = |va: u64, bytes: &[u8]| {
        let mut mem = DirectMap;
        let mut done = 0usize;
        while done < bytes.len() {
            let at = va + done as u64;
            let pfn = (at - layout.virt_base) / PAGE;
            let off = (at % PAGE) as usize;
            let n = (PAGE as usize - off).min(bytes.len() - done);
            mem.write_bytes(p2m[pfn as usize], off, &bytes[done..done + n]);
            done += n;
        }
    };

    for seg in image.segments() {
        write(seg.vaddr, seg.file_bytes); // the rest of mem_size is already zero
    }
    if let Some(m) = layout.module {
        write(m.va, module);
    }
    let p2m_words: Vec<u64> = p2m.iter().map(|m| m.0).collect();
    write(layout.p2m.va, zerocopy::IntoBytes::as_bytes(&p2m_words[..]));
    let mut page = [0u8; 4096];
    xen_abi::hypercall::fill_hypercall_page(&mut page);
    write(hypercall_page, &page);

    let mut si = StartInfo::zeroed();
    si.set_magic(START_INFO_MAGIC);
    si.nr_pages = nr_pages;
    si.shared_info = shared_info.addr();
    si.flags = SIF_PRIVILEGED | SIF_INITDOMAIN;
    si.pt_base = layout.pt_base();
    si.nr_pt_frames = layout.nr_pt_frames;
    si.mfn_list = layout.p2m.va;
    si.mod_start = layout.module.map_or(0, |m| m.va);
    si.mod_len = module.len() as u64;
    si.first_p2m_pfn = layout.p2m.pfn;
    si.nr_p2m_frames = layout.p2m.pages;
    si.set_cmd_line(cmdline.as_bytes());
    write(layout.start_info.va, zerocopy::IntoBytes::as_bytes(&si));

    let l4 = build_page_tables(&layout, &p2m);
    // Pinning validates the whole tree by the same rules as any guest update, and takes the
    // references Xen's builder sets by hand; the current-CR3 reference comes on top.
    hv.with_paging(|p| {
        p.pin(0, l4, 4)?;
        p.get_page_and_type(0, l4, PageType::L4)
    })
    .map_err(BuildError::PageTables)?;

    let shared = SharedInfoPage(shared_info);
    shared.set_upcall_mask(0, true); // no upcalls until the guest has a callback and unmasks
    shared.set_max_pfn(nr_pages);
    shared.write_wallclock(crate::time::boot_wallclock(), 0);
    shared.refresh_time(0);

    let mut dom = Domain::new(0, "Domain-0", true, shared_info, 1);
    dom.tot_pages = nr_pages;
    dom.max_pages = nr_pages;
    let vcpu = &mut dom.vcpus[0];
    vcpu.guest_table = Some(l4);
    vcpu.regs.rip = image.entry;
    vcpu.regs.cs = FLAT_KERNEL_CS as u64;
    vcpu.regs.ss = FLAT_KERNEL_SS as u64;
    vcpu.regs.rsp = layout.stack_top();
    vcpu.regs.rsi = layout.start_info.va;
    vcpu.regs.rflags = (1 << 9) | 2; // IF | reserved bit 1
    log::info!(
        "Dom0: {} KiB, kernel {:#x}-{:#x}, entry {:#x}, start_info {:#x}, {} page-table frames, module {} bytes",
        nr_pages * 4,
        layout.kernel.va,
        layout.kernel.end_va(),
        image.entry,
        layout.start_info.va,
        layout.nr_pt_frames,
        module.len()
    );
    Ok(dom)
}

/// Write the bootstrap page tables mapping `[virt_base, end)` onto pfns 0.., with the
/// page-table frames themselves read-only (entries from `xen_image::pagetables`, the same
/// generator Dom0's domain builder uses). Returns the L4's machine frame.
fn build_page_tables(layout: &Layout, p2m: &[Mfn]) -> Mfn {
    let mut mem = DirectMap;
    let tables = BootstrapTables::new(layout);
    for e in tables.entries(|pfn| p2m[pfn as usize].0) {
        mem.write_entry(p2m[e.table_pfn as usize], e.index, e.value);
    }
    p2m[tables.l4_pfn() as usize]
}
