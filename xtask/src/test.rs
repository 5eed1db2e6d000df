//! `cargo xtask test`: host unit tests, clippy (warnings are errors), then the QEMU scenarios.
//! Ends with one `N passed, M failed` line for the scenarios.

use crate::build::{self, workspace_root, BuildArgs};
use crate::qemu;
use crate::scenario::SCENARIOS;
use anyhow::{bail, Context, Result};
use std::process::Command;
use std::time::Instant;

#[derive(clap::Args)]
pub struct TestArgs {
    /// Only run scenarios whose name contains this text (host tests and clippy still run).
    #[arg(long)]
    pub filter: Option<String>,
    /// Skip the QEMU scenarios.
    #[arg(long)]
    pub host_only: bool,
}

/// Crates whose logic runs on the host (bare-metal glue is compiled out there).
const HOST_CRATES: &[&str] = &["xen-abi", "xen-image", "hypervisor", "dom0-kernel", "test-runner", "domu-kernel", "xenstore", "xen-ring", "xenbus"];

fn cargo(args: &[&str]) -> Result<()> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace_root())
        .args(args)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed", args.join(" "));
    }
    Ok(())
}

fn with_packages<'a>(base: &[&'a str]) -> Vec<&'a str> {
    let mut v = base.to_vec();
    for p in HOST_CRATES {
        v.extend(["-p", p]);
    }
    v
}

pub fn test(args: &TestArgs) -> Result<i32> {
    let started = Instant::now();
    cargo(&with_packages(&["test", "--lib"]))?;
    cargo(&["test", "-p", "xtask"])?;
    let mut clippy = with_packages(&["clippy", "--lib", "--tests"]);
    clippy.extend(["--", "-D", "warnings"]);
    cargo(&clippy)?;
    cargo(&["clippy", "-p", "xtask", "--", "-D", "warnings"])?;
    build::clippy_kernels()?;
    if args.host_only {
        return Ok(0);
    }

    let artifacts = build::build(&BuildArgs::default())?;
    qemu::ensure_installed(false)?;
    let (mut passed, mut failed) = (0, 0);
    for scenario in SCENARIOS {
        if args.filter.as_deref().is_some_and(|f| !scenario.name.contains(f)) {
            continue;
        }
        let t = Instant::now();
        match (scenario.run)(&artifacts.bios_image) {
            Ok(()) => {
                passed += 1;
                println!("scenario PASS  {} ({:.1} s)", scenario.name, t.elapsed().as_secs_f64());
            }
            Err(e) => {
                failed += 1;
                println!("scenario FAIL  {}: {e:#}", scenario.name);
            }
        }
    }
    println!("xtask test: host tests, clippy and scenarios done in {:.0} s", started.elapsed().as_secs_f64());
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { 1 })
}
