//! Guest user mode, as a 64-bit PV kernel has it. The kernel itself runs in ring 3, so the
//! CPU cannot tell kernel from user; Xen separates them by page table instead. The kernel
//! registers a second root table with `MMUEXT_NEW_USER_BASEPTR`, and the hypervisor switches
//! between the two on every kernel↔user transition (`toggle_guest_mode`): `iret` with an RPL 3
//! code selector enters user mode, and any exception, event or `syscall` in user mode is
//! bounced to the kernel on its `stack_switch` stack with the kernel table loaded.
//!
//! This module builds a minimal user table: its own L4, L3, L2 and L1 (page-aligned statics,
//! remapped read-only before they are pinned) mapping one 2 MiB window at [`USER_BASE`] onto
//! pages of the kernel's own image that the kernel chooses ([`Region`]). Nothing else is in
//! it, so every kernel-only page is simply absent for user code. The kernel's table is not
//! changed: the kernel reaches user memory through its own mapping of the same frames
//! ([`copy_from_user`]).
//!
//! [`enter`] runs a user program until it calls [`SYS_EXIT`] or takes an exception, and says
//! which. User code asks the kernel for services with `syscall` (number in RAX, arguments in
//! RDI, RSI, RDX, result in RAX, as on Linux): [`SYS_WRITE`] and [`SYS_EXIT`].

use crate::traps::{Fault, TrapFrame};
use alloc::vec::Vec;
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use xen_abi::mm::{MmuextOp, MMUEXT_NEW_USER_BASEPTR, MMUEXT_PIN_L4_TABLE, PAGE_ACCESSED, PAGE_DIRTY, PAGE_PRESENT, PAGE_RW, PAGE_USER, UVMF_INVLPG};
use xen_abi::x86::{CallbackRegister, CALLBACKF_MASK_EVENTS, CALLBACKOP_REGISTER, CALLBACKTYPE_SYSCALL, FLAT_USER_CS, FLAT_USER_SS};

/// First user virtual address (4 MiB: everything below stays unmapped, so NULL faults).
pub const USER_BASE: u64 = 0x40_0000;
/// Size of the user window: what one L1 table maps.
pub const USER_SIZE: u64 = 2 * 1024 * 1024;
const PAGE: u64 = 4096;

/// `syscall` number: write `RSI` bytes at user address `RDI` to the console; returns the
/// count, `-EFAULT` for a buffer outside the user mappings, `-EINVAL` above [`MAX_WRITE`].
pub const SYS_WRITE: u64 = 1;
/// `syscall` number: end the user program with exit code `RDI`; [`enter`] returns it.
pub const SYS_EXIT: u64 = 60;
/// Longest [`SYS_WRITE`].
pub const MAX_WRITE: u64 = 4096;

/// Syscalls taken since boot.
pub static SYSCALLS: AtomicU64 = AtomicU64::new(0);
/// CS of the last syscall's bounce frame (selector bits only): RPL 3 means it came from user
/// mode.
pub static LAST_SYSCALL_CS: AtomicU64 = AtomicU64::new(0);
/// Return address (user RIP after the `syscall` instruction) of the last syscall.
pub static LAST_SYSCALL_RIP: AtomicU64 = AtomicU64::new(0);

/// One range of the kernel's start-of-day memory shown to user mode at `user_va`. Page
/// aligned; `len` is a positive multiple of 4096.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub user_va: u64,
    pub kernel_va: u64,
    pub len: u64,
    pub writable: bool,
}

/// Why user mode could not be set up or entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// [`init`] runs once.
    AlreadyInitialised,
    /// [`enter`] before a successful [`init`].
    NotInitialised,
    /// The P2M list has no entry for this address (not in our start-of-day region).
    NoMachineFrame(u64),
    /// [`enter`] from within a user program's syscall or fault handling.
    AlreadyInUserMode,
    /// Misaligned, empty, outside the user window, outside our memory, or overlapping.
    BadRegion(Region),
    /// The entry point or stack is not inside the user mappings.
    BadAddress(u64),
    /// A hypercall failed (`rc` is its negative errno).
    Hypercall { what: &'static str, rc: i64 },
}

