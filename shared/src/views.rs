//! Every view the fold offers, computed for one reader from what that reader
//! may read: proposals (revisions, positions, tallies), declarations,
//! assessments (with `superseded_by`), supplier comparisons, position papers
//! and threads. Nothing is filtered only at its root: each record's parts
//! are kept or dropped by [`Audience::readable_by`](crate::ledger::Audience)
//! too, so a view never carries a byte of a statement its reader may not
//! read. The server answers its routes with these; a test over random logs
//! checks them for every reader.

mod inbox;

pub use inbox::{inbox, AwaitingPosition, Inbox, PendingAmendment, Replies};

use crate::api::{ProposalView, ThreadView};
use crate::ledger::{
    AssessmentRecord, Declaration, EntryMeta, InvalidEntry, Ledger, PositionPaper, ProposalRecord,
    SupplierView,
};
use crate::statement::StatementId;
use crate::visibility::{may_read, Reader};

/// The sealed statements `reader` may read that this fold opened and found
/// invalid, with the reason each is (a reader's own fold: the host's opens
/// nothing).
pub fn invalid(ledger: &Ledger, reader: &Reader) -> Vec<InvalidEntry> {
    ledger
        .sealed()
        .invalid()
        .iter()
        .filter(|e| visible(reader, &e.meta))
        .cloned()
        .collect()
}

/// Whether `reader` may read the statement behind `meta`.
pub fn visible(reader: &Reader, meta: &EntryMeta) -> bool {
    may_read(reader, &meta.author, &meta.distribution)
}

/// `rec` as `reader` may see it: only the revisions and positions it may
/// read, or nothing if it may not read the proposal.
pub fn proposal_record(rec: &ProposalRecord, reader: &Reader) -> Option<ProposalRecord> {
    if !visible(reader, &rec.meta) {
        return None;
    }
    let mut rec = rec.clone();
    rec.revisions.retain(|r| visible(reader, &r.meta));
    rec.positions.retain(|p| visible(reader, &p.meta));
    rec.amendments.retain(|a| visible(reader, &a.meta));
    Some(rec)
}

fn proposal_view(rec: ProposalRecord) -> ProposalView {
    ProposalView {
        tally: rec.tally(),
        record: rec,
        deadline_passed: false,
    }
}

/// Every proposal `reader` may read, in log order.
pub fn proposals(ledger: &Ledger, reader: &Reader) -> Vec<ProposalView> {
    ledger
        .proposals()
        .iter()
        .filter_map(|p| proposal_record(p, reader))
        .map(proposal_view)
        .collect()
}

/// One proposal, if `reader` may read it.
pub fn proposal(ledger: &Ledger, reader: &Reader, id: &StatementId) -> Option<ProposalView> {
    let rec = ledger.proposals().get(id)?;
    proposal_record(rec, reader).map(proposal_view)
}

/// Every declaration whose proposal `reader` may read, made from what it may read.
pub fn declarations(ledger: &Ledger, reader: &Reader) -> Vec<Declaration> {
    ledger
        .proposals()
        .iter()
        .filter_map(|p| proposal_record(p, reader)?.declaration())
        .collect()
}

/// One declaration, if `reader` may read its proposal.
pub fn declaration(ledger: &Ledger, reader: &Reader, id: &StatementId) -> Option<Declaration> {
    proposal_record(ledger.proposals().get(id)?, reader)?.declaration()
}

/// `rec` as `reader` may see it: `superseded_by` only names a superseding
/// assessment the reader may read.
fn assessment(
    ledger: &Ledger,
    rec: &AssessmentRecord,
    reader: &Reader,
) -> Option<AssessmentRecord> {
    if !visible(reader, &rec.meta) {
        return None;
    }
    let mut rec = rec.clone();
    if let Some(by) = rec.superseded_by {
        let seen = ledger
            .assessments()
            .get(&by)
            .is_some_and(|n| visible(reader, &n.meta));
        if !seen {
            rec.superseded_by = None;
        }
    }
    Some(rec)
}

