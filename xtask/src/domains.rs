//! QEMU scenarios for DomUs: their lifecycle driven from Dom0's shell, crash isolation, CPU
//! shares under both schedulers, wake-up latency, memory returned on destroy, bad configs,
//! and the test-guest runner. Each asserts behaviour seen through the shell.

use crate::qemu::Session;
use crate::scenario::{boot, command, poweroff, require, succeeded};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::Duration;
use test_runner::Verdict;

/// Test guests in the boot bundle (`tests/<name>.elf`), run by [`test_guests`].
pub const TEST_GUESTS: &[&str] = &["tg-hypercalls", "tg-timer", "tg-usermode", "tg-evtchn", "tg-grant"];

/// Longest a test guest may run before the runner calls it hung.
const TEST_GUEST_TIMEOUT_S: u32 = 60;

/// `free_pages` from `info`: the exact count, so one leaked page shows.
pub(crate) fn free_pages(s: &mut Session) -> Result<u64> {
    let out = command(s, "info")?;
    out.lines()
        .find_map(|l| l.strip_prefix("free_pages")?.split(':').nth(1)?.trim().parse().ok())
        .with_context(|| format!("no free_pages line in `info`:\n{out}"))
}

/// One row of `list`: (name, domid, state letters).
fn list(s: &mut Session) -> Result<Vec<(String, u16, String)>> {
    let out = command(s, "list")?;
    succeeded(s, "list", &out)?;
    Ok(out
        .lines()
        .skip_while(|l| !l.starts_with("Name"))
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 6).then(|| Some((f[0].to_string(), f[1].parse().ok()?, f[4].to_string()))).flatten()
        })
        .collect())
}

fn state_of(s: &mut Session, name: &str) -> Result<Option<String>> {
    Ok(list(s)?.into_iter().find(|(n, ..)| n == name).map(|(_, _, st)| st))
}

/// Run a command that must succeed; returns its output.
pub(crate) fn ok(s: &mut Session, cmd: &str) -> Result<String> {
    let out = command(s, cmd)?;
    succeeded(s, cmd, &out)?;
    Ok(out)
}

/// `create ...`; returns the new domid (from `Created domain NAME (domid N)`).
pub(crate) fn create(s: &mut Session, args: &str) -> Result<u16> {
    let cmd = format!("create {args}");
    let out = ok(s, &cmd)?;
    out.split("(domid ")
        .nth(1)
        .and_then(|r| r.split(')').next()?.parse().ok())
        .with_context(|| format!("`{cmd}` did not report a domid:\n{out}"))
}

/// Only Dom0 is left and every page is back.
pub(crate) fn all_clear(s: &mut Session, free_before: u64, what: &str) -> Result<()> {
    let names: Vec<String> = list(s)?.into_iter().map(|(n, ..)| n).collect();
    if names != ["Domain-0"] {
        bail!("{what}: domains left behind: {names:?}\n{}", s.tail(20));
    }
    let free_after = free_pages(s)?;
    if free_after != free_before {
        bail!("{what}: free pages {free_before} before, {free_after} after\n{}", s.tail(20));
    }
    Ok(())
}

/// Follow a domain's console until `needle` shows (at most `secs` of polling), then detach.
fn console_shows(s: &mut Session, domain: &str, needle: &str, secs: u64) -> Result<String> {
    s.send(&format!("console {domain}\r"))?;
    let seen = s.expect(needle, Duration::from_secs(secs)).with_context(|| format!("console {domain}: waiting for {needle:?}"))?;
    s.send("\x1d")?;
    s.expect("[detached]", Duration::from_secs(30))?;
    s.expect(crate::run::PROMPT, Duration::from_secs(30))?;
    Ok(seen)
}

