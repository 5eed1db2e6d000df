//! `xenstore-ls` output: every node below a path, one per line, indented
//! by one space per level, as `name = "value"` with the value quoted the
//! way Xen's tools quote possibly-binary data.  (The terminal-width
//! truncation of the interactive tool is left out.)

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::path;
use crate::tree::Tree;

/// Xen's `sanitise_value()`: printable ASCII stays, a backslash doubles,
/// tab/newline/return become `\t` `\n` `\r`, bytes below 8 become a
/// three-digit octal escape and any other byte `\xNN`.
pub fn sanitise(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for &c in value {
        match c {
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(char::from(c)),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0..=7 => {
                let _ = write!(out, "\\{c:03o}");
            }
            _ => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out
}

/// The listing of the subtree below `root` (an existing absolute path).
/// The nodes are walked depth first in directory order.
pub(crate) fn listing(tree: &Tree, root: &str) -> String {
    let mut out = String::new();
    // (path, depth), popped in directory order.
    let mut stack: Vec<(String, usize)> = Vec::new();
    let push_children = |stack: &mut Vec<(String, usize)>, parent: &str, depth: usize| {
        if let Some(node) = tree.node(parent) {
            stack.extend(
                node.children
                    .iter()
                    .rev()
                    .map(|name| (path::child(parent, name), depth)),
            );
        }
    };
    push_children(&mut stack, root, 0);
    while let Some((node_path, depth)) = stack.pop() {
        for _ in 0..depth {
            out.push(' ');
        }
        out.push_str(path::basename(&node_path));
        match tree.node(&node_path) {
            Some(node) => {
                let _ = writeln!(out, " = \"{}\"", sanitise(&node.value));
            }
            None => out.push_str(":\n"),
        }
        push_children(&mut stack, &node_path, depth + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sanitise(b"plain text ~"), "plain text ~");
        assert_eq!(sanitise(b"a\\b"), "a\\\\b");
        assert_eq!(sanitise(b"\t\n\r"), "\\t\\n\\r");
        assert_eq!(
            sanitise(&[0, 7, 8, 0x1f, 0x7f, 0xff]),
            "\\000\\007\\x08\\x1f\\x7f\\xff"
        );
    }
}
