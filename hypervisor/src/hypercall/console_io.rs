//! `console_io`: the hypervisor console as seen by guests. Dom0 writes straight to the
//! serial line and reads what is typed there; other domains (when they exist) may write only
//! printable text and newlines, and may not read.

use super::Args;
use crate::arch::x86_64::serial;
use crate::console::{INPUT, LOG_RING};

/// `guest_console=serial`: DomU console lines also go to the serial line.
pub static GUEST_TO_SERIAL: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
use crate::hv::Hypervisor;
use crate::mm::Errno;
use crate::regs::TrapFrame;
use xen_abi::console::{CONSOLEIO_READ, CONSOLEIO_WRITE};

/// Bytes handled per call; a longer write returns the count done (guests loop, as on Xen).
const MAX_CHUNK: usize = 16 * 1024;

/// `console_io(cmd, count, buffer)`.
pub fn console_io(hv: &mut Hypervisor, _f: &mut TrapFrame, a: Args) -> Result<i64, Errno> {
    let [cmd, count, buffer, ..] = a.0;
    let count = (count as u32) as usize; // Xen takes an unsigned int
    match cmd as u32 {
        CONSOLEIO_WRITE => {
            let n = count.min(MAX_CHUNK);
            let mut buf = alloc::vec![0u8; n];
            if let Err(e) = hv.copy_from_guest(buffer, &mut buf) {
                log::warn!("console_io write from {buffer:#x} len {n}: {e:?}");
                return Err(e);
            }
            let dom = hv.current_domain();
            if dom.privileged {
                serial::write_bytes(&buf);
                return Ok(n as i64);
            }
            // Other domains: printable text only, as `(dN) ` lines in the log ring (where
            // Dom0's `dmesg` and `console NAME` read them); on the serial line too with
            // `guest_console=serial`.
            buf.retain(|&b| b == b'\n' || (0x20..0x7f).contains(&b));
            let to_serial = GUEST_TO_SERIAL.load(core::sync::atomic::Ordering::Relaxed);
            crate::console::guest_lines(dom.id, &mut dom.console_pending, &buf, |line| {
                LOG_RING.lock().push(line);
                if to_serial {
                    serial::write_bytes(line);
                }
            });
            Ok(n as i64)
        }
        CONSOLEIO_READ => {
            if !hv.current_domain().privileged {
                return Err(Errno::EPERM);
            }
            let mut buf = alloc::vec::Vec::new();
            {
                let mut input = INPUT.lock();
                let n = count.min(input.len());
                buf.extend(input.drain(..n));
            }
            if let Err(e) = hv.copy_to_guest(buffer, &buf) {
                // Put the bytes back: a bad buffer loses nothing the user typed.
                let mut input = INPUT.lock();
                for &b in buf.iter().rev() {
                    input.push_front(b);
                }
                return Err(e);
            }
            Ok(buf.len() as i64)
        }
        _ => Err(Errno::ENOSYS),
    }
}
