//! The PV CPU model: trap table, kernel stack, callbacks, `iret`, segment bases, VM assists.

use super::{check_guest_code_address, Args};
use crate::hv::Hypervisor;
use crate::mm::Errno;
use crate::regs::TrapFrame;
use crate::sched;
use crate::shared::SharedInfoPage;
use xen_abi::x86::*;

/// `set_trap_table(trap_info *)`: entries up to the one with address 0; NULL clears all.
pub fn set_trap_table(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let mut va = a.0[0];
    if va == 0 {
        hv.current_vcpu().trap_table.iter_mut().for_each(|t| t.address = 0);
        return Ok(0);
    }
    // At most one entry per vector (plus the terminator) before we call the list malformed.
    for _ in 0..=256 {
        let ti: TrapInfo = hv.read_guest(va)?;
        if ti.address == 0 {
            return Ok(0);
        }
        check_guest_code_address(ti.address)?;
        let mut entry = ti;
        entry.cs = FLAT_KERNEL_CS; // a PV kernel's only code selector
        hv.current_vcpu().trap_table[ti.vector as usize] = entry;
        va = va.checked_add(core::mem::size_of::<TrapInfo>() as u64).ok_or(Errno::EFAULT)?;
    }
    Err(Errno::EINVAL)
}

/// `stack_switch(ss, sp)`: the kernel stack used when an event arrives in user mode.
pub fn stack_switch(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [ss, sp, ..] = a.0;
    let vcpu = hv.current_vcpu();
    vcpu.kernel_ss = ss;
    vcpu.kernel_sp = sp;
    Ok(0)
}

/// `set_callbacks(event, failsafe, syscall)`.
pub fn set_callbacks(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [event, failsafe, syscall, ..] = a.0;
    for addr in [event, failsafe, syscall] {
        if addr != 0 {
            check_guest_code_address(addr)?;
        }
    }
    let cb = &mut hv.current_vcpu().callbacks;
    cb.event = event;
    cb.failsafe = failsafe;
    cb.syscall = syscall;
    cb.syscall_masks_events = false; // as Xen: only callback_op can ask for masking
    Ok(0)
}

