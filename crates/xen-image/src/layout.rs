//! The PV start-of-day virtual layout (`public/xen.h`, "startofday").
//!
//! A PV guest starts with one contiguous virtual region, beginning at
//! `virt_base` and mapped 1:1 onto its first pseudo-physical pages
//! (`pfn = (va - virt_base) / 4096`). In order, each element page-aligned:
//!
//! 1. the kernel image,
//! 2. the module (initrd), if any,
//! 3. the P2M list (`nr_pages` 8-byte MFNs),
//! 4. the `start_info` page (for Dom0 also holding `dom0_vga_console_info`,
//!    which fits after the 1168-byte `start_info`),
//! 5. the XenStore ring page (DomU only),
//! 6. the console ring page (DomU only),
//! 7. the bootstrap page tables (`pt_base`, loaded into CR3),
//! 8. the bootstrap stack page,
//!
//! then padding: the region ends on a 4 MiB boundary at least 512 KiB past
//! the stack, so the guest has room to extend its mappings before it can
//! allocate memory itself.
//!
//! The page tables map the whole region, including themselves, so their
//! number depends on the region's end, which depends on their number. Xen
//! solves this by search (`dom0_construct_pv`, "simultaneous equations");
//! [`Layout::compute`] does the same, as a fixed-point iteration that yields
//! exactly Xen's (minimal) count.
//!
//! This module only computes addresses. The builder fills the page-table
//! frames; the expected order inside [`Layout::page_tables`] is the one
//! libxenguest uses: the L4 first (that frame is `pt_base`), then the L3s,
//! the L2s and the L1s, each group in address order. Every page of the
//! region is mapped writable except the page-table frames, which must be
//! mapped read-only for the tables to validate.

use core::fmt;

use crate::kernel::{KernelImage, HYPERVISOR_HOLE_END, HYPERVISOR_HOLE_START};
use crate::PAGE_SIZE;

const LOWER_HALF_END: u64 = 0x0000_8000_0000_0000;
/// The region's end is rounded up to this (Xen: `1UL << 22`).
pub const END_ALIGN: u64 = 4 << 20;
/// Minimum free space between the last element and the region's end.
pub const MIN_PADDING: u64 = 512 << 10;
/// Bytes per P2M entry for a 64-bit guest.
pub const P2M_ENTRY_SIZE: u64 = 8;

/// What the builder knows before laying out a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutRequest {
    /// VA of pseudo-physical page 0 (`XEN_ELFNOTE_VIRT_BASE`). Page-aligned.
    pub virt_base: u64,
    /// First byte of the kernel image. Page-aligned, `>= virt_base`.
    pub kernel_start: u64,
    /// One past the last byte of the kernel image (including bss).
    pub kernel_end: u64,
    /// Length in bytes of the module (initrd); 0 for none.
    pub module_len: u64,
    /// The domain's total memory in pages; sizes the P2M list and bounds the
    /// region.
    pub nr_pages: u64,
    /// Reserve a XenStore ring page (DomUs).
    pub has_xenstore_page: bool,
    /// Reserve a console ring page (DomUs).
    pub has_console_page: bool,
}

impl LayoutRequest {
    /// The request for a parsed kernel. The kernel's start is rounded down
    /// to a page, since the layout works in whole pages; a DomU gets the
    /// XenStore and console pages, Dom0 does not.
    pub fn for_kernel(image: &KernelImage<'_>, module_len: u64, nr_pages: u64, domu: bool) -> Self {
        Self {
            virt_base: image.virt_base,
            kernel_start: image.load_start & !(PAGE_SIZE - 1),
            kernel_end: image.load_end,
            module_len,
            nr_pages,
            has_xenstore_page: domu,
            has_console_page: domu,
        }
    }
}

/// A page-aligned run of pages inside the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Virtual address of the first page.
    pub va: u64,
    /// Pseudo-physical frame number of the first page.
    pub pfn: u64,
    /// Number of pages.
    pub pages: u64,
}

impl Region {
    /// One past the last byte.
    pub fn end_va(&self) -> u64 {
        self.va + self.pages * PAGE_SIZE
    }

