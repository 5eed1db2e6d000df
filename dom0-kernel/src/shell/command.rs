//! Turning an input line into shell commands.
//!
//! Two steps:
//!
//! 1. [`split_commands`] tokenizes a line: tokens are separated by
//!    whitespace, `"double quotes"` group text (inside them `\"` and `\\`
//!    escape a quote and a backslash), and an unquoted `;` separates
//!    commands. Empty commands (`;;`, a trailing `;`) are dropped.
//! 2. [`parse`] looks the first token up in the [`COMMANDS`] table, checks
//!    the remaining tokens against the entry's [`ArgSpec`] generically
//!    (known flags, flag values, number of positional arguments) and only
//!    then calls the entry's builder to make the [`Command`].
//!
//! Adding a command is one [`CommandSpec`] entry in [`COMMANDS`] (plus its
//! [`Command`] variant): usage lines, `help` output and argument errors all
//! come from the entry.
//!
//! Options: a token starting with `-` (other than `-` itself) is an option;
//! `--` ends options. A flag that takes a value consumes the next token.
//! Flags may appear anywhere among the positional arguments and may be
//! repeated (the last value wins).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A parsed shell command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `help [COMMAND]`. The topic, if any, is a known command name.
    Help(Option<String>),
    /// `info`: hypervisor and host information.
    Info,
    /// `dmesg [-c]`: print (and with `-c` then clear) the message buffer.
    Dmesg { clear: bool },
    /// `uptime`.
    Uptime,
    /// `poweroff`.
    Poweroff,
    /// `reboot`.
    Reboot,
    /// `selftest`.
    Selftest,
    /// `hostile`.
    Hostile,
    /// `bench`: hypercall micro-benchmarks.
    Bench,
    /// `echo [TEXT...]`: the arguments, to be printed separated by spaces.
    Echo(Vec<String>),
    /// `version`.
    Version,
    /// `list [DOMAIN]`: the domains, `xl list` style.
    List(Option<String>),
    /// `create [-c] [--kernel KERNEL] CONFIG [KEY=VALUE...]`. Without
    /// `--kernel`, `config` names a configuration in the boot bundle; with
    /// it, there is no file and `overrides` say everything else.
    Create {
        /// Configuration name (`idle`, `idle.cfg`, `configs/idle.cfg`).
        config: Option<String>,
        /// Kernel path in the bundle (`--kernel`).
        kernel: Option<String>,
        /// `KEY=VALUE` settings applied on top of the file.
        overrides: Vec<String>,
        /// `-c`: attach to the console afterwards.
        console: bool,
    },
    /// `destroy DOMAIN`.
    Destroy(String),
    /// `pause DOMAIN`.
    Pause(String),
    /// `unpause DOMAIN`.
    Unpause(String),
    /// `shutdown [-w] DOMAIN`: ask the domain to power off.
    Shutdown {
        /// The domain (name or id).
        domain: String,
        /// `-w`: wait until it is gone.
        wait: bool,
    },
    /// `reboot DOMAIN` (`reboot` alone is [`Command::Reboot`], the machine).
    RebootDomain(String),
    /// `sched-credit [-d DOMAIN] [-w WEIGHT] [-c CAP]`: show, or with `-w`
    /// or `-c` set, a domain's credit scheduler parameters.
    SchedCredit {
        /// `-d`: the domain (all domains when showing without it).
        domain: Option<String>,
        /// `-w`: new weight, 1..=65535.
        weight: Option<u16>,
        /// `-c`: new cap (0 = none; the hypervisor checks the range).
        cap: Option<u16>,
    },
    /// `vcpu-list [DOMAIN]`.
    VcpuList(Option<String>),
    /// `xentop [-d SECONDS] [-i ITERATIONS]`: CPU share of every domain over intervals.
    Xentop {
        /// `-d`: seconds per interval (1..=3600, default 3).
        delay_s: u32,
        /// `-i`: intervals to report (1..=100, default 1).
        iterations: u32,
    },
    /// `wait DOMAIN [TIMEOUT]`: block until the domain is gone.
    Wait {
        /// The domain (name or id).
        domain: String,
        /// Give up after this many seconds.
        timeout_s: Option<u32>,
    },
    /// `console [--dump] DOMAIN`: show the domain's console output and
    /// follow it (keys typed go to the domain; Ctrl-] detaches), or with
    /// `--dump` print what is buffered and return.
    Console {
        /// The domain (name or id; with `--dump` also the id of a recently
        /// destroyed domain).
        domain: String,
        /// `--dump`: print the buffered output only.
        dump: bool,
    },
    /// `xenstore-ls [PATH]`: the XenStore tree under PATH (default `/`).
    XenstoreLs(Option<String>),
    /// `xenstore-read PATH`.
    XenstoreRead(String),
    /// `xenstore-write PATH VALUE`.
    XenstoreWrite {
        /// The node.
        path: String,
        /// Its new value.
        value: String,
    },
    /// `xenstore-rm PATH`: remove a node and everything under it.
    XenstoreRm(String),
    /// `vping-attach FRONTEND BACKEND`: create a `vping` device between
    /// two domains (XenBus directories of both ends).
    VpingAttach {
        /// The domain that offers the ring (name or id).
        frontend: String,
        /// The domain that serves it (name or id).
        backend: String,
    },
    /// `vping-detach FRONTEND`: remove the frontend's `vping` device.
    VpingDetach(String),
}

/// A flag a command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSpec {
    /// The flag as typed, e.g. `"-c"`.
    pub name: &'static str,
    /// Name of the flag's value for usage lines (e.g. `Some("DOMAIN")`),
    /// or `None` for a boolean flag.
    pub value: Option<&'static str>,
    /// One-line description for `help COMMAND`.
    pub help: &'static str,
}

/// What arguments a command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgSpec {
    /// Names of the positional arguments, for usage lines and "missing"
    /// errors. Arguments past the end of the list reuse the last name.
    pub names: &'static [&'static str],
    /// Minimum number of positional arguments.
    pub min: usize,
    /// Maximum number of positional arguments; `None` means unlimited.
    pub max: Option<usize>,
    /// Accepted flags.
    pub flags: &'static [FlagSpec],
    /// No option processing: every token is a positional argument
    /// (for commands such as `echo` whose arguments are free text).
    pub free_text: bool,
}

impl ArgSpec {
    /// No arguments at all.
    pub const NONE: ArgSpec = ArgSpec {
        names: &[],
        min: 0,
        max: Some(0),
        flags: &[],
        free_text: false,
    };

    fn takes_nothing(&self) -> bool {
        self.max == Some(0) && self.flags.is_empty()
    }

