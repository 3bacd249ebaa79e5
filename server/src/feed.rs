//! The feed: what the committer publishes after each flush, and what its
//! subscribers send of it.
//!
//! The sequencer publishes every committed batch as a [`Published`] on a
//! non-blocking broadcast; the stream handler (`handlers::stream`) subscribes.
//! This module sits below both, so neither imports the other.
//!
//! A live batch is decoded and its stream events serialised once for every
//! subscriber ([`Published::prepared`]): the first subscriber to reach the
//! batch prepares it, the others share the result, and so are its `batch`
//! messages for readers who may see all of it.

use std::sync::{Arc, OnceLock};

use bytestring::ByteString;
use entente_shared::api::{StreamEvent, MAX_STREAM_FRAME_BYTES};
use entente_shared::dsse::Envelope;
use entente_shared::statement::{Statement, StatementId};

/// A committed batch, as published to stream subscribers after its flush.
#[derive(Debug)]
pub struct Published {
    /// `(index, canonical envelope JSON)`, in index order.
    pub entries: Vec<(u64, Vec<u8>)>,
    /// Tree size after the batch.
    pub size: u64,
    pub checkpoint: Arc<str>,
    /// The batch as subscribers send it, made by the first one that needs it.
    prepared: OnceLock<Result<Prepared, Unpreparable>>,
}

impl Published {
    /// A batch of `entries` ending at tree `size`, signed by `checkpoint`.
    pub fn new(entries: Vec<(u64, Vec<u8>)>, size: u64, checkpoint: Arc<str>) -> Published {
        Published {
            entries,
            size,
            checkpoint,
            prepared: OnceLock::new(),
        }
    }

    /// The batch decoded and its events serialised, once for every subscriber.
    pub fn prepared(&self) -> Result<&Prepared, Unpreparable> {
        self.prepared
            .get_or_init(|| prepare(self))
            .as_ref()
            .map_err(|_| Unpreparable)
    }
}

/// A live batch as every subscriber sends it.
pub struct Prepared {
    pub entries: Vec<PreparedEntry>,
    /// The text of the batch's checkpoint event.
    pub checkpoint: ByteString,
    /// The batch's messages for a reader who may see all of it.
    pub frames: Vec<ByteString>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prepared({} entries)", self.entries.len())
    }
}

/// A stored entry of a live batch did not decode, or an event did not
/// serialise (a bug, not input).
#[derive(Debug, Clone, Copy)]
pub struct Unpreparable;

/// One entry of a prepared batch.
pub struct PreparedEntry {
    pub index: u64,
    /// What `may_read` needs (author, distribution).
    pub statement: Statement,
    /// The text of the entry's event, for readers who may see it.
    pub event: ByteString,
}

fn prepare(batch: &Published) -> Result<Prepared, Unpreparable> {
    let mut entries = Vec::with_capacity(batch.entries.len());
    for (index, bytes) in &batch.entries {
        // Stored statements were decoded when accepted: failing now is internal.
        let envelope = Envelope::from_json(bytes).map_err(|_| Unpreparable)?;
        let statement = Statement::decode(&envelope.payload).map_err(|_| Unpreparable)?;
        let id = StatementId::of_payload(&envelope.payload);
        let event = event_text(&StreamEvent::Entry {
            index: *index,
            id,
            envelope,
        })?;
        entries.push(PreparedEntry {
            index: *index,
            statement,
            event,
        });
    }
    let checkpoint = event_text(&StreamEvent::Checkpoint {
        checkpoint: batch.checkpoint.to_string(),
    })?;
    let all: Vec<ByteString> = entries
        .iter()
        .map(|e| e.event.clone())
        .chain(std::iter::once(checkpoint.clone()))
        .collect();
    Ok(Prepared {
        frames: batch_frames(&all),
        entries,
        checkpoint,
    })
}

/// An event's JSON text; cloning it shares the bytes (no copy per subscriber).
pub fn event_text(event: &StreamEvent) -> Result<ByteString, Unpreparable> {
    serde_json::to_string(event)
        .map(ByteString::from)
        .map_err(|_| Unpreparable)
}

/// `events` (each an event's JSON text) as `batch` messages of at most
/// [`MAX_STREAM_FRAME_BYTES`]: the JSON `StreamEvent::Batch` serialises to.
pub fn batch_frames(events: &[ByteString]) -> Vec<ByteString> {
    const HEAD: &str = r#"{"type":"batch","events":["#;
    const TAIL: &str = "]}";
    let mut frames = Vec::new();
    let mut frame = String::new();
    for event in events {
        let len = frame.len() + event.len() + TAIL.len() + 1;
        if !frame.is_empty() && len > MAX_STREAM_FRAME_BYTES {
            frame.push_str(TAIL);
            frames.push(ByteString::from(std::mem::take(&mut frame)));
        }
        if frame.is_empty() {
            frame.push_str(HEAD);
        } else {
            frame.push(',');
        }
        frame.push_str(event);
    }
    if !frame.is_empty() {
        frame.push_str(TAIL);
        frames.push(ByteString::from(frame));
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(from: u64) -> StreamEvent {
        StreamEvent::Hidden { from, count: 1 }
    }

    #[test]
    fn batch_messages_are_what_serde_makes_of_a_batch() {
        let events = vec![hidden(3), hidden(4)];
        let texts: Vec<ByteString> = events.iter().map(|e| event_text(e).unwrap()).collect();
        let frames = batch_frames(&texts);
        assert_eq!(frames.len(), 1);
        let batch = StreamEvent::Batch { events };
        assert_eq!(&*frames[0], serde_json::to_string(&batch).unwrap());
    }

    #[test]
    fn long_batches_are_split_in_order_and_a_large_event_goes_alone() {
        let big = StreamEvent::Checkpoint {
            checkpoint: "x".repeat(MAX_STREAM_FRAME_BYTES),
        };
        let events: Vec<StreamEvent> = (0..20_000).map(hidden).chain([big.clone()]).collect();
        let texts: Vec<ByteString> = events.iter().map(|e| event_text(e).unwrap()).collect();
        let frames = batch_frames(&texts);
        assert!(frames.len() > 2);
        let mut back = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let last = i + 1 == frames.len();
            assert!(last || frame.len() <= MAX_STREAM_FRAME_BYTES, "frame {i}");
            match serde_json::from_str(frame).unwrap() {
                StreamEvent::Batch { events } => back.extend(events),
                other => panic!("not a batch: {other:?}"),
            }
        }
        assert_eq!(back, events);
        assert_eq!(
            serde_json::from_str::<StreamEvent>(frames.last().unwrap()).unwrap(),
            StreamEvent::Batch { events: vec![big] }
        );
    }
}
