//! Grant tables v1 seen from an unprivileged guest (`pvguest::grant`): the guest grants its
//! own pages to itself, maps them at other addresses, copies through them, and checks every
//! refusal Xen gives — revoking while mapped, mapping revoked, never-made, out-of-table and
//! read-only grants wrongly, bad copy ranges, a table beyond its limit, a bogus handle — and
//! that it cannot overwrite a grant mapping through `mmu_update` or `update_va_mapping`.
#![no_std]
#![no_main]

use core::ptr::{addr_of_mut, read_volatile, write_volatile};
use pvguest::grant::{self, CopyEnd, GrantError, MapSlot};
use pvguest::hypercall;
use test_guests::Report;
use xen_abi::domid::{DomId, DOMID_FIRST_RESERVED, DOMID_SELF};
use xen_abi::errno::{EINVAL, ENOSYS};
use xen_abi::grant_table::*;
use xen_abi::mm::*;
use xen_abi::start_info::StartInfo;

const PAGE: usize = 4096;

#[repr(C, align(4096))]
struct Pages([[u8; PAGE]; 3]);
/// Our pages to grant: [0] shared writable, [1] read-only grants and copy target, [2] the
/// other end of copies. Only reached through raw pointers: the hypervisor and the grant
/// mapping change them behind the compiler's back.
static mut PAGES: Pages = Pages([[0; PAGE]; 3]);

fn page_va(i: usize) -> u64 {
    addr_of_mut!(PAGES) as u64 + (i * PAGE) as u64
}

fn peek(va: u64) -> u8 {
    // SAFETY: callers pass addresses of our own mapped pages (bss or a mapped slot).
    unsafe { read_volatile(va as *const u8) }
}

fn poke(va: u64, value: u8) {
    // SAFETY: as in `peek`, for pages mapped writable.
    unsafe { write_volatile(va as *mut u8, value) }
}

fn pattern(i: usize) -> u8 {
    (i * 7 + 3) as u8
}

fn mfn(va: u64) -> u64 {
    pvguest::start::machine_frame(va).expect("an address of our start-of-day region")
}

/// Our domain id, which grants must name (`DOMID_SELF` is not accepted in an entry): the
/// hypervisor copies through a grant for us only when the entry names our id, so probe.
fn own_domid() -> Option<DomId> {
    let frame = mfn(page_va(2));
    (1..DOMID_FIRST_RESERVED).find(|&d| {
        let Ok(gref) = grant::grant_access(d, frame, true) else { return false };
        let ok = grant::copy(CopyEnd::Grant { domid: DOMID_SELF, gref }, 0, CopyEnd::Frame { mfn: frame }, 0, 1).is_ok();
        let _ = grant::end_access(gref);
        ok
    })
}

/// Machine address of the L1 entry that maps `va`, walking our tables from `pt_base`
/// (mapped read-only for us); the tables' own addresses come from the M2P.
fn l1_entry_address(si: &StartInfo, va: u64) -> Option<u64> {
    let mut table_va = si.pt_base;
    let mut table_mfn = mfn(table_va);
    for level in (2..=4u32).rev() {
        let index = (va >> (12 + 9 * (level - 1))) & 0x1ff;
        // SAFETY: `table_va` is one of our page tables, mapped (read-only) in our region.
        let entry = unsafe { read_volatile((table_va + index * 8) as *const u64) };
        if entry & PAGE_PRESENT == 0 {
            return None;
        }
        table_mfn = pte_mfn(entry);
        // SAFETY: the M2P is mapped read-only for every guest at this fixed address.
        let pfn = unsafe { read_volatile((xen_abi::x86::MACH2PHYS_VIRT_START as *const u64).add(table_mfn as usize)) };
        table_va = pvguest::start::VIRT_BASE + pfn * PAGE as u64;
        if pvguest::start::machine_frame(table_va)? != table_mfn {
            return None;
        }
    }
    Some((table_mfn << 12) | (((va >> 12) & 0x1ff) * 8))
}