/// The assessments `reader` may read (of one supplier, or all), in log order.
pub fn assessments(
    ledger: &Ledger,
    reader: &Reader,
    supplier: Option<&str>,
) -> Vec<AssessmentRecord> {
    let book = ledger.assessments();
    let all: Vec<&AssessmentRecord> = match supplier {
        // Under every name the registry gives the supplier, as `supplier`
        // compares them, in log order.
        Some(name) => {
            let mut found: Vec<&AssessmentRecord> = registered_keys(ledger, reader, name)
                .iter()
                .flat_map(|k| book.of_supplier(k))
                .collect();
            found.sort_by_key(|r| r.meta.index);
            found
        }
        None => book.iter().collect(),
    };
    all.into_iter()
        .filter_map(|r| assessment(ledger, r, reader))
        .collect()
}

/// The names' keys a supplier goes by for `reader`: all of its registry
/// entry's if the reader may read that entry and every merge into it, else
/// the name's own.
fn registered_keys(ledger: &Ledger, reader: &Reader, name: &str) -> Vec<String> {
    match registered(ledger, reader, name) {
        Some(_) => ledger.registry().keys_of(name),
        None => vec![crate::statement::Supplier::key(name)],
    }
}

/// The registry entry `name` belongs to, if `reader` may read all of it.
fn registered<'a>(
    ledger: &'a Ledger,
    reader: &Reader,
    name: &str,
) -> Option<&'a crate::ledger::RegisteredSupplier> {
    ledger
        .registry()
        .get(name)
        .filter(|r| wholly_visible(reader, r))
}

/// The supplier comparison over the assessments `reader` may read.
pub fn supplier(ledger: &Ledger, reader: &Reader, name: &str) -> Option<SupplierView> {
    // The registry is public, so the names it merges are too; a reader who
    // may not read the registry entry (anonymous, a GREEN entry) compares by
    // the name alone.
    let keys = registered_keys(ledger, reader, name);
    let display = registered(ledger, reader, name).map(|r| crate::statement::Supplier {
        name: r.name.clone(),
        country: r.country.clone(),
    });
    ledger
        .assessments()
        .supplier_view(&keys, display.as_ref(), |m| visible(reader, m))
}

/// The supplier registry entries `reader` may read.
pub fn suppliers(ledger: &Ledger, reader: &Reader) -> Vec<crate::ledger::RegisteredSupplier> {
    ledger
        .registry()
        .iter()
        .filter(|r| wholly_visible(reader, r))
        .cloned()
        .collect()
}

/// Whether `reader` may read every statement a registry entry's names come from.
fn wholly_visible(reader: &Reader, r: &crate::ledger::RegisteredSupplier) -> bool {
    visible(reader, &r.meta) && r.merges.iter().all(|m| visible(reader, m))
}

/// The position papers `reader` may read, in log order.
pub fn positions(ledger: &Ledger, reader: &Reader) -> Vec<PositionPaper> {
    ledger
        .discussion()
        .positions()
        .filter(|p| visible(reader, &p.meta))
        .cloned()
        .collect()
}

/// One position paper, if `reader` may read it.
pub fn position(ledger: &Ledger, reader: &Reader, id: &StatementId) -> Option<PositionPaper> {
    ledger
        .discussion()
        .position(id)
        .filter(|p| visible(reader, &p.meta))
        .cloned()
}

/// The messages `reader` may read in the thread of statement `id`, if it may
/// read that statement.
pub fn thread(ledger: &Ledger, reader: &Reader, id: &StatementId) -> Option<ThreadView> {
    if !ledger.audience(id)?.readable_by(reader) {
        return None;
    }
    let messages = ledger
        .discussion()
        .thread(id)
        .iter()
        .filter(|m| visible(reader, &m.meta))
        .cloned()
        .collect();
    Some(ThreadView {
        thread: *id,
        messages,
    })
}
