//! What happens on every entry from a guest: hypercalls, guest exceptions reflected into the
//! guest kernel through Xen's bounce frame, timer interrupts — and, on the way out, event
//! upcalls and scheduling. Faults in hypervisor context end here too, as a panic report.

use crate::arch::x86_64::{paging, power, serial, timer};
use crate::hv::{self, Hypervisor};
use crate::mm::Errno;
use crate::regs::{TrapFrame, SYSCALL_VECTOR};
use crate::shared::SharedInfoPage;
use crate::{hypercall, sched};
use xen_abi::x86::{FLAT_KERNEL_CS, FLAT_KERNEL_SS, TI_SET_IF};

const RFLAGS_IF: u64 = 1 << 9;
const RFLAGS_TF: u64 = 1 << 8;
const RFLAGS_NT: u64 = 1 << 14;
const RFLAGS_RF: u64 = 1 << 16;
const RFLAGS_VM: u64 = 1 << 17;
const RFLAGS_AC: u64 = 1 << 18;

const VEC_GP: u64 = 13;
const VEC_PF: u64 = 14;
/// #PF error-code bit saying the access came from user mode.
const PFEC_USER: u64 = 1 << 2;

/// Vectors whose exceptions carry an error code the guest must see.
fn has_error_code(vector: u64) -> bool {
    matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30)
}

/// Called by the entry stubs with the saved frame on the hypervisor stack.
#[no_mangle]
pub extern "C" fn trap_entry(frame: &mut TrapFrame) {
    if !frame.from_guest() {
        hypervisor_trap(frame);
        return;
    }
    let mut hv = hv::lock();
    let tick = frame.vector == timer::TIMER_VECTOR as u64;
    match frame.vector {
        SYSCALL_VECTOR => {
            if hv.current_vcpu().in_kernel {
                hypercall::dispatch(&mut hv, frame);
            } else {
                guest_syscall(&mut hv, frame);
            }
        }
        v if v == timer::TIMER_VECTOR as u64 => {
            sched::timer_fired();
            timer::eoi();
        }
        v if v == timer::SPURIOUS_VECTOR as u64 => {}
        v if v < 32 => guest_exception(&mut hv, frame, v),
        v => {
            log::warn!("unexpected interrupt vector {v:#x} while a guest ran");
            timer::eoi();
        }
    }
    sched::leave_to_guest(hv, frame, tick);
}

/// Reflect an exception the guest caused into its own handler (its trap table).
fn guest_exception(hv: &mut Hypervisor, frame: &mut TrapFrame, vector: u64) {
    let vcpu_id = hv.current.1 as u32;
    let shared = SharedInfoPage(hv.current_domain().shared_info);
    let mut vector = vector;
    let mut error_code = frame.error_code;
    if vector == VEC_GP && frame.error_code & 0b010 != 0 && frame.error_code & 1 == 0 {
        // `int n` through a DPL0 gate: reflect vector n if the guest's trap table lets the
        // current mode raise it (DPL 3: anyone; DPL 1/2: kernel only), as Xen emulates it.
        let n = (frame.error_code >> 3) & 0xff;
        let ti = hv.current_vcpu().trap_table[n as usize];
        let dpl = ti.flags & 3;
        let allowed = ti.address != 0 && (dpl == 3 || (dpl != 0 && hv.current_vcpu().in_kernel));
        if allowed {
            vector = n;
            error_code = 0;
            frame.rip = frame.rip.wrapping_add(2); // skip `int n` (CD nn), as the CPU would
        }
    }
    if vector == VEC_PF {
        shared.set_cr2(vcpu_id, paging::read_cr2());
        if hv.current_vcpu().in_kernel {
            error_code &= !PFEC_USER;
        }
    }
    let ti = hv.current_vcpu().trap_table[vector as usize];
    if ti.address == 0 {
        crash_current(hv, frame, format_args!("unhandled exception {vector} (no trap-table entry)"));
        return;
    }
    let code = has_error_code(vector).then_some(error_code);
    if let Err(e) = bounce(hv, frame, ti.address, code, ti.flags & TI_SET_IF != 0) {
        crash_current(hv, frame, format_args!("cannot deliver exception {vector}: bounce frame fault ({e:?})"));
    }
}

/// A `syscall` from guest user mode: into the guest kernel's syscall callback.
fn guest_syscall(hv: &mut Hypervisor, frame: &mut TrapFrame) {
    let cb = hv.current_vcpu().callbacks;
    if cb.syscall == 0 {
        crash_current(hv, frame, format_args!("syscall from user mode with no syscall callback"));
        return;
    }
    if let Err(e) = bounce(hv, frame, cb.syscall, None, cb.syscall_masks_events) {
        crash_current(hv, frame, format_args!("cannot deliver syscall: bounce frame fault ({e:?})"));
    }
}

