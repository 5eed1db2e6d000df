//! The start-of-day page handed to a PV guest (RSI points at it on entry),
//! mirroring `struct start_info`, the `SIF_*` flags and
//! `struct dom0_vga_console_info` of `xen/include/public/xen.h`.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Magic string at the start of [`StartInfo::magic`] for a 64-bit PV guest
/// (the rest of the 32-byte field is NUL).
pub const START_INFO_MAGIC: &[u8] = b"xen-3.0-x86_64";

/// Size of [`StartInfo::cmd_line`], including the terminating NUL.
pub const MAX_GUEST_CMDLINE: usize = 1024;

/// The domain is privileged.
pub const SIF_PRIVILEGED: u32 = 1 << 0;
/// The domain is the initial (control/hardware) domain.
pub const SIF_INITDOMAIN: u32 = 1 << 1;
/// `mod_start` is a multiboot-style module package.
pub const SIF_MULTIBOOT_MOD: u32 = 1 << 2;
/// `mod_start` is a PFN rather than a virtual address.
pub const SIF_MOD_START_PFN: u32 = 1 << 3;
/// The tools understand a virtually mapped P2M list.
pub const SIF_VIRT_P2M_4TOOLS: u32 = 1 << 4;
/// Byte reserved for power-management options.
pub const SIF_PM_MASK: u32 = 0xff << 8;

/// Start-of-day information (C `struct start_info`, 1168 B).
///
/// Everything up to and including `console_*` is refilled on resume; the
/// rest only on the initial boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct StartInfo {
    /// `"xen-<version>-<platform>"`, NUL padded; see [`START_INFO_MAGIC`].
    pub magic: [u8; 32],
    /// Total pages allocated to the domain.
    pub nr_pages: u64,
    /// MACHINE address of the shared-info page.
    pub shared_info: u64,
    /// `SIF_*` flags.
    pub flags: u32,
    /// Padding.
    pub _pad0: u32,
    /// MFN of the XenStore ring page.
    pub store_mfn: u64,
    /// Event channel of the XenStore ring.
    pub store_evtchn: u32,
    /// Padding.
    pub _pad1: u32,
    /// Console union, first word.  DomU: MFN of the console ring page.
    /// Dom0: `info_off` (low half) and `info_size` (high half); see
    /// [`StartInfo::dom0_console_info_off`].
    pub console_mfn: u64,
    /// Console union, second word.  DomU: console event channel.
    pub console_evtchn: u32,
    /// Padding.
    pub _pad2: u32,
    /// VIRTUAL address of the bootstrap L4 page table.
    pub pt_base: u64,
    /// Number of bootstrap page-table frames.
    pub nr_pt_frames: u64,
    /// VIRTUAL address of the P2M (pfn → mfn) list.
    pub mfn_list: u64,
    /// VIRTUAL address of the initial module (PFN if [`SIF_MOD_START_PFN`]).
    pub mod_start: u64,
    /// Size of the initial module in bytes.
    pub mod_len: u64,
    /// NUL-terminated kernel command line (C `int8_t[]`).
    pub cmd_line: [u8; MAX_GUEST_CMDLINE],
    /// First PFN of the initial P2M table frames.
    pub first_p2m_pfn: u64,
    /// Number of initial P2M table frames.
    pub nr_p2m_frames: u64,
}

const _: () = assert!(core::mem::size_of::<StartInfo>() == 1168);

impl StartInfo {
    /// An all-zero structure.
    pub fn zeroed() -> Self {
        <Self as FromZeros>::new_zeroed()
    }

    /// Dom0 view of the console union: offset of the
    /// [`Dom0VgaConsoleInfo`] from the start of this structure.
    pub const fn dom0_console_info_off(&self) -> u32 {
        self.console_mfn as u32
    }

    /// Dom0 view of the console union: size of the console info.
    pub const fn dom0_console_info_size(&self) -> u32 {
        (self.console_mfn >> 32) as u32
    }

