//! Start of day: from the bootloader's hand-off to Dom0's first instruction.

use crate::arch::x86_64::{cpu, paging, serial, timer};
use crate::arch::x86_64::paging::{DirectMap, PTE_NX, PTE_PCD, PTE_PWT, PTE_RW, PTE_USER};
use crate::hv::{Hypervisor, HV};
use crate::layout::{DIRECT_MAP_BASE, M2P_BASE, MMIO_BASE};
use crate::mm::{FrameAllocator, FrameTable, Mfn};
use crate::regs::TrapFrame;
use alloc::string::String;
use alloc::vec::Vec;
use bootloader_api::info::MemoryRegionKind;
use bootloader_api::BootInfo;
use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Hypervisor heap: frame table, domain state, buffers.
const HEAP_SIZE: u64 = 16 * 1024 * 1024;
/// Dom0's memory unless `dom0_mem=` says otherwise.
const DEFAULT_DOM0_MEM: u64 = 64 * 1024 * 1024;

pub fn start(boot_info: &'static mut BootInfo) -> ! {
    crate::IMAGE_OFFSET.store(boot_info.kernel_image_offset, core::sync::atomic::Ordering::Relaxed);
    serial::init();
    crate::console::init(log::LevelFilter::Info);
    timer::mask_pic();
    cpu::init();
    log::info!("Xen-style hypervisor {} starting (x86-64 PV ABI, interface 4.19)", env!("CARGO_PKG_VERSION"));

    let (mut alloc, total_pages, max_mfn, e820) = init_memory(boot_info);
    let frames = FrameTable::new(max_mfn);
    let idle_l4 = paging::init(&mut alloc);
    let m2p_frames = map_m2p(&mut alloc, idle_l4, max_mfn);

    let apic_virt = MMIO_BASE;
    paging::map_page(&mut alloc, idle_l4, apic_virt, timer::apic_phys_base(), PTE_RW | PTE_PCD | PTE_PWT | PTE_NX, 0);
    let xen_l4_slots = paging::hole_slots(idle_l4);
    let boot_tsc = timer::rdtsc();
    // 20 ms of PIT: about 24k PIT ticks, so the TSC and APIC rates are good to ~0.01%.
    let (tsc_hz, apic_per_ms) = timer::calibrate(apic_virt, 20);
    let wallclock = timer::rtc_unix_seconds();
    crate::time::init(boot_tsc, tsc_hz, wallclock);
    timer::enable_apic();
    log::info!("TSC {} kHz, APIC timer {} ticks/ms, wall clock {} (Unix)", tsc_hz / 1000, apic_per_ms, wallclock);
    log::info!("memory: {} MiB usable, {} MiB free after hypervisor setup", total_pages / 256, alloc.free_count() / 256);

    crate::arch::x86_64::power::init(boot_info.rsdp_addr.into_option());
    let (bundle_bytes, cmdline) = boot_bundle(boot_info);
    if option_str(&cmdline, "guest_console") == Some("serial") {
        crate::hypercall::console_io::GUEST_TO_SERIAL.store(true, core::sync::atomic::Ordering::Relaxed);
    }
    if let Some(level) = option_str(&cmdline, "loglvl").and_then(|l| l.parse::<log::LevelFilter>().ok()) {
        log::set_max_level(level);
    }
    let mut hv = Hypervisor {
        frames,
        alloc,
        xen_l4_slots,
        idle_l4,
        domains: Vec::new(),
        current: (0, 0),
        total_pages,
        max_mfn,
        cmdline: cmdline.clone(),
        e820,
        m2p_frames,
        scheduler: choose_scheduler(&cmdline),
        need_resched: false,
        sched_deadline: None,
        wake_check: false,
        next_domid: 1,
        orphan_frames: Vec::new(),
    };
    let bundle = match xen_image::Bundle::parse(bundle_bytes) {
        Ok(b) => b,
        Err(e) => fatal(format_args!("boot bundle unreadable: {e}")),
    };
    let Some(kernel) = bundle.file("dom0.elf") else { fatal(format_args!("boot bundle has no dom0.elf")) };
    let dom0_mem = option_bytes(&cmdline, "dom0_mem").unwrap_or(DEFAULT_DOM0_MEM);
    let dom0_cmdline = option_str(&cmdline, "dom0_args").unwrap_or("");
    let dom0 = match crate::domain::dom0::build(&mut hv, kernel, bundle_bytes, dom0_mem / 4096, dom0_cmdline) {
        Ok(d) => d,
        Err(e) => fatal(format_args!("cannot build Dom0: {e:?}")),
    };
    let regs = dom0.vcpus[0].regs;
    let l4 = dom0.vcpus[0].guest_table.expect("builder sets CR3");
    hv.domains.push(dom0);
    // Dom0's vCPU joins the scheduler and is dispatched first.
    let now = crate::sched::now();
    let dom0_vcpu = crate::scheduler::VcpuRef::new(0, 0);
    if let Err(e) = hv.scheduler.add_vcpu(dom0_vcpu, crate::scheduler::SchedParams::default(), now) {
        fatal(format_args!("scheduler refused Dom0: {e:?}"));
    }
    hv.domains[0].vcpus[0].online = true;
    crate::sched::sync(&mut hv, 0, 0, now);
    let first = hv.scheduler.schedule(now);
    hv.sched_deadline = first.run_until;
    hv.need_resched = false;
    *HV.lock() = Some(hv);

    if option_str(&cmdline, "crash_test") == Some("hypervisor") {
        // Test knob: prove a hypervisor fault ends in a register dump, a backtrace and a
        // failing exit status (the QEMU scenario "crash paths" boots with it).
        log::warn!("crash_test=hypervisor: faulting on purpose");
        // SAFETY: deliberately unsound-looking but harmless: the address is unmapped in the
        // hypervisor's tables, so the read faults and the fault handler never returns.
        unsafe { core::ptr::read_volatile(0x10 as *const u64) };
    }
    log::info!("entering Dom0");
    paging::load_cr3(l4);
    enter_guest(&regs)
}

