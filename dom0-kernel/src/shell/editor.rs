//! Line editor for the Dom0 console shell.
//!
//! A byte-at-a-time state machine: the console driver hands every byte it
//! receives (typed on a VT100/xterm-like terminal, or piped in by a test
//! harness) to [`LineEditor::feed`], which updates the line, writes the
//! terminal echo to the `out` callback and, when a line is finished, returns
//! an [`EditorEvent`].
//!
//! Supported keys:
//!
//! | key                                   | action                                 |
//! |---------------------------------------|----------------------------------------|
//! | printable ASCII                       | insert at the cursor                   |
//! | CR, LF (CR LF counts once)            | finish the line                        |
//! | Backspace (0x7f, 0x08)                | delete left of the cursor              |
//! | Delete (`ESC [ 3 ~`)                  | delete under the cursor                |
//! | Left/Right (`ESC [ D/C`, `ESC O D/C`) | move the cursor                        |
//! | Home (`ESC [ H`, `ESC O H`, `ESC [ 1 ~`, `ESC [ 7 ~`), Ctrl-A | cursor to start |
//! | End (`ESC [ F`, `ESC O F`, `ESC [ 4 ~`, `ESC [ 8 ~`), Ctrl-E  | cursor to end   |
//! | Ctrl-U                                | delete from line start to the cursor   |
//! | Ctrl-K                                | delete from the cursor to line end     |
//! | Up/Down (`ESC [ A/B`, `ESC O A/B`)    | walk the history                       |
//! | Ctrl-C                                | abandon the line ([`EditorEvent::Interrupt`]) |
//!
//! Every other control byte, unknown or malformed escape sequence, and every
//! non-ASCII byte is ignored without touching the line. A control byte that
//! arrives in the middle of an escape sequence aborts the sequence and is
//! then handled normally, so Enter and Ctrl-C always work.
//!
//! Echo conventions: newline is `"\r\n"`; cursor moves are `ESC[nD` /
//! `ESC[nC`; a full redraw (history recall) is `CR`, prompt, line, `ESC[K`,
//! then `ESC[nD` back to the cursor. The editor assumes the prompt and line
//! fit on one terminal row.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// What a finished (or abandoned) line turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorEvent {
    /// Enter was pressed; the line as typed (may be empty or blank).
    Line(String),
    /// Ctrl-C: the line was abandoned; `^C` and a newline were echoed.
    Interrupt,
    /// Enter was pressed on a line that had exceeded `max_len`; everything
    /// typed after the limit was discarded and the line is not returned.
    TooLong,
}

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
const CTRL_A: u8 = 0x01;
const CTRL_C: u8 = 0x03;
const CTRL_E: u8 = 0x05;
const CTRL_K: u8 = 0x0b;
const CTRL_U: u8 = 0x15;
const BS: u8 = 0x08;
const DEL: u8 = 0x7f;

/// Escape-sequence decoder state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EscState {
    /// Not inside an escape sequence.
    Idle,
    /// Saw `ESC`.
    Esc,
    /// Inside `ESC [` (a CSI sequence).
    Csi {
        /// First numeric parameter, if any digits were seen before a `;`.
        first: Option<u16>,
        /// A `;` was seen: later parameters (modifiers) are ignored.
        past_first: bool,
        /// Private markers or intermediate bytes: the sequence is ignored.
        odd: bool,
    },
    /// Inside `ESC O` (an SS3 sequence).
    Ss3,
}

/// Editing keys decoded from escape sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    Delete,
}

/// History browsing state: which entry is shown, and the line that was
/// being edited before browsing started (with its cursor).
#[derive(Debug, Clone)]
struct Browse {
    index: usize,
    saved: Vec<u8>,
    saved_cursor: usize,
}

/// The line editor. See the module documentation for the key bindings.
#[derive(Debug, Clone)]
pub struct LineEditor {
    buf: Vec<u8>,
    cursor: usize,
    max_len: usize,
    prompt: String,
    history: VecDeque<String>,
    history_len: usize,
    browse: Option<Browse>,
    esc: EscState,
    overflow: bool,
    after_cr: bool,
}

impl LineEditor {
    /// An editor accepting lines of at most `max_len` bytes and remembering
    /// the last `history_len` distinct non-empty lines (0 disables history).
    /// The prompt starts empty; see [`LineEditor::set_prompt`].
    pub fn new(max_len: usize, history_len: usize) -> Self {
        LineEditor {
            buf: Vec::new(),
            cursor: 0,
            max_len,
            prompt: String::new(),
            history: VecDeque::new(),
            history_len,
            browse: None,
            esc: EscState::Idle,
            overflow: false,
            after_cr: false,
        }
    }

