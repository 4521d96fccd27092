//! Where a session's events go: the persisted log, live subscribers (`subscribe`) and handlers (`on`).

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};

use copilot_http::time::SharedClock;
use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;
use tokio::sync::broadcast;

use super::envelope::EventEnvelope;

/// Events a subscriber may fall behind before it misses the oldest.
const SUBSCRIBER_BUFFER: usize = 256;

type Handler = Arc<dyn Fn(&EventEnvelope) + Send + Sync>;

struct HandlerEntry {
    id: u64,
    kind: Option<String>,
    handler: Handler,
}

#[derive(Default)]
struct HubState {
    log: Vec<EventEnvelope>,
    last_id: Option<String>,
    handlers: Vec<HandlerEntry>,
    next_handler: u64,
}

/// One session's event hub.
pub(crate) struct EventHub {
    state: Mutex<HubState>,
    live: broadcast::Sender<EventEnvelope>,
    clock: SharedClock,
}

impl EventHub {
    /// A hub whose persisted log starts with `log` (a resumed session's).
    pub(crate) fn new(clock: SharedClock, log: Vec<EventEnvelope>) -> Arc<Self> {
        let (live, _) = broadcast::channel(SUBSCRIBER_BUFFER);
        let last_id = log.last().map(|event| event.id.clone());
        Arc::new(EventHub {
            state: Mutex::new(HubState {
                log,
                last_id,
                ..HubState::default()
            }),
            live,
            clock,
        })
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        // Every change is a push, a remove or an assignment: a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an event: chains it to the previous one, keeps it unless ephemeral, and delivers it to the
    /// subscribers and the handlers (called outside the hub's lock, in registration order).
    pub(crate) fn record(&self, kind: &str, data: Value) -> EventEnvelope {
        let (envelope, handlers) = {
            let mut state = self.state();
            let envelope = EventEnvelope::new(kind, data, state.last_id.take(), self.clock.now());
            state.last_id = Some(envelope.id.clone());
            if !envelope.ephemeral {
                state.log.push(envelope.clone());
            }
            let handlers: Vec<Handler> = state
                .handlers
                .iter()
                .filter(|entry| entry.kind.as_deref().is_none_or(|k| k == kind))
                .map(|entry| entry.handler.clone())
                .collect();
            (envelope, handlers)
        };
        // No subscriber is not an error.
        let _ = self.live.send(envelope.clone());
        for handler in handlers {
            handler(&envelope);
        }
        envelope
    }

    /// The persisted events so far.
    pub(crate) fn log(&self) -> Vec<EventEnvelope> {
        self.state().log.clone()
    }

    pub(crate) fn subscribe(&self) -> EventSubscription {
        let receiver = self.live.subscribe();
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((event, receiver)),
                    // A subscriber that fell behind misses the oldest events and carries on.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        EventSubscription {
            stream: stream.boxed(),
        }
    }

    pub(crate) fn add_handler(
        self: &Arc<Self>,
        kind: Option<String>,
        handler: Handler,
    ) -> Unsubscribe {
        let mut state = self.state();
        let id = state.next_handler;
        state.next_handler = state.next_handler.wrapping_add(1);
        state.handlers.push(HandlerEntry { id, kind, handler });
        Unsubscribe {
            hub: Arc::downgrade(self),
            id,
        }
    }
}

/// The live events of a session from now on ([`Session::subscribe`](crate::Session::subscribe)): a
/// `Stream<Item = EventEnvelope>` over a bounded buffer. A subscriber that falls more than 256 events behind
/// misses the oldest ones instead of slowing the session down. It ends when the session is dropped.
pub struct EventSubscription {
    stream: BoxStream<'static, EventEnvelope>,
}

impl fmt::Debug for EventSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSubscription { .. }")
    }
}

impl Stream for EventSubscription {
    type Item = EventEnvelope;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EventEnvelope>> {
        self.stream.poll_next_unpin(cx)
    }
}

/// Removes a handler registered with [`Session::on`](crate::Session::on) or
/// [`Session::on_kind`](crate::Session::on_kind) when dropped (or when [`unsubscribe`](Self::unsubscribe)
/// is called). Keep it alive as long as the handler should run.
#[must_use = "the handler is removed when this guard is dropped"]
pub struct Unsubscribe {
    hub: Weak<EventHub>,
    id: u64,
}

impl Unsubscribe {
    /// Removes the handler now.
    pub fn unsubscribe(self) {}
}

impl fmt::Debug for Unsubscribe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unsubscribe").field("id", &self.id).finish()
    }
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.state().handlers.retain(|entry| entry.id != self.id);
        }
    }
}