/// The scheduler `sched=` names (credit unless told otherwise; an unknown name is reported
/// and the default used, as Xen does).
fn choose_scheduler(cmdline: &str) -> alloc::boxed::Box<dyn crate::scheduler::Scheduler> {
    use crate::scheduler::{from_name, DEFAULT_SCHEDULER};
    let wanted = option_str(cmdline, "sched").unwrap_or(DEFAULT_SCHEDULER);
    let scheduler = from_name(wanted).unwrap_or_else(|| {
        log::warn!("unknown scheduler sched={wanted}: using {DEFAULT_SCHEDULER}");
        from_name(DEFAULT_SCHEDULER).expect("the default scheduler exists")
    });
    log::info!("scheduler: {}", scheduler.name());
    scheduler
}

/// Stop with a clear line: the hypervisor cannot run without a Dom0.
fn fatal(why: core::fmt::Arguments) -> ! {
    log::error!("fatal: {why}");
    crate::arch::x86_64::power::fail(4)
}

/// Heap, frame allocator and the machine memory facts from the bootloader's map.
fn init_memory(boot_info: &BootInfo) -> (FrameAllocator, u64, u64, Vec<(u64, u64, u32)>) {
    let regions = &boot_info.memory_regions;
    let usable = |k: MemoryRegionKind| k == MemoryRegionKind::Usable;
    let max_addr = regions
        .iter()
        .filter(|r| matches!(r.kind, MemoryRegionKind::Usable | MemoryRegionKind::Bootloader))
        .map(|r| r.end)
        .max()
        .unwrap_or(0);
    let max_mfn = max_addr.div_ceil(4096);
    // The heap comes first, from the largest usable region (the allocator needs it).
    let heap_region = regions
        .iter()
        .filter(|r| usable(r.kind) && r.end - r.start >= HEAP_SIZE)
        .max_by_key(|r| r.end - r.start)
        .expect("no memory region large enough for the hypervisor heap");
    let heap_start = heap_region.start.next_multiple_of(4096);
    // SAFETY: the range is usable RAM reported by the bootloader, mapped by the direct map,
    // and handed to nothing else (the frame allocator below skips it).
    unsafe { HEAP.lock().init((DIRECT_MAP_BASE + heap_start) as *mut u8, HEAP_SIZE as usize) };
    let heap_end = heap_start + HEAP_SIZE;

    let mut alloc = FrameAllocator::new(max_mfn);
    let mut total = 0;
    let mut e820 = Vec::new();
    for r in regions.iter() {
        let ty = match r.kind {
            MemoryRegionKind::Usable | MemoryRegionKind::Bootloader => 1,
            MemoryRegionKind::UnknownBios(t) => t,
            _ => 2,
        };
        e820.push((r.start, r.end - r.start, ty));
        if !usable(r.kind) {
            continue;
        }
        let start = r.start.next_multiple_of(4096);
        let end = r.end & !0xfff;
        total += end.saturating_sub(start) / 4096;
        // Keep frame 0 and the heap out of the allocator.
        for (s, e) in [(start.max(4096), end.min(heap_start)), (start.max(heap_end).max(4096), end)] {
            if e > s {
                let _ = alloc.add_free_range(Mfn(s / 4096), (e - s) / 4096);
            }
        }
    }
    (alloc, total, max_mfn, e820)
}

