//! QEMU scenarios: the real system booted and driven through its serial console. Each
//! scenario asserts behaviour (what the shell prints, how QEMU exits), never timings.

use crate::{domains, interdomain};
use crate::qemu::{Machine, Session};
use crate::run::{command_failed, BOOT_TIMEOUT, COMMAND_TIMEOUT, PROMPT};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Scenario {
    pub name: &'static str,
    pub run: fn(&Path) -> Result<()>,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario { name: "boot to the Dom0 prompt, help/info/dmesg/uptime", run: shell_basics },
    Scenario { name: "selftest: every PV CPU-model check passes", run: selftest },
    Scenario { name: "hostile Dom0: invalid hypercalls get errnos, system keeps running", run: hostile },
    Scenario { name: "bad shell input: one error line each, prompt returns", run: bad_input },
    Scenario { name: "poweroff ends QEMU with status 0, reboot resets", run: power },
    Scenario { name: "crash paths: hypervisor fault and unhandled Dom0 fault fail the run", run: crash_paths },
    Scenario { name: "domu lifecycle: create/list/pause/unpause/console/shutdown/reboot/destroy", run: domains::lifecycle },
    Scenario { name: "domu crashes: each mode isolated, Dom0 told, others carry on", run: domains::crash_isolation },
    Scenario { name: "domu fairness under credit: 1:2:4 shares, wake-up within a slice", run: domains::fairness_credit },
    Scenario { name: "domu fairness under bvt: 1:2:4 shares, wake-up within a slice", run: domains::fairness_bvt },
    Scenario { name: "domu 50 create/destroy cycles: free memory unchanged", run: domains::create_destroy_cycles },
    Scenario { name: "domu bad configs: one error line each, nothing changed", run: domains::bad_configs },
    Scenario { name: "test guests: every test guest's verdict", run: domains::test_guests },
    Scenario { name: "vping: two DomUs ping-pong 10,000 events, grant map/write/verify/unmap/revoke", run: interdomain::vping },
    Scenario { name: "xenstore: permission denial, transactions, watches, hostile messages, shell", run: interdomain::xenstore },
    Scenario { name: "pv console: scrollback, typed line echoed, shutdown via control/shutdown", run: interdomain::console },
    Scenario { name: "hostile DomUs: garbage ring indices; others keep running, nothing leaks", run: interdomain::hostile },
];

pub(crate) fn boot(image: &Path) -> Result<Session> {
    let mut machine = Machine::new(image.to_path_buf());
    machine.no_reboot = true;
    let mut s = Session::start(&machine, false)?;
    s.expect(PROMPT, BOOT_TIMEOUT).context("booting to the Dom0 prompt")?;
    Ok(s)
}

/// Run one command and return what it printed before the next prompt.
///
/// The shell may print a line and a fresh prompt on its own (a domain shut down, crashed or
/// was restarted), so each command is preceded by an `echo` marker: waiting for the marker's
/// output consumes any extra prompt, and the command's output is then exactly its own. The
/// marker is typed with several spaces and printed with one, so the echo of the typed line
/// cannot match it.
pub(crate) fn command(s: &mut Session, cmd: &str) -> Result<String> {
    static MARK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = MARK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    s.send(&format!("echo sync    {n}.\r"))?;
    s.expect(&format!("sync {n}."), COMMAND_TIMEOUT).context("resynchronising with the shell")?;
    s.expect(PROMPT, COMMAND_TIMEOUT).context("resynchronising with the shell")?;
    s.send(&format!("{cmd}\r"))?;
    s.expect(PROMPT, COMMAND_TIMEOUT).with_context(|| format!("running `{cmd}`"))
}

pub(crate) fn require(s: &Session, output: &str, what: &str, needle: &str) -> Result<()> {
    if !output.contains(needle) {
        bail!("{what}: expected {needle:?} in:\n{output}\n{}", s.tail(20));
    }
    Ok(())
}

