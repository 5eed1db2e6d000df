//! `cargo xtask bench`: measurements inside QEMU, each next to its baseline.
//!
//! - Hypercall round trip (Dom0's `bench` command) against a bare `syscall`/`sysret` through
//!   the same entry point, in TSC ticks under plain TCG and in instructions under
//!   `-icount shift=0` (where the virtual TSC advances one tick per instruction).
//! - Hypervisor entry to Dom0 prompt: system time when the shell is ready (instructions under
//!   `-icount`), and QEMU start to prompt in wall time.
//! - Domains: `createdomain` to the DomU's first instruction and to its banner, teardown time
//!   (instructions under `-icount`, wall time under TCG), and density: how many small idle
//!   DomUs run at once on the default 1 GiB machine.
//! - Inter-domain: the event-channel round trip between two DomUs over the `vping` device
//!   against two null hypercalls plus two context switches (a `sched_yield` ping-pong between
//!   the same two DomUs), grant-copy throughput against `memcpy` inside one guest, and the
//!   XenStore read round trip from a DomU.
//!
//! Emulated timings are only meaningful as ratios within one run, or as instruction counts.

use crate::build::{self, workspace_root, BuildArgs};
use crate::qemu::{self, Machine, Session};
use crate::run::{BOOT_TIMEOUT, COMMAND_TIMEOUT, PROMPT};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Do not write docs/benchmarks-latest.md.
    #[arg(long)]
    pub no_record: bool,
}

struct Run {
    values: BTreeMap<String, u64>,
    boot_wall_ms: u128,
}

fn one_run(machine: &Machine) -> Result<Run> {
    let started = Instant::now();
    let mut s = Session::start(machine, false)?;
    s.expect(PROMPT, BOOT_TIMEOUT)?;
    let boot_wall_ms = started.elapsed().as_millis();
    s.send("bench\r")?;
    let out = s.expect(PROMPT, COMMAND_TIMEOUT)?;
    let mut values = BTreeMap::new();
    for line in out.lines() {
        if let Some(rest) = line.trim().strip_prefix("bench: ") {
            if let Some((k, v)) = rest.split_whitespace().next().and_then(|kv| kv.split_once('=')) {
                values.insert(k.to_string(), v.parse().with_context(|| format!("bad figure in {line:?}"))?);
            }
        }
    }
    s.send("poweroff\r")?;
    s.wait_exit(COMMAND_TIMEOUT)?;
    Ok(Run { values, boot_wall_ms })
}

