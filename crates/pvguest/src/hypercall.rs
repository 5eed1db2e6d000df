//! Hypercalls through the hypercall page the hypervisor filled in (one 32-byte stub per
//! number, `call hypercall_page + nr * 32`), with thin typed wrappers.

use xen_abi::hypercall::{nr, HYPERCALL_STUB_SIZE};

extern "C" {
    /// The page named by our `XEN_ELFNOTE_HYPERCALL_PAGE` note (see `start.rs`).
    static hypercall_page: [u8; 4096];
}

/// Address of the stub for hypercall `number`.
pub fn stub_address(number: u64) -> usize {
    core::ptr::addr_of!(hypercall_page) as usize + number as usize * HYPERCALL_STUB_SIZE
}

/// Issue hypercall `number` with up to five arguments; returns RAX (negative = -errno).
///
/// # Safety
/// Pointer arguments must be valid for what the hypercall does with them; the hypervisor
/// checks they are mapped, but it cannot know they are the memory the caller meant.
pub unsafe fn hypercall5(number: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: (caller) arguments; the stub preserves RCX/R11 itself, the hypervisor may clobber
    // the argument registers, which are declared as such.
    unsafe {
        core::arch::asm!(
            "call {stub}",
            stub = in(reg) stub_address(number),
            inlateout("rax") number as i64 => ret,
            inlateout("rdi") a1 => _,
            inlateout("rsi") a2 => _,
            inlateout("rdx") a3 => _,
            inlateout("r10") a4 => _,
            inlateout("r8") a5 => _,
            out("rcx") _,
            out("r11") _,
        );
    }
    ret
}

/// Any hypercall with any register values, for tests of the hypervisor's argument checks.
/// Numbers beyond the hypercall page are issued with a bare `syscall`, as a hostile kernel
/// would.
pub fn raw(number: u64, args: [u64; 5]) -> i64 {
    if number < xen_abi::hypercall::HYPERCALL_PAGE_SLOTS as u64 {
        // SAFETY: the hypervisor must survive any argument values; this is how tests prove it.
        // Pointers the caller passes are its own responsibility (see `hypercall5`).
        return unsafe { hypercall5(number, args[0], args[1], args[2], args[3], args[4]) };
    }
    let ret: i64;
    // SAFETY: a hypercall without the page: SYSCALL clobbers RCX/R11, the hypervisor may
    // clobber the argument registers; all are declared.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number as i64 => ret,
            inlateout("rdi") args[0] => _,
            inlateout("rsi") args[1] => _,
            inlateout("rdx") args[2] => _,
            inlateout("r10") args[3] => _,
            inlateout("r8") args[4] => _,
            out("rcx") _,
            out("r11") _,
        );
    }
    ret
}

/// Whether the hypervisor filled the page (our image leaves it as `ret` bytes, as XTF does).
pub fn page_is_filled() -> bool {
    // SAFETY: reading our own image's page.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(hypercall_page) as *const u8) != 0xc3 }
}

fn call(number: u64, args: [u64; 5]) -> i64 {
    raw(number, args)
}

pub fn console_write(bytes: &[u8]) -> i64 {
    call(nr::CONSOLE_IO, [xen_abi::console::CONSOLEIO_WRITE as u64, bytes.len() as u64, bytes.as_ptr() as u64, 0, 0])
}

pub fn console_read(buf: &mut [u8]) -> i64 {
    call(nr::CONSOLE_IO, [xen_abi::console::CONSOLEIO_READ as u64, buf.len() as u64, buf.as_mut_ptr() as u64, 0, 0])
}

pub fn sched_op<T>(cmd: u32, arg: &T) -> i64 {
    call(nr::SCHED_OP, [cmd as u64, arg as *const T as u64, 0, 0, 0])
}

pub fn sched_yield() -> i64 {
    call(nr::SCHED_OP, [xen_abi::sched::SCHEDOP_YIELD as u64, 0, 0, 0, 0])
}

