//! COM1: the hypervisor console. Output is synchronous; input is polled from the timer tick
//! and queued for Dom0's `console_io(read)`.

use spin::Mutex;
use uart_16550::SerialPort;

static COM1: Mutex<Option<SerialPort>> = Mutex::new(None);

pub fn init() {
    // SAFETY: 0x3f8 is COM1, a 16550 UART owned by the hypervisor alone.
    let mut port = unsafe { SerialPort::new(0x3f8) };
    port.init();
    *COM1.lock() = Some(port);
}

pub fn write_bytes(bytes: &[u8]) {
    if let Some(port) = COM1.lock().as_mut() {
        for &b in bytes {
            // Raw bytes: uart_16550's `send` rewrites 0x08/0x7f, which would break the
            // shell's line editing echoes.
            port.send_raw(b);
        }
    }
}

/// Drain every byte the UART has received into `sink`; returns how many.
pub fn poll_input(mut sink: impl FnMut(u8)) -> usize {
    let mut count = 0;
    if let Some(port) = COM1.lock().as_mut() {
        while let Ok(b) = port.try_receive() {
            sink(b);
            count += 1;
        }
    }
    count
}

/// Used by the panic path: take the port even if the lock is held by the code that panicked.
pub fn force_unlock() {
    // SAFETY: only called on the panic path on a single pCPU, where the holder will never run again.
    unsafe { COM1.force_unlock() };
}
