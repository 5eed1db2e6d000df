//! Validation of a 64-bit x86-64 Xen PV kernel image.
//!
//! [`KernelImage::parse`] does everything that can be decided from the file
//! alone, the way Xen's libelf (`libelf-dominfo.c`) and the PV builders do,
//! so that the code which copies segments into guest memory can trust every
//! address and length it is given:
//!
//! - the ELF header is 64-bit, little-endian, x86-64 and executable;
//! - `PT_LOAD` segments fit in the file, have `filesz <= memsz`, do not wrap,
//!   lie in one canonical half, avoid the hypervisor's reserved hole and do
//!   not overlap each other;
//! - Xen notes are present and name a guest OS, a loader Xen accepts and a
//!   Xen version Xen accepts;
//! - the entry point and hypercall page fall inside the loaded image.
//!
//! Load addresses are the segments' `p_vaddr`. Xen's loader computes them as
//! `p_paddr - PADDR_OFFSET + VIRT_BASE`, which is the same for every kernel
//! that follows the convention (Linux, XTF); `paddr_offset` is reported so a
//! caller can check that if it cares.

use core::fmt;

use elf::abi;
use elf::endian::AnyEndian;
use elf::segment::{ProgramHeader, SegmentTable};
use elf::ElfBytes;

use crate::elfnotes::{self, Note};
use crate::PAGE_SIZE;

/// Lowest address of the x86-64 upper canonical half.
const UPPER_HALF_START: u64 = 0xFFFF_8000_0000_0000;
/// One past the highest address of the lower canonical half.
const LOWER_HALF_END: u64 = 0x0000_8000_0000_0000;
/// End of the range reserved for the hypervisor in every PV address space
/// (`HYPERVISOR_VIRT_END`); it starts at [`HYPERVISOR_HOLE_START`].
pub const HYPERVISOR_HOLE_END: u64 = 0xFFFF_8800_0000_0000;
/// Start of the hypervisor's reserved range (`HYPERVISOR_VIRT_START`).
pub const HYPERVISOR_HOLE_START: u64 = UPPER_HALF_START;

/// Upper bound on `PT_LOAD` segments. Real kernels have a handful; the bound
/// keeps the allocation-free quadratic overlap check cheap on hostile input.
pub const MAX_LOAD_SEGMENTS: usize = 64;

