//! QEMU scenarios for inter-domain communication: two DomUs talking over the `vping` split
//! device (XenBus handshake, a granted ring page, event channels), grants mapped, written,
//! unmapped and revoked, XenStore permissions and transactions from a DomU and from the Dom0
//! shell, the PV console in both directions, the polite shutdown through `control/shutdown`,
//! and hostile DomUs. Each asserts what the guests and the shell print, never timings.

use crate::domains::{all_clear, create, free_pages, ok};
use crate::qemu::Session;
use crate::scenario::{boot, command, poweroff, require};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// Round trips of the ping-pong scenario: each is one event each way.
const PING_PONG_ROUND_TRIPS: u64 = 10_000;

/// What the console back-end holds for `who` (a name, or the id of a destroyed domain).
fn dump(s: &mut Session, who: &str) -> Result<String> {
    ok(s, &format!("console --dump {who}"))
}

/// Polls `who`'s console buffer until it shows `needle`; returns the whole buffer.
pub(crate) fn dump_until(s: &mut Session, who: &str, needle: &str, secs: u64) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let out = dump(s, who)?;
        if out.contains(needle) {
            return Ok(out);
        }
        if Instant::now() >= deadline {
            bail!("{who}'s console never showed {needle:?} within {secs} s; it holds:\n{out}\n{}", s.tail(20));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The number right after `prefix` on the first line of `text` that contains it.
pub(crate) fn figure(text: &str, prefix: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.contains(prefix))?;
    let rest = &line[line.find(prefix)? + prefix.len()..];
    rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The number just before `suffix` on the first line of `text` that contains it.
pub(crate) fn figure_before(text: &str, suffix: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.contains(suffix))?;
    let head = line[..line.find(suffix)?].trim_end();
    head.rsplit(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Starts a backend and a frontend DomU of the `vping` device and connects them.
pub(crate) fn vping_pair(s: &mut Session, front_args: &str) -> Result<(u16, u16)> {
    let back = create(s, "idle name=back \"extra=vping-back\"")?;
    let front = create(s, &format!("idle name=front \"extra=vping-front {front_args}\""))?;
    ok(s, "vping-attach front back")?;
    Ok((back, front))
}

/// Two DomUs ping-pong 10,000 events over the `vping` device, then the grant test: the
/// frontend grants a page, the backend maps it and writes a pattern, the frontend verifies it,
/// cannot revoke it while mapped, the backend unmaps, the frontend revokes, and mapping the
/// revoked or a never-made grant fails. Everything is given back on destroy.
pub fn vping(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    vping_pair(&mut s, &format!("count={PING_PONG_ROUND_TRIPS}"))?;
    let front = dump_until(&mut s, "front", "vping-front: done", 180)?;
    let trips = figure_before(&front, "round trips").context("no round-trip count")?;
    let received = figure_before(&front, "events received").context("no event count")?;
    if trips != PING_PONG_ROUND_TRIPS || received < PING_PONG_ROUND_TRIPS {
        bail!("frontend: {trips} round trips with {received} events, expected {PING_PONG_ROUND_TRIPS} of each:\n{front}");
    }
    for needle in [
        "backend wrote the pattern into our granted page",
        "revoke while mapped refused",
        "grant revoked after unmap",
        "map of revoked grant refused",
        "map of unknown grant refused",
        "done, 0 failures",
    ] {
        require(&s, &front, "vping frontend", needle)?;
    }
    let back = dump_until(&mut s, "back", "requests served", 30)?;
    let served = figure_before(&back, "requests served").context("no served count")?;
    let back_events = figure_before(&back, "events received").context("no backend event count")?;
    if served < PING_PONG_ROUND_TRIPS || back_events < PING_PONG_ROUND_TRIPS {
        bail!("backend: {served} requests and {back_events} events, expected at least {PING_PONG_ROUND_TRIPS}:\n{back}");
    }
    println!("vping: {trips} round trips; frontend saw {received} events, backend {back_events}");
    ok(&mut s, "destroy front")?;
    ok(&mut s, "destroy back")?;
    all_clear(&mut s, free0, "vping")?;
    poweroff(s)
}

/// XenStore from both sides: a DomU is refused another domain's keys, uses a transaction and
/// a watch, and its malformed and oversized messages are answered with errors; the Dom0 shell
/// lists, writes, reads and removes keys; a destroyed domain's directory goes away.
pub fn xenstore(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    let idle = create(&mut s, "idle")?;
    create(&mut s, &format!("idle name=probe \"extra=xs-probe peer={idle}\""))?;
    let probe = dump_until(&mut s, "probe", "xs-probe: done", 60)?;
    require(&s, &probe, "xs-probe", &format!("read /local/domain/{idle}/name denied (EACCES)"))?;
    require(&s, &probe, "xs-probe", " 0 failed")?;

    let ls = ok(&mut s, &format!("xenstore-ls /local/domain/{idle}"))?;
    require(&s, &ls, "xenstore-ls", "name = \"idle\"")?;
    let key = format!("/local/domain/{idle}/data/scenario");
    ok(&mut s, &format!("xenstore-write {key} \"hello store\""))?;
    let read = ok(&mut s, &format!("xenstore-read {key}"))?;
    require(&s, &read, "xenstore-read", "hello store")?;
    ok(&mut s, &format!("xenstore-rm {key}"))?;
    let gone = command(&mut s, &format!("xenstore-read {key}"))?;
    require(&s, &gone, "xenstore-read after rm", "ENOENT")?;
    let bad = command(&mut s, "xenstore-write relative//path x")?;
    require(&s, &bad, "xenstore-write of a bad path", "error:")?;

    ok(&mut s, "destroy probe")?;
    ok(&mut s, "destroy idle")?;
    let ls = ok(&mut s, "xenstore-ls /local/domain")?;
    if ls.lines().any(|l| l.trim_start().starts_with(&format!("{idle} ="))) {
        bail!("domain {idle}'s XenStore directory outlived it:\n{ls}");
    }
    all_clear(&mut s, free0, "xenstore")?;
    poweroff(s)
}

/// The PV console both ways: attach, see the scrollback, type a line, see the DomU echo it,
/// detach; then `shutdown -w` through `control/shutdown`, which the guest reports.
pub fn console(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    let id = create(&mut s, "idle name=echo extra=echo")?;
    s.send("console echo\r")?;
    s.expect("domu: domid", Duration::from_secs(30)).context("the scrollback shows the banner")?;
    // Give the guest time to start reading input after its banner.
    s.expect("echo:", Duration::from_secs(30)).context("the echo workload announces itself")?;
    s.send("hello ring\r")?;
    s.expect("echo: hello ring", Duration::from_secs(30)).context("the DomU echoes the typed line")?;
    s.send("\x1d")?;
    s.expect("[detached]", Duration::from_secs(30))?;
    s.expect(crate::run::PROMPT, Duration::from_secs(30))?;
    let out = ok(&mut s, "shutdown -w echo")?;
    require(&s, &out, "shutdown -w", "gone")?;
    let last = dump(&mut s, &id.to_string())?;
    require(&s, &last, "the console of the shut-down domain", "shutdown requested (poweroff)")?;
    all_clear(&mut s, free0, "console")?;
    poweroff(s)
}

/// Hostile DomUs: a frontend writes garbage ring indices (the backend drops it and carries
/// on), while an unrelated DomU keeps its heartbeat and Dom0 keeps answering; afterwards no
/// page is missing. (Bad ports and bad grants are the test guests tg-evtchn and tg-grant;
/// oversized and malformed XenStore messages are part of `xs-probe`.)
pub fn hostile(image: &Path) -> Result<()> {
    let mut s = boot(image)?;
    let free0 = free_pages(&mut s)?;
    create(&mut s, "idle name=witness")?;
    vping_pair(&mut s, "count=100 hostile")?;
    let front = dump_until(&mut s, "front", "hostile ring indices sent", 60)?;
    let back = dump_until(&mut s, "back", "sent garbage ring indices", 30)?;
    let beats_before = dump(&mut s, "witness")?.matches("domu: heartbeat").count();
    std::thread::sleep(Duration::from_secs(3));
    let beats_after = dump_until(&mut s, "witness", "domu: heartbeat", 10)?.matches("domu: heartbeat").count();
    if beats_after <= beats_before {
        bail!("the witness DomU stopped beating ({beats_before} then {beats_after})\nfront:\n{front}\nback:\n{back}");
    }
    let ls = ok(&mut s, "xenstore-ls /local/domain")?;
    require(&s, &ls, "xenstore after the hostile run", "name = \"witness\"")?;
    for name in ["front", "back", "witness"] {
        ok(&mut s, &format!("destroy {name}"))?;
    }
    all_clear(&mut s, free0, "hostile DomUs")?;
    poweroff(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_from_guest_lines() {
        let text = "x\nvping-front: 10000 round trips, 10001 events received, 10000 notifications sent\n";
        assert_eq!(figure_before(text, "round trips"), Some(10000));
        assert_eq!(figure_before(text, "events received"), Some(10001));
        assert_eq!(figure(text, "vping-front:"), Some(10000));
        assert_eq!(figure_before(text, "missing"), None);
    }
}
