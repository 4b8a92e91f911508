//! The error table: every code Tally can return, with message and advice in English and
//! Chinese and whether a client may retry on its own. One source of truth for the server, the
//! console and the generated UI bindings (`ui/src/bindings`).
//!
//! Codes 1, 2 and 30000000–30000415 keep the numbers and meanings of the product this models;
//! 30000501 and up are Tally's own.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A language the error texts exist in.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema,
)]
pub enum Lang {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Lang {
    /// Picks the language from an `Accept-Language` header (or a locale such as `zh_CN.UTF-8`):
    /// the first tag that is English or Chinese wins; anything else means English.
    pub fn from_accept_language(header: &str) -> Lang {
        for tag in header.split(',') {
            let tag = tag
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::ZhCn;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::En
    }
}

/// Message and advice of one code in one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Texts {
    pub message: &'static str,
    pub advice: &'static str,
}

/// One row of the error table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorEntry {
    pub code: ErrorCode,
    /// A client may repeat the same request on its own (no faster than every 3 s).
    pub retryable: bool,
    /// The HTTP status the server answers with.
    pub http_status: u16,
    pub en: Texts,
    pub zh: Texts,
}

impl ErrorEntry {
    /// The texts in `lang`.
    pub fn texts(&self, lang: Lang) -> Texts {
        match lang {
            Lang::En => self.en,
            Lang::ZhCn => self.zh,
        }
    }
}

const CHECK_FIELDS_EN: &str = "Check that the request has every field, spelled as documented.";
const CHECK_FIELDS_ZH: &str = "检查录制请求字段是否填写完整、拼写是否正确。";
const REPORT_EN: &str = "Report it to the Tally operator with the request ID.";
const REPORT_ZH: &str = "请携带请求 ID 反馈给 Tally 运维人员。";
const RETRY_EN: &str = "Probably a network problem: retry; if it keeps failing, report it.";
const RETRY_ZH: &str = "可能是网络问题，请重试；重试仍失败请反馈运维人员。";
const CHECK_ROOM_EN: &str =
    "Check that the room was opened and that the room ID and user ID are correct.";
const CHECK_ROOM_ZH: &str = "检查是否成功开房，录制的用户 ID、房间 ID 是否填写正确。";
const CHECK_MEMBER_EN: &str = "Check that the room was opened, that the room ID and user ID are correct, and that the user is still in the room.";
const CHECK_MEMBER_ZH: &str =
    "检查是否成功开房，录制的用户 ID、房间 ID 是否填写正确，或者用户是否已经退出房间。";
const ALREADY_STOPPED_EN: &str =
    "The recording is already stopped; nothing to do. Check whether stop was sent twice.";
const ALREADY_STOPPED_ZH: &str = "录制已经停止，无需处理；请检查是否多次发送了停止操作。";

macro_rules! error_table {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $status:literal, retry $retry:literal,
        en($men:expr, $aen:expr), zh($mzh:expr, $azh:expr); )*) => {
        /// Every error code Tally returns. The numeric value is the wire code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum ErrorCode {
            $( $(#[$doc])* $name = $code, )*
        }

        /// The whole table, in code order.
        pub const ERROR_TABLE: &[ErrorEntry] = &[
            $( ErrorEntry {
                code: ErrorCode::$name,
                retryable: $retry,
                http_status: $status,
                en: Texts { message: $men, advice: $aen },
                zh: Texts { message: $mzh, advice: $azh },
            }, )*
        ];

        impl ErrorCode {
            /// The code for a wire number, if Tally knows it.
            pub fn from_u32(code: u32) -> Option<ErrorCode> {
                match code {
                    $( $code => Some(ErrorCode::$name), )*
                    _ => None,
                }
            }
        }
    };
}