    fn name_of(&self, index: usize) -> &'static str {
        self.names
            .get(index)
            .or(self.names.last())
            .copied()
            .unwrap_or("ARG")
    }

    /// Checks `tokens` (the arguments after the command name) against the
    /// spec. `command` names the command in errors.
    pub fn check<'a>(
        &self,
        command: &'static str,
        tokens: &[&'a str],
    ) -> Result<Args<'a>, ParseError> {
        let mut args = Args {
            flags: Vec::new(),
            positional: Vec::new(),
        };
        if self.takes_nothing() && !tokens.is_empty() {
            return Err(ParseError::NoArguments { command });
        }
        let mut options_done = self.free_text;
        let mut iter = tokens.iter().copied();
        while let Some(token) = iter.next() {
            if !options_done && token == "--" {
                options_done = true;
                continue;
            }
            if !options_done && token.len() > 1 && token.starts_with('-') {
                let flag = self.flags.iter().find(|f| f.name == token).ok_or_else(|| {
                    ParseError::UnknownOption {
                        command,
                        option: token.to_owned(),
                    }
                })?;
                let value = match flag.value {
                    None => None,
                    Some(_) => Some(iter.next().ok_or(ParseError::MissingValue {
                        command,
                        option: flag.name,
                    })?),
                };
                args.flags.push((flag.name, value));
                continue;
            }
            if self.max.is_some_and(|max| args.positional.len() >= max) {
                return Err(ParseError::UnexpectedArgument {
                    command,
                    argument: token.to_owned(),
                });
            }
            args.positional.push(token);
        }
        if args.positional.len() < self.min {
            return Err(ParseError::MissingArgument {
                command,
                name: self.name_of(args.positional.len()),
            });
        }
        Ok(args)
    }
}

/// Arguments that passed an [`ArgSpec`] check, handed to a builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args<'a> {
    flags: Vec<(&'static str, Option<&'a str>)>,
    positional: Vec<&'a str>,
}

impl<'a> Args<'a> {
    /// Whether `flag` (e.g. `"-c"`) was given.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|(f, _)| *f == flag)
    }

    /// The value of the last occurrence of a valued `flag`.
    pub fn value(&self, flag: &str) -> Option<&'a str> {
        self.flags
            .iter()
            .rev()
            .find(|(f, _)| *f == flag)
            .and_then(|(_, v)| *v)
    }

    /// The positional arguments, in order.
    pub fn positional(&self) -> &[&'a str] {
        &self.positional
    }

    /// Positional argument `index`, if present.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        self.positional.get(index).copied()
    }
}

