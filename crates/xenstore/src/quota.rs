//! Per-domain limits for unprivileged connections, with Xen's default
//! values and the errors its C daemon reports for them.  Privileged
//! connections (Dom0) are never limited.

use crate::error::XsError;
use crate::perm::Caller;
use crate::tree::View;

/// Nodes a domain may own (`ENOSPC` beyond).
pub const NODES: usize = 1000;
/// Watches a domain may hold (`E2BIG` beyond).
pub const WATCHES: usize = 128;
/// Transactions a domain may have open at once (`ENOSPC` beyond).
pub const TRANSACTIONS: usize = 10;
/// Largest value a domain may write, in bytes (`ENOSPC` beyond).  Xen
/// measures the whole node record; we measure the value, as the children
/// list is the store's business and the permissions have their own quota.
pub const VALUE_SIZE: usize = 2048;
/// Permission entries a domain may set on one node (`ENOSPC` beyond).
pub const PERMS: usize = 5;
/// Nodes one transaction of a domain may touch (`ENOSPC` beyond).  Checked
/// before each request in the transaction, so one request may go past it.
pub const TRANSACTION_NODES: usize = 1024;

/// A value of this size may be written by `caller`.
pub(crate) fn check_value(caller: Caller, value: &[u8]) -> Result<(), XsError> {
    if caller.privileged || value.len() <= VALUE_SIZE {
        Ok(())
    } else {
        Err(XsError::ENOSPC)
    }
}

/// `caller` may create `new` more nodes (each owned by it).
pub(crate) fn check_new_nodes(view: &dyn View, caller: Caller, new: usize) -> Result<(), XsError> {
    if caller.privileged || view.owned(caller.domid) + new <= NODES {
        Ok(())
    } else {
        Err(XsError::ENOSPC)
    }
}

/// `caller` may set a permission list of this length.
pub(crate) fn check_perm_count(caller: Caller, count: usize) -> Result<(), XsError> {
    if caller.privileged || count <= PERMS {
        Ok(())
    } else {
        Err(XsError::ENOSPC)
    }
}

/// `caller`, holding `held` watches, may add one.
pub(crate) fn check_new_watch(caller: Caller, held: usize) -> Result<(), XsError> {
    if caller.privileged || held < WATCHES {
        Ok(())
    } else {
        Err(XsError::E2BIG)
    }
}

/// `caller`, with `open` transactions, may start one.
pub(crate) fn check_new_transaction(caller: Caller, open: usize) -> Result<(), XsError> {
    if caller.privileged || open < TRANSACTIONS {
        Ok(())
    } else {
        Err(XsError::ENOSPC)
    }
}

/// `caller`'s transaction, having touched `touched` nodes, may go on.
pub(crate) fn check_transaction_nodes(caller: Caller, touched: usize) -> Result<(), XsError> {
    if caller.privileged || touched < TRANSACTION_NODES {
        Ok(())
    } else {
        Err(XsError::ENOSPC)
    }
}
