//! The console's client for a Tally server's HTTP API (embedded or remote alike). Every failure
//! comes back as the API's `{code, message, advice, retryable}`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tally_api::recordings::CallbackAttempt;
use tally_api::rooms::{
    CreateRoom, JoinRoom, Membership, RecordRequest, RecordResponse, Room, RoomKind,
};
use tally_api::usage::Usage;
use tally_api::{ApiError, ErrorCode, Lang};

use crate::sync::ServerRef;

/// Where the console is connected, for the live view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ConsoleInfo {
    pub api_url: String,
    /// `rtmp://host:port/live`: the server part of push URLs.
    pub rtmp_url: String,
    pub demo_room: String,
    pub demo_user: String,
    /// Connected to the server embedded in the console (not a remote one).
    pub embedded: bool,
    /// Why the built-in server is not running, when it could not start (another Tally
    /// process owns its data, a port is taken, ...).
    pub startup_error: Option<ApiError>,
}

/// The largest live preview accepted from a server.
pub const MAX_PREVIEW_BYTES: usize = 2 << 20;

/// A server and how to talk to it.
#[derive(Clone, Debug)]
pub struct TallyClient {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
    lang: Lang,
}

/// The console's HTTP client: bounded waits (a server that stops answering is an error, not a
/// hang) and no redirects (a server cannot send the token, or a download, somewhere else).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        // Longer than the event stream's 15 s keep-alive.
        .read_timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// Whether `url` is on the server at `base_url` (same scheme, host and port).
pub fn same_origin(url: &str, base_url: &str) -> bool {
    let origin = |u: &str| {
        let parsed = reqwest::Url::parse(u).ok()?;
        Some((
            parsed.scheme().to_owned(),
            parsed.host_str()?.to_ascii_lowercase(),
            parsed.port_or_known_default(),
        ))
    };
    origin(url).is_some() && origin(url) == origin(base_url)
}

impl TallyClient {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, token: Option<String>) -> TallyClient {
        TallyClient {
            http: http_client(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            lang: Lang::En,
        }
    }

    /// The same client asking for errors in `lang`.
    pub fn with_lang(&self, lang: Lang) -> TallyClient {
        TallyClient {
            lang,
            ..self.clone()
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A request to `path` with the client's language and token.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let lang_header = match self.lang {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        };
        let request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(reqwest::header::ACCEPT_LANGUAGE, lang_header);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// The client's language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Sends `request`; a failure to connect is `ServerUnreachable`, an error answer is the
    /// server's error.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let response = request.send().await.map_err(|e| {
            ApiError::with_detail(ErrorCode::ServerUnreachable, self.lang, &e.to_string())
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.error_of(response).await)
    }

    /// The server as sync and downloads address it.
    pub fn server_ref(&self) -> ServerRef {
        ServerRef {
            base_url: self.base_url.clone(),
            token: self.token.clone(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ApiError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await?.json().await.map_err(|e| {
            ApiError::with_detail(ErrorCode::RecorderReplyBad1, self.lang, &e.to_string())
        })
    }

    async fn error_of(&self, response: reqwest::Response) -> ApiError {
        let status = response.status();
        match response.json::<ApiError>().await {
            Ok(err) => err,
            Err(_) => {
                ApiError::with_detail(ErrorCode::Internal, self.lang, &format!("HTTP {status}"))
            }
        }
    }

    /// Checks that the server answers and accepts the token.
    pub async fn verify(&self) -> Result<(), ApiError> {
        self.call::<Vec<Room>>(reqwest::Method::GET, "/v1/rooms", None::<&()>)
            .await
            .map(drop)
    }

    /// Creates a room.
    pub async fn create_room(&self, room_id: &str, kind: RoomKind) -> Result<Room, ApiError> {
        let body = CreateRoom {
            room_id: room_id.to_owned(),
            kind,
        };
        self.call(reqwest::Method::POST, "/v1/rooms", Some(&body))
            .await
    }

    /// One room.
    pub async fn room(&self, room_id: &str) -> Result<Room, ApiError> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/rooms/{room_id}"),
            None::<&()>,
        )
        .await
    }

    /// Joins a room as `user_id` and returns the push URLs.
    pub async fn join(&self, room_id: &str, user_id: &str) -> Result<Membership, ApiError> {
        let body = JoinRoom {
            user_id: user_id.to_owned(),
        };
        self.call(
            reqwest::Method::POST,
            &format!("/v1/rooms/{room_id}/members"),
            Some(&body),
        )
        .await
    }

    /// `POST /v1/record` (start or stop).
    pub async fn record(&self, request: &RecordRequest) -> Result<RecordResponse, ApiError> {
        self.call(reqwest::Method::POST, "/v1/record", Some(request))
            .await
    }

    /// One recording as the server lists it now (with a freshly signed link).
    pub async fn recording(
        &self,
        file_id: &str,
    ) -> Result<tally_api::recordings::Recording, ApiError> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/recordings/{file_id}"),
            None::<&()>,
        )
        .await
    }

    /// A JPEG of a live stream's latest keyframe. A server's answer is trusted no further than
    /// a picture: at most [`MAX_PREVIEW_BYTES`] and starting like a JPEG.
    pub async fn preview(&self, stream_code: &str) -> Result<Vec<u8>, ApiError> {
        let path = format!("/v1/streams/{stream_code}/preview");
        let mut response = self.send(self.request(reqwest::Method::GET, &path)).await?;
        let bad =
            |detail: &str| ApiError::with_detail(ErrorCode::RecorderReplyBad1, self.lang, detail);
        let mut jpeg = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| bad(&e.to_string()))? {
            if jpeg.len() + chunk.len() > MAX_PREVIEW_BYTES {
                return Err(bad("the preview is larger than a picture can be"));
            }
            jpeg.extend_from_slice(&chunk);
        }
        if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(bad("the preview is not a JPEG"));
        }
        Ok(jpeg)
    }

    /// Usage of a `YYYY-MM` month (UTC): its peak of concurrent recordings, price, bytes and
    /// files, and each day's peak and bytes.
    pub async fn usage(&self, month: &str) -> Result<Usage, ApiError> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/usage?month={month}"),
            None::<&()>,
        )
        .await
    }

    /// Every delivery attempt of `file_id`'s callbacks, oldest first.
    pub async fn callbacks(&self, file_id: &str) -> Result<Vec<CallbackAttempt>, ApiError> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/recordings/{file_id}/callbacks"),
            None::<&()>,
        )
        .await
    }
}