    /// Sets the Dom0 view of the console union (`info_off`, `info_size`).
    pub fn set_dom0_console_info(&mut self, info_off: u32, info_size: u32) {
        self.console_mfn = u64::from(info_off) | (u64::from(info_size) << 32);
    }

    /// The magic string without its NUL padding.
    pub fn magic_bytes(&self) -> &[u8] {
        crate::c_string_bytes(&self.magic)
    }

    /// Stores `magic` (truncated to 31 bytes) NUL padded.
    pub fn set_magic(&mut self, magic: &[u8]) {
        crate::copy_c_string(&mut self.magic, magic);
    }

    /// Whether the magic identifies a 64-bit PV guest start-info.
    pub fn has_valid_magic(&self) -> bool {
        self.magic_bytes() == START_INFO_MAGIC
    }

    /// The command line without its terminating NUL.
    pub fn cmd_line_bytes(&self) -> &[u8] {
        crate::c_string_bytes(&self.cmd_line)
    }

    /// Stores a command line, truncated to `MAX_GUEST_CMDLINE - 1` bytes.
    /// Returns the number of bytes kept.
    pub fn set_cmd_line(&mut self, cmd_line: &[u8]) -> usize {
        crate::copy_c_string(&mut self.cmd_line, cmd_line)
    }
}

impl Default for StartInfo {
    fn default() -> Self {
        Self::zeroed()
    }
}

/// `video_type`: VGA text mode 3.
pub const XEN_VGATYPE_TEXT_MODE_3: u8 = 0x03;
/// `video_type`: VESA linear frame buffer.
pub const XEN_VGATYPE_VESA_LFB: u8 = 0x23;
/// `video_type`: EFI linear frame buffer.
pub const XEN_VGATYPE_EFI_LFB: u8 = 0x70;

/// Text-mode arm of the [`Dom0VgaConsoleInfo`] union (10 B).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VgaTextMode3 {
    /// Font height in pixels.
    pub font_height: u16,
    /// Cursor column.
    pub cursor_x: u16,
    /// Cursor row.
    pub cursor_y: u16,
    /// Number of text rows.
    pub rows: u16,
    /// Number of text columns.
    pub columns: u16,
}

/// Frame-buffer arm of the [`Dom0VgaConsoleInfo`] union (36 B; the
/// layout of Xen 4.13 and later, with `ext_lfb_base`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct VgaVesaLfb {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Bytes per scan line.
    pub bytes_per_line: u16,
    /// Bits per pixel.
    pub bits_per_pixel: u16,
    /// Low 32 bits of the frame buffer's physical address.
    pub lfb_base: u32,
    /// Frame-buffer size in 64 KiB units.
    pub lfb_size: u32,
    /// Red field position.
    pub red_pos: u8,
    /// Red field size.
    pub red_size: u8,
    /// Green field position.
    pub green_pos: u8,
    /// Green field size.
    pub green_size: u8,
    /// Blue field position.
    pub blue_pos: u8,
    /// Blue field size.
    pub blue_size: u8,
    /// Reserved field position.
    pub rsvd_pos: u8,
    /// Reserved field size.
    pub rsvd_size: u8,
    /// VESA capabilities (VBE function 0x4f00, offset 0xa).
    pub gbl_caps: u32,
    /// Mode attributes (VBE function 0x4f01, offset 0x0).
    pub mode_attrs: u16,
    /// Padding.
    pub pad: u16,
    /// High 32 bits of the frame buffer's physical address.
    pub ext_lfb_base: u32,
}

/// Dom0 console description placed right after [`StartInfo`]
/// (C `struct dom0_vga_console_info`, 40 B).
///
/// The C union of a text-mode and a frame-buffer description is stored as
/// its larger arm, [`VgaVesaLfb`]; use [`Dom0VgaConsoleInfo::text_mode_3`]
/// for the other view.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Dom0VgaConsoleInfo {
    /// `XEN_VGATYPE_*`.
    pub video_type: u8,
    /// Padding.
    pub _pad: [u8; 3],
    /// The union, viewed as its frame-buffer arm.
    pub vesa_lfb: VgaVesaLfb,
}

