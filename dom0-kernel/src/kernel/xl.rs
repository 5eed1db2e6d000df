//! The `xl`-style domain commands: `list`, `create`, `destroy`, `shutdown`, `reboot DOMAIN`,
//! `pause`, `unpause`, `wait`, `console`, `vcpu-list`, `sched-credit`; and acting on domain
//! shutdowns (`on_poweroff` / `on_reboot` / `on_crash`) when VIRQ_DOM_EXC fires and around
//! every command.
//!
//! The decisions (configuration, names, which action for which shutdown, table layout) live
//! in the host-tested `dom0_kernel::toolstack`; this module does the hypercalls through
//! [`xc`] and the domain builder, and the waiting. Every domain it creates is connected to
//! Dom0's [`services`] (XenStore, console back-end) before it first runs, and disconnected
//! before it is destroyed.

use super::builder::{self, BuildRequest};
use super::info::errname;
use super::services;
use super::shell_loop::CmdResult;
use super::xc::{self, DomId, XcResult};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use dom0_kernel::toolstack::config::{self, ConfigError, DomainConfig, OnEvent, Origin};
use dom0_kernel::toolstack::console::Crlf;
use dom0_kernel::toolstack::xs_domain::{DomainEntries, Ring};
use dom0_kernel::toolstack::registry::{self, Decision, Managed, Outcome, Phase, Registry};
use dom0_kernel::toolstack::{table, top};
use pvguest::{events, hypercall, print, println, time};
use spin::Mutex;
use xen_abi::domctl::{DomctlGetdomaininfo, XEN_DOMINF_DYING, XEN_DOMINF_SHUTDOWN, XEN_INVALID_MAX_VCPU_ID};
use xen_abi::errno::{EEXIST, ERESTART};
use xen_abi::event::{EvtchnClose, EvtchnStatus, EVTCHNOP_CLOSE, EVTCHNOP_STATUS, EVTCHNSTAT_VIRQ, VIRQ_TIMER};
use xen_image::Bundle;

const NS_PER_SEC: u64 = 1_000_000_000;
/// How often `wait` looks again without an event.
const WAIT_TICK_NS: u64 = NS_PER_SEC;
/// How often `console` looks whether its domain still exists without an event.
const CONSOLE_TICK_NS: u64 = 100_000_000;
/// Typed bytes `console` holds for a domain whose input ring is full; more are dropped.
const CONSOLE_INPUT_BACKLOG: usize = 4096;
const CTRL_C: u8 = 0x03;
/// Ctrl-], the detach key of `xl console`.
const CTRL_RBRACKET: u8 = 0x1d;
const NO_PORT: u32 = u32::MAX;

static REGISTRY: Mutex<Registry> = Mutex::new(Registry::new());
static CONSOLE_PORT: AtomicU32 = AtomicU32::new(NO_PORT);
static DOM_EXC_PORT: AtomicU32 = AtomicU32::new(NO_PORT);
static CREATED: AtomicU64 = AtomicU64::new(0);

/// The shell's event ports: VIRQ_CONSOLE (input) and, if it could be bound, VIRQ_DOM_EXC.
pub fn set_ports(console: u32, dom_exc: Option<u32>) {
    CONSOLE_PORT.store(console, Ordering::Relaxed);
    DOM_EXC_PORT.store(dom_exc.unwrap_or(NO_PORT), Ordering::Relaxed);
}

fn dom_exc_port() -> Option<u32> {
    Some(DOM_EXC_PORT.load(Ordering::Relaxed)).filter(|&p| p != NO_PORT)
}

// ---------------------------------------------------------------------------------------------
// Shutdown handling.

/// Looks for newly shut-down domains and carries out their `on_*` actions. Returns one line
/// per event (`[domain spin1 (3) crashed: preserved]`) for the caller to print.
pub fn handle_shutdowns() -> Vec<String> {
    let live = xc::list_domains();
    let ids: Vec<DomId> = live.iter().map(|d| d.domain).collect();
    services::release_gone(&ids);
    let decisions = REGISTRY.lock().sync(&live, time::now_ns());
    decisions.iter().map(|d| registry::event_line(d, &carry_out(d))).collect()
}

/// [`handle_shutdowns`], printing the lines.
pub fn report_shutdowns() {
    for line in handle_shutdowns() {
        println!("{line}");
    }
}

