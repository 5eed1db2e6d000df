//! The boot bundle: a plain ustar archive passed by the bootloader as the
//! ramdisk, holding the Dom0 kernel and whatever else the hypervisor needs.
//!
//! # Why a hand-written reader
//!
//! `tar-no-std` 0.3.2 was the obvious choice, but it does not fit here: its
//! entry names are returned as owned copies (so a `&str` name cannot borrow
//! from the bundle), it does not verify header checksums, it casts raw
//! pointers (this crate forbids `unsafe`), and its iterator has a reachable
//! `panic!` on a lone zero block. A boot bundle is small and flat, so a strict
//! reader of about two hundred lines is cheaper than working around those.
//!
//! # What is accepted
//!
//! - 512-byte headers with a valid checksum (unsigned, or the historic signed
//!   sum), sizes in octal or GNU base-256.
//! - Regular files (`'0'`, `'\0'`, `'7'`) are the bundle's files. Links,
//!   devices, directories and FIFOs (`'1'`..`'6'`) carry no data and are
//!   skipped; unknown types are skipped along with their data.
//! - Long names as GNU `'L'` records or pax `path=` records, because both keep
//!   the name contiguous in the archive and so borrowable. A POSIX ustar name
//!   *prefix* is rejected ([`BundleError::SplitName`]): joining prefix and name
//!   would need a buffer, and the crate allocates nothing.
//! - A leading `./` is dropped from names, so bundles made with
//!   `tar -C dir .` look up the same as ones made file by file.
//! - The end is two zero blocks, or one zero block followed by the end of the
//!   data (bootloaders may pass an exact-length module). Bytes after the end
//!   marker are ignored, since a module is often padded to a page.
//! - Names must be unique: a boot bundle with two `dom0` files is a mistake,
//!   and "last one wins" would hide it.

use core::fmt;

const BLOCK: usize = 512;

/// Why a byte slice is not an acceptable boot bundle. Offsets are byte offsets
/// of the offending header (or field) in the bundle, for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleError {
    /// The data ends inside a header or a file's data, or before the end marker.
    Truncated {
        /// Offset at which more data was needed.
        offset: usize,
    },
    /// A header's checksum does not match its contents.
    BadChecksum {
        /// Offset of the header.
        offset: usize,
    },
    /// A numeric header field (size or checksum) is not a valid number.
    BadNumber {
        /// Offset of the header.
        offset: usize,
    },
    /// A file name is empty or not UTF-8.
    BadName {
        /// Offset of the header.
        offset: usize,
    },
    /// A ustar header splits its name into prefix and name (unsupported; see
    /// the module docs).
    SplitName {
        /// Offset of the header.
        offset: usize,
    },
    /// A pax extended header is malformed.
    BadPaxHeader {
        /// Offset of the header.
        offset: usize,
    },
    /// A single zero block is followed by a non-zero block.
    LoneZeroBlock {
        /// Offset of the zero block.
        offset: usize,
    },
    /// Two regular files have the same name.
    DuplicateName {
        /// Offset of the header of the second occurrence.
        offset: usize,
    },
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { offset } => write!(f, "boot bundle truncated at byte {offset:#x}"),
            Self::BadChecksum { offset } => {
                write!(f, "boot bundle: bad tar header checksum at byte {offset:#x}")
            }
            Self::BadNumber { offset } => {
                write!(f, "boot bundle: malformed numeric field in tar header at byte {offset:#x}")
            }
            Self::BadName { offset } => {
                write!(f, "boot bundle: empty or non-UTF-8 file name in tar header at byte {offset:#x}")
            }
            Self::SplitName { offset } => write!(
                f,
                "boot bundle: tar header at byte {offset:#x} uses a ustar name prefix (unsupported; \
                 use names of at most 100 bytes, or GNU/pax long names)"
            ),
            Self::BadPaxHeader { offset } => {
                write!(f, "boot bundle: malformed pax extended header at byte {offset:#x}")
            }
            Self::LoneZeroBlock { offset } => {
                write!(f, "boot bundle: lone zero block at byte {offset:#x} followed by more data")
            }
            Self::DuplicateName { offset } => {
                write!(f, "boot bundle: duplicate file name in tar header at byte {offset:#x}")
            }
        }
    }
}

impl core::error::Error for BundleError {}

/// A validated boot bundle. Everything it returns borrows the original bytes.
#[derive(Clone, Copy, Debug)]
pub struct Bundle<'a> {
    data: &'a [u8],
    count: usize,
}

