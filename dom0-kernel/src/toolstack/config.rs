//! Domain configuration files: a subset of `xl.cfg` syntax.
//!
//! A file is a list of settings `key = value`, one per line or separated
//! by `;`. `#` starts a comment that runs to the end of the line. Values
//! are:
//!
//! - strings in double or single quotes (`"domu.elf"`, `'x'`); inside them
//!   a backslash escapes the quote, a backslash, `n` (newline) and `t`
//!   (tab);
//! - integers, decimal or `0x` hexadecimal, optionally negative;
//! - lists `[ "a", "b" ]` of values, which may span lines and may end with
//!   a comma.
//!
//! [`parse_settings`] turns text into [`Setting`]s; [`DomainConfig`]
//! checks them against the keys this toolstack knows. `create` also takes
//! `key=value` overrides ([`parse_override`]) whose values may be left
//! unquoted.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A quoted string (or an unquoted override value).
    Str(String),
    /// An integer.
    Int(i64),
    /// A list of values.
    List(Vec<Value>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::List(_) => "a list",
        }
    }
}

/// Where a setting came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Line of the configuration file (1-based).
    Line(usize),
    /// A `key=value` override given to `create`, as typed.
    Override(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Line(n) => write!(f, "line {n}"),
            Origin::Override(text) => write!(f, "override '{text}'"),
        }
    }
}

/// One `key = value` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The key as written.
    pub key: String,
    /// The parsed value.
    pub value: Value,
    /// Where it was written.
    pub origin: Origin,
    /// For overrides: the value text as typed (an unquoted `name=123` is
    /// still a fine name).
    pub raw: Option<String>,
}

/// A configuration error: where (if known) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The line or override at fault; `None` for the file as a whole (a
    /// missing key).
    pub origin: Option<Origin>,
    /// What is wrong, e.g. `unknown key 'foo'`.
    pub message: String,
}

impl ConfigError {
    fn at(origin: &Origin, message: impl Into<String>) -> Self {
        ConfigError {
            origin: Some(origin.clone()),
            message: message.into(),
        }
    }

    fn line(line: usize, message: impl Into<String>) -> Self {
        Self::at(&Origin::Line(line), message)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{o}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl core::error::Error for ConfigError {}

// ---------------------------------------------------------------------------
// Lexer and parser.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Eq,
    Open,
    Close,
    Comma,
    Semi,
    Newline,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Str(_) => "a string".into(),
            Tok::Int(_) => "a number".into(),
            Tok::Eq => "'='".into(),
            Tok::Open => "'['".into(),
            Tok::Close => "']'".into(),
            Tok::Comma => "','".into(),
            Tok::Semi => "';'".into(),
            Tok::Newline => "the end of the line".into(),
            Tok::Eof => "the end of the file".into(),
        }
    }
}

struct Lexer<'a> {
    chars: core::iter::Peekable<core::str::Chars<'a>>,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '=' | '[' | ']' | ',' | ';' | '#' | '"' | '\'')
}