/// `callback_op(cmd, arg)`: register or unregister one callback.
pub fn callback_op(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, arg, ..] = a.0;
    match cmd as u32 {
        CALLBACKOP_REGISTER => {
            let reg: CallbackRegister = hv.read_guest(arg)?;
            check_guest_code_address(reg.address)?;
            let masks = reg.flags & CALLBACKF_MASK_EVENTS != 0;
            set_callback(hv, reg.ty, reg.address, masks)
        }
        CALLBACKOP_UNREGISTER => {
            let unreg: CallbackUnregister = hv.read_guest(arg)?;
            set_callback(hv, unreg.ty, 0, false)
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn set_callback(hv: &mut Hypervisor, ty: u16, address: u64, masks_events: bool) -> Result<i64, Errno> {
    let cb = &mut hv.current_vcpu().callbacks;
    match ty {
        CALLBACKTYPE_EVENT => cb.event = address,
        CALLBACKTYPE_FAILSAFE => cb.failsafe = address,
        CALLBACKTYPE_SYSCALL => {
            cb.syscall = address;
            cb.syscall_masks_events = masks_events;
        }
        // 32-bit entry points and the NMI callback: accepted as Xen does for 64-bit guests
        // (XTF registers them), never invoked here — no 32-bit user mode, no guest NMIs.
        CALLBACKTYPE_SYSCALL32 | CALLBACKTYPE_SYSENTER | CALLBACKTYPE_NMI => {}
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

const RFLAGS_IF: u64 = 1 << 9;
/// Flags a guest may set through `iret`: CF, PF, AF, ZF, SF, TF, DF, OF, AC, ID (never IOPL,
/// NT, RF or VM).
const RFLAGS_GUEST_MASK: u64 =
    1 << 0 | 1 << 2 | 1 << 4 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 10 | 1 << 11 | 1 << 18 | 1 << 21;

/// `iret`: return from a bounce frame, possibly to guest user mode.
pub fn iret(hv: &mut Hypervisor, frame: &mut TrapFrame, _a: Args) -> Result<i64, Errno> {
    let ctx: IretContext = match hv.read_guest(frame.rsp) {
        Ok(ctx) => ctx,
        Err(_) => {
            crate::trap::crash_current(hv, frame, format_args!("iret with an unreadable frame at {:#x}", frame.rsp));
            return Ok(frame.rax as i64);
        }
    };
    // Selectors are 16 bits: the bounce frame's CS slot carries the saved upcall mask above
    // them (bits 32-39), which Xen's 16-bit field never sees.
    let cs = (ctx.cs & 0xffff) | 3;
    let ss = (ctx.ss & 0xffff) | 3;
    let to_user = ctx.cs & 3 == 3;
    let valid_selectors = cs == FLAT_RING3_CS64 as u64 && ss == FLAT_RING3_SS64 as u64;
    if !valid_selectors || check_guest_code_address(ctx.rip).is_err() || check_guest_code_address(ctx.rsp).is_err() {
        crate::trap::crash_current(hv, frame, format_args!("iret to an invalid context (cs {:#x} rip {:#x})", ctx.cs, ctx.rip));
        return Ok(frame.rax as i64);
    }
    if to_user && hv.current_vcpu().guest_table_user.is_none() {
        crate::trap::crash_current(hv, frame, format_args!("iret to user mode without a user page table"));
        return Ok(frame.rax as i64);
    }
    if to_user == hv.current_vcpu().in_kernel {
        sched::toggle_guest_mode(hv);
    }
    frame.rip = ctx.rip;
    frame.rsp = ctx.rsp;
    frame.cs = cs;
    frame.ss = ss;
    frame.rflags = (ctx.rflags & RFLAGS_GUEST_MASK) | RFLAGS_IF | 0x2;
    if ctx.flags & VGCF_IN_SYSCALL == 0 {
        frame.r11 = ctx.r11;
        frame.rcx = ctx.rcx;
    }
    let vcpu_id = hv.current.1 as u32;
    SharedInfoPage(hv.current_domain().shared_info).set_upcall_mask(vcpu_id, ctx.rflags & RFLAGS_IF == 0);
    // RAX is part of the restored context, not a result.
    Ok(ctx.rax as i64)
}

/// `set_segment_base(which, base)`.
pub fn set_segment_base(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [which, base, ..] = a.0;
    let canonical = ((base as i64) << 16 >> 16) as u64 == base;
    if !canonical {
        return Err(Errno::EINVAL);
    }
    let vcpu = hv.current_vcpu();
    match which as u32 {
        SEGBASE_FS => vcpu.fs_base = base,
        SEGBASE_GS_USER => vcpu.gs_base_user = base,
        SEGBASE_GS_KERNEL => vcpu.gs_base_kernel = base,
        // Loading a user GS selector needs guest descriptor tables, which we do not offer.
        SEGBASE_GS_USER_SEL => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    }
    let gs = if vcpu.in_kernel { vcpu.gs_base_kernel } else { vcpu.gs_base_user };
    crate::arch::x86_64::cpu::set_guest_segment_bases(vcpu.fs_base, gs);
    Ok(0)
}

/// Xen's VM-assist types for 64-bit PV guests. None is offered here: writable page tables
/// (trap-and-emulate of guest PTE writes) and the rest are not implemented, so enabling one
/// fails instead of pretending; disabling one is a no-op that succeeds, as it is already off.
const KNOWN_ASSISTS: [u32; 7] = [
    VMASST_TYPE_4GB_SEGMENTS,
    VMASST_TYPE_4GB_SEGMENTS_NOTIFY,
    VMASST_TYPE_WRITABLE_PAGETABLES,
    VMASST_TYPE_PAE_EXTENDED_CR3,
    VMASST_TYPE_ARCHITECTURAL_IOPL,
    VMASST_TYPE_RUNSTATE_UPDATE_FLAG,
    VMASST_TYPE_M2P_STRICT,
];

/// `vm_assist(cmd, type)`.
pub fn vm_assist(_hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, ty, ..] = a.0;
    let known = u32::try_from(ty).is_ok_and(|t| KNOWN_ASSISTS.contains(&t));
    match cmd as u32 {
        VMASST_CMD_ENABLE => Err(Errno::EINVAL),
        VMASST_CMD_DISABLE if known => Ok(0),
        VMASST_CMD_DISABLE => Err(Errno::EINVAL),
        _ => Err(Errno::ENOSYS),
    }
}