pub fn lifecycle(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    create(&mut s, "idle")?;
    let st = state_of(&mut s, "idle")?.context("idle not listed after create")?;
    if st.contains('p') || st.contains('c') {
        bail!("a new domain runs: state {st}\n{}", s.tail(20));
    }
    ok(&mut s, "pause idle")?;
    let st = state_of(&mut s, "idle")?.unwrap_or_default();
    if !st.contains('p') {
        bail!("pause: state {st}, expected p\n{}", s.tail(20));
    }
    ok(&mut s, "unpause idle")?;
    let st = state_of(&mut s, "idle")?.unwrap_or_default();
    if st.contains('p') {
        bail!("unpause: state {st}\n{}", s.tail(20));
    }
    console_shows(&mut s, "idle", "domu: heartbeat", 30)?;
    // A polite request the guest acts on; on_poweroff = destroy.
    let out = ok(&mut s, "shutdown -w idle")?;
    require(&s, &out, "shutdown -w", "is gone")?;
    // reboot: on_reboot = restart brings it back under a new id.
    let first = create(&mut s, "spin")?;
    ok(&mut s, "reboot spin")?;
    // The guest acts on `control/shutdown` in its own time; Dom0 reports the restart above a
    // prompt whenever it happens.
    let mut again = None;
    for _ in 0..100 {
        again = list(&mut s)?.into_iter().find(|(n, ..)| n == "spin").map(|(_, id, _)| id);
        if again.is_some_and(|id| id != first) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if again.is_none() || again == Some(first) {
        bail!("reboot: spin should be back under a new id (was {first}, now {again:?})\n{}", s.tail(20));
    }
    require(&s, &s.output(), "reboot", "restarted as domid")?;
    ok(&mut s, "destroy spin")?;
    // A guest that shuts itself down after a few seconds.
    create(&mut s, "exit")?;
    let out = ok(&mut s, "wait exit 60")?;
    require(&s, &out, "wait exit", "is gone")?;
    all_clear(&mut s, free0, "lifecycle")?;
    poweroff(s)
}

pub fn crash_isolation(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    create(&mut s, "idle")?;
    for mode in ["pagefault", "ud2", "ptwrite"] {
        let name = format!("crash-{mode}");
        create(&mut s, &name)?;
        // Dom0 hears of it through VIRQ_DOM_EXC; on_crash = preserve keeps it as `c`.
        let mut crashed = false;
        for _ in 0..50 {
            if state_of(&mut s, &name)?.is_some_and(|st| st.contains('c')) {
                crashed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if !crashed {
            bail!("{name}: never showed state c\n{}", s.tail(30));
        }
    }
    let log = ok(&mut s, "dmesg")?;
    for mode in ["pagefault", "ud2", "ptwrite"] {
        if !s.output().contains(&format!("[domain crash-{mode} (")) {
            bail!("Dom0 did not report the crash of crash-{mode}\n{}", s.tail(30));
        }
    }
    require(&s, &log, "hypervisor log", "crashed")?;
    // The others carry on: the idle domain still beats, Dom0 still answers.
    console_shows(&mut s, "idle", "domu: heartbeat", 30)?;
    ok(&mut s, "selftest")?;
    for name in ["crash-pagefault", "crash-ud2", "crash-ptwrite", "idle"] {
        ok(&mut s, &format!("destroy {name}"))?;
    }
    all_clear(&mut s, free0, "crash isolation")?;
    poweroff(s)
}

/// Three spinners weighted 1:2:4 share the CPU in that ratio (±5 % of each share) over 10 s,
/// while an idle domain that wakes every 100 ms is dispatched within one 30 ms slice.
fn fairness(s: &mut Session) -> Result<String> {
    create(s, "idle name=waker extra=\"idle period=100\"")?;
    for (name, weight) in [("s256", 256), ("s512", 512), ("s1024", 1024)] {
        create(s, &format!("spin name={name} weight={weight}"))?;
    }
    // Let the schedulers settle, then measure one 10 s interval.
    ok(s, "xentop -d 2")?;
    let out = ok(s, "xentop -d 10")?;
    let percent = |name: &str| -> Result<f64> {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
            .with_context(|| format!("no xentop row for {name}:\n{out}"))
    };
    let shares = [percent("s256")?, percent("s512")?, percent("s1024")?];
    let total: f64 = shares.iter().sum();
    let mut table = String::from("weight  target  measured\n");
    let mut bad = Vec::new();
    for (i, (weight, p)) in [256, 512, 1024].iter().zip(shares).enumerate() {
        let target = f64::from(1u32 << i) / 7.0;
        let share = p / total;
        table.push_str(&format!("{weight:>6}  {:>5.1}%  {:>6.1}%\n", target * 100.0, share * 100.0));
        if (share - target).abs() > 0.05 * target {
            bad.push(weight);
        }
    }
    if !bad.is_empty() {
        bail!("shares off by more than 5 % for weights {bad:?}:\n{table}{out}");
    }
    // Wake-up latency of the 100 ms sleeper while the spinners ran.
    let log = ok(s, "console --dump waker")?;
    let worst = log
        .lines()
        .filter(|l| l.contains("domu: heartbeat"))
        .filter_map(|l| l.split(", late ").nth(1)?.split_whitespace().next()?.parse::<u64>().ok())
        .max()
        .context("no heartbeat with its lateness in the log")?;
    if worst > 30_000 {
        bail!("a waking domain waited {worst} us for the CPU (more than one 30 ms slice)\n{table}");
    }
    table.push_str(&format!("worst wake-up lateness of a 100 ms sleeper: {worst} us\n"));
    for name in ["s256", "s512", "s1024", "waker"] {
        ok(s, &format!("destroy {name}"))?;
    }
    Ok(table)
}

pub fn fairness_credit(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let table = fairness(&mut s)?;
    println!("credit:\n{table}");
    poweroff(s)
}

pub fn fairness_bvt(_image: &Path) -> Result<()> {
    let args = crate::build::BuildArgs { cmdline: "sched=bvt".into(), variant: Some("bvt".into()), ..Default::default() };
    let artifacts = crate::build::build(&args)?;
    let mut s = boot(&artifacts.bios_image)?;
    let out = ok(&mut s, "info")?;
    require(&s, &out, "sched=bvt", "xen_scheduler          : bvt")?;
    let table = fairness(&mut s)?;
    println!("bvt:\n{table}");
    poweroff(s)
}

pub fn create_destroy_cycles(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    for i in 0..50 {
        create(&mut s, "idle").with_context(|| format!("cycle {i}"))?;
        ok(&mut s, "destroy idle").with_context(|| format!("cycle {i}"))?;
    }
    all_clear(&mut s, free0, "50 create/destroy cycles")?;
    poweroff(s)
}

pub fn bad_configs(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    for (input, needle) in [
        ("create no-such-config", "not found"),
        ("create idle kernel=no-such.elf", "not found"),
        ("create --kernel configs/idle.cfg name=corrupt", "not a valid PV ELF"),
        ("create idle memory=900000", "memory"),
        ("create idle colour=blue", "unknown key"),
        ("create idle vcpus=2", "vcpu"),
        ("create idle on_crash=explode", "on_crash"),
    ] {
        let out = command(&mut s, input)?;
        let errors: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("error:")).collect();
        if errors.len() != 1 || !errors[0].contains(needle) {
            bail!("`{input}`: expected one error line mentioning {needle:?}, got:\n{out}\n{}", s.tail(20));
        }
        all_clear(&mut s, free0, input)?;
    }
    poweroff(s)
}

/// The test-guest runner: every test guest boots as a DomU; its verdict is its last line.
pub fn test_guests(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    let mut verdicts = Vec::new();
    let mut report = String::new();
    for guest in TEST_GUESTS {
        let domid = create(&mut s, &format!("--kernel tests/{guest}.elf name={guest} memory=16"))?;
        // A guest that never finishes is destroyed and counts as crashed. One that finished
        // before `wait` started is already gone (on_poweroff = destroy).
        let waited = command(&mut s, &format!("wait {guest} {TEST_GUEST_TIMEOUT_S}"))?;
        if !waited.contains("is gone") && !waited.contains("no domain named") {
            let _ = command(&mut s, &format!("destroy {guest}"));
        }
        let log = ok(&mut s, "dmesg")?;
        let lines = test_runner::domain_lines(&log, domid);
        let verdict = test_runner::verdict_of(lines.iter().copied());
        report.push_str(&format!("{guest:<16} {verdict}\n"));
        if !verdict.passed() {
            report.push_str(&format!("  last lines: {:?}\n", &lines[lines.len().saturating_sub(5)..]));
        }
        verdicts.push(verdict);
    }
    let overall = test_runner::overall(verdicts);
    println!("test guests:\n{report}overall: {overall}");
    if overall > Verdict::Skip {
        bail!("test guests: {overall}\n{report}");
    }
    all_clear(&mut s, free0, "test guests")?;
    poweroff(s)
}