#[no_mangle]
fn guest_main(si: &'static StartInfo) -> ! {
    let mut r = Report::new("tg-grant");

    let mut v = GnttabGetVersion { dom: DOMID_SELF, ..Default::default() };
    let rc = hypercall::grant_table_op(GNTTABOP_GET_VERSION, core::slice::from_mut(&mut v));
    r.check("get_version is 1", rc == 0 && v.version == 1, format_args!("rc {rc}, version {}", v.version));
    let mut sv = GnttabSetVersion { version: 2 };
    let rc = hypercall::grant_table_op(GNTTABOP_SET_VERSION, core::slice::from_mut(&mut sv));
    r.check("set_version 2 is not offered", rc == -ENOSYS && sv.version == 1, format_args!("rc {rc}, version {}", sv.version));
    let mut sv = GnttabSetVersion { version: 1 };
    let rc = hypercall::grant_table_op(GNTTABOP_SET_VERSION, core::slice::from_mut(&mut sv));
    r.check("set_version 1 succeeds", rc == 0, format_args!("rc {rc}"));

    if let Err(e) = grant::init(1) {
        r.error("grant::init(1)", format_args!("{e}"));
        r.finish();
    }
    let mut q = GnttabQuerySize { dom: DOMID_SELF, ..Default::default() };
    let rc = hypercall::grant_table_op(GNTTABOP_QUERY_SIZE, core::slice::from_mut(&mut q));
    r.check("query_size after setup", rc == 0 && q.status == 0 && q.nr_frames == 1 && q.max_nr_frames >= 1, format_args!("rc {rc}, status {}, {} of {} frames", q.status, q.nr_frames, q.max_nr_frames));
    let mut list = [0u64; 80];
    let too_many = q.max_nr_frames + 1;
    let mut st = GnttabSetupTable { dom: DOMID_SELF, nr_frames: too_many, frame_list: list.as_mut_ptr() as u64, ..Default::default() };
    let rc = hypercall::grant_table_op(GNTTABOP_SETUP_TABLE, core::slice::from_mut(&mut st));
    r.check("setup_table beyond the limit is refused", rc == 0 && st.status == GNTST_GENERAL_ERROR, format_args!("{too_many} frames: rc {rc}, status {}", st.status));

    let Some(me) = own_domid() else {
        r.error("own domain id", format_args!("no domid accepted a grant copy"));
        r.finish();
    };
    r.check("own domain id found through a grant", true, format_args!("d{me}"));

    // Map our page 0 at a slot, write through the mapping, read through the original.
    let Some(slot) = MapSlot::claim() else {
        r.error("MapSlot::claim", format_args!("no slot"));
        r.finish();
    };
    poke(slot.va(), 0x5a); // the slot's own frame, to see it come back
    let shared = page_va(0);
    let gref = grant::grant_access(me, mfn(shared), false);
    r.check("grant_access picks a non-reserved reference", gref.is_ok_and(|g| g >= GNTTAB_NR_RESERVED_ENTRIES), format_args!("{gref:?}"));
    let gref = gref.unwrap_or(0);
    let handle = grant::map(me, gref, slot.va(), false);
    r.check("map our own grant", handle.is_ok(), format_args!("{handle:?}"));
    let handle = handle.unwrap_or(u32::MAX);
    for i in 0..PAGE {
        poke(slot.va() + i as u64, pattern(i));
    }
    let seen = (0..PAGE).all(|i| peek(shared + i as u64) == pattern(i));
    r.check("writes through the mapping show at the original address", seen, format_args!("first byte {:#x}", peek(shared)));
    r.check("end_access while mapped is refused", grant::end_access(gref) == Err(GrantError::InUse), format_args!("{:?}", grant::end_access(gref)));

    // The grant entry is the hypervisor's: no guest update may replace or clear it.
    let own_pte = (mfn(slot.va()) << 12) | PAGE_PRESENT | PAGE_RW | PAGE_ACCESSED | PAGE_DIRTY;
    let rc = hypercall::update_va_mapping(slot.va(), own_pte, UVMF_INVLPG);
    r.check("update_va_mapping over a grant mapping is refused", rc == -EINVAL, format_args!("got {rc}"));
    let rc = hypercall::update_va_mapping(slot.va(), 0, UVMF_INVLPG);
    r.check("update_va_mapping clearing a grant mapping is refused", rc == -EINVAL, format_args!("got {rc}"));
    match l1_entry_address(si, slot.va()) {
        Some(ptr) => {
            let rc = hypercall::mmu_update(&[MmuUpdate { ptr: ptr | MMU_NORMAL_PT_UPDATE, val: own_pte }], None, u64::from(DOMID_SELF));
            r.check("mmu_update over a grant mapping is refused", rc == -EINVAL, format_args!("got {rc}"));
        }
        None => r.error("mmu_update over a grant mapping", format_args!("cannot find the L1 entry of {:#x}", slot.va())),
    }
    let again = grant::map(me, gref, slot.va(), true);
    r.check("mapping over a grant mapping is refused", again == Err(GNTST_GENERAL_ERROR), format_args!("{again:?}"));
    r.check("the mapping survived", peek(slot.va() + 100) == pattern(100), format_args!("{:#x}", peek(slot.va() + 100)));

    let rc = grant::unmap(u32::MAX - 7, slot.va());
    r.check("unmap of a bogus handle", rc == Err(GNTST_BAD_HANDLE), format_args!("{rc:?}"));
    let rc = grant::unmap(handle, slot.va());
    r.check("unmap", rc.is_ok(), format_args!("{rc:?}"));
    r.check("the slot's own frame is back", peek(slot.va()) == 0x5a, format_args!("{:#x}", peek(slot.va())));
    let rc = grant::end_access(gref);
    r.check("end_access after the unmap", rc.is_ok(), format_args!("{rc:?}"));
    let rc = grant::map(me, gref, slot.va(), false);
    r.check("map of the revoked grant is refused", rc == Err(GNTST_GENERAL_ERROR), format_args!("{rc:?}"));
    let rc = grant::map(me, 300, slot.va(), false);
    r.check("map of a never-made grant is refused", rc == Err(GNTST_GENERAL_ERROR), format_args!("{rc:?}"));
    let rc = grant::map(me, 512 + 5, slot.va(), false);
    r.check("map beyond the table is GNTST_bad_gntref", rc == Err(GNTST_BAD_GNTREF), format_args!("{rc:?}"));
    let rc = grant::map(DOMID_FIRST_RESERVED - 1, 8, slot.va(), false);
    r.check("map from a domain that does not exist", rc == Err(GNTST_BAD_DOMAIN), format_args!("{rc:?}"));

    // A read-only grant: writable mapping refused, read-only mapping fine.
    let ro_page = page_va(1);
    poke(ro_page, 0xa5);
    match grant::grant_access(me, mfn(ro_page), true) {
        Ok(ro) => {
            let rc = grant::map(me, ro, slot.va(), false);
            r.check("read-only grant mapped writable is refused", rc == Err(GNTST_GENERAL_ERROR), format_args!("{rc:?}"));
            match grant::map(me, ro, slot.va(), true) {
                Ok(h) => {
                    r.check("read-only grant mapped read-only", peek(slot.va()) == 0xa5, format_args!("{:#x}", peek(slot.va())));
                    let rc = grant::unmap(h, slot.va());
                    r.check("unmap of the read-only mapping", rc.is_ok(), format_args!("{rc:?}"));
                }
                Err(e) => r.check("read-only grant mapped read-only", false, format_args!("{e}")),
            }
            // Copies: a read-only grant is no destination.
            let rc = grant::copy(CopyEnd::Frame { mfn: mfn(page_va(2)) }, 0, CopyEnd::Grant { domid: me, gref: ro }, 0, 8);
            r.check("copy into a read-only grant is refused", rc == Err(GNTST_GENERAL_ERROR), format_args!("{rc:?}"));
            let rc = grant::end_access(ro);
            r.check("end_access of the read-only grant", rc.is_ok(), format_args!("{rc:?}"));
        }
        Err(e) => r.error("read-only grant", format_args!("{e:?}")),
    }
    drop(slot);

    // Copies in both directions through a writable grant of page 0.
    match grant::grant_access(me, mfn(shared), false) {
        Ok(g) => {
            let other = page_va(2);
            let rc = grant::copy(CopyEnd::Grant { domid: me, gref: g }, 16, CopyEnd::Frame { mfn: mfn(other) }, 100, 64);
            let ok = rc.is_ok() && (0..64).all(|i| peek(other + 100 + i) == pattern(16 + i as usize));
            r.check("copy from a grant to our frame", ok, format_args!("{rc:?}"));
            for i in 0..32 {
                poke(other + 2000 + i, 0xc0 | i as u8);
            }
            let rc = grant::copy(CopyEnd::Frame { mfn: mfn(other) }, 2000, CopyEnd::Grant { domid: DOMID_SELF, gref: g }, 4064, 32);
            let ok = rc.is_ok() && (0..32).all(|i| peek(shared + 4064 + i) == 0xc0 | i as u8);
            r.check("copy from our frame to a grant", ok, format_args!("{rc:?}"));
            let rc = grant::copy(CopyEnd::Grant { domid: me, gref: g }, 4000, CopyEnd::Frame { mfn: mfn(other) }, 0, 200);
            r.check("copy past the end of the page is GNTST_bad_copy_arg", rc == Err(GNTST_BAD_COPY_ARG), format_args!("{rc:?}"));
            let mut op = GnttabCopy {
                source: GnttabCopyPtr::from_gref(g, me, 0),
                dest: GnttabCopyPtr::from_gmfn(mfn(other), me, 0),
                len: 8,
                flags: GNTCOPY_SOURCE_GREF,
                ..Default::default()
            };
            let rc = grant::copy_batch(core::slice::from_mut(&mut op));
            r.check("a frame named with a domid other than DOMID_SELF is refused", rc.is_ok() && op.status == GNTST_PERMISSION_DENIED, format_args!("{rc:?}, status {}", op.status));
            let rc = grant::end_access(g);
            r.check("end_access after copies", rc.is_ok(), format_args!("{rc:?}"));
        }
        Err(e) => r.error("copy grant", format_args!("{e:?}")),
    }

    r.finish()
}