impl Dom0VgaConsoleInfo {
    /// The union viewed as its text-mode arm.
    pub fn text_mode_3(&self) -> VgaTextMode3 {
        let (t, _) = VgaTextMode3::read_from_prefix(self.vesa_lfb.as_bytes())
            .expect("text arm is smaller than the frame-buffer arm");
        t
    }

    /// Writes the text-mode arm of the union (the rest is left as is).
    pub fn set_text_mode_3(&mut self, t: &VgaTextMode3) {
        t.write_to_prefix(self.vesa_lfb.as_mut_bytes())
            .expect("text arm is smaller than the frame-buffer arm");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_info_layout() {
        check_layout!(StartInfo, 1168, {
            magic @ 0, nr_pages @ 32, shared_info @ 40, flags @ 48,
            store_mfn @ 56, store_evtchn @ 64, console_mfn @ 72,
            console_evtchn @ 80, pt_base @ 88, nr_pt_frames @ 96,
            mfn_list @ 104, mod_start @ 112, mod_len @ 120, cmd_line @ 128,
            first_p2m_pfn @ 1152, nr_p2m_frames @ 1160,
        });
    }

    #[test]
    fn dom0_console_union() {
        let mut si = StartInfo::zeroed();
        si.set_dom0_console_info(1168, 40);
        assert_eq!(si.dom0_console_info_off(), 1168);
        assert_eq!(si.dom0_console_info_size(), 40);
        // info_off @72, info_size @76, little endian.
        let b = si.as_bytes();
        assert_eq!(b[72..76], 1168u32.to_le_bytes());
        assert_eq!(b[76..80], 40u32.to_le_bytes());
    }

    #[test]
    fn strings() {
        let mut si = StartInfo::default();
        si.set_magic(START_INFO_MAGIC);
        assert!(si.has_valid_magic());
        assert_eq!(si.magic[14..], [0u8; 18]);
        assert_eq!(si.set_cmd_line(b"console=hvc0"), 12);
        assert_eq!(si.cmd_line_bytes(), b"console=hvc0");
        let long = [b'x'; 2000];
        assert_eq!(si.set_cmd_line(&long), MAX_GUEST_CMDLINE - 1);
        assert_eq!(si.cmd_line[MAX_GUEST_CMDLINE - 1], 0);
    }

    #[test]
    fn sif_flags() {
        assert_eq!(SIF_PRIVILEGED | SIF_INITDOMAIN, 3);
        assert_eq!(SIF_MOD_START_PFN, 8);
        assert_eq!(SIF_PM_MASK, 0xff00);
    }

    #[test]
    fn vga_console_layout() {
        check_layout!(VgaTextMode3, 10, {
            font_height @ 0, cursor_x @ 2, cursor_y @ 4, rows @ 6, columns @ 8,
        });
        check_layout!(VgaVesaLfb, 36, {
            width @ 0, height @ 2, bytes_per_line @ 4, bits_per_pixel @ 6,
            lfb_base @ 8, lfb_size @ 12, red_pos @ 16, red_size @ 17,
            green_pos @ 18, green_size @ 19, blue_pos @ 20, blue_size @ 21,
            rsvd_pos @ 22, rsvd_size @ 23, gbl_caps @ 24, mode_attrs @ 28,
            pad @ 30, ext_lfb_base @ 32,
        });
        check_layout!(Dom0VgaConsoleInfo, 40, { video_type @ 0, vesa_lfb @ 4 });

        let mut v = Dom0VgaConsoleInfo {
            video_type: XEN_VGATYPE_TEXT_MODE_3,
            ..Default::default()
        };
        let t = VgaTextMode3 {
            font_height: 16,
            cursor_x: 1,
            cursor_y: 2,
            rows: 25,
            columns: 80,
        };
        v.set_text_mode_3(&t);
        assert_eq!(v.text_mode_3(), t);
        assert_eq!(v.vesa_lfb.width, 16);
        assert_eq!(v.as_bytes()[12..14], 80u16.to_le_bytes());
    }
}