    /// Sets the prompt printed by [`LineEditor::start_line`] and used by
    /// redraws. Nothing is written; call [`LineEditor::redraw`] to show a
    /// changed prompt immediately.
    pub fn set_prompt(&mut self, prompt: &str) {
        self.prompt = String::from(prompt);
    }

    /// The current prompt.
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// The line being edited (as currently displayed).
    pub fn line(&self) -> &str {
        // The buffer only ever holds printable ASCII.
        core::str::from_utf8(&self.buf).unwrap_or("")
    }

    /// Cursor position within [`LineEditor::line`], in bytes.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The remembered lines, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// Starts a fresh line: forgets any partial input and prints the prompt.
    pub fn start_line(&mut self, out: &mut impl FnMut(&[u8])) {
        self.reset_line();
        self.esc = EscState::Idle;
        out(self.prompt.as_bytes());
    }

    /// Reprints prompt and current line on the current terminal row and
    /// puts the cursor back in place (e.g. after asynchronous output was
    /// written over the prompt).
    pub fn redraw(&self, out: &mut impl FnMut(&[u8])) {
        out(b"\r");
        out(self.prompt.as_bytes());
        out(&self.buf);
        out(b"\x1b[K");
        move_left(self.buf.len() - self.cursor, out);
    }

    /// Feeds one input byte. Returns an event when a line is finished.
    pub fn feed(&mut self, byte: u8, out: &mut impl FnMut(&[u8])) -> Option<EditorEvent> {
        // NUL is padding (e.g. telnet's CR NUL): ignore it entirely.
        if byte == 0 {
            return None;
        }
        let after_cr = core::mem::replace(&mut self.after_cr, false);

        match self.esc {
            EscState::Idle => {}
            EscState::Esc => match byte {
                b'[' => {
                    self.esc = EscState::Csi {
                        first: None,
                        past_first: false,
                        odd: false,
                    };
                    return None;
                }
                b'O' => {
                    self.esc = EscState::Ss3;
                    return None;
                }
                ESC => return None,
                // Alt+key and other two-byte sequences: ignore.
                0x20..=0x7e => {
                    self.esc = EscState::Idle;
                    return None;
                }
                // Control or non-ASCII byte: abort, handle it below.
                _ => self.esc = EscState::Idle,
            },
            EscState::Csi {
                first,
                past_first,
                odd,
            } => match byte {
                b'0'..=b'9' => {
                    if !past_first {
                        let d = u16::from(byte - b'0');
                        let v = first.unwrap_or(0).saturating_mul(10).saturating_add(d);
                        self.esc = EscState::Csi {
                            first: Some(v),
                            past_first,
                            odd,
                        };
                    }
                    return None;
                }
                b';' => {
                    self.esc = EscState::Csi {
                        first,
                        past_first: true,
                        odd,
                    };
                    return None;
                }
                // Private markers (`<=>?:`) and intermediate bytes.
                0x20..=0x2f | 0x3a | 0x3c..=0x3f => {
                    self.esc = EscState::Csi {
                        first,
                        past_first,
                        odd: true,
                    };
                    return None;
                }
                0x40..=0x7e => {
                    self.esc = EscState::Idle;
                    if !odd {
                        if let Some(key) = csi_key(first, byte) {
                            self.key(key, out);
                        }
                    }
                    return None;
                }
                ESC => {
                    self.esc = EscState::Esc;
                    return None;
                }
                _ => self.esc = EscState::Idle,
            },
            EscState::Ss3 => match byte {
                0x20..=0x7e => {
                    self.esc = EscState::Idle;
                    if let Some(key) = ss3_key(byte) {
                        self.key(key, out);
                    }
                    return None;
                }
                ESC => {
                    self.esc = EscState::Esc;
                    return None;
                }
                _ => self.esc = EscState::Idle,
            },
        }

        match byte {
            b'\r' => {
                self.after_cr = true;
                Some(self.enter(out))
            }
            b'\n' if after_cr => None,
            b'\n' => Some(self.enter(out)),
            CTRL_C => {
                self.reset_line();
                out(b"^C\r\n");
                Some(EditorEvent::Interrupt)
            }
            ESC => {
                self.esc = EscState::Esc;
                None
            }
            // Once over the limit, discard everything until Enter/Ctrl-C.
            _ if self.overflow => None,
            0x20..=0x7e => {
                self.insert(byte, out);
                None
            }
            DEL | BS => {
                self.backspace(out);
                None
            }
            CTRL_A => {
                self.key(Key::Home, out);
                None
            }
            CTRL_E => {
                self.key(Key::End, out);
                None
            }
            CTRL_U => {
                self.kill_to_start(out);
                None
            }
            CTRL_K => {
                self.kill_to_end(out);
                None
            }
            _ => None,
        }
    }

