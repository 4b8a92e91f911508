//! `/v1/rooms` and `/v1/record`: rooms, members and channel-mode recording, with the seed's
//! error codes in the seed's situations.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use tally_api::rooms::{
    CreateRoom, JoinRoom, Membership, RecordRequest, RecordResponse, RecordType, Room, RoomKind,
    Source,
};
use tally_api::ErrorCode;

use crate::http::{AppState, HttpError};
use crate::now_ms;
use crate::record_task::StartTask;
use crate::rooms::{push_url, stream_code, valid_id, Presence};

/// Push URLs stay valid for a day.
const PUSH_URL_LIFETIME_S: i64 = 24 * 60 * 60;

fn internal(headers: &HeaderMap) -> impl Fn(crate::index::IndexError) -> HttpError + '_ {
    move |e| {
        tracing::error!(err = %e, "room storage failed");
        HttpError::new(ErrorCode::Internal, headers, "")
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    headers: &HeaderMap,
) -> Result<T, HttpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(HttpError::new(ErrorCode::EmptyBody, headers, ""));
    }
    serde_json::from_slice(body)
        .map_err(|e| HttpError::new(ErrorCode::BadRequestBody, headers, e.to_string()))
}

#[utoipa::path(post, path = "/v1/rooms", tag = "rooms", request_body = CreateRoom,
    responses((status = 200, body = Room), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub async fn create_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Room>, HttpError> {
    let req: CreateRoom = parse_json(&body, &headers)?;
    if !valid_id(&req.room_id) {
        return Err(HttpError::new(ErrorCode::BadId, &headers, req.room_id));
    }
    match state
        .rooms
        .create(&req.room_id, req.kind, now_ms())
        .await
        .map_err(internal(&headers))?
    {
        Ok(room) => Ok(Json(room)),
        Err(code) => Err(HttpError::new(code, &headers, req.room_id)),
    }
}

#[utoipa::path(get, path = "/v1/rooms", tag = "rooms",
    responses((status = 200, body = Vec<Room>), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub async fn list_rooms(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<Room>>, HttpError> {
    Ok(Json(state.rooms.list().await.map_err(internal(&headers))?))
}

#[utoipa::path(get, path = "/v1/rooms/{room_id}", tag = "rooms", params(("room_id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = Room), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub async fn get_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room_id): Path<String>,
) -> Result<Json<Room>, HttpError> {
    match state
        .rooms
        .get(&room_id)
        .await
        .map_err(internal(&headers))?
    {
        Some(room) => Ok(Json(room)),
        None => Err(HttpError::new(ErrorCode::RoomNotFound, &headers, room_id)),
    }
}

#[utoipa::path(post, path = "/v1/rooms/{room_id}/members", tag = "rooms", params(("room_id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$")), request_body = JoinRoom,
    responses((status = 200, body = Membership), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub async fn join_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room_id): Path<String>,
    body: Bytes,
) -> Result<Json<Membership>, HttpError> {
    let req: JoinRoom = parse_json(&body, &headers)?;
    if !valid_id(&req.user_id) {
        return Err(HttpError::new(ErrorCode::BadId, &headers, req.user_id));
    }
    if !state
        .rooms
        .join(&room_id, &req.user_id, now_ms())
        .await
        .map_err(internal(&headers))?
    {
        return Err(HttpError::new(ErrorCode::RoomNotFound, &headers, room_id));
    }
    let expires = now_ms() / 1000 + PUSH_URL_LIFETIME_S;
    let push = [Source::Camera, Source::Screen]
        .into_iter()
        .map(|source| {
            let code = stream_code(state.bizid, &room_id, &req.user_id, source);
            push_url(
                &state.ingest,
                &code,
                source,
                state.push_key.as_deref(),
                expires,
            )
        })
        .collect();
    Ok(Json(Membership {
        room_id,
        user_id: req.user_id,
        push,
    }))
}

#[utoipa::path(delete, path = "/v1/rooms/{room_id}/members/{user_id}", tag = "rooms",
    params(("room_id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$"), ("user_id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = Room), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub async fn leave_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((room_id, user_id)): Path<(String, String)>,
) -> Result<Json<Room>, HttpError> {
    if !state
        .rooms
        .leave(&room_id, &user_id, now_ms())
        .await
        .map_err(internal(&headers))?
    {
        return Err(HttpError::new(
            ErrorCode::RecordRoomNotFound,
            &headers,
            format!("{room_id}/{user_id}"),
        ));
    }
    // Leaving ends the member's recordings; their files are kept and indexed.
    state.tasks.stop_member(&room_id, &user_id).await;
    get_room(State(state), headers, Path(room_id)).await
}

/// A checked `POST /v1/record`.
struct RecordCall {
    start: bool,
    room_id: String,
    user_id: String,
    source: Source,
    record_type: RecordType,
    file_name: String,
    tags: Vec<String>,
    screen_shot: bool,
}

fn check(req: RecordRequest, headers: &HeaderMap) -> Result<RecordCall, HttpError> {
    let err = |code, detail: &str| HttpError::new(code, headers, detail);
    let start = match req.op.as_deref() {
        Some("start") => true,
        Some("stop") => false,
        Some(other) => return Err(err(ErrorCode::MissingOp, other)),
        None => return Err(err(ErrorCode::MissingOp, "")),
    };
    let file_name = req.file_name.unwrap_or_default();
    if start && file_name.trim().is_empty() {
        return Err(err(ErrorCode::MissingFileName, ""));
    }
    let source = match req.source.as_deref().unwrap_or("camera") {
        "camera" => Source::Camera,
        "screen" => Source::Screen,
        other => return Err(err(ErrorCode::BadSource, other)),
    };
    let record_type = match req.record_type.as_deref().unwrap_or("video") {
        "video" => RecordType::Video,
        "audio" => RecordType::Audio,
        other => return Err(err(ErrorCode::BadSource, other)),
    };
    let room_id = req.room_id.unwrap_or_default();
    let user_id = req.user_id.unwrap_or_default();
    if room_id.is_empty() {
        return Err(err(ErrorCode::RoomNotFound, "room_id"));
    }
    if user_id.is_empty() {
        return Err(err(ErrorCode::RecordUserNotFound, "user_id"));
    }
    Ok(RecordCall {
        start,
        room_id,
        user_id,
        source,
        record_type,
        file_name,
        tags: req.tags.unwrap_or_default(),
        // The seed's default is no screenshot.
        screen_shot: req.screen_shot.unwrap_or(false),
    })
}

#[utoipa::path(post, path = "/v1/record", tag = "recording", request_body = tally_api::rooms::DocumentedRecordRequest,
    responses((status = 200, body = RecordResponse), (status = "4XX", description = "An error of the table: code, message, advice, retryable", body = tally_api::ApiError)))]
