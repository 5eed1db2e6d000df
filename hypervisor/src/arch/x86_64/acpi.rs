//! Just enough ACPI to power off: find the FADT through the RSDP, read the PM1a control
//! port, and the S5 sleep type from the DSDT's `\_S5_` package. Every table is
//! checksum-verified and every read bounds-checked; without a usable answer the caller falls
//! back to QEMU's known port.

use crate::layout::DIRECT_MAP_BASE;

/// How to enter S5 (soft-off).
#[derive(Clone, Copy, Debug)]
pub struct SoftOff {
    pub pm1a_cnt: u16,
    pub slp_typ: u16,
}

fn phys_slice(addr: u64, len: usize) -> &'static [u8] {
    // SAFETY: ACPI tables live in RAM or firmware-reserved memory below 4 GiB, which the
    // direct map covers; the tables are never written while the hypervisor runs.
    unsafe { core::slice::from_raw_parts((DIRECT_MAP_BASE + addr) as *const u8, len) }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// A whole table at `addr` if its length is sane and its checksum is right.
fn table(addr: u64) -> Option<&'static [u8]> {
    if addr == 0 || addr >= 1 << 32 {
        return None;
    }
    let len = u32_at(phys_slice(addr, 36), 4)? as usize;
    if !(36..=1 << 20).contains(&len) {
        return None;
    }
    let t = phys_slice(addr, len);
    (t.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == 0).then_some(t)
}

pub fn find_soft_off(rsdp_addr: u64) -> Option<SoftOff> {
    let rsdp = phys_slice(rsdp_addr, 36);
    if &rsdp[..8] != b"RSD PTR " {
        return None;
    }
    let (entries, width) = match (rsdp[15], u64_at(rsdp, 24)) {
        (2.., Some(xsdt)) if xsdt != 0 => (table(xsdt)?, 8),
        _ => (table(u32_at(rsdp, 16)? as u64)?, 4),
    };
    let fadt = (36..entries.len()).step_by(width).find_map(|off| {
        let addr = if width == 8 { u64_at(entries, off)? } else { u32_at(entries, off)? as u64 };
        table(addr).filter(|t| &t[..4] == b"FACP")
    })?;
    let pm1a_cnt = u32_at(fadt, 64)? as u16;
    let dsdt = table(u32_at(fadt, 40)? as u64)?;
    let slp_typ = s5_sleep_type(dsdt)?;
    (pm1a_cnt != 0).then_some(SoftOff { pm1a_cnt, slp_typ })
}

/// `Name(_S5_, Package(){ SLP_TYPa, ... })` in AML: NameOp 0x08, "_S5_", PackageOp 0x12,
/// a one-byte PkgLength, NumElements, then the first element (BytePrefix 0x0A n, Zero, One).
fn s5_sleep_type(dsdt: &[u8]) -> Option<u16> {
    let at = dsdt.windows(4).position(|w| w == b"_S5_")?;
    let rest = dsdt.get(at + 4..at + 12)?;
    if rest[0] != 0x12 {
        return None;
    }
    let elem = &rest[3..];
    Some(match elem[0] {
        0x0a => elem[1] as u16,
        0x00 => 0,
        0x01 => 1,
        _ => return None,
    })
}