error_table! {
    /// The token lacks the record permission.
    NoRecordPermission = 1, 403, retry false,
        en("You do not have permission to record.", "Ask an administrator for a token with the record permission."),
        zh("用户没有录制权限。", "请联系管理员获取具有录制权限的令牌。");
    /// Storage quota reached or free disk below the reserve.
    StorageFull = 2, 507, retry false,
        en("Not enough storage to record.", "Free disk space on the server or raise the storage quota, then start again."),
        zh("存储空间不足，无法录制。", "请清理服务器磁盘空间或提高存储配额后重新开始。");
    /// The request body is not valid JSON.
    BadRequestBody = 30000000, 400, retry false,
        en("The recording request could not be parsed.", CHECK_FIELDS_EN),
        zh("录制请求解析失败。", CHECK_FIELDS_ZH);
    /// The request has no body.
    EmptyBody = 30000001, 400, retry false,
        en("The recording request has no body.", CHECK_FIELDS_EN),
        zh("录制请求解析失败：没有录制请求包体。", CHECK_FIELDS_ZH);
    /// No `file_name`.
    MissingFileName = 30000002, 400, retry false,
        en("The recording request has no file name.", "Fill in file_name: it names the recorded files."),
        zh("录制请求解析失败：没有录制文件名字段。", "请填写 file_name（录制生成的文件名）。");
    /// No or unknown `op`.
    MissingOp = 30000003, 400, retry false,
        en("The recording request has no valid operation.", "Set op to \"start\" or \"stop\"."),
        zh("录制请求解析失败：没有录制请求操作字段。", "请将 op 设为 \"start\" 或 \"stop\"。");
    /// Bad `source` or `record_type`.
    BadSource = 30000004, 400, retry false,
        en("The video source type is not valid.", "Use source \"camera\" or \"screen\" and record_type \"video\" or \"audio\"."),
        zh("录制请求解析失败：视频源类型错误（摄像头/桌面等）。", "source 请使用 \"camera\" 或 \"screen\"，record_type 请使用 \"video\" 或 \"audio\"。");
    /// Internal encoding error (1).
    InternalPack1 = 30000201, 500, retry false,
        en("The server failed to encode an internal request.", REPORT_EN),
        zh("请求服务器内部数据打包错误。", REPORT_ZH);
    /// Internal encoding error (2).
    InternalPack2 = 30000202, 500, retry false,
        en("The server failed to encode an internal request.", REPORT_EN),
        zh("请求服务器内部数据打包错误。", REPORT_ZH);
    /// Internal encoding error (3).
    InternalPack3 = 30000203, 500, retry false,
        en("The server failed to encode an internal request.", REPORT_EN),
        zh("请求服务器内部数据打包错误。", REPORT_ZH);
    /// No recorder available: the media engine is not running.
    NoRecorder = 30000207, 503, retry false,
        en("No recorder is available.", REPORT_EN),
        zh("请求录制服务器通讯错误：拉取录制服务器地址失败。", REPORT_ZH);
    /// The recorder did not answer in time.
    RecorderTimeout = 30000208, 504, retry true,
        en("The recorder did not answer in time.", RETRY_EN),
        zh("请求录制服务器通讯错误：请求录制服务器超时。", RETRY_ZH);
    /// Malformed answer from a recorder (1).
    RecorderReplyBad1 = 30000301, 502, retry false,
        en("The recorder's answer could not be parsed.", REPORT_EN),
        zh("解析录制服务器回包错误：数据包解析失败。", REPORT_ZH);
    /// Malformed answer from a recorder (2).
    RecorderReplyBad2 = 30000302, 502, retry false,
        en("The recorder's answer could not be parsed.", REPORT_EN),
        zh("解析录制服务器回包错误：数据包解析失败。", REPORT_ZH);
    /// The recorder's answer had no address.
    RecorderReplyNoIp = 30000303, 502, retry false,
        en("The recorder's answer had no address.", REPORT_EN),
        zh("解析录制服务器回包错误：没有返回 IP。", REPORT_ZH);
    /// The recorder's answer had no port.
    RecorderReplyNoPort = 30000304, 502, retry false,
        en("The recorder's answer had no port.", REPORT_EN),
        zh("解析录制服务器回包错误：没有返回端口。", REPORT_ZH);
    /// The recorder's answer had no result.
    RecorderReplyNoResult = 30000305, 502, retry false,
        en("The recorder's answer had no result.", REPORT_EN),
        zh("解析录制服务器回包错误：没有返回结果。", REPORT_ZH);
    /// Room lookup: the room service could not be reached.
    RoomServiceUnreachable = 30000401, 503, retry true,
        en("The room service could not be reached.", RETRY_EN),
        zh("查询房间获取房间服务地址错误。", RETRY_ZH);
    /// Room lookup: reading room data failed.
    RoomDataFailed = 30000402, 503, retry true,
        en("Reading the room's data failed.", RETRY_EN),
        zh("查询房间拉取房间数据错误。", RETRY_ZH);
    /// The room does not exist.
    RoomNotFound = 30000403, 404, retry false,
        en("The room does not exist.", CHECK_ROOM_EN),
        zh("查询房间：房间不存在。", CHECK_ROOM_ZH);
    /// Room lookup timed out.
    RoomLookupTimeout = 30000404, 504, retry true,
        en("Looking up the room timed out.", RETRY_EN),
        zh("查询房间流控服务器超时。", RETRY_ZH);
    /// Room lookup reply could not be parsed (1).
    RoomReplyBad1 = 30000405, 500, retry false,
        en("The room lookup answer could not be parsed.", REPORT_EN),
        zh("查询房间回包错误：数据包解析失败。", REPORT_ZH);
    /// Room lookup reply could not be parsed (2).
    RoomReplyBad2 = 30000406, 500, retry false,
        en("The room lookup answer could not be parsed.", REPORT_EN),
        zh("查询房间回包错误：数据包解析失败。", REPORT_ZH);
    /// Room lookup reply could not be parsed (3).
    RoomReplyBad3 = 30000407, 500, retry false,
        en("The room lookup answer could not be parsed.", REPORT_EN),
        zh("查询房间回包错误：数据包解析失败。", REPORT_ZH);
    /// Room lookup returned no result.
    RoomReplyNoResult = 30000408, 500, retry false,
        en("The room lookup returned no result.", REPORT_EN),
        zh("查询房间回包错误：没有返回结果。", REPORT_ZH);
    /// Room lookup reply could not be parsed (4).
    RoomReplyBad4 = 30000409, 500, retry false,
        en("The room lookup answer could not be parsed.", REPORT_EN),
        zh("查询房间回包错误：数据包解析失败。", REPORT_ZH);
    /// The room to record does not exist, or the user left it.
    RecordRoomNotFound = 30000410, 404, retry false,
        en("The room to record does not exist, or the user has left it.", CHECK_MEMBER_EN),
        zh("录制的房间不存在。", CHECK_MEMBER_ZH);
    /// The room or the recording user does not exist.
    RecordUserNotFound = 30000411, 404, retry false,
        en("The room or the user to record does not exist.", CHECK_MEMBER_EN),
        zh("录制的房间不存在，或发起录制的用户不存在。", CHECK_MEMBER_ZH);
    /// Stop sent again: the recording is already stopped.
    AlreadyStopped = 30000412, 409, retry false,
        en("Stop was sent again: the recording is already stopped.", ALREADY_STOPPED_EN),
        zh("停止录制重复发送，用户已经停止录制。", ALREADY_STOPPED_ZH);
    /// Stop sent again (second variant of the same situation).
    AlreadyStoppedAgain = 30000413, 409, retry false,
        en("Stop was sent again: the recording is already stopped.", ALREADY_STOPPED_EN),
        zh("停止录制重复发送，用户已经停止录制。", ALREADY_STOPPED_ZH);
    /// Internal operation type error.
    RoomOpInvalid = 30000414, 500, retry false,
        en("The server used an invalid internal operation.", REPORT_EN),
        zh("查询房间：服务器内部操作类型错误。", REPORT_ZH);
    /// Start sent again: already recording, or no such user.
    AlreadyRecording = 30000415, 409, retry false,
        en("Start was sent again: this source is already recording, or the user does not exist.", "Check the room ID and user ID; if it is already recording, nothing needs to be done."),
        zh("启动录制重复发送，用户正在录制；或者发起录制的用户不存在。", "检查是否成功开房，录制的用户 ID、房间 ID 是否填写正确；如已在录制则无需处理。");
    /// Two-person rooms cannot record.
    TwoPersonRoom = 30000501, 409, retry false,
        en("Two-person rooms cannot be recorded.", "Create the room with kind \"multi\" to record it."),
        zh("双人音视频房间不支持录制。", "如需录制，请以 \"multi\"（多人）类型创建房间。");
    /// The member's stream is not being published.
    StreamNotLive = 30000502, 409, retry true,
        en("The stream is not being published.", "Start pushing from OBS or the SDK with the push URL shown; recording starts once the stream is live."),
        zh("该路流尚未推流。", "请使用显示的推流地址从 OBS 或 SDK 推流，推流开始后即可录制。");
    /// Push refused: wrong `txSecret`.
    BadPushSecret = 30000503, 403, retry false,
        en("The push URL's secret is wrong.", "Push with the URL returned when joining the room; do not edit txSecret or txTime."),
        zh("推流地址的防盗链签名（txSecret）错误。", "请使用加入房间时返回的推流地址，不要修改 txSecret 或 txTime。");
    /// Push refused: `txTime` has passed.
    PushSecretExpired = 30000504, 403, retry false,
        en("The push URL has expired.", "Join the room again to get a fresh push URL."),
        zh("推流地址已过期。", "请重新加入房间以获取新的推流地址。");
    /// Push refused: the stream code is already being published.
    StreamBusy = 30000505, 409, retry false,
        en("Someone is already publishing this stream.", "Stop the other publisher, or use the push URL of your own member."),
        zh("该直播码已有推流端在推流。", "请先停止另一个推流端，或使用自己成员的推流地址。");
    /// No or wrong bearer token.
    Unauthorized = 30000506, 401, retry false,
        en("The request is not authenticated.", "Send the server's token as \"Authorization: Bearer <token>\"; check it in Settings."),
        zh("请求未通过认证。", "请在请求头中携带 \"Authorization: Bearer <令牌>\"，并在设置中检查令牌是否正确。");
    /// The room already exists.
    RoomExists = 30000507, 409, retry false,
        en("A room with this ID already exists.", "Join the existing room, or pick another room ID."),
        zh("该房间 ID 已存在。", "请直接加入该房间，或换一个房间 ID。");
    /// No recording or file with that ID.
    RecordingNotFound = 30000508, 404, retry false,
        en("No recording with that ID exists.", "Check the file ID or search by file name."),
        zh("不存在该 ID 的录制文件。", "请检查文件 ID，或按文件名搜索。");
    /// A query or path parameter is malformed.
    BadParameter = 30000509, 400, retry false,
        en("A request parameter is not valid.", "Check the parameters against the API document at /v1/openapi.json."),
        zh("请求参数不合法。", "请对照 /v1/openapi.json 接口文档检查参数。");
    /// Writing a recording failed (I/O error other than a full disk).
    WriteFailed = 30000510, 500, retry false,
        en("Writing the recording failed; what was recorded so far is kept.", "Check the server's disk and its log; then start recording again."),
        zh("写入录制文件失败，已录制的内容已保留。", "请检查服务器磁盘和日志，然后重新开始录制。");
    /// The server could not be reached.
    ServerUnreachable = 30000511, 503, retry true,
        en("The Tally server could not be reached.", "Check that the server is running and the address in Settings is right; retrying."),
        zh("无法连接 Tally 服务器。", "请检查服务器是否在运行、设置中的地址是否正确；正在重试。");
    /// Callback delivery gave up after retrying for a day.
    CallbackGaveUp = 30000512, 502, retry false,
        en("The recording callback could not be delivered.", "Check that the callback URL answers 2xx; the attempts are listed with the recording."),
        zh("录制回调无法送达。", "请检查回调地址是否返回 2xx；每次尝试记录在该录制文件下。");
    /// A room or user ID is not valid.
    BadId = 30000513, 400, retry false,
        en("The room ID or user ID is not valid.", "Use 1 to 64 letters, digits, '-' or '_'."),
        zh("房间 ID 或用户 ID 不合法。", "请使用 1 到 64 位字母、数字、'-' 或 '_'。");
    /// Anything else that went wrong inside the server.
    Internal = 30000514, 500, retry false,
        en("Something went wrong inside the server.", REPORT_EN),
        zh("服务器内部错误。", REPORT_ZH);
    /// The console could not write a file (a download, an export) on this computer.
    SaveFailed = 30000515, 507, retry false,
        en("The file could not be saved on this computer.", "Check the free space and permissions of the Downloads folder, then try again; a partial download is kept and resumed."),
        zh("文件无法保存到本机。", "请检查下载文件夹的剩余空间和权限，然后重试；已下载的部分会保留并续传。");
    /// A download ended with a size other than the recording's, so it was not saved.
    DownloadSizeMismatch = 30000516, 502, retry false,
        en("The downloaded file does not have the recording's size, so it was not saved.", "Download it again; if this keeps happening, the file on the server may be damaged."),
        zh("下载的文件大小与录制文件不符，未保存。", "请重新下载；如果反复出现，服务器上的文件可能已损坏。");
    /// Another Tally process (a console or `tally-server`) owns the data directory.
    DataDirInUse = 30000517, 409, retry false,
        en("The recording data is in use by another Tally process, so the built-in server did not start.", "Close the other Tally console or stop the tally-server using the same data folder, then start the console again; or connect to a remote server in Settings."),
        zh("录制数据正被另一个 Tally 进程使用，内置服务器未启动。", "请关闭另一个 Tally 控制台，或停止使用同一数据文件夹的 tally-server，然后重新启动控制台；也可以在设置中连接远程服务器。");
    /// The server built into the console could not start.
    EmbeddedServerFailed = 30000518, 500, retry false,
        en("The built-in recording server could not start.", "Read the detail: a port or the data folder may be unavailable. Restart the console, or connect to a remote server in Settings."),
        zh("内置录制服务器无法启动。", "请查看详细信息：端口或数据文件夹可能不可用。请重新启动控制台，或在设置中连接远程服务器。");
    /// The request's Host names another server (DNS rebinding, a misrouted proxy).
    HostNotAllowed = 30000519, 421, retry false,
        en("This server does not answer to that host name.", "Use the server's own address; an operator can add the name with --allowed-host."),
        zh("本服务器不响应该主机名。", "请使用服务器自己的地址；运维人员可以用 --allowed-host 添加该主机名。");
    /// A web page on another origin tried to use the API.
    ForeignOrigin = 30000520, 403, retry false,
        en("Requests from other web pages are not accepted.", "Call the API from your server or the Tally console, not from a browser page on another site."),
        zh("不接受来自其他网页的请求。", "请从你的服务器或 Tally 控制台调用接口，而不是从其他网站的浏览器页面调用。");
    /// A state-changing request whose body is not declared as JSON.
    NotJson = 30000521, 415, retry false,
        en("The request body must be JSON.", "Send the body with Content-Type: application/json."),
        zh("请求体必须是 JSON。", "请以 Content-Type: application/json 发送请求体。");
    /// A download link whose signature is wrong or has expired.
    BadLink = 30000522, 403, retry false,
        en("The download link is not valid or has expired.", "Get a fresh link from the recording (GET /v1/recordings/{file_id}, or the console's Recordings page)."),
        zh("下载链接无效或已过期。", "请重新获取链接（GET /v1/recordings/{file_id}，或控制台的录制文件页面）。");
    /// A live preview asked of a stream that has no picture to show.
    NoPreview = 30000523, 404, retry true,
        en("This stream has no picture to show yet.", "A preview appears once the member's stream is live with video and has sent a keyframe (every few seconds)."),
        zh("该流暂无可显示的画面。", "成员的流开始推送视频并发送关键帧后（每隔几秒）即可显示预览。");
    /// The stream's codec cannot be stored in one of the requested formats (AV1 in HLS).
    CodecNotInFormat = 30000524, 422, retry false,
        en("This stream's video codec cannot be recorded to one of the requested formats; the other formats are recorded.", "AV1 is recorded to MP4 and FLV only: drop hls from record=, or publish H.264 or HEVC where HLS is needed."),
        zh("该流的视频编码无法录制为所请求的某种格式，其他格式正常录制。", "AV1 只能录制为 MP4 和 FLV：请从 record= 中去掉 hls，或在需要 HLS 时推送 H.264 或 HEVC。");
}

