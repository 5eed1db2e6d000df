//! `GNTTABOP_map_grant_ref` and `GNTTABOP_unmap_grant_ref`: a domain maps a frame another
//! domain (or itself) granted, at a virtual address of its current address space and/or for
//! device access, and later unmaps it by the handle the map returned.
//!
//! A map pins the grant in the granter's table (marking the shared entry in use, which is
//! what makes the granter's revoke fail), takes the frame references in the mapper's name,
//! writes the grant entry into the mapper's L1 and records it all in the mapper's maptrack.
//! Each step is undone if a later one fails. An unmap undoes them in reverse order, but only
//! once the page-table entry is verified to be the mapping: while any entry may still map the
//! frame, its references stay.

use super::active::MapKinds;
use super::maptrack::Mapping;
use super::shared::GrantMemory;
use super::{pte, refs, GrantTables};
use crate::mm::{DomId, Mfn, Paging};
use xen_abi::grant_table::*;

/// A checked `gnttab_map_grant_ref`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRequest {
    pub granter: DomId,
    pub gref: u32,
    /// Where to map (with a host mapping).
    pub host_addr: u64,
    pub kinds: MapKinds,
}

impl MapRequest {
    /// The request in `op`, judged on its flags alone, as Xen does before it looks at any
    /// domain: neither `GNTMAP_host_map` nor `GNTMAP_device_map` is `GNTST_bad_gntref`;
    /// `GNTMAP_contains_pte` (`host_addr` naming a PTE's machine address) is not offered and
    /// is `GNTST_general_error`. `GNTMAP_application_map` changes nothing (a 64-bit PV
    /// kernel's entries are all user entries) and the guest-available bits are ignored
    /// (`XENFEAT_gnttab_map_avail_bits` is not advertised).
    pub fn parse(op: &GnttabMapGrantRef) -> Result<MapRequest, i16> {
        if op.flags & (GNTMAP_HOST_MAP | GNTMAP_DEVICE_MAP) == 0 {
            return Err(GNTST_BAD_GNTREF);
        }
        if op.flags & GNTMAP_CONTAINS_PTE != 0 {
            return Err(GNTST_GENERAL_ERROR);
        }
        Ok(MapRequest {
            granter: op.dom,
            gref: op.ref_,
            host_addr: op.host_addr,
            kinds: MapKinds {
                host: op.flags & GNTMAP_HOST_MAP != 0,
                device: op.flags & GNTMAP_DEVICE_MAP != 0,
                readonly: op.flags & GNTMAP_READONLY != 0,
            },
        })
    }
}

/// What a successful map returns to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped {
    pub handle: u32,
    /// The frame mapped; its machine address is the `dev_bus_addr` Xen reports.
    pub frame: Mfn,
}

/// Maps grant `req.gref` of `req.granter` for `mapper`, whose current page-table root is
/// `l4` (needed for a host mapping). Statuses as Xen's: `GNTST_bad_domain` (no such
/// granter), `GNTST_no_device_space` (maptrack full), then [`SharedTable::pin`]'s, then
/// `GNTST_general_error` for a frame that cannot take the references or a host address
/// without a validated L1 of the mapper (or holding a grant mapping already), and
/// `GNTST_bad_virt_addr` for a host address outside the guest's range. On error nothing
/// changed.
///
/// [`SharedTable::pin`]: super::table::SharedTable::pin
pub fn map<M: GrantMemory>(
    paging: &mut Paging<'_, M>,
    tables: &mut impl GrantTables,
    mapper: DomId,
    l4: Option<Mfn>,
    req: &MapRequest,
) -> Result<Mapped, i16> {
    let (granter, gref, kinds) = (req.granter, req.gref, req.kinds);
    if tables.shared(granter).is_none() {
        return Err(GNTST_BAD_DOMAIN);
    }
    if !tables.maptrack(mapper).is_some_and(|mt| mt.reserve()) {
        return Err(GNTST_NO_DEVICE_SPACE);
    }
    let table = tables.shared(granter).ok_or(GNTST_BAD_DOMAIN)?;
    let frame = table.pin(paging, granter, gref, mapper, kinds, true)?;
    if let Err(status) = refs::take(paging, granter, frame, kinds) {
        unpin(paging, tables, req);
        return Err(status);
    }
    if kinds.host {
        let installed = l4.ok_or(GNTST_GENERAL_ERROR).and_then(|l4| pte::install(paging, mapper, l4, req.host_addr, frame, kinds.readonly));
        if let Err(status) = installed {
            refs::release(paging, frame, kinds);
            unpin(paging, tables, req);
            return Err(status);
        }
    }
    let mapping = Mapping { granter, gref, frame, host_addr: if kinds.host { req.host_addr } else { 0 }, kinds };
    match tables.maptrack(mapper).and_then(|mt| mt.insert(mapping)) {
        Some(handle) => Ok(Mapped { handle, frame }),
        None => {
            // `reserve` promised a handle; should it not come, undo rather than leak.
            if let Some(l4) = l4.filter(|_| kinds.host) {
                let _ = pte::remove(paging, mapper, l4, req.host_addr, frame, kinds.readonly);
            }
            refs::release(paging, frame, kinds);
            unpin(paging, tables, req);
            Err(GNTST_GENERAL_ERROR)
        }
    }
}