    /// One past the last frame.
    pub fn end_pfn(&self) -> u64 {
        self.pfn + self.pages
    }

    /// Whether `va` lies inside the region.
    pub fn contains(&self, va: u64) -> bool {
        va >= self.va && va - self.va < self.pages * PAGE_SIZE
    }
}

/// Page-table frames needed per level for a 4-level walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PageTableCounts {
    /// Always 1.
    pub l4: u64,
    /// One per 512 GiB slot touched.
    pub l3: u64,
    /// One per 1 GiB slot touched.
    pub l2: u64,
    /// One per 2 MiB slot touched.
    pub l1: u64,
}

impl PageTableCounts {
    /// Tables needed to map every page of `[start, end)` (Xen's `NR()` macro).
    pub fn for_range(start: u64, end: u64) -> Self {
        // In u128 so that rounding an end near 2^64 up cannot overflow.
        let nr = |shift: u32| -> u64 {
            if end <= start {
                return 0;
            }
            let size = 1u128 << shift;
            let lo = u128::from(start) & !(size - 1);
            let hi = (u128::from(end) + size - 1) & !(size - 1);
            ((hi - lo) >> shift) as u64
        };
        Self {
            l4: 1,
            l3: nr(39),
            l2: nr(30),
            l1: nr(21),
        }
    }

    /// Total frames.
    pub fn total(&self) -> u64 {
        self.l4 + self.l3 + self.l2 + self.l1
    }
}

/// Why a layout cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// `virt_base` is not page-aligned.
    VirtBaseUnaligned,
    /// `kernel_start` is not page-aligned.
    KernelStartUnaligned,
    /// `kernel_start` is below `virt_base`.
    KernelBelowVirtBase,
    /// `kernel_end` is not above `kernel_start`.
    EmptyKernel,
    /// An address or size computation overflowed 64 bits.
    Overflow,
    /// The region is not inside one canonical half of the address space.
    NonCanonical,
    /// The region intersects the hypervisor's reserved range.
    InHypervisorHole,
    /// The region needs more pages than the domain has.
    DoesNotFit {
        /// Pages the region needs (a lower bound if the search stopped early).
        needed: u64,
        /// `nr_pages`.
        available: u64,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::VirtBaseUnaligned => {
                f.write_str("start-of-day layout: VIRT_BASE is not page-aligned")
            }
            Self::KernelStartUnaligned => {
                f.write_str("start-of-day layout: kernel start is not page-aligned")
            }
            Self::KernelBelowVirtBase => {
                f.write_str("start-of-day layout: kernel starts below VIRT_BASE")
            }
            Self::EmptyKernel => f.write_str("start-of-day layout: kernel range is empty"),
            Self::Overflow => f.write_str("start-of-day layout: address computation overflows"),
            Self::NonCanonical => {
                f.write_str("start-of-day layout: region is not within one canonical address half")
            }
            Self::InHypervisorHole => write!(
                f,
                "start-of-day layout: region intersects the hypervisor range \
                 {HYPERVISOR_HOLE_START:#x}..{HYPERVISOR_HOLE_END:#x}"
            ),
            Self::DoesNotFit { needed, available } => write!(
                f,
                "start-of-day layout needs {needed} pages but the domain has only {available}"
            ),
        }
    }
}

impl core::error::Error for LayoutError {}

/// The computed start-of-day layout. All regions lie in `[virt_base, end)`,
/// in the order listed in the module docs, without gaps except the one
/// between `virt_base` and the kernel (if the kernel starts higher).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// VA of pfn 0.
    pub virt_base: u64,
    /// The kernel image.
    pub kernel: Region,
    /// The module (initrd); `None` when `module_len` is 0.
    pub module: Option<Region>,
    /// The P2M list (`start_info.mfn_list`).
    pub p2m: Region,
    /// The `start_info` page.
    pub start_info: Region,
    /// The XenStore ring page, if requested.
    pub xenstore: Option<Region>,
    /// The console ring page, if requested.
    pub console: Option<Region>,
    /// The bootstrap page tables; `va` is `pt_base`.
    pub page_tables: Region,
    /// How the page-table frames split across levels.
    pub page_table_counts: PageTableCounts,
    /// The bootstrap stack page.
    pub stack: Region,
    /// End of the mapped region: 4 MiB aligned, at least 512 KiB past the
    /// stack.
    pub end: u64,
    /// `start_info.nr_pt_frames`; equals `page_table_counts.total()`.
    pub nr_pt_frames: u64,
    /// Pages mapped by the bootstrap tables: `(end - virt_base) / 4096`.
    pub total_pages_mapped: u64,
}

