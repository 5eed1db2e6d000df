//! Per-CPU tables: the GDT with Xen's reserved selectors, the TSS and its IST stacks, the IDT,
//! and the MSRs that route `syscall` to the hypervisor. One pCPU for now, so these are statics.

use super::entry::{idt_stubs, syscall_entry, IDT_STUB_SIZE};
use core::arch::asm;
use core::ptr::addr_of;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags, Msr};
use x86_64::structures::gdt::SegmentSelector;
use x86_64::structures::tss::TaskStateSegment;
use x86_64::structures::DescriptorTablePointer;
use x86_64::{PrivilegeLevel, VirtAddr};
use xen_abi::x86::FIRST_RESERVED_GDT_ENTRY;

/// Guest RSP parked by `syscall_entry` while it switches stacks (single pCPU).
#[no_mangle]
pub static mut SYSCALL_GUEST_RSP: u64 = 0;
/// Whether the running vCPU is in guest kernel mode (read by the syscall entry's fast path;
/// kept by `sched::toggle_guest_mode` and on every switch to a vCPU).
#[no_mangle]
pub static GUEST_IN_KERNEL: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(true);
/// Top of the hypervisor stack used for every entry from a guest (also TSS.RSP0).
#[no_mangle]
pub static mut HYPERVISOR_STACK_TOP: u64 = 0;

const STACK_SIZE: usize = 64 * 1024;
const IST_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack<const N: usize>([u8; N]);

static mut GUEST_ENTRY_STACK: Stack<STACK_SIZE> = Stack([0; STACK_SIZE]);
static mut IST_STACKS: [Stack<IST_SIZE>; 3] = [const { Stack([0; IST_SIZE]) }; 3];

/// IST slots (1-based in the IDT gate) for the exceptions that must not trust RSP.
pub const IST_DOUBLE_FAULT: u8 = 1;
pub const IST_NMI: u8 = 2;
pub const IST_MACHINE_CHECK: u8 = 3;

/// Xen's reserved GDT entries start at entry 7168; guests see the same selector numbers.
const GDT_ENTRIES: usize = FIRST_RESERVED_GDT_ENTRY + 16;
const IDX_HV_CS: usize = FIRST_RESERVED_GDT_ENTRY + 1; // 0xe008
const IDX_HV_DS: usize = FIRST_RESERVED_GDT_ENTRY + 2; // 0xe010
const IDX_GUEST_CS32: usize = FIRST_RESERVED_GDT_ENTRY + 4; // 0xe023
const IDX_GUEST_DS: usize = FIRST_RESERVED_GDT_ENTRY + 5; // 0xe02b
const IDX_GUEST_CS64: usize = FIRST_RESERVED_GDT_ENTRY + 6; // 0xe033
const IDX_TSS: usize = FIRST_RESERVED_GDT_ENTRY + 8; // 0xe040, two entries

#[repr(C, align(4096))]
struct Gdt([u64; GDT_ENTRIES]);
static mut GDT: Gdt = Gdt([0; GDT_ENTRIES]);
static mut TSS: TaskStateSegment = TaskStateSegment::new();

#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct IdtGate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}
static mut IDT: [IdtGate; 256] = [IdtGate {
    offset_low: 0,
    selector: 0,
    ist: 0,
    type_attr: 0,
    offset_mid: 0,
    offset_high: 0,
    reserved: 0,
}; 256];

const fn selector(index: usize, rpl: u16) -> u16 {
    ((index as u16) << 3) | rpl
}

/// The hypervisor's code selector (`__HYPERVISOR_CS`).
pub const HV_CS: u16 = selector(IDX_HV_CS, 0);
const HV_DS: u16 = selector(IDX_HV_DS, 0);

/// Load the GDT, TSS, IDT and syscall MSRs, and turn on the CPU protections we rely on.
pub fn init() {
    // SAFETY: single pCPU, called once at boot before interrupts are enabled, so nothing else
    // touches these statics; the descriptors written are valid flat 64-bit descriptors.
    unsafe {
        let stack_top = addr_of!(GUEST_ENTRY_STACK) as u64 + STACK_SIZE as u64;
        HYPERVISOR_STACK_TOP = stack_top;
        let tss = &mut *core::ptr::addr_of_mut!(TSS);
        tss.privilege_stack_table[0] = VirtAddr::new(stack_top);
        for (i, ist) in (*core::ptr::addr_of!(IST_STACKS)).iter().enumerate() {
            tss.interrupt_stack_table[i] = VirtAddr::new(ist as *const _ as u64 + IST_SIZE as u64);
        }
        // Deny guests every I/O port: the I/O bitmap offset points past the TSS limit.
        tss.iomap_base = core::mem::size_of::<TaskStateSegment>() as u16;

        let gdt = &mut (*core::ptr::addr_of_mut!(GDT)).0;
        gdt[IDX_HV_CS] = 0x00af_9b00_0000_ffff; // 64-bit code, DPL0
        gdt[IDX_HV_DS] = 0x00cf_9300_0000_ffff; // data, DPL0
        gdt[IDX_GUEST_CS32] = 0x00cf_fb00_0000_ffff; // 32-bit code, DPL3
        gdt[IDX_GUEST_DS] = 0x00cf_f300_0000_ffff; // data, DPL3
        gdt[IDX_GUEST_CS64] = 0x00af_fb00_0000_ffff; // 64-bit code, DPL3
        let tss_base = core::ptr::addr_of!(TSS) as u64;
        let tss_limit = (core::mem::size_of::<TaskStateSegment>() - 1) as u64;
        gdt[IDX_TSS] = tss_limit & 0xffff
            | (tss_base & 0xff_ffff) << 16
            | 0x89 << 40 // present, 64-bit available TSS
            | (tss_limit >> 16 & 0xf) << 48
            | (tss_base >> 24 & 0xff) << 56;
        gdt[IDX_TSS + 1] = tss_base >> 32;

        let ptr = DescriptorTablePointer {
            limit: (GDT_ENTRIES * 8 - 1) as u16,
            base: VirtAddr::new(gdt.as_ptr() as u64),
        };
        x86_64::instructions::tables::lgdt(&ptr);
        reload_segments();
        x86_64::instructions::tables::load_tss(SegmentSelector::new(IDX_TSS as u16, PrivilegeLevel::Ring0));

        init_idt();
        init_syscall();
        enable_protections();
    }
}

