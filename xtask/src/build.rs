//! Building the pieces: the hypervisor and guest kernels (bare-metal target), the boot
//! bundle (a ustar archive the bootloader hands over as its ramdisk) and the disk images.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The bare-metal target every kernel here is built for.
pub const TARGET: &str = "x86_64-unknown-none";

#[derive(clap::Args, Clone, Default)]
pub struct BuildArgs {
    /// Also build a UEFI disk image; with `run`, boot it with OVMF instead of the BIOS image.
    #[arg(long)]
    pub uefi: bool,
    /// Extra PV kernel (ELF with Xen notes) to put in the boot bundle; repeatable.
    #[arg(long = "image", value_name = "PATH")]
    pub images: Vec<PathBuf>,
    /// Hypervisor command line (stored in the bundle as `xen.cmdline`).
    #[arg(long, default_value = "")]
    pub cmdline: String,
    /// Write the images under `target/images/<variant>/` (tests that need another command line).
    #[arg(skip)]
    pub variant: Option<String>,
}

/// What a build produced.
pub struct Artifacts {
    pub hypervisor: PathBuf,
    pub dom0: PathBuf,
    pub bios_image: PathBuf,
    pub uefi_image: Option<PathBuf>,
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn target_root() -> PathBuf {
    workspace_root().join("target")
}

/// One bare-metal crate, with the code-generation flags its kind of image needs.
struct KernelCrate {
    package: &'static str,
    /// Separate target directories keep each flag set's cache warm (RUSTFLAGS is part of the
    /// fingerprint, so sharing a directory would rebuild everything on every switch).
    target_dir: &'static str,
    rustflags: &'static str,
}

/// The hypervisor is position-independent: the bootloader places it inside the Xen hole.
const HYPERVISOR: KernelCrate = KernelCrate {
    package: "hypervisor",
    target_dir: "hv",
    rustflags: "-C force-frame-pointers=yes",
};

/// PV guest kernels are linked at a fixed address in the top 2 GiB (their linker script),
/// as Xen's PV kernels are; the builder loads them where their ELF headers say.
const GUEST_RUSTFLAGS: &str = "-C force-frame-pointers=yes -C relocation-model=static -C code-model=kernel";

const DOM0: KernelCrate = KernelCrate { package: "dom0-kernel", target_dir: "guests", rustflags: GUEST_RUSTFLAGS };
const DOMU: KernelCrate = KernelCrate { package: "domu-kernel", target_dir: "guests", rustflags: GUEST_RUSTFLAGS };
/// Small PV guests for the test runner, one bin per `tests/guests/src/bin/*.rs`.
const TEST_GUESTS: KernelCrate = KernelCrate { package: "test-guests", target_dir: "guests", rustflags: GUEST_RUSTFLAGS };

/// Example DomU configurations (xl syntax), in the bundle as `configs/<name>.cfg`.
fn configs_dir() -> PathBuf {
    workspace_root().join("configs")
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn build_kernel(krate: &KernelCrate) -> Result<PathBuf> {
    let mut built = build_bins(krate, &[krate.package])?;
    Ok(built.remove(0))
}

/// Build the named bins of one bare-metal crate; returns their ELF paths in the same order.
fn build_bins(krate: &KernelCrate, bins: &[&str]) -> Result<Vec<PathBuf>> {
    let target_dir = target_root().join(krate.target_dir);
    let mut command = cargo();
    command.current_dir(workspace_root()).args(["build", "--release", "--package", krate.package, "--target", TARGET]);
    for bin in bins {
        command.args(["--bin", bin]);
    }
    let status = command.arg("--target-dir").arg(&target_dir).env("RUSTFLAGS", krate.rustflags).status().context("running cargo")?;
    if !status.success() {
        bail!("building {} failed", krate.package);
    }
    Ok(bins.iter().map(|bin| target_dir.join(TARGET).join("release").join(bin)).collect())
}

/// The test guests' bin names: the files of `tests/guests/src/bin/` (Cargo's own discovery).
fn test_guest_names() -> Result<Vec<String>> {
    let dir = workspace_root().join("tests/guests/src/bin");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                names.push(stem.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The `*.cfg` files of `configs/`, sorted (none if the directory is missing).
fn config_files() -> Result<Vec<PathBuf>> {
    let dir = configs_dir();
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "cfg") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Run clippy over one bare-metal crate with the same flags its build uses.
pub fn clippy_kernels() -> Result<()> {
    // pvguest is linted with the guest flags on its own: as a dependency of Dom0 it would not be.
    const PVGUEST: KernelCrate = KernelCrate { package: "pvguest", target_dir: "guests", rustflags: GUEST_RUSTFLAGS };
    for krate in [&HYPERVISOR, &DOM0, &PVGUEST, &DOMU, &TEST_GUESTS] {
        let status = cargo()
            .current_dir(workspace_root())
            .args(["clippy", "--release", "--package", krate.package, "--target", TARGET])
            .arg("--target-dir")
            .arg(target_root().join(krate.target_dir))
            .args(["--", "-D", "warnings", "-D", "clippy::undocumented_unsafe_blocks"])
            .env("RUSTFLAGS", krate.rustflags)
            .status()
            .context("running cargo clippy")?;
        if !status.success() {
            bail!("clippy found problems in {}", krate.package);
        }
    }
    Ok(())
}

/// The toolchain's `llvm-objcopy` (component `llvm-tools-preview`, pinned in rust-toolchain.toml).
fn objcopy() -> Result<PathBuf> {
    let out = Command::new("rustc").current_dir(workspace_root()).args(["--print", "sysroot"]).output().context("running rustc")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let host = Command::new("rustc").current_dir(workspace_root()).args(["-vV"]).output().context("running rustc")?;
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV printed no host")?;
    let tool = sysroot.join("lib/rustlib").join(host).join("bin/llvm-objcopy");
    if !tool.exists() {
        bail!("{} not found: run `rustup component add llvm-tools-preview`", tool.display());
    }
    Ok(tool)
}

/// A copy without debug information: the BIOS loads the image through real-mode disk reads,
/// so every megabyte costs seconds. The unstripped ELF stays beside it for gdb.
fn strip(elf: &Path, out: &Path) -> Result<()> {
    let status = Command::new(objcopy()?).arg("--strip-debug").arg(elf).arg(out).status().context("running llvm-objcopy")?;
    if !status.success() {
        bail!("stripping {} failed", elf.display());
    }
    Ok(())
}

/// The boot bundle: Dom0's kernel, the built-in guests (`files`: path and name in the
/// bundle), any extra images and the hypervisor command line.
fn write_bundle(dom0: &Path, files: &[(PathBuf, String)], args: &BuildArgs, out: &Path) -> Result<()> {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut tar = tar::Builder::new(file);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.append_path_with_name(dom0, "dom0.elf").context("adding dom0.elf")?;
    for (path, name) in files {
        tar.append_path_with_name(path, name).with_context(|| format!("adding {name}"))?;
    }
    for image in &args.images {
        let name = image.file_name().context("--image needs a file path")?;
        let name = Path::new("images").join(name);
        tar.append_path_with_name(image, &name)
            .with_context(|| format!("adding {}", image.display()))?;
    }
    let cmdline = args.cmdline.as_bytes();
    let mut header = tar::Header::new_ustar();
    header.set_size(cmdline.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "xen.cmdline", cmdline).context("adding xen.cmdline")?;
    tar.finish().context("writing the bundle")?;
    Ok(())
}

pub fn build(args: &BuildArgs) -> Result<Artifacts> {
    let started = Instant::now();
    eprintln!("xtask: building the hypervisor, Dom0, DomU and the test guests (release, {TARGET})");
    let hypervisor = build_kernel(&HYPERVISOR)?;
    let dom0 = build_kernel(&DOM0)?;
    let domu = build_kernel(&DOMU)?;
    let test_names = test_guest_names()?;
    let test_bins = build_bins(&TEST_GUESTS, &test_names.iter().map(String::as_str).collect::<Vec<_>>())?;
    let test_guests: Vec<(String, PathBuf)> = test_names.into_iter().zip(test_bins).collect();

    let mut out_dir = target_root().join("images");
    if let Some(variant) = &args.variant {
        out_dir = out_dir.join(variant);
    }
    std::fs::create_dir_all(&out_dir)?;
    let hypervisor_stripped = out_dir.join("hypervisor.elf");
    let dom0_stripped = out_dir.join("dom0.elf");
    strip(&hypervisor, &hypervisor_stripped)?;
    strip(&dom0, &dom0_stripped)?;
    let mut files = Vec::new();
    let domu_stripped = out_dir.join("domu.elf");
    strip(&domu, &domu_stripped)?;
    files.push((domu_stripped, "images/domu.elf".to_owned()));
    let tests_dir = out_dir.join("tests");
    std::fs::create_dir_all(&tests_dir)?;
    for (name, elf) in &test_guests {
        let stripped = tests_dir.join(format!("{name}.elf"));
        strip(elf, &stripped)?;
        files.push((stripped, format!("tests/{name}.elf")));
    }
    for config in config_files()? {
        let name = config.file_name().and_then(|n| n.to_str()).context("config file name is not UTF-8")?;
        let name = format!("configs/{name}");
        files.push((config, name));
    }
    let bundle = out_dir.join("bundle.tar");
    write_bundle(&dom0_stripped, &files, args, &bundle)?;

    eprintln!("xtask: writing the BIOS disk image");
    let bios_image = out_dir.join("bios.img");
    bootloader::BiosBoot::new(&hypervisor_stripped)
        .set_ramdisk(&bundle)
        .create_disk_image(&bios_image)
        .map_err(|e| anyhow::anyhow!("creating the BIOS image: {e:#}"))?;
    let uefi_image = if args.uefi {
        eprintln!("xtask: writing the UEFI disk image");
        let path = out_dir.join("uefi.img");
        bootloader::UefiBoot::new(&hypervisor_stripped)
            .set_ramdisk(&bundle)
            .create_disk_image(&path)
            .map_err(|e| anyhow::anyhow!("creating the UEFI image: {e:#}"))?;
        Some(path)
    } else {
        None
    };
    eprintln!("xtask: build done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(Artifacts { hypervisor, dom0, bios_image, uefi_image })
}