/// Why a byte slice is not a loadable PV kernel. `index` fields are program
/// header indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The data does not start with the ELF magic.
    NotElf,
    /// The ELF class is not ELFCLASS64.
    Not64Bit,
    /// The ELF data encoding is not little-endian.
    NotLittleEndian,
    /// `e_machine` is not EM_X86_64.
    NotX86_64 {
        /// The `e_machine` found.
        machine: u16,
    },
    /// The ELF structure itself is broken (headers out of bounds, bad sizes).
    Malformed(&'static str),
    /// `e_type` is not ET_EXEC (or ET_DYN without dynamic relocations).
    NotExecutable {
        /// The `e_type` found.
        e_type: u16,
    },
    /// A position-independent image with a `PT_DYNAMIC` segment: it would need
    /// relocating, which PV loaders do not do.
    NeedsRelocation,
    /// No `PT_LOAD` segment with a non-zero size.
    NoLoadSegments,
    /// More than [`MAX_LOAD_SEGMENTS`] `PT_LOAD` segments.
    TooManySegments,
    /// A segment's file range runs past the end of the file.
    SegmentOutsideFile {
        /// Program header index.
        index: usize,
    },
    /// A segment's `p_filesz` exceeds its `p_memsz`.
    FileSizeExceedsMemSize {
        /// Program header index.
        index: usize,
    },
    /// `p_vaddr + p_memsz` (or the page-rounded image end) overflows.
    AddressOverflow {
        /// Program header index.
        index: usize,
    },
    /// A segment is not inside one canonical half of the address space.
    NonCanonical {
        /// Program header index.
        index: usize,
    },
    /// A segment intersects the hypervisor's reserved range.
    InHypervisorHole {
        /// Program header index.
        index: usize,
    },
    /// Two `PT_LOAD` segments overlap in virtual memory.
    SegmentsOverlap {
        /// Index of the earlier segment.
        first: usize,
        /// Index of the later segment.
        second: usize,
    },
    /// A notes area lies outside the file or holds a truncated note.
    BadNotesArea,
    /// A Xen note has the wrong form (numeric note not 1/2/4/8 bytes, string
    /// note not NUL-terminated UTF-8).
    BadXenNote {
        /// The note type.
        n_type: u32,
    },
    /// No `"Xen"` ELF notes at all.
    NotXenImage,
    /// Xen notes but no `GUEST_OS` note.
    MissingGuestOs,
    /// Neither `LOADER` starts with `generic` nor `GUEST_OS` with `linux`
    /// (Xen's `elf_xen_note_check` rule).
    UnsupportedLoader,
    /// `XEN_VERSION` missing or not starting with `xen-3.0` (Xen's rule).
    UnsupportedXenVersion,
    /// `PADDR_OFFSET` given without `VIRT_BASE` (Xen rejects this).
    PaddrOffsetWithoutVirtBase,
    /// `VIRT_BASE` is above the lowest loaded address.
    VirtBaseAboveImage {
        /// The `VIRT_BASE` value.
        virt_base: u64,
    },
    /// The entry point is not inside any `PT_LOAD` segment.
    EntryOutsideImage {
        /// The entry point.
        entry: u64,
    },
    /// The hypercall page is not page-aligned.
    HypercallPageUnaligned {
        /// The `HYPERCALL_PAGE` value.
        addr: u64,
    },
    /// The hypercall page does not lie within the loaded image.
    HypercallPageOutsideImage {
        /// The `HYPERCALL_PAGE` value.
        addr: u64,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NotElf => f.write_str("kernel image is not an ELF file"),
            Self::Not64Bit => f.write_str("kernel image is not a 64-bit ELF file"),
            Self::NotLittleEndian => f.write_str("kernel image is not a little-endian ELF file"),
            Self::NotX86_64 { machine } => {
                write!(f, "kernel image is not for x86-64 (e_machine {machine})")
            }
            Self::Malformed(why) => write!(f, "kernel image is a malformed ELF file: {why}"),
            Self::NotExecutable { e_type } => {
                write!(f, "kernel image is not an executable ELF file (e_type {e_type})")
            }
            Self::NeedsRelocation => f.write_str(
                "kernel image is position-independent with dynamic relocations; \
                 link it at a fixed address (e.g. -C relocation-model=static)",
            ),
            Self::NoLoadSegments => f.write_str("kernel image has no loadable segments"),
            Self::TooManySegments => write!(
                f,
                "kernel image has more than {MAX_LOAD_SEGMENTS} loadable segments"
            ),
            Self::SegmentOutsideFile { index } => {
                write!(f, "kernel segment {index} runs past the end of the file")
            }
            Self::FileSizeExceedsMemSize { index } => {
                write!(f, "kernel segment {index} has a file size larger than its memory size")
            }
            Self::AddressOverflow { index } => {
                write!(f, "kernel segment {index} wraps around the end of the address space")
            }
            Self::NonCanonical { index } => {
                write!(f, "kernel segment {index} is not within one canonical address half")
            }
            Self::InHypervisorHole { index } => write!(
                f,
                "kernel segment {index} intersects the hypervisor range \
                 {HYPERVISOR_HOLE_START:#x}..{HYPERVISOR_HOLE_END:#x}"
            ),
            Self::SegmentsOverlap { first, second } => {
                write!(f, "kernel segments {first} and {second} overlap")
            }
            Self::BadNotesArea => {
                f.write_str("kernel ELF notes lie outside the file or are truncated")
            }
            Self::BadXenNote { n_type } => write!(f, "kernel has a malformed Xen ELF note (type {n_type})"),
            Self::NotXenImage => f.write_str("not a Xen-ELF image: no Xen ELF notes found"),
            Self::MissingGuestOs => f.write_str("not a Xen-ELF image: no GUEST_OS ELF note"),
            Self::UnsupportedLoader => f.write_str(
                "kernel is neither built for the generic loader (LOADER) nor a Linux image (GUEST_OS)",
            ),
            Self::UnsupportedXenVersion => {
                f.write_str("kernel is not built for Xen v3.0 (XEN_VERSION note missing or different)")
            }
            Self::PaddrOffsetWithoutVirtBase => {
                f.write_str("kernel has a PADDR_OFFSET ELF note but no VIRT_BASE")
            }
            Self::VirtBaseAboveImage { virt_base } => write!(
                f,
                "kernel VIRT_BASE {virt_base:#x} is above its lowest loaded address"
            ),
            Self::EntryOutsideImage { entry } => {
                write!(f, "kernel entry point {entry:#x} is outside its loaded segments")
            }
            Self::HypercallPageUnaligned { addr } => {
                write!(f, "kernel HYPERCALL_PAGE {addr:#x} is not page-aligned")
            }
            Self::HypercallPageOutsideImage { addr } => {
                write!(f, "kernel HYPERCALL_PAGE {addr:#x} is outside the loaded image")
            }
        }
    }
}

impl core::error::Error for ImageError {}