impl<'a> Bundle<'a> {
    /// Validates the whole archive up front, so that later look-ups cannot
    /// fail and the hypervisor learns about a bad bundle at one place.
    pub fn parse(bytes: &'a [u8]) -> Result<Bundle<'a>, BundleError> {
        let mut walker = Walker::new(bytes);
        let mut count = 0usize;
        while let Some(entry) = walker.next_entry()? {
            // Quadratic, but bundles hold a handful of files and this keeps
            // the crate allocation-free. The inner walk re-reads headers that
            // the outer walk already validated, so it cannot fail.
            let mut earlier = Walker::new(bytes);
            while let Ok(Some(prev)) = earlier.next_entry() {
                if prev.header_offset >= entry.header_offset {
                    break;
                }
                if prev.name == entry.name {
                    return Err(BundleError::DuplicateName {
                        offset: entry.header_offset,
                    });
                }
            }
            count += 1;
        }
        Ok(Bundle { data: bytes, count })
    }

    /// The contents of the regular file called `name` (without a leading `./`).
    pub fn file(&self, name: &str) -> Option<&'a [u8]> {
        let name = strip_dot_slash(name);
        self.files().find(|(n, _)| *n == name).map(|(_, d)| d)
    }

    /// All regular files, in archive order, as `(name, contents)`.
    pub fn files(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let mut walker = Walker::new(self.data);
        // `parse` walked the same bytes successfully, so errors cannot occur
        // here; stopping on one keeps this total anyway.
        core::iter::from_fn(move || walker.next_entry().ok().flatten().map(|e| (e.name, e.data)))
    }

    /// Number of regular files in the bundle.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the bundle holds no regular files.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// One regular file found by the walker.
struct Entry<'a> {
    header_offset: usize,
    name: &'a str,
    data: &'a [u8],
}

/// Sequential header walker. `next_entry` returns `Ok(None)` once the end
/// marker has been seen and keeps returning it afterwards.
struct Walker<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Walker<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            done: false,
        }
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, BundleError> {
        if self.done {
            return Ok(None);
        }
        // Long-name state carried from GNU 'L' / pax 'x' records to the entry
        // they describe.
        let mut long_name: Option<&'a [u8]> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            let offset = self.pos;
            let header = block(self.data, offset).ok_or(BundleError::Truncated { offset })?;

            if is_zero(header) {
                let next = offset + BLOCK;
                match block(self.data, next) {
                    Some(b) if is_zero(b) => {}
                    Some(_) => return Err(BundleError::LoneZeroBlock { offset }),
                    None => {}
                }
                if long_name.is_some() || pax_size.is_some() {
                    // A long-name record with no entry after it.
                    return Err(BundleError::Truncated { offset });
                }
                self.done = true;
                return Ok(None);
            }

            verify_checksum(header).ok_or(BundleError::BadChecksum { offset })?;
            let header_size =
                parse_number(&header[124..136]).ok_or(BundleError::BadNumber { offset })?;
            let typeflag = header[156];
            let size = match typeflag {
                // Hard/symbolic links, devices, directories and FIFOs have no
                // data blocks whatever the size field says (POSIX).
                b'1'..=b'6' => 0,
                // Records that describe the next entry use their own size.
                b'L' | b'K' | b'x' | b'g' => header_size,
                _ => pax_size.unwrap_or(header_size),
            };
            let data_start = offset + BLOCK;
            let size_usize =
                usize::try_from(size).map_err(|_| BundleError::Truncated { offset: data_start })?;
            let data_end = data_start
                .checked_add(size_usize)
                .filter(|&end| end <= self.data.len())
                .ok_or(BundleError::Truncated { offset: data_start })?;
            let data = &self.data[data_start..data_end];
            // `data_end <= len`, so rounding up to a block cannot overflow.
            self.pos = data_end.div_ceil(BLOCK) * BLOCK;

            match typeflag {
                b'L' => {
                    long_name = Some(until_nul(data));
                    continue;
                }
                b'x' => {
                    let (path, psize) =
                        parse_pax(data).ok_or(BundleError::BadPaxHeader { offset })?;
                    if path.is_some() {
                        long_name = path;
                    }
                    if psize.is_some() {
                        pax_size = psize;
                    }
                    continue;
                }
                // Global pax headers and GNU long link names change nothing
                // this reader reports.
                b'g' | b'K' => continue,
                _ => {}
            }

            let is_regular = matches!(typeflag, b'0' | 0 | b'7');
            let name_bytes = match long_name.take() {
                Some(n) => n,
                None => {
                    let posix = &header[257..263] == b"ustar\0";
                    if is_regular && posix && header[345] != 0 {
                        return Err(BundleError::SplitName { offset });
                    }
                    until_nul(&header[0..100])
                }
            };
            pax_size = None;
            if !is_regular {
                continue;
            }
            // Pre-POSIX archives mark directories as regular files whose name
            // ends in '/'.
            if name_bytes.last() == Some(&b'/') {
                continue;
            }
            let name = core::str::from_utf8(name_bytes)
                .ok()
                .map(strip_dot_slash)
                .filter(|n| !n.is_empty())
                .ok_or(BundleError::BadName { offset })?;
            return Ok(Some(Entry {
                header_offset: offset,
                name,
                data,
            }));
        }
    }
}