fn parse_int(word: &str) -> Option<i64> {
    let (neg, digits) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            i64::from_str_radix(hex, 16).ok()?
        }
        Some(_) => return None,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i64>().ok()?
        }
        None => return None,
    };
    Some(if neg { -magnitude } else { magnitude })
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.chars().peekable(),
            line: 1,
        }
    }

    /// The next token and the line it starts on.
    fn next(&mut self) -> Result<(Tok, usize), ConfigError> {
        loop {
            let Some(&c) = self.chars.peek() else {
                return Ok((Tok::Eof, self.line));
            };
            let line = self.line;
            match c {
                '\n' => {
                    self.chars.next();
                    self.line += 1;
                    return Ok((Tok::Newline, line));
                }
                c if c.is_whitespace() => {
                    self.chars.next();
                }
                '#' => {
                    while self.chars.peek().is_some_and(|&c| c != '\n') {
                        self.chars.next();
                    }
                }
                '=' | '[' | ']' | ',' | ';' => {
                    self.chars.next();
                    let tok = match c {
                        '=' => Tok::Eq,
                        '[' => Tok::Open,
                        ']' => Tok::Close,
                        ',' => Tok::Comma,
                        _ => Tok::Semi,
                    };
                    return Ok((tok, line));
                }
                '"' | '\'' => {
                    self.chars.next();
                    return Ok((Tok::Str(self.string(c)?), line));
                }
                _ => {
                    let mut word = String::new();
                    while let Some(&c) = self.chars.peek() {
                        if !is_word_char(c) {
                            break;
                        }
                        word.push(c);
                        self.chars.next();
                    }
                    if let Some(n) = parse_int(&word) {
                        return Ok((Tok::Int(n), line));
                    }
                    let mut chars = word.chars();
                    if chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char) {
                        return Ok((Tok::Ident(word), line));
                    }
                    if word.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                        return Err(ConfigError::line(line, format!("bad number '{word}'")));
                    }
                    return Err(ConfigError::line(
                        line,
                        format!("unexpected '{word}' (strings need quotes)"),
                    ));
                }
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<String, ConfigError> {
        let line = self.line;
        let mut s = String::new();
        loop {
            match self.chars.next() {
                None | Some('\n') => {
                    return Err(ConfigError::line(
                        line,
                        format!("unterminated string; add the closing {quote}"),
                    ))
                }
                Some(c) if c == quote => return Ok(s),
                Some('\\') => match self.chars.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c @ ('\\' | '"' | '\'')) => s.push(c),
                    Some(c) if c != '\n' => {
                        s.push('\\');
                        s.push(c);
                    }
                    _ => {
                        return Err(ConfigError::line(
                            line,
                            format!("unterminated string; add the closing {quote}"),
                        ))
                    }
                },
                Some(c) => s.push(c),
            }
        }
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<(Tok, usize)>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            lexer: Lexer::new(text),
            peeked: None,
        }
    }

    fn next(&mut self) -> Result<(Tok, usize), ConfigError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next(),
        }
    }

    fn peek(&mut self) -> Result<&(Tok, usize), ConfigError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    /// A value: string, integer or list. Newlines are allowed inside lists.
    fn value(&mut self) -> Result<Value, ConfigError> {
        let (tok, line) = self.next()?;
        match tok {
            Tok::Str(s) => Ok(Value::Str(s)),
            Tok::Int(n) => Ok(Value::Int(n)),
            Tok::Open => {
                let mut items = Vec::new();
                loop {
                    self.skip_newlines()?;
                    if self.peek()?.0 == Tok::Close {
                        self.next()?;
                        return Ok(Value::List(items));
                    }
                    items.push(self.value()?);
                    self.skip_newlines()?;
                    let (tok, line) = self.next()?;
                    match tok {
                        Tok::Comma => {}
                        Tok::Close => return Ok(Value::List(items)),
                        Tok::Eof => {
                            return Err(ConfigError::line(line, "unterminated list; add the ']'"))
                        }
                        other => {
                            return Err(ConfigError::line(
                                line,
                                format!(
                                    "expected ',' or ']' in a list, found {}",
                                    other.describe()
                                ),
                            ))
                        }
                    }
                }
            }
            Tok::Ident(word) => Err(ConfigError::line(
                line,
                format!("unexpected '{word}' (strings need quotes)"),
            )),
            other => Err(ConfigError::line(
                line,
                format!("expected a value, found {}", other.describe()),
            )),
        }
    }

    fn skip_newlines(&mut self) -> Result<(), ConfigError> {
        while self.peek()?.0 == Tok::Newline {
            self.next()?;
        }
        Ok(())
    }
}