/// One loadable segment: copy `file_bytes` to `vaddr`, zero the rest up to
/// `mem_size`.
///
/// Segments never overlap byte-wise, but two may share a page (if the linker
/// did not page-align them); a builder setting page permissions must then
/// combine the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Virtual load address (`p_vaddr`).
    pub vaddr: u64,
    /// Initialised contents (`p_filesz` bytes from the file).
    pub file_bytes: &'a [u8],
    /// Size in memory (`p_memsz`), at least `file_bytes.len()`.
    pub mem_size: u64,
    /// `PF_W`.
    pub writable: bool,
    /// `PF_X`.
    pub executable: bool,
}

/// A validated PV kernel and its Xen notes.
#[derive(Clone, Copy, Debug)]
pub struct KernelImage<'a> {
    /// Entry point: `XEN_ELFNOTE_ENTRY`, else `e_entry`. Inside a segment.
    pub entry: u64,
    /// `XEN_ELFNOTE_VIRT_BASE`, 0 if absent (as Xen). Not above `load_start`.
    pub virt_base: u64,
    /// `XEN_ELFNOTE_HYPERCALL_PAGE`: a page-aligned page inside the image.
    pub hypercall_page: Option<u64>,
    /// `XEN_ELFNOTE_FEATURES`, unparsed.
    pub features: Option<&'a str>,
    /// `XEN_ELFNOTE_GUEST_OS`; always `Some` after a successful parse.
    pub guest_os: Option<&'a str>,
    /// `XEN_ELFNOTE_GUEST_VERSION`.
    pub guest_version: Option<&'a str>,
    /// `XEN_ELFNOTE_LOADER`.
    pub loader: Option<&'a str>,
    /// `XEN_ELFNOTE_XEN_VERSION`; always `Some` after a successful parse.
    pub xen_version: Option<&'a str>,
    /// `XEN_ELFNOTE_PAE_MODE`.
    pub pae_mode: Option<&'a str>,
    /// `XEN_ELFNOTE_PADDR_OFFSET`, 0 if absent (Xen's default when notes are
    /// used).
    pub paddr_offset: u64,
    /// Lowest `p_vaddr` of a non-empty `PT_LOAD` segment.
    pub load_start: u64,
    /// Highest `p_vaddr + p_memsz`, rounded up to a page.
    pub load_end: u64,
    data: &'a [u8],
    phdrs: SegmentTable<'a, AnyEndian>,
}

impl<'a> KernelImage<'a> {
    /// Parses and validates a PV kernel. Never panics, whatever `bytes` holds.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ImageError> {
        check_ident(bytes)?;
        let elf = ElfBytes::<AnyEndian>::minimal_parse(bytes).map_err(malformed)?;
        let phdrs = elf.segments().ok_or(ImageError::NoLoadSegments)?;

        let mut notes = XenNotes::default();
        let mut has_dynamic = false;
        let mut loads = 0usize;
        let mut lowest = u64::MAX;
        let mut highest = 0u64;
        let mut highest_index = 0usize;
        for (index, ph) in phdrs.iter().enumerate() {
            match ph.p_type {
                abi::PT_LOAD => {
                    let Some((start, end)) = check_load(bytes, index, &ph)? else {
                        continue;
                    };
                    loads += 1;
                    if loads > MAX_LOAD_SEGMENTS {
                        return Err(ImageError::TooManySegments);
                    }
                    lowest = lowest.min(start);
                    if end > highest {
                        highest = end;
                        highest_index = index;
                    }
                }
                // Xen skips note segments at offset 0: some binutils emitted
                // bogus ones.
                abi::PT_NOTE if ph.p_offset != 0 => {
                    let area = file_range(bytes, ph.p_offset, ph.p_filesz)
                        .ok_or(ImageError::BadNotesArea)?;
                    notes.collect(area)?;
                }
                abi::PT_DYNAMIC => has_dynamic = true,
                _ => {}
            }
        }
        if loads == 0 {
            return Err(ImageError::NoLoadSegments);
        }

        match elf.ehdr.e_type {
            abi::ET_EXEC => {}
            abi::ET_DYN if has_dynamic => return Err(ImageError::NeedsRelocation),
            abi::ET_DYN => {}
            e_type => return Err(ImageError::NotExecutable { e_type }),
        }

        check_overlaps(&phdrs)?;

        // Like libelf: fall back to SHT_NOTE sections only when the note
        // segments held no Xen notes.
        if notes.count == 0 {
            if let Some(shdrs) = elf.section_headers() {
                for sh in shdrs.iter().skip(1) {
                    if sh.sh_type == abi::SHT_NOTE {
                        let area = file_range(bytes, sh.sh_offset, sh.sh_size)
                            .ok_or(ImageError::BadNotesArea)?;
                        notes.collect(area)?;
                    }
                }
            }
        }
        if notes.count == 0 {
            return Err(ImageError::NotXenImage);
        }
        let guest_os = notes.guest_os.ok_or(ImageError::MissingGuestOs)?;
        let generic = notes.loader.is_some_and(|l| l.starts_with("generic"));
        if !generic && !guest_os.starts_with("linux") {
            return Err(ImageError::UnsupportedLoader);
        }
        if !notes.xen_version.is_some_and(|v| v.starts_with("xen-3.0")) {
            return Err(ImageError::UnsupportedXenVersion);
        }
        if notes.paddr_offset.is_some() && notes.virt_base.is_none() {
            return Err(ImageError::PaddrOffsetWithoutVirtBase);
        }

