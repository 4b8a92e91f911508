// Generated from src-tauri/src/commands.rs (`TALLY_WRITE_BINDINGS=1 cargo nextest run -p tally command_bindings`). Do not edit.

import type { Channel } from "@tauri-apps/api/core";
import type { CallbackAttempt } from "./CallbackAttempt";
import type { ConsoleInfo } from "./ConsoleInfo";
import type { ConsoleSettings } from "./ConsoleSettings";
import type { DownloadProgress } from "./DownloadProgress";
import type { FeedEvent } from "./FeedEvent";
import type { Lang } from "./Lang";
import type { LibraryStatus } from "./LibraryStatus";
import type { Membership } from "./Membership";
import type { Page } from "./Page";
import type { RecordResponse } from "./RecordResponse";
import type { RecordType } from "./RecordType";
import type { RemoteServer } from "./RemoteServer";
import type { SearchQuery } from "./SearchQuery";
import type { Source } from "./Source";
import type { SyncStatus } from "./SyncStatus";
import type { Usage } from "./Usage";

/** Every command of the console: its arguments and its answer. */
export interface Commands {
  system_locale: { args: {}; answer: string | null };
  search_recordings: { args: { query: SearchQuery; lang: Lang }; answer: Page };
  library_status: { args: { lang: Lang }; answer: LibraryStatus };
  sync_status: { args: {}; answer: SyncStatus };
  sync_now: { args: {}; answer: void };
  recording_callbacks: { args: { serverId: number; fileId: string; lang: Lang }; answer: Array<CallbackAttempt> };
  open_recording: { args: { serverId: number; fileId: string; lang: Lang }; answer: void };
  play_url: { args: { serverId: number; fileId: string; lang: Lang }; answer: string };
  thumbnail_url: { args: { serverId: number; fileId: string; lang: Lang }; answer: string };
  reveal_recording: { args: { serverId: number; fileId: string; lang: Lang }; answer: void };
  download_recording: { args: { serverId: number; fileId: string; onProgress: Channel<DownloadProgress>; lang: Lang }; answer: string };
  export_recordings: { args: { query: SearchQuery; lang: Lang }; answer: string };
  console_info: { args: {}; answer: ConsoleInfo };
  join_room: { args: { roomId: string; userId: string; lang: Lang }; answer: Membership };
  start_recording: { args: { roomId: string; userId: string; source: Source; recordType: RecordType; fileName: string; tags: Array<string>; lang: Lang }; answer: RecordResponse };
  stop_recording: { args: { roomId: string; userId: string; source: Source; lang: Lang }; answer: RecordResponse };
  stream_preview: { args: { streamCode: string; lang: Lang }; answer: string };
  watch_events: { args: { onEvent: Channel<FeedEvent> }; answer: void };
  server_settings: { args: {}; answer: ConsoleSettings };
  set_server: { args: { remote: RemoteServer | null; lang: Lang }; answer: ConsoleInfo };
  usage: { args: { month: string; lang: Lang }; answer: Usage };
}
