//! `hostile`: Dom0 attacks the hypervisor with invalid hypercalls — bad pointers, frames it
//! does not own, a writable mapping of its own L4, unknown numbers — and checks each is
//! answered with the right errno. The shell staying alive afterwards is the other half.

use super::checks::{mfn_of, restore_scratch, scratch_va, Checks};
use super::shell_loop::CmdResult;
use pvguest::hypercall::{self, raw};
use xen_abi::errno::*;
use xen_abi::hypercall::nr;
use xen_abi::mm::*;

/// Unmapped, hypervisor-hole and non-canonical addresses.
const UNMAPPED: u64 = 0x0000_2000_0000_0000;
const IN_HOLE: u64 = 0xFFFF_8300_0000_0000;
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;

pub fn run() -> CmdResult {
    let mut c = Checks::new("hostile");
    let cw = xen_abi::console::CONSOLEIO_WRITE as u64;
    c.expect_errno("console_io from an unmapped buffer", raw(nr::CONSOLE_IO, [cw, 16, UNMAPPED, 0, 0]), EFAULT);
    c.expect_errno("console_io from the hypervisor's memory", raw(nr::CONSOLE_IO, [cw, 16, IN_HOLE, 0, 0]), EFAULT);
    c.expect_errno("xen_version into a non-canonical buffer", raw(nr::XEN_VERSION, [xen_abi::version::XENVER_EXTRAVERSION as u64, NON_CANONICAL, 0, 0, 0]), EFAULT);
    // Our bootstrap page tables are mapped read-only: the hypervisor must not write there for us.
    let page_tables = pvguest::start_info().pt_base;
    c.expect_errno("xen_version into our read-only page tables", raw(nr::XEN_VERSION, [xen_abi::version::XENVER_EXTRAVERSION as u64, page_tables, 0, 0, 0]), EFAULT);

    // Frames that are not ours: the hypervisor's M2P frames.
    let mut m2p_mfn = 0u64;
    let mut list = XenMachphysMfnList { max_extents: 1, _pad0: 0, extent_start: &mut m2p_mfn as *mut u64 as u64, nr_extents: 0, _pad1: 0 };
    let rc = hypercall::memory_op(XENMEM_MACHPHYS_MFN_LIST, &mut list);
    c.check("XENMEM_machphys_mfn_list", if rc == 0 && list.nr_extents == 1 { Ok(alloc::format!("M2P starts at mfn {m2p_mfn:#x}")) } else { Err(alloc::format!("rc {rc}")) });
    let va = scratch_va();
    c.expect_errno("writable mapping of a hypervisor frame", hypercall::update_va_mapping(va, (m2p_mfn << 12) | PAGE_PRESENT | PAGE_RW, UVMF_INVLPG), EBUSY);
    c.expect_errno("read-only mapping of a hypervisor frame", hypercall::update_va_mapping(va, (m2p_mfn << 12) | PAGE_PRESENT, UVMF_INVLPG), EBUSY);
    c.expect_errno("mapping a frame beyond RAM", hypercall::update_va_mapping(va, (0xf_ffff_fff0u64 << 12) | PAGE_PRESENT, UVMF_INVLPG), EPERM);
    c.expect_errno("mapping with cache-attribute bits", hypercall::update_va_mapping(va, (mfn_of(va) << 12) | PAGE_PRESENT | PAGE_PCD, UVMF_INVLPG), EINVAL);
    c.expect_errno("update_va_mapping inside the hypervisor hole", hypercall::update_va_mapping(IN_HOLE, 0, UVMF_INVLPG), EINVAL);

    let l4_mfn = mfn_of(pvguest::start_info().pt_base);
    c.expect_errno("writable mapping of our own L4", hypercall::update_va_mapping(va, (l4_mfn << 12) | PAGE_PRESENT | PAGE_RW, UVMF_INVLPG), EBUSY);
    let slot256 = MmuUpdate { ptr: (l4_mfn << 12) + 256 * 8, val: 0 };
    c.expect_errno("mmu_update of a hypervisor L4 slot", hypercall::mmu_update(&[slot256], None, xen_abi::domid::DOMID_SELF as u64), EINVAL);
    let unaligned = MmuUpdate { ptr: (l4_mfn << 12) + 4, val: 0 };
    c.expect_errno("mmu_update with a misaligned pointer", hypercall::mmu_update(&[unaligned], None, xen_abi::domid::DOMID_SELF as u64), EINVAL);
    c.expect_errno("mmu_update with an unmapped request array", raw(nr::MMU_UPDATE, [UNMAPPED, 1, 0, xen_abi::domid::DOMID_SELF as u64, 0]), EFAULT);
    // DOMID_INVALID can never name a live domain (ids wrap below the reserved range).
    c.expect_errno("mmu_update on behalf of a domain that does not exist", hypercall::mmu_update(&[], None, u64::from(xen_abi::domid::DOMID_INVALID)), ESRCH);
    let pin_again = MmuextOp { cmd: MMUEXT_PIN_L4_TABLE, _pad: 0, arg1: l4_mfn, arg2: 0 };
    c.expect_errno("pinning our L4 a second time", hypercall::mmuext_op(&[pin_again], None, xen_abi::domid::DOMID_SELF as u64), EINVAL);
    let pin_foreign = MmuextOp { cmd: MMUEXT_PIN_L1_TABLE, _pad: 0, arg1: m2p_mfn, arg2: 0 };
    c.expect_errno("pinning a hypervisor frame", hypercall::mmuext_op(&[pin_foreign], None, xen_abi::domid::DOMID_SELF as u64), EINVAL);

    let invlpg = MmuextOp { cmd: MMUEXT_INVLPG_LOCAL, _pad: 0, arg1: NON_CANONICAL, arg2: 0 };
    c.expect_errno("invlpg of a non-canonical address", hypercall::mmuext_op(&[invlpg], None, xen_abi::domid::DOMID_SELF as u64), EINVAL);
    // shared_info is written by the hypervisor behind our back: it must never become a table.
    let shared_mfn = pvguest::start_info().shared_info >> 12;
    let pin_shared = MmuextOp { cmd: MMUEXT_PIN_L1_TABLE, _pad: 0, arg1: shared_mfn, arg2: 0 };
    c.expect_errno("pinning shared_info as a page table", hypercall::mmuext_op(&[pin_shared], None, xen_abi::domid::DOMID_SELF as u64), EINVAL);

    c.expect_errno("unknown hypercall 11", raw(11, [0; 5]), ENOSYS);
    c.expect_errno("unknown hypercall 63", raw(63, [0; 5]), ENOSYS);
    c.expect_errno("hypercall number past the table", raw(1000, [0; 5]), ENOSYS);
    c.expect_errno("unknown sched_op command", raw(nr::SCHED_OP, [77, 0, 0, 0, 0]), ENOSYS);
    let bad_trap = [
        xen_abi::x86::TrapInfo { vector: 3, flags: 3, cs: 0, _pad: 0, address: IN_HOLE },
        xen_abi::x86::TrapInfo { vector: 0, flags: 0, cs: 0, _pad: 0, address: 0 },
    ];
    c.expect_errno("trap handler inside the hypervisor hole", hypercall::set_trap_table(&bad_trap), EINVAL);
    let mut close = xen_abi::event::EvtchnClose { port: 4000 };
    c.expect_errno("closing a port never bound", hypercall::event_channel_op(xen_abi::event::EVTCHNOP_CLOSE, &mut close), EINVAL);
    let mut virq = xen_abi::event::EvtchnBindVirq { virq: 99, vcpu: 0, port: 0 };
    c.expect_errno("binding VIRQ 99", hypercall::event_channel_op(xen_abi::event::EVTCHNOP_BIND_VIRQ, &mut virq), EINVAL);
    let poll = xen_abi::sched::SchedPoll { ports: UNMAPPED, nr_ports: 1000, _pad: 0, timeout: 0 };
    c.expect_errno("polling 1000 ports", hypercall::sched_op(xen_abi::sched::SCHEDOP_POLL, &poll), EINVAL);
    let mut op = xen_abi::sysctl::XenSysctl::new(xen_abi::sysctl::XEN_SYSCTL_PHYSINFO);
    op.interface_version = 1;
    c.expect_errno("sysctl with a wrong interface version", hypercall::sysctl(&mut op), EACCES);
    c.expect_errno("vm_assist(writable_pagetables), not offered", raw(nr::VM_ASSIST, [0, xen_abi::x86::VMASST_TYPE_WRITABLE_PAGETABLES as u64, 0, 0, 0]), EINVAL);
    c.expect_errno("shutdown with an unknown reason", hypercall::shutdown(99), EINVAL);

    let restored = restore_scratch();
    c.check("scratch mapping intact", if restored == 0 { Ok(alloc::string::String::new()) } else { Err(alloc::format!("rc {restored}")) });
    let alive = hypercall::xen_version::<()>(xen_abi::version::XENVER_VERSION, None);
    c.check("hypervisor still answers", if alive > 0 { Ok(alloc::format!("version {}.{}", alive >> 16, alive & 0xffff)) } else { Err(alloc::format!("rc {alive}")) });
    c.finish()
}
