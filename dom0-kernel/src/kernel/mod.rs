//! Dom0's kernel side: start of day and the shell loop; each command family in its module.

mod bench;
mod checks;
mod hostile;
mod info;
mod selftest;
mod shell_loop;

use pvguest::println;
use xen_abi::start_info::StartInfo;

pub fn main(si: &'static StartInfo) -> ! {
    let privileged = si.flags & xen_abi::start_info::SIF_PRIVILEGED != 0;
    println!(
        "Dom0 kernel: {} pages ({} MiB), {}, boot bundle {} bytes",
        si.nr_pages,
        si.nr_pages / 256,
        if privileged { "privileged" } else { "NOT privileged" },
        si.mod_len
    );
    shell_loop::run()
}