    /// Feeds a sequence of bytes, returning the events in order.
    pub fn feed_all(&mut self, bytes: &[u8], out: &mut impl FnMut(&[u8])) -> Vec<EditorEvent> {
        bytes.iter().filter_map(|&b| self.feed(b, out)).collect()
    }

    fn reset_line(&mut self) {
        self.buf.clear();
        self.cursor = 0;
        self.overflow = false;
        self.browse = None;
    }

    fn enter(&mut self, out: &mut impl FnMut(&[u8])) -> EditorEvent {
        out(b"\r\n");
        let event = if self.overflow {
            EditorEvent::TooLong
        } else {
            let line: String = self.buf.iter().map(|&b| char::from(b)).collect();
            self.remember(&line);
            EditorEvent::Line(line)
        };
        self.reset_line();
        event
    }

    fn remember(&mut self, line: &str) {
        if self.history_len == 0 || line.trim().is_empty() {
            return;
        }
        self.history.retain(|h| h != line);
        while self.history.len() >= self.history_len {
            self.history.pop_front();
        }
        self.history.push_back(String::from(line));
    }

    fn insert(&mut self, byte: u8, out: &mut impl FnMut(&[u8])) {
        if self.buf.len() >= self.max_len {
            self.overflow = true;
            out(&[BEL]);
            return;
        }
        self.buf.insert(self.cursor, byte);
        self.cursor += 1;
        if self.cursor == self.buf.len() {
            out(&[byte]);
        } else {
            // Screen cursor is at the insertion point: rewrite from there.
            self.repaint_from(self.cursor - 1, false, out);
        }
    }

    fn backspace(&mut self, out: &mut impl FnMut(&[u8])) {
        if self.cursor == 0 {
            return;
        }
        self.cursor -= 1;
        self.buf.remove(self.cursor);
        if self.cursor == self.buf.len() {
            out(b"\x08 \x08");
        } else {
            out(&[BS]);
            self.repaint_from(self.cursor, true, out);
        }
    }

    fn kill_to_start(&mut self, out: &mut impl FnMut(&[u8])) {
        if self.cursor == 0 {
            return;
        }
        move_left(self.cursor, out);
        self.buf.drain(..self.cursor);
        self.cursor = 0;
        self.repaint_from(0, true, out);
    }

    fn kill_to_end(&mut self, out: &mut impl FnMut(&[u8])) {
        if self.cursor == self.buf.len() {
            return;
        }
        self.buf.truncate(self.cursor);
        out(b"\x1b[K");
    }

    /// With the screen cursor at column `from` of the line, rewrites the
    /// line from there (clearing leftovers if `clear`) and moves the screen
    /// cursor back to `self.cursor`.
    fn repaint_from(&self, from: usize, clear: bool, out: &mut impl FnMut(&[u8])) {
        out(&self.buf[from..]);
        if clear {
            out(b"\x1b[K");
        }
        move_left(self.buf.len() - self.cursor, out);
    }

    fn key(&mut self, key: Key, out: &mut impl FnMut(&[u8])) {
        if self.overflow {
            return;
        }
        match key {
            Key::Left => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    move_left(1, out);
                }
            }
            Key::Right => {
                if self.cursor < self.buf.len() {
                    self.cursor += 1;
                    move_right(1, out);
                }
            }
            Key::Home => {
                move_left(self.cursor, out);
                self.cursor = 0;
            }
            Key::End => {
                move_right(self.buf.len() - self.cursor, out);
                self.cursor = self.buf.len();
            }
            Key::Delete => {
                if self.cursor < self.buf.len() {
                    self.buf.remove(self.cursor);
                    self.repaint_from(self.cursor, true, out);
                }
            }
            Key::Up => self.history_up(out),
            Key::Down => self.history_down(out),
        }
    }

    fn history_up(&mut self, out: &mut impl FnMut(&[u8])) {
        let index = match &self.browse {
            Some(b) if b.index == 0 => return,
            Some(b) => b.index - 1,
            None if self.history.is_empty() => return,
            None => {
                self.browse = Some(Browse {
                    index: self.history.len(),
                    saved: core::mem::take(&mut self.buf),
                    saved_cursor: self.cursor,
                });
                self.history.len() - 1
            }
        };
        self.show_history(index, out);
    }

    fn history_down(&mut self, out: &mut impl FnMut(&[u8])) {
        let Some(browse) = &self.browse else {
            return;
        };
        if browse.index + 1 < self.history.len() {
            self.show_history(browse.index + 1, out);
        } else if let Some(b) = self.browse.take() {
            self.buf = b.saved;
            self.cursor = b.saved_cursor;
            self.redraw(out);
        }
    }

    fn show_history(&mut self, index: usize, out: &mut impl FnMut(&[u8])) {
        if let (Some(entry), Some(browse)) = (self.history.get(index), self.browse.as_mut()) {
            browse.index = index;
            self.buf.clear();
            self.buf.extend_from_slice(entry.as_bytes());
            self.cursor = self.buf.len();
            self.redraw(out);
        }
    }
}

