//! Basic hypercall behaviour seen from an unprivileged guest: the version, unknown numbers,
//! console output, and refusals of privileged operations.
#![no_std]
#![no_main]

use core::ptr::addr_of;
use pvguest::hypercall;
use test_guests::Report;
use xen_abi::domid::DOMID_SELF;
use xen_abi::errno::{ENOSYS, EPERM};
use xen_abi::mm::{MmuUpdate, MMU_MACHPHYS_UPDATE};
use xen_abi::start_info::{StartInfo, SIF_PRIVILEGED};

#[repr(C, align(4096))]
struct Page([u8; 4096]);
/// A page of ours for the `mmu_update` requests.
static PAGE: Page = Page([0; 4096]);

#[no_mangle]
fn guest_main(si: &'static StartInfo) -> ! {
    let mut r = Report::new("tg-hypercalls");

    let v = hypercall::xen_version::<()>(xen_abi::version::XENVER_VERSION, None);
    r.check("xen_version reports 4.x", v >= 0 && v >> 16 == 4, format_args!("{}.{} ({v:#x})", v >> 16, v & 0xffff));

    // 11 is a hole in Xen's numbering (through the hypercall page); 200 is past the page
    // (a bare `syscall`).
    let rc = hypercall::raw(11, [0; 5]);
    r.check("unused hypercall 11 returns -ENOSYS", rc == -ENOSYS, format_args!("got {rc}"));
    let rc = hypercall::raw(200, [0; 5]);
    r.check("hypercall 200 returns -ENOSYS", rc == -ENOSYS, format_args!("got {rc}"));

    // Xen returns 0 for a console write; this hypervisor returns the count.
    let msg = b"tg-hypercalls: console_io write works\n";
    let rc = hypercall::console_write(msg);
    r.check("console_io write", rc == 0 || rc == msg.len() as i64, format_args!("returned {rc}"));

    if si.flags & SIF_PRIVILEGED != 0 {
        r.skip("domctl and foreign mmu_update refused", format_args!("running privileged"));
        r.finish();
    }

    let mut op = xen_abi::domctl::XenDomctl::new(xen_abi::domctl::XEN_DOMCTL_GETDOMAININFO, 0);
    let rc = hypercall::domctl(&mut op);
    r.check("domctl from an unprivileged guest returns -EPERM", rc == -EPERM, format_args!("got {rc}"));

    // A no-op request (our own page's M2P entry set to what it is), once on behalf of Dom0,
    // which must be refused, and once for ourselves as the control.
    let va = addr_of!(PAGE) as u64;
    match pvguest::start::machine_frame(va) {
        Some(mfn) => {
            let pfn = (va - pvguest::start::VIRT_BASE) / 4096;
            let req = [MmuUpdate { ptr: mfn << 12 | MMU_MACHPHYS_UPDATE, val: pfn }];
            let rc = hypercall::mmu_update(&req, None, 0);
            r.check("mmu_update with foreigndom 0 (Dom0) is refused", rc < 0, format_args!("got {rc}"));
            let rc = hypercall::mmu_update(&req, None, DOMID_SELF as u64);
            r.check("the same mmu_update for DOMID_SELF succeeds", rc == 0, format_args!("got {rc}"));
        }
        None => r.error("mmu_update checks", format_args!("no P2M entry for {va:#x}")),
    }

    r.finish()
}
