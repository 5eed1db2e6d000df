//! `cargo xtask bench`: measurements inside QEMU, each next to its baseline.
//!
//! - Hypercall round trip (Dom0's `bench` command) against a bare `syscall`/`sysret` through
//!   the same entry point, in TSC ticks under plain TCG and in instructions under
//!   `-icount shift=0` (where the virtual TSC advances one tick per instruction).
//! - Hypervisor entry to Dom0 prompt: system time when the shell is ready (instructions under
//!   `-icount`), and QEMU start to prompt in wall time.
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