/// Builds a [`Command`] from arguments that already passed the spec check.
pub type Builder = fn(&Args<'_>) -> Result<Command, ParseError>;

/// One entry of the command table.
#[derive(Clone, Copy)]
pub struct CommandSpec {
    /// The command name as typed.
    pub name: &'static str,
    /// Accepted arguments.
    pub args: ArgSpec,
    /// One-line summary for `help`.
    pub summary: &'static str,
    /// Makes the [`Command`] once the arguments have been checked.
    pub build: Builder,
}

impl fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandSpec")
            .field("name", &self.name)
            .field("args", &self.args)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl CommandSpec {
    /// The usage line derived from the spec, e.g. `dmesg [-c]`,
    /// `help [COMMAND]`, `echo [TEXT...]`.
    pub fn usage(&self) -> String {
        let a = &self.args;
        let mut s = String::from(self.name);
        for flag in a.flags {
            s.push_str(" [");
            s.push_str(flag.name);
            if let Some(v) = flag.value {
                s.push(' ');
                s.push_str(v);
            }
            s.push(']');
        }
        let shown = match a.max {
            Some(max) => max,
            None => a.names.len().max(a.min).max(1),
        };
        for i in 0..shown {
            let name = a.name_of(i);
            s.push(' ');
            if i < a.min {
                s.push_str(name);
            } else {
                s.push('[');
                s.push_str(name);
                s.push(']');
            }
        }
        if a.max.is_none() {
            if s.ends_with(']') {
                s.insert_str(s.len() - 1, "...");
            } else {
                s.push_str("...");
            }
        }
        s
    }

    /// The text of `help NAME`: usage, summary and flag descriptions,
    /// one item per `\n`-terminated line.
    pub fn help(&self) -> String {
        let mut s = String::from("usage: ");
        s.push_str(&self.usage());
        s.push('\n');
        s.push_str(self.summary);
        s.push('\n');
        let width = self
            .args
            .flags
            .iter()
            .map(|f| flag_label(f).len())
            .max()
            .unwrap_or(0);
        for flag in self.args.flags {
            let label = flag_label(flag);
            s.push_str("  ");
            s.push_str(&label);
            push_spaces(&mut s, width - label.len() + 2);
            s.push_str(flag.help);
            s.push('\n');
        }
        s
    }
}

fn flag_label(flag: &FlagSpec) -> String {
    let mut s = String::from(flag.name);
    if let Some(v) = flag.value {
        s.push(' ');
        s.push_str(v);
    }
    s
}

fn push_spaces(s: &mut String, n: usize) {
    for _ in 0..n {
        s.push(' ');
    }
}

/// The command table, in the order `help` lists it.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "help",
        args: ArgSpec {
            names: &["COMMAND"],
            min: 0,
            max: Some(1),
            flags: &[],
            free_text: false,
        },
        summary: "List the commands, or show how to use one",
        build: |a| match a.get(0) {
            None => Ok(Command::Help(None)),
            Some(topic) if find(topic).is_some() => Ok(Command::Help(Some(topic.to_owned()))),
            Some(topic) => Err(ParseError::UnknownHelpTopic(topic.to_owned())),
        },
    },
    CommandSpec {
        name: "info",
        args: ArgSpec::NONE,
        summary: "Show information about the hypervisor and the host",
        build: |_| Ok(Command::Info),
    },
    CommandSpec {
        name: "dmesg",
        args: ArgSpec {
            names: &[],
            min: 0,
            max: Some(0),
            flags: &[FlagSpec {
                name: "-c",
                value: None,
                help: "clear the buffer after printing it",
            }],
            free_text: false,
        },
        summary: "Print the hypervisor message buffer",
        build: |a| Ok(Command::Dmesg { clear: a.has("-c") }),
    },
    CommandSpec {
        name: "uptime",
        args: ArgSpec::NONE,
        summary: "Show how long the hypervisor has been running",
        build: |_| Ok(Command::Uptime),
    },
    CommandSpec {
        name: "version",
        args: ArgSpec::NONE,
        summary: "Show the hypervisor version",
        build: |_| Ok(Command::Version),
    },
    CommandSpec {
        name: "echo",
        args: ArgSpec {
            names: &["TEXT"],
            min: 0,
            max: None,
            flags: &[],
            free_text: true,
        },
        summary: "Print the arguments, separated by spaces",
        build: |a| {
            Ok(Command::Echo(
                a.positional().iter().map(|s| String::from(*s)).collect(),
            ))
        },
    },
    CommandSpec {
        name: "list",
        args: ONE_DOMAIN_OPTIONAL,
        summary: "List the domains (or one), as xl list does",
        build: |a| Ok(Command::List(a.get(0).map(str::to_owned))),
    },
    CommandSpec {
        name: "create",
        args: ArgSpec {
            names: &["CONFIG", "KEY=VALUE"],
            min: 1,
            max: None,
            flags: &[
                FlagSpec {
                    name: "-c",
                    value: None,
                    help: "attach to the domain's console once it runs",
                },
                FlagSpec {
                    name: "--kernel",
                    value: Some("KERNEL"),
                    help: "boot KERNEL from the boot bundle without a config file",
                },
            ],
            free_text: false,
        },
        summary: "Create a domain from configs/CONFIG.cfg, with KEY=VALUE overrides",
        build: build_create,
    },
    CommandSpec {
        name: "destroy",
        args: ONE_DOMAIN,
        summary: "Destroy a domain at once (DOMAIN is a name or an id)",
        build: |a| Ok(Command::Destroy(domain_arg(a))),
    },
    CommandSpec {
        name: "shutdown",
        args: ArgSpec {
            names: &["DOMAIN"],
            min: 1,
            max: Some(1),
            flags: &[FlagSpec {
                name: "-w",
                value: None,
                help: "wait until the domain is gone",
            }],
            free_text: false,
        },
        summary: "Ask a domain to power off",
        build: |a| {
            Ok(Command::Shutdown {
                domain: domain_arg(a),
                wait: a.has("-w"),
            })
        },
    },
    CommandSpec {
        name: "pause",
        args: ONE_DOMAIN,
        summary: "Pause a domain",
        build: |a| Ok(Command::Pause(domain_arg(a))),
    },
    CommandSpec {
        name: "unpause",
        args: ONE_DOMAIN,
        summary: "Unpause a domain",
        build: |a| Ok(Command::Unpause(domain_arg(a))),
    },
    CommandSpec {
        name: "wait",
        args: ArgSpec {
            names: &["DOMAIN", "TIMEOUT"],
            min: 1,
            max: Some(2),
            flags: &[],
            free_text: false,
        },
        summary: "Wait until a domain is gone (Ctrl-C or TIMEOUT seconds give up)",
        build: build_wait,
    },
    CommandSpec {
        name: "console",
        args: ArgSpec {
            names: &["DOMAIN"],
            min: 1,
            max: Some(1),
            flags: &[FlagSpec {
                name: "--dump",
                value: None,
                help: "print the buffered output and return (also for a destroyed domain's id)",
            }],
            free_text: false,
        },
        summary: "Attach to a domain's console (typed keys go to it); Ctrl-] detaches",
        build: |a| {
            Ok(Command::Console {
                domain: domain_arg(a),
                dump: a.has("--dump"),
            })
        },
    },
    CommandSpec {
        name: "vcpu-list",
        args: ONE_DOMAIN_OPTIONAL,
        summary: "List the vCPUs of every domain (or one)",
        build: |a| Ok(Command::VcpuList(a.get(0).map(str::to_owned))),
    },
    CommandSpec {
        name: "xentop",
        args: ArgSpec {
            names: &[],
            min: 0,
            max: Some(0),
            flags: &[
                FlagSpec {
                    name: "-d",
                    value: Some("SECONDS"),
                    help: "length of each interval (default 3)",
                },
                FlagSpec {
                    name: "-i",
                    value: Some("ITERATIONS"),
                    help: "number of intervals to report (default 1)",
                },
            ],
            free_text: false,
        },
        summary: "Show each domain's CPU share over an interval (batch mode)",
        build: build_xentop,
    },
    CommandSpec {
        name: "sched-credit",
        args: ArgSpec {
            names: &[],
            min: 0,
            max: Some(0),
            flags: &[
                FlagSpec {
                    name: "-d",
                    value: Some("DOMAIN"),
                    help: "the domain (default: show all)",
                },
                FlagSpec {
                    name: "-w",
                    value: Some("WEIGHT"),
                    help: "set the weight (1 to 65535)",
                },
                FlagSpec {
                    name: "-c",
                    value: Some("CAP"),
                    help: "set the cap in percent of one CPU (0: none)",
                },
            ],
            free_text: false,
        },
        summary: "Show or set credit scheduler weight and cap",
        build: build_sched_credit,
    },
    CommandSpec {
        name: "xenstore-ls",
        args: ArgSpec {
            names: &["PATH"],
            min: 0,
            max: Some(1),
            flags: &[],
            free_text: false,
        },
        summary: "List the XenStore tree under PATH (default /) as name = \"value\"",
        build: |a| Ok(Command::XenstoreLs(a.get(0).map(str::to_owned))),
    },
    CommandSpec {
        name: "xenstore-read",
        args: ONE_PATH,
        summary: "Print the value of a XenStore node",
        build: |a| Ok(Command::XenstoreRead(path_arg(a, "xenstore-read")?)),
    },
    CommandSpec {
        name: "xenstore-write",
        args: ArgSpec {
            names: &["PATH", "VALUE"],
            min: 2,
            max: Some(2),
            flags: &[],
            free_text: false,
        },
        summary: "Set a XenStore node's value (creating it and its parents)",
        build: |a| {
            Ok(Command::XenstoreWrite {
                path: path_arg(a, "xenstore-write")?,
                value: a.get(1).unwrap_or_default().to_owned(),
            })
        },
    },
    CommandSpec {
        name: "xenstore-rm",
        args: ONE_PATH,
        summary: "Remove a XenStore node and everything under it",
        build: |a| Ok(Command::XenstoreRm(path_arg(a, "xenstore-rm")?)),
    },
    CommandSpec {
        name: "vping-attach",
        args: ArgSpec {
            names: &["FRONTEND", "BACKEND"],
            min: 2,
            max: Some(2),
            flags: &[],
            free_text: false,
        },
        summary: "Create a vping device: FRONTEND offers the ring, BACKEND serves it",
        build: |a| {
            Ok(Command::VpingAttach {
                frontend: domain_arg(a),
                backend: a.get(1).unwrap_or_default().to_owned(),
            })
        },
    },
    CommandSpec {
        name: "vping-detach",
        args: ArgSpec {
            names: &["FRONTEND"],
            min: 1,
            max: Some(1),
            flags: &[],
            free_text: false,
        },
        summary: "Remove the vping device of FRONTEND (both ends' XenStore entries)",
        build: |a| Ok(Command::VpingDetach(domain_arg(a))),
    },
    CommandSpec {
        name: "selftest",
        args: ArgSpec::NONE,
        summary: "Exercise the PV CPU model: traps, timer, page-table rules",
        build: |_| Ok(Command::Selftest),
    },
    CommandSpec {
        name: "hostile",
        args: ArgSpec::NONE,
        summary: "Attack the hypervisor with invalid hypercalls; each must get its errno",
        build: |_| Ok(Command::Hostile),
    },
    CommandSpec {
        name: "bench",
        args: ArgSpec::NONE,
        summary: "Time a null hypercall against a bare syscall/sysret round trip",
        build: |_| Ok(Command::Bench),
    },
    CommandSpec {
        name: "reboot",
        args: ArgSpec {
            names: &["DOMAIN"],
            min: 0,
            max: Some(1),
            flags: &[],
            free_text: false,
        },
        summary: "Reboot a domain; with no DOMAIN, reboot the machine",
        build: |a| {
            Ok(match a.get(0) {
                Some(d) => Command::RebootDomain(d.to_owned()),
                None => Command::Reboot,
            })
        },
    },
    CommandSpec {
        name: "poweroff",
        args: ArgSpec::NONE,
        summary: "Power the machine off",
        build: |_| Ok(Command::Poweroff),
    },
];