/// Bump allocator over virtual addresses, with every step checked.
struct Cursor {
    virt_base: u64,
    va: u64,
}

impl Cursor {
    fn take(&mut self, pages: u64) -> Result<Region, LayoutError> {
        let bytes = pages.checked_mul(PAGE_SIZE).ok_or(LayoutError::Overflow)?;
        let region = Region {
            va: self.va,
            pfn: (self.va - self.virt_base) / PAGE_SIZE,
            pages,
        };
        self.va = self.va.checked_add(bytes).ok_or(LayoutError::Overflow)?;
        Ok(region)
    }
}

fn pages_for(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE_SIZE)
}

fn round_up(x: u64, align: u64) -> Result<u64, LayoutError> {
    Ok(x.checked_add(align - 1).ok_or(LayoutError::Overflow)? & !(align - 1))
}

/// Region end for a given stack end, as Xen computes `v_end`.
fn region_end(stack_end: u64) -> Result<u64, LayoutError> {
    let end = round_up(stack_end, END_ALIGN)?;
    if end - stack_end < MIN_PADDING {
        end.checked_add(END_ALIGN).ok_or(LayoutError::Overflow)
    } else {
        Ok(end)
    }
}

impl Layout {
    /// Lays out the start-of-day region.
    pub fn compute(req: &LayoutRequest) -> Result<Layout, LayoutError> {
        if req.virt_base % PAGE_SIZE != 0 {
            return Err(LayoutError::VirtBaseUnaligned);
        }
        if req.kernel_start % PAGE_SIZE != 0 {
            return Err(LayoutError::KernelStartUnaligned);
        }
        if req.kernel_start < req.virt_base {
            return Err(LayoutError::KernelBelowVirtBase);
        }
        if req.kernel_end <= req.kernel_start {
            return Err(LayoutError::EmptyKernel);
        }

        let mut cur = Cursor {
            virt_base: req.virt_base,
            va: req.kernel_start,
        };
        let kernel = cur.take(pages_for(req.kernel_end - req.kernel_start))?;
        let module = match req.module_len {
            0 => None,
            len => Some(cur.take(pages_for(len))?),
        };
        let p2m_bytes = req
            .nr_pages
            .checked_mul(P2M_ENTRY_SIZE)
            .ok_or(LayoutError::Overflow)?;
        let p2m = cur.take(pages_for(p2m_bytes))?;
        let start_info = cur.take(1)?;
        let xenstore = if req.has_xenstore_page {
            Some(cur.take(1)?)
        } else {
            None
        };
        let console = if req.has_console_page {
            Some(cur.take(1)?)
        } else {
            None
        };
        let pt_start = cur.va;

        // Find the least n with tables(end(n)) <= n. `tables` is monotone
        // in `end`, which is monotone in n, so iterating n <- tables(end(n))
        // from n = 0 climbs to exactly that least fixed point. Every step
        // strictly grows n, and the region holds the n frames, so the
        // `DoesNotFit` check bounds the loop.
        let mut n = 0u64;
        let (counts, end) = loop {
            let mut probe = Cursor {
                virt_base: req.virt_base,
                va: pt_start,
            };
            probe.take(n)?;
            let stack_end = probe.take(1)?.end_va();
            let end = region_end(stack_end)?;
            let needed = (end - req.virt_base) / PAGE_SIZE;
            if needed > req.nr_pages {
                return Err(LayoutError::DoesNotFit {
                    needed,
                    available: req.nr_pages,
                });
            }
            let counts = PageTableCounts::for_range(req.virt_base, end);
            if counts.total() <= n {
                break (counts, end);
            }
            n = counts.total();
        };
        let page_tables = cur.take(n)?;
        let stack = cur.take(1)?;

        if req.virt_base < LOWER_HALF_END {
            if end > LOWER_HALF_END {
                return Err(LayoutError::NonCanonical);
            }
        } else if req.virt_base < HYPERVISOR_HOLE_START {
            return Err(LayoutError::NonCanonical);
        } else if req.virt_base < HYPERVISOR_HOLE_END {
            return Err(LayoutError::InHypervisorHole);
        }

        Ok(Layout {
            virt_base: req.virt_base,
            kernel,
            module,
            p2m,
            start_info,
            xenstore,
            console,
            page_tables,
            page_table_counts: counts,
            stack,
            end,
            nr_pt_frames: n,
            total_pages_mapped: (end - req.virt_base) / PAGE_SIZE,
        })
    }

