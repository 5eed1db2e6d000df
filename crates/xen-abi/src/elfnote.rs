//! ELF note types a PV kernel uses to describe itself to the domain
//! builder, mirroring `xen/include/public/elfnote.h`.  Notes carry the
//! owner name [`XEN_ELFNOTE_NAME`].

/// Owner name of Xen ELF notes (without the terminating NUL).
pub const XEN_ELFNOTE_NAME: &[u8] = b"Xen";

/// Padding (ignored).
pub const XEN_ELFNOTE_INFO: u32 = 0;
/// Virtual entry point.
pub const XEN_ELFNOTE_ENTRY: u32 = 1;
/// Virtual address of the hypercall page the builder must fill.
pub const XEN_ELFNOTE_HYPERCALL_PAGE: u32 = 2;
/// Virtual base address of the image.
pub const XEN_ELFNOTE_VIRT_BASE: u32 = 3;
/// Offset between virtual and physical load addresses.
pub const XEN_ELFNOTE_PADDR_OFFSET: u32 = 4;
/// Xen version the kernel expects (string, e.g. `"xen-3.0"`).
pub const XEN_ELFNOTE_XEN_VERSION: u32 = 5;
/// Guest OS name (string).
pub const XEN_ELFNOTE_GUEST_OS: u32 = 6;
/// Guest OS version (string).
pub const XEN_ELFNOTE_GUEST_VERSION: u32 = 7;
/// Loader type (string, `"generic"`).
pub const XEN_ELFNOTE_LOADER: u32 = 8;
/// PAE mode (string, e.g. `"yes"`).
pub const XEN_ELFNOTE_PAE_MODE: u32 = 9;
/// Required and supported `XENFEAT_*` names (string, `|`-separated).
pub const XEN_ELFNOTE_FEATURES: u32 = 10;
/// Whether the builder should load the symbol table (string).
pub const XEN_ELFNOTE_BSD_SYMTAB: u32 = 11;
/// Lowest virtual address of the hypervisor hole (32-bit guests).
pub const XEN_ELFNOTE_HV_START_LOW: u32 = 12;
/// Mask and value identifying valid L1 MFNs.
pub const XEN_ELFNOTE_L1_MFN_VALID: u32 = 13;
/// The kernel supports suspend cancellation.
pub const XEN_ELFNOTE_SUSPEND_CANCEL: u32 = 14;
/// Virtual address at which to map the initial P2M table.
pub const XEN_ELFNOTE_INIT_P2M: u32 = 15;
/// The kernel accepts `SIF_MOD_START_PFN`.
pub const XEN_ELFNOTE_MOD_START_PFN: u32 = 16;
/// Bitmap of supported `XENFEAT_*` (binary).
pub const XEN_ELFNOTE_SUPPORTED_FEATURES: u32 = 17;
/// 32-bit physical entry point (PVH).
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// Physical relocation constraints (PVH).
pub const XEN_ELFNOTE_PHYS32_RELOC: u32 = 19;
/// Highest defined note type.
pub const XEN_ELFNOTE_MAX: u32 = XEN_ELFNOTE_PHYS32_RELOC;

/// Returns the name of a note type without the `XEN_ELFNOTE_` prefix, e.g.
/// `name(2) == Some("HYPERCALL_PAGE")`.
pub fn name(n: u32) -> Option<&'static str> {
    Some(match n {
        XEN_ELFNOTE_INFO => "INFO",
        XEN_ELFNOTE_ENTRY => "ENTRY",
        XEN_ELFNOTE_HYPERCALL_PAGE => "HYPERCALL_PAGE",
        XEN_ELFNOTE_VIRT_BASE => "VIRT_BASE",
        XEN_ELFNOTE_PADDR_OFFSET => "PADDR_OFFSET",
        XEN_ELFNOTE_XEN_VERSION => "XEN_VERSION",
        XEN_ELFNOTE_GUEST_OS => "GUEST_OS",
        XEN_ELFNOTE_GUEST_VERSION => "GUEST_VERSION",
        XEN_ELFNOTE_LOADER => "LOADER",
        XEN_ELFNOTE_PAE_MODE => "PAE_MODE",
        XEN_ELFNOTE_FEATURES => "FEATURES",
        XEN_ELFNOTE_BSD_SYMTAB => "BSD_SYMTAB",
        XEN_ELFNOTE_HV_START_LOW => "HV_START_LOW",
        XEN_ELFNOTE_L1_MFN_VALID => "L1_MFN_VALID",
        XEN_ELFNOTE_SUSPEND_CANCEL => "SUSPEND_CANCEL",
        XEN_ELFNOTE_INIT_P2M => "INIT_P2M",
        XEN_ELFNOTE_MOD_START_PFN => "MOD_START_PFN",
        XEN_ELFNOTE_SUPPORTED_FEATURES => "SUPPORTED_FEATURES",
        XEN_ELFNOTE_PHYS32_ENTRY => "PHYS32_ENTRY",
        XEN_ELFNOTE_PHYS32_RELOC => "PHYS32_RELOC",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(0), Some("INFO"));
        assert_eq!(name(XEN_ELFNOTE_HYPERCALL_PAGE), Some("HYPERCALL_PAGE"));
        assert_eq!(name(19), Some("PHYS32_RELOC"));
        assert_eq!(name(20), None);
        assert!((0..=XEN_ELFNOTE_MAX).all(|n| name(n).is_some()));
    }
}