/// `DOMAIN` (a name or an id), required.
const ONE_DOMAIN: ArgSpec = ArgSpec {
    names: &["DOMAIN"],
    min: 1,
    max: Some(1),
    flags: &[],
    free_text: false,
};

/// `[DOMAIN]`.
const ONE_DOMAIN_OPTIONAL: ArgSpec = ArgSpec {
    names: &["DOMAIN"],
    min: 0,
    max: Some(1),
    flags: &[],
    free_text: false,
};

/// `PATH`, required.
const ONE_PATH: ArgSpec = ArgSpec {
    names: &["PATH"],
    min: 1,
    max: Some(1),
    flags: &[],
    free_text: false,
};

/// The first positional argument as a XenStore path: not empty (XenStore
/// itself checks the rest).
fn path_arg(a: &Args<'_>, command: &'static str) -> Result<String, ParseError> {
    match a.get(0).unwrap_or_default() {
        "" => Err(ParseError::InvalidArgument {
            command,
            message: "PATH must not be empty".into(),
        }),
        path => Ok(path.to_owned()),
    }
}

fn domain_arg(a: &Args<'_>) -> String {
    a.get(0).unwrap_or_default().to_owned()
}

fn build_create(a: &Args<'_>) -> Result<Command, ParseError> {
    let invalid = |message: String| ParseError::InvalidArgument {
        command: "create",
        message,
    };
    let kernel = a.value("--kernel");
    let positional = a.positional();
    let (config, overrides) = match kernel {
        Some(_) => (None, positional),
        None => {
            let (first, rest) = positional.split_first().unwrap_or((&"", &[]));
            if first.contains('=') {
                return Err(invalid(format!(
                    "missing CONFIG before the override '{first}'"
                )));
            }
            (Some((*first).to_owned()), rest)
        }
    };
    if let Some(bad) = overrides.iter().find(|o| !o.contains('=')) {
        return Err(invalid(format!("expected KEY=VALUE, not '{bad}'")));
    }
    Ok(Command::Create {
        config,
        kernel: kernel.map(str::to_owned),
        overrides: overrides.iter().map(|o| (*o).to_owned()).collect(),
        console: a.has("-c"),
    })
}

fn build_wait(a: &Args<'_>) -> Result<Command, ParseError> {
    let timeout_s = match a.get(1) {
        None => None,
        Some(t) => match t.parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(ParseError::InvalidArgument {
                    command: "wait",
                    message: format!(
                        "TIMEOUT must be a whole number of seconds (at least 1), not '{t}'"
                    ),
                })
            }
        },
    };
    Ok(Command::Wait {
        domain: domain_arg(a),
        timeout_s,
    })
}

fn build_xentop(a: &Args<'_>) -> Result<Command, ParseError> {
    let number = |flag: &str, default: u32, max: u32, what: &str| -> Result<u32, ParseError> {
        match a.value(flag) {
            None => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ParseError::InvalidArgument {
                    command: "xentop",
                    message: format!("{what} must be a number from 1 to {max}, not '{v}'"),
                }),
            },
        }
    };
    Ok(Command::Xentop {
        delay_s: number("-d", 3, 3600, "SECONDS")?,
        iterations: number("-i", 1, 100, "ITERATIONS")?,
    })
}

fn build_sched_credit(a: &Args<'_>) -> Result<Command, ParseError> {
    let invalid = |message: String| ParseError::InvalidArgument {
        command: "sched-credit",
        message,
    };
    // Weight 0 and cap 0xFFFF mean "unchanged" on the wire, so they cannot be asked for.
    let weight = match a.value("-w") {
        None => None,
        Some(w) => match w.parse::<u16>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(invalid(format!(
                    "WEIGHT must be a number from 1 to 65535, not '{w}'"
                )))
            }
        },
    };
    let cap = match a.value("-c") {
        None => None,
        Some(c) => match c.parse::<u16>() {
            Ok(n) if n < u16::MAX => Some(n),
            _ => {
                return Err(invalid(format!(
                    "CAP must be a number from 0 to 65534, not '{c}'"
                )))
            }
        },
    };
    let domain = a.value("-d").map(str::to_owned);
    if domain.is_none() && (weight.is_some() || cap.is_some()) {
        return Err(invalid("-w and -c need -d DOMAIN".into()));
    }
    Ok(Command::SchedCredit {
        domain,
        weight,
        cap,
    })
}

/// Looks a command up by name (case-sensitive, like `xl`).
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Why a line or command could not be parsed. `Display` gives one line
/// saying what was wrong and what to do (no trailing newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A `"` was not closed.
    UnterminatedQuote,
    /// [`parse`] was given no tokens.
    Empty,
    /// The first token is not a command.
    UnknownCommand(String),
    /// The command takes neither arguments nor flags, but got some.
    NoArguments { command: &'static str },
    /// An option the command does not accept.
    UnknownOption {
        command: &'static str,
        option: String,
    },
    /// A flag that takes a value was last on the line.
    MissingValue {
        command: &'static str,
        option: &'static str,
    },
    /// More positional arguments than the command accepts; the first extra.
    UnexpectedArgument {
        command: &'static str,
        argument: String,
    },
    /// Fewer positional arguments than required; the first missing name.
    MissingArgument {
        command: &'static str,
        name: &'static str,
    },
    /// A builder rejected an argument's value; `message` says why
    /// (e.g. "'x' is not a domain ID").
    InvalidArgument {
        command: &'static str,
        message: String,
    },
    /// `help NAME` for a NAME that is not a command.
    UnknownHelpTopic(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let usage = |command: &str| find(command).map(CommandSpec::usage).unwrap_or_default();
        match self {
            ParseError::UnterminatedQuote => {
                f.write_str("unterminated quote; add the closing '\"'")
            }
            ParseError::Empty => f.write_str("empty command; type 'help' for the list"),
            ParseError::UnknownCommand(name) => {
                write!(f, "unknown command '{name}'; type 'help' for the list")
            }
            ParseError::NoArguments { command } => write!(f, "'{command}' takes no arguments"),
            ParseError::UnknownOption { command, option } => write!(
                f,
                "{command}: unknown option '{option}' (usage: {})",
                usage(command)
            ),
            ParseError::MissingValue { command, option } => {
                let value = find(command)
                    .and_then(|c| c.args.flags.iter().find(|fl| fl.name == *option))
                    .and_then(|fl| fl.value)
                    .unwrap_or("a value");
                write!(
                    f,
                    "{command}: option '{option}' needs {value} (usage: {})",
                    usage(command)
                )
            }
            ParseError::UnexpectedArgument { command, argument } => write!(
                f,
                "{command}: unexpected argument '{argument}' (usage: {})",
                usage(command)
            ),
            ParseError::MissingArgument { command, name } => {
                write!(f, "{command}: missing {name} (usage: {})", usage(command))
            }
            ParseError::InvalidArgument { command, message } => {
                write!(f, "{command}: {message} (usage: {})", usage(command))
            }
            ParseError::UnknownHelpTopic(name) => {
                write!(f, "help: no command '{name}'; type 'help' for the list")
            }
        }
    }
}

