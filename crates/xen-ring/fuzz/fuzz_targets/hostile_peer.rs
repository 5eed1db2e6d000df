//! cargo-fuzz target: a hostile peer against both ring ends and the byte
//! rings (see `xen_ring::fuzz::fuzz_hostile_peer`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    xen_ring::fuzz::fuzz_hostile_peer(data);
});