pub async fn record(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RecordResponse>, HttpError> {
    let call = check(parse_json(&body, &headers)?, &headers)?;
    let detail = format!("{}/{}", call.room_id, call.user_id);
    if call.start {
        match state
            .rooms
            .presence(&call.room_id, &call.user_id)
            .await
            .map_err(internal(&headers))?
        {
            Presence::NoRoom => {
                return Err(HttpError::new(ErrorCode::RoomNotFound, &headers, detail))
            }
            Presence::NeverJoined => {
                return Err(HttpError::new(
                    ErrorCode::RecordUserNotFound,
                    &headers,
                    detail,
                ))
            }
            Presence::Left => {
                return Err(HttpError::new(
                    ErrorCode::RecordRoomNotFound,
                    &headers,
                    detail,
                ))
            }
            Presence::In(RoomKind::TwoPerson) => {
                return Err(HttpError::new(ErrorCode::TwoPersonRoom, &headers, detail))
            }
            Presence::In(RoomKind::Multi) => {}
        }
        let code = stream_code(state.bizid, &call.room_id, &call.user_id, call.source);
        let task_id = state
            .tasks
            .start(StartTask {
                room_id: call.room_id,
                user_id: call.user_id,
                source: call.source,
                record_type: call.record_type,
                stream_code: code,
                file_name: call.file_name,
                tags: call.tags,
                poster: call.screen_shot,
            })
            .await
            .map_err(|(code, d)| HttpError::new(code, &headers, d))?;
        return Ok(Json(RecordResponse {
            task_id,
            file_ids: Vec::new(),
        }));
    }
    if let Presence::NoRoom = state
        .rooms
        .presence(&call.room_id, &call.user_id)
        .await
        .map_err(internal(&headers))?
    {
        return Err(HttpError::new(
            ErrorCode::RecordRoomNotFound,
            &headers,
            detail,
        ));
    }
    let (task_id, file_ids) = state
        .tasks
        .stop(&call.room_id, &call.user_id, call.source)
        .await
        .map_err(|(code, d)| HttpError::new(code, &headers, d))?;
    Ok(Json(RecordResponse { task_id, file_ids }))
}