fn block(data: &[u8], offset: usize) -> Option<&[u8]> {
    data.get(offset..offset.checked_add(BLOCK)?)
}

fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

fn until_nul(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

fn strip_dot_slash(mut s: &str) -> &str {
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s
}

/// Checks the header checksum: the sum of all header bytes with the checksum
/// field itself counted as spaces. Historic tars summed signed chars, so that
/// variant is accepted too.
fn verify_checksum(header: &[u8]) -> Option<()> {
    let stored = parse_octal(&header[148..156])?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in header.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    (stored == unsigned || i64::try_from(stored).ok() == Some(signed)).then_some(())
}

/// Parses a numeric header field: octal digits optionally surrounded by
/// spaces and terminated by NUL or space, or GNU base-256 (first byte 0x80,
/// then a big-endian value) for sizes that do not fit in octal.
fn parse_number(field: &[u8]) -> Option<u64> {
    match field.first() {
        Some(0x80) => field[1..].iter().try_fold(0u64, |acc, &b| {
            acc.checked_mul(256)?.checked_add(u64::from(b))
        }),
        Some(b) if b & 0x80 != 0 => None, // negative base-256
        _ => parse_octal(field),
    }
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let mut i = 0;
    while i < field.len() && field[i] == b' ' {
        i += 1;
    }
    let mut value: u64 = 0;
    let mut digits = 0;
    while i < field.len() && (b'0'..=b'7').contains(&field[i]) {
        value = value
            .checked_mul(8)?
            .checked_add(u64::from(field[i] - b'0'))?;
        digits += 1;
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    field[i..]
        .iter()
        .all(|&c| c == 0 || c == b' ')
        .then_some(value)
}

fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// Parses pax extended-header records (`"<len> <key>=<value>\n"`), returning
/// the `path` and `size` values if present. Other keys are ignored.
fn parse_pax(mut data: &[u8]) -> Option<(Option<&[u8]>, Option<u64>)> {
    let mut path = None;
    let mut size = None;
    // Some writers pad the record area with NULs.
    while !data.is_empty() && data[0] != 0 {
        let space = data.iter().position(|&c| c == b' ')?;
        let len = usize::try_from(parse_decimal(&data[..space])?).ok()?;
        if len <= space + 1 || len > data.len() {
            return None;
        }
        let record = &data[space + 1..len];
        let (&last, body) = record.split_last()?;
        if last != b'\n' {
            return None;
        }
        let eq = body.iter().position(|&c| c == b'=')?;
        let (key, value) = (&body[..eq], &body[eq + 1..]);
        match key {
            b"path" => path = Some(value),
            b"size" => size = Some(parse_decimal(value)?),
            _ => {}
        }
        data = &data[len..];
    }
    Some((path, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn gnu_header(path: &str, size: usize) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).unwrap();
        h.set_size(size as u64);
        h.set_mode(0o644);
        h.set_cksum();
        h
    }

    fn build(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn reads_files_made_by_tar_crate() {
        let big: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let bytes = build(&[("dom0", b"kernel"), ("initrd.img", &big), ("empty", b"")]);
        let bundle = Bundle::parse(&bytes).unwrap();
        assert_eq!(bundle.len(), 3);
        assert_eq!(bundle.file("dom0"), Some(&b"kernel"[..]));
        assert_eq!(bundle.file("initrd.img"), Some(&big[..]));
        assert_eq!(bundle.file("empty"), Some(&b""[..]));
        assert_eq!(bundle.file("missing"), None);
        let names: Vec<&str> = bundle.files().map(|(n, _)| n).collect();
        assert_eq!(names, ["dom0", "initrd.img", "empty"]);
        // The returned slice borrows the archive itself.
        let d = bundle.file("dom0").unwrap();
        let base = bytes.as_ptr() as usize;
        assert!(d.as_ptr() as usize >= base && (d.as_ptr() as usize) < base + bytes.len());
    }

    #[test]
    fn skips_directories_and_strips_dot_slash() {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_ustar();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        b.append_data(&mut dir, "./boot/", &[][..]).unwrap();
        let mut sym = tar::Header::new_gnu();
        sym.set_entry_type(tar::EntryType::Symlink);
        sym.set_size(0);
        b.append_link(&mut sym, "boot/link", "dom0").unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        b.append_data(&mut h, "./boot/dom0", &b"abc"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let bundle = Bundle::parse(&bytes).unwrap();
        assert_eq!(bundle.len(), 1);
        assert_eq!(bundle.file("boot/dom0"), Some(&b"abc"[..]));
        assert_eq!(bundle.file("./boot/dom0"), Some(&b"abc"[..]));
    }

    #[test]
    fn gnu_long_names() {
        let long = "d/".repeat(80) + "kernel";
        let bytes = build(&[(&long, b"xyz"), ("short", b"s")]);
        let bundle = Bundle::parse(&bytes).unwrap();
        assert_eq!(bundle.file(&long), Some(&b"xyz"[..]));
        assert_eq!(bundle.file("short"), Some(&b"s"[..]));
        assert_eq!(bundle.len(), 2);
    }

    #[test]
    fn pax_path_and_size() {
        let long = "p/".repeat(70) + "file";
        let mut b = tar::Builder::new(Vec::new());
        let rec_path = pax_record("path", &long);
        let rec_other = pax_record("mtime", "1.5");
        let mut pax = Vec::new();
        pax.extend_from_slice(rec_other.as_bytes());
        pax.extend_from_slice(rec_path.as_bytes());
        let mut ph = tar::Header::new_ustar();
        ph.set_entry_type(tar::EntryType::XHeader);
        ph.set_size(pax.len() as u64);
        b.append_data(&mut ph, "PaxHeaders/x", &pax[..]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(2);
        b.append_data(&mut h, "truncated-name", &b"ok"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let bundle = Bundle::parse(&bytes).unwrap();
        assert_eq!(bundle.file(&long), Some(&b"ok"[..]));
        assert_eq!(bundle.file("truncated-name"), None);
    }

    fn pax_record(key: &str, value: &str) -> std::string::String {
        let body = std::format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        loop {
            let s = std::format!("{len}{body}");
            if s.len() == len {
                return s;
            }
            len = s.len();
        }
    }

    #[test]
    fn ustar_prefix_is_rejected() {
        let long = "dir/".repeat(30) + "file";
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        b.append_data(&mut h, &long, &b"x"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        assert!(matches!(
            Bundle::parse(&bytes),
            Err(BundleError::SplitName { offset: 0 })
        ));
    }

    #[test]
    fn duplicates_are_rejected() {
        let bytes = build(&[("a", b"1"), ("b", b"2"), ("./a", b"3")]);
        assert_eq!(
            Bundle::parse(&bytes).unwrap_err(),
            BundleError::DuplicateName { offset: 4 * 512 }
        );
    }

    #[test]
    fn empty_and_end_markers() {
        assert_eq!(
            Bundle::parse(&[]).unwrap_err(),
            BundleError::Truncated { offset: 0 }
        );
        assert!(Bundle::parse(&[0; 1024]).unwrap().is_empty());
        // One zero block then end of data is accepted.
        assert!(Bundle::parse(&[0; 512]).unwrap().is_empty());
        // Trailing garbage after the end marker is ignored.
        let mut bytes = build(&[("a", b"1")]);
        bytes.extend_from_slice(&[0xAB; 700]);
        assert_eq!(Bundle::parse(&bytes).unwrap().file("a"), Some(&b"1"[..]));
        // Missing end marker is truncation.
        let bytes = build(&[("a", b"1")]);
        assert_eq!(
            Bundle::parse(&bytes[..1024]).unwrap_err(),
            BundleError::Truncated { offset: 1024 }
        );
        // A lone zero block followed by a header.
        let mut lone = std::vec![0u8; 512];
        lone.extend_from_slice(&bytes);
        assert_eq!(
            Bundle::parse(&lone).unwrap_err(),
            BundleError::LoneZeroBlock { offset: 0 }
        );
    }

    #[test]
    fn header_corruption() {
        let bytes = build(&[("a", b"hello")]);
        let mut bad = bytes.clone();
        bad[0] ^= 1;
        assert_eq!(
            Bundle::parse(&bad).unwrap_err(),
            BundleError::BadChecksum { offset: 0 }
        );

        // A size past the end of the archive.
        let mut h = gnu_header("a", 1 << 30);
        h.set_cksum();
        let mut bad = bytes.clone();
        bad[..512].copy_from_slice(h.as_bytes());
        assert_eq!(
            Bundle::parse(&bad).unwrap_err(),
            BundleError::Truncated { offset: 512 }
        );

        // A size field that is not octal, with a correct checksum.
        let mut bad = bytes.clone();
        bad[124..136].copy_from_slice(b"0000000009a\0");
        fix_checksum(&mut bad[..512]);
        assert_eq!(
            Bundle::parse(&bad).unwrap_err(),
            BundleError::BadNumber { offset: 0 }
        );

        // A non-UTF-8 name.
        let mut bad = bytes.clone();
        bad[0] = 0xff;
        fix_checksum(&mut bad[..512]);
        assert_eq!(
            Bundle::parse(&bad).unwrap_err(),
            BundleError::BadName { offset: 0 }
        );
    }

    #[test]
    fn base256_size() {
        let mut bytes = build(&[("a", b"hello")]);
        bytes[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
        fix_checksum(&mut bytes[..512]);
        assert_eq!(
            Bundle::parse(&bytes).unwrap().file("a"),
            Some(&b"hello"[..])
        );
        bytes[124] = 0xff;
        fix_checksum(&mut bytes[..512]);
        assert_eq!(
            Bundle::parse(&bytes).unwrap_err(),
            BundleError::BadNumber { offset: 0 }
        );
    }

    fn fix_checksum(h: &mut [u8]) {
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = std::format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
    }

    /// Truncations and byte flips of a valid archive must give an error or a
    /// bundle, never a panic, and whatever is returned must stay in bounds.
    #[test]
    fn garbage_never_panics() {
        let big: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let long = "x/".repeat(60) + "y";
        let bytes = build(&[("dom0", b"kernel"), (&long, &big), ("c", b"")]);
        let accepted = core::cell::Cell::new(0usize);
        let exercise = |data: &[u8]| {
            if let Ok(b) = Bundle::parse(data) {
                accepted.set(accepted.get() + 1);
                let mut total = 0;
                for (name, d) in b.files() {
                    total += d.len() + name.len();
                    assert_eq!(b.file(name).map(<[u8]>::len), Some(d.len()));
                }
                assert!(total <= data.len() * 2);
            }
        };
        for len in 0..bytes.len() {
            exercise(&bytes[..len]);
        }
        let mut seed = 0x1234_5678_9abc_def0u64;
        for i in 0..bytes.len() * 3 {
            let mut m = bytes.clone();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let pos = if i < bytes.len() {
                i
            } else {
                (seed as usize) % bytes.len()
            };
            m[pos] ^= (seed >> 32) as u8 | 1;
            // Re-sign some headers so that corruption reaches the field parsers.
            if i % 2 == 0 && pos % 512 < 500 {
                let start = pos - pos % 512;
                fix_checksum(&mut m[start..start + 512]);
            }
            exercise(&m);
        }
        assert!(accepted.get() > 100, "{}", accepted.get());
    }

    #[test]
    fn numeric_fields() {
        assert_eq!(parse_octal(b"0000644\0"), Some(0o644));
        assert_eq!(parse_octal(b"  644 \0\0"), Some(0o644));
        assert_eq!(parse_octal(b"\0\0\0\0"), None);
        assert_eq!(parse_octal(b"64 4"), None);
        assert_eq!(parse_octal(b"77777777777777777777777777"), None);
        assert_eq!(parse_number(&[0x80, 1, 0]), Some(256));
        assert_eq!(
            parse_number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1]),
            None
        );
        assert_eq!(parse_pax(b"9 path=a\n"), Some((Some(&b"a"[..]), None)));
        assert_eq!(parse_pax(b"9 path=a\n\0\0"), Some((Some(&b"a"[..]), None)));
        assert_eq!(parse_pax(b"99 path=a\n"), None);
        assert_eq!(parse_pax(b"1 "), None);
        assert_eq!(parse_pax(b"8 size=x"), None);
    }

    #[test]
    fn display_is_one_line() {
        let e = BundleError::SplitName { offset: 0x200 };
        let s = std::format!("{e}");
        assert!(s.contains("0x200") && !s.contains('\n'));
    }
}