pub(crate) fn succeeded(s: &Session, cmd: &str, output: &str) -> Result<()> {
    if command_failed(output) {
        bail!("`{cmd}` reported a failure:\n{output}\n{}", s.tail(20));
    }
    Ok(())
}

pub(crate) fn poweroff(mut s: Session) -> Result<()> {
    s.send("poweroff\r")?;
    let status = s.wait_exit(COMMAND_TIMEOUT)?;
    if status != 0 {
        bail!("poweroff: QEMU exit status {status}, expected 0\n{}", s.tail(20));
    }
    Ok(())
}

fn shell_basics(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    for (cmd, needles) in [
        ("help", &["selftest", "poweroff", "dmesg"][..]),
        ("info", &["xen_version", "4.19-rs", "nr_cpus", "total_memory", "free_memory", "xen_caps", "xen-3.0-x86_64", "xen_scheduler"]),
        ("dmesg", &["entering Dom0", "Dom0:"]),
        ("uptime", &["up "]),
        ("version", &["4.19"]),
    ] {
        let out = command(&mut s, cmd)?;
        succeeded(&s, cmd, &out)?;
        for n in needles {
            require(&s, &out, cmd, n)?;
        }
    }
    // Free memory reported twice must agree (nothing leaks while idle).
    let free = |out: &str| out.lines().find(|l| l.starts_with("free_memory")).map(str::to_string);
    let a = command(&mut s, "info")?;
    let b = command(&mut s, "info")?;
    if free(&a) != free(&b) {
        bail!("free memory changed between two `info` runs: {:?} vs {:?}", free(&a), free(&b));
    }
    poweroff(s)
}

/// `"name: N passed, M failed"` → (N, M).
fn summary(output: &str, name: &str) -> Option<(u32, u32)> {
    let line = output.lines().find(|l| l.trim_start().starts_with(&format!("{name}:")))?;
    let rest = line.split_once(':')?.1;
    let mut nums = rest.split(',').map(|p| p.split_whitespace().next().and_then(|n| n.parse().ok()));
    Some((nums.next()??, nums.next()??))
}

fn checks_pass(s: &Session, name: &str, out: &str, min_passed: u32) -> Result<()> {
    match summary(out, name) {
        Some((passed, 0)) if passed >= min_passed && !command_failed(out) => Ok(()),
        other => bail!("{name}: summary {other:?} (want >= {min_passed} passed, 0 failed):\n{out}\n{}", s.tail(10)),
    }
}

fn selftest(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let out = command(&mut s, "selftest")?;
    checks_pass(&s, "selftest", &out, 10)?;
    for check in ["page fault", "general protection", "breakpoint", "divide error", "timer event arrives on time", "update_va_mapping"] {
        let line = out.lines().find(|l| l.contains(check)).with_context(|| format!("no selftest line for {check:?}\n{out}"))?;
        if !line.trim_start().starts_with("PASS") {
            bail!("selftest check {check:?} did not pass: {line}");
        }
    }
    // The same checks again: handlers, timers and mappings must be reusable.
    let again = command(&mut s, "selftest")?;
    checks_pass(&s, "selftest", &again, 10)?;
    poweroff(s)
}

fn hostile(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let before = command(&mut s, "info")?;
    let out = command(&mut s, "hostile")?;
    checks_pass(&s, "hostile", &out, 20)?;
    for (check, errno) in [
        ("unmapped buffer", "-EFAULT"),
        ("writable mapping of our own L4", "-EBUSY"),
        ("writable mapping of a hypervisor frame", "-EBUSY"),
        ("unknown hypercall", "-ENOSYS"),
        ("hypervisor L4 slot", "-EINVAL"),
    ] {
        let line = out.lines().find(|l| l.contains(check)).with_context(|| format!("no hostile line for {check:?}\n{out}"))?;
        require(&s, line, check, errno)?;
    }
    // Still alive, and nothing leaked: the same free memory as before the attack.
    let after = command(&mut s, "info")?;
    let free = |out: &str| out.lines().find(|l| l.starts_with("free_memory")).map(str::to_string);
    if free(&before).is_none() || free(&before) != free(&after) {
        bail!("free memory before/after hostile: {:?} vs {:?}", free(&before), free(&after));
    }
    let again = command(&mut s, "selftest")?;
    checks_pass(&s, "selftest", &again, 10)?;
    poweroff(s)
}

