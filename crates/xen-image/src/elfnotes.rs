//! Xen ELF notes (`xen/include/public/elfnote.h`) and a strict note walker.
//!
//! The numbers are ABI: a PV kernel built for Xen carries these notes and
//! this hypervisor must read them the same way. They are defined here rather
//! than taken from `xen-abi` so that this crate stays a leaf with no
//! dependency on the rest of the tree.
//!
//! The walker is hand-written instead of using `elf`'s `NoteIterator` for two
//! reasons: that iterator stops silently on a malformed note (a truncated
//! notes segment would look like "no more notes"), and it pads by the
//! segment's `p_align`, while Xen's libelf (`elf_note_next`) always pads name
//! and descriptor to 4 bytes. Matching libelf means a kernel Xen accepts is
//! read identically here.

use core::fmt;

/// Name field of every Xen note.
pub const XEN_NOTE_NAME: &[u8] = b"Xen";

/// `XEN_ELFNOTE_INFO`: unused padding/info note.
pub const XEN_ELFNOTE_INFO: u32 = 0;
/// `XEN_ELFNOTE_ENTRY`: virtual entry point (numeric).
pub const XEN_ELFNOTE_ENTRY: u32 = 1;
/// `XEN_ELFNOTE_HYPERCALL_PAGE`: virtual address where the hypervisor writes
/// the hypercall page (numeric).
pub const XEN_ELFNOTE_HYPERCALL_PAGE: u32 = 2;
/// `XEN_ELFNOTE_VIRT_BASE`: virtual address where pseudo-physical 0 is mapped
/// (numeric).
pub const XEN_ELFNOTE_VIRT_BASE: u32 = 3;
/// `XEN_ELFNOTE_PADDR_OFFSET`: subtracted from `p_paddr` by Xen's loader
/// (numeric).
pub const XEN_ELFNOTE_PADDR_OFFSET: u32 = 4;
/// `XEN_ELFNOTE_XEN_VERSION`: Xen version the kernel was built for (string).
pub const XEN_ELFNOTE_XEN_VERSION: u32 = 5;
/// `XEN_ELFNOTE_GUEST_OS`: guest OS name (string).
pub const XEN_ELFNOTE_GUEST_OS: u32 = 6;
/// `XEN_ELFNOTE_GUEST_VERSION`: guest OS version (string).
pub const XEN_ELFNOTE_GUEST_VERSION: u32 = 7;
/// `XEN_ELFNOTE_LOADER`: loader the image expects, e.g. `"generic"` (string).
pub const XEN_ELFNOTE_LOADER: u32 = 8;
/// `XEN_ELFNOTE_PAE_MODE`: PAE support (string).
pub const XEN_ELFNOTE_PAE_MODE: u32 = 9;
/// `XEN_ELFNOTE_FEATURES`: `|`-separated feature list, `!` marks required
/// (string).
pub const XEN_ELFNOTE_FEATURES: u32 = 10;
/// `XEN_ELFNOTE_BSD_SYMTAB` (string).
pub const XEN_ELFNOTE_BSD_SYMTAB: u32 = 11;
/// `XEN_ELFNOTE_HV_START_LOW` (numeric; 32-bit guests only).
pub const XEN_ELFNOTE_HV_START_LOW: u32 = 12;
/// `XEN_ELFNOTE_L1_MFN_VALID` (numeric).
pub const XEN_ELFNOTE_L1_MFN_VALID: u32 = 13;
/// `XEN_ELFNOTE_SUSPEND_CANCEL` (numeric).
pub const XEN_ELFNOTE_SUSPEND_CANCEL: u32 = 14;
/// `XEN_ELFNOTE_INIT_P2M`: where the guest wants its P2M list mapped
/// (numeric).
pub const XEN_ELFNOTE_INIT_P2M: u32 = 15;
/// `XEN_ELFNOTE_MOD_START_PFN`: guest accepts `mod_start` as a PFN (numeric).
pub const XEN_ELFNOTE_MOD_START_PFN: u32 = 16;
/// `XEN_ELFNOTE_SUPPORTED_FEATURES`: bitmap of supported features (numeric).
pub const XEN_ELFNOTE_SUPPORTED_FEATURES: u32 = 17;
/// `XEN_ELFNOTE_PHYS32_ENTRY`: PVH 32-bit physical entry point (numeric).
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// `XEN_ELFNOTE_PHYS32_RELOC` (PVH).
pub const XEN_ELFNOTE_PHYS32_RELOC: u32 = 19;

/// One ELF note. `name` excludes the trailing NUL(s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note<'a> {
    /// Note owner name, e.g. `b"Xen"`.
    pub name: &'a [u8],
    /// Note type (`n_type`).
    pub n_type: u32,
    /// Descriptor bytes (unpadded).
    pub desc: &'a [u8],
}

impl<'a> Note<'a> {
    /// Whether this is a `"Xen"` note.
    pub fn is_xen(&self) -> bool {
        self.name == XEN_NOTE_NAME
    }

