//! `cargo xtask run`: boot to the Dom0 shell on this terminal, or run commands unattended.

use crate::build::{self, BuildArgs};
use crate::qemu::{self, Machine, Session};
use anyhow::Result;
use std::time::Duration;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Commands to type into the Dom0 shell, separated by ';'. Exits 0 only if every command
    /// succeeded and the machine powered off cleanly (a trailing `poweroff` is added if absent).
    #[arg(long)]
    pub exec: Option<String>,
    /// Start QEMU halted, waiting for gdb on localhost:1234 (see README for symbols).
    #[arg(long)]
    pub gdb: bool,
    /// Guest memory of the machine in MiB.
    #[arg(long, default_value_t = 1024)]
    pub memory: u32,
    #[command(flatten)]
    pub build: BuildArgs,
}

/// Longest wait for the first prompt, and for one command to finish.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
pub const PROMPT: &str = "dom0# ";
/// Where the bootloader places the (position-independent) hypervisor: the first free slot of
/// its dynamic range, which `hypervisor/src/layout.rs` fixes (no ASLR).
pub const HYPERVISOR_LOAD_OFFSET: u64 = 0xffff_8400_0000_0000;

pub fn run(args: &RunArgs) -> Result<i32> {
    let uefi = args.build.uefi;
    let artifacts = build::build(&args.build)?;
    qemu::ensure_installed(uefi)?;
    let image = if uefi { artifacts.uefi_image.clone().expect("built with --uefi") } else { artifacts.bios_image.clone() };
    let mut machine = Machine::new(image);
    machine.uefi = uefi;
    machine.memory_mib = args.memory;
    machine.gdb = args.gdb;
    if args.gdb {
        eprintln!("xtask: QEMU is waiting for gdb on localhost:1234. Symbols:");
        eprintln!("  hypervisor: {} (loaded at offset {:#x})", artifacts.hypervisor.display(), HYPERVISOR_LOAD_OFFSET);
        eprintln!("  Dom0:       {} (linked where it runs)", artifacts.dom0.display());
        eprintln!(
            "  gdb -ex 'symbol-file -o {:#x} {}' -ex 'add-symbol-file {}' -ex 'target remote :1234'",
            HYPERVISOR_LOAD_OFFSET,
            artifacts.hypervisor.display(),
            artifacts.dom0.display()
        );
    }
    match &args.exec {
        None => {
            eprintln!("xtask: booting; Ctrl-A x quits QEMU, `poweroff` in the shell ends the run");
            qemu::run_interactive(&machine)
        }
        Some(script) => {
            machine.no_reboot = true;
            let outcome = exec(&machine, script)?;
            Ok(if outcome.all_ok() { 0 } else { 1 })
        }
    }
}

/// What an unattended run found.
pub struct ExecOutcome {
    pub failed_commands: Vec<String>,
    pub exit_status: i32,
}

impl ExecOutcome {
    pub fn all_ok(&self) -> bool {
        self.failed_commands.is_empty() && self.exit_status == 0
    }
}

/// Whether a command's output says it failed: the shell's one-line `error:` convention, or a
/// failed check line.
pub fn command_failed(output: &str) -> bool {
    output.lines().any(|l| {
        let l = l.trim_start_matches(['\r', ' ']);
        l.starts_with("error:") || l.starts_with("FAIL ")
    })
}

/// Type each command at the prompt, wait for the next prompt (or the end of the machine for
/// `poweroff`/`reboot`), and record which commands failed.
pub fn exec(machine: &Machine, script: &str) -> Result<ExecOutcome> {
    let mut commands: Vec<String> = script.split(';').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    if !commands.iter().any(|c| c == "poweroff" || c == "reboot") {
        commands.push("poweroff".into());
    }
    let mut session = Session::start(machine, true)?;
    session.expect(PROMPT, BOOT_TIMEOUT)?;
    let mut failed = Vec::new();
    for command in &commands {
        session.send(&format!("{command}\r"))?;
        if command == "poweroff" || command == "reboot" {
            break;
        }
        let output = session.expect(PROMPT, COMMAND_TIMEOUT)?;
        if command_failed(&output) {
            failed.push(command.clone());
        }
    }
    let exit_status = session.wait_exit(COMMAND_TIMEOUT)?;
    println!();
    if !failed.is_empty() {
        eprintln!("xtask: failed commands: {}", failed.join("; "));
    }
    if exit_status != 0 {
        eprintln!("xtask: QEMU exited with status {exit_status} (0 is a clean poweroff)");
    }
    Ok(ExecOutcome { failed_commands: failed, exit_status })
}
