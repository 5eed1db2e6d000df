//! Output formatting in the style of `xl`.
//!
//! All functions return `\n`-terminated lines where they return several;
//! translating to `\r\n` is the console writer's job.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

const NS_PER_SEC: u64 = 1_000_000_000;

/// `xl uptime -s`-style uptime: `up 0:01:23`, `up 1 day, 2:03:04`,
/// `up 12 days, 0:00:00` (hours not padded, minutes and seconds are).
pub fn format_uptime(ns: u64) -> String {
    let secs = ns / NS_PER_SEC;
    let days = secs / 86_400;
    let h = secs % 86_400 / 3_600;
    let m = secs % 3_600 / 60;
    let s = secs % 60;
    match days {
        0 => format!("up {h}:{m:02}:{s:02}"),
        1 => format!("up 1 day, {h}:{m:02}:{s:02}"),
        d => format!("up {d} days, {h}:{m:02}:{s:02}"),
    }
}

/// CPU time in seconds with one decimal, like the `Time(s)` column of
/// `xl list` (`0.0`, `12.3`; truncated, not rounded).
pub fn format_cpu_time(ns: u64) -> String {
    let tenths = ns / (NS_PER_SEC / 10);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// A memory size given in KiB, in the largest binary unit in which it is
/// at least 1: `512 KiB`, `4 MiB`, `1.5 GiB`. Whole values print without
/// decimals; others with one decimal, rounded half up (`1.0 MiB` for
/// 1025 KiB).
pub fn format_kib(kib: u64) -> String {
    const UNITS: [&str; 7] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB"];
    let mut unit = 0;
    while unit + 1 < UNITS.len() && kib >> (10 * (unit + 1)) != 0 {
        unit += 1;
    }
    let divisor: u128 = 1 << (10 * unit);
    let value = u128::from(kib);
    if value % divisor == 0 {
        return format!("{} {}", value / divisor, UNITS[unit]);
    }
    let mut tenths = (value * 10 + divisor / 2) / divisor;
    // Rounding up may reach the next unit (e.g. 1023.96 MiB -> 1.0 GiB).
    if tenths >= 10_240 && unit + 1 < UNITS.len() {
        unit += 1;
        tenths = (value * 10 + (divisor << 10) / 2) / (divisor << 10);
    }
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// How a table column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Pad on the right (text).
    #[default]
    Left,
    /// Pad on the left (numbers).
    Right,
}

/// A small aligned-column table, like `xl list` output.
///
/// ```text
/// let t = Table::new(&["Name", "ID", "Mem"])
///     .align(1, Align::Right)
///     .align(2, Align::Right)
///     .row(&["Domain-0", "0", "512"]);
/// t.render()
/// // "Name      ID  Mem\nDomain-0   0  512\n"
/// ```
///
/// Columns are as wide as their widest cell (header included) and are
/// separated by two spaces; lines have no trailing whitespace. A row with
/// fewer cells than headers is padded with empty cells; a row with more
/// adds (headerless) columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    headers: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the given column headers (all left-aligned).
    pub fn new<S: AsRef<str>>(headers: &[S]) -> Self {
        Table {
            headers: headers.iter().map(|h| String::from(h.as_ref())).collect(),
            aligns: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Sets the alignment of column `col` (header and cells).
    pub fn align(mut self, col: usize, align: Align) -> Self {
        self.set_align(col, align);
        self
    }

    /// Sets the alignment of column `col`, in place.
    pub fn set_align(&mut self, col: usize, align: Align) {
        if self.aligns.len() <= col {
            self.aligns.resize(col + 1, Align::Left);
        }
        self.aligns[col] = align;
    }

    /// Adds a row.
    pub fn row<S: AsRef<str>>(mut self, cells: &[S]) -> Self {
        self.push_row(cells);
        self
    }

    /// Adds a row, in place (for building in a loop).
    pub fn push_row<S: AsRef<str>>(&mut self, cells: &[S]) {
        self.rows
            .push(cells.iter().map(|c| String::from(c.as_ref())).collect());
    }

    /// Number of rows (not counting the header).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The header line and one line per row, each ending in `\n`.
    pub fn render(&self) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain(core::iter::once(self.headers.len()))
            .max()
            .unwrap_or(0);
        let mut widths = alloc::vec![0usize; columns];
        for line in core::iter::once(&self.headers).chain(&self.rows) {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for line in core::iter::once(&self.headers).chain(&self.rows) {
            let start = out.len();
            for (col, &width) in widths.iter().enumerate() {
                if col > 0 {
                    out.push_str("  ");
                }
                let cell = line.get(col).map(String::as_str).unwrap_or("");
                let pad = width - cell.chars().count();
                match self.aligns.get(col).copied().unwrap_or_default() {
                    Align::Left => {
                        out.push_str(cell);
                        push_spaces(&mut out, pad);
                    }
                    Align::Right => {
                        push_spaces(&mut out, pad);
                        out.push_str(cell);
                    }
                }
            }
            let trimmed = start + out[start..].trim_end_matches(' ').len();
            out.truncate(trimmed);
            out.push('\n');
        }
        out
    }
}

fn push_spaces(s: &mut String, n: usize) {
    for _ in 0..n {
        s.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_SEC;

    #[test]
    fn uptime() {
        assert_eq!(format_uptime(0), "up 0:00:00");
        assert_eq!(format_uptime(S - 1), "up 0:00:00");
        assert_eq!(format_uptime(83 * S), "up 0:01:23");
        assert_eq!(format_uptime(83 * S + 999_999_999), "up 0:01:23");
        assert_eq!(format_uptime((10 * 3600 + 5 * 60 + 7) * S), "up 10:05:07");
        assert_eq!(format_uptime((86_400 - 1) * S), "up 23:59:59");
        assert_eq!(format_uptime(86_400 * S), "up 1 day, 0:00:00");
        assert_eq!(
            format_uptime((86_400 + 2 * 3600 + 3 * 60 + 4) * S),
            "up 1 day, 2:03:04"
        );
        assert_eq!(format_uptime(3 * 86_400 * S + 59 * S), "up 3 days, 0:00:59");
        assert_eq!(format_uptime(u64::MAX), "up 213503 days, 23:34:33");
    }

    #[test]
    fn cpu_time() {
        assert_eq!(format_cpu_time(0), "0.0");
        assert_eq!(format_cpu_time(99_999_999), "0.0");
        assert_eq!(format_cpu_time(100_000_000), "0.1");
        assert_eq!(format_cpu_time(12 * S + 345_000_000), "12.3");
    }

    #[test]
    fn kib() {
        assert_eq!(format_kib(0), "0 KiB");
        assert_eq!(format_kib(1), "1 KiB");
        assert_eq!(format_kib(1023), "1023 KiB");
        assert_eq!(format_kib(1024), "1 MiB");
        assert_eq!(format_kib(1025), "1.0 MiB");
        assert_eq!(format_kib(1536), "1.5 MiB");
        assert_eq!(format_kib(4 * 1024), "4 MiB");
        assert_eq!(format_kib(2 * 1024 * 1024), "2 GiB");
        assert_eq!(format_kib(1024 * 1024 + 512 * 1024), "1.5 GiB");
        assert_eq!(format_kib(1024 * 1024 - 1), "1.0 GiB");
        assert_eq!(format_kib(1024 * 1024 - 60), "1023.9 MiB");
        assert_eq!(format_kib(1 << 40), "1 PiB");
        assert_eq!(format_kib(1 << 60), "1 ZiB");
        assert_eq!(format_kib(u64::MAX), "16.0 ZiB");
    }

    #[test]
    fn table_like_xl_list() {
        let t = Table::new(&["Name", "ID", "Mem", "VCPUs", "State", "Time(s)"])
            .align(1, Align::Right)
            .align(2, Align::Right)
            .align(3, Align::Right)
            .align(5, Align::Right)
            .row(&["Domain-0", "0", "512", "1", "r-----", "12.3"])
            .row(&["guest-with-long-name", "12", "64", "1", "-b----", "0.4"]);
        assert_eq!(
            t.render(),
            "Name                  ID  Mem  VCPUs  State   Time(s)\n\
             Domain-0               0  512      1  r-----     12.3\n\
             guest-with-long-name  12   64      1  -b----      0.4\n"
        );
        assert_eq!(t.len(), 2);
        assert!(!t.is_empty());
    }

    #[test]
    fn table_header_only_and_trailing_whitespace() {
        let t = Table::new(&["Name", "Value"]);
        assert!(t.is_empty());
        assert_eq!(t.render(), "Name  Value\n");
        // Last column left-aligned: no trailing spaces; empty trailing
        // cells leave no trailing separator either.
        let t = Table::new(&["K", "Description"])
            .row(&["a", "x"])
            .row(&["bb", ""]);
        assert_eq!(t.render(), "K   Description\na   x\nbb\n");
    }

    #[test]
    fn table_ragged_rows_and_owned_cells() {
        let mut t = Table::new(&["A", "B"]);
        t.set_align(2, Align::Right);
        t.push_row(&[String::from("1")]);
        t.push_row(&[String::from("22"), String::from("x"), String::from("7")]);
        t.push_row::<&str>(&[]);
        assert_eq!(t.render(), "A   B\n1\n22  x  7\n\n");
        // No headers, no rows.
        assert_eq!(Table::new::<&str>(&[]).render(), "\n");
        assert_eq!(Table::default().render(), "\n");
    }

    #[test]
    fn table_all_right_aligned() {
        let t = Table::new(&["n", "square"])
            .align(0, Align::Right)
            .align(1, Align::Right)
            .row(&["3", "9"])
            .row(&["100", "10000"]);
        assert_eq!(t.render(), "  n  square\n  3       9\n100   10000\n");
    }
}
