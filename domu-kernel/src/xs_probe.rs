//! `xs-probe peer=D`: checks, from an unprivileged guest, that XenStore enforces its rules
//! and survives malformed input: our own nodes are readable, domain D's are not readable or
//! writable, a transaction commits atomically, a watch fires, and bad messages (an oversized
//! header, an unknown type, a path without its NUL, a path with invalid characters) get error
//! replies after which normal requests still work. Each check prints one line (`xs-probe:
//! ...`, or `xs-probe: FAILURE: ...`), then a summary; the guest then idles.

use crate::power::Power;
use crate::sleep::{self, Wake, NS_PER_S};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use pvguest::xenstore::{self, XsError};
use pvguest::{println, time};
use xen_abi::xs_wire::{XsdSockmsg, XS_ERROR, XS_READ};
use zerocopy::IntoBytes;

/// Our watch token.
const TOKEN: &str = "xs-probe";
/// The node the watch check writes.
const WATCHED: &str = "data/probe";
/// Payload length announced by the oversized header (the limit is 4096).
const OVERSIZED_LEN: u32 = 100_000;
/// A message type no XenStore defines.
const UNKNOWN_TYPE: u32 = 9999;

#[derive(Default)]
struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    fn pass(&mut self, what: fmt::Arguments) {
        self.passed += 1;
        println!("xs-probe: {what}");
    }

    fn fail(&mut self, what: fmt::Arguments) {
        self.failed += 1;
        println!("xs-probe: FAILURE: {what}");
    }

    /// A request that must be refused with `expected`.
    fn refused<T>(&mut self, what: &str, result: Result<T, XsError>, expected: XsError) {
        match result {
            Err(e) if e == expected => self.pass(format_args!("{what} denied ({e})")),
            Err(e) => self.fail(format_args!("{what} failed with {e}, expected {expected}")),
            Ok(_) => self.fail(format_args!("{what} was allowed")),
        }
    }
}

pub fn run(peer: u16, power: &Power) -> ! {
    let mut t = Tally::default();
    println!("xs-probe: probing XenStore, peer domain {peer}");
    match xenstore::read("name") {
        Ok(name) => t.pass(format_args!("own name is \"{name}\"")),
        Err(e) => t.fail(format_args!("cannot read own name ({e})")),
    }
    let peer_dir = format!("/local/domain/{peer}");
    t.refused(&format!("read {peer_dir}/name"), xenstore::read(&format!("{peer_dir}/name")), XsError::EACCES);
    t.refused(&format!("write {peer_dir}/xs-probe"), xenstore::write(&format!("{peer_dir}/xs-probe"), "intruder"), XsError::EACCES);
    transaction(&mut t);
    watch(&mut t, power);
    hostile(&mut t);
    println!("xs-probe: done, {} checks passed, {} failed", t.passed, t.failed);
    sleep::until_power_request(power)
}

/// Two writes in a transaction: invisible outside it until the commit, both there after.
fn transaction(t: &mut Tally) {
    let keys = [("data/tx-a", "1"), ("data/tx-b", "2")];
    let mut committed = false;
    // A conflicting commit (EAGAIN) is retried, as every XenStore client must.
    for _attempt in 0..3 {
        let tx = match xenstore::transaction_start() {
            Ok(tx) => tx,
            Err(e) => return t.fail(format_args!("transaction start failed ({e})")),
        };
        for (key, value) in keys {
            if let Err(e) = xenstore::write_tx(tx, key, value) {
                let _ = xenstore::transaction_end(tx, false);
                return t.fail(format_args!("write {key} in transaction {tx} failed ({e})"));
            }
        }
        match xenstore::read(keys[0].0) {
            Err(e) if e == XsError::ENOENT => t.pass(format_args!("transaction writes are invisible outside it before the commit")),
            other => t.fail(format_args!("{} seen outside the transaction before the commit: {other:?}", keys[0].0)),
        }
        match xenstore::transaction_end(tx, true) {
            Ok(()) => {
                committed = true;
                break;
            }
            Err(e) if e == XsError::EAGAIN => continue,
            Err(e) => return t.fail(format_args!("transaction commit failed ({e})")),
        }
    }
    if !committed {
        return t.fail(format_args!("transaction commit kept conflicting (EAGAIN)"));
    }
    let read_back: Vec<Result<String, XsError>> = keys.iter().map(|(key, _)| xenstore::read(key)).collect();
    if keys.iter().zip(&read_back).all(|((_, want), got)| got.as_deref() == Ok(*want)) {
        t.pass(format_args!("transaction committed, data/tx-a=1 data/tx-b=2"));
    } else {
        t.fail(format_args!("after the commit read {read_back:?}, expected \"1\" and \"2\""));
    }
}

