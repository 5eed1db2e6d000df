//! Picking a domain's console output out of the hypervisor log.
//!
//! Until DomUs get PV console rings, the hypervisor copies each line a
//! DomU writes with `console_io` into its log ring, tagged `(dN)` after
//! the log prefix: `(XEN) [    1.234567] INFO  (d3) hello` or
//! `[    1.234567] (d3) hello`. `console` reads the ring incrementally
//! (`sysctl(readconsole)`), cuts it into lines with [`LineSplitter`] and
//! keeps the lines [`domain_line`] attributes to the domain.

use alloc::string::String;
use alloc::vec::Vec;

/// How far into a line the `(dN)` tag may start: past the hypervisor's
/// timestamp and level, not inside the message.
pub const TAG_WINDOW: usize = 48;

/// If `line` is console output of a domain, its id and text (without the
/// prefix, the tag and the space after it). The tag is the first `(dN)`
/// that starts the line or follows a space or `]`, within the first
/// [`TAG_WINDOW`] bytes, and is followed by a space or the end of the
/// line. A trailing `\r` is dropped.
pub fn domain_line(line: &str) -> Option<(u16, &str)> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let bytes = line.as_bytes();
    let limit = bytes.len().min(TAG_WINDOW);
    let mut at = 0;
    while at < limit {
        let start = at;
        at += 1;
        if bytes[start] != b'(' || bytes.get(start + 1) != Some(&b'd') {
            continue;
        }
        if start > 0 && !matches!(bytes[start - 1], b' ' | b']') {
            continue;
        }
        let digits = bytes[start + 2..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let close = start + 2 + digits;
        if digits == 0 || digits > 5 || bytes.get(close) != Some(&b')') {
            continue;
        }
        let Ok(domid) = line[start + 2..close].parse::<u16>() else {
            continue;
        };
        return match bytes.get(close + 1) {
            None => Some((domid, "")),
            Some(b' ') => Some((domid, &line[close + 2..])),
            Some(_) => continue,
        };
    }
    None
}

/// Cuts a byte stream into `\n`-terminated lines, keeping an unfinished
/// last line until the rest of it arrives. Invalid UTF-8 is replaced.
#[derive(Debug, Default, Clone)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

/// Longest line kept; a longer one is cut and the pieces passed on.
pub const MAX_LINE: usize = 1024;

impl LineSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes, calling `line` for every completed line (without the
    /// `\n`).
    pub fn feed(&mut self, bytes: &[u8], mut line: impl FnMut(&str)) {
        for &b in bytes {
            if b == b'\n' || self.partial.len() >= MAX_LINE {
                let text = String::from_utf8_lossy(&self.partial);
                line(&text);
                self.partial.clear();
                if b == b'\n' {
                    continue;
                }
            }
            self.partial.push(b);
        }
    }

    /// The unfinished line so far.
    pub fn pending(&self) -> &[u8] {
        &self.partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn tags() {
        assert_eq!(domain_line("(d3) hello"), Some((3, "hello")));
        assert_eq!(domain_line("[    1.234567] (d3) hello"), Some((3, "hello")));
        assert_eq!(
            domain_line("(XEN) [    1.234567] INFO  (d12) hello (d4) x\r"),
            Some((12, "hello (d4) x"))
        );
        assert_eq!(domain_line("[    1.234567](d7) a"), Some((7, "a")));
        assert_eq!(domain_line("(d3)"), Some((3, "")));
        assert_eq!(domain_line("(d3) "), Some((3, "")));
        assert_eq!(domain_line("(d3)  indented"), Some((3, " indented")));
        assert_eq!(domain_line("(d65535) max"), Some((65535, "max")));
        // Not tags.
        assert_eq!(domain_line("(XEN) [    1.2] INFO  hello"), None);
        assert_eq!(domain_line("(d) x"), None);
        assert_eq!(domain_line("(dx) x"), None);
        assert_eq!(domain_line("(d3)x"), None);
        assert_eq!(domain_line("(d65536) x"), None);
        assert_eq!(domain_line("(d123456) x"), None);
        assert_eq!(domain_line("x(d3) y"), None);
        assert_eq!(domain_line(""), None);
        // Only near the start of the line.
        let far = format!("(XEN) [    1.2] INFO  {} (d3) x", "m".repeat(40));
        assert_eq!(domain_line(&far), None);
        // A bad candidate does not hide a good one after it.
        assert_eq!(domain_line("(d3)x (d4) y"), Some((4, "y")));
    }

    #[test]
    fn splitting() {
        let mut s = LineSplitter::new();
        let mut out = vec![];
        s.feed(b"ab", |l| out.push(l.to_string()));
        assert!(out.is_empty());
        assert_eq!(s.pending(), b"ab");
        s.feed(b"c\n\nd\ne", |l| out.push(l.to_string()));
        assert_eq!(out, ["abc", "", "d"]);
        assert_eq!(s.pending(), b"e");
        s.feed(b"\xff\n", |l| out.push(l.to_string()));
        assert_eq!(out.last().unwrap(), "e\u{fffd}");
        // Overlong lines are cut.
        let mut n = 0;
        s.feed(&[b'x'; MAX_LINE * 2 + 3], |l| {
            assert_eq!(l.len(), MAX_LINE);
            n += 1;
        });
        assert_eq!((n, s.pending().len()), (2, 3));
    }
}
