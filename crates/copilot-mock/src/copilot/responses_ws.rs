//! `GET /responses` upgraded to a WebSocket (`ws:/responses` in a model's `supported_endpoints`).
//!
//! The upgrade is authenticated like the HTTP call (its headers carry the bearer and the Copilot header
//! profile). On the socket each client text message `{"type":"response.create", …body…}` is one turn: it is
//! answered with the same events as the HTTP stream, one JSON text message each, ending with
//! `response.completed`; the socket then waits for the next turn. A failed turn is answered with
//! `{"type":"error","status":…,"error":{…}}` and the socket stays open.
//!
//! Tests steer it with [`WsUpgrade`] (refuse the upgrade with a status) and with faults on
//! [`Endpoint::ResponsesWebSocket`], taken once per turn: `Status` answers the turn with an error event,
//! `ResetMidStream` drops the socket without a close frame after some events, `TruncateStream` stops the
//! turn silently, `MidStreamError` sends an error event, `MalformedChunk` one text message that is not JSON,
//! `StallMidStream` pauses, `Latency` waits before the first event.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::responses::{answer, stream_events};
use crate::config::WsUpgrade;
use crate::extract::{CopilotCaller, CopilotJson};
use crate::fault::{Endpoint, Fault};
use crate::log::{RequestLogEntry, redact_headers};
use crate::server::Shared;

/// The largest client message the mock reads (as the HTTP body limit).
const MAX_MESSAGE: usize = 32 * 1024 * 1024;

/// `GET /responses` with `Upgrade: websocket`.
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    caller: CopilotCaller,
    ws: WebSocketUpgrade,
) -> Response {
    let refusal = {
        let mut state = shared.state();
        state.ws_upgrades = state.ws_upgrades.saturating_add(1);
        state.ws_upgrade
    };
    if let WsUpgrade::Reject { status } = refusal {
        return super::text(status, "websocket upgrade refused");
    }
    if let Err(response) = crate::copilot::models::check_auto_session(&shared, &caller) {
        return response;
    }
    ws.max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve(shared, caller, socket))
        .into_response()
}

/// Answers turns until the client closes the socket, it breaks, or the server shuts down.
async fn serve(shared: Arc<Shared>, caller: CopilotCaller, mut socket: WebSocket) {
    {
        let mut state = shared.state();
        state.ws_sockets = state.ws_sockets.saturating_add(1);
    }
    loop {
        let message = tokio::select! {
            message = socket.recv() => message,
            _ = shared.cancel.cancelled() => return,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                let error = error_event(
                    400,
                    "invalid_request_error",
                    "binary messages are not supported",
                );
                if send(&mut socket, &error).await.is_err() {
                    return;
                }
                continue;
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => return,
        };
        if turn(&shared, &caller, &mut socket, text.as_str())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// One `response.create`. `Err` when the socket is gone (or a fault dropped it).
async fn turn(
    shared: &Shared,
    caller: &CopilotCaller,
    socket: &mut WebSocket,
    text: &str,
) -> Result<(), ()> {
    let fault = shared
        .state()
        .take_fault(Endpoint::ResponsesWebSocket, &caller.headers);
    let mut entry = RequestLogEntry {
        endpoint: Endpoint::ResponsesWebSocket,
        method: "WS".into(),
        path: format!("{}/responses", crate::server::COPILOT_PREFIX),
        query: None,
        headers: redact_headers(&caller.headers),
        body: Bytes::copy_from_slice(text.as_bytes()),
        status: 200,
        note: fault.is_some().then(|| "fault".to_owned()),
    };
    let events = match parse_create(text) {
        Ok(body) => {
            let call = CopilotJson {
                caller: CopilotCaller {
                    user: caller.user.clone(),
                    headers: caller.headers.clone(),
                },
                body,
            };
            match answer(shared, &call) {
                Ok((response, cost)) => Ok(stream_events(&response, &cost)),
                Err(response) => Err(error_from_response(response).await),
            }
        }
        Err(error) => Err(error),
    };
    let events = match (events, &fault) {
        (_, Some(Fault::Status { status, body, .. })) => Err(wrap_error(*status, body.as_bytes())),
        (events, _) => events,
    };
    let events = match events {
        Ok(events) => events,
        Err(error) => {
            entry.status = error["status"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(400);
            shared.log_entry(entry);
            return send(socket, &error).await;
        }
    };
    shared.log_entry(entry);
    if let Some(Fault::Latency(duration) | Fault::StallBeforeFirstByte(duration)) = &fault {
        shared.sleep(*duration).await;
    }
    let cut = fault.as_ref().and_then(|fault| fault.cut(events.len()));
    for (i, event) in events.iter().enumerate() {
        if Some(i) == cut {
            match &fault {
                Some(Fault::ResetMidStream { .. }) => return Err(()),
                Some(Fault::TruncateStream { .. }) => return Ok(()),
                Some(Fault::StallMidStream { duration, .. }) => shared.sleep(*duration).await,
                Some(Fault::MalformedChunk { .. }) => {
                    socket
                        .send(Message::Text(
                            r#"{"type":"response.output_text.delta","delta":"brok"#.into(),
                        ))
                        .await
                        .map_err(drop)?;
                }
                Some(Fault::MidStreamError { code, message, .. }) => {
                    let error = json!({
                        "type": "error",
                        "status": 400,
                        "error": {"type": "invalid_request_error", "code": code, "message": message},
                    });
                    return send(socket, &error).await;
                }
                _ => {}
            }
        }
        send(socket, event).await?;
    }
    Ok(())
}

/// The request body of a `response.create` message: every field but `type`, streamed.
fn parse_create(text: &str) -> Result<Value, Value> {
    let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(text) else {
        return Err(error_event(
            400,
            "invalid_request_error",
            "the message is not a JSON object",
        ));
    };
    match body.remove("type") {
        Some(Value::String(kind)) if kind == "response.create" => {}
        other => {
            let kind = other.as_ref().and_then(Value::as_str).unwrap_or("");
            return Err(error_event(
                400,
                "invalid_request_error",
                &format!("unsupported event type {kind:?}; expected \"response.create\""),
            ));
        }
    }
    body.insert("stream".into(), Value::Bool(true));
    Ok(Value::Object(body))
}

/// An HTTP error answer of the `/responses` handler, as the WebSocket error event.
async fn error_from_response(response: Response) -> Value {
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    wrap_error(status, &body)
}

/// `{"type":"error","status":…,"error":{…}}` from an HTTP status and its JSON or text body.
fn wrap_error(status: u16, body: &[u8]) -> Value {
    let error = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut object)) => object.remove("error").unwrap_or(Value::Object(object)),
        _ => json!({"message": String::from_utf8_lossy(body)}),
    };
    json!({"type": "error", "status": status, "error": error})
}

fn error_event(status: u16, kind: &str, message: &str) -> Value {
    json!({"type": "error", "status": status, "error": {"type": kind, "message": message}})
}

async fn send(socket: &mut WebSocket, event: &Value) -> Result<(), ()> {
    socket
        .send(Message::Text(event.to_string().into()))
        .await
        .map_err(drop)
}