/// Parses configuration text into its settings, in file order. Syntax
/// errors name the line.
pub fn parse_settings(text: &str) -> Result<Vec<Setting>, ConfigError> {
    let mut p = Parser::new(text);
    let mut settings = Vec::new();
    loop {
        let (tok, line) = p.next()?;
        let key = match tok {
            Tok::Eof => return Ok(settings),
            Tok::Newline | Tok::Semi => continue,
            Tok::Ident(key) => key,
            other => {
                return Err(ConfigError::line(
                    line,
                    format!("expected a key, found {}", other.describe()),
                ))
            }
        };
        match p.next()? {
            (Tok::Eq, _) => {}
            (other, line) => {
                return Err(ConfigError::line(
                    line,
                    format!("expected '=' after '{key}', found {}", other.describe()),
                ))
            }
        }
        let value = p.value()?;
        match p.next()? {
            (Tok::Newline | Tok::Semi | Tok::Eof, _) => {}
            (other, line) => {
                return Err(ConfigError::line(
                    line,
                    format!(
                        "expected the end of the line after the value of '{key}', found {}",
                        other.describe()
                    ),
                ))
            }
        }
        settings.push(Setting {
            key,
            value,
            origin: Origin::Line(line),
            raw: None,
        });
    }
}

/// Parses a `create` override `key=value`. The value uses the file syntax
/// when it is a complete quoted string, number or list; anything else is
/// taken as an unquoted string (`name=spin2`, `extra=a b`).
pub fn parse_override(text: &str) -> Result<Setting, ConfigError> {
    let origin = Origin::Override(text.to_owned());
    let Some((key, raw)) = text.split_once('=') else {
        return Err(ConfigError::at(&origin, "expected KEY=VALUE"));
    };
    let key = key.trim();
    let mut chars = key.chars();
    if !(chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char)) {
        return Err(ConfigError::at(&origin, format!("bad key '{key}'")));
    }
    let value = parse_whole_value(raw.trim()).unwrap_or_else(|| Value::Str(raw.to_owned()));
    Ok(Setting {
        key: key.to_owned(),
        value,
        origin,
        raw: Some(raw.to_owned()),
    })
}

/// `text` as exactly one value in file syntax, or `None`.
fn parse_whole_value(text: &str) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    let mut p = Parser::new(text);
    let value = p.value().ok()?;
    match p.next().ok()? {
        (Tok::Eof, _) => Some(value),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// The checked configuration.

/// What to do when a domain stops (`on_poweroff`, `on_reboot`, `on_crash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnEvent {
    /// Destroy the domain.
    Destroy,
    /// Destroy it and create it again from the same configuration.
    Restart,
    /// Leave it as it is (shut down or crashed) for inspection.
    Preserve,
}

impl OnEvent {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OnEvent::Destroy => "destroy",
            OnEvent::Restart => "restart",
            OnEvent::Preserve => "preserve",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "destroy" => Some(OnEvent::Destroy),
            "restart" => Some(OnEvent::Restart),
            "preserve" => Some(OnEvent::Preserve),
            _ => None,
        }
    }
}

/// Default memory in MiB.
pub const DEFAULT_MEMORY_MIB: u64 = 16;
/// Smallest memory a domain may have, in MiB.
pub const MIN_MEMORY_MIB: u64 = 4;
/// Default credit weight.
pub const DEFAULT_WEIGHT: u16 = 256;
/// Longest domain name.
pub const MAX_NAME_LEN: usize = 64;
/// The name Dom0 goes by.
pub const DOM0_NAME: &str = "Domain-0";

/// A checked domain configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainConfig {
    /// Domain name (unique among live domains).
    pub name: String,
    /// Path of the kernel in the boot bundle, e.g. `images/domu.elf`.
    pub kernel: String,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Number of vCPUs (1 for now).
    pub vcpus: u32,
    /// Kernel command line (`extra` or `cmdline`).
    pub cmdline: String,
    /// Action when the domain powers off.
    pub on_poweroff: OnEvent,
    /// Action when the domain reboots.
    pub on_reboot: OnEvent,
    /// Action when the domain crashes.
    pub on_crash: OnEvent,
    /// Credit scheduler weight, 1..=65535.
    pub weight: u16,
    /// Credit scheduler cap in percent of one CPU, 0..=100 (0: none).
    pub cap: u16,
}

/// Every key [`DomainConfig`] accepts.
pub const KEYS: &[&str] = &[
    "name",
    "type",
    "kernel",
    "memory",
    "vcpus",
    "extra",
    "cmdline",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "weight",
    "cap",
];