    /// The descriptor as a little-endian number, as libelf's
    /// `elf_note_numeric` reads it: 1, 2, 4 or 8 bytes; anything else is not
    /// a number.
    pub fn numeric(&self) -> Option<u64> {
        let d = self.desc;
        match d.len() {
            1 => Some(u64::from(d[0])),
            2 => Some(u64::from(u16::from_le_bytes([d[0], d[1]]))),
            4 => Some(u64::from(u32::from_le_bytes([d[0], d[1], d[2], d[3]]))),
            8 => Some(u64::from_le_bytes([
                d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
            ])),
            _ => None,
        }
    }

    /// The descriptor as a NUL-terminated UTF-8 string. The NUL is required
    /// (libelf's `elf_strval` rejects unterminated strings); bytes after it
    /// are padding.
    pub fn string(&self) -> Option<&'a str> {
        let nul = self.desc.iter().position(|&c| c == 0)?;
        core::str::from_utf8(&self.desc[..nul]).ok()
    }
}

/// A note header or body runs past the end of its container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteOverrun {
    /// Byte offset of the offending note inside the notes area.
    pub offset: usize,
}

impl fmt::Display for NoteOverrun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ELF note at offset {:#x} runs past the end of its notes area",
            self.offset
        )
    }
}

/// Iterates the notes in a `PT_NOTE` segment or `SHT_NOTE` section.
///
/// Yields `Err` once (then stops) if a note does not fit, so callers can tell
/// a corrupt area from the end of one.
pub fn notes(area: &[u8]) -> Notes<'_> {
    Notes {
        data: area,
        pos: 0,
        failed: false,
    }
}

/// Iterator returned by [`notes`].
#[derive(Clone, Debug)]
pub struct Notes<'a> {
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Iterator for Notes<'a> {
    type Item = Result<Note<'a>, NoteOverrun>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let offset = self.pos;
        let note = parse_note(self.data, offset);
        match note {
            Some((note, next)) => {
                self.pos = next;
                Some(Ok(note))
            }
            None => {
                self.failed = true;
                Some(Err(NoteOverrun { offset }))
            }
        }
    }
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn align4(x: usize) -> Option<usize> {
    x.checked_add(3).map(|v| v & !3)
}

/// Parses the note at `at`, returning it and the offset of the next one.
/// Elf64_Nhdr has 32-bit fields, like Elf32_Nhdr.
fn parse_note(data: &[u8], at: usize) -> Option<(Note<'_>, usize)> {
    let namesz = usize::try_from(u32_at(data, at)?).ok()?;
    let descsz = usize::try_from(u32_at(data, at.checked_add(4)?)?).ok()?;
    let n_type = u32_at(data, at.checked_add(8)?)?;
    let name_start = at.checked_add(12)?;
    let name = data.get(name_start..name_start.checked_add(namesz)?)?;
    let desc_start = name_start.checked_add(align4(namesz)?)?;
    let desc = data.get(desc_start..desc_start.checked_add(descsz)?)?;
    // The final note's padding may be cut off by the area's size; the next
    // call then simply finds the end.
    let next = desc_start.checked_add(align4(descsz)?)?;
    let mut name = name;
    while let [rest @ .., 0] = name {
        name = rest;
    }
    Some((Note { name, n_type, desc }, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testelf::note;
    use std::vec::Vec;

    #[test]
    fn walks_notes() {
        let mut area = note(b"Xen", XEN_ELFNOTE_GUEST_OS, b"XTF\0");
        area.extend(note(b"GNU", 3, &[1, 2, 3, 4, 5]));
        area.extend(note(b"Xen", XEN_ELFNOTE_ENTRY, &0x1234u64.to_le_bytes()));
        let v: Vec<_> = notes(&area).collect::<Result<_, _>>().unwrap();
        assert_eq!(v.len(), 3);
        assert!(v[0].is_xen() && v[0].string() == Some("XTF"));
        assert!(!v[1].is_xen());
        assert_eq!(v[2].numeric(), Some(0x1234));
    }

    #[test]
    fn numeric_and_string_forms() {
        let n = |d: &'static [u8]| Note {
            name: b"Xen",
            n_type: 1,
            desc: d,
        };
        assert_eq!(n(&[7]).numeric(), Some(7));
        assert_eq!(n(&[1, 2]).numeric(), Some(0x201));
        assert_eq!(n(&[1, 0, 0, 0x80]).numeric(), Some(0x8000_0001));
        assert_eq!(n(&[1, 2, 3]).numeric(), None);
        assert_eq!(n(b"abc").string(), None);
        assert_eq!(n(b"abc\0\0").string(), Some("abc"));
        assert_eq!(n(b"\xff\0").string(), None);
    }

    #[test]
    fn overrun_is_reported_once() {
        let area = note(b"Xen", 6, b"linux\0");
        for cut in 1..area.len() {
            let r: Vec<_> = notes(&area[..cut]).collect();
            // Cutting only the final padding still yields the note.
            if cut >= 12 + 4 + 6 {
                assert!(matches!(r.as_slice(), [Ok(_)]), "cut {cut}");
            } else {
                assert_eq!(r, [Err(NoteOverrun { offset: 0 })], "cut {cut}");
            }
        }
        let mut huge = area.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            notes(&huge).collect::<Vec<_>>(),
            [Err(NoteOverrun { offset: 0 })]
        );
    }
}