impl core::error::Error for ParseError {}

/// Splits a line into commands (separated by unquoted `;`), each a list of
/// tokens. See the module documentation for the quoting rules.
pub fn split_commands(line: &str) -> Result<Vec<Vec<String>>, ParseError> {
    let mut commands = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut in_token = false;
    let mut chars = line.chars();

    fn flush(token: &mut String, in_token: &mut bool, current: &mut Vec<String>) {
        if *in_token {
            current.push(core::mem::take(token));
            *in_token = false;
        }
    }

    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        None => return Err(ParseError::UnterminatedQuote),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => token.push(e),
                            Some(other) => {
                                token.push('\\');
                                token.push(other);
                            }
                            None => return Err(ParseError::UnterminatedQuote),
                        },
                        Some(other) => token.push(other),
                    }
                }
            }
            ';' => {
                flush(&mut token, &mut in_token, &mut current);
                if !current.is_empty() {
                    commands.push(core::mem::take(&mut current));
                }
            }
            c if c.is_whitespace() => flush(&mut token, &mut in_token, &mut current),
            c => {
                token.push(c);
                in_token = true;
            }
        }
    }
    flush(&mut token, &mut in_token, &mut current);
    if !current.is_empty() {
        commands.push(current);
    }
    Ok(commands)
}

/// Parses one command's tokens (command name first).
pub fn parse(tokens: &[&str]) -> Result<Command, ParseError> {
    let (name, rest) = tokens.split_first().ok_or(ParseError::Empty)?;
    let spec = find(name).ok_or_else(|| ParseError::UnknownCommand((*name).to_owned()))?;
    let args = spec.args.check(spec.name, rest)?;
    (spec.build)(&args)
}

/// Splits and parses a whole line. All or nothing: if any command on the
/// line is wrong, the first error is returned and nothing should run. An
/// empty or blank line gives an empty list.
pub fn parse_line(line: &str) -> Result<Vec<Command>, ParseError> {
    split_commands(line)?
        .iter()
        .map(|tokens| {
            let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
            parse(&tokens)
        })
        .collect()
}

