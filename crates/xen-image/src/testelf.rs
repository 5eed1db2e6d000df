//! Test-only builder of minimal ELF64 x86-64 images (there is no real guest
//! binary to test against yet).

use crate::elfnotes::*;
use std::vec::Vec;

pub struct Load {
    pub vaddr: u64,
    pub paddr: u64,
    pub data: Vec<u8>,
    pub memsz: u64,
    pub flags: u32,
}

pub struct TestElf {
    pub class: u8,
    pub data_enc: u8,
    pub e_type: u16,
    pub machine: u16,
    pub entry: u64,
    pub loads: Vec<Load>,
    /// Raw notes area, emitted as a PT_NOTE segment if `note_segment`, and as
    /// an SHT_NOTE section if `note_section`.
    pub notes: Vec<u8>,
    pub note_segment: bool,
    pub note_section: bool,
    pub dynamic: bool,
}

pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub fn note(name: &[u8], ty: u32, desc: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
    v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(name);
    v.push(0);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend_from_slice(desc);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

pub fn str_note(ty: u32, s: &str) -> Vec<u8> {
    let mut d = Vec::from(s.as_bytes());
    d.push(0);
    note(b"Xen", ty, &d)
}

pub fn num_note(ty: u32, v: u64) -> Vec<u8> {
    note(b"Xen", ty, &v.to_le_bytes())
}

/// The notes of an XTF-like kernel (`arch/x86/pv/head.S`).
pub fn xtf_notes(virt_base: u64, hypercall_page: u64) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend(str_note(XEN_ELFNOTE_GUEST_OS, "XTF"));
    n.extend(str_note(XEN_ELFNOTE_XEN_VERSION, "xen-3.0"));
    n.extend(str_note(XEN_ELFNOTE_LOADER, "generic"));
    n.extend(num_note(XEN_ELFNOTE_VIRT_BASE, virt_base));
    n.extend(num_note(XEN_ELFNOTE_HYPERCALL_PAGE, hypercall_page));
    n.extend(str_note(
        XEN_ELFNOTE_FEATURES,
        "!writable_page_tables|pae_pgdir_above_4gb",
    ));
    n.extend(str_note(XEN_ELFNOTE_PAE_MODE, "yes"));
    n
}

impl TestElf {
    /// A small valid PV kernel: text at `base`, data at `base + 0x2000` with a
    /// page of bss, hypercall page at `base + 0x1000`.
    pub fn simple(base: u64) -> Self {
        let mut text = std::vec![0x90u8; 0x1800];
        text[0] = 0xf4;
        TestElf {
            class: 2,
            data_enc: 1,
            e_type: 2,
            machine: 62,
            entry: base + 0x10,
            loads: std::vec![
                Load {
                    vaddr: base,
                    paddr: base,
                    data: text,
                    memsz: 0x2000,
                    flags: PF_R | PF_X,
                },
                Load {
                    vaddr: base + 0x2000,
                    paddr: base + 0x2000,
                    data: std::vec![0xAA; 0x100],
                    memsz: 0x1800,
                    flags: PF_R | PF_W,
                },
            ],
            notes: xtf_notes(0, base + 0x1000),
            note_segment: true,
            note_section: false,
            dynamic: false,
        }
    }

    pub fn build(&self) -> Vec<u8> {
        let nphdr = self.loads.len() + usize::from(self.note_segment) + usize::from(self.dynamic);
        let phoff = 64usize;
        let mut off = phoff + 56 * nphdr;
        let notes_off = off;
        off += self.notes.len();
        let mut load_offs = Vec::new();
        for l in &self.loads {
            off = (off + 15) & !15;
            load_offs.push(off);
            off += l.data.len();
        }
        let shoff = (off + 7) & !7;
        let nshdr = if self.note_section { 2 } else { 0 };
        let total = shoff + 64 * nshdr;

        let mut f = std::vec![0u8; total];
        f[0..4].copy_from_slice(b"\x7fELF");
        f[4] = self.class;
        f[5] = self.data_enc;
        f[6] = 1;
        put16(&mut f, 16, self.e_type);
        put16(&mut f, 18, self.machine);
        put32(&mut f, 20, 1);
        put64(&mut f, 24, self.entry);
        put64(&mut f, 32, if nphdr > 0 { phoff as u64 } else { 0 });
        put64(&mut f, 40, if nshdr > 0 { shoff as u64 } else { 0 });
        put16(&mut f, 52, 64);
        put16(&mut f, 54, 56);
        put16(&mut f, 56, nphdr as u16);
        put16(&mut f, 58, 64);
        put16(&mut f, 60, nshdr as u16);

        let mut ph = phoff;
        let mut phdr = |f: &mut [u8],
                        ty: u32,
                        flags: u32,
                        o: u64,
                        va: u64,
                        pa: u64,
                        fsz: u64,
                        msz: u64,
                        al: u64| {
            put32(f, ph, ty);
            put32(f, ph + 4, flags);
            put64(f, ph + 8, o);
            put64(f, ph + 16, va);
            put64(f, ph + 24, pa);
            put64(f, ph + 32, fsz);
            put64(f, ph + 40, msz);
            put64(f, ph + 48, al);
            ph += 56;
        };
        if self.note_segment {
            let n = self.notes.len() as u64;
            phdr(&mut f, 4, PF_R, notes_off as u64, 0, 0, n, n, 4);
        }
        if self.dynamic {
            phdr(&mut f, 2, PF_R, notes_off as u64, 0, 0, 0, 0, 8);
        }
        for (l, &o) in self.loads.iter().zip(&load_offs) {
            let fsz = l.data.len() as u64;
            phdr(
                &mut f, 1, l.flags, o as u64, l.vaddr, l.paddr, fsz, l.memsz, 0x1000,
            );
            f[o..o + l.data.len()].copy_from_slice(&l.data);
        }
        f[notes_off..notes_off + self.notes.len()].copy_from_slice(&self.notes);
        if self.note_section {
            let s = shoff + 64; // shdr[0] stays the null section
            put32(&mut f, s + 4, 7); // SHT_NOTE
            put64(&mut f, s + 24, notes_off as u64);
            put64(&mut f, s + 32, self.notes.len() as u64);
            put64(&mut f, s + 48, 4);
        }
        f
    }
}

fn put16(f: &mut [u8], at: usize, v: u16) {
    f[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(f: &mut [u8], at: usize, v: u32) {
    f[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(f: &mut [u8], at: usize, v: u64) {
    f[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