    /// `start_info.pt_base`: VA of the L4 (first page-table frame).
    pub fn pt_base(&self) -> u64 {
        self.page_tables.va
    }

    /// Initial RSP: the top of the bootstrap stack page.
    pub fn stack_top(&self) -> u64 {
        self.stack.end_va()
    }

    /// The pfn backing `va`, if `va` is inside the mapped region.
    pub fn va_to_pfn(&self, va: u64) -> Option<u64> {
        (va >= self.virt_base && va < self.end).then(|| (va - self.virt_base) / PAGE_SIZE)
    }

    /// The VA of `pfn`, if that frame is inside the mapped region.
    pub fn pfn_to_va(&self, pfn: u64) -> Option<u64> {
        (pfn < self.total_pages_mapped).then(|| self.virt_base + pfn * PAGE_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn req(
        virt_base: u64,
        kstart: u64,
        klen: u64,
        module_len: u64,
        nr_pages: u64,
        domu: bool,
    ) -> LayoutRequest {
        LayoutRequest {
            virt_base,
            kernel_start: kstart,
            kernel_end: kstart + klen,
            module_len,
            nr_pages,
            has_xenstore_page: domu,
            has_console_page: domu,
        }
    }

    #[test]
    fn small_domu() {
        let l = Layout::compute(&req(0, 0x40_0000, 0x3800, 0, 32768, true)).unwrap();
        assert_eq!(
            l.kernel,
            Region {
                va: 0x40_0000,
                pfn: 0x400,
                pages: 4
            }
        );
        assert_eq!(l.module, None);
        // 32768 pages * 8 bytes = 256 KiB = 64 pages.
        assert_eq!(
            l.p2m,
            Region {
                va: 0x40_4000,
                pfn: 0x404,
                pages: 64
            }
        );
        assert_eq!(
            l.start_info,
            Region {
                va: 0x44_4000,
                pfn: 0x444,
                pages: 1
            }
        );
        assert_eq!(
            l.xenstore,
            Some(Region {
                va: 0x44_5000,
                pfn: 0x445,
                pages: 1
            })
        );
        assert_eq!(
            l.console,
            Some(Region {
                va: 0x44_6000,
                pfn: 0x446,
                pages: 1
            })
        );
        // [0, 8 MiB): one L4, one L3, one L2, four L1s.
        assert_eq!(
            l.page_table_counts,
            PageTableCounts {
                l4: 1,
                l3: 1,
                l2: 1,
                l1: 4
            }
        );
        assert_eq!(l.nr_pt_frames, 7);
        assert_eq!(
            l.page_tables,
            Region {
                va: 0x44_7000,
                pfn: 0x447,
                pages: 7
            }
        );
        assert_eq!(l.pt_base(), 0x44_7000);
        assert_eq!(
            l.stack,
            Region {
                va: 0x44_e000,
                pfn: 0x44e,
                pages: 1
            }
        );
        assert_eq!(l.stack_top(), 0x44_f000);
        assert_eq!(l.end, 0x80_0000);
        assert_eq!(l.total_pages_mapped, 0x800);
        assert_eq!(l.va_to_pfn(0x44_7123), Some(0x447));
        assert_eq!(l.va_to_pfn(0x80_0000), None);
        assert_eq!(l.pfn_to_va(0x7ff), Some(0x7f_f000));
        assert_eq!(l.pfn_to_va(0x800), None);
    }

    #[test]
    fn dom0_has_no_ring_pages_and_module_follows_kernel() {
        let l = Layout::compute(&req(0, 0x1000, 0x2345, 5000, 1 << 16, false)).unwrap();
        assert_eq!(
            l.kernel,
            Region {
                va: 0x1000,
                pfn: 1,
                pages: 3
            }
        );
        assert_eq!(
            l.module,
            Some(Region {
                va: 0x4000,
                pfn: 4,
                pages: 2
            })
        );
        assert_eq!(l.p2m.va, 0x6000);
        assert_eq!(l.p2m.pages, 128);
        assert_eq!(l.start_info.va, 0x86000);
        assert_eq!(l.xenstore, None);
        assert_eq!(l.console, None);
        assert_eq!(l.page_tables.va, 0x87000);
        assert_eq!(l.end, 4 * MIB);
    }

    #[test]
    fn padding_forces_an_extra_4mib() {
        // nr_pages 4096: P2M is 8 pages. With a kernel of K pages the stack
        // ends at K + 8 (P2M) + 1 (start_info) + n (tables) + 1 pages.
        // K = 881: with n = 5 (maps [0, 4 MiB)) the stack ends at page 896,
        // leaving exactly 512 KiB: enough.
        let l = Layout::compute(&req(0, 0, 881 * PAGE_SIZE, 0, 4096, false)).unwrap();
        assert_eq!(l.nr_pt_frames, 5);
        assert_eq!(l.stack.end_va(), 896 * PAGE_SIZE);
        assert_eq!(l.end - l.stack.end_va(), MIN_PADDING);
        assert_eq!(l.end, 4 * MIB);
        // K = 882: 508 KiB would be left, so the region grows by 4 MiB, which
        // needs two more L1s, so the stack moves up by two pages.
        let l = Layout::compute(&req(0, 0, 882 * PAGE_SIZE, 0, 4096, false)).unwrap();
        assert_eq!(l.nr_pt_frames, 7);
        assert_eq!(l.stack.end_va(), 899 * PAGE_SIZE);
        assert_eq!(l.end, 8 * MIB);
    }

    #[test]
    fn large_upper_half_kernel() {
        let vb = 0xFFFF_FFFF_8000_0000;
        // 40 MiB kernel at +16 MiB, 100 MiB initrd, 4 GiB domain.
        let nr_pages = 4 * GIB / PAGE_SIZE;
        let l =
            Layout::compute(&req(vb, vb + 16 * MIB, 40 * MIB, 100 * MIB, nr_pages, true)).unwrap();
        assert_eq!(l.kernel.pfn, 4096);
        assert_eq!(l.module.unwrap().va, vb + 56 * MIB);
        assert_eq!(l.p2m.va, vb + 156 * MIB);
        assert_eq!(l.p2m.pages, nr_pages * 8 / PAGE_SIZE);
        assert_eq!(l.end % END_ALIGN, 0);
        assert!(l.end - l.stack.end_va() >= MIN_PADDING);
        assert_eq!(l.page_table_counts.l3, 1);
        assert_eq!(l.page_table_counts.l2, 1);
        assert_eq!(l.page_table_counts.l1, (l.end - vb) / (2 * MIB));
        // The region ends 2 GiB below the top of the address space at most.
        assert!(l.end > vb);
    }

    #[test]
    fn errors() {
        assert_eq!(
            Layout::compute(&req(0x800, 0x1000, 1, 0, 4096, false)),
            Err(LayoutError::VirtBaseUnaligned)
        );
        assert_eq!(
            Layout::compute(&req(0, 0x1800, 1, 0, 4096, false)),
            Err(LayoutError::KernelStartUnaligned)
        );
        assert_eq!(
            Layout::compute(&req(0x2000, 0x1000, 1, 0, 4096, false)),
            Err(LayoutError::KernelBelowVirtBase)
        );
        assert_eq!(
            Layout::compute(&req(0, 0x1000, 0, 0, 4096, false)),
            Err(LayoutError::EmptyKernel)
        );
        // 1023 pages: the region needs 1024 (4 MiB).
        assert_eq!(
            Layout::compute(&req(0, 0, 0x1000, 0, 1023, false)),
            Err(LayoutError::DoesNotFit {
                needed: 1024,
                available: 1023
            })
        );
        assert!(Layout::compute(&req(0, 0, 0x1000, 0, 1024, false)).is_ok());
        // A module too big for the domain.
        assert!(matches!(
            Layout::compute(&req(0, 0, 0x1000, 64 * MIB, 8192, false)),
            Err(LayoutError::DoesNotFit {
                available: 8192,
                ..
            })
        ));
        assert_eq!(
            Layout::compute(&req(0, 0, 0x1000, 0, u64::MAX, false)),
            Err(LayoutError::Overflow)
        );
        assert_eq!(
            Layout::compute(&req(0, 0, 0x1000, u64::MAX - 0x1000, 1 << 40, false)),
            Err(LayoutError::Overflow)
        );
        // The region would run to 2^64.
        let top = 0u64.wrapping_sub(4 * MIB);
        assert_eq!(
            Layout::compute(&req(top, top, 0x1000, 0, 1 << 20, false)),
            Err(LayoutError::Overflow)
        );
        // Crossing out of the lower half, into the hole, non-canonical.
        let lower_top = LOWER_HALF_END - 4 * MIB;
        assert_eq!(
            Layout::compute(&req(lower_top, lower_top, 0x1000, 0, 1 << 20, false)),
            Err(LayoutError::NonCanonical)
        );
        assert_eq!(
            Layout::compute(&req(
                HYPERVISOR_HOLE_START,
                HYPERVISOR_HOLE_START,
                0x1000,
                0,
                1 << 20,
                false
            )),
            Err(LayoutError::InHypervisorHole)
        );
        assert_eq!(
            Layout::compute(&req(
                LOWER_HALF_END,
                LOWER_HALF_END,
                0x1000,
                0,
                1 << 20,
                false
            )),
            Err(LayoutError::NonCanonical)
        );
        assert!(Layout::compute(&req(
            HYPERVISOR_HOLE_END,
            HYPERVISOR_HOLE_END,
            0x1000,
            0,
            1 << 20,
            false
        ))
        .is_ok());
        let s = std::format!(
            "{}",
            LayoutError::DoesNotFit {
                needed: 2,
                available: 1
            }
        );
        assert!(!s.contains('\n'));
    }

    #[test]
    fn for_kernel_request() {
        let bytes = crate::testelf::TestElf::simple(0x40_0000).build();
        let k = KernelImage::parse(&bytes).unwrap();
        let r = LayoutRequest::for_kernel(&k, 0, 4096, true);
        assert_eq!(r.kernel_start, 0x40_0000);
        assert_eq!(r.kernel_end, 0x40_4000);
        assert!(r.has_xenstore_page && r.has_console_page);
        assert!(Layout::compute(&r).is_ok());
    }

    /// Independent count of the tables a 4-level walk of `[start, end)`
    /// allocates: step one L1's worth (2 MiB slot) at a time and count slot
    /// changes at each level, as libxenguest's `setup_pgtables_x86_64` does.
    fn walk_tables(start: u64, end: u64) -> PageTableCounts {
        let mut c = PageTableCounts {
            l4: 1,
            ..Default::default()
        };
        let (mut last3, mut last2) = (None, None);
        let mut va = start;
        while va < end {
            c.l1 += 1;
            if last2 != Some(va >> 30) {
                c.l2 += 1;
                last2 = Some(va >> 30);
            }
            if last3 != Some(va >> 39) {
                c.l3 += 1;
                last3 = Some(va >> 39);
            }
            va = match ((va >> 21) + 1).checked_mul(1 << 21) {
                Some(next) => next,
                None => break,
            };
        }
        c
    }

    /// Over many sizes: the regions are ordered, aligned and inside the
    /// region; the padding rule holds; the page tables suffice to map the
    /// whole region (themselves included); and one frame fewer would not.
    #[test]
    fn page_tables_always_suffice() {
        let bases = [
            0u64,
            0x20_0000,
            0xFFFF_FFFF_8000_0000,
            HYPERVISOR_HOLE_END,
            0x7F_FFC0_0000,
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut cases = 0;
        for &vb in &bases {
            for i in 0..400u64 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let scale = 1u64 << (12 + (seed % 20)); // 4 KiB .. 2 GiB
                let klen = 1 + (seed >> 8) % scale;
                let module_len = if i % 3 == 0 { 0 } else { (seed >> 20) % scale };
                let kstart = vb + ((seed >> 40) % 64) * 0x20_0000 + (i % 5) * PAGE_SIZE;
                let nr_pages = [1u64 << 12, 1 << 16, 1 << 20, 1 << 22][(i % 4) as usize];
                let r = req(vb, kstart, klen, module_len, nr_pages, i % 2 == 0);
                let l = match Layout::compute(&r) {
                    Ok(l) => l,
                    Err(LayoutError::DoesNotFit { needed, available }) => {
                        assert!(needed > available);
                        continue;
                    }
                    // Only the base 2 GiB below the top can run off the end.
                    Err(LayoutError::Overflow) if vb == 0xFFFF_FFFF_8000_0000 => continue,
                    Err(LayoutError::NonCanonical) => {
                        assert!(vb == 0x7F_FFC0_0000 || vb < LOWER_HALF_END);
                        continue;
                    }
                    Err(e) => panic!("{e:?} for {r:?}"),
                };
                cases += 1;
                check_layout(&r, &l);
            }
        }
        assert!(cases > 500, "only {cases} layouts checked");
    }

    fn check_layout(r: &LayoutRequest, l: &Layout) {
        let mut regions: Vec<Region> = std::vec![l.kernel];
        regions.extend(l.module);
        regions.extend([l.p2m, l.start_info]);
        regions.extend(l.xenstore);
        regions.extend(l.console);
        regions.extend([l.page_tables, l.stack]);
        for w in regions.windows(2) {
            assert_eq!(w[0].end_va(), w[1].va, "{l:?}");
        }
        for g in &regions {
            assert_eq!(g.va % PAGE_SIZE, 0);
            assert_eq!(g.pfn, (g.va - r.virt_base) / PAGE_SIZE);
            assert!(g.va >= r.virt_base && g.end_va() <= l.end);
        }
        assert!(l.kernel.end_va() >= r.kernel_end);
        if let Some(m) = l.module {
            assert!(m.pages * PAGE_SIZE >= r.module_len);
        }
        assert!(l.p2m.pages * PAGE_SIZE >= r.nr_pages * 8);
        assert_eq!(l.end % END_ALIGN, 0);
        assert!(l.end - l.stack.end_va() >= MIN_PADDING);
        assert!(l.end - l.stack.end_va() < MIN_PADDING + END_ALIGN);
        assert_eq!(l.total_pages_mapped, (l.end - r.virt_base) / PAGE_SIZE);
        assert!(l.total_pages_mapped <= r.nr_pages);

        let walked = walk_tables(r.virt_base, l.end);
        assert_eq!(walked, l.page_table_counts, "{l:?}");
        assert_eq!(l.nr_pt_frames, walked.total());
        assert_eq!(l.page_tables.pages, l.nr_pt_frames);
        // Minimal, as Xen's search: with one frame fewer, the region would
        // need more frames than it has.
        let n = l.nr_pt_frames - 1;
        let stack_end = l.page_tables.va + (n + 1) * PAGE_SIZE;
        let end = region_end(stack_end).unwrap();
        assert!(PageTableCounts::for_range(r.virt_base, end).total() > n);
    }
}
