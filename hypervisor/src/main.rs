//! The hypervisor binary: the bootloader's entry point, configured to place everything
//! inside the Xen hole (see `hypervisor::layout`).
#![no_std]
#![no_main]

use bootloader_api::config::{BootloaderConfig, Mapping};
use bootloader_api::{entry_point, BootInfo};
use hypervisor::layout::{DIRECT_MAP_BASE, DYNAMIC_END, DYNAMIC_START};

const CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::FixedAddress(DIRECT_MAP_BASE));
    config.mappings.dynamic_range_start = Some(DYNAMIC_START);
    config.mappings.dynamic_range_end = Some(DYNAMIC_END);
    config.kernel_stack_size = 256 * 1024;
    config
};

entry_point!(kernel_main, config = &CONFIG);

fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    hypervisor::boot::start(boot_info)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hypervisor::panic(info)
}
