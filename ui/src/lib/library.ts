// The recordings library's calls into the console and the formatting of its rows.
import { Channel } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { CachedRecording } from "../bindings/CachedRecording";
import type { CallbackAttempt } from "../bindings/CallbackAttempt";
import type { DownloadProgress } from "../bindings/DownloadProgress";
import type { LibraryStatus } from "../bindings/LibraryStatus";
import type { Lang } from "../bindings/Lang";
import type { Page } from "../bindings/Page";
import type { SearchQuery } from "../bindings/SearchQuery";
import type { SyncStatus } from "../bindings/SyncStatus";
import { command } from "./tauri";

export function emptyQuery(): SearchQuery {
  return { text: "", include_deleted: false, sort: "newest_first", limit: 100 };
}

export function searchRecordings(query: SearchQuery, lang: Lang): Promise<Page> {
  return command("search_recordings", { query, lang });
}

export function libraryStatus(lang: Lang): Promise<LibraryStatus> {
  return command("library_status", { lang });
}

export const syncStatus = () => command("sync_status", {});

export const syncNow = () => command("sync_now", {});

/** Calls `handler` with every new sync status (the console's `library-sync` event). */
export function onSyncStatus(handler: (status: SyncStatus) => void): Promise<UnlistenFn> {
  return listen<SyncStatus>("library-sync", (event) => handler(event.payload));
}

export const recordingCallbacks = (row: CachedRecording, lang: Lang) =>
  command("recording_callbacks", { serverId: row.server_id, fileId: row.file_id, lang });

export const openRecording = (row: CachedRecording, lang: Lang) =>
  command("open_recording", { serverId: row.server_id, fileId: row.file_id, lang });

/** A fresh link for the in-app player (a cached signed link may have expired). */
export const playUrl = (row: CachedRecording, lang: Lang) =>
  command("play_url", { serverId: row.server_id, fileId: row.file_id, lang });

/** A fresh link to the recording's poster (the cached one may have expired). */
export const thumbnailUrl = (row: CachedRecording, lang: Lang) =>
  command("thumbnail_url", { serverId: row.server_id, fileId: row.file_id, lang });

export const revealRecording = (row: CachedRecording, lang: Lang) =>
  command("reveal_recording", { serverId: row.server_id, fileId: row.file_id, lang });

/** Downloads a recording from its server; resolves to the saved file's path. */
export function downloadRecording(
  row: CachedRecording,
  lang: Lang,
  onProgress: (progress: DownloadProgress) => void,
): Promise<string> {
  const channel = new Channel<DownloadProgress>();
  channel.onmessage = onProgress;
  return command("download_recording", {
    serverId: row.server_id,
    fileId: row.file_id,
    onProgress: channel,
    lang,
  });
}

/** Writes every row matching `query` (all pages) to a CSV file; resolves to its path. */
export const exportRecordings = (query: SearchQuery, lang: Lang) =>
  command("export_recordings", { query, lang });

/** `42 % · 1.2 MB / 3.0 MB`. */
export function formatProgress(p: DownloadProgress): string {
  return `${p.percent} % · ${formatBytes(p.bytes)} / ${formatBytes(p.total)}`;
}

/** What the sync line says: never synced, synced at a time, or offline (with cached rows). */
export type SyncLine =
  | { kind: "never" }
  | { kind: "syncing" }
  | { kind: "synced"; at: string }
  | { kind: "offline"; at: string | null; reason: string };

export function syncLine(status: SyncStatus | null): SyncLine {
  const at = status?.last_synced_ms ? formatTime(status.last_synced_ms) : null;
  if (status?.offline) return { kind: "offline", at, reason: status.offline };
  if (at) return { kind: "synced", at };
  return status?.syncing ? { kind: "syncing" } : { kind: "never" };
}

/** `1.5 GB`, `320 KB`: sizes as people read them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** `1:02:03`, `0:02:03`: always hours, so a column of durations lines up. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${h}:${pad(m)}:${pad(s)}`;
}

/** Local date and time, `2026-11-25 08:03` (or `08:03:12` with seconds). */
export function formatTime(ms: number, withSeconds = false): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return `${day} ${time}${withSeconds ? `:${pad(d.getSeconds())}` : ""}`;
}

/** `1280×720`, or `—` for audio-only files. */
export function formatResolution(row: Pick<CachedRecording, "width" | "height">): string {
  return row.width && row.height ? `${row.width}×${row.height}` : "—";
}

/** `H264 / AAC`, `AAC`, or `—` when neither is known. */
export function formatCodecs(row: Pick<CachedRecording, "video_codec" | "audio_codec">): string {
  const codecs = [row.video_codec, row.audio_codec].filter((c): c is string => !!c);
  return codecs.length ? codecs.map((c) => c.toUpperCase()).join(" / ") : "—";
}

/** The callback states a recording can be in (`Recording.callback_state` on the server). */
export const CALLBACK_STATES = ["pending", "delivered", "gave_up", "none"] as const;
export type CallbackState = (typeof CALLBACK_STATES)[number];

/** The known state, or `null` for one this console does not know yet. */
export function callbackState(value: string): CallbackState | null {
  return (CALLBACK_STATES as readonly string[]).includes(value) ? (value as CallbackState) : null;
}
