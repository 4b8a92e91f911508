//! The HTTP API: `/v1` (bearer token), `/vod` downloads with Range, health.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use tally_api::events::LiveEvent;
use tally_api::recordings::{CallbackAttempt, Recording, RecordingPage};
use tally_api::usage::Usage;
use tally_api::{ApiError, ErrorCode, Lang};

use crate::access::{self, AccessPolicy};
use crate::events::{EventHub, Numbered};
use crate::index::{Index, IndexError, IndexedFile, RecordingQuery};
use crate::record_task::RecordTasks;
use crate::rooms::RoomBook;
use crate::rooms_api;
use crate::urls::Urls;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub index: Index,
    pub urls: Urls,
    pub rooms: RoomBook,
    pub tasks: RecordTasks,
    pub bizid: u64,
    pub push_key: Option<String>,
    /// `rtmp://host:port` publishers push to.
    pub ingest: crate::rooms::IngestBases,
    pub events: EventHub,
    /// Where recorded files live.
    pub data_dir: std::path::PathBuf,
    /// The media engine (live previews).
    pub engine: std::sync::Arc<tally_media::Engine>,
    /// Where finished files move to, when configured.
    pub bucket: Option<crate::bucket::Bucket>,
}

/// An error answer: the table's body in the caller's language, with the table's status.
pub struct HttpError {
    code: ErrorCode,
    lang: Lang,
    detail: String,
}

impl HttpError {
    /// The table's answer for `code`, with a detail, in the caller's language.
    pub fn new(code: ErrorCode, headers: &HeaderMap, detail: impl Into<String>) -> HttpError {
        HttpError {
            code,
            lang: lang_of(headers),
            detail: detail.into(),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.entry().http_status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(ApiError::with_detail(self.code, self.lang, &self.detail)),
        )
            .into_response()
    }
}

fn lang_of(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

fn index_error(err: IndexError, headers: &HeaderMap) -> HttpError {
    match err {
        IndexError::BadCursor(c) => {
            HttpError::new(ErrorCode::BadParameter, headers, format!("cursor {c}"))
        }
        other => {
            tracing::error!(err = %other, "index query failed");
            HttpError::new(ErrorCode::Internal, headers, "")
        }
    }
}

/// The router: `/v1` and `/metrics` behind the access checks (`access.rs`), `/vod` behind the
/// token or a signed link (`vod.rs`), health and the OpenAPI document behind the Host check.
pub fn router(state: AppState, policy: AccessPolicy, vod: crate::vod::VodState) -> Router {
    let v1 = Router::new()
        .route("/recordings", get(list_recordings))
        .route(
            "/recordings/{file_id}",
            get(get_recording).delete(delete_recording),
        )
        .route("/recordings/{file_id}/callbacks", get(recording_callbacks))
        .route(
            "/rooms",
            post_json(rooms_api::create_room).get(rooms_api::list_rooms),
        )
        .route("/rooms/{room_id}", get(rooms_api::get_room))
        .route("/rooms/{room_id}/members", post_json(rooms_api::join_room))
        .route(
            "/rooms/{room_id}/members/{user_id}",
            delete(rooms_api::leave_room),
        )
        .route("/record", post_json(rooms_api::record))
        .route("/play-info", get(play_info))
        .route("/streams/{stream_code}/preview", get(stream_preview))
        .route("/usage", get(usage))
        .route("/version", get(version))
        .route("/events", get(live_events))
        .with_state(state.clone());
    // Behind the token too when one is set: scrapers can send a bearer token.
    let guarded = Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
        .nest("/v1", v1)
        .layer(middleware::from_fn_with_state(
            policy.clone(),
            access::guard_api,
        ));
    let public = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/v1/openapi.json",
            get(|| async { Json(<crate::openapi::ApiDoc as utoipa::OpenApi>::openapi()) }),
        )
        .layer(middleware::from_fn_with_state(policy, access::guard_host));
    let vod = Router::new()
        .route("/vod/{*path}", any(crate::vod::serve))
        .with_state(vod);
    public.merge(guarded).merge(vod)
}

/// A POST route that takes only JSON. The check sits on the method itself, so a method the
/// path does not have stays a plain 405.
fn post_json<H, T>(handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    post(handler).route_layer(middleware::from_fn(access::require_json))
}

/// A query string, or the table's bad-parameter answer.
fn parsed<T>(query: Result<Query<T>, QueryRejection>, headers: &HeaderMap) -> Result<T, HttpError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| HttpError::new(ErrorCode::BadParameter, headers, e.body_text()))
}

async fn with_url(file: IndexedFile, urls: &Urls) -> Recording {
    let (url, thumbnail_url) = urls.links_of(&file, crate::urls::API_LINK_TTL_S).await;
    Recording {
        url,
        thumbnail_url,
        ..file.recording
    }
}