fn bad_input(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    for (input, needle) in [
        ("frobnicate", "unknown command 'frobnicate'"),
        ("uptime now", "takes no arguments"),
        ("dmesg -x", "unknown option"),
        ("help nosuch", "nosuch"),
        ("echo \"unterminated", "error:"),
    ] {
        let out = command(&mut s, input)?;
        let errors: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("error:")).collect();
        if errors.len() != 1 || !errors[0].contains(needle) {
            bail!("`{input}`: expected one error line mentioning {needle:?}, got:\n{out}");
        }
    }
    let long = "x".repeat(400);
    let out = command(&mut s, &long)?;
    require(&s, &out, "over-long line", "line too long")?;
    // Line editing: type, backspace over a typo, and run the result.
    let out = command(&mut s, "ecgo\x7f\x7f\x7fcho edited")?;
    require(&s, &out, "line editing", "edited")?;
    let out = command(&mut s, "echo still alive")?;
    require(&s, &out, "after bad input", "still alive")?;
    poweroff(s)
}

fn power(image: &Path) -> Result<()> {
    let started = Instant::now();
    let s = boot(image)?;
    poweroff(s)?;
    let mut s = boot(image)?;
    s.send("reboot\r")?;
    s.expect("resetting the machine", COMMAND_TIMEOUT)?;
    // With -no-reboot QEMU exits on the reset instead of restarting.
    let status = s.wait_exit(Duration::from_secs(30))?;
    if status != 0 {
        bail!("reboot: QEMU exit status {status}\n{}", s.tail(10));
    }
    let _ = started;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn parses_check_summaries() {
        assert_eq!(summary("PASS a\nselftest: 12 passed, 0 failed\n", "selftest"), Some((12, 0)));
        assert_eq!(summary("hostile: 3 passed, 2 failed", "hostile"), Some((3, 2)));
        assert_eq!(summary("nothing", "selftest"), None);
    }
}

/// Boot a variant image whose command line makes something fail on purpose; return the exit
/// status and the console.
fn crash_run(variant: &str, cmdline: &str, wait_for: &str) -> Result<(i32, String)> {
    let args = crate::build::BuildArgs { cmdline: cmdline.into(), variant: Some(variant.into()), ..Default::default() };
    let artifacts = crate::build::build(&args)?;
    let mut machine = Machine::new(artifacts.bios_image);
    machine.no_reboot = true;
    let mut s = Session::start(&machine, false)?;
    s.expect(wait_for, BOOT_TIMEOUT)?;
    let status = s.wait_exit(Duration::from_secs(30))?;
    Ok((status, s.output()))
}

fn crash_paths(_image: &Path) -> Result<()> {
    let (status, out) = crash_run("crash-hv", "crash_test=hypervisor", "HYPERVISOR PANIC")?;
    for needle in ["#PF page fault", "rip ", "backtrace"] {
        if !out.contains(needle) {
            bail!("hypervisor fault report lacks {needle:?}:\n{out}");
        }
    }
    if status == 0 {
        bail!("a hypervisor fault must fail the run, QEMU exited 0");
    }
    let (status, out) = crash_run("crash-dom0", "dom0_args=crash_test=unhandled", "Dom0 crashed")?;
    for needle in ["unhandled exception 6", "rip "] {
        if !out.contains(needle) {
            bail!("Dom0 crash report lacks {needle:?}:\n{out}");
        }
    }
    if status == 0 {
        bail!("a Dom0 crash must fail the run, QEMU exited 0");
    }
    Ok(())
}
