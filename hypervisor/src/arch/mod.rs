//! Hardware-specific code. Only x86_64 exists; the rest of the hypervisor reaches it through
//! the small set of functions these modules export.
pub mod x86_64;