#[utoipa::path(get, path = "/v1/recordings", tag = "recordings", params(RecordingQuery),
    responses((status = 200, body = RecordingPage), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub(crate) async fn list_recordings(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<RecordingQuery>, QueryRejection>,
) -> Result<Json<RecordingPage>, HttpError> {
    let query = parsed(query, &headers)?;
    recording_page(&state, &headers, &query).await
}

/// One page of the index as the API answers it.
async fn recording_page(
    state: &AppState,
    headers: &HeaderMap,
    query: &RecordingQuery,
) -> Result<Json<RecordingPage>, HttpError> {
    let (files, next_cursor) = state
        .index
        .list(query)
        .await
        .map_err(|e| index_error(e, headers))?;
    let mut recordings = Vec::with_capacity(files.len());
    for file in files {
        recordings.push(with_url(file, &state.urls).await);
    }
    Ok(Json(RecordingPage {
        recordings,
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/recordings/{file_id}", tag = "recordings", params(("file_id" = String, Path)),
    responses((status = 200, body = Recording), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub(crate) async fn get_recording(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file_id): Path<String>,
) -> Result<Json<Recording>, HttpError> {
    match state
        .index
        .get(&file_id)
        .await
        .map_err(|e| index_error(e, &headers))?
    {
        Some(file) if !file.recording.deleted => Ok(Json(with_url(file, &state.urls).await)),
        _ => Err(HttpError::new(
            ErrorCode::RecordingNotFound,
            &headers,
            file_id,
        )),
    }
}

#[utoipa::path(delete, path = "/v1/recordings/{file_id}", tag = "recordings", params(("file_id" = String, Path)),
    responses((status = 200, description = "The tombstone", body = Recording), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
/// Deletes a recording: its files leave the disk, its row stays as a tombstone that syncs.
pub(crate) async fn delete_recording(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file_id): Path<String>,
) -> Result<Json<Recording>, HttpError> {
    let now = crate::now_ms();
    let deleted = crate::retention::delete(
        &state.index,
        state.bucket.as_ref(),
        &state.data_dir,
        &file_id,
        now,
    )
    .await
    .map_err(|e| index_error(e, &headers))?;
    if !deleted {
        return Err(HttpError::new(
            ErrorCode::RecordingNotFound,
            &headers,
            file_id,
        ));
    }
    let file = state
        .index
        .get(&file_id)
        .await
        .map_err(|e| index_error(e, &headers))?
        .ok_or_else(|| HttpError::new(ErrorCode::Internal, &headers, "deleted row vanished"))?;
    Ok(Json(with_url(file, &state.urls).await))
}

#[utoipa::path(get, path = "/v1/recordings/{file_id}/callbacks", tag = "recordings", params(("file_id" = String, Path)),
    responses((status = 200, body = Vec<CallbackAttempt>), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub(crate) async fn recording_callbacks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file_id): Path<String>,
) -> Result<Json<Vec<CallbackAttempt>>, HttpError> {
    if state
        .index
        .get(&file_id)
        .await
        .map_err(|e| index_error(e, &headers))?
        .is_none()
    {
        return Err(HttpError::new(
            ErrorCode::RecordingNotFound,
            &headers,
            file_id,
        ));
    }
    Ok(Json(
        state
            .index
            .attempts(&file_id)
            .await
            .map_err(|e| index_error(e, &headers))?,
    ))
}

/// `GET /v1/play-info`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PlayInfoQuery {
    /// The file name given when the recording started.
    #[param(required = true, min_length = 1)]
    file_name: Option<String>,
    /// `next_cursor` of the page before.
    #[param(pattern = "^-?[0-9]{1,18}_")]
    cursor: Option<String>,
    /// Rows per page, 1–1000 (default 100; beyond the range it is clamped).
    #[param(format = Int64, minimum = 0, maximum = 4294967295_u32)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/play-info", tag = "recordings", params(PlayInfoQuery),
    responses((status = 200, body = RecordingPage), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
/// `DescribeVodPlayInfo`: every file recorded under a file name, with its URL.
pub(crate) async fn play_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PlayInfoQuery>, QueryRejection>,
) -> Result<Json<RecordingPage>, HttpError> {
    let query = parsed(query, &headers)?;
    let Some(file_name) = query.file_name.filter(|name| !name.is_empty()) else {
        return Err(HttpError::new(ErrorCode::MissingFileName, &headers, ""));
    };
    let query = RecordingQuery {
        file_name: Some(file_name),
        cursor: query.cursor,
        limit: query.limit,
        ..RecordingQuery::default()
    };
    recording_page(&state, &headers, &query).await
}

#[utoipa::path(get, path = "/v1/streams/{stream_code}/preview", tag = "streams", params(("stream_code" = String, Path)),
    responses((status = 200, description = "A JPEG of the stream's latest keyframe", content_type = "image/jpeg"),
        (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
/// A live preview: a JPEG of a room member's stream at its latest keyframe.
pub(crate) async fn stream_preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(stream_code): Path<String>,
) -> Result<Response, HttpError> {
    let no_picture = |detail: String| HttpError::new(ErrorCode::NoPreview, &headers, detail);
    match state.engine.preview("live", &stream_code).await {
        Ok(Some(jpeg)) => Ok((
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            jpeg,
        )
            .into_response()),
        Ok(None) => Err(no_picture(stream_code)),
        Err(e) => Err(no_picture(format!("{stream_code}: {e}"))),
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsageQuery {
    /// `YYYY-MM`
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: String,
}

#[utoipa::path(get, path = "/v1/usage", tag = "usage", params(UsageQuery),
    responses((status = 200, body = Usage), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
/// Usage of a month: its peak of concurrent recording channels and what that costs.
pub(crate) async fn usage(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Json<Usage>, HttpError> {
    let query = parsed(query, &headers)?;
    let bounds = crate::usage::month_bounds(&query.month).ok_or_else(|| {
        HttpError::new(
            ErrorCode::BadParameter,
            &headers,
            format!("month {:?} is not YYYY-MM", query.month),
        )
    })?;
    let files = state
        .index
        .spans_overlapping(bounds.0, bounds.1)
        .await
        .map_err(|e| index_error(e, &headers))?;
    Ok(Json(crate::usage::compute(&query.month, bounds, &files)))
}

#[utoipa::path(get, path = "/v1/version", tag = "health",
    responses((status = 200, body = tally_api::ServiceVersion), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
/// The service's name and release.
pub(crate) async fn version() -> Json<tally_api::ServiceVersion> {
    Json(tally_api::ServiceVersion::current())
}

#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
/// Prometheus metrics: the index, the outbox, live streams and recordings in progress.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (recordings, bytes) = state
        .index
        .totals()
        .await
        .map_err(|e| index_error(e, &headers))?;
    let mut snapshot = crate::metrics::Snapshot {
        recordings,
        bytes,
        record_tasks_active: state.tasks.active().await as i64,
        uploads_pending: state
            .index
            .uploads_pending()
            .await
            .map_err(|e| index_error(e, &headers))?,
        ..Default::default()
    };
    for (callback_state, n) in state
        .index
        .callback_counts()
        .await
        .map_err(|e| index_error(e, &headers))?
    {
        match callback_state.as_str() {
            "pending" => snapshot.callbacks_pending = n,
            "held" => snapshot.callbacks_held = n,
            "delivered" => snapshot.callbacks_delivered = n,
            "gave_up" => snapshot.callbacks_gave_up = n,
            _ => {}
        }
    }
    for stream in state.tasks.streams() {
        snapshot.live_streams += i64::from(stream.live);
        snapshot.recordings_in_progress += stream.recordings.len() as i64;
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&snapshot),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event")),
    responses((status = 200, description = "Server-sent events, one JSON `LiveEvent` per `data:`", content_type = "text/event-stream", body = LiveEvent)))]
/// `GET /v1/events`: live events as server-sent events. A client that reconnects with
/// `Last-Event-ID` gets what it missed, or a `resync` when the server no longer has it.
pub(crate) async fn live_events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let lang = lang_of(&headers);
    let last_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let subscription = state.events.subscribe(last_id);
    let hub = state.events.clone();
    let sse = move |n: Numbered| {
        let event = Event::default()
            .json_data(n.event.localized(lang))
            .expect("live events serialize");
        // The present state sent on connect has no position to resume from.
        if n.seq == 0 {
            event
        } else {
            event.id(hub.id_of(n.seq))
        }
    };
    let resync = || {
        Event::default()
            .json_data(LiveEvent::Resync)
            .expect("live events serialize")
    };
    let first = subscription.resync.then(resync);
    let backlog: Vec<Event> = first
        .into_iter()
        .chain(subscription.backlog.into_iter().map(&sse))
        .collect();
    let live = futures_util::stream::unfold(subscription.live, move |mut live| {
        let sse = sse.clone();
        async move {
            let event = match live.recv().await {
                Ok(n) => sse(n),
                // Too slow to keep up: the client reloads rather than miss events silently.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => resync(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            };
            Some((event, live))
        }
    });
    let closed = state.events.closed();
    let stream = futures_util::stream::iter(backlog)
        .chain(live)
        .take_until(closed)
        .map(Ok);
    Sse::new(stream).keep_alive(KeepAlive::default())
}