/// Build Xen's bounce frame on the guest kernel stack and redirect the vCPU to `handler`.
///
/// Layout, lowest address first: RCX, R11, [error code], RIP, CS, RFLAGS, RSP, SS. The CS slot
/// carries the saved upcall mask in bits 32–39, and the RFLAGS slot's IF is its inverse.
pub fn bounce(hv: &mut Hypervisor, frame: &mut TrapFrame, handler: u64, error_code: Option<u64>, mask_events: bool) -> Result<(), Errno> {
    let vcpu_id = hv.current.1 as u32;
    let shared = SharedInfoPage(hv.current_domain().shared_info);
    let saved_mask = shared.upcall_mask(vcpu_id);
    let from_user = !hv.current_vcpu().in_kernel;
    let mut cs = frame.cs;
    let stack = if from_user {
        let sp = hv.current_vcpu().kernel_sp;
        if sp == 0 {
            return Err(Errno::EFAULT);
        }
        sched::toggle_guest_mode(hv);
        sp
    } else {
        cs &= !3; // kernel-mode context, as Xen marks it
        frame.rsp
    };
    let rflags = (frame.rflags & !RFLAGS_IF) | if saved_mask { 0 } else { RFLAGS_IF };
    let mut words = [0u64; 8];
    let mut n = 0;
    for w in [frame.rcx, frame.r11] {
        words[n] = w;
        n += 1;
    }
    if let Some(code) = error_code {
        words[n] = code;
        n += 1;
    }
    for w in [frame.rip, cs | (saved_mask as u64) << 32, rflags, frame.rsp, frame.ss] {
        words[n] = w;
        n += 1;
    }
    let new_sp = (stack & !15).wrapping_sub(8 * n as u64);
    let bytes: &[u8] = zerocopy::IntoBytes::as_bytes(&words[..n]);
    if let Err(e) = hv.copy_to_guest(new_sp, bytes) {
        if from_user {
            sched::toggle_guest_mode(hv); // leave the vCPU as it was
        }
        return Err(e);
    }
    frame.rsp = new_sp;
    frame.rip = handler;
    frame.cs = FLAT_KERNEL_CS as u64;
    frame.ss = FLAT_KERNEL_SS as u64;
    frame.rflags = (frame.rflags & !(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM | RFLAGS_AC)) | RFLAGS_IF;
    if mask_events {
        shared.set_upcall_mask(vcpu_id, true);
    }
    Ok(())
}

/// Crash the current domain: the guest did something with no way to continue.
pub fn crash_current(hv: &mut Hypervisor, frame: &TrapFrame, why: core::fmt::Arguments) {
    let dom = hv.current_domid();
    log::error!("d{dom}v{}: crashed: {why}", hv.current.1);
    dump_frame(frame);
    sched::domain_crashed(hv);
}

pub fn dump_frame(f: &TrapFrame) {
    log::error!("  rip {:016x} cs {:04x} rflags {:016x} rsp {:016x} ss {:04x}", f.rip, f.cs, f.rflags, f.rsp, f.ss);
    log::error!("  rax {:016x} rbx {:016x} rcx {:016x} rdx {:016x}", f.rax, f.rbx, f.rcx, f.rdx);
    log::error!("  rsi {:016x} rdi {:016x} rbp {:016x} r8  {:016x}", f.rsi, f.rdi, f.rbp, f.r8);
    log::error!("  r9  {:016x} r10 {:016x} r11 {:016x} r12 {:016x}", f.r9, f.r10, f.r11, f.r12);
    log::error!("  r13 {:016x} r14 {:016x} r15 {:016x} vec {} err {:#x}", f.r13, f.r14, f.r15, f.vector, f.error_code);
}

/// An interrupt or exception while the hypervisor itself ran.
fn hypervisor_trap(frame: &mut TrapFrame) {
    match frame.vector {
        // The idle loop halts with interrupts on: the tick just wakes it.
        v if v == timer::TIMER_VECTOR as u64 => {
            sched::timer_fired();
            timer::eoi();
        }
        v if v == timer::SPURIOUS_VECTOR as u64 => {}
        v if v >= 32 => timer::eoi(),
        _ => hypervisor_fault(frame),
    }
}

fn hypervisor_fault(frame: &TrapFrame) -> ! {
    // Nothing else may run now; take the console even if the faulting code held it.
    serial::force_unlock();
    let name = exception_name(frame.vector);
    let cr2 = if frame.vector == VEC_PF { paging::read_cr2() } else { 0 };
    crate::panic_report(format_args!("hypervisor fault: {name} (vector {}) error {:#x} cr2 {cr2:#x}", frame.vector, frame.error_code), Some(frame), frame.rbp);
    power::fail(1)
}

fn exception_name(vector: u64) -> &'static str {
    const NAMES: [&str; 21] = [
        "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
        "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
        "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
        "#PF page fault", "reserved", "#MF x87 error", "#AC alignment check", "#MC machine check",
        "#XM SIMD error", "#VE virtualization",
    ];
    NAMES.get(vector as usize).copied().unwrap_or("exception")
}