/// The text printed by `help` (no topic: the list of commands) or
/// `help NAME` (usage, summary, flags). Lines end with `\n`.
pub fn help_text(topic: Option<&str>) -> Result<String, ParseError> {
    if let Some(name) = topic {
        return find(name)
            .map(CommandSpec::help)
            .ok_or_else(|| ParseError::UnknownHelpTopic(name.to_owned()));
    }
    let width = COMMANDS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::from("Commands:\n");
    for c in COMMANDS {
        s.push_str("  ");
        s.push_str(c.name);
        push_spaces(&mut s, width - c.name.len() + 2);
        s.push_str(c.summary);
        s.push('\n');
    }
    s.push_str("Type 'help COMMAND' for its usage; separate several commands with ';'.\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn p(tokens: &[&str]) -> Result<Command, ParseError> {
        parse(tokens)
    }

    fn err(tokens: &[&str]) -> String {
        p(tokens).unwrap_err().to_string()
    }

    fn owned(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn split_whitespace_quotes_and_semicolons() {
        assert_eq!(split_commands("").unwrap(), owned(&[]));
        assert_eq!(split_commands("  \t ").unwrap(), owned(&[]));
        assert_eq!(split_commands(" ; ;;").unwrap(), owned(&[]));
        assert_eq!(
            split_commands("  dmesg   -c\t").unwrap(),
            owned(&[&["dmesg", "-c"]])
        );
        assert_eq!(
            split_commands("echo a;echo b ; ;uptime;").unwrap(),
            owned(&[&["echo", "a"], &["echo", "b"], &["uptime"]])
        );
        assert_eq!(
            split_commands(r#"echo "a b;c" "" x"y z"w"#).unwrap(),
            owned(&[&["echo", "a b;c", "", "xy zw"]])
        );
        assert_eq!(
            split_commands(r#"echo "say \"hi\" \\ \n""#).unwrap(),
            owned(&[&["echo", r#"say "hi" \ \n"#]])
        );
        // A backslash outside quotes is literal.
        assert_eq!(
            split_commands(r"echo a\b").unwrap(),
            owned(&[&["echo", r"a\b"]])
        );
    }

    #[test]
    fn split_unterminated_quote() {
        assert_eq!(
            split_commands(r#"echo "abc"#),
            Err(ParseError::UnterminatedQuote)
        );
        assert_eq!(
            split_commands(r#"echo "abc\"#),
            Err(ParseError::UnterminatedQuote)
        );
        assert_eq!(
            ParseError::UnterminatedQuote.to_string(),
            "unterminated quote; add the closing '\"'"
        );
    }

    #[test]
    fn parse_every_command() {
        assert_eq!(p(&["help"]), Ok(Command::Help(None)));
        assert_eq!(
            p(&["help", "dmesg"]),
            Ok(Command::Help(Some("dmesg".into())))
        );
        assert_eq!(p(&["help", "help"]), Ok(Command::Help(Some("help".into()))));
        assert_eq!(p(&["info"]), Ok(Command::Info));
        assert_eq!(p(&["dmesg"]), Ok(Command::Dmesg { clear: false }));
        assert_eq!(p(&["dmesg", "-c"]), Ok(Command::Dmesg { clear: true }));
        assert_eq!(
            p(&["dmesg", "-c", "-c"]),
            Ok(Command::Dmesg { clear: true })
        );
        assert_eq!(p(&["dmesg", "--",]), Ok(Command::Dmesg { clear: false }));
        assert_eq!(p(&["uptime"]), Ok(Command::Uptime));
        assert_eq!(p(&["poweroff"]), Ok(Command::Poweroff));
        assert_eq!(p(&["reboot"]), Ok(Command::Reboot));
        assert_eq!(p(&["selftest"]), Ok(Command::Selftest));
        assert_eq!(p(&["hostile"]), Ok(Command::Hostile));
        assert_eq!(p(&["version"]), Ok(Command::Version));
        assert_eq!(p(&["echo"]), Ok(Command::Echo(vec![])));
        assert_eq!(
            p(&["echo", "-x", "--", "a b", ""]),
            Ok(Command::Echo(vec![
                "-x".into(),
                "--".into(),
                "a b".into(),
                "".into()
            ]))
        );
    }

    #[test]
    fn domain_commands() {
        let s = |v: &str| String::from(v);
        assert_eq!(p(&["list"]), Ok(Command::List(None)));
        assert_eq!(p(&["list", "idle"]), Ok(Command::List(Some(s("idle")))));
        assert_eq!(p(&["vcpu-list"]), Ok(Command::VcpuList(None)));
        assert_eq!(p(&["xentop"]), Ok(Command::Xentop { delay_s: 3, iterations: 1 }));
        assert_eq!(p(&["xentop", "-d", "10", "-i", "2"]), Ok(Command::Xentop { delay_s: 10, iterations: 2 }));
        assert!(p(&["xentop", "-d", "0"]).is_err());
        assert!(p(&["xentop", "-i", "x"]).is_err());
        assert_eq!(p(&["vcpu-list", "3"]), Ok(Command::VcpuList(Some(s("3")))));
        assert_eq!(p(&["destroy", "x"]), Ok(Command::Destroy(s("x"))));
        assert_eq!(p(&["pause", "x"]), Ok(Command::Pause(s("x"))));
        assert_eq!(p(&["unpause", "2"]), Ok(Command::Unpause(s("2"))));
        assert_eq!(
            p(&["console", "x"]),
            Ok(Command::Console {
                domain: s("x"),
                dump: false
            })
        );
        assert_eq!(
            p(&["console", "--dump", "7"]),
            Ok(Command::Console {
                domain: s("7"),
                dump: true
            })
        );
        assert_eq!(find("console").unwrap().usage(), "console [--dump] DOMAIN");
        assert_eq!(p(&["reboot"]), Ok(Command::Reboot));
        assert_eq!(p(&["reboot", "x"]), Ok(Command::RebootDomain(s("x"))));
        assert_eq!(
            p(&["shutdown", "x"]),
            Ok(Command::Shutdown {
                domain: s("x"),
                wait: false
            })
        );
        assert_eq!(
            p(&["shutdown", "-w", "x"]),
            Ok(Command::Shutdown {
                domain: s("x"),
                wait: true
            })
        );
        assert_eq!(
            p(&["wait", "x"]),
            Ok(Command::Wait {
                domain: s("x"),
                timeout_s: None
            })
        );
        assert_eq!(
            p(&["wait", "x", "30"]),
            Ok(Command::Wait {
                domain: s("x"),
                timeout_s: Some(30)
            })
        );
        for cmd in ["destroy", "pause", "unpause", "console", "shutdown", "wait"] {
            assert_eq!(
                err(&[cmd]),
                format!(
                    "{cmd}: missing DOMAIN (usage: {})",
                    find(cmd).unwrap().usage()
                )
            );
        }
        assert_eq!(
            err(&["destroy", "a", "b"]),
            "destroy: unexpected argument 'b' (usage: destroy DOMAIN)"
        );
        assert_eq!(
            err(&["reboot", "a", "b"]),
            "reboot: unexpected argument 'b' (usage: reboot [DOMAIN])"
        );
        assert_eq!(
            err(&["wait", "x", "0"]),
            "wait: TIMEOUT must be a whole number of seconds (at least 1), not '0' (usage: wait DOMAIN [TIMEOUT])"
        );
        assert_eq!(
            err(&["wait", "x", "soon"]),
            "wait: TIMEOUT must be a whole number of seconds (at least 1), not 'soon' (usage: wait DOMAIN [TIMEOUT])"
        );
        assert_eq!(find("shutdown").unwrap().usage(), "shutdown [-w] DOMAIN");
        assert_eq!(find("list").unwrap().usage(), "list [DOMAIN]");
    }

    #[test]
    fn xenstore_commands() {
        let s = |v: &str| String::from(v);
        assert_eq!(p(&["xenstore-ls"]), Ok(Command::XenstoreLs(None)));
        assert_eq!(
            p(&["xenstore-ls", "/local/domain"]),
            Ok(Command::XenstoreLs(Some(s("/local/domain"))))
        );
        assert_eq!(
            p(&["xenstore-read", "/a/b"]),
            Ok(Command::XenstoreRead(s("/a/b")))
        );
        assert_eq!(
            p(&["xenstore-write", "/a/b", "hello world"]),
            Ok(Command::XenstoreWrite {
                path: s("/a/b"),
                value: s("hello world")
            })
        );
        // An empty value is a value; a value that looks like an option needs `--`.
        assert_eq!(
            p(&["xenstore-write", "/a", ""]),
            Ok(Command::XenstoreWrite {
                path: s("/a"),
                value: s("")
            })
        );
        assert_eq!(
            p(&["xenstore-write", "--", "/a", "-1"]),
            Ok(Command::XenstoreWrite {
                path: s("/a"),
                value: s("-1")
            })
        );
        assert_eq!(p(&["xenstore-rm", "/a"]), Ok(Command::XenstoreRm(s("/a"))));
        assert_eq!(
            err(&["xenstore-read"]),
            "xenstore-read: missing PATH (usage: xenstore-read PATH)"
        );
        assert_eq!(
            err(&["xenstore-write", "/a"]),
            "xenstore-write: missing VALUE (usage: xenstore-write PATH VALUE)"
        );
        assert_eq!(
            err(&["xenstore-rm", ""]),
            "xenstore-rm: PATH must not be empty (usage: xenstore-rm PATH)"
        );
        assert_eq!(
            err(&["xenstore-ls", "/a", "/b"]),
            "xenstore-ls: unexpected argument '/b' (usage: xenstore-ls [PATH])"
        );
    }

    #[test]
    fn vping_commands() {
        let s = |v: &str| String::from(v);
        assert_eq!(
            p(&["vping-attach", "front", "2"]),
            Ok(Command::VpingAttach {
                frontend: s("front"),
                backend: s("2")
            })
        );
        assert_eq!(p(&["vping-detach", "front"]), Ok(Command::VpingDetach(s("front"))));
        assert_eq!(
            err(&["vping-attach", "front"]),
            "vping-attach: missing BACKEND (usage: vping-attach FRONTEND BACKEND)"
        );
        assert_eq!(
            err(&["vping-detach"]),
            "vping-detach: missing FRONTEND (usage: vping-detach FRONTEND)"
        );
    }

    #[test]
    fn create_command() {
        let s = |v: &str| String::from(v);
        assert_eq!(
            p(&["create", "idle"]),
            Ok(Command::Create {
                config: Some(s("idle")),
                kernel: None,
                overrides: vec![],
                console: false
            })
        );
        assert_eq!(
            p(&["create", "spin", "name=spin2", "weight=512", "-c"]),
            Ok(Command::Create {
                config: Some(s("spin")),
                kernel: None,
                overrides: vec![s("name=spin2"), s("weight=512")],
                console: true
            })
        );
        assert_eq!(
            p(&["create", "--kernel", "tests/tg.elf", "name=x", "extra=a b"]),
            Ok(Command::Create {
                config: None,
                kernel: Some(s("tests/tg.elf")),
                overrides: vec![s("name=x"), s("extra=a b")],
                console: false
            })
        );
        assert_eq!(
            find("create").unwrap().usage(),
            "create [-c] [--kernel KERNEL] CONFIG [KEY=VALUE...]"
        );
        let usage = "(usage: create [-c] [--kernel KERNEL] CONFIG [KEY=VALUE...])";
        assert_eq!(err(&["create"]), format!("create: missing CONFIG {usage}"));
        assert_eq!(
            err(&["create", "name=x"]),
            format!("create: missing CONFIG before the override 'name=x' {usage}")
        );
        assert_eq!(
            err(&["create", "idle", "spin"]),
            format!("create: expected KEY=VALUE, not 'spin' {usage}")
        );
        assert_eq!(
            err(&["create", "--kernel", "k.elf", "idle"]),
            format!("create: expected KEY=VALUE, not 'idle' {usage}")
        );
        assert_eq!(
            err(&["create", "idle", "--kernel"]),
            format!("create: option '--kernel' needs KERNEL {usage}")
        );
    }

    #[test]
    fn sched_credit_command() {
        let sc = |d: Option<&str>, w, c| Command::SchedCredit {
            domain: d.map(String::from),
            weight: w,
            cap: c,
        };
        assert_eq!(p(&["sched-credit"]), Ok(sc(None, None, None)));
        assert_eq!(
            p(&["sched-credit", "-d", "x"]),
            Ok(sc(Some("x"), None, None))
        );
        assert_eq!(
            p(&["sched-credit", "-d", "x", "-w", "512"]),
            Ok(sc(Some("x"), Some(512), None))
        );
        assert_eq!(
            p(&["sched-credit", "-c", "50", "-d", "2", "-w", "1"]),
            Ok(sc(Some("2"), Some(1), Some(50)))
        );
        // The hypervisor judges caps it cannot grant.
        assert_eq!(
            p(&["sched-credit", "-d", "x", "-c", "101"]),
            Ok(sc(Some("x"), None, Some(101)))
        );
        assert_eq!(
            p(&["sched-credit", "-d", "x", "-w", "65535", "-c", "0"]),
            Ok(sc(Some("x"), Some(65535), Some(0)))
        );
        let usage = "(usage: sched-credit [-d DOMAIN] [-w WEIGHT] [-c CAP])";
        assert_eq!(
            err(&["sched-credit", "-w", "5"]),
            format!("sched-credit: -w and -c need -d DOMAIN {usage}")
        );
        assert_eq!(
            err(&["sched-credit", "-d", "x", "-w", "0"]),
            format!("sched-credit: WEIGHT must be a number from 1 to 65535, not '0' {usage}")
        );
        assert_eq!(
            err(&["sched-credit", "-d", "x", "-w", "65536"]),
            format!("sched-credit: WEIGHT must be a number from 1 to 65535, not '65536' {usage}")
        );
        assert_eq!(
            err(&["sched-credit", "-d", "x", "-c", "-1"]),
            format!("sched-credit: CAP must be a number from 0 to 65534, not '-1' {usage}")
        );
        assert_eq!(
            err(&["sched-credit", "-d", "x", "-c", "65535"]),
            format!("sched-credit: CAP must be a number from 0 to 65534, not '65535' {usage}")
        );
        assert_eq!(
            err(&["sched-credit", "x"]),
            format!("sched-credit: unexpected argument 'x' {usage}")
        );
    }

    #[test]
    fn no_argument_commands_reject_arguments() {
        for name in [
            "info", "uptime", "poweroff", "selftest", "hostile", "version",
        ] {
            assert_eq!(
                p(&[name, "x"]),
                Err(ParseError::NoArguments {
                    command: find(name).unwrap().name
                })
            );
            assert_eq!(err(&[name, "-v"]), format!("'{name}' takes no arguments"));
        }
        assert_eq!(err(&["uptime", "now"]), "'uptime' takes no arguments");
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            err(&["foo"]),
            "unknown command 'foo'; type 'help' for the list"
        );
        assert_eq!(
            err(&["Help"]),
            "unknown command 'Help'; type 'help' for the list"
        );
        assert_eq!(err(&[""]), "unknown command ''; type 'help' for the list");
        assert_eq!(err(&[]), "empty command; type 'help' for the list");
        assert_eq!(
            err(&["dmesg", "-x"]),
            "dmesg: unknown option '-x' (usage: dmesg [-c])"
        );
        assert_eq!(
            err(&["dmesg", "--clear"]),
            "dmesg: unknown option '--clear' (usage: dmesg [-c])"
        );
        assert_eq!(
            err(&["dmesg", "foo"]),
            "dmesg: unexpected argument 'foo' (usage: dmesg [-c])"
        );
        assert_eq!(
            err(&["dmesg", "--", "-c"]),
            "dmesg: unexpected argument '-c' (usage: dmesg [-c])"
        );
        assert_eq!(
            err(&["help", "a", "b"]),
            "help: unexpected argument 'b' (usage: help [COMMAND])"
        );
        assert_eq!(
            err(&["help", "-v"]),
            "help: unknown option '-v' (usage: help [COMMAND])"
        );
        assert_eq!(
            err(&["help", "foo"]),
            "help: no command 'foo'; type 'help' for the list"
        );
        assert_eq!(
            p(&["help", "foo"]),
            Err(ParseError::UnknownHelpTopic("foo".into()))
        );
    }

    // Specs for commands that do not exist yet, to exercise the generic
    // checker the way later commands (create, sched-credit, ...) will.
    const WAIT: ArgSpec = ArgSpec {
        names: &["DOMAIN", "TIMEOUT"],
        min: 1,
        max: Some(2),
        flags: &[FlagSpec {
            name: "-q",
            value: None,
            help: "quiet",
        }],
        free_text: false,
    };
    const SCHED: ArgSpec = ArgSpec {
        names: &[],
        min: 0,
        max: Some(0),
        flags: &[
            FlagSpec {
                name: "-d",
                value: Some("DOMAIN"),
                help: "domain",
            },
            FlagSpec {
                name: "-w",
                value: Some("WEIGHT"),
                help: "weight",
            },
        ],
        free_text: false,
    };
    const DESTROY: ArgSpec = ArgSpec {
        names: &["DOMAIN"],
        min: 1,
        max: None,
        flags: &[],
        free_text: false,
    };

    fn spec(name: &'static str, args: ArgSpec) -> CommandSpec {
        CommandSpec {
            name,
            args,
            summary: "s",
            build: |_| Ok(Command::Info),
        }
    }

    #[test]
    fn generic_arg_checking() {
        let a = WAIT.check("wait", &["3"]).unwrap();
        assert_eq!(a.positional(), ["3"]);
        assert!(!a.has("-q"));
        let a = WAIT.check("wait", &["-q", "3", "10"]).unwrap();
        assert_eq!(
            (a.get(0), a.get(1), a.get(2)),
            (Some("3"), Some("10"), None)
        );
        assert!(a.has("-q"));
        let a = WAIT.check("wait", &["3", "-q"]).unwrap();
        assert!(a.has("-q"));
        assert_eq!(
            WAIT.check("wait", &[]),
            Err(ParseError::MissingArgument {
                command: "wait",
                name: "DOMAIN"
            })
        );
        assert_eq!(
            WAIT.check("wait", &["-q"]),
            Err(ParseError::MissingArgument {
                command: "wait",
                name: "DOMAIN"
            })
        );
        assert_eq!(
            WAIT.check("wait", &["1", "2", "3"]),
            Err(ParseError::UnexpectedArgument {
                command: "wait",
                argument: "3".into()
            })
        );
        // "-" alone is a positional argument.
        assert_eq!(WAIT.check("wait", &["-"]).unwrap().positional(), ["-"]);

        let a = SCHED
            .check("sched-credit", &["-d", "1", "-w", "256", "-d", "2"])
            .unwrap();
        assert_eq!(a.value("-d"), Some("2"));
        assert_eq!(a.value("-w"), Some("256"));
        assert_eq!(a.value("-x"), None);
        // A valued flag consumes the next token even if it looks like a flag.
        assert_eq!(
            SCHED
                .check("sched-credit", &["-d", "-w"])
                .unwrap()
                .value("-d"),
            Some("-w")
        );
        assert_eq!(
            SCHED.check("sched-credit", &["-w"]),
            Err(ParseError::MissingValue {
                command: "sched-credit",
                option: "-w"
            })
        );
        assert_eq!(
            SCHED.check("sched-credit", &["x"]),
            Err(ParseError::UnexpectedArgument {
                command: "sched-credit",
                argument: "x".into()
            })
        );

        assert_eq!(
            DESTROY.check("destroy", &[]),
            Err(ParseError::MissingArgument {
                command: "destroy",
                name: "DOMAIN"
            })
        );
        assert_eq!(
            DESTROY
                .check("destroy", &["1", "2", "3"])
                .unwrap()
                .positional()
                .len(),
            3
        );
    }

    #[test]
    fn derived_usage_lines() {
        assert_eq!(spec("wait", WAIT).usage(), "wait [-q] DOMAIN [TIMEOUT]");
        assert_eq!(
            spec("sched-credit", SCHED).usage(),
            "sched-credit [-d DOMAIN] [-w WEIGHT]"
        );
        assert_eq!(spec("destroy", DESTROY).usage(), "destroy DOMAIN...");
        assert_eq!(find("echo").unwrap().usage(), "echo [TEXT...]");
        assert_eq!(find("help").unwrap().usage(), "help [COMMAND]");
        assert_eq!(find("dmesg").unwrap().usage(), "dmesg [-c]");
        assert_eq!(find("uptime").unwrap().usage(), "uptime");
        assert_eq!(
            spec("sched-credit", SCHED).help(),
            "usage: sched-credit [-d DOMAIN] [-w WEIGHT]\ns\n  -d DOMAIN  domain\n  -w WEIGHT  weight\n"
        );
    }

    #[test]
    fn error_display_for_future_variants() {
        // MissingValue / MissingArgument / InvalidArgument name the usage
        // of commands in the table; for unknown names the usage is empty.
        assert_eq!(
            ParseError::MissingArgument {
                command: "help",
                name: "COMMAND"
            }
            .to_string(),
            "help: missing COMMAND (usage: help [COMMAND])"
        );
        assert_eq!(
            ParseError::InvalidArgument {
                command: "dmesg",
                message: "bad".into()
            }
            .to_string(),
            "dmesg: bad (usage: dmesg [-c])"
        );
        assert_eq!(
            ParseError::MissingValue {
                command: "dmesg",
                option: "-c"
            }
            .to_string(),
            "dmesg: option '-c' needs a value (usage: dmesg [-c])"
        );
    }

    #[test]
    fn table_is_consistent() {
        for (i, c) in COMMANDS.iter().enumerate() {
            assert!(!c.name.is_empty() && !c.name.contains(char::is_whitespace));
            assert!(
                COMMANDS[..i].iter().all(|o| o.name != c.name),
                "duplicate {}",
                c.name
            );
            assert!(!c.summary.is_empty() && !c.summary.contains('\n'));
            let a = &c.args;
            if let Some(max) = a.max {
                assert!(a.min <= max);
                assert!(a.names.len() >= max, "{}: name every positional", c.name);
            } else {
                assert!(!a.names.is_empty());
            }
            for f in a.flags {
                assert!(f.name.starts_with('-') && f.name.len() > 1);
            }
            // Every command parses with the minimum of arguments...
            let mut tokens = vec![c.name];
            tokens.extend((0..a.min).map(|_| "help"));
            assert!(parse(&tokens).is_ok(), "{}", c.name);
            // ... and its help mentions its usage.
            let help = help_text(Some(c.name)).unwrap();
            assert!(help.starts_with(&format!("usage: {}\n", c.usage())));
        }
    }

    #[test]
    fn help_output() {
        let all = help_text(None).unwrap();
        assert!(all.starts_with("Commands:\n"));
        for c in COMMANDS {
            assert!(
                all.lines()
                    .any(|l| l.trim_start().starts_with(c.name) && l.ends_with(c.summary)),
                "{}",
                c.name
            );
        }
        // Summaries are aligned.
        let cols: Vec<usize> = all
            .lines()
            .filter(|l| l.starts_with("  "))
            .map(|l| {
                l.find(find(l.split_whitespace().next().unwrap()).unwrap().summary)
                    .unwrap()
            })
            .collect();
        assert_eq!(cols.len(), COMMANDS.len());
        assert!(cols.iter().all(|&c| c == cols[0]));
        assert!(all.contains("  dmesg           Print the hypervisor message buffer\n"));

        assert_eq!(
            help_text(Some("dmesg")).unwrap(),
            "usage: dmesg [-c]\nPrint the hypervisor message buffer\n  -c  clear the buffer after printing it\n"
        );
        assert_eq!(
            help_text(Some("uptime")).unwrap(),
            "usage: uptime\nShow how long the hypervisor has been running\n"
        );
        assert_eq!(
            help_text(Some("nope")).unwrap_err().to_string(),
            "help: no command 'nope'; type 'help' for the list"
        );
    }

    #[test]
    fn parse_whole_lines() {
        assert_eq!(parse_line(""), Ok(vec![]));
        assert_eq!(parse_line("  ;  "), Ok(vec![]));
        assert_eq!(
            parse_line(r#"echo "hello world"; dmesg -c;uptime"#),
            Ok(vec![
                Command::Echo(vec!["hello world".into()]),
                Command::Dmesg { clear: true },
                Command::Uptime
            ])
        );
        // All or nothing: one bad command rejects the line.
        assert_eq!(
            parse_line("uptime; foo; reboot"),
            Err(ParseError::UnknownCommand("foo".into()))
        );
        assert_eq!(
            parse_line(r#"echo "x; reboot"#),
            Err(ParseError::UnterminatedQuote)
        );
        assert_eq!(
            parse_line("echo a;b").unwrap_err().to_string(),
            "unknown command 'b'; type 'help' for the list"
        );
    }
}