        let virt_base = notes.virt_base.unwrap_or(0);
        if virt_base > lowest {
            return Err(ImageError::VirtBaseAboveImage { virt_base });
        }
        let load_end = round_up_page(highest).ok_or(ImageError::AddressOverflow {
            index: highest_index,
        })?;

        let entry = notes.entry.unwrap_or(elf.ehdr.e_entry);
        let in_segment = phdrs.iter().any(|ph| {
            ph.p_type == abi::PT_LOAD && entry >= ph.p_vaddr && entry - ph.p_vaddr < ph.p_memsz
        });
        if !in_segment {
            return Err(ImageError::EntryOutsideImage { entry });
        }

        if let Some(addr) = notes.hypercall_page {
            if addr % PAGE_SIZE != 0 {
                return Err(ImageError::HypercallPageUnaligned { addr });
            }
            if addr < lowest || addr >= load_end {
                return Err(ImageError::HypercallPageOutsideImage { addr });
            }
        }

        Ok(KernelImage {
            entry,
            virt_base,
            hypercall_page: notes.hypercall_page,
            features: notes.features,
            guest_os: Some(guest_os),
            guest_version: notes.guest_version,
            loader: notes.loader,
            xen_version: notes.xen_version,
            pae_mode: notes.pae_mode,
            paddr_offset: notes.paddr_offset.unwrap_or(0),
            load_start: lowest,
            load_end,
            data: bytes,
            phdrs,
        })
    }

    /// The non-empty `PT_LOAD` segments, in program-header order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> + 'a {
        let data = self.data;
        self.phdrs.iter().filter_map(move |ph| {
            if ph.p_type != abi::PT_LOAD || ph.p_memsz == 0 {
                return None;
            }
            // Validated by `parse`; `file_range` keeps this total regardless.
            Some(Segment {
                vaddr: ph.p_vaddr,
                file_bytes: file_range(data, ph.p_offset, ph.p_filesz)?,
                mem_size: ph.p_memsz,
                writable: ph.p_flags & abi::PF_W != 0,
                executable: ph.p_flags & abi::PF_X != 0,
            })
        })
    }

    /// Whether the `FEATURES` note lists `name`, optionally `!`-prefixed
    /// (required). Returns `Some(required)` if listed.
    pub fn feature(&self, name: &str) -> Option<bool> {
        self.features?
            .split('|')
            .find_map(|f| match f.strip_prefix('!') {
                Some(f) if f == name => Some(true),
                None if f == name => Some(false),
                _ => None,
            })
    }
}

/// Checks the identification bytes ourselves so that the common "wrong kind
/// of file" cases get precise errors instead of a generic parse failure.
fn check_ident(b: &[u8]) -> Result<(), ImageError> {
    if b.len() < 4 || &b[..4] != b"\x7fELF" {
        return Err(ImageError::NotElf);
    }
    match b.get(abi::EI_CLASS) {
        Some(&abi::ELFCLASS64) => {}
        Some(_) => return Err(ImageError::Not64Bit),
        None => return Err(ImageError::Malformed("truncated ELF header")),
    }
    match b.get(abi::EI_DATA) {
        Some(&abi::ELFDATA2LSB) => {}
        Some(_) => return Err(ImageError::NotLittleEndian),
        None => return Err(ImageError::Malformed("truncated ELF header")),
    }
    let machine = match b.get(18..20) {
        Some(m) => u16::from_le_bytes([m[0], m[1]]),
        None => return Err(ImageError::Malformed("truncated ELF header")),
    };
    if machine != abi::EM_X86_64 {
        return Err(ImageError::NotX86_64 { machine });
    }
    Ok(())
}

fn malformed(e: elf::ParseError) -> ImageError {
    use elf::ParseError as P;
    ImageError::Malformed(match e {
        P::BadMagic(_) => "bad magic",
        P::UnsupportedElfClass(_) => "unsupported class",
        P::UnsupportedElfEndianness(_) => "unsupported data encoding",
        P::UnsupportedVersion(_) => "unsupported ELF version",
        P::BadOffset(_) | P::SliceReadError(_) => "header table out of bounds",
        P::BadEntsize(_) => "bad header table entry size",
        P::IntegerOverflow | P::TryFromIntError(_) => "header table size overflows",
        _ => "unparsable headers",
    })
}

