//! `echo`: every line typed on the PV console (its `in` ring, fed by Dom0's `console`
//! command) comes back as `echo: <line>`, until a power request.

use crate::power::Power;
use crate::sleep::{self, Wake};
use domu_kernel::lines::LineAssembler;
use pvguest::{console, events, println};

pub fn run(power: &Power) -> ! {
    let Some(port) = console::input_port() else {
        println!("domu: echo needs a PV console ring; idling");
        sleep::until_power_request(power);
    };
    println!("echo: ready, type a line");
    let mut lines = LineAssembler::new();
    let mut buf = [0u8; 128];
    loop {
        let woke_for_input = sleep::sleep_until_or(u64::MAX, power, || {
            events::take(port);
            console::input_available()
        });
        if let Some(Wake::Power(request)) = woke_for_input {
            power.act(request);
        }
        loop {
            let n = console::read_input(&mut buf);
            if n == 0 {
                break;
            }
            lines.feed(&buf[..n], |line| println!("echo: {line}"));
        }
    }
}
