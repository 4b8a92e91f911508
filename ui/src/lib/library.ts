// The recordings library's calls into the console and the formatting of its rows.
import type { LibraryStatus } from "../bindings/LibraryStatus";
import type { Lang } from "../bindings/Lang";
import type { Page } from "../bindings/Page";
import type { SearchQuery } from "../bindings/SearchQuery";
import { command } from "./tauri";

export function emptyQuery(): SearchQuery {
  return { text: "", include_deleted: false, sort: "newest_first", limit: 100 };
}

export function searchRecordings(query: SearchQuery, lang: Lang): Promise<Page> {
  return command<Page>("search_recordings", { query, lang });
}

export function libraryStatus(lang: Lang): Promise<LibraryStatus> {
  return command<LibraryStatus>("library_status", { lang });
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

/** `1:02:03` or `2:03`. */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** Local date and time, `2026-11-25 08:03`. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