/// How a user program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It called [`SYS_EXIT`] with this code.
    Exited(u64),
    /// It took an exception (`cr2` is meaningful for #PF) at user address `rip`.
    Faulted { fault: Fault, rip: u64 },
}

#[repr(C, align(4096))]
struct Table([u64; 512]);
const L4: usize = 0;
const L3: usize = 1;
const L2: usize = 2;
const L1: usize = 3;
/// The user page-table tree, L4 first. Written only in `init` while still writable.
static mut TABLES: [Table; 4] = [const { Table([0; 512]) }; 4];

static INITIALISED: AtomicBool = AtomicBool::new(false);
/// Set when `init` succeeded: the user table is installed and syscalls have their callback.
static READY: AtomicBool = AtomicBool::new(false);
static REGIONS: spin::Once<Vec<Region>> = spin::Once::new();
/// Kernel stack pointer saved by `pvguest_user_enter` while a user program runs (0: none).
static KERNEL_RSP: AtomicU64 = AtomicU64::new(0);
/// How the running program ended, set just before jumping back into `enter`.
static EXIT: spin::Mutex<Option<Exit>> = spin::Mutex::new(None);

const TABLE_FLAGS: u64 = PAGE_PRESENT | PAGE_RW | PAGE_USER | PAGE_ACCESSED;

/// Build, pin and install the user page table mapping `regions`, and register the syscall
/// callback. Runs once.
pub fn init(regions: &[Region]) -> Result<(), Error> {
    if INITIALISED.swap(true, Ordering::SeqCst) {
        return Err(Error::AlreadyInitialised);
    }
    let tables = addr_of_mut!(TABLES) as *mut [u64; 512];
    // SAFETY: index < 4 within the static array; only this function (run once, guarded by
    // INITIALISED) writes the tables, and only before they are remapped read-only below.
    let table = |i: usize| unsafe { &mut *tables.add(i) };
    let table_va = |i: usize| tables.wrapping_add(i) as u64;
    let mut frames = [0u64; 4];
    for (i, frame) in frames.iter_mut().enumerate() {
        table(i).fill(0);
        *frame = crate::start::machine_frame(table_va(i)).ok_or(Error::NoMachineFrame(table_va(i)))?;
    }
    table(L4)[index(USER_BASE, 4)] = frames[L3] << 12 | TABLE_FLAGS;
    table(L3)[index(USER_BASE, 3)] = frames[L2] << 12 | TABLE_FLAGS;
    table(L2)[index(USER_BASE, 2)] = frames[L1] << 12 | TABLE_FLAGS;
    for r in regions {
        let bad = r.len == 0
            || r.len % PAGE != 0
            || r.user_va % PAGE != 0
            || r.kernel_va % PAGE != 0
            || r.user_va < USER_BASE
            || r.user_va.checked_add(r.len).is_none_or(|end| end > USER_BASE + USER_SIZE);
        if bad {
            return Err(Error::BadRegion(*r));
        }
        for off in (0..r.len).step_by(PAGE as usize) {
            let slot = &mut table(L1)[index(r.user_va + off, 1)];
            let mfn = crate::start::machine_frame(r.kernel_va + off).ok_or(Error::NoMachineFrame(r.kernel_va + off))?;
            if *slot != 0 || frames.contains(&mfn) {
                return Err(Error::BadRegion(*r));
            }
            let rw = if r.writable { PAGE_RW | PAGE_DIRTY } else { 0 };
            *slot = mfn << 12 | PAGE_PRESENT | PAGE_USER | PAGE_ACCESSED | rw;
        }
    }
    REGIONS.call_once(|| regions.to_vec());

    // Page-table pages may have no writable mapping anywhere (Xen's rule): remap each one
    // read-only in the kernel's table before the hypervisor validates the tree.
    for (i, &mfn) in frames.iter().enumerate() {
        let rc = crate::hypercall::update_va_mapping(table_va(i), mfn << 12 | PAGE_PRESENT | PAGE_ACCESSED, UVMF_INVLPG);
        check("update_va_mapping (table read-only)", rc)?;
    }
    let ops = [
        MmuextOp { cmd: MMUEXT_PIN_L4_TABLE, _pad: 0, arg1: frames[L4], arg2: 0 },
        MmuextOp { cmd: MMUEXT_NEW_USER_BASEPTR, _pad: 0, arg1: frames[L4], arg2: 0 },
    ];
    check("mmuext_op(pin L4)", crate::hypercall::mmuext_op(&ops[..1], None, xen_abi::domid::DOMID_SELF as u64))?;
    check("mmuext_op(new user baseptr)", crate::hypercall::mmuext_op(&ops[1..], None, xen_abi::domid::DOMID_SELF as u64))?;
    let syscall = CallbackRegister { ty: CALLBACKTYPE_SYSCALL, flags: CALLBACKF_MASK_EVENTS, _pad: 0, address: crate::traps::syscall_entry() };
    check("callback_op(syscall)", crate::hypercall::callback_op(CALLBACKOP_REGISTER, &syscall))?;
    READY.store(true, Ordering::SeqCst);
    Ok(())
}

fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * (level - 1))) & 0x1ff) as usize
}

fn check(what: &'static str, rc: i64) -> Result<(), Error> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::Hypercall { what, rc })
    }
}

/// The region mapping user address `va`.
fn region_at(va: u64) -> Option<Region> {
    REGIONS.get()?.iter().find(|r| r.user_va <= va && va - r.user_va < r.len).copied()
}

/// Whether `len` bytes at user address `va` are all mapped for user mode.
pub fn is_mapped(va: u64, len: u64) -> bool {
    let Some(end) = va.checked_add(len) else { return false };
    let mut at = va;
    while at < end {
        match region_at(at) {
            Some(r) => at = r.user_va + r.len,
            None => return false,
        }
    }
    true
}

/// Copy user memory at `va` into `buf`, through the kernel's own mapping of the same frames;
/// `false` (and `buf` partly written) if any of it is not mapped for user mode.
pub fn copy_from_user(va: u64, buf: &mut [u8]) -> bool {
    let mut done = 0usize;
    while done < buf.len() {
        let Some(at) = va.checked_add(done as u64) else { return false };
        let Some(r) = region_at(at) else { return false };
        let n = ((r.len - (at - r.user_va)) as usize).min(buf.len() - done);
        let src = (r.kernel_va + (at - r.user_va)) as *const u8;
        for (i, b) in buf[done..done + n].iter_mut().enumerate() {
            // SAFETY: `src..src + n` lies in a region of our own start-of-day memory that
            // `init` checked; user code may write it, so bytes are read volatile.
            *b = unsafe { core::ptr::read_volatile(src.add(i)) };
        }
        done += n;
    }
    true
}

extern "C" {
    /// Save the callee-saved registers and the kernel RSP, then `iret` to user mode at
    /// `entry` with RSP = `user_rsp` and RDI = `arg`. "Returns" when `pvguest_user_resume`
    /// runs.
    fn pvguest_user_enter(entry: u64, user_rsp: u64, arg: u64);
    /// Back to the `pvguest_user_enter` call waiting on the kernel stack.
    fn pvguest_user_resume() -> !;
}

core::arch::global_asm!(
    r#"
    .text
    .global pvguest_user_enter
pvguest_user_enter:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov qword ptr [rip + {kernel_rsp}], rsp
    push {user_ss}
    push rsi
    push {user_rflags}
    push {user_cs}
    push rdi
    push 0
    mov rdi, rdx
    xor eax, eax
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor ebp, ebp
    xor r8d, r8d
    xor r9d, r9d
    xor r10d, r10d
    xor r11d, r11d
    xor r12d, r12d
    xor r13d, r13d
    xor r14d, r14d
    xor r15d, r15d
    jmp hypercall_page + {iret_offset}

    .global pvguest_user_resume
pvguest_user_resume:
    mov rsp, qword ptr [rip + {kernel_rsp}]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
    "#,
    kernel_rsp = sym KERNEL_RSP,
    user_ss = const FLAT_USER_SS as u64,
    user_cs = const FLAT_USER_CS as u64,
    // IF set (events on in user mode) and the always-one bit 1.
    user_rflags = const 0x202u64,
    iret_offset = const xen_abi::hypercall::nr::IRET as usize * xen_abi::hypercall::HYPERCALL_STUB_SIZE,
);