/// `bytes[offset..offset + len]`, if it is all inside the file.
fn file_range(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(start..end)
}

fn round_up_page(x: u64) -> Option<u64> {
    Some(x.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1))
}

/// Validates one `PT_LOAD` on its own. Returns its `[start, end)` virtual
/// range, or `None` for an empty segment (which loads nothing and is
/// ignored, apart from the file-range checks).
fn check_load(
    bytes: &[u8],
    index: usize,
    ph: &ProgramHeader,
) -> Result<Option<(u64, u64)>, ImageError> {
    if ph.p_filesz > ph.p_memsz {
        return Err(ImageError::FileSizeExceedsMemSize { index });
    }
    if file_range(bytes, ph.p_offset, ph.p_filesz).is_none() {
        return Err(ImageError::SegmentOutsideFile { index });
    }
    if ph.p_memsz == 0 {
        return Ok(None);
    }
    let start = ph.p_vaddr;
    let end = start
        .checked_add(ph.p_memsz)
        .ok_or(ImageError::AddressOverflow { index })?;
    let last = end - 1;
    if start < LOWER_HALF_END {
        if last >= LOWER_HALF_END {
            return Err(ImageError::NonCanonical { index });
        }
    } else if start < UPPER_HALF_START {
        return Err(ImageError::NonCanonical { index });
    } else if start < HYPERVISOR_HOLE_END {
        return Err(ImageError::InHypervisorHole { index });
    }
    Ok(Some((start, end)))
}

/// Pairwise overlap check of non-empty `PT_LOAD`s (bounded by
/// [`MAX_LOAD_SEGMENTS`], and all already known not to wrap).
fn check_overlaps(phdrs: &SegmentTable<'_, AnyEndian>) -> Result<(), ImageError> {
    let is_load = |ph: &ProgramHeader| ph.p_type == abi::PT_LOAD && ph.p_memsz != 0;
    for (second, b) in phdrs.iter().enumerate().filter(|(_, ph)| is_load(ph)) {
        for (first, a) in phdrs
            .iter()
            .enumerate()
            .take(second)
            .filter(|(_, ph)| is_load(ph))
        {
            // Both ends fit in u64: checked in `check_load`.
            if a.p_vaddr < b.p_vaddr + b.p_memsz && b.p_vaddr < a.p_vaddr + a.p_memsz {
                return Err(ImageError::SegmentsOverlap { first, second });
            }
        }
    }
    Ok(())
}

/// The Xen notes this crate reads. Later notes override earlier ones, as in
/// libelf.
#[derive(Default)]
struct XenNotes<'a> {
    count: usize,
    entry: Option<u64>,
    hypercall_page: Option<u64>,
    virt_base: Option<u64>,
    paddr_offset: Option<u64>,
    xen_version: Option<&'a str>,
    guest_os: Option<&'a str>,
    guest_version: Option<&'a str>,
    loader: Option<&'a str>,
    pae_mode: Option<&'a str>,
    features: Option<&'a str>,
}

