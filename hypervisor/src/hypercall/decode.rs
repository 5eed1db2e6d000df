//! Hypercall arguments parsed into typed requests: raw guest words in, a request or an errno
//! out. Pure functions, so every rule is covered by host tests.

use crate::mm::{Errno, Mfn};
use xen_abi::domid::DOMID_SELF;
use xen_abi::mm::*;

/// Canonical 48-bit virtual address.
pub fn is_canonical(va: u64) -> bool {
    ((va as i64) << 16 >> 16) as u64 == va
}

/// A guest virtual address the guest may name as a callback, handler or TLB target: canonical
/// and outside the hypervisor hole.
pub fn guest_address(va: u64) -> Result<u64, Errno> {
    let in_hole = (xen_abi::x86::HYPERVISOR_VIRT_START..xen_abi::x86::HYPERVISOR_VIRT_END).contains(&va);
    if is_canonical(va) && !in_hole {
        Ok(va)
    } else {
        Err(Errno::EINVAL)
    }
}

/// One `mmu_update` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmuRequest {
    /// Write `val` into entry `index` of page-table frame `table` (after validation).
    PtUpdate { table: Mfn, index: usize, val: u64 },
    /// `M2P[mfn] = pfn`.
    MachPhys { mfn: Mfn, pfn: u64 },
}

impl TryFrom<MmuUpdate> for MmuRequest {
    type Error = Errno;

    fn try_from(req: MmuUpdate) -> Result<Self, Errno> {
        let addr = req.ptr & !MMU_UPDATE_CMD_MASK;
        match req.ptr & MMU_UPDATE_CMD_MASK {
            // We keep no A/D state of our own, so PRESERVE_AD is a normal update; PV guests are
            // not translated, so NO_TRANSLATE is too.
            MMU_NORMAL_PT_UPDATE | MMU_PT_UPDATE_PRESERVE_AD | MMU_PT_UPDATE_NO_TRANSLATE => {
                if addr % 8 != 0 {
                    return Err(Errno::EINVAL);
                }
                Ok(MmuRequest::PtUpdate { table: Mfn(addr >> 12), index: ((addr & 0xfff) / 8) as usize, val: req.val })
            }
            _ => Ok(MmuRequest::MachPhys { mfn: Mfn(addr >> 12), pfn: req.val }),
        }
    }
}

/// `foreigndom` of `mmu_update`/`mmuext_op`: the domain whose frames the batch names (bits
/// 0-15, `DOMID_SELF` for the caller `me`). Bits 16 and up would name another page-table
/// owner (`pt_owner + 1`), which is not offered: the tables are always the caller's.
pub fn page_owner(foreigndom: u64, me: u16) -> Result<u16, Errno> {
    if foreigndom >> 16 != 0 {
        return Err(Errno::ESRCH);
    }
    let fd = foreigndom as u16;
    Ok(if fd == DOMID_SELF { me } else { fd })
}

/// One `mmuext_op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmuextCmd {
    Pin { mfn: Mfn, level: u8 },
    Unpin { mfn: Mfn },
    NewBaseptr { mfn: Mfn },
    /// `None` clears the user page table.
    NewUserBaseptr { mfn: Option<Mfn> },
    /// One pCPU: the local, multi and all variants are the same operation.
    TlbFlush,
    Invlpg { va: u64 },
}

impl TryFrom<MmuextOp> for MmuextCmd {
    type Error = Errno;

