//! The one-shot timer (`set_timer_op`): 20 wakeups, none before its deadline and none
//! absurdly late.
#![no_std]
#![no_main]

use pvguest::{events, hypercall, time};
use test_guests::Report;
use xen_abi::start_info::StartInfo;

const WAKEUPS: u64 = 20;
/// Later than this counts as a lost timer, even under slow emulation.
const MAX_LATE_NS: u64 = 1_000_000_000;

#[no_mangle]
fn guest_main(_si: &'static StartInfo) -> ! {
    let mut r = Report::new("tg-timer");
    let port = match events::bind_virq(xen_abi::event::VIRQ_TIMER) {
        Ok(p) => p,
        Err(rc) => {
            r.error("bind VIRQ_TIMER", format_args!("error {rc}"));
            r.finish()
        }
    };
    let _ = events::take(port);
    let (mut early, mut too_late, mut max_late) = (0u64, 0u64, 0u64);
    for i in 0..WAKEUPS {
        // 1 to 10 ms ahead.
        let deadline = time::now_ns() + (i % 10 + 1) * 1_000_000;
        let rc = hypercall::set_timer_op(deadline);
        if rc != 0 {
            r.error("set_timer_op", format_args!("error {rc}"));
            r.finish();
        }
        events::wait_until(|| events::take(port));
        let woke = time::now_ns();
        if woke < deadline {
            early += 1;
            pvguest::println!("tg-timer: wakeup {i} came {} ns early", deadline - woke);
        } else {
            let late = woke - deadline;
            max_late = max_late.max(late);
            too_late += u64::from(late > MAX_LATE_NS);
        }
    }
    r.check("no wakeup before its deadline", early == 0, format_args!("{early} of {WAKEUPS} early"));
    r.check(
        "every wakeup within 1 s of its deadline",
        too_late == 0,
        format_args!("{too_late} of {WAKEUPS} late; latest {} us after the deadline", max_late / 1000),
    );
    r.finish()
}