/// Reload CS and the data segments with the new GDT's selectors.
///
/// # Safety
/// The GDT must hold valid descriptors at `HV_CS` and `HV_DS`.
unsafe fn reload_segments() {
    // SAFETY: (caller) the selectors index valid flat descriptors; the far return reloads CS.
    unsafe {
        asm!(
            "push {cs}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {ds:x}",
            "mov es, {ds:x}",
            "mov ss, {ds:x}",
            "xor {tmp:e}, {tmp:e}",
            "mov fs, {tmp:x}",
            "mov gs, {tmp:x}",
            cs = in(reg) HV_CS as u64,
            ds = in(reg) HV_DS as u64,
            tmp = out(reg) _,
        );
    }
}

/// # Safety
/// Single pCPU boot path; `idt_stubs` holds 256 stubs `IDT_STUB_SIZE` bytes apart.
unsafe fn init_idt() {
    // SAFETY: (caller) nothing else uses the IDT yet.
    let idt = unsafe { &mut *core::ptr::addr_of_mut!(IDT) };
    for (vector, gate) in idt.iter_mut().enumerate() {
        let handler = idt_stubs as usize as u64 + (vector * IDT_STUB_SIZE) as u64;
        // #BP and #OF may be raised by guests with int3/into, as on Xen; every other
        // vector is DPL0, so a guest `int n` faults with #GP and is reflected by software.
        let dpl: u8 = if vector == 3 || vector == 4 { 3 } else { 0 };
        let ist = match vector {
            2 => IST_NMI,
            8 => IST_DOUBLE_FAULT,
            18 => IST_MACHINE_CHECK,
            _ => 0,
        };
        *gate = IdtGate {
            offset_low: handler as u16,
            selector: HV_CS,
            ist,
            type_attr: 0x8e | dpl << 5, // present, 64-bit interrupt gate (IF cleared on entry)
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        };
    }
    let ptr = DescriptorTablePointer { limit: (256 * 16 - 1) as u16, base: VirtAddr::new(idt.as_ptr() as u64) };
    // SAFETY: the table is a static that lives forever and holds valid gates.
    unsafe { x86_64::instructions::tables::lidt(&ptr) };
}

const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_FMASK: u32 = 0xc000_0084;

/// # Safety
/// Single pCPU boot path, after the GDT is loaded.
unsafe fn init_syscall() {
    // STAR[47:32]: syscall CS (SS = +8). STAR[63:48]: sysret base; 64-bit sysret uses base+16
    // for CS and base+8 for SS, which with base 0xe020 gives Xen's 0xe033/0xe02b.
    let sysret_base = (selector(IDX_GUEST_CS32, 0)) as u64;
    let star = (sysret_base << 48) | ((HV_CS as u64) << 32);
    // Clear IF (run the hypervisor with interrupts off), TF, DF, AC, NT and RF on entry.
    let fmask: u64 = (1 << 9) | (1 << 8) | (1 << 10) | (1 << 18) | (1 << 14) | (1 << 16);
    // SAFETY: (caller) these MSRs exist on every x86-64 CPU and the values are valid.
    unsafe {
        Msr::new(MSR_STAR).write(star);
        Msr::new(MSR_LSTAR).write(syscall_entry as usize as u64);
        Msr::new(MSR_FMASK).write(fmask);
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS | EferFlags::NO_EXECUTE_ENABLE));
    }
}

/// Write protection in ring 0 (so read-only guest page-table mappings hold for us too), global
/// pages off, and
/// SMEP/SMAP when the CPU has them: the hypervisor never executes or touches guest (user)
/// pages directly — all guest memory goes through the checked accessors and the direct map.
///
/// # Safety
/// Boot path; the hypervisor's own mappings are all supervisor pages.
unsafe fn enable_protections() {
    // SAFETY: CPUID has no side effects.
    let leaf7 = unsafe { core::arch::x86_64::__cpuid_count(7, 0) };
    // SAFETY: (caller) setting WP/SMEP/SMAP does not affect the hypervisor's own mappings.
    unsafe {
        Cr0::update(|f| f.insert(Cr0Flags::WRITE_PROTECT));
        Cr4::update(|f| {
            if leaf7.ebx & (1 << 7) != 0 {
                f.insert(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION);
            }
            if leaf7.ebx & (1 << 20) != 0 {
                f.insert(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION);
            }
            // Guests may set the G bit in their entries; with global pages off it means
            // nothing, so one domain's mappings can never survive the CR3 switch to another.
            f.remove(Cr4Flags::PAGE_GLOBAL);
        });
    }
}

/// Load a guest's FS/GS bases (the hypervisor itself never uses them).
pub fn set_guest_segment_bases(fs: u64, gs: u64) {
    // SAFETY: FS_BASE/GS_BASE writes with canonical values (checked by the callers).
    unsafe {
        Msr::new(0xc000_0100).write(fs);
        Msr::new(0xc000_0101).write(gs);
    }
}