/// Sleep until a watch event with our token arrives, at most `secs` seconds; answers power
/// requests meanwhile.
fn wait_for_event(secs: u64, power: &Power) -> Option<String> {
    let deadline = time::now_ns().saturating_add(secs * NS_PER_S);
    match sleep::sleep_until_or(deadline, power, || xenstore::has_watch_event_for(TOKEN)) {
        Some(Wake::Power(request)) => power.act(request),
        Some(Wake::Deadline) => None,
        None => xenstore::take_watch_event_for(TOKEN),
    }
}

/// A watch on our `data/probe`: it fires once when set, then when the node is written.
fn watch(t: &mut Tally, power: &Power) {
    if let Err(e) = xenstore::watch(WATCHED, TOKEN) {
        return t.fail(format_args!("watch {WATCHED} failed ({e})"));
    }
    match wait_for_event(2, power) {
        Some(path) => t.pass(format_args!("watch on {WATCHED} fired once when set ({path})")),
        None => t.fail(format_args!("watch on {WATCHED} did not fire when set")),
    }
    if let Err(e) = xenstore::write(WATCHED, "hello") {
        return t.fail(format_args!("write {WATCHED} failed ({e})"));
    }
    match wait_for_event(5, power) {
        Some(path) if path.ends_with(WATCHED) => t.pass(format_args!("watch fired for {path} after the write")),
        Some(path) => t.fail(format_args!("watch fired for {path}, expected {WATCHED}")),
        None => t.fail(format_args!("no watch event within 5 s of writing {WATCHED}")),
    }
    if let Err(e) = xenstore::unwatch(WATCHED, TOKEN) {
        t.fail(format_args!("unwatch {WATCHED} failed ({e})"));
    }
}

/// A header as the caller wants it (any `len`), then `payload`.
fn raw_message(kind: u32, req_id: u32, len: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::from(XsdSockmsg::new(kind, req_id, 0, len).as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Send `bytes` as they are; the daemon must answer `XS_ERROR` (with `expected`'s name, when
/// given) echoing `req_id`.
fn expect_error_reply(t: &mut Tally, what: &str, bytes: &[u8], req_id: u32, expected: Option<XsError>) {
    if let Err(e) = xenstore::send_raw(bytes) {
        return t.fail(format_args!("{what}: cannot send ({e})"));
    }
    let reply = match xenstore::next_reply() {
        Ok(reply) => reply,
        Err(e) => return t.fail(format_args!("{what}: no reply ({e})")),
    };
    let name = String::from_utf8_lossy(reply.payload.strip_suffix(b"\0").unwrap_or(&reply.payload)).into_owned();
    let name_ok = expected.is_none_or(|e| e.name() == name);
    if reply.kind == XS_ERROR && reply.req_id == req_id && name_ok {
        t.pass(format_args!("{what} answered {name}"));
    } else {
        let want = expected.map_or("an error", XsError::name);
        t.fail(format_args!("{what} answered type {} id {:#x} \"{name}\", expected {want} for id {req_id:#x}", reply.kind, reply.req_id));
    }
}

/// Malformed messages, each answered with an error; then a normal request still works.
fn hostile(t: &mut Tally) {
    // Only the header: the daemon answers E2BIG and drops what it buffered, so nothing of
    // this message is left to confuse the next one.
    let id = 0xB16_0001;
    let what = format!("oversized message (len {OVERSIZED_LEN})");
    expect_error_reply(t, &what, &raw_message(XS_READ, id, OVERSIZED_LEN, b""), id, Some(XsError::E2BIG));
    let id = 0xB16_0002;
    let what = format!("unknown message type {UNKNOWN_TYPE}");
    expect_error_reply(t, &what, &raw_message(UNKNOWN_TYPE, id, 2, b"x\0"), id, None);
    let id = 0xB16_0003;
    expect_error_reply(t, "path without NUL", &raw_message(XS_READ, id, 4, b"name"), id, Some(XsError::EINVAL));
    let id = 0xB16_0004;
    let path = b"data/bad path!\0";
    expect_error_reply(t, "path with invalid characters", &raw_message(XS_READ, id, path.len() as u32, path), id, Some(XsError::EINVAL));
    match xenstore::read("name") {
        Ok(_) => t.pass(format_args!("normal read after the hostile messages works")),
        Err(e) => t.fail(format_args!("normal read after the hostile messages failed ({e})")),
    }
}
