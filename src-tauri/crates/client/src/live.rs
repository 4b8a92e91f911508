//! The server's live events (`GET /v1/events`): one connection as a stream, and a follower
//! that reconnects with `Last-Event-ID` so a dropped connection loses nothing.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tally_api::events::LiveEvent;
use tally_api::{ApiError, ErrorCode, Lang};

use crate::http::TallyClient;

type RawEvents =
    Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

/// One connection to the event stream.
pub struct EventStream {
    inner: RawEvents,
    last_id: Option<String>,
    lang: Lang,
}

impl TallyClient {
    /// Connects to the live events, resuming after `last_event_id` when given.
    pub async fn events(&self, last_event_id: Option<&str>) -> Result<EventStream, ApiError> {
        let mut request = self
            .request(reqwest::Method::GET, "/v1/events")
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = self.send(request).await?;
        Ok(EventStream {
            inner: Box::pin(response.bytes_stream().eventsource()),
            last_id: last_event_id.map(str::to_owned),
            lang: self.lang(),
        })
    }
}

impl EventStream {
    /// The next event; `None` when the server ended the stream, an error when the connection
    /// broke. Events of kinds this client does not know (a newer server) are skipped.
    pub async fn next(&mut self) -> Option<Result<LiveEvent, ApiError>> {
        loop {
            let event = match self.inner.next().await? {
                Ok(event) => event,
                Err(err) => {
                    return Some(Err(ApiError::with_detail(
                        ErrorCode::ServerUnreachable,
                        self.lang,
                        &err.to_string(),
                    )))
                }
            };
            if !event.id.is_empty() {
                self.last_id = Some(event.id.clone());
            }
            match serde_json::from_str(&event.data) {
                Ok(live) => return Some(Ok(live)),
                Err(err) => tracing::debug!(%err, data = %event.data, "skipping an unknown event"),
            }
        }
    }

    /// The id to resume after.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }
}

/// What a follower reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedEvent {
    /// Connected (again): events flow.
    Connected,
    /// The connection broke or could not be made; the follower keeps trying.
    Disconnected { error: ApiError },
    /// An event from the server.
    Live { event: LiveEvent },
}

/// How long a follower waits before reconnecting: 1 s, doubling to 10 s.
fn reconnect_delay(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(4)).min(Duration::from_secs(10))
}

/// Follows the live events until `sink` returns false, reconnecting after every break and
/// resuming where the last connection stopped.
pub async fn follow(client: &TallyClient, mut sink: impl FnMut(FeedEvent) -> bool) {
    let mut last_id: Option<String> = None;
    let mut failures = 0;
    loop {
        let error = match client.events(last_id.as_deref()).await {
            Ok(mut stream) => {
                failures = 0;
                if !sink(FeedEvent::Connected) {
                    return;
                }
                let error = loop {
                    match stream.next().await {
                        Some(Ok(event)) => {
                            if !sink(FeedEvent::Live { event }) {
                                return;
                            }
                        }
                        Some(Err(error)) => break error,
                        None => {
                            break ApiError::with_detail(
                                ErrorCode::ServerUnreachable,
                                client.lang(),
                                "the event stream ended",
                            )
                        }
                    }
                };
                last_id = stream.last_event_id().map(str::to_owned);
                error
            }
            Err(error) => error,
        };
        if !sink(FeedEvent::Disconnected { error }) {
            return;
        }
        tokio::time::sleep(reconnect_delay(failures)).await;
        failures += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnecting_backs_off_from_one_to_ten_seconds() {
        let delays: Vec<u64> = (0..7).map(|f| reconnect_delay(f).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10, 10]);
    }
}