fn carry_out(d: &Decision) -> Outcome {
    match d.action {
        OnEvent::Preserve => Outcome::Preserved,
        OnEvent::Destroy => match destroy_domain(d.domid) {
            Ok(()) => Outcome::Destroyed,
            Err(e) => Outcome::DestroyFailed(errname(e)),
        },
        OnEvent::Restart => {
            if let Err(e) = destroy_domain(d.domid) {
                return Outcome::DestroyFailed(errname(e));
            }
            match start_domain(&d.config, d.quick_restarts) {
                Ok(domid) => Outcome::Restarted(domid),
                Err(e) => Outcome::RestartFailed(e),
            }
        }
    }
}

/// Disconnects the domain from Dom0's services (taking its last console output), then
/// `destroydomain`, repeated while the hypervisor asks to be called again (`-ERESTART`);
/// the domain's name is free afterwards.
fn destroy_domain(domid: DomId) -> XcResult<()> {
    services::release(domid);
    let mut rc = xc::destroy(domid);
    for _ in 0..10_000 {
        if rc != Err(-ERESTART) {
            break;
        }
        rc = xc::destroy(domid);
    }
    if rc.is_ok() {
        REGISTRY.lock().mark_destroyed(domid);
    }
    rc
}

// ---------------------------------------------------------------------------------------------
// The boot bundle.