/// A number that follows `prefix` in `text` (the first occurrence after `from`).
fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let at = text.find(prefix)? + prefix.len();
    text[at..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Domain lifecycle figures from one run: system time (instructions under -icount) from the
/// `createdomain` hypercall to the DomU's first instruction and to its banner, the hypervisor's
/// teardown time, and the wall time of `create -c` to the banner and of `destroy`.
struct DomainRun {
    to_first_ns: u64,
    to_banner_ns: u64,
    destroy_ns: u64,
    banner_wall_ms: u128,
    destroy_wall_ms: u128,
}

fn domain_run(machine: &Machine) -> Result<DomainRun> {
    let mut s = Session::start(machine, false)?;
    s.expect(PROMPT, BOOT_TIMEOUT)?;
    let started = Instant::now();
    s.send("create -c idle name=bench\r")?;
    s.expect("domu: domid", COMMAND_TIMEOUT).context("waiting for the DomU banner")?;
    let banner_wall_ms = started.elapsed().as_millis();
    s.expect(" ns", COMMAND_TIMEOUT)?;
    s.send("\x1d")?;
    s.expect(PROMPT, COMMAND_TIMEOUT)?;
    let started = Instant::now();
    s.send("destroy bench\r")?;
    s.expect(PROMPT, COMMAND_TIMEOUT)?;
    let destroy_wall_ms = started.elapsed().as_millis();
    let out = s.output();
    let domid = number_after(&out, "Created domain bench (domid ").context("no domid for the bench domain")?;
    let created = number_after(&out, &format!("d{domid}: created at ")).context("no creation time in the log")?;
    let first = number_after(&out, &format!("d{domid}v0: first guest instruction at ")).context("no first-instruction time")?;
    let banner = out
        .lines()
        .find(|l| l.contains("domu: domid"))
        .and_then(|l| number_after(l, ", up at "))
        .context("no banner time")?;
    let destroy_ns = number_after(&out, &format!("d{domid}: destroyed in ")).context("no destroy time in the log")?;
    s.send("poweroff\r")?;
    s.wait_exit(COMMAND_TIMEOUT)?;
    Ok(DomainRun { to_first_ns: first - created, to_banner_ns: banner - created, destroy_ns, banner_wall_ms, destroy_wall_ms })
}

/// Memory of each DomU in the density run (MiB).
const DENSITY_DOMAIN_MIB: u32 = 8;

/// How many 1-vCPU DomUs of [`DENSITY_DOMAIN_MIB`] run at once: create idle domains until the
/// host says no, then check every one is alive.
fn density(machine: &Machine) -> Result<(usize, u64)> {
    let mut s = Session::start(machine, false)?;
    s.expect(PROMPT, BOOT_TIMEOUT)?;
    let mut created = 0;
    for i in 0..400 {
        s.send(&format!("create idle name=d{i} memory={DENSITY_DOMAIN_MIB} extra=\"idle period=5000\"\r"))?;
        let out = s.expect(PROMPT, COMMAND_TIMEOUT)?;
        if !out.contains("Created domain") {
            break;
        }
        created += 1;
    }
    s.send("list\r")?;
    let out = s.expect(PROMPT, COMMAND_TIMEOUT)?;
    let alive = out.lines().filter(|l| l.starts_with('d') && l.split_whitespace().nth(4).is_some_and(|st| !st.contains('c'))).count();
    if alive != created {
        anyhow::bail!("density: created {created} domains but {alive} are alive\n{}", s.tail(20));
    }
    s.send("info\r")?;
    let out = s.expect(PROMPT, COMMAND_TIMEOUT)?;
    let host_mib = number_after(&out, "total_memory           : ").unwrap_or(0);
    s.send("poweroff\r")?;
    s.wait_exit(COMMAND_TIMEOUT)?;
    Ok((created, host_mib))
}

/// Inter-domain figures from one run (system time in ns; instructions under -icount).
struct InterdomainRun {
    rtt_ns: u64,
    null_ns: u64,
    yield_rtt_ns: u64,
    grant_copy_mbs: u64,
    memcpy_mbs: u64,
    xs_read_ns: u64,
}

fn interdomain_run(machine: &Machine) -> Result<InterdomainRun> {
    use crate::interdomain::{dump_until, figure, figure_before, vping_pair};
    let mut s = Session::start(machine, false)?;
    s.expect(PROMPT, BOOT_TIMEOUT)?;
    vping_pair(&mut s, "count=10000")?;
    let front = dump_until(&mut s, "front", "vping-front: done", 600)?;
    let rtt_ns = figure_before(&front, "ns per round trip").context("no round-trip time")?;
    let null_ns = figure(&front, "null hypercall").context("no null-hypercall baseline")?;
    let yield_rtt_ns = figure(&front, "yield round trip").context("no yield baseline")?;
    crate::domains::create(&mut s, "idle name=gb \"extra=grant-bench n=2000\"")?;
    let gb = dump_until(&mut s, "gb", "grant-bench:", 600)?;
    let grant_copy_mbs = figure(&gb, "grant copy").context("no grant-copy figure")?;
    let memcpy_mbs = figure(&gb, "memcpy").context("no memcpy figure")?;
    crate::domains::create(&mut s, "idle name=xb \"extra=xs-bench n=1000\"")?;
    let xb = dump_until(&mut s, "xb", "xs-bench:", 600)?;
    let xs_read_ns = figure(&xb, "average").context("no XenStore read figure")?;
    s.send("poweroff\r")?;
    s.wait_exit(COMMAND_TIMEOUT)?;
    Ok(InterdomainRun { rtt_ns, null_ns, yield_rtt_ns, grant_copy_mbs, memcpy_mbs, xs_read_ns })
}

fn get(run: &Run, key: &str) -> Result<u64> {
    run.values.get(key).copied().with_context(|| format!("Dom0's bench printed no {key}"))
}

pub fn bench(args: &BenchArgs) -> Result<i32> {
    let artifacts = build::build(&BuildArgs::default())?;
    qemu::ensure_installed(false)?;
    let mut machine = Machine::new(artifacts.bios_image.clone());
    machine.no_reboot = true;
    eprintln!("xtask: bench run 1/2 (TCG, TSC ticks)");
    let tcg = one_run(&machine)?;
    machine.icount = true;
    eprintln!("xtask: bench run 2/2 (TCG -icount shift=0, instructions)");
    let icount = one_run(&machine)?;

    let mut table = String::new();
    let _ = writeln!(table, "| measurement | value | baseline | ratio |");
    let _ = writeln!(table, "|---|---|---|---|");
    for (label, run, unit) in [("TCG", &tcg, "TSC ticks"), ("-icount", &icount, "instructions")] {
        let floor = get(run, "syscall_sysret_floor_tsc")?;
        let null = get(run, "null_hypercall_tsc")?;
        let enosys = get(run, "enosys_hypercall_tsc")?;
        let ratio = |x: u64| format!("{:.2}x", x as f64 / floor.max(1) as f64);
        let _ = writeln!(table, "| null hypercall round trip ({label}) | {null} {unit} | syscall/sysret {floor} {unit} | {} |", ratio(null));
        let _ = writeln!(table, "| -ENOSYS hypercall round trip ({label}) | {enosys} {unit} | syscall/sysret {floor} {unit} | {} |", ratio(enosys));
    }
    let ready = get(&icount, "shell_ready_ns")?;
    let _ = writeln!(table, "| hypervisor entry to Dom0 prompt (-icount) | {ready} instructions | — | — |");
    let _ = writeln!(
        table,
        "| QEMU start to Dom0 prompt (wall, BIOS + bootloader included) | {} ms (TCG), {} ms (-icount) | — | — |",
        tcg.boot_wall_ms, icount.boot_wall_ms
    );
    let tcg_ready = get(&tcg, "shell_ready_ns")?;
    let _ = writeln!(table, "| hypervisor entry to Dom0 prompt (TCG system time) | {:.1} ms | — | — |", tcg_ready as f64 / 1e6);

    eprintln!("xtask: bench domains (TCG -icount shift=0, then TCG)");
    let dom_icount = domain_run(&machine)?;
    machine.icount = false;
    let dom_tcg = domain_run(&machine)?;
    let _ = writeln!(table, "| createdomain to the DomU's first instruction (-icount) | {} instructions | — | — |", dom_icount.to_first_ns);
    let _ = writeln!(table, "| createdomain to the DomU's banner (-icount) | {} instructions | — | — |", dom_icount.to_banner_ns);
    let _ = writeln!(
        table,
        "| `create -c idle` to the banner, wall (TCG) | {} ms (system time from createdomain: {:.1} ms) | — | — |",
        dom_tcg.banner_wall_ms,
        dom_tcg.to_banner_ns as f64 / 1e6
    );
    let _ = writeln!(
        table,
        "| destroy a 16 MiB DomU: hypervisor teardown (-icount / TCG) | {} instructions / {:.2} ms | — | — |",
        dom_icount.destroy_ns,
        dom_tcg.destroy_ns as f64 / 1e6
    );
    let _ = writeln!(table, "| `destroy` command, wall (TCG) | {} ms | — | — |", dom_tcg.destroy_wall_ms);
    eprintln!("xtask: bench inter-domain (TCG -icount shift=0, then TCG)");
    machine.icount = true;
    let ic = interdomain_run(&machine)?;
    machine.icount = false;
    let tcg_id = interdomain_run(&machine)?;
    for (label, r, unit) in [("-icount", &ic, "instructions"), ("TCG", &tcg_id, "ns")] {
        let baseline = r.yield_rtt_ns;
        let _ = writeln!(
            table,
            "| event-channel round trip between two DomUs ({label}) | {} {unit} | 2 yield hypercalls + 2 context switches: {baseline} {unit} (null hypercall {} {unit}) | {:.2}x |",
            r.rtt_ns,
            r.null_ns,
            r.rtt_ns as f64 / baseline.max(1) as f64
        );
        let _ = writeln!(
            table,
            "| grant copy, 4 KiB frame→gref ({label}) | {} MB/s | memcpy 4 KiB in the same guest: {} MB/s | {:.2}x |",
            r.grant_copy_mbs,
            r.memcpy_mbs,
            r.grant_copy_mbs as f64 / r.memcpy_mbs.max(1) as f64
        );
        let _ = writeln!(
            table,
            "| XenStore read round trip from a DomU ({label}) | {} {unit} | null hypercall {} {unit} | {:.1}x |",
            r.xs_read_ns,
            r.null_ns,
            r.xs_read_ns as f64 / r.null_ns.max(1) as f64
        );
    }
    eprintln!("xtask: bench density (TCG)");
    let (count, host_mib) = density(&machine)?;
    let _ = writeln!(
        table,
        "| 1-vCPU DomUs running at once ({DENSITY_DOMAIN_MIB} MiB each, {host_mib} MiB host, Dom0 64 MiB) | {count} | — | — |"
    );
    println!("{table}");
    if !args.no_record {
        let path = workspace_root().join("docs/benchmarks-latest.md");
        let body = format!(
            "# Latest `cargo xtask bench` run\n\nWritten by `cargo xtask bench`; see benchmarks.md for how to read it.\n\n{table}"
        );
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: recorded in {}", path.display());
    }
    Ok(0)
}