impl<'a> XenNotes<'a> {
    fn collect(&mut self, area: &'a [u8]) -> Result<(), ImageError> {
        for note in elfnotes::notes(area) {
            let note = note.map_err(|_| ImageError::BadNotesArea)?;
            if note.is_xen() {
                self.count += 1;
                self.apply(&note)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, note: &Note<'a>) -> Result<(), ImageError> {
        use elfnotes::*;
        let bad = ImageError::BadXenNote {
            n_type: note.n_type,
        };
        let num = || note.numeric().ok_or(bad);
        let string = || note.string().ok_or(bad);
        match note.n_type {
            XEN_ELFNOTE_ENTRY => self.entry = Some(num()?),
            XEN_ELFNOTE_HYPERCALL_PAGE => self.hypercall_page = Some(num()?),
            XEN_ELFNOTE_VIRT_BASE => self.virt_base = Some(num()?),
            XEN_ELFNOTE_PADDR_OFFSET => self.paddr_offset = Some(num()?),
            XEN_ELFNOTE_XEN_VERSION => self.xen_version = Some(string()?),
            XEN_ELFNOTE_GUEST_OS => self.guest_os = Some(string()?),
            XEN_ELFNOTE_GUEST_VERSION => self.guest_version = Some(string()?),
            XEN_ELFNOTE_LOADER => self.loader = Some(string()?),
            XEN_ELFNOTE_PAE_MODE => self.pae_mode = Some(string()?),
            XEN_ELFNOTE_FEATURES => self.features = Some(string()?),
            // Other types are not needed by a 64-bit PV builder here.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elfnotes::*;
    use crate::testelf::*;
    use std::vec::Vec;

    const BASE: u64 = 0x40_0000;

    #[test]
    fn parses_simple_kernel() {
        let bytes = TestElf::simple(BASE).build();
        let k = KernelImage::parse(&bytes).unwrap();
        assert_eq!(k.entry, BASE + 0x10);
        assert_eq!(k.virt_base, 0);
        assert_eq!(k.hypercall_page, Some(BASE + 0x1000));
        assert_eq!(k.guest_os, Some("XTF"));
        assert_eq!(k.loader, Some("generic"));
        assert_eq!(k.xen_version, Some("xen-3.0"));
        assert_eq!(k.pae_mode, Some("yes"));
        assert_eq!(
            k.features,
            Some("!writable_page_tables|pae_pgdir_above_4gb")
        );
        assert_eq!(k.feature("writable_page_tables"), Some(true));
        assert_eq!(k.feature("pae_pgdir_above_4gb"), Some(false));
        assert_eq!(k.feature("auto_translated_physmap"), None);
        assert_eq!(k.paddr_offset, 0);
        assert_eq!(k.load_start, BASE);
        assert_eq!(k.load_end, BASE + 0x4000);
        let segs: Vec<_> = k.segments().collect();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].vaddr, BASE);
        assert_eq!(segs[0].file_bytes.len(), 0x1800);
        assert_eq!(segs[0].file_bytes[0], 0xf4);
        assert_eq!(segs[0].mem_size, 0x2000);
        assert!(segs[0].executable && !segs[0].writable);
        assert_eq!(segs[1].file_bytes, &[0xAA; 0x100][..]);
        assert!(segs[1].writable && !segs[1].executable);
    }

    #[test]
    fn upper_half_linux_style_kernel() {
        let base = 0xFFFF_FFFF_8000_0000;
        let mut t = TestElf::simple(base + 0x100_0000);
        let mut n = Vec::new();
        n.extend(str_note(XEN_ELFNOTE_GUEST_OS, "linux"));
        n.extend(str_note(XEN_ELFNOTE_XEN_VERSION, "xen-3.0"));
        n.extend(num_note(XEN_ELFNOTE_VIRT_BASE, base));
        n.extend(note(b"Xen", XEN_ELFNOTE_PADDR_OFFSET, &0u32.to_le_bytes()));
        n.extend(note(
            b"Xen",
            XEN_ELFNOTE_ENTRY,
            &(base + 0x100_0020).to_le_bytes(),
        ));
        n.extend(note(b"GNU", 3, &[0; 20]));
        t.notes = n;
        let bytes = t.build();
        let k = KernelImage::parse(&bytes).unwrap();
        assert_eq!(k.virt_base, base);
        assert_eq!(k.entry, base + 0x100_0020);
        assert_eq!(k.hypercall_page, None);
        assert_eq!(k.loader, None);
        assert_eq!(k.load_start, base + 0x100_0000);
    }

    #[test]
    fn section_notes_fallback() {
        let mut t = TestElf::simple(BASE);
        t.note_segment = false;
        t.note_section = true;
        let bytes = t.build();
        assert_eq!(KernelImage::parse(&bytes).unwrap().guest_os, Some("XTF"));
        t.note_section = false;
        assert_eq!(
            KernelImage::parse(&t.build()).unwrap_err(),
            ImageError::NotXenImage
        );
    }

    fn err(t: &TestElf) -> ImageError {
        KernelImage::parse(&t.build()).unwrap_err()
    }

    #[test]
    fn header_checks() {
        assert_eq!(KernelImage::parse(b"").unwrap_err(), ImageError::NotElf);
        assert_eq!(
            KernelImage::parse(b"MZ\x90\0").unwrap_err(),
            ImageError::NotElf
        );
        let mut t = TestElf::simple(BASE);
        t.class = 1;
        assert_eq!(err(&t), ImageError::Not64Bit);
        t.class = 2;
        t.data_enc = 2;
        assert_eq!(err(&t), ImageError::NotLittleEndian);
        t.data_enc = 1;
        t.machine = 3;
        assert_eq!(err(&t), ImageError::NotX86_64 { machine: 3 });
        t.machine = 62;
        t.e_type = 1;
        assert_eq!(err(&t), ImageError::NotExecutable { e_type: 1 });
        t.e_type = 3;
        assert!(KernelImage::parse(&t.build()).is_ok());
        t.dynamic = true;
        assert_eq!(err(&t), ImageError::NeedsRelocation);
        assert_eq!(
            KernelImage::parse(&t.build()[..40]).unwrap_err(),
            ImageError::Malformed("header table out of bounds")
        );
    }

    #[test]
    fn note_rules() {
        let mut t = TestElf::simple(BASE);
        t.notes = note(b"GNU", 1, b"abcd");
        assert_eq!(err(&t), ImageError::NotXenImage);

        t.notes = str_note(XEN_ELFNOTE_LOADER, "generic");
        assert_eq!(err(&t), ImageError::MissingGuestOs);

        t.notes = str_note(XEN_ELFNOTE_GUEST_OS, "RustOS");
        t.notes.extend(str_note(XEN_ELFNOTE_XEN_VERSION, "xen-3.0"));
        assert_eq!(err(&t), ImageError::UnsupportedLoader);
        t.notes.extend(str_note(XEN_ELFNOTE_LOADER, "generic"));
        assert!(KernelImage::parse(&t.build()).is_ok());

        t.notes = str_note(XEN_ELFNOTE_GUEST_OS, "linux");
        assert_eq!(err(&t), ImageError::UnsupportedXenVersion);
        t.notes.extend(str_note(XEN_ELFNOTE_XEN_VERSION, "xen-4.0"));
        assert_eq!(err(&t), ImageError::UnsupportedXenVersion);
        t.notes.extend(str_note(XEN_ELFNOTE_XEN_VERSION, "xen-3.0"));
        let bytes = t.build();
        let k = KernelImage::parse(&bytes).unwrap();
        assert_eq!(k.xen_version, Some("xen-3.0"), "later notes win");
        // ENTRY absent: e_entry is used.
        assert_eq!(k.entry, BASE + 0x10);

        let mut bad = t.notes.clone();
        bad.extend(note(b"Xen", XEN_ELFNOTE_ENTRY, &[1, 2, 3]));
        t.notes = bad;
        assert_eq!(
            err(&t),
            ImageError::BadXenNote {
                n_type: XEN_ELFNOTE_ENTRY
            }
        );

        t.notes = xtf_notes(0, BASE + 0x1000);
        t.notes
            .extend(note(b"Xen", XEN_ELFNOTE_GUEST_OS, b"no-nul"));
        assert_eq!(
            err(&t),
            ImageError::BadXenNote {
                n_type: XEN_ELFNOTE_GUEST_OS
            }
        );

        t.notes = xtf_notes(0, BASE + 0x1000);
        let cut = t.notes.len() - 2;
        t.notes.truncate(cut);
        assert_eq!(err(&t), ImageError::BadNotesArea);

        let mut t = TestElf::simple(BASE);
        t.notes = str_note(XEN_ELFNOTE_GUEST_OS, "linux");
        t.notes.extend(str_note(XEN_ELFNOTE_XEN_VERSION, "xen-3.0"));
        t.notes.extend(num_note(XEN_ELFNOTE_PADDR_OFFSET, 0));
        assert_eq!(err(&t), ImageError::PaddrOffsetWithoutVirtBase);
    }

    #[test]
    fn address_rules() {
        let mut t = TestElf::simple(BASE);
        t.notes = xtf_notes(BASE + 0x1000, BASE + 0x1000);
        assert_eq!(
            err(&t),
            ImageError::VirtBaseAboveImage {
                virt_base: BASE + 0x1000
            }
        );

        let mut t = TestElf::simple(BASE);
        t.entry = BASE + 0x2000 + 0x1800; // just past the bss
        assert_eq!(
            err(&t),
            ImageError::EntryOutsideImage {
                entry: BASE + 0x3800
            }
        );
        t.entry = BASE - 1;
        assert_eq!(err(&t), ImageError::EntryOutsideImage { entry: BASE - 1 });
        t.entry = BASE + 0x37ff;
        assert!(KernelImage::parse(&t.build()).is_ok());

        let mut t = TestElf::simple(BASE);
        t.notes = xtf_notes(0, BASE + 0x1008);
        assert_eq!(
            err(&t),
            ImageError::HypercallPageUnaligned {
                addr: BASE + 0x1008
            }
        );
        t.notes = xtf_notes(0, BASE + 0x4000);
        assert_eq!(
            err(&t),
            ImageError::HypercallPageOutsideImage {
                addr: BASE + 0x4000
            }
        );
        t.notes = xtf_notes(0, BASE + 0x3000); // in the bss page: fine
        assert!(KernelImage::parse(&t.build()).is_ok());
    }

    #[test]
    fn segment_rules() {
        let mut t = TestElf::simple(BASE);
        t.loads[1].vaddr = BASE + 0x1fff;
        assert_eq!(
            err(&t),
            ImageError::SegmentsOverlap {
                first: 1,
                second: 2
            }
        );
        t.loads[1].vaddr = BASE + 0x2000;

        t.loads[1].memsz = 0x10;
        assert_eq!(err(&t), ImageError::FileSizeExceedsMemSize { index: 2 });
        t.loads[1].memsz = 0x1800;

        t.loads[1].vaddr = u64::MAX - 0x100;
        assert_eq!(err(&t), ImageError::AddressOverflow { index: 2 });
        t.loads[1].vaddr = LOWER_HALF_END - 0x100;
        assert_eq!(err(&t), ImageError::NonCanonical { index: 2 });
        t.loads[1].vaddr = 0x8000_0000_0000_0000;
        assert_eq!(err(&t), ImageError::NonCanonical { index: 2 });
        t.loads[1].vaddr = HYPERVISOR_HOLE_START + 0x1000;
        assert_eq!(err(&t), ImageError::InHypervisorHole { index: 2 });
        t.loads[1].vaddr = HYPERVISOR_HOLE_END - 0x1000;
        assert_eq!(err(&t), ImageError::InHypervisorHole { index: 2 });
        // Just above the hole is fine (segment 1 alone, loaded in the lower half).
        t.loads[1].vaddr = HYPERVISOR_HOLE_END;
        let bytes = t.build();
        let k = KernelImage::parse(&bytes).unwrap();
        assert_eq!(k.load_end, HYPERVISOR_HOLE_END + 0x2000);
        // The very top page: the page-rounded end would overflow.
        t.loads[1].vaddr = u64::MAX - 0x1800 + 1 - 0x10;
        assert_eq!(err(&t), ImageError::AddressOverflow { index: 2 });

        let mut t = TestElf::simple(BASE);
        t.loads.clear();
        assert_eq!(err(&t), ImageError::NoLoadSegments);

        let mut t = TestElf::simple(BASE);
        for i in 0..MAX_LOAD_SEGMENTS as u64 {
            t.loads.push(Load {
                vaddr: 0x100_0000 + i * 0x1000,
                paddr: 0,
                data: Vec::new(),
                memsz: 0x10,
                flags: PF_R,
            });
        }
        assert_eq!(err(&t), ImageError::TooManySegments);

        let t = TestElf::simple(BASE);
        let mut bytes = t.build();
        // p_offset of the first PT_LOAD (phdr 1) far past the end.
        let ph = 64 + 56;
        bytes[ph + 8..ph + 16].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert_eq!(
            KernelImage::parse(&bytes).unwrap_err(),
            ImageError::SegmentOutsideFile { index: 1 }
        );
    }

    #[test]
    fn empty_segments_are_ignored() {
        let mut t = TestElf::simple(BASE);
        t.loads.push(Load {
            vaddr: 0x8000_0000_0000_0000, // would be non-canonical if it mattered
            paddr: 0,
            data: Vec::new(),
            memsz: 0,
            flags: PF_R,
        });
        let bytes = t.build();
        let k = KernelImage::parse(&bytes).unwrap();
        assert_eq!(k.segments().count(), 2);
    }

    /// Truncations and byte flips of a valid kernel never panic, and any
    /// image that still parses upholds the documented invariants.
    #[test]
    fn garbage_never_panics() {
        let mut t = TestElf::simple(BASE);
        t.note_section = true;
        let bytes = t.build();
        let accepted = core::cell::Cell::new(0usize);
        let check = |data: &[u8]| {
            if let Ok(k) = KernelImage::parse(data) {
                accepted.set(accepted.get() + 1);
                assert!(k.load_start < k.load_end);
                assert!(k.virt_base <= k.load_start);
                for s in k.segments() {
                    assert!(s.file_bytes.len() as u64 <= s.mem_size);
                    assert!(s.vaddr >= k.load_start && s.vaddr + s.mem_size <= k.load_end);
                }
                let _ = std::format!("{k:?}");
            }
        };
        for len in 0..bytes.len() {
            check(&bytes[..len]);
        }
        // Every byte of the headers and notes, several values each, plus
        // random flips anywhere.
        let hdr_end = 64 + 56 * 3 + t.notes.len();
        let mut m = bytes.clone();
        for pos in 0..hdr_end {
            for v in [0x00, 0xff, 0x01, 0x80, 0x7f, bytes[pos] ^ 0x10] {
                m[pos] = v;
                check(&m);
            }
            m[pos] = bytes[pos];
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut m = bytes.clone();
            for k in 0..(seed % 4 + 1) {
                let pos = ((seed >> (8 * k)) as usize) % m.len();
                m[pos] ^= (seed >> 40) as u8 | 1;
            }
            check(&m);
        }
        // Flips in segment contents keep the image valid: both outcomes occur.
        assert!(accepted.get() > 1000, "{}", accepted.get());
    }

    #[test]
    fn display_is_one_line() {
        let errors = [
            ImageError::NotXenImage,
            ImageError::InHypervisorHole { index: 3 },
            ImageError::Malformed("x"),
            ImageError::SegmentsOverlap {
                first: 1,
                second: 2,
            },
        ];
        for e in errors {
            let s = std::format!("{e}");
            assert!(!s.is_empty() && !s.contains('\n'));
        }
    }
}
