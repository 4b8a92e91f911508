// Every text the UI shows, in English and Chinese. `zh-CN` must have every key `en` has
// (a test checks it).
export const en = {
  "app.name": "Tally",
  "app.tagline": "Live-stream recording",
  "nav.live": "Live",
  "nav.recordings": "Recordings",
  "nav.settings": "Settings",
  "lang.label": "Language",
  "lang.en": "English",
  "lang.zh-CN": "简体中文",
  "live.title": "Live",
  "live.empty.title": "No room joined",
  "live.empty.body":
    "Join a room to see its members' streams and record them. Push from OBS or any RTMP encoder with the URL shown after joining.",
  "recordings.title": "Recordings",
  "recordings.empty.title": "No recordings yet",
  "recordings.empty.body":
    "Finished recordings appear here with their download links, and stay searchable offline.",
  "settings.title": "Settings",
  "settings.language.hint": "Follows the system language until you choose one.",
  "settings.language.system": "Follow the system",
  "settings.errors.title": "Error codes",
  "settings.errors.hint": "Every code Tally can report, with what to do about it.",
  "settings.errors.search": "Search codes or text",
  "settings.errors.code": "Code",
  "settings.errors.message": "Meaning",
  "settings.errors.advice": "What to do",
  "settings.errors.retryable": "Retried automatically",
  "settings.about": "About",
  "settings.version": "Version",
} as const;

export type MessageKey = keyof typeof en;

export const zhCN: Record<MessageKey, string> = {
  "app.name": "Tally",
  "app.tagline": "直播录制",
  "nav.live": "直播",
  "nav.recordings": "录制文件",
  "nav.settings": "设置",
  "lang.label": "语言",
  "lang.en": "English",
  "lang.zh-CN": "简体中文",
  "live.title": "直播",
  "live.empty.title": "尚未加入房间",
  "live.empty.body":
    "加入房间后即可查看成员的推流状态并进行录制。加入后会显示推流地址，可用 OBS 或任意 RTMP 编码器推流。",
  "recordings.title": "录制文件",
  "recordings.empty.title": "暂无录制文件",
  "recordings.empty.body": "录制完成的文件会连同下载地址显示在这里，离线时也可搜索。",
  "settings.title": "设置",
  "settings.language.hint": "未手动选择前，界面语言跟随系统。",
  "settings.language.system": "跟随系统",
  "settings.errors.title": "错误码",
  "settings.errors.hint": "Tally 可能返回的所有错误码及处理建议。",
  "settings.errors.search": "搜索错误码或说明",
  "settings.errors.code": "错误码",
  "settings.errors.message": "错误说明",
  "settings.errors.advice": "处理建议",
  "settings.errors.retryable": "自动重试",
  "settings.about": "关于",
  "settings.version": "版本",
};