pub fn sched_block() -> i64 {
    call(nr::SCHED_OP, [xen_abi::sched::SCHEDOP_BLOCK as u64, 0, 0, 0, 0])
}

/// `SCHEDOP_shutdown`: the hypervisor does not return for Dom0's poweroff/reboot.
pub fn shutdown(reason: u32) -> i64 {
    sched_op(xen_abi::sched::SCHEDOP_SHUTDOWN, &xen_abi::sched::SchedShutdown { reason })
}

pub fn set_timer_op(deadline_ns: u64) -> i64 {
    call(nr::SET_TIMER_OP, [deadline_ns, 0, 0, 0, 0])
}

pub fn event_channel_op<T>(cmd: u32, arg: &mut T) -> i64 {
    call(nr::EVENT_CHANNEL_OP, [cmd as u64, arg as *mut T as u64, 0, 0, 0])
}

/// `grant_table_op(cmd, ops, ops.len())`: `ops` are the command's argument structs.
pub fn grant_table_op<T>(cmd: u32, ops: &mut [T]) -> i64 {
    call(nr::GRANT_TABLE_OP, [cmd as u64, ops.as_mut_ptr() as u64, ops.len() as u64, 0, 0])
}

pub fn update_va_mapping(va: u64, pte: u64, flags: u64) -> i64 {
    call(nr::UPDATE_VA_MAPPING, [va, pte, flags, 0, 0])
}

pub fn mmu_update(reqs: &[xen_abi::mm::MmuUpdate], done: Option<&mut u32>, foreigndom: u64) -> i64 {
    let done = done.map_or(0, |d| d as *mut u32 as u64);
    call(nr::MMU_UPDATE, [reqs.as_ptr() as u64, reqs.len() as u64, done, foreigndom, 0])
}

pub fn mmuext_op(ops: &[xen_abi::mm::MmuextOp], done: Option<&mut u32>, foreigndom: u64) -> i64 {
    let done = done.map_or(0, |d| d as *mut u32 as u64);
    call(nr::MMUEXT_OP, [ops.as_ptr() as u64, ops.len() as u64, done, foreigndom, 0])
}

pub fn xen_version<T>(cmd: u32, arg: Option<&mut T>) -> i64 {
    let arg = arg.map_or(0, |a| a as *mut T as u64);
    call(nr::XEN_VERSION, [cmd as u64, arg, 0, 0, 0])
}

pub fn sysctl(op: &mut xen_abi::sysctl::XenSysctl) -> i64 {
    call(nr::SYSCTL, [op as *mut _ as u64, 0, 0, 0, 0])
}

pub fn memory_op<T>(cmd: u32, arg: &mut T) -> i64 {
    call(nr::MEMORY_OP, [cmd as u64, arg as *mut T as u64, 0, 0, 0])
}

pub fn set_trap_table(table: &[xen_abi::x86::TrapInfo]) -> i64 {
    call(nr::SET_TRAP_TABLE, [table.as_ptr() as u64, 0, 0, 0, 0])
}

pub fn callback_op<T>(cmd: u32, arg: &T) -> i64 {
    call(nr::CALLBACK_OP, [cmd as u64, arg as *const T as u64, 0, 0, 0])
}

pub fn stack_switch(ss: u64, sp: u64) -> i64 {
    call(nr::STACK_SWITCH, [ss, sp, 0, 0, 0])
}

/// `domctl` (privileged domains only; others get `-EPERM`).
pub fn domctl(op: &mut xen_abi::domctl::XenDomctl) -> i64 {
    call(nr::DOMCTL, [op as *mut _ as u64, 0, 0, 0, 0])
}

/// `update_va_mapping_otherdomain(va, pte, flags, domid)`: map a frame of `domid` (a foreign
/// mapping; privileged domains only) at `va` of the caller's current address space.
pub fn update_va_mapping_otherdomain(va: u64, pte: u64, flags: u64, domid: u16) -> i64 {
    call(nr::UPDATE_VA_MAPPING_OTHERDOMAIN, [va, pte, flags, domid as u64, 0])
}
