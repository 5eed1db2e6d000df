//! The shell: bytes from `console_io(read)` (woken by VIRQ_CONSOLE) through the line editor,
//! lines through the parser, commands to their handlers. Every failure is one line starting
//! with `error:` and the prompt comes back.
//!
//! Domain shutdowns (VIRQ_DOM_EXC) are acted on while the shell waits for input, with the
//! report printed above the prompt, and before and after every command. The wait also runs
//! Dom0's back-end services (XenStore, consoles), whose notices are printed the same way.

use alloc::collections::VecDeque;
use alloc::string::String;
use dom0_kernel::shell::command::help_text;
use dom0_kernel::shell::{parse_line, Command, EditorEvent, LineEditor};
use pvguest::{events, hypercall, print, println};
use xen_abi::event::{VIRQ_CONSOLE, VIRQ_DOM_EXC};
use super::{services, xenstore_cmds, xl};

const PROMPT: &str = "dom0# ";
const MAX_LINE: usize = 200;

/// What a command reports back to the loop.
pub type CmdResult = Result<(), String>;

static READY_NS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// System time (ns since the hypervisor started) when the shell first showed its prompt.
pub fn ready_ns() -> u64 {
    READY_NS.load(core::sync::atomic::Ordering::Relaxed)
}

pub fn run() -> ! {
    let console_port = match events::bind_virq(VIRQ_CONSOLE) {
        Ok(p) => p,
        Err(e) => pvguest::console::fatal(format_args!("cannot bind VIRQ_CONSOLE: {e}")),
    };
    let dom_exc_port = match events::bind_virq(VIRQ_DOM_EXC) {
        Ok(p) => Some(p),
        Err(e) => {
            println!("warning: cannot bind VIRQ_DOM_EXC ({}); domain shutdowns are handled at the next command", super::info::errname(e));
            None
        }
    };
    xl::set_ports(console_port, dom_exc_port);
    let mut editor = LineEditor::new(MAX_LINE, 32);
    editor.set_prompt(PROMPT);
    let mut out = |bytes: &[u8]| pvguest::console::write_bytes(bytes);
    editor.start_line(&mut out);
    READY_NS.store(pvguest::time::now_ns(), core::sync::atomic::Ordering::Relaxed);
    let mut buf = [0u8; 64];
    loop {
        let n = read_input(&mut buf);
        if n == 0 {
            let mut domain_event = false;
            services::wait_until(|| {
                if let Some(p) = dom_exc_port {
                    domain_event |= events::take(p);
                }
                events::take(console_port) || domain_event
            });
            let mut lines: alloc::vec::Vec<String> = services::take_notices().into_iter().map(|n| alloc::format!("[{n}]")).collect();
            if domain_event {
                lines.extend(xl::handle_shutdowns());
            }
            if !lines.is_empty() {
                // Report above the prompt, then put the line being typed back.
                out(b"\r\x1b[K");
                for line in lines {
                    println!("{line}");
                }
                editor.redraw(&mut out);
            }
            continue;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            match editor.feed(b, &mut out) {
                None => continue,
                Some(EditorEvent::Line(line)) => {
                    // What was typed after Enter belongs to whoever reads input next: the
                    // command itself (`console` waits for Ctrl-], `wait` for Ctrl-C) or the editor.
                    unread(&buf[i + 1..n]);
                    execute_line(&line);
                    editor.start_line(&mut out);
                    break;
                }
                Some(EditorEvent::Interrupt) => {}
                Some(EditorEvent::TooLong) => println!("error: line too long (at most {MAX_LINE} characters); nothing was run"),
            }
            editor.start_line(&mut out);
        }
    }
}

/// Typed bytes read from the hypervisor but not used yet.
static PENDING: spin::Mutex<VecDeque<u8>> = spin::Mutex::new(VecDeque::new());

