//! Console input into lines for `echo`: bytes arrive in arbitrary pieces; a line ends at CR or
//! LF, and the LF of a CR LF pair does not end a second (empty) line. A line longer than the
//! buffer is handed out in pieces of [`MAX_LINE`] bytes, so a peer that never sends a line end
//! cannot make the guest hold unbounded input.

use alloc::string::String;
use alloc::vec::Vec;

/// Longest line kept before it is handed out unfinished.
pub const MAX_LINE: usize = 256;

/// Collects bytes into complete lines.
#[derive(Debug, Default)]
pub struct LineAssembler {
    partial: Vec<u8>,
    /// The last byte seen was CR, so an LF right after it belongs to the same line end.
    after_cr: bool,
}

impl LineAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take `bytes`, calling `line` with each line they complete (without its end; invalid
    /// UTF-8 shown as U+FFFD).
    pub fn feed(&mut self, bytes: &[u8], mut line: impl FnMut(&str)) {
        for &b in bytes {
            let after_cr = core::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => self.emit(&mut line),
                _ => {
                    self.partial.push(b);
                    if self.partial.len() == MAX_LINE {
                        self.emit(&mut line);
                    }
                }
            }
        }
    }

    fn emit(&mut self, line: &mut impl FnMut(&str)) {
        line(&String::from_utf8_lossy(&self.partial));
        self.partial.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(pieces: &[&[u8]]) -> Vec<String> {
        let mut asm = LineAssembler::new();
        let mut out = Vec::new();
        for p in pieces {
            asm.feed(p, |l| out.push(l.to_string()));
        }
        out
    }

    #[test]
    fn line_ends() {
        assert_eq!(lines_of(&[b"hello\n"]), ["hello"]);
        assert_eq!(lines_of(&[b"hello\r"]), ["hello"]);
        assert_eq!(lines_of(&[b"a\r\nb\r\n"]), ["a", "b"]);
        assert_eq!(lines_of(&[b"a\r", b"\nb\n"]), ["a", "b"]);
        assert_eq!(lines_of(&[b"a\n\nb\r\r"]), ["a", "", "b", ""]);
        assert_eq!(lines_of(&[b"no end yet"]), Vec::<String>::new());
        assert_eq!(lines_of(&[b"sp", b"lit", b" line\r"]), ["split line"]);
    }

    #[test]
    fn long_and_odd_input() {
        let long = [b'x'; MAX_LINE + 10];
        let out = lines_of(&[&long, b"\n"]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), MAX_LINE);
        assert_eq!(out[1].len(), 10);
        assert_eq!(lines_of(&[b"\xff\xfeok\n"]), ["\u{fffd}\u{fffd}ok"]);
    }
}
