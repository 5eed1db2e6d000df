//! Dom0: the privileged PV kernel. It owns the console and runs the `xl`-style shell.
#![no_std]
#![no_main]

extern crate alloc;

mod kernel;

use xen_abi::start_info::StartInfo;

#[no_mangle]
fn guest_main(start_info: &'static StartInfo) -> ! {
    kernel::main(start_info)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    pvguest::console::fatal(format_args!("Dom0 panic: {info}"))
}
