//! The XenStore shell commands, run as Dom0 (privileged): `xenstore-ls`, `xenstore-read`,
//! `xenstore-write`, `xenstore-rm`; and XenBus device creation for the `vping` test class
//! (`vping-attach`, `vping-detach`), writing what a toolstack writes to create a device.

use super::services;
use super::shell_loop::CmdResult;
use super::xl;
use alloc::format;
use alloc::string::String;
use pvguest::{print, println};
use dom0_kernel::toolstack::xenstored::Dom0Bus;
use xenbus::path;
use xenstore::XsError;

/// The one-line error of a XenStore command: `xenstore-read /x: ENOENT`.
fn failed(command: &str, path: &str, e: XsError) -> String {
    format!("{command} {path}: {}", e.name())
}

/// `xenstore-ls [PATH]`: the tree below PATH (default `/`), `name = "value"` per node.
pub fn ls(path: Option<&str>) -> CmdResult {
    let path = path.unwrap_or("/");
    let listing = services::xenstore(|d| d.store().ls(path)).map_err(|e| failed("xenstore-ls", path, e))?;
    print!("{listing}");
    Ok(())
}

/// `xenstore-read PATH`: the value, quoted as xenstore-read does (non-printable bytes
/// escaped), on one line.
pub fn read(path: &str) -> CmdResult {
    let value = services::xenstore(|d| d.store().read(path)).map_err(|e| failed("xenstore-read", path, e))?;
    println!("{}", xenstore::sanitise(&value));
    Ok(())
}

/// `xenstore-write PATH VALUE`: prints nothing on success.
pub fn write(path: &str, value: &str) -> CmdResult {
    services::xenstore(|d| d.write(path, value.as_bytes())).map_err(|e| failed("xenstore-write", path, e))
}

/// `xenstore-rm PATH`: removes the node and everything below it; prints nothing on success.
pub fn rm(path: &str) -> CmdResult {
    services::xenstore(|d| d.rm(path)).map_err(|e| failed("xenstore-rm", path, e))
}

// ---------------------------------------------------------------------------------------------
// vping devices.

const VPING: &str = "vping";
/// Each frontend has one vping device.
const VPING_DEVID: u32 = 0;

/// `vping-attach FRONTEND BACKEND`: the frontend and backend directories of device
/// `vping/0`, both in state Initialising; the drivers in the two domains take it from there.
pub fn vping_attach(frontend: &str, backend: &str) -> CmdResult {
    let fe = xl::resolve_domu(frontend, "Domain-0 has no vping driver; FRONTEND must be a DomU")?;
    let be = xl::resolve_domu(backend, "Domain-0 has no vping driver; BACKEND must be a DomU")?;
    if fe == be {
        return Err(format!("{} cannot be its own vping backend", xl::describe(fe)));
    }
    for domid in [fe, be] {
        if !services::is_connected(domid) {
            return Err(format!("{} is not connected to XenStore", xl::describe(domid)));
        }
    }
    let frontend_dir = path::frontend_dir(fe, VPING, VPING_DEVID);
    let backend_dir = path::backend_dir(be, VPING, fe, VPING_DEVID);
    if services::xenstore(|d| d.store().read(&frontend_dir)).is_ok() {
        return Err(format!("{} already has a vping device ({frontend_dir})", xl::describe(fe)));
    }
    let nodes = xenbus::device_nodes(VPING, VPING_DEVID, fe, be, &[]);
    let created = services::xenstore(|d| {
        let result = xenbus::create_device(&mut Dom0Bus(d), &nodes);
        if result.is_err() {
            // All or nothing.
            let _ = xenbus::remove_device(&mut Dom0Bus(d), VPING, VPING_DEVID, fe, be);
        }
        Ok(result)
    });
    if let Ok(Err(e)) = created {
        return Err(format!("cannot create the vping device: {}", e.name()));
    }
    println!("Attached vping device 0: frontend {frontend_dir}, backend {backend_dir}");
    Ok(())
}

/// `vping-detach FRONTEND`: removes both ends' directories of its vping device (the
/// backend is the one its `backend-id` names).
pub fn vping_detach(frontend: &str) -> CmdResult {
    let fe = xl::resolve_domu(frontend, "Domain-0 has no vping driver; FRONTEND must be a DomU")?;
    let frontend_dir = path::frontend_dir(fe, VPING, VPING_DEVID);
    let be_id = services::xenstore(|d| d.store().read(&path::join(&frontend_dir, path::keys::BACKEND_ID)))
        .map_err(|_| format!("{} has no vping device", xl::describe(fe)))?;
    let be = core::str::from_utf8(&be_id)
        .ok()
        .and_then(path::parse_domid)
        .ok_or_else(|| format!("{frontend_dir}/backend-id is not a domain id"))?;
    let removed = services::xenstore(|d| Ok(xenbus::remove_device(&mut Dom0Bus(d), VPING, VPING_DEVID, fe, be)));
    if let Ok(Err(e)) = removed {
        return Err(format!("cannot remove the vping device: {}", e.name()));
    }
    println!("Detached vping device 0 of {}", xl::describe(fe));
    Ok(())
}
