//! `info`, `version`, `dmesg`, `uptime`: what the hypervisor tells Dom0 about the host.

use super::shell_loop::CmdResult;
use alloc::format;
use alloc::string::String;
use dom0_kernel::shell::format_uptime;
use pvguest::{hypercall, print, println, time};
use xen_abi::sysctl::*;
use xen_abi::version::*;

fn c_str(buf: &[u8]) -> String {
    String::from_utf8_lossy(xen_abi::c_string_bytes(buf)).into()
}

fn version_string<const N: usize>(cmd: u32) -> Result<String, String> {
    let mut buf = [0u8; N];
    match hypercall::xen_version(cmd, Some(&mut buf)) {
        0 => Ok(c_str(&buf)),
        e => Err(format!("xen_version({cmd}) failed: {}", errname(e))),
    }
}

pub fn errname(rc: i64) -> String {
    match xen_abi::errno::name(-rc) {
        Some(n) => format!("-{n}"),
        None => format!("{rc}"),
    }
}

fn sysctl<T: zerocopy::FromBytes>(cmd: u32, fill: impl FnOnce(&mut XenSysctl)) -> Result<T, String> {
    let mut op = XenSysctl::new(cmd);
    fill(&mut op);
    match hypercall::sysctl(&mut op) {
        0 => op.payload().ok_or_else(|| "sysctl payload too small".into()),
        e => Err(format!("sysctl({cmd}) failed: {}", errname(e))),
    }
}

pub fn version() -> CmdResult {
    let v = hypercall::xen_version::<()>(XENVER_VERSION, None);
    let extra = version_string::<XEN_EXTRAVERSION_LEN>(XENVER_EXTRAVERSION)?;
    println!("Xen-compatible hypervisor {}.{}{}", v >> 16, v & 0xffff, extra);
    Ok(())
}

pub fn info() -> CmdResult {
    let v = hypercall::xen_version::<()>(XENVER_VERSION, None);
    if v < 0 {
        return Err(format!("xen_version failed: {}", errname(v)));
    }
    let extra = version_string::<XEN_EXTRAVERSION_LEN>(XENVER_EXTRAVERSION)?;
    let caps = version_string::<XEN_CAPABILITIES_INFO_LEN>(XENVER_CAPABILITIES)?;
    let cmdline = version_string::<XEN_COMMANDLINE_LEN>(XENVER_COMMANDLINE)?;
    let pi: SysctlPhysinfo = sysctl(XEN_SYSCTL_PHYSINFO, |_| {})?;
    let sched: SysctlSchedId = sysctl(XEN_SYSCTL_SCHED_ID, |_| {})?;
    let mut pagesize = hypercall::xen_version::<()>(XENVER_PAGESIZE, None);
    if pagesize <= 0 {
        pagesize = 4096;
    }
    let mib = |pages: u64| pages * pagesize as u64 / (1024 * 1024);
    let row = |k: &str, v: &dyn core::fmt::Display| println!("{k:<23}: {v}");
    row("host", &"dom0");
    row("release", &env!("CARGO_PKG_VERSION"));
    row("machine", &"x86_64");
    row("nr_cpus", &pi.nr_cpus);
    row("max_cpu_id", &pi.max_cpu_id);
    row("nr_nodes", &pi.nr_nodes);
    row("cores_per_socket", &pi.cores_per_socket);
    row("threads_per_core", &pi.threads_per_core);
    row("cpu_mhz", &format!("{}.{:03}", pi.cpu_khz / 1000, pi.cpu_khz % 1000));
    row("virt_caps", &capabilities(pi.capabilities));
    row("total_memory", &mib(pi.total_pages));
    row("free_memory", &mib(pi.free_pages));
    // Not in xl's list: the exact count, so a leak of one page shows.
    row("free_pages", &pi.free_pages);
    row("xen_major", &(v >> 16));
    row("xen_minor", &(v & 0xffff));
    row("xen_extra", &extra);
    row("xen_version", &format!("{}.{}{}", v >> 16, v & 0xffff, extra));
    row("xen_caps", &caps);
    row("xen_scheduler", &xen_abi::sched::scheduler_name(sched.sched_id).unwrap_or("unknown"));
    row("xen_pagesize", &pagesize);
    row("xen_commandline", &cmdline);
    Ok(())
}

fn capabilities(bits: u32) -> String {
    let names = [(XEN_SYSCTL_PHYSCAP_PV, "pv"), (XEN_SYSCTL_PHYSCAP_HVM, "hvm"), (XEN_SYSCTL_PHYSCAP_HAP, "hap"), (XEN_SYSCTL_PHYSCAP_SHADOW, "shadow")];
    let list: alloc::vec::Vec<&str> = names.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| *n).collect();
    list.join(" ")
}

pub fn dmesg(clear: bool) -> CmdResult {
    let mut index = 0u32;
    let mut buf = alloc::vec![0u8; 4096];
    let failed = |e| format!("cannot read the hypervisor log: {}", errname(e));
    loop {
        let (n, next) = super::xc::read_console(index, &mut buf, false).map_err(failed)?;
        if n == 0 {
            break;
        }
        print!("{}", String::from_utf8_lossy(&buf[..n]));
        index = next;
    }
    if clear {
        super::xc::read_console(index, &mut [], true).map_err(failed)?;
    }
    Ok(())
}

pub fn uptime() -> CmdResult {
    let ns = time::now_ns();
    println!("{} (system time {}.{:09} s)", format_uptime(ns), ns / 1_000_000_000, ns % 1_000_000_000);
    Ok(())
}