fn want_str(s: &Setting) -> Result<String, ConfigError> {
    match (&s.value, &s.raw) {
        (Value::Str(v), _) => Ok(v.clone()),
        (Value::Int(_), Some(raw)) => Ok(raw.trim().to_owned()),
        (v, _) => Err(ConfigError::at(
            &s.origin,
            format!("{}: expected a string, got {}", s.key, v.kind()),
        )),
    }
}

fn want_int(s: &Setting, min: i64, max: i64) -> Result<i64, ConfigError> {
    match s.value {
        Value::Int(n) if (min..=max).contains(&n) => Ok(n),
        Value::Int(n) => Err(ConfigError::at(
            &s.origin,
            format!("{}: {n} is out of range ({min} to {max})", s.key),
        )),
        ref v => Err(ConfigError::at(
            &s.origin,
            format!("{}: expected an integer, got {}", s.key, v.kind()),
        )),
    }
}

fn check_name(s: &Setting, name: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| Err(ConfigError::at(&s.origin, format!("name: {why}")));
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad(&format!("longer than {MAX_NAME_LEN} characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return bad("use printable characters without spaces");
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return bad("must not be a number (it would read as a domain id)");
    }
    if name == DOM0_NAME {
        return bad("'Domain-0' is Dom0's name");
    }
    Ok(())
}

/// The bundle path of a `kernel` value: a bare file name lives under
/// `images/`; a value with a `/` (`images/x.elf`, `tests/x.elf`) is taken
/// as is.
pub fn kernel_path(value: &str) -> String {
    let value = value.strip_prefix("./").unwrap_or(value);
    if value.contains('/') {
        value.to_owned()
    } else {
        format!("images/{value}")
    }
}

/// The bundle path of a configuration named on the command line: `idle`
/// and `idle.cfg` mean `configs/idle.cfg`; a name with a `/` is taken as
/// is.
pub fn config_path(arg: &str) -> String {
    let arg = arg.strip_prefix("./").unwrap_or(arg);
    if arg.contains('/') {
        arg.to_owned()
    } else if arg.ends_with(".cfg") {
        format!("configs/{arg}")
    } else {
        format!("configs/{arg}.cfg")
    }
}

impl DomainConfig {
    /// Checks settings (file order; later ones win) against the known keys
    /// and fills in defaults.
    pub fn from_settings(settings: &[Setting]) -> Result<Self, ConfigError> {
        let mut name = None;
        let mut kernel = None;
        let mut c = DomainConfig {
            name: String::new(),
            kernel: String::new(),
            memory_mib: DEFAULT_MEMORY_MIB,
            vcpus: 1,
            cmdline: String::new(),
            on_poweroff: OnEvent::Destroy,
            on_reboot: OnEvent::Restart,
            on_crash: OnEvent::Destroy,
            weight: DEFAULT_WEIGHT,
            cap: 0,
        };
        for s in settings {
            match s.key.as_str() {
                "name" => {
                    let v = want_str(s)?;
                    check_name(s, &v)?;
                    name = Some(v);
                }
                "type" => {
                    let v = want_str(s)?;
                    if v != "pv" {
                        return Err(ConfigError::at(
                            &s.origin,
                            format!("type: only \"pv\" domains are supported, not '{v}'"),
                        ));
                    }
                }
                "kernel" => {
                    let v = want_str(s)?;
                    if v.is_empty() {
                        return Err(ConfigError::at(&s.origin, "kernel: must not be empty"));
                    }
                    kernel = Some(kernel_path(&v));
                }
                "memory" => {
                    let n = want_int(s, i64::MIN, i64::MAX)?;
                    if n < MIN_MEMORY_MIB as i64 {
                        return Err(ConfigError::at(
                            &s.origin,
                            format!("memory: {n} MiB is too small (at least {MIN_MEMORY_MIB})"),
                        ));
                    }
                    c.memory_mib = n as u64;
                }
                "vcpus" => {
                    if want_int(s, i64::MIN, i64::MAX)? != 1 {
                        return Err(ConfigError::at(
                            &s.origin,
                            "vcpus: only 1 vCPU per domain is supported for now",
                        ));
                    }
                    c.vcpus = 1;
                }
                "extra" | "cmdline" => {
                    let v = want_str(s)?;
                    let max = xen_abi::start_info::MAX_GUEST_CMDLINE - 1;
                    if v.len() > max {
                        return Err(ConfigError::at(
                            &s.origin,
                            format!("{}: longer than {max} bytes", s.key),
                        ));
                    }
                    c.cmdline = v;
                }
                key @ ("on_poweroff" | "on_reboot" | "on_crash") => {
                    let v = want_str(s)?;
                    let action = OnEvent::parse(&v).ok_or_else(|| {
                        ConfigError::at(
                            &s.origin,
                            format!("{key}: expected destroy, restart or preserve, not '{v}'"),
                        )
                    })?;
                    match key {
                        "on_poweroff" => c.on_poweroff = action,
                        "on_reboot" => c.on_reboot = action,
                        _ => c.on_crash = action,
                    }
                }
                "weight" => c.weight = want_int(s, 1, 65535)? as u16,
                "cap" => c.cap = want_int(s, 0, 100)? as u16,
                other => {
                    return Err(ConfigError::at(&s.origin, format!("unknown key '{other}'")));
                }
            }
        }
        c.name = name.ok_or_else(|| ConfigError {
            origin: None,
            message: "missing 'name'".into(),
        })?;
        c.kernel = kernel.ok_or_else(|| ConfigError {
            origin: None,
            message: "missing 'kernel'".into(),
        })?;
        Ok(c)
    }

    /// Parses a file and applies `key=value` overrides on top of it.
    pub fn parse(text: &str, overrides: &[&str]) -> Result<Self, ConfigError> {
        let mut settings = parse_settings(text)?;
        for o in overrides {
            settings.push(parse_override(o)?);
        }
        Self::from_settings(&settings)
    }

    /// A configuration from overrides only (`create --kernel PATH ...`).
    pub fn from_overrides(kernel: &str, overrides: &[&str]) -> Result<Self, ConfigError> {
        let mut settings = alloc::vec![Setting {
            key: "kernel".into(),
            value: Value::Str(kernel.to_owned()),
            origin: Origin::Override(format!("--kernel {kernel}")),
            raw: None,
        }];
        for o in overrides {
            settings.push(parse_override(o)?);
        }
        Self::from_settings(&settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn err(text: &str) -> String {
        DomainConfig::parse(text, &[]).unwrap_err().to_string()
    }

    const MINIMAL: &str = "name = \"a\"\nkernel = \"domu.elf\"\n";

    #[test]
    fn values_comments_and_lines() {
        let text = "# a comment\n\
                    name = \"idle\"   # trailing comment\n\
                    \n\
                    kernel='tests/x.elf'; memory = 32\n\
                    hex = 0x10\n\
                    neg=-3\n\
                    disk = [ \"a\", 'b',\n   3, ]\n\
                    empty = []\n\
                    esc = \"q\\\"uo\\\\te\\n\\x\"\n";
        let got = parse_settings(text).unwrap();
        let kv: Vec<(&str, &Value, &Origin)> = got
            .iter()
            .map(|s| (s.key.as_str(), &s.value, &s.origin))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("name", &s("idle"), &Origin::Line(2)),
                ("kernel", &s("tests/x.elf"), &Origin::Line(4)),
                ("memory", &Value::Int(32), &Origin::Line(4)),
                ("hex", &Value::Int(16), &Origin::Line(5)),
                ("neg", &Value::Int(-3), &Origin::Line(6)),
                (
                    "disk",
                    &Value::List(vec![s("a"), s("b"), Value::Int(3)]),
                    &Origin::Line(7)
                ),
                ("empty", &Value::List(vec![]), &Origin::Line(9)),
                ("esc", &s("q\"uo\\te\n\\x"), &Origin::Line(10)),
            ]
        );
        assert_eq!(parse_settings("").unwrap(), vec![]);
        assert_eq!(parse_settings("\n# only\n  \n;;").unwrap(), vec![]);
        // No newline at the end of the file.
        assert_eq!(parse_settings("a=1").unwrap()[0].value, Value::Int(1));
        // '#' inside a string is text.
        assert_eq!(parse_settings("a='x#y'").unwrap()[0].value, s("x#y"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = |t: &str| parse_settings(t).unwrap_err().to_string();
        assert_eq!(
            e("a = \"x"),
            "line 1: unterminated string; add the closing \""
        );
        assert_eq!(
            e("\n\nb = 'x\n'"),
            "line 3: unterminated string; add the closing '"
        );
        assert_eq!(
            e("name = idle"),
            "line 1: unexpected 'idle' (strings need quotes)"
        );
        assert_eq!(
            e("a\n"),
            "line 1: expected '=' after 'a', found the end of the line"
        );
        assert_eq!(
            e("a = "),
            "line 1: expected a value, found the end of the file"
        );
        assert_eq!(
            e("a = 1 2"),
            "line 1: expected the end of the line after the value of 'a', found a number"
        );
        assert_eq!(e("= 1"), "line 1: expected a key, found '='");
        assert_eq!(e("a = [1\n\n"), "line 3: unterminated list; add the ']'");
        assert_eq!(
            e("a = [1 2]"),
            "line 1: expected ',' or ']' in a list, found a number"
        );
        assert_eq!(e("x=1\nm = 12abc"), "line 2: bad number '12abc'");
        assert_eq!(e("m = 0xZZ"), "line 1: bad number '0xZZ'");
        assert_eq!(
            e("m = 99999999999999999999"),
            "line 1: bad number '99999999999999999999'"
        );
        assert_eq!(
            e("a = 'x' # fine\nb = @"),
            "line 2: unexpected '@' (strings need quotes)"
        );
    }

    #[test]
    fn defaults() {
        let c = DomainConfig::parse(MINIMAL, &[]).unwrap();
        assert_eq!(
            c,
            DomainConfig {
                name: "a".into(),
                kernel: "images/domu.elf".into(),
                memory_mib: 16,
                vcpus: 1,
                cmdline: String::new(),
                on_poweroff: OnEvent::Destroy,
                on_reboot: OnEvent::Restart,
                on_crash: OnEvent::Destroy,
                weight: 256,
                cap: 0,
            }
        );
    }

    #[test]
    fn every_key() {
        let text = "name = 'spin'\n\
                    type = \"pv\"\n\
                    kernel = \"tests/tg-spin.elf\"\n\
                    memory = 64\n\
                    vcpus = 1\n\
                    extra = \"loops=5 verbose\"\n\
                    on_poweroff = \"preserve\"\n\
                    on_reboot = \"destroy\"\n\
                    on_crash = 'restart'\n\
                    weight = 512\n\
                    cap = 50\n";
        let c = DomainConfig::parse(text, &[]).unwrap();
        assert_eq!(c.name, "spin");
        assert_eq!(c.kernel, "tests/tg-spin.elf");
        assert_eq!(c.memory_mib, 64);
        assert_eq!(c.vcpus, 1);
        assert_eq!(c.cmdline, "loops=5 verbose");
        assert_eq!(c.on_poweroff, OnEvent::Preserve);
        assert_eq!(c.on_reboot, OnEvent::Destroy);
        assert_eq!(c.on_crash, OnEvent::Restart);
        assert_eq!((c.weight, c.cap), (512, 50));
        // cmdline is a synonym of extra; the later one wins.
        let c = DomainConfig::parse(&format!("{MINIMAL}extra='a'\ncmdline='b'"), &[]).unwrap();
        assert_eq!(c.cmdline, "b");
        // Boundaries.
        let c = DomainConfig::parse(&format!("{MINIMAL}memory=4\nweight=1\ncap=100"), &[]).unwrap();
        assert_eq!((c.memory_mib, c.weight, c.cap), (4, 1, 100));
        let c = DomainConfig::parse(&format!("{MINIMAL}weight=65535\ncap=0"), &[]).unwrap();
        assert_eq!((c.weight, c.cap), (65535, 0));
        assert_eq!(OnEvent::Restart.as_str(), "restart");
    }

    #[test]
    fn bad_values() {
        let e = |extra: &str| err(&format!("{MINIMAL}{extra}"));
        assert_eq!(
            e("memory = 3"),
            "line 3: memory: 3 MiB is too small (at least 4)"
        );
        assert_eq!(
            e("memory = -1"),
            "line 3: memory: -1 MiB is too small (at least 4)"
        );
        assert_eq!(
            e("memory = \"32\""),
            "line 3: memory: expected an integer, got a string"
        );
        assert_eq!(
            e("vcpus = 2"),
            "line 3: vcpus: only 1 vCPU per domain is supported for now"
        );
        assert_eq!(
            e("vcpus = 0"),
            "line 3: vcpus: only 1 vCPU per domain is supported for now"
        );
        assert_eq!(
            e("weight = 0"),
            "line 3: weight: 0 is out of range (1 to 65535)"
        );
        assert_eq!(
            e("weight = 65536"),
            "line 3: weight: 65536 is out of range (1 to 65535)"
        );
        assert_eq!(
            e("cap = 101"),
            "line 3: cap: 101 is out of range (0 to 100)"
        );
        assert_eq!(
            e("cap = [1]"),
            "line 3: cap: expected an integer, got a list"
        );
        assert_eq!(
            e("on_crash = \"coredump\""),
            "line 3: on_crash: expected destroy, restart or preserve, not 'coredump'"
        );
        assert_eq!(
            e("on_reboot = 1"),
            "line 3: on_reboot: expected a string, got an integer"
        );
        assert_eq!(
            e("type = \"hvm\""),
            "line 3: type: only \"pv\" domains are supported, not 'hvm'"
        );
        assert_eq!(e("kernel = ''"), "line 3: kernel: must not be empty");
        let long = "x".repeat(1024);
        assert_eq!(
            e(&format!("extra = '{long}'")),
            "line 3: extra: longer than 1023 bytes"
        );
        assert!(DomainConfig::parse(&format!("{MINIMAL}extra='{}'", &long[1..]), &[]).is_ok());
    }

    #[test]
    fn bad_names() {
        let e = |name: &str| err(&format!("kernel='k'\nname = '{name}'"));
        assert_eq!(e(""), "line 2: name: must not be empty");
        assert_eq!(
            e("a b"),
            "line 2: name: use printable characters without spaces"
        );
        assert_eq!(
            e("42"),
            "line 2: name: must not be a number (it would read as a domain id)"
        );
        assert_eq!(e("Domain-0"), "line 2: name: 'Domain-0' is Dom0's name");
        assert_eq!(
            e(&"n".repeat(65)),
            "line 2: name: longer than 64 characters"
        );
        assert!(
            DomainConfig::parse(&format!("kernel='k'\nname='{}'", "n".repeat(64)), &[]).is_ok()
        );
        assert_eq!(
            err("kernel='k'\nname = 7"),
            "line 2: name: expected a string, got an integer"
        );
    }

    #[test]
    fn unknown_and_missing_keys() {
        assert_eq!(
            err("name='a'\nkernel='k'\n\n# x\nvif = ['bridge=xenbr0']"),
            "line 5: unknown key 'vif'"
        );
        assert_eq!(err("nmae = 'a'"), "line 1: unknown key 'nmae'");
        assert_eq!(err("kernel = 'k'"), "missing 'name'");
        assert_eq!(err("name = 'a'"), "missing 'kernel'");
        assert_eq!(err(""), "missing 'name'");
        let e = DomainConfig::parse("name='a'", &[]).unwrap_err();
        assert_eq!(e.origin, None);
    }

    #[test]
    fn overrides() {
        let c = DomainConfig::parse(
            MINIMAL,
            &[
                "name=spin2",
                "weight=512",
                "extra=a b",
                "memory=0x20",
                "on_crash=preserve",
                "cap=\"5\"x",
            ],
        );
        // `cap="5"x` is not a whole value, so it is the string `"5"x`.
        assert_eq!(
            c.unwrap_err().to_string(),
            "override 'cap=\"5\"x': cap: expected an integer, got a string"
        );
        let c = DomainConfig::parse(
            MINIMAL,
            &[
                "name=spin2",
                "weight=512",
                "extra=a b",
                "memory=0x20",
                "on_crash=preserve",
                "kernel=tests/t.elf",
            ],
        )
        .unwrap();
        assert_eq!(c.name, "spin2");
        assert_eq!(c.weight, 512);
        assert_eq!(c.cmdline, "a b");
        assert_eq!(c.memory_mib, 32);
        assert_eq!(c.on_crash, OnEvent::Preserve);
        assert_eq!(c.kernel, "tests/t.elf");
        // Quoted values keep the file syntax; numbers typed for a string key are text.
        let c = DomainConfig::parse(MINIMAL, &["extra='x=1 y'", "name=007b", "cmdline="]).unwrap();
        assert_eq!((c.cmdline.as_str(), c.name.as_str()), ("", "007b"));
        let c = DomainConfig::parse(MINIMAL, &["extra=\"q\"", "name=1x"]).unwrap();
        assert_eq!((c.cmdline.as_str(), c.name.as_str()), ("q", "1x"));
        let e = |o: &str| DomainConfig::parse(MINIMAL, &[o]).unwrap_err().to_string();
        assert_eq!(e("memory"), "override 'memory': expected KEY=VALUE");
        assert_eq!(e("=3"), "override '=3': bad key ''");
        assert_eq!(e("mem ory=3"), "override 'mem ory=3': bad key 'mem ory'");
        assert_eq!(e("foo=1"), "override 'foo=1': unknown key 'foo'");
        assert_eq!(
            e("memory=big"),
            "override 'memory=big': memory: expected an integer, got a string"
        );
        assert_eq!(
            e("vcpus=2"),
            "override 'vcpus=2': vcpus: only 1 vCPU per domain is supported for now"
        );
        assert_eq!(
            e("name=12"),
            "override 'name=12': name: must not be a number (it would read as a domain id)"
        );
        // A syntax error in the file comes before any override.
        assert_eq!(
            DomainConfig::parse("name='a", &["foo=1"])
                .unwrap_err()
                .to_string(),
            "line 1: unterminated string; add the closing '"
        );
        // Lists are kept.
        assert_eq!(
            parse_override("l=[1, 'a']").unwrap().value,
            Value::List(vec![Value::Int(1), s("a")])
        );
    }

    #[test]
    fn kernel_only() {
        let c =
            DomainConfig::from_overrides("tests/tg-usermode.elf", &["name=x", "extra=a"]).unwrap();
        assert_eq!(
            (c.name.as_str(), c.kernel.as_str(), c.cmdline.as_str()),
            ("x", "tests/tg-usermode.elf", "a")
        );
        assert_eq!(
            DomainConfig::from_overrides("domu.elf", &[])
                .unwrap_err()
                .to_string(),
            "missing 'name'"
        );
        assert_eq!(
            DomainConfig::from_overrides("domu.elf", &["name=y"])
                .unwrap()
                .kernel,
            "images/domu.elf"
        );
    }

    #[test]
    fn shipped_configs_parse() {
        // The example configurations the boot bundle carries (configs/*.cfg), if present.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "cfg") {
                let text = std::fs::read_to_string(&path).unwrap();
                let c = DomainConfig::parse(&text, &[]);
                assert!(c.is_ok(), "{}: {}", path.display(), c.unwrap_err());
            }
        }
    }

    #[test]
    fn paths() {
        assert_eq!(kernel_path("domu.elf"), "images/domu.elf");
        assert_eq!(kernel_path("images/domu.elf"), "images/domu.elf");
        assert_eq!(kernel_path("tests/tg.elf"), "tests/tg.elf");
        assert_eq!(kernel_path("./tests/tg.elf"), "tests/tg.elf");
        assert_eq!(config_path("idle"), "configs/idle.cfg");
        assert_eq!(config_path("idle.cfg"), "configs/idle.cfg");
        assert_eq!(config_path("configs/idle.cfg"), "configs/idle.cfg");
        assert_eq!(config_path("./configs/idle.cfg"), "configs/idle.cfg");
    }
}
