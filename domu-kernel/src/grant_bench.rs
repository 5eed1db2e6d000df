//! `grant-bench n=N`: grant-copy throughput against `memcpy`, inside one guest. We grant one of
//! our pages to ourselves and time N `GNTTABOP_copy`s of a whole page from another of our
//! frames into that grant (each one hypercall: validate both ends, pin the grant, copy, unpin),
//! then N 4096-byte `memcpy`s between two ordinary pages, and print both rates:
//! `grant-bench: N copies, grant copy X MB/s, memcpy Y MB/s`.

use crate::pages::{OwnPage, PAGE_WORDS};
use crate::power::Power;
use domu_kernel::vping_proto::{megabytes_per_second, pattern_word};
use pvguest::grant::{self, CopyEnd};
use pvguest::{println, time};
use xen_abi::domid::{DomId, DOMID_SELF};

const PAGE: u16 = xen_abi::PAGE_SIZE as u16;

pub fn run(copies: u64, power: &Power) -> ! {
    match bench(copies) {
        Ok((grant_mbs, memcpy_mbs)) => {
            println!("grant-bench: {copies} copies, grant copy {grant_mbs} MB/s, memcpy {memcpy_mbs} MB/s")
        }
        Err(why) => println!("grant-bench: FAILED: {why}"),
    }
    crate::sleep::until_power_request(power)
}

/// Our domain id: a grant names the grantee by id, and the hypervisor checks it against the
/// domain that uses it. From the builder's `domid=N`, else XenStore.
fn own_domid() -> Option<DomId> {
    let line = core::str::from_utf8(xen_abi::c_string_bytes(&pvguest::start_info().cmd_line)).unwrap_or("");
    domu_kernel::cmdline::domid(line).or_else(|| pvguest::xenstore::read("domid").ok()?.parse().ok())
}

/// Both rates in MB/s, or what went wrong.
fn bench(copies: u64) -> Result<(u64, u64), &'static str> {
    grant::init(1).map_err(|_| "cannot set up our grant table")?;
    let domid = own_domid().ok_or("cannot tell our domain id")?;
    let (source, granted, plain) = match (OwnPage::new(), OwnPage::new(), OwnPage::new()) {
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => return Err("out of heap pages"),
    };
    for i in 0..PAGE_WORDS {
        source.write_word(i, pattern_word(0x5eed, i));
    }
    let source_mfn = source.mfn().ok_or("no machine frame behind our page")?;
    let granted_mfn = granted.mfn().ok_or("no machine frame behind our page")?;
    let gref = grant::grant_access(domid, granted_mfn, false).map_err(|_| "cannot grant our page to ourselves")?;
    let from = CopyEnd::Frame { mfn: source_mfn };
    let to = CopyEnd::Grant { domid: DOMID_SELF, gref };

    let start = time::now_ns();
    let mut copied = Ok(());
    for _ in 0..copies {
        copied = grant::copy(from, 0, to, 0, PAGE);
        if copied.is_err() {
            break;
        }
    }
    let grant_ns = time::now_ns().saturating_sub(start);
    let landed = (0..PAGE_WORDS).all(|i| granted.read_word(i) == source.read_word(i));
    if grant::end_access(gref).is_err() {
        granted.leak();
        return Err("our own grant could not be revoked after the copies");
    }
    if let Err(status) = copied {
        println!("grant-bench: GNTTABOP_copy failed with status {status}");
        return Err("grant copy refused");
    }
    if !landed {
        return Err("the grant copies did not deliver the page");
    }

    let start = time::now_ns();
    for _ in 0..copies {
        // black_box: every copy must happen, not just the last.
        let dst = core::hint::black_box(plain.as_ptr());
        // SAFETY: two distinct live heap pages of 4096 bytes each, not shared with anyone, and
        // accessed by nothing else meanwhile.
        unsafe { core::ptr::copy_nonoverlapping(source.as_ptr(), dst, xen_abi::PAGE_SIZE) };
    }
    let memcpy_ns = time::now_ns().saturating_sub(start);
    if plain.read_word(PAGE_WORDS - 1) != source.read_word(PAGE_WORDS - 1) {
        return Err("memcpy did not copy");
    }
    let bytes = copies.saturating_mul(xen_abi::PAGE_SIZE as u64);
    Ok((megabytes_per_second(bytes, grant_ns), megabytes_per_second(bytes, memcpy_ns)))
}
