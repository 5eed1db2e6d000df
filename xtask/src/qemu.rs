//! QEMU: finding (or installing) it, its command line, and an expect-style session over the
//! serial console for scripted runs and tests. Every wait has a timeout; failures carry the
//! console tail so the cause shows up in CI output.

use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const QEMU: &str = "qemu-system-x86_64";
const OVMF: &str = "/usr/share/OVMF/OVMF_CODE.fd";

fn on_path(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Make sure QEMU (and OVMF when `uefi`) is installed: install it through apt when we are
/// root, otherwise say exactly what to run.
pub fn ensure_installed(uefi: bool) -> Result<()> {
    let mut packages = Vec::new();
    if !on_path(QEMU) {
        packages.push("qemu-system-x86");
    }
    if uefi && !Path::new(OVMF).exists() {
        packages.push("ovmf");
    }
    if packages.is_empty() {
        return Ok(());
    }
    let list = packages.join(" ");
    if !is_root() || !on_path("apt-get") {
        bail!("QEMU is not installed; install it with:\n    sudo apt-get install -y {list}");
    }
    eprintln!("xtask: installing {list} with apt-get (first run only)");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q {list}"))
        .status()
        .context("running apt-get")?;
    if !status.success() {
        bail!("apt-get could not install {list}");
    }
    Ok(())
}

/// What kind of machine to start.
#[derive(Clone, Debug)]
pub struct Machine {
    pub image: PathBuf,
    pub uefi: bool,
    pub memory_mib: u32,
    /// `-icount shift=0`: guest time counts instructions (deterministic figures).
    pub icount: bool,
    /// Wait for gdb on :1234 before running.
    pub gdb: bool,
    /// Exit instead of resetting (tests: a reboot ends the run).
    pub no_reboot: bool,
}

impl Machine {
    pub fn new(image: PathBuf) -> Self {
        Machine { image, uefi: false, memory_mib: 1024, icount: false, gdb: false, no_reboot: false }
    }

    /// The QEMU arguments, without the serial wiring.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = ["-accel", "tcg", "-cpu", "max", "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(["-m".into(), format!("{}M", self.memory_mib)]);
        a.extend(["-drive".into(), format!("format=raw,file={}", self.image.display())]);
        if self.uefi {
            a.extend(["-bios".into(), OVMF.into()]);
        }
        if self.icount {
            a.extend(["-icount".into(), "shift=0".into()]);
        }
        if self.gdb {
            a.extend(["-s".into(), "-S".into()]);
        }
        if self.no_reboot {
            a.push("-no-reboot".into());
        }
        a
    }
}

/// Console bytes seen so far, shared with the reader thread.
struct Console {
    bytes: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

/// A QEMU run driven through its serial console.
pub struct Session {
    child: Child,
    stdin: ChildStdin,
    console: Arc<Console>,
    /// Position up to which output has been consumed by `expect`.
    mark: usize,
}

impl Session {
    /// Start QEMU with the serial line on pipes; `echo` copies the console to our stdout live.
    pub fn start(machine: &Machine, echo: bool) -> Result<Session> {
        let mut child = Command::new(QEMU)
            .args(machine.args())
            .args(["-serial", "stdio", "-monitor", "none"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {QEMU}"))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let console = Arc::new(Console { bytes: Mutex::new((Vec::new(), false)), changed: Condvar::new() });
        let sink = console.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = stdout.read(&mut buf).unwrap_or(0);
                let mut guard = sink.bytes.lock().unwrap();
                if n == 0 {
                    guard.1 = true;
                    sink.changed.notify_all();
                    return;
                }
                if echo {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
                guard.0.extend_from_slice(&buf[..n]);
                sink.changed.notify_all();
            }
        });
        Ok(Session { child, stdin, console, mark: 0 })
    }

    /// Wait until `pattern` appears after the last match; returns the text in between.
    pub fn expect(&mut self, pattern: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut guard = self.console.bytes.lock().unwrap();
        loop {
            let text = String::from_utf8_lossy(&guard.0[self.mark..]).into_owned();
            if let Some(at) = text.find(pattern) {
                let skipped = text[..at].len();
                // Advance by bytes of the lossy text; the console is ASCII in practice.
                self.mark += skipped + pattern.len();
                return Ok(text[..at].to_string());
            }
            if guard.1 {
                drop(guard);
                bail!("QEMU exited while waiting for {pattern:?}\n{}", self.tail(30));
            }
            let now = Instant::now();
            if now >= deadline {
                drop(guard);
                bail!("timed out after {:?} waiting for {pattern:?}\n{}", timeout, self.tail(30));
            }
            guard = self.console.changed.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    /// Type text into the serial console.
    pub fn send(&mut self, text: &str) -> Result<()> {
        self.stdin.write_all(text.as_bytes()).context("writing to QEMU's serial input")?;
        self.stdin.flush().context("flushing QEMU's serial input")
    }

    /// Wait for QEMU to exit; returns its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                bail!("QEMU did not exit within {timeout:?}\n{}", self.tail(30));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the console printed.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.console.bytes.lock().unwrap().0).into_owned()
    }

    /// The last `lines` lines of the console, for failure reports.
    pub fn tail(&self, lines: usize) -> String {
        let text = self.output();
        let all: Vec<&str> = text.lines().collect();
        let start = all.len().saturating_sub(lines);
        let mut out = format!("--- last {} console lines ---\n", all.len() - start);
        for l in &all[start..] {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start QEMU with the serial console (and QEMU's monitor, behind Ctrl-A c) on this terminal.
pub fn run_interactive(machine: &Machine) -> Result<i32> {
    let status = Command::new(QEMU)
        .args(machine.args())
        .args(["-chardev", "stdio,id=con,mux=on,signal=off", "-serial", "chardev:con", "-mon", "chardev=con,mode=readline"])
        .status()
        .with_context(|| format!("starting {QEMU}"))?;
    Ok(status.code().unwrap_or(1))
}