    fn try_from(op: MmuextOp) -> Result<Self, Errno> {
        let mfn = Mfn(op.arg1);
        Ok(match op.cmd {
            MMUEXT_PIN_L1_TABLE..=MMUEXT_PIN_L4_TABLE => MmuextCmd::Pin { mfn, level: (op.cmd - MMUEXT_PIN_L1_TABLE + 1) as u8 },
            MMUEXT_UNPIN_TABLE => MmuextCmd::Unpin { mfn },
            MMUEXT_NEW_BASEPTR => MmuextCmd::NewBaseptr { mfn },
            MMUEXT_NEW_USER_BASEPTR => MmuextCmd::NewUserBaseptr { mfn: (op.arg1 != 0).then_some(mfn) },
            MMUEXT_TLB_FLUSH_LOCAL | MMUEXT_TLB_FLUSH_MULTI | MMUEXT_TLB_FLUSH_ALL => MmuextCmd::TlbFlush,
            MMUEXT_INVLPG_LOCAL | MMUEXT_INVLPG_MULTI | MMUEXT_INVLPG_ALL => {
                if !is_canonical(op.arg1) {
                    return Err(Errno::EINVAL);
                }
                MmuextCmd::Invlpg { va: op.arg1 }
            }
            _ => return Err(Errno::ENOSYS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_and_hole_checks() {
        assert!(is_canonical(0x0000_7fff_ffff_ffff));
        assert!(is_canonical(0xffff_8000_0000_0000));
        assert!(!is_canonical(0x0000_8000_0000_0000));
        assert_eq!(guest_address(0xffff_ffff_8000_1000), Ok(0xffff_ffff_8000_1000));
        assert_eq!(guest_address(0xffff_8300_0000_0000), Err(Errno::EINVAL), "hypervisor hole");
        assert_eq!(guest_address(0xffff_87ff_ffff_ffff), Err(Errno::EINVAL), "last byte of the hole");
        assert_eq!(guest_address(0xffff_8800_0000_0000), Ok(0xffff_8800_0000_0000), "first byte after it");
        assert_eq!(guest_address(1 << 63), Err(Errno::EINVAL), "non-canonical");
    }

    #[test]
    fn mmu_update_requests() {
        let pt = MmuRequest::try_from(MmuUpdate { ptr: 0x1234_5000 + 8 * 3, val: 7 });
        assert_eq!(pt, Ok(MmuRequest::PtUpdate { table: Mfn(0x12345), index: 3, val: 7 }));
        let ad = MmuRequest::try_from(MmuUpdate { ptr: 0x1234_5ff8 | MMU_PT_UPDATE_PRESERVE_AD, val: 1 });
        assert_eq!(ad, Ok(MmuRequest::PtUpdate { table: Mfn(0x12345), index: 511, val: 1 }));
        assert_eq!(MmuRequest::try_from(MmuUpdate { ptr: 0x1000 + 4, val: 0 }), Err(Errno::EINVAL), "misaligned entry");
        let m2p = MmuRequest::try_from(MmuUpdate { ptr: 0x9000 | MMU_MACHPHYS_UPDATE, val: 42 });
        assert_eq!(m2p, Ok(MmuRequest::MachPhys { mfn: Mfn(9), pfn: 42 }));
    }

    #[test]
    fn foreigndom_is_self_only() {
        assert_eq!(page_owner(DOMID_SELF as u64, 0), Ok(0));
        assert_eq!(page_owner(3, 3), Ok(3));
        assert_eq!(page_owner(7, 0), Ok(7));
        assert_eq!(page_owner(1 << 16 | DOMID_SELF as u64, 0), Err(Errno::ESRCH), "PFD set");
    }

    #[test]
    fn mmuext_commands() {
        let op = |cmd, arg1| MmuextOp { cmd, _pad: 0, arg1, arg2: 0 };
        assert_eq!(MmuextCmd::try_from(op(MMUEXT_PIN_L3_TABLE, 5)), Ok(MmuextCmd::Pin { mfn: Mfn(5), level: 3 }));
        assert_eq!(MmuextCmd::try_from(op(MMUEXT_NEW_USER_BASEPTR, 0)), Ok(MmuextCmd::NewUserBaseptr { mfn: None }));
        assert_eq!(MmuextCmd::try_from(op(MMUEXT_INVLPG_ALL, 1 << 63)), Err(Errno::EINVAL));
        assert_eq!(MmuextCmd::try_from(op(MMUEXT_TLB_FLUSH_MULTI, 0)), Ok(MmuextCmd::TlbFlush));
        assert_eq!(MmuextCmd::try_from(op(MMUEXT_SET_LDT, 0)), Err(Errno::ENOSYS));
        assert_eq!(MmuextCmd::try_from(op(u32::MAX, 0)), Err(Errno::ENOSYS));
    }
}
