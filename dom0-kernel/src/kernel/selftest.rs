//! `selftest`: the PV CPU model exercised from Dom0 — exceptions reflected into our own
//! handlers, a timer event on time, M2P and page-table rules — one PASS/FAIL line each.

use super::checks::{mfn_of, restore_scratch, scratch_va, Checks};
use super::info::errname;
use super::shell_loop::CmdResult;
use alloc::format;
use alloc::string::String;
use pvguest::traps::Fault;
use pvguest::{events, hypercall, probe, time};
use xen_abi::errno::EBUSY;
use xen_abi::mm::*;

fn expect_fault(got: Option<Fault>, vector: u8) -> Result<String, String> {
    match got {
        Some(f) if f.vector == vector => Ok(format!("vector {} error {:#x} handled by Dom0", f.vector, f.error_code)),
        Some(f) => Err(format!("expected vector {vector}, got vector {}", f.vector)),
        None => Err(format!("no exception (expected vector {vector})")),
    }
}

pub fn run() -> CmdResult {
    let mut c = Checks::new("selftest");
    c.check("hypercall page filled by the hypervisor", if hypercall::page_is_filled() { Ok(String::new()) } else { Err("still the image's bytes".into()) });

    // A read of an unmapped address: #PF with CR2 from vcpu_info.
    let addr: u64 = 0x0000_1000_dead_0000;
    let got = probe!("mov {t}, qword ptr [{a}]", a = in(reg) addr, t = out(reg) _);
    c.check("page fault handled by Dom0's handler", match got {
        Some(f) if f.vector == 14 && f.cr2 == addr && f.error_code & 1 == 0 => Ok(format!("cr2 {:#x} error {:#x}", f.cr2, f.error_code)),
        other => Err(format!("got {other:?} for a read of {addr:#x}")),
    });
    c.check("general protection (hlt in a deprivileged kernel)", expect_fault(probe!("hlt"), 13));
    c.check("breakpoint (int3)", expect_fault(probe!("int3"), 3));
    c.check("divide error", expect_fault(probe!("xor edx, edx\n div {d:e}", d = in(reg) 0u64, inout("eax") 1u32 => _, out("edx") _), 0));
    c.check("invalid opcode (ud2)", expect_fault(probe!("ud2"), 6));
    c.check("no exception for an ordinary instruction", match probe!("nop") {
        None => Ok(String::new()),
        Some(f) => Err(format!("spurious {f:?}")),
    });

    c.check("timer event arrives on time", timer_check());
    c.check("M2P readable at the hypervisor's fixed address", m2p_check());

    // The page-table rules, from the guest's side.
    let l4_mfn = mfn_of(pvguest::start_info().pt_base);
    let rw = hypercall::update_va_mapping(scratch_va(), (l4_mfn << 12) | PAGE_PRESENT | PAGE_RW, UVMF_INVLPG);
    c.expect_errno("writable mapping of our own L4 refused (update_va_mapping)", rw, EBUSY);
    let ro = hypercall::update_va_mapping(scratch_va(), (l4_mfn << 12) | PAGE_PRESENT, UVMF_INVLPG);
    c.check("read-only mapping of our own L4 allowed", if ro == 0 {
        // SAFETY: the scratch page now maps our L4 read-only; slot 256 is the hypervisor's.
        let slot256 = unsafe { core::ptr::read_volatile((scratch_va() + 256 * 8) as *const u64) };
        if slot256 & PAGE_PRESENT != 0 { Ok(format!("slot 256 = {slot256:#x}")) } else { Err("hypervisor slot 256 not present".into()) }
    } else {
        Err(format!("refused with {}", errname(ro)))
    });
    let restored = restore_scratch();
    c.check("scratch mapping restored", if restored == 0 { Ok(String::new()) } else { Err(errname(restored)) });
    c.finish()
}

fn timer_check() -> Result<String, String> {
    let port = timer_port()?;
    let _ = events::take(port);
    let deadline = time::now_ns() + 20_000_000;
    let rc = hypercall::set_timer_op(deadline);
    if rc != 0 {
        return Err(format!("set_timer_op failed: {}", errname(rc)));
    }
    // Bounded: a lost timer must fail the check, not hang the shell.
    let give_up = deadline + 2_000_000_000;
    let mut backup_armed = false;
    events::wait_until(|| {
        if events::take(port) {
            return true;
        }
        if !backup_armed && time::now_ns() > deadline {
            backup_armed = true;
            hypercall::set_timer_op(give_up);
        }
        time::now_ns() > give_up
    });
    let now = time::now_ns();
    if now < deadline {
        return Err(format!("fired {} us early", (deadline - now) / 1000));
    }
    if now >= give_up {
        return Err("no VIRQ_TIMER within 2 s of the deadline".into());
    }
    Ok(format!("{} us after the deadline", (now - deadline) / 1000))
}

fn timer_port() -> Result<u32, String> {
    static PORT: spin::Once<u32> = spin::Once::new();
    if let Some(p) = PORT.get() {
        return Ok(*p);
    }
    let p = events::bind_virq(xen_abi::event::VIRQ_TIMER).map_err(|e| format!("bind VIRQ_TIMER: {}", errname(e)))?;
    Ok(*PORT.call_once(|| p))
}

fn m2p_check() -> Result<String, String> {
    let va = scratch_va();
    let mfn = mfn_of(va);
    let pfn = (va - pvguest::start::VIRT_BASE) / 4096;
    let m2p = xen_abi::x86::MACH2PHYS_VIRT_START as *const u64;
    // SAFETY: the hypervisor maps the M2P read-only for guests at this address.
    let entry = unsafe { core::ptr::read_volatile(m2p.add(mfn as usize)) };
    if entry == pfn {
        Ok(format!("M2P[{mfn:#x}] = {pfn:#x}"))
    } else {
        Err(format!("M2P[{mfn:#x}] = {entry:#x}, expected {pfn:#x}"))
    }
}