/// Undoes the pin of a map that failed at a later step.
fn unpin<M: GrantMemory>(paging: &mut Paging<'_, M>, tables: &mut impl GrantTables, req: &MapRequest) {
    if let Some(table) = tables.shared(req.granter) {
        table.unpin(paging.mem, req.gref, req.kinds);
    }
}

/// A checked `gnttab_unmap_grant_ref`: a zero address leaves that part of the mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmapRequest {
    pub handle: u32,
    pub host_addr: u64,
    pub dev_bus_addr: u64,
}

impl From<&GnttabUnmapGrantRef> for UnmapRequest {
    fn from(op: &GnttabUnmapGrantRef) -> Self {
        UnmapRequest { handle: op.handle, host_addr: op.host_addr, dev_bus_addr: op.dev_bus_addr }
    }
}

/// Unmaps (part of) mapping `req.handle` of `mapper`, whose current root is `l4`. The host
/// part goes only if the entry at `req.host_addr` is still this grant mapping, the device
/// part only if `req.dev_bus_addr` is the frame's address. Then the references go, and the
/// granter's pins and in-use flags (if the granter still exists: a dead granter's frame was
/// orphaned and is reaped once its last reference goes). Statuses: `GNTST_bad_handle` for
/// no such mapping; `GNTST_general_error` (changing nothing, the maptrack keeps the entry)
/// for a device address that is not the frame's or an entry that is not the mapping;
/// `GNTST_bad_virt_addr` for an address outside the guest's range.
pub fn unmap<M: GrantMemory>(
    paging: &mut Paging<'_, M>,
    tables: &mut impl GrantTables,
    mapper: DomId,
    l4: Option<Mfn>,
    req: &UnmapRequest,
) -> Result<(), i16> {
    let mapping = *tables.maptrack(mapper).and_then(|mt| mt.get(req.handle)).ok_or(GNTST_BAD_HANDLE)?;
    if req.dev_bus_addr != 0 && req.dev_bus_addr != mapping.frame.addr() {
        return Err(GNTST_GENERAL_ERROR);
    }
    let done = MapKinds {
        host: req.host_addr != 0 && mapping.kinds.host,
        device: req.dev_bus_addr != 0 && mapping.kinds.device,
        readonly: mapping.kinds.readonly,
    };
    if done.host {
        let l4 = l4.ok_or(GNTST_GENERAL_ERROR)?;
        pte::remove(paging, mapper, l4, req.host_addr, mapping.frame, done.readonly)?;
    }
    if !done.any() {
        return Ok(());
    }
    if let Some(mt) = tables.maptrack(mapper) {
        let left = mapping.kinds.without(done);
        if left.any() {
            mt.set_kinds(req.handle, left);
        } else {
            mt.remove(req.handle);
        }
    }
    release(paging, tables, mapper, &mapping, done);
    Ok(())
}

/// Drops the references and pins `done` (part of `mapping`, made by `mapper`) held. The pins
/// are dropped only if the granter's shadow still names this use: a granter that died took
/// its table with it.
pub(super) fn release<M: GrantMemory>(paging: &mut Paging<'_, M>, tables: &mut impl GrantTables, mapper: DomId, mapping: &Mapping, done: MapKinds) {
    refs::release(paging, mapping.frame, done);
    if let Some(table) = tables.shared(mapping.granter) {
        let ours = table.active(mapping.gref).is_some_and(|act| act.user == mapper && act.frame == mapping.frame && act.pins.any());
        if ours {
            table.unpin(paging.mem, mapping.gref, done);
        }
    }
}