impl ErrorCode {
    /// The wire number.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// This code's row of the table.
    pub fn entry(self) -> &'static ErrorEntry {
        ERROR_TABLE
            .iter()
            .find(|e| e.code == self)
            .expect("every ErrorCode has a table row (the macro makes both)")
    }

    /// Whether a client may retry on its own.
    pub fn retryable(self) -> bool {
        self.entry().retryable
    }

    /// The body an API answers with for this code, in `lang`.
    pub fn to_api_error(self, lang: Lang) -> ApiError {
        let entry = self.entry();
        let texts = entry.texts(lang);
        ApiError {
            code: self.as_u32(),
            message: texts.message.to_owned(),
            advice: texts.advice.to_owned(),
            retryable: entry.retryable,
        }
    }
}

/// The error body of every API answer and every error the console shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct ApiError {
    pub code: u32,
    pub message: String,
    pub advice: String,
    pub retryable: bool,
}

impl ApiError {
    /// An error with a detail appended to the table's message (e.g. which field or file).
    pub fn with_detail(code: ErrorCode, lang: Lang, detail: &str) -> ApiError {
        let mut err = code.to_api_error(lang);
        if !detail.is_empty() {
            err.message = format!("{} ({detail})", err.message);
        }
        err
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {}", self.code, self.message, self.advice)
    }
}

impl std::error::Error for ApiError {}

/// One row of the table as the UI sees it (`ui/src/bindings/errorTable.json`).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ErrorRow {
    pub code: u32,
    pub retryable: bool,
    pub en: ErrorTexts,
    #[serde(rename = "zh-CN")]
    #[ts(rename = "zh-CN")]
    pub zh_cn: ErrorTexts,
}

/// Message and advice, owned, for the UI's table.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct ErrorTexts {
    pub message: String,
    pub advice: String,
}

/// The table as data for the UI.
pub fn error_rows() -> Vec<ErrorRow> {
    let owned = |t: Texts| ErrorTexts {
        message: t.message.to_owned(),
        advice: t.advice.to_owned(),
    };
    ERROR_TABLE
        .iter()
        .map(|e| ErrorRow {
            code: e.code.as_u32(),
            retryable: e.retryable,
            en: owned(e.en),
            zh_cn: owned(e.zh),
        })
        .collect()
}
