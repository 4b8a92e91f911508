//! The live view's commands: thin calls into `tally-client`.

use std::sync::PoisonError;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use tally_api::rooms::{Membership, RecordRequest, RecordResponse, RecordType, RoomKind, Source};
use tally_api::{ApiError, ErrorCode, Lang};
use tally_client::http::{ConsoleInfo, TallyClient};

/// The server the console talks to; Settings can point it elsewhere while the app runs.
pub struct Console {
    embedded: Connection,
    current: std::sync::RwLock<Connection>,
    /// The last recording started from this console, for the tray's Record / Stop.
    last_start: std::sync::Mutex<Option<RecordRequest>>,
    /// Why the built-in server is not running, if it could not start.
    startup_error: Option<(ErrorCode, String)>,
    /// The embedded server's demo member, publishing once its room is joined.
    demo: std::sync::Arc<crate::embedded::DemoPublisher>,
}

/// One server: its API client and where its publishers push.
#[derive(Clone)]
pub struct Connection {
    pub client: TallyClient,
    /// `rtmp://host:port/live` when known (the embedded server); remote servers tell it in
    /// each member's push URLs.
    pub rtmp_url: String,
}

impl Console {
    /// Connected to `current` at first; `embedded` is the console's own server.
    pub fn new(
        embedded: Connection,
        current: Connection,
        startup_error: Option<(ErrorCode, String)>,
        demo: std::sync::Arc<crate::embedded::DemoPublisher>,
    ) -> Console {
        Console {
            embedded,
            current: std::sync::RwLock::new(current),
            last_start: std::sync::Mutex::new(None),
            startup_error,
            demo,
        }
    }

    /// The current server.
    pub fn connection(&self) -> Connection {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The current server's API client.
    pub fn client(&self) -> TallyClient {
        self.connection().client
    }

    /// Whether the current server is the console's own.
    pub fn is_embedded(&self) -> bool {
        self.client().base_url() == self.embedded.client.base_url()
    }

    /// The console's own server.
    pub fn embedded(&self) -> Connection {
        self.embedded.clone()
    }

    /// The last recording started from this console.
    pub fn last_start(&self) -> Option<RecordRequest> {
        self.last_start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Talks to `connection` from now on.
    pub fn switch(&self, connection: Connection) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = connection;
    }
}

/// Where the console is connected and the demo room's ids.
#[tauri::command]
pub fn console_info(console: tauri::State<'_, Console>) -> ConsoleInfo {
    let Connection { client, rtmp_url } = console.connection();
    ConsoleInfo {
        embedded: console.is_embedded(),
        api_url: client.base_url().to_owned(),
        rtmp_url,
        demo_room: crate::embedded::DEMO_ROOM.to_owned(),
        demo_user: crate::embedded::DEMO_USER.to_owned(),
        startup_error: console.startup_error.as_ref().map(|(code, detail)| {
            ApiError::with_detail(*code, crate::locale::system_lang(), detail)
        }),
    }
}

/// Joins a room, creating it first when it does not exist yet.
#[tauri::command]
pub async fn join_room(
    console: tauri::State<'_, Console>,
    room_id: String,
    user_id: String,
    lang: Lang,
) -> Result<Membership, ApiError> {
    let client = console.client().with_lang(lang);
    let joined = match client.join(&room_id, &user_id).await {
        Err(e) if e.code == ErrorCode::RoomNotFound.as_u32() => {
            client.create_room(&room_id, RoomKind::Multi).await?;
            client.join(&room_id, &user_id).await
        }
        other => other,
    }?;
    if console.is_embedded() && room_id == crate::embedded::DEMO_ROOM {
        console.demo.wanted();
    }
    Ok(joined)
}

/// Starts recording a member's source (channel mode: MP4, a poster per file).
#[tauri::command]
#[allow(clippy::too_many_arguments)] // the window's arguments, each by name
pub async fn start_recording(
    console: tauri::State<'_, Console>,
    room_id: String,
    user_id: String,
    source: Source,
    record_type: RecordType,
    file_name: String,
    tags: Vec<String>,
    lang: Lang,
) -> Result<RecordResponse, ApiError> {
    let request = RecordRequest {
        op: Some("start".into()),
        room_id: Some(room_id),
        user_id: Some(user_id),
        file_name: Some(file_name),
        class_id: Some(0),
        tags: Some(tags),
        record_type: Some(record_type.as_str().into()),
        source: Some(source.as_str().into()),
        sdk_type: Some("normal".into()),
        screen_shot: Some(true),
        ..RecordRequest::default()
    };
    let answer = console.client().with_lang(lang).record(&request).await?;
    *console
        .last_start
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(request);
    Ok(answer)
}

/// Stops recording a member's source; answers with every file of the task.
#[tauri::command]
pub async fn stop_recording(
    console: tauri::State<'_, Console>,
    room_id: String,
    user_id: String,
    source: Source,
    lang: Lang,
) -> Result<RecordResponse, ApiError> {
    let request = RecordRequest {
        op: Some("stop".into()),
        room_id: Some(room_id),
        user_id: Some(user_id),
        source: Some(source.as_str().into()),
        ..RecordRequest::default()
    };
    console.client().with_lang(lang).record(&request).await
}

/// A live preview of a member's stream, as a `data:` URL the window can show (the API needs
/// the token, which the window never holds).
#[tauri::command]
pub async fn stream_preview(
    console: tauri::State<'_, Console>,
    stream_code: String,
    lang: Lang,
) -> Result<String, ApiError> {
    let safe = !stream_code.is_empty()
        && stream_code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !safe {
        return Err(ApiError::with_detail(
            ErrorCode::BadParameter,
            lang,
            &stream_code,
        ));
    }
    let jpeg = console
        .client()
        .with_lang(lang)
        .preview(&stream_code)
        .await?;
    Ok(format!(
        "data:image/jpeg;base64,{}",
        BASE64_STANDARD.encode(jpeg)
    ))
}