fn bundle() -> Result<Bundle<'static>, String> {
    static BUNDLE: spin::Once<Result<Bundle<'static>, String>> = spin::Once::new();
    BUNDLE
        .call_once(|| {
            let si = pvguest::start_info();
            if si.mod_start == 0 || si.mod_len == 0 {
                return Err("there is no boot bundle".into());
            }
            // SAFETY: the hypervisor's Dom0 builder mapped the boot bundle (start_info's
            // module) at mod_start for mod_len bytes; Dom0 never unmaps or writes it.
            let bytes = unsafe { core::slice::from_raw_parts(si.mod_start as *const u8, si.mod_len as usize) };
            Bundle::parse(bytes).map_err(|e| e.to_string())
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Looking domains up.

fn resolve(arg: &str) -> Result<DomId, String> {
    let ids: Vec<DomId> = xc::list_domains().iter().map(|d| d.domain).collect();
    REGISTRY.lock().resolve(arg, &ids)
}

/// A domain other than Dom0; `dom0_error` says why Dom0 is refused.
pub(super) fn resolve_domu(arg: &str, dom0_error: &str) -> Result<DomId, String> {
    match resolve(arg)? {
        0 => Err(dom0_error.into()),
        id => Ok(id),
    }
}

pub(super) fn describe(domid: DomId) -> String {
    REGISTRY.lock().describe(domid)
}

fn failed(what: &str, domid: DomId, e: i64) -> String {
    format!("cannot {what} {}: {}", describe(domid), errname(e))
}

// ---------------------------------------------------------------------------------------------
// Creating.

/// Builds, configures and unpauses a domain from `cfg`, and records it. Leaves nothing
/// behind on failure.
fn start_domain(cfg: &DomainConfig, quick_restarts: u32) -> Result<DomId, String> {
    REGISTRY.lock().check_name_free(&cfg.name)?;
    let bundle = bundle()?;
    let kernel = bundle
        .file(&cfg.kernel)
        .ok_or_else(|| format!("kernel {} not found in the boot bundle", cfg.kernel))?;
    let handle = registry::make_handle(time::now_ns(), CREATED.fetch_add(1, Ordering::Relaxed));
    let req = BuildRequest { kernel, memory_mib: cfg.memory_mib, cmdline: &cfg.cmdline, handle };
    let built = builder::build(&req).map_err(|e| format!("cannot build domain {}: {e}", cfg.name))?;
    let domid = built.domid;
    let entries = DomainEntries {
        domid,
        name: &cfg.name,
        memory_kib: built.nr_pages * 4,
        store: Ring { mfn: built.store.mfn, port: built.store.port },
        console: Ring { mfn: built.console.mfn, port: built.console.port },
    };
    let finish = services::introduce(&entries)
        .map_err(|e| format!("cannot connect {} (domid {domid}) to Dom0's services: {e}", cfg.name))
        .and_then(|()| {
            xc::sched_credit_set(domid, Some(cfg.weight), Some(cfg.cap)).map_err(|e| {
                format!("cannot set weight {} and cap {} of {} (domid {domid}): {}", cfg.weight, cfg.cap, cfg.name, errname(e))
            })
        })
        .and_then(|()| xc::unpause(domid).map_err(|e| format!("cannot unpause {} (domid {domid}): {}", cfg.name, errname(e))));
    if let Err(e) = finish {
        let _ = destroy_domain(domid);
        return Err(e);
    }
    REGISTRY.lock().add(Managed {
        domid,
        name: cfg.name.clone(),
        config: cfg.clone(),
        phase: Phase::Running,
        created_ns: time::now_ns(),
        quick_restarts,
    });
    Ok(domid)
}

fn config_error(path: &str, e: ConfigError) -> String {
    match e.origin {
        Some(Origin::Override(_)) => e.to_string(),
        _ => format!("{path}: {e}"),
    }
}

/// `create [-c] [--kernel KERNEL] CONFIG [KEY=VALUE...]`.
pub fn create(config_name: Option<&str>, kernel: Option<&str>, overrides: &[String], attach: bool) -> CmdResult {
    let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
    let cfg = match (kernel, config_name) {
        (Some(k), _) => DomainConfig::from_overrides(k, &overrides).map_err(|e| e.to_string())?,
        (None, Some(name)) => {
            let path = config::config_path(name);
            let bytes = bundle()?.file(&path).ok_or_else(|| format!("config {path} not found in the boot bundle"))?;
            let text = core::str::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8 text"))?;
            DomainConfig::parse(text, &overrides).map_err(|e| config_error(&path, e))?
        }
        (None, None) => return Err("create: missing CONFIG".into()),
    };
    let domid = start_domain(&cfg, 0)?;
    println!("Created domain {} (domid {domid}), {} MiB", cfg.name, cfg.memory_mib);
    if attach {
        return follow_console(domid);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Simple actions.

pub fn destroy(arg: &str) -> CmdResult {
    let domid = resolve_domu(arg, "cannot destroy Domain-0; 'poweroff' stops the whole machine")?;
    let name = describe(domid);
    destroy_domain(domid).map_err(|e| format!("cannot destroy {name}: {}", errname(e)))?;
    println!("Destroyed domain {name}");
    Ok(())
}

pub fn pause(arg: &str) -> CmdResult {
    let domid = resolve_domu(arg, "cannot pause Domain-0: it runs this shell")?;
    xc::pause(domid).map_err(|e| failed("pause", domid, e))?;
    println!("Paused domain {}", describe(domid));
    Ok(())
}

pub fn unpause(arg: &str) -> CmdResult {
    let domid = resolve_domu(arg, "cannot unpause Domain-0: it runs this shell")?;
    xc::unpause(domid).map_err(|e| failed("unpause", domid, e))?;
    println!("Unpaused domain {}", describe(domid));
    Ok(())
}

/// `shutdown [-w] DOMAIN`: as `xl shutdown` does for a PV guest, write `poweroff` to the
/// domain's `control/shutdown`; the guest watches it and powers itself off.
pub fn shutdown(arg: &str, wait: bool) -> CmdResult {
    let domid = resolve_domu(arg, "cannot shut down Domain-0 alone; 'poweroff' stops the whole machine")?;
    services::request_shutdown(domid, "poweroff").map_err(|e| format!("cannot send a shutdown request to {}: {e}", describe(domid)))?;
    println!("Sent a shutdown request to domain {}", describe(domid));
    if wait {
        return wait_gone(domid, None);
    }
    Ok(())
}

/// `reboot DOMAIN`: `reboot` in the domain's `control/shutdown` (the guest reboots itself,
/// and its `on_reboot` action follows).
pub fn reboot(arg: &str) -> CmdResult {
    let domid = resolve_domu(arg, "cannot reboot Domain-0 alone; 'reboot' without a domain reboots the machine")?;
    services::request_shutdown(domid, "reboot").map_err(|e| format!("cannot reboot {}: {e}", describe(domid)))?;
    println!("Rebooting domain {}", describe(domid));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tables.

/// The domains `arg` selects (all, or the one it names), with their records.
fn selected(arg: Option<&str>) -> Result<Vec<DomctlGetdomaininfo>, String> {
    let live = xc::list_domains();
    match arg {
        None => Ok(live),
        Some(a) => {
            let ids: Vec<DomId> = live.iter().map(|d| d.domain).collect();
            let domid = REGISTRY.lock().resolve(a, &ids)?;
            Ok(live.into_iter().filter(|d| d.domain == domid).collect())
        }
    }
}

pub fn list(arg: Option<&str>) -> CmdResult {
    let domains = selected(arg)?;
    let reg = REGISTRY.lock();
    let mut out = String::from(table::LIST_HEADER);
    out.push('\n');
    for d in &domains {
        out.push_str(&table::list_row(reg.name_of(d.domain), d));
        out.push('\n');
    }
    drop(reg);
    print!("{out}");
    Ok(())
}

pub fn vcpu_list(arg: Option<&str>) -> CmdResult {
    let domains = selected(arg)?;
    let mut out = table::vcpu_list_header();
    out.push('\n');
    for d in &domains {
        if d.max_vcpu_id == XEN_INVALID_MAX_VCPU_ID {
            continue;
        }
        let name = REGISTRY.lock().name_of(d.domain).to_string();
        for v in 0..=d.max_vcpu_id {
            let info = xc::vcpu_info(d.domain, v).map_err(|e| format!("cannot read vCPU {v} of {}: {}", describe(d.domain), errname(e)))?;
            out.push_str(&table::vcpu_list_row(&name, d.domain, d.flags, &info));
            out.push('\n');
        }
    }
    print!("{out}");
    Ok(())
}

/// `xentop -d SECONDS -i ITERATIONS` (batch mode): sample every domain's CPU time, sleep,
/// sample again and print each one's share of the interval. Ctrl-C stops it.
pub fn xentop(delay_s: u32, iterations: u32) -> CmdResult {
    let host_kib = xc::physinfo().map_err(|e| format!("cannot read host memory: {}", errname(e)))?.total_pages * 4;
    let timer = Timer::acquire()?;
    let sample = || -> Vec<top::Sample> {
        let reg = REGISTRY.lock();
        xc::list_domains().iter().map(|d| top::Sample::new(reg.name_of(d.domain), d)).collect()
    };
    let mut before = sample();
    let mut started = time::now_ns();
    for _ in 0..iterations {
        let deadline = started + u64::from(delay_s) * NS_PER_SEC;
        while time::now_ns() < deadline {
            if input_has(CTRL_C, None) {
                return Err("interrupted".into());
            }
            let now = time::now_ns();
            sleep_until(&timer, deadline.min(now + WAIT_TICK_NS));
        }
        let now_samples = sample();
        let now = time::now_ns();
        let mut out = String::from(top::HEADER);
        out.push('\n');
        for s in &now_samples {
            let earlier = before.iter().find(|b| b.domid == s.domid);
            out.push_str(&top::row(s, earlier, now - started, host_kib));
            out.push('\n');
        }
        print!("{out}");
        before = now_samples;
        started = now;
    }
    Ok(())
}

pub fn sched_credit(domain: Option<&str>, weight: Option<u16>, cap: Option<u16>) -> CmdResult {
    if weight.is_some() || cap.is_some() {
        let arg = domain.ok_or("sched-credit: -w and -c need -d DOMAIN")?;
        let domid = resolve(arg)?;
        return xc::sched_credit_set(domid, weight, cap).map_err(|e| failed("set the scheduler parameters of", domid, e));
    }
    let domains = selected(domain)?;
    let mut out = table::sched_credit_header();
    out.push('\n');
    for d in &domains {
        let c = xc::sched_credit_get(d.domain).map_err(|e| failed("read the scheduler parameters of", d.domain, e))?;
        out.push_str(&table::sched_credit_row(REGISTRY.lock().name_of(d.domain), d.domain, c.weight, c.cap));
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

/// The `nr_domains` line `info` adds.
pub fn nr_domains() -> usize {
    xc::list_domains().len()
}

// ---------------------------------------------------------------------------------------------
// Waiting: `wait`, `shutdown -w`, `console`.

/// VIRQ_TIMER for the duration of one command. Binding it is exclusive (a second bind is
/// `-EEXIST`), so a port we bound is closed again when done, leaving it free for `selftest`;
/// if someone already holds it, we find its port and share it.
struct Timer {
    port: u32,
    owned: bool,
}

impl Timer {
    fn acquire() -> Result<Self, String> {
        match events::bind_virq(VIRQ_TIMER) {
            Ok(port) => Ok(Timer { port, owned: true }),
            Err(e) if e == -EEXIST => find_virq_port(VIRQ_TIMER)
                .map(|port| Timer { port, owned: false })
                .ok_or_else(|| "VIRQ_TIMER is bound, but its port was not found".into()),
            Err(e) => Err(format!("cannot bind VIRQ_TIMER: {}", errname(e))),
        }
    }

    fn arm(&self, deadline_ns: u64) {
        hypercall::set_timer_op(deadline_ns);
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if self.owned {
            let mut close = EvtchnClose { port: self.port };
            hypercall::event_channel_op(EVTCHNOP_CLOSE, &mut close);
            let _ = events::take(self.port);
        }
    }
}

/// The port `virq` is bound to on vCPU 0 (`EVTCHNOP_status` over our ports).
fn find_virq_port(virq: u32) -> Option<u32> {
    (1..1024u32).find(|&port| {
        let mut st = EvtchnStatus { dom: xen_abi::domid::DOMID_SELF, port, ..Default::default() };
        let rc = hypercall::event_channel_op(EVTCHNOP_STATUS, &mut st);
        rc == 0 && st.status == EVTCHNSTAT_VIRQ && st.virq() == virq && st.vcpu == 0
    })
}

/// Sleeps until console input, a domain event, the timer, work for Dom0's services (done
/// before returning) or `deadline`. Returns whether VIRQ_DOM_EXC fired.
fn sleep_until(timer: &Timer, deadline: u64) -> bool {
    timer.arm(deadline);
    let console = CONSOLE_PORT.load(Ordering::Relaxed);
    let dom_exc = dom_exc_port();
    let mut exc = false;
    services::wait_until(|| {
        let input = console != NO_PORT && events::take(console);
        let tick = events::take(timer.port);
        if let Some(p) = dom_exc {
            exc |= events::take(p);
        }
        input || tick || exc || time::now_ns() >= deadline
    });
    for notice in services::take_notices() {
        println!("[{notice}]");
    }
    exc
}

/// Drains typed input; returns whether `key` was among it. The other bytes are appended to
/// `keep` if given (typed ahead for the shell), otherwise dropped.
fn input_has(key: u8, mut keep: Option<&mut Vec<u8>>) -> bool {
    let mut buf = [0u8; 64];
    let mut seen = false;
    loop {
        let n = super::shell_loop::read_input(&mut buf);
        if n == 0 {
            return seen;
        }
        for &b in &buf[..n] {
            if b == key {
                seen = true;
            } else if let Some(k) = keep.as_deref_mut() {
                k.push(b);
            }
        }
    }
}

fn exists(domid: DomId) -> Option<DomctlGetdomaininfo> {
    xc::domain_info(domid).ok()
}

/// Whether `info` is a domain that stopped and will stay (preserved, or not ours to act on).
fn stopped_for_good(info: &DomctlGetdomaininfo) -> bool {
    if info.flags & XEN_DOMINF_SHUTDOWN == 0 || info.flags & XEN_DOMINF_DYING != 0 {
        return false;
    }
    REGISTRY.lock().get(info.domain).is_none_or(|m| m.phase == Phase::Preserved)
}

/// `wait DOMAIN [TIMEOUT]`.
pub fn wait(arg: &str, timeout_s: Option<u32>) -> CmdResult {
    let domid = resolve_domu(arg, "cannot wait for Domain-0: it runs this shell")?;
    wait_gone(domid, timeout_s)
}

/// Blocks until `domid` no longer exists, applying `on_*` actions meanwhile (a restarted
/// domain lives on under a new id, but this one is gone). Ctrl-C and the timeout give up.
fn wait_gone(domid: DomId, timeout_s: Option<u32>) -> CmdResult {
    let mut typed_ahead = Vec::new();
    let result = wait_gone_inner(domid, timeout_s, &mut typed_ahead);
    // What was typed meanwhile goes to the shell (Ctrl-C abandons it).
    super::shell_loop::unread(&typed_ahead);
    result
}

fn wait_gone_inner(domid: DomId, timeout_s: Option<u32>, typed_ahead: &mut Vec<u8>) -> CmdResult {
    let name = describe(domid);
    let timer = Timer::acquire()?;
    let deadline = timeout_s.map(|t| time::now_ns() + u64::from(t) * NS_PER_SEC);
    loop {
        if input_has(CTRL_C, Some(typed_ahead)) {
            typed_ahead.clear();
            return Err(format!("interrupted; {name} still exists"));
        }
        report_shutdowns();
        let Some(info) = exists(domid) else {
            println!("Domain {name} is gone");
            return Ok(());
        };
        if stopped_for_good(&info) {
            return Err(format!("{name} has shut down and is kept as it is; 'destroy' removes it"));
        }
        let now = time::now_ns();
        if let (Some(d), Some(t)) = (deadline, timeout_s) {
            if now >= d {
                return Err(format!("timed out after {t} s; {name} still exists"));
            }
        }
        let wake = deadline.map_or(now + WAIT_TICK_NS, |d| d.min(now + WAIT_TICK_NS));
        sleep_until(&timer, wake);
    }
}

/// `console DOMAIN`: attach interactively.
pub fn console(arg: &str) -> CmdResult {
    let domid = resolve_domu(arg, "Domain-0's console is this shell")?;
    follow_console(domid)
}

/// `console --dump DOMAIN`: the buffered output of a live domain, or by id of one of the
/// last destroyed ones, printed once.
pub fn console_dump(arg: &str) -> CmdResult {
    let domid = match resolve_domu(arg, "Domain-0's console is this shell") {
        Ok(id) => id,
        Err(e) => match arg.parse::<DomId>() {
            Ok(id) if services::console_since(id, 0).is_some() => id,
            _ => return Err(e),
        },
    };
    let out = services::console_since(domid, 0).ok_or_else(|| format!("{} has no console output buffered", describe(domid)))?;
    let mut text = Crlf::new().translate(&out.bytes);
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.extend_from_slice(b"\r\n");
    }
    pvguest::console::write_bytes(&text);
    Ok(())
}

/// Shows the domain's console output so far, then follows it and sends typed keys to the
/// domain, until Ctrl-] or until the domain is gone.
fn follow_console(domid: DomId) -> CmdResult {
    let name = REGISTRY.lock().name_of(domid).to_string();
    let timer = Timer::acquire()?;
    let mut position = 0;
    let mut crlf = Crlf::new();
    let mut typed: Vec<u8> = Vec::new();
    println!("Connected to {name} (domid {domid}); Ctrl-] detaches");
    loop {
        let detach = read_console_keys(&mut typed);
        if !typed.is_empty() {
            let n = services::console_input(domid, &typed);
            typed.drain(..n);
        }
        show_console(domid, &mut position, &mut crlf);
        if detach {
            end_console_line(&crlf);
            println!("[detached]");
            return Ok(());
        }
        if exists(domid).is_none() {
            show_console(domid, &mut position, &mut crlf);
            end_console_line(&crlf);
            println!("[domain gone]");
            return Ok(());
        }
        if sleep_until(&timer, time::now_ns() + CONSOLE_TICK_NS) || dom_exc_port().is_none() {
            // The domain's last words first, then what became of it.
            show_console(domid, &mut position, &mut crlf);
            report_shutdowns();
        }
    }
}

/// Prints `domid`'s console output after `*position` and moves it on.
fn show_console(domid: DomId, position: &mut u64, crlf: &mut Crlf) {
    let Some(out) = services::console_since(domid, *position) else {
        return;
    };
    if out.missed > 0 {
        end_console_line(crlf);
        println!("[{} bytes of output were lost]", out.missed);
        // Our own line ended with a newline: the next output starts a fresh one.
        *crlf = Crlf::new();
    }
    *position = out.next;
    if !out.bytes.is_empty() {
        pvguest::console::write_bytes(&crlf.translate(&out.bytes));
    }
}

/// Starts a new line if the domain's output stopped in the middle of one.
fn end_console_line(crlf: &Crlf) {
    if crlf.mid_line() {
        println!();
    }
}

/// Reads typed keys into `typed` (for the domain); returns whether Ctrl-] came (the keys
/// after it are put back for the shell).
fn read_console_keys(typed: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 64];
    loop {
        let n = super::shell_loop::read_input(&mut buf);
        if n == 0 {
            return false;
        }
        if let Some(at) = buf[..n].iter().position(|&b| b == CTRL_RBRACKET) {
            keep_typed(typed, &buf[..at]);
            super::shell_loop::unread(&buf[at + 1..n]);
            return true;
        }
        keep_typed(typed, &buf[..n]);
    }
}

fn keep_typed(typed: &mut Vec<u8>, bytes: &[u8]) {
    let room = CONSOLE_INPUT_BACKLOG.saturating_sub(typed.len());
    typed.extend_from_slice(&bytes[..bytes.len().min(room)]);
}
