//! Entry from the hypervisor: the Xen ELF notes that describe this image to a domain builder,
//! `_start` (RSI = `start_info`, as Xen enters PV kernels), and the start-of-day setup.

use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicPtr, Ordering};
use linked_list_allocator::LockedHeap;
use xen_abi::shared_info::SharedInfo;
use xen_abi::start_info::StartInfo;

/// Virtual address the kernels are linked at (`guest.ld`), announced as `XEN_ELFNOTE_VIRT_BASE`.
pub const VIRT_BASE: u64 = 0xFFFF_FFFF_8000_0000;

const BOOT_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct Stack([u8; BOOT_STACK_SIZE]);
#[no_mangle]
static mut PVGUEST_BOOT_STACK: Stack = Stack([0; BOOT_STACK_SIZE]);

#[repr(C, align(4096))]
struct Page([u8; 4096]);
/// The virtual page `shared_info` is mapped over (its original frame is given up).
static mut SHARED_INFO_PAGE: Page = Page([0; 4096]);

static START_INFO: AtomicPtr<StartInfo> = AtomicPtr::new(core::ptr::null_mut());

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();
/// The heap lives in bss, so its size is part of every guest's memory footprint: DomU kernels
/// take the `small-heap` feature to fit in a few MiB.
#[cfg(not(feature = "small-heap"))]
const HEAP_SIZE: usize = 2 * 1024 * 1024;
#[cfg(feature = "small-heap")]
const HEAP_SIZE: usize = 256 * 1024;
#[repr(C, align(4096))]
struct HeapArea([u8; HEAP_SIZE]);
static mut HEAP_AREA: HeapArea = HeapArea([0; HEAP_SIZE]);

// The Xen notes (`xen/include/public/elfnote.h`): name "Xen", 4-byte aligned fields. The
// hypercall page is a page of this image pre-filled with `ret` (0xc3) so we can tell that the
// builder filled it (XTF's check).
core::arch::global_asm!(
    r#"
    .pushsection .note.Xen, "a", @note
    .macro xen_note_begin type
        .balign 4
        .long 4
        .long 662f - 661f
        .long \type
        .asciz "Xen"
        .balign 4
    661:
    .endm
    .macro xen_note_end
    662:
        .balign 4
    .endm
    .macro xen_note_str type, value
        xen_note_begin \type
        .asciz "\value"
        xen_note_end
    .endm
    .macro xen_note_quad type, value
        xen_note_begin \type
        .quad \value
        xen_note_end
    .endm
    xen_note_str 6, PVGUEST
    xen_note_str 5, xen-3.0
    xen_note_str 8, generic
    xen_note_str 9, yes
    xen_note_str 10, pae_pgdir_above_4gb
    xen_note_quad 3, 0xFFFFFFFF80000000
    xen_note_quad 1, _start
    xen_note_quad 2, hypercall_page
    .popsection

    .pushsection .text.hypercall_page, "ax"
    .balign 4096
    .global hypercall_page
hypercall_page:
    .fill 4096, 1, 0xc3
    .popsection

    .pushsection .text.entry, "ax"
    .global _start
_start:
    lea rsp, [rip + PVGUEST_BOOT_STACK + {stack_size}]
    mov rdi, rsi
    xor ebp, ebp
    call {rust_start}
    ud2
    .popsection
    "#,
    stack_size = const BOOT_STACK_SIZE,
    rust_start = sym rust_start,
);

extern "Rust" {
    /// The kernel's main function.
    fn guest_main(start_info: &'static StartInfo) -> !;
}

extern "C" fn rust_start(start_info: *mut StartInfo) -> ! {
    START_INFO.store(start_info, Ordering::Relaxed);
    if !crate::hypercall::page_is_filled() {
        // Without hypercalls we cannot even say so; spin where a debugger will find us.
        loop {
            core::hint::spin_loop();
        }
    }
    // SAFETY: HEAP_AREA is a static used only as the heap, handed over once.
    unsafe { HEAP.lock().init(addr_of_mut!(HEAP_AREA) as *mut u8, HEAP_SIZE) };
    map_shared_info();
    crate::traps::init();
    crate::events::init();
    // SAFETY: the builder put a valid start_info at this address and it stays mapped; we
    // never write it again.
    let si = unsafe { &*start_info };
    // SAFETY: provided by the kernel crate (the contract of this runtime).
    unsafe { guest_main(si) }
}

/// The `start_info` page the hypervisor (or builder) gave us.
pub fn start_info() -> &'static StartInfo {
    // SAFETY: set once in `rust_start` before any caller can run; the page stays mapped.
    unsafe { &*START_INFO.load(Ordering::Relaxed) }
}

fn map_shared_info() {
    let va = addr_of_mut!(SHARED_INFO_PAGE) as u64;
    let si = START_INFO.load(Ordering::Relaxed);
    // SAFETY: set just before; the builder wrote a valid start_info.
    let machine = unsafe { (*si).shared_info };
    use xen_abi::mm::*;
    let rc = crate::hypercall::update_va_mapping(va, machine | PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY, UVMF_INVLPG);
    if rc != 0 {
        crate::console::fatal(format_args!("cannot map shared_info: error {rc}"));
    }
}

/// The shared_info page, mapped at start of day.
pub fn shared_info() -> *mut SharedInfo {
    addr_of_mut!(SHARED_INFO_PAGE) as *mut SharedInfo
}

/// Machine frame behind a virtual address of our start-of-day region (`virt_base` maps pfn 0,
/// as Xen's builders lay it out), through the P2M list in `start_info.mfn_list`.
pub fn machine_frame(va: u64) -> Option<u64> {
    p2m(va.checked_sub(VIRT_BASE)? / 4096)
}

/// Machine frame of pseudo-physical frame `pfn`, from the P2M list.
fn p2m(pfn: u64) -> Option<u64> {
    let si = start_info();
    if pfn >= si.nr_pages {
        return None;
    }
    // SAFETY: the builder maps the P2M list at `mfn_list` with `nr_pages` entries, and
    // pfn < nr_pages.
    Some(unsafe { core::ptr::read_volatile((si.mfn_list as *const u64).add(pfn as usize)) })
}

/// Virtual address of machine frame `mfn` when it is one of our pages (the XenStore and
/// console rings `start_info` names by MFN): the read-only M2P table gives its pfn, the P2M
/// confirms the frame is ours, and `virt_base` maps pfn 0.
pub fn va_of_machine_frame(mfn: u64) -> Option<u64> {
    use xen_abi::mm::{XenMachphysMapping, XENMEM_MACHPHYS_MAPPING};
    let mut m2p = XenMachphysMapping::default();
    if crate::hypercall::memory_op(XENMEM_MACHPHYS_MAPPING, &mut m2p) != 0 || mfn > m2p.max_mfn {
        return None;
    }
    let entry = m2p.v_start.checked_add(mfn.checked_mul(8)?)?;
    if entry.checked_add(8)? > m2p.v_end {
        return None;
    }
    // SAFETY: the hypervisor maps the M2P read-only for guests over [v_start, v_end), and the
    // entry lies inside it; a stale value is caught by the P2M check below.
    let pfn = unsafe { core::ptr::read_volatile(entry as *const u64) };
    (p2m(pfn)? == mfn).then(|| VIRT_BASE + pfn * 4096)
}
