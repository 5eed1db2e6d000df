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
        args: ArgSpec::NONE,
        summary: "Reboot the machine",
        build: |_| Ok(Command::Reboot),
    },
    CommandSpec {
        name: "poweroff",
        args: ArgSpec::NONE,
        summary: "Power the machine off",
        build: |_| Ok(Command::Poweroff),
    },
];

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
    fn no_argument_commands_reject_arguments() {
        for name in [
            "info", "uptime", "poweroff", "reboot", "selftest", "hostile", "version",
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
        assert!(all.contains("  dmesg     Print the hypervisor message buffer\n"));

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