/// Run user code at `entry` with its stack at `stack_top` and `arg` in RDI, until it exits
/// or faults. Events are re-enabled on return if they were enabled on entry.
pub fn enter(entry: u64, stack_top: u64, arg: u64) -> Result<Exit, Error> {
    if !READY.load(Ordering::SeqCst) {
        return Err(Error::NotInitialised);
    }
    if program_running() {
        return Err(Error::AlreadyInUserMode);
    }
    if !is_mapped(entry, 1) {
        return Err(Error::BadAddress(entry));
    }
    if stack_top % 16 != 0 || !stack_top.checked_sub(8).is_some_and(|sp| is_mapped(sp, 8)) {
        return Err(Error::BadAddress(stack_top));
    }
    let events_were_on = !crate::events::masked();
    *EXIT.lock() = None;
    // SAFETY: the callee saves what the C ABI asks and comes back here through
    // `pvguest_user_resume`, on this stack, which stays untouched meanwhile: the user program
    // runs on its own stack and the kernel entries from user mode use the `stack_switch`
    // stack. User mode sees only the pages `init` mapped.
    unsafe { pvguest_user_enter(entry, stack_top, arg) };
    KERNEL_RSP.store(0, Ordering::SeqCst);
    // The syscall callback and the trap entries masked events; the user program is gone.
    if events_were_on {
        crate::events::unmask_events();
    }
    let exit = EXIT.lock().take();
    exit.ok_or(Error::Hypercall { what: "user program ended without an exit record", rc: 0 })
}

/// End the running user program with `exit`: back into `enter`, abandoning the handler frames
/// on the `stack_switch` stack (none of them owns anything that needs dropping).
fn leave(exit: Exit) -> ! {
    *EXIT.lock() = Some(exit);
    // SAFETY: called only while a program runs (`program_running`, checked by the callers), so
    // the saved stack holds the registers `pvguest_user_enter` pushed and its return address.
    unsafe { pvguest_user_resume() }
}

/// A `syscall` from user mode (bounce frame on the kernel stack, events masked).
pub(crate) fn handle_syscall(frame: &mut TrapFrame) {
    // The CS and SS slots may carry the saved event mask above bit 32; `iret` takes selectors.
    frame.cs &= 0xffff;
    frame.ss &= 0xffff;
    SYSCALLS.fetch_add(1, Ordering::SeqCst);
    LAST_SYSCALL_CS.store(frame.cs, Ordering::SeqCst);
    LAST_SYSCALL_RIP.store(frame.rip, Ordering::SeqCst);
    if !program_running() {
        crate::console::fatal(format_args!("syscall from user mode at {:#x} with no user program running", frame.rip));
    }
    frame.rax = match frame.rax {
        SYS_WRITE => sys_write(frame.rdi, frame.rsi) as u64,
        SYS_EXIT => leave(Exit::Exited(frame.rdi)),
        _ => (-xen_abi::errno::ENOSYS) as u64,
    };
}

fn sys_write(va: u64, len: u64) -> i64 {
    if len > MAX_WRITE {
        return -xen_abi::errno::EINVAL;
    }
    if !is_mapped(va, len) {
        return -xen_abi::errno::EFAULT;
    }
    let mut chunk = [0u8; 128];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk.len() as u64) as usize;
        if !copy_from_user(va + done, &mut chunk[..n]) {
            return -xen_abi::errno::EFAULT;
        }
        // Newlines become CR LF, as `console::write_text` does for the kernel's own output.
        for (i, line) in chunk[..n].split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                crate::console::write_bytes(b"\r\n");
            }
            crate::console::write_bytes(line);
        }
        done += n as u64;
    }
    len as i64
}

/// Whether a user program entered with [`enter`] is running (or in a syscall).
pub(crate) fn program_running() -> bool {
    KERNEL_RSP.load(Ordering::SeqCst) != 0
}

/// An exception raised in user mode while a program runs: the program ends with it.
pub(crate) fn handle_user_fault(frame: &TrapFrame, vector: u64, cr2: u64) -> ! {
    leave(Exit::Faulted { fault: Fault { vector: vector as u8, error_code: frame.error_code as u32, cr2 }, rip: frame.rip })
}