/// Map the machine-to-physical table read-only and user-readable at slot 256, as Xen does.
fn map_m2p(alloc: &mut FrameAllocator, l4: Mfn, max_mfn: u64) -> Vec<Mfn> {
    // Whole 2 MiB extents, as `XENMEM_machphys_mfn_list` reports them.
    let nr = (max_mfn * 8).div_ceil(4096).next_multiple_of(512);
    let first = alloc.alloc_contiguous(nr, 512).expect("no memory for the M2P");
    let mut frames = Vec::with_capacity(nr as usize);
    for i in 0..nr {
        let mfn = Mfn(first.0 + i);
        // Fill with "invalid" (all ones) until frames are given to guests.
        let mut mem = DirectMap;
        for slot in 0..512 {
            crate::mm::FrameMemory::write_entry(&mut mem, mfn, slot, u64::MAX);
        }
        paging::map_page(alloc, l4, M2P_BASE + i * 4096, mfn.addr(), PTE_USER | PTE_NX, PTE_USER);
        frames.push(mfn);
    }
    frames
}

/// The ramdisk (our boot bundle) and the hypervisor command line stored in it.
fn boot_bundle(boot_info: &BootInfo) -> (&'static [u8], String) {
    let Some(addr) = boot_info.ramdisk_addr.into_option() else { fatal(format_args!("no boot bundle (ramdisk) was loaded")) };
    // SAFETY: the bootloader mapped the ramdisk at `addr` for `ramdisk_len` bytes and never
    // reuses that memory; we only read it.
    let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, boot_info.ramdisk_len as usize) };
    let cmdline = xen_image::Bundle::parse(bytes)
        .ok()
        .and_then(|b| b.file("xen.cmdline"))
        .map(|c| String::from_utf8_lossy(c).trim().into())
        .unwrap_or_default();
    log::info!("boot bundle: {} bytes; command line: '{cmdline}'", bytes.len());
    (bytes, cmdline)
}

/// `key=value` from the command line.
fn option_str<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline.split_whitespace().find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// `key=64M` style sizes.
fn option_bytes(cmdline: &str, key: &str) -> Option<u64> {
    let v = option_str(cmdline, key)?;
    let (num, mul) = match v.as_bytes().last()? {
        b'K' | b'k' => (&v[..v.len() - 1], 1 << 10),
        b'M' | b'm' => (&v[..v.len() - 1], 1 << 20),
        b'G' | b'g' => (&v[..v.len() - 1], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mul)
}

/// Drop to the guest: put its registers where every later trap frame will be (the top of the
/// guest-entry stack) and return through the common exit path.
fn enter_guest(regs: &TrapFrame) -> ! {
    // SAFETY: `HYPERVISOR_STACK_TOP` was set by `cpu::init`; the frame is copied to the top of
    // that stack, which nothing else uses yet, and the asm below pops it exactly as the trap
    // exit path does, ending in `iretq` to the guest's ring-3 selectors.
    unsafe {
        let top = cpu::HYPERVISOR_STACK_TOP;
        let frame = (top - core::mem::size_of::<TrapFrame>() as u64) as *mut TrapFrame;
        frame.write(*regs);
        core::arch::asm!(
            "mov rsp, {0}",
            "pop r15", "pop r14", "pop r13", "pop r12", "pop r11", "pop r10", "pop r9", "pop r8",
            "pop rbp", "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rbx", "pop rax",
            "add rsp, 16",
            "iretq",
            in(reg) frame,
            options(noreturn)
        );
    }
}