/// Typed input: bytes put back with [`unread`] first, then the hypervisor's queue
/// (`console_io(read)`). Returns how many bytes were stored in `buf` (0: none waiting).
pub fn read_input(buf: &mut [u8]) -> usize {
    {
        let mut pending = PENDING.lock();
        if !pending.is_empty() {
            let n = pending.len().min(buf.len());
            for (slot, b) in buf.iter_mut().zip(pending.drain(..n)) {
                *slot = b;
            }
            return n;
        }
    }
    let n = hypercall::console_read(buf);
    if n <= 0 {
        0
    } else {
        (n as usize).min(buf.len())
    }
}

/// Puts bytes back in front of the input, to be read again by [`read_input`].
pub fn unread(bytes: &[u8]) {
    let mut pending = PENDING.lock();
    for &b in bytes.iter().rev() {
        pending.push_front(b);
    }
}

fn execute_line(line: &str) {
    let commands = match parse_line(line) {
        Ok(c) => c,
        Err(e) => {
            println!("error: {e}");
            return;
        }
    };
    for command in commands {
        xl::report_shutdowns();
        let result = execute(command);
        if let Err(e) = &result {
            println!("error: {e}");
        }
        xl::report_shutdowns();
        for notice in services::take_notices() {
            println!("[{notice}]");
        }
        if result.is_err() {
            // Later commands on the line depended on this one succeeding.
            return;
        }
    }
}

fn execute(command: Command) -> CmdResult {
    match command {
        Command::Help(topic) => {
            let text = help_text(topic.as_deref()).map_err(|e| alloc::format!("{e}"))?;
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            Ok(())
        }
        Command::Info => {
            super::info::info()?;
            println!("{:<23}: {}", "nr_domains", xl::nr_domains());
            Ok(())
        }
        Command::Version => super::info::version(),
        Command::Dmesg { clear } => super::info::dmesg(clear),
        Command::Uptime => super::info::uptime(),
        Command::Echo(words) => {
            println!("{}", words.join(" "));
            Ok(())
        }
        Command::Poweroff => {
            println!("Powering off.");
            hypercall::shutdown(xen_abi::sched::SHUTDOWN_POWEROFF);
            Err("the hypervisor refused to power off".into())
        }
        Command::Reboot => {
            println!("Rebooting.");
            hypercall::shutdown(xen_abi::sched::SHUTDOWN_REBOOT);
            Err("the hypervisor refused to reboot".into())
        }
        Command::Selftest => super::selftest::run(),
        Command::Hostile => super::hostile::run(),
        Command::Bench => super::bench::run(),
        Command::List(domain) => xl::list(domain.as_deref()),
        Command::Create { config, kernel, overrides, console } => xl::create(config.as_deref(), kernel.as_deref(), &overrides, console),
        Command::Destroy(domain) => xl::destroy(&domain),
        Command::Pause(domain) => xl::pause(&domain),
        Command::Unpause(domain) => xl::unpause(&domain),
        Command::Shutdown { domain, wait } => xl::shutdown(&domain, wait),
        Command::RebootDomain(domain) => xl::reboot(&domain),
        Command::SchedCredit { domain, weight, cap } => xl::sched_credit(domain.as_deref(), weight, cap),
        Command::VcpuList(domain) => xl::vcpu_list(domain.as_deref()),
        Command::Xentop { delay_s, iterations } => xl::xentop(delay_s, iterations),
        Command::Wait { domain, timeout_s } => xl::wait(&domain, timeout_s),
        Command::Console { domain, dump: false } => xl::console(&domain),
        Command::Console { domain, dump: true } => xl::console_dump(&domain),
        Command::XenstoreLs(path) => xenstore_cmds::ls(path.as_deref()),
        Command::XenstoreRead(path) => xenstore_cmds::read(&path),
        Command::XenstoreWrite { path, value } => xenstore_cmds::write(&path, &value),
        Command::XenstoreRm(path) => xenstore_cmds::rm(&path),
        Command::VpingAttach { frontend, backend } => xenstore_cmds::vping_attach(&frontend, &backend),
        Command::VpingDetach(frontend) => xenstore_cmds::vping_detach(&frontend),
    }
}