fn csi_key(first: Option<u16>, fin: u8) -> Option<Key> {
    match (fin, first) {
        (b'A', _) => Some(Key::Up),
        (b'B', _) => Some(Key::Down),
        (b'C', _) => Some(Key::Right),
        (b'D', _) => Some(Key::Left),
        (b'H', _) => Some(Key::Home),
        (b'F', _) => Some(Key::End),
        (b'~', Some(1 | 7)) => Some(Key::Home),
        (b'~', Some(4 | 8)) => Some(Key::End),
        (b'~', Some(3)) => Some(Key::Delete),
        _ => None,
    }
}

fn ss3_key(fin: u8) -> Option<Key> {
    match fin {
        b'A' => Some(Key::Up),
        b'B' => Some(Key::Down),
        b'C' => Some(Key::Right),
        b'D' => Some(Key::Left),
        b'H' => Some(Key::Home),
        b'F' => Some(Key::End),
        _ => None,
    }
}

fn move_left(n: usize, out: &mut impl FnMut(&[u8])) {
    if n > 0 {
        out(format!("\x1b[{n}D").as_bytes());
    }
}

fn move_right(n: usize, out: &mut impl FnMut(&[u8])) {
    if n > 0 {
        out(format!("\x1b[{n}C").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    const PROMPT: &str = "dom0# ";

    /// Feeds `input`, returning (events, echoed bytes).
    fn run(ed: &mut LineEditor, input: &[u8]) -> (Vec<EditorEvent>, Vec<u8>) {
        let mut echo = Vec::new();
        let events = ed.feed_all(input, &mut |b: &[u8]| echo.extend_from_slice(b));
        (events, echo)
    }

    fn editor() -> LineEditor {
        let mut ed = LineEditor::new(32, 4);
        ed.set_prompt(PROMPT);
        ed
    }

    fn line(s: &str) -> EditorEvent {
        EditorEvent::Line(s.to_string())
    }

    /// Interprets echoed bytes on a one-row terminal (prompt at column 0)
    /// and returns what is visible plus the cursor column. Panics on any
    /// sequence the editor is not supposed to emit.
    fn screen(echo: &[u8]) -> (String, usize) {
        let mut row: Vec<u8> = Vec::new();
        let mut col = 0usize;
        let mut i = 0;
        while i < echo.len() {
            match echo[i] {
                b'\r' => col = 0,
                BS => col = col.saturating_sub(1),
                ESC => {
                    assert_eq!(echo[i + 1], b'[', "unexpected escape in echo");
                    let mut j = i + 2;
                    let mut n = 0usize;
                    let mut digits = false;
                    while echo[j].is_ascii_digit() {
                        n = n * 10 + usize::from(echo[j] - b'0');
                        digits = true;
                        j += 1;
                    }
                    match echo[j] {
                        b'D' => col -= if digits { n } else { 1 },
                        b'C' => col += if digits { n } else { 1 },
                        b'K' => {
                            assert!(!digits);
                            row.truncate(col);
                        }
                        other => panic!("unexpected CSI final {:?}", other as char),
                    }
                    i = j;
                }
                b'\n' | BEL => panic!("unexpected byte {:#x} in echo", echo[i]),
                b => {
                    assert!((0x20..0x7f).contains(&b), "non-printable {b:#x}");
                    if col < row.len() {
                        row[col] = b;
                    } else {
                        while row.len() < col {
                            row.push(b' ');
                        }
                        row.push(b);
                    }
                    col += 1;
                }
            }
            i += 1;
        }
        let text = String::from_utf8(row).unwrap();
        (text.trim_end().to_string(), col)
    }

    /// Starts a line and feeds `input` (no Enter); checks that the
    /// terminal shows prompt + editor line with the cursor in the right
    /// place, and returns the visible text.
    fn typed(ed: &mut LineEditor, input: &[u8]) -> String {
        let mut echo = Vec::new();
        ed.start_line(&mut |b: &[u8]| echo.extend_from_slice(b));
        let events = ed.feed_all(input, &mut |b: &[u8]| echo.extend_from_slice(b));
        assert!(events.is_empty(), "unexpected events {events:?}");
        let (text, col) = screen(&echo);
        assert_eq!(text, format!("{PROMPT}{}", ed.line()).trim_end());
        assert_eq!(col, PROMPT.len() + ed.cursor(), "cursor mismatch");
        ed.line().to_string()
    }

    #[test]
    fn plain_line_and_echo() {
        let mut ed = editor();
        let mut echo = Vec::new();
        ed.start_line(&mut |b: &[u8]| echo.extend_from_slice(b));
        assert_eq!(echo, PROMPT.as_bytes());
        let (ev, echo) = run(&mut ed, b"help\r");
        assert_eq!(ev, vec![line("help")]);
        assert_eq!(echo, b"help\r\n");
        assert_eq!(ed.line(), "");
        assert_eq!(ed.cursor(), 0);
    }

    #[test]
    fn cr_lf_lfcr_variants() {
        let mut ed = editor();
        let (ev, echo) = run(&mut ed, b"a\r\nb\nc\r\r\n\n");
        assert_eq!(
            ev,
            vec![line("a"), line("b"), line("c"), line(""), line("")]
        );
        assert_eq!(echo, b"a\r\nb\r\nc\r\n\r\n\r\n");
        // CR, NUL, LF still counts once.
        let (ev, _) = run(&mut ed, b"x\r\0\ny");
        assert_eq!(ev, vec![line("x")]);
        assert_eq!(ed.line(), "y");
    }

    #[test]
    fn lf_after_cr_only_swallowed_immediately() {
        let mut ed = editor();
        // CR, then a byte, then LF: the LF is a second Enter.
        let (ev, _) = run(&mut ed, b"a\rb\n");
        assert_eq!(ev, vec![line("a"), line("b")]);
    }

    #[test]
    fn backspace_both_codes() {
        let mut ed = editor();
        let (ev, echo) = run(&mut ed, b"hellp\x7fo\x08\x08lo\r");
        assert_eq!(ev, vec![line("hello")]);
        assert_eq!(echo, b"hellp\x08 \x08o\x08 \x08\x08 \x08lo\r\n");
        // Backspace on an empty line does nothing.
        let (ev, echo) = run(&mut ed, b"\x7f\x7f\x08x\r");
        assert_eq!(ev, vec![line("x")]);
        assert_eq!(echo, b"x\r\n");
    }

    #[test]
    fn arrows_insert_in_middle() {
        let mut ed = editor();
        // "helo", left, insert 'l' -> "hello"
        let (ev, echo) = run(&mut ed, b"helo\x1b[Dl\r");
        assert_eq!(ev, vec![line("hello")]);
        assert_eq!(echo, b"helo\x1b[1Dlo\x1b[1D\r\n");
        // SS3 arrows too.
        let (ev, _) = run(&mut ed, b"ac\x1bODb\x1bOCd\r");
        assert_eq!(ev, vec![line("abcd")]);
    }

    #[test]
    fn arrows_clamp_at_edges() {
        let mut ed = editor();
        let (_, echo) = run(&mut ed, b"\x1b[D\x1b[C");
        assert!(echo.is_empty());
        let text = typed(
            &mut ed,
            b"ab\x1b[D\x1b[D\x1b[D\x1b[DX\x1b[C\x1b[C\x1b[C\x1b[CY",
        );
        assert_eq!(text, "XabY");
    }

    #[test]
    fn backspace_and_delete_in_middle() {
        let mut ed = editor();
        let text = typed(&mut ed, b"abcdef\x1b[D\x1b[D\x7f");
        assert_eq!(text, "abcef");
        assert_eq!(ed.cursor(), 3);
        let text = typed(&mut ed, b"abcdef\x1b[D\x1b[D\x1b[3~");
        assert_eq!(text, "abcdf");
        assert_eq!(ed.cursor(), 4);
        // Delete at end of line does nothing.
        let mut ed2 = editor();
        let (_, echo) = run(&mut ed2, b"ab\x1b[3~");
        assert_eq!(echo, b"ab");
        assert_eq!(ed2.line(), "ab");
    }

    #[test]
    fn delete_echo_bytes() {
        let mut ed = editor();
        let (_, echo) = run(&mut ed, b"abc\x1b[H\x1b[3~");
        assert_eq!(echo, b"abc\x1b[3Dbc\x1b[K\x1b[2D");
        assert_eq!(ed.line(), "bc");
        assert_eq!(ed.cursor(), 0);
    }

    #[test]
    fn home_end_all_encodings() {
        for home in [&b"\x1b[H"[..], b"\x1bOH", b"\x1b[1~", b"\x1b[7~", b"\x01"] {
            for end in [&b"\x1b[F"[..], b"\x1bOF", b"\x1b[4~", b"\x1b[8~", b"\x05"] {
                let mut ed = editor();
                let mut input = b"bc".to_vec();
                input.extend_from_slice(home);
                input.push(b'a');
                input.extend_from_slice(end);
                input.push(b'd');
                assert_eq!(typed(&mut ed, &input), "abcd", "{home:?} {end:?}");
            }
        }
    }

    #[test]
    fn home_end_echo() {
        let mut ed = editor();
        let (_, echo) = run(&mut ed, b"abcd\x1b[H\x1b[H\x1b[F\x1b[F");
        assert_eq!(echo, b"abcd\x1b[4D\x1b[4C");
    }

    #[test]
    fn ctrl_u_and_ctrl_k() {
        let mut ed = editor();
        let text = typed(&mut ed, b"hello world\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x15");
        assert_eq!(text, "world");
        assert_eq!(ed.cursor(), 0);
        let text = typed(
            &mut ed,
            b"hello world\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x0b",
        );
        assert_eq!(text, "hello");
        assert_eq!(ed.cursor(), 5);
        // Ctrl-U at end kills the whole line.
        let mut ed2 = editor();
        let (ev, echo) = run(&mut ed2, b"abc\x15\r");
        assert_eq!(ev, vec![line("")]);
        assert_eq!(echo, b"abc\x1b[3D\x1b[K\r\n");
        // Ctrl-K at end / Ctrl-U at start: nothing.
        let (_, echo) = run(&mut ed2, b"ab\x0b\x01\x15");
        assert_eq!(echo, b"ab\x1b[2D");
        assert_eq!(ed2.line(), "ab");
    }

    #[test]
    fn ctrl_c_abandons_line() {
        let mut ed = editor();
        let (ev, echo) = run(&mut ed, b"destroy 1\x03");
        assert_eq!(ev, vec![EditorEvent::Interrupt]);
        assert_eq!(echo, b"destroy 1^C\r\n");
        assert_eq!(ed.line(), "");
        // Not remembered in history.
        assert_eq!(ed.history().count(), 0);
        let (ev, _) = run(&mut ed, b"ok\r");
        assert_eq!(ev, vec![line("ok")]);
    }

    #[test]
    fn ctrl_c_inside_escape_sequence() {
        let mut ed = editor();
        let (ev, _) = run(&mut ed, b"ab\x1b[1\x03cd\r");
        assert_eq!(ev, vec![EditorEvent::Interrupt, line("cd")]);
        let (ev, _) = run(&mut ed, b"ab\x1b\x03cd\r");
        assert_eq!(ev, vec![EditorEvent::Interrupt, line("cd")]);
        let (ev, _) = run(&mut ed, b"ab\x1bO\x03cd\r");
        assert_eq!(ev, vec![EditorEvent::Interrupt, line("cd")]);
    }

    #[test]
    fn enter_inside_escape_sequence() {
        let mut ed = editor();
        let (ev, _) = run(&mut ed, b"ab\x1b[\rcd\x1b\r");
        assert_eq!(ev, vec![line("ab"), line("cd")]);
    }

    #[test]
    fn unknown_escapes_ignored() {
        let mut ed = editor();
        let input: &[u8] = b"a\x1b[5~\x1b[6~\x1b[2~\x1b[Z\x1b[1;5Pb\x1b[?25h\x1b[<0;3;4M\
            \x1bOP\x1bx\x1b[99999999~\x1b\x1b[Ec\x1b[200~d\x1b[201~\r";
        let (ev, echo) = run(&mut ed, input);
        assert_eq!(ev, vec![line("abcd")]);
        assert_eq!(echo, b"abcd\r\n");
    }

    #[test]
    fn modified_arrows_act_as_arrows() {
        let mut ed = editor();
        // xterm Ctrl-Left: ESC [ 1 ; 5 D
        assert_eq!(typed(&mut ed, b"bc\x1b[1;5D\x1b[1;5Da"), "abc");
    }

    #[test]
    fn other_control_and_non_ascii_bytes_ignored() {
        let mut ed = editor();
        let mut input = b"a".to_vec();
        input.extend((0x01u8..0x20).filter(|b| {
            ![
                CTRL_A, CTRL_C, CTRL_E, BS, b'\n', CTRL_K, b'\r', CTRL_U, ESC,
            ]
            .contains(b)
        }));
        input.extend_from_slice(b"b");
        input.extend(0x80u8..=0xff);
        input.extend_from_slice("é✓".as_bytes());
        input.extend_from_slice(b"c\r");
        let (ev, echo) = run(&mut ed, &input);
        assert_eq!(ev, vec![line("abc")]);
        assert_eq!(echo, b"abc\r\n");
    }

    #[test]
    fn non_ascii_aborts_escape_sequence() {
        let mut ed = editor();
        let (ev, _) = run(&mut ed, b"a\x1b[\xc3D\r");
        // The 0xc3 aborts the CSI; the 'D' is then a plain letter.
        assert_eq!(ev, vec![line("aD")]);
    }

    #[test]
    fn overlong_line_reports_too_long_once() {
        let mut ed = LineEditor::new(5, 4);
        ed.set_prompt(PROMPT);
        let (ev, echo) = run(&mut ed, b"abcdefgh\x7f\x7f\x7f\x7f\x1b[D\x15xy\r");
        assert_eq!(ev, vec![EditorEvent::TooLong]);
        // Five characters echoed, one bell, everything else discarded.
        assert_eq!(echo, b"abcde\x07\r\n");
        assert_eq!(ed.line(), "");
        assert_eq!(ed.history().count(), 0);
        // CRLF after an overlong line still counts once, and the editor
        // is usable again.
        let (ev, _) = run(&mut ed, b"123456\r\nabc\r\n");
        assert_eq!(ev, vec![EditorEvent::TooLong, line("abc")]);
        // Exactly max_len is fine.
        let (ev, _) = run(&mut ed, b"12345\r");
        assert_eq!(ev, vec![line("12345")]);
    }

    #[test]
    fn overlong_then_ctrl_c() {
        let mut ed = LineEditor::new(3, 4);
        let (ev, _) = run(&mut ed, b"abcdef\x03ab\r");
        assert_eq!(ev, vec![EditorEvent::Interrupt, line("ab")]);
    }

    #[test]
    fn insert_in_middle_at_limit_is_too_long() {
        let mut ed = LineEditor::new(3, 4);
        let (ev, _) = run(&mut ed, b"abc\x1b[DX\r");
        assert_eq!(ev, vec![EditorEvent::TooLong]);
    }

    #[test]
    fn history_walk_and_restore() {
        let mut ed = editor();
        run(&mut ed, b"one\rtwo\rthree\r");
        assert_eq!(ed.history().collect::<Vec<_>>(), ["one", "two", "three"]);
        // Type a partial line with the cursor in the middle, then walk.
        typed(&mut ed, b"parXtial\x1b[D\x1b[D\x1b[D\x1b[D");
        assert_eq!(ed.cursor(), 4);
        let (_, echo) = run(&mut ed, b"\x1b[A");
        assert_eq!(ed.line(), "three");
        assert_eq!(echo, b"\rdom0# three\x1b[K");
        run(&mut ed, b"\x1b[A");
        assert_eq!(ed.line(), "two");
        run(&mut ed, b"\x1b[A");
        assert_eq!(ed.line(), "one");
        // At the oldest entry Up does nothing.
        let (_, echo) = run(&mut ed, b"\x1b[A");
        assert!(echo.is_empty());
        assert_eq!(ed.line(), "one");
        run(&mut ed, b"\x1b[B");
        assert_eq!(ed.line(), "two");
        run(&mut ed, b"\x1bOB");
        assert_eq!(ed.line(), "three");
        // Coming back down restores the edited line and its cursor.
        let (_, echo) = run(&mut ed, b"\x1b[B");
        assert_eq!(ed.line(), "parXtial");
        assert_eq!(ed.cursor(), 4);
        assert_eq!(echo, b"\rdom0# parXtial\x1b[K\x1b[4D");
        // Further Down does nothing.
        let (_, echo) = run(&mut ed, b"\x1b[B");
        assert!(echo.is_empty());
        let (ev, _) = run(&mut ed, b"\x7f\r");
        assert_eq!(ev, vec![line("partial")]);
    }

    #[test]
    fn history_recall_and_edit_then_enter() {
        let mut ed = editor();
        run(&mut ed, b"dmesg\rinfo\r");
        let (ev, _) = run(&mut ed, b"\x1b[A\x1b[A -c\r");
        assert_eq!(ev, vec![line("dmesg -c")]);
        assert_eq!(
            ed.history().collect::<Vec<_>>(),
            ["dmesg", "info", "dmesg -c"]
        );
        // Recalled entry is unchanged by editing.
        let (ev, _) = run(&mut ed, b"\x1b[A\x1b[A\x1b[A\r");
        assert_eq!(ev, vec![line("dmesg")]);
    }

    #[test]
    fn history_is_distinct_nonempty_and_bounded() {
        let mut ed = LineEditor::new(32, 3);
        run(&mut ed, b"a\r\r   \rb\ra\rc\rc\r");
        assert_eq!(ed.history().collect::<Vec<_>>(), ["b", "a", "c"]);
        run(&mut ed, b"d\r");
        assert_eq!(ed.history().collect::<Vec<_>>(), ["a", "c", "d"]);
        let (ev, _) = run(&mut ed, b"\x1b[A\x1b[A\x1b[A\x1b[A\r");
        assert_eq!(ev, vec![line("a")]);
    }

    #[test]
    fn history_disabled_and_empty() {
        let mut ed = LineEditor::new(32, 0);
        run(&mut ed, b"a\r");
        assert_eq!(ed.history().count(), 0);
        let (ev, echo) = run(&mut ed, b"x\x1b[A\x1b[By\r");
        assert_eq!(ev, vec![line("xy")]);
        assert_eq!(echo, b"xy\r\n");
    }

    #[test]
    fn history_browse_abandoned_by_ctrl_c() {
        let mut ed = editor();
        run(&mut ed, b"a\rb\r");
        let (ev, _) = run(&mut ed, b"new\x1b[A\x03");
        assert_eq!(ev, vec![EditorEvent::Interrupt]);
        // A fresh Down after Ctrl-C does nothing; Up starts from newest.
        let (ev, _) = run(&mut ed, b"\x1b[B\x1b[A\r");
        assert_eq!(ev, vec![line("b")]);
    }

    #[test]
    fn start_line_discards_partial_input_and_redraw() {
        let mut ed = editor();
        run(&mut ed, b"junk\x1b[");
        let mut echo = Vec::new();
        ed.start_line(&mut |b: &[u8]| echo.extend_from_slice(b));
        assert_eq!(echo, PROMPT.as_bytes());
        assert_eq!(ed.line(), "");
        // The pending escape was dropped too: 'D' is a letter.
        let (_, _) = run(&mut ed, b"abcD\x1b[D\x1b[D");
        let mut echo = Vec::new();
        ed.redraw(&mut |b: &[u8]| echo.extend_from_slice(b));
        assert_eq!(echo, b"\rdom0# abcD\x1b[K\x1b[2D");
        ed.set_prompt("> ");
        assert_eq!(ed.prompt(), "> ");
    }

    #[test]
    fn randomized_input_keeps_screen_consistent() {
        // Deterministic pseudo-random key soup: the terminal model must
        // always agree with the editor state.
        let keys: [&[u8]; 14] = [
            b"a", b"b", b" ", b"\x7f", b"\x08", b"\x1b[D", b"\x1b[C", b"\x1b[H", b"\x1b[F",
            b"\x1b[3~", b"\x15", b"\x0b", b"\x1b[A", b"\x1b[B",
        ];
        let mut ed = LineEditor::new(12, 3);
        ed.set_prompt(PROMPT);
        run(&mut ed, b"hist one\rhist two\r");
        let mut seed: u32 = 0x1234_5678;
        let mut echo = Vec::new();
        ed.start_line(&mut |b: &[u8]| echo.extend_from_slice(b));
        for _ in 0..2000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let k = keys[(seed >> 16) as usize % keys.len()];
            let ev = ed.feed_all(k, &mut |b: &[u8]| echo.extend_from_slice(b));
            assert!(ev.is_empty());
            assert!(ed.line().len() <= 12 || ed.overflow);
            if ed.overflow {
                // Leave overflow mode and start again.
                ed.start_line(&mut |_: &[u8]| {});
                echo.clear();
                echo.extend_from_slice(PROMPT.as_bytes());
                continue;
            }
            let (text, col) = screen(&echo);
            assert_eq!(text, format!("{PROMPT}{}", ed.line()).trim_end());
            assert_eq!(col, PROMPT.len() + ed.cursor());
        }
    }
}
