fn main() {
    // Guest kernels link at Xen's usual PV kernel address with the shared linker script.
    let target = std::env::var("TARGET").unwrap_or_default();
    if target == "x86_64-unknown-none" {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/pvguest/guest.ld");
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        println!("cargo:rerun-if-changed={}", script.display());
    }
}
