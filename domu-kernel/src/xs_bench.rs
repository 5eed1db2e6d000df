//! `xs-bench n=N`: the cost of a XenStore round trip from a DomU (request through the ring,
//! the daemon in Dom0, reply back), as the average of N reads of our own `name`.

use crate::power::Power;
use crate::sleep;
use pvguest::{println, time, xenstore};

pub fn run(reads: u64, power: &Power) -> ! {
    let start = time::now_ns();
    for i in 0..reads {
        if let Err(e) = xenstore::read("name") {
            println!("xs-bench: read {} of {reads} failed ({e})", i + 1);
            sleep::until_power_request(power);
        }
    }
    let elapsed = time::now_ns().saturating_sub(start);
    println!("xs-bench: {reads} reads, average {} ns per read", elapsed / reads);
    sleep::until_power_request(power)
}
