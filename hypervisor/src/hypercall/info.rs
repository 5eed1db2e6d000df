//! Queries: `xen_version`, the query subset of `memory_op`, and the `sysctl` commands Dom0's
//! tools need (`readconsole` for dmesg, `physinfo` and `sched_id` for info).

use super::Args;
use crate::console::LOG_RING;
use crate::hv::Hypervisor;
use crate::mm::Errno;
use crate::regs::TrapFrame;
use crate::time;
use xen_abi::domid::DOMID_SELF;
use xen_abi::mm::*;
use xen_abi::sysctl::*;
use xen_abi::version::*;

/// The Xen release whose interface we implement (`XEN_LATEST_INTERFACE_VERSION` 0x00041300).
pub const VERSION_MAJOR: u16 = 4;
pub const VERSION_MINOR: u16 = 19;
pub const EXTRAVERSION: &[u8] = b"-rs";
pub const CAPABILITIES: &[u8] = b"xen-3.0-x86_64";

/// `xen_version(cmd, arg)`.
pub fn xen_version(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, arg, ..] = a.0;
    match cmd as u32 {
        XENVER_VERSION => Ok(encode_version(VERSION_MAJOR, VERSION_MINOR) as i64),
        XENVER_EXTRAVERSION => write_c_string(hv, arg, EXTRAVERSION, XEN_EXTRAVERSION_LEN),
        XENVER_CAPABILITIES => write_c_string(hv, arg, CAPABILITIES, XEN_CAPABILITIES_INFO_LEN),
        XENVER_CHANGESET => write_c_string(hv, arg, env!("CARGO_PKG_VERSION").as_bytes(), XEN_CHANGESET_INFO_LEN),
        XENVER_COMPILE_INFO => {
            let mut info: XenCompileInfo = zerocopy::FromZeros::new_zeroed();
            xen_abi::copy_c_string(&mut info.compiler, b"rustc (nightly-2025-06-01)");
            xen_abi::copy_c_string(&mut info.compile_by, b"cargo");
            xen_abi::copy_c_string(&mut info.compile_domain, b"xtask");
            hv.write_guest(arg, &info)?;
            Ok(0)
        }
        XENVER_PLATFORM_PARAMETERS => {
            hv.write_guest(arg, &XenPlatformParameters { virt_start: xen_abi::x86::HYPERVISOR_VIRT_START })?;
            Ok(0)
        }
        XENVER_GET_FEATURES => {
            let mut fi: XenFeatureInfo = hv.read_guest(arg)?;
            fi.submap = if fi.submap_idx == 0 { features(hv.current_domain().privileged) } else { 0 };
            hv.write_guest(arg, &fi)?;
            Ok(0)
        }
        XENVER_PAGESIZE => Ok(4096),
        XENVER_GUEST_HANDLE => {
            hv.write_guest(arg, &[0u8; XEN_DOMAIN_HANDLE_LEN])?;
            Ok(0)
        }
        XENVER_COMMANDLINE => {
            if !hv.current_domain().privileged {
                return Err(Errno::EPERM);
            }
            let cmdline = hv.cmdline.clone();
            write_c_string(hv, arg, cmdline.as_bytes(), XEN_COMMANDLINE_LEN)
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// XENFEAT bits this hypervisor honours. (`mmu_pt_update_preserve_ad` is not claimed: such
/// updates are accepted but overwrite the hardware-set A/D bits.)
fn features(privileged: bool) -> u32 {
    if privileged {
        1 << XENFEAT_DOM0
    } else {
        0
    }
}

/// Write a NUL-terminated string into a fixed-size guest buffer.
fn write_c_string(hv: &mut Hypervisor, va: u64, s: &[u8], size: usize) -> Result<i64, Errno> {
    let mut buf = alloc::vec![0u8; size];
    xen_abi::copy_c_string(&mut buf, s);
    hv.copy_to_guest(va, &buf)?;
    Ok(0)
}

/// `memory_op(cmd, arg)`: the queries, and reservation changes (a domain's own, or another's
/// for a privileged caller building it).
pub fn memory_op(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, arg, ..] = a.0;
    match (cmd & MEMOP_CMD_MASK) as u32 {
        op @ (XENMEM_POPULATE_PHYSMAP | XENMEM_INCREASE_RESERVATION | XENMEM_DECREASE_RESERVATION) => {
            super::memory::reservation(hv, op, cmd >> MEMOP_EXTENT_SHIFT, arg)
        }
        XENMEM_MAXIMUM_RAM_PAGE => Ok(hv.max_mfn as i64),
        XENMEM_CURRENT_RESERVATION | XENMEM_MAXIMUM_RESERVATION | XENMEM_MAXIMUM_GPFN => {
            let domid: u16 = hv.read_guest(arg)?;
            let me = hv.current_domid();
            let dom = if domid == DOMID_SELF || domid == me {
                hv.current_domain()
            } else if hv.current_domain().privileged {
                let i = hv.domain_index(domid).ok_or(Errno::ESRCH)?;
                &mut hv.domains[i]
            } else {
                return Err(Errno::EPERM);
            };
            Ok(match (cmd & MEMOP_CMD_MASK) as u32 {
                XENMEM_CURRENT_RESERVATION => dom.tot_pages,
                XENMEM_MAXIMUM_RESERVATION => dom.max_pages,
                _ => dom.tot_pages.saturating_sub(1),
            } as i64)
        }
        XENMEM_MACHPHYS_MAPPING => {
            let m2p_end = xen_abi::x86::MACH2PHYS_VIRT_START + hv.m2p_frames.len() as u64 * 4096;
            let map = XenMachphysMapping { v_start: xen_abi::x86::MACH2PHYS_VIRT_START, v_end: m2p_end, max_mfn: hv.max_mfn - 1 };
            hv.write_guest(arg, &map)?;
            Ok(0)
        }
        XENMEM_MACHPHYS_MFN_LIST => {
            let mut req: XenMachphysMfnList = hv.read_guest(arg)?;
            // One extent per 2 MiB of M2P: the first frame of each.
            let extents: alloc::vec::Vec<u64> = hv.m2p_frames.chunks(512).map(|c| c[0].0).collect();
            let n = extents.len().min(req.max_extents as usize);
            for (i, mfn) in extents.iter().take(n).enumerate() {
                hv.write_guest(req.extent_start + i as u64 * 8, mfn)?;
            }
            req.nr_extents = n as u32;
            hv.write_guest(arg, &req)?;
            Ok(0)
        }
        XENMEM_MEMORY_MAP => {
            // A PV guest's pseudo-physical map: all of its pages, as RAM.
            let pages = hv.current_domain().tot_pages;
            write_memory_map(hv, arg, &[(0, pages * 4096, 1)])
        }
        XENMEM_MACHINE_MEMORY_MAP => {
            if !hv.current_domain().privileged {
                return Err(Errno::EPERM);
            }
            let map = hv.e820.clone();
            write_memory_map(hv, arg, &map)
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn write_memory_map(hv: &mut Hypervisor, arg: u64, entries: &[(u64, u64, u32)]) -> Result<i64, Errno> {
    let mut req: XenMemoryMap = hv.read_guest(arg)?;
    let n = entries.len().min(req.nr_entries as usize);
    for (i, &(addr, size, ty)) in entries.iter().take(n).enumerate() {
        hv.write_guest(req.buffer + i as u64 * 20, &E820Entry { addr, size, ty })?;
    }
    req.nr_entries = n as u32;
    hv.write_guest(arg, &req)?;
    Ok(0)
}

/// `sysctl(xen_sysctl *)`: privileged queries.
pub fn sysctl(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    if !hv.current_domain().privileged {
        return Err(Errno::EPERM);
    }
    let va = a.0[0];
    let mut op: XenSysctl = hv.read_guest(va)?;
    if op.interface_version != XEN_SYSCTL_INTERFACE_VERSION {
        return Err(Errno::EACCES);
    }
    match op.cmd {
        XEN_SYSCTL_READCONSOLE => {
            let mut rc: SysctlReadconsole = op.payload().ok_or(Errno::EINVAL)?;
            let mut buf = alloc::vec![0u8; (rc.count as usize).min(crate::console::LOG_RING_SIZE)];
            let (n, next) = {
                let ring = LOG_RING.lock();
                let from = if rc.incremental != 0 { rc.index as u64 } else { 0 };
                ring.read_from(from, &mut buf)
            };
            hv.copy_to_guest(rc.buffer, &buf[..n])?;
            if rc.clear != 0 {
                LOG_RING.lock().clear();
            }
            rc.count = n as u32;
            rc.index = next as u32;
            op.set_payload(&rc);
        }
        XEN_SYSCTL_PHYSINFO => {
            let info = SysctlPhysinfo {
                threads_per_core: 1,
                cores_per_socket: 1,
                nr_cpus: 1,
                max_cpu_id: 0,
                nr_nodes: 1,
                max_node_id: 0,
                cpu_khz: (time::tsc_hz() / 1000) as u32,
                capabilities: XEN_SYSCTL_PHYSCAP_PV,
                arch_capabilities: 0,
                pad: 0,
                total_pages: hv.total_pages,
                free_pages: hv.free_pages(),
                scrub_pages: 0,
                outstanding_pages: 0,
                max_mfn: hv.max_mfn - 1,
                hw_cap: cpuid_hw_cap(),
            };
            op.set_payload(&info);
        }
        XEN_SYSCTL_SCHED_ID => {
            op.set_payload(&SysctlSchedId { sched_id: hv.scheduler.xen_sched_id() });
        }
        _ => return Err(Errno::ENOSYS),
    }
    hv.write_guest(va, &op)?;
    Ok(0)
}

/// CPUID feature words in Xen's `hw_cap` order (leaf 1 EDX, ECX, ext leaf EDX, ECX, leaf 7 EBX...).
fn cpuid_hw_cap() -> [u32; 8] {
    // SAFETY: CPUID is available on every x86-64 CPU and has no side effects.
    let (l1, e1, l7) = unsafe {
        (core::arch::x86_64::__cpuid(1), core::arch::x86_64::__cpuid(0x8000_0001), core::arch::x86_64::__cpuid_count(7, 0))
    };
    [l1.edx, l1.ecx, e1.edx, e1.ecx, l7.ebx, l7.ecx, l7.edx, 0]
}
