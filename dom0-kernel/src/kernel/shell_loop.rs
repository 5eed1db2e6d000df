//! The shell: bytes from `console_io(read)` (woken by VIRQ_CONSOLE) through the line editor,
//! lines through the parser, commands to their handlers. Every failure is one line starting
//! with `error:` and the prompt comes back.

use alloc::string::String;
use dom0_kernel::shell::command::help_text;
use dom0_kernel::shell::{parse_line, Command, EditorEvent, LineEditor};
use pvguest::{events, hypercall, print, println};
use xen_abi::event::VIRQ_CONSOLE;

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
    let mut editor = LineEditor::new(MAX_LINE, 32);
    editor.set_prompt(PROMPT);
    let mut out = |bytes: &[u8]| pvguest::console::write_bytes(bytes);
    editor.start_line(&mut out);
    READY_NS.store(pvguest::time::now_ns(), core::sync::atomic::Ordering::Relaxed);
    let mut buf = [0u8; 64];
    loop {
        let n = hypercall::console_read(&mut buf);
        if n <= 0 {
            events::wait_until(|| events::take(console_port));
            continue;
        }
        for &b in &buf[..n as usize] {
            match editor.feed(b, &mut out) {
                None => continue,
                Some(EditorEvent::Line(line)) => execute_line(&line),
                Some(EditorEvent::Interrupt) => {}
                Some(EditorEvent::TooLong) => println!("error: line too long (at most {MAX_LINE} characters); nothing was run"),
            }
            editor.start_line(&mut out);
        }
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
        if let Err(e) = execute(command) {
            println!("error: {e}");
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
        Command::Info => super::info::info(),
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
    }
}
