// Downloads in flight and their outcome, kept outside the page so they go on (and their
// progress is still shown) when the user switches to another page and back.
import type { CachedRecording } from "../bindings/CachedRecording";
import type { DownloadProgress } from "../bindings/DownloadProgress";
import type { Lang } from "../bindings/Lang";
import { failureText } from "./errors";
import { downloadRecording } from "./library";

export type Download =
  | { state: "running"; progress: DownloadProgress | null }
  | { state: "done"; path: string }
  | { state: "failed"; error: string };

/** The key of a recording across servers. */
export const rowKey = (row: CachedRecording) => `${row.server_id}:${row.file_id}`;

export const downloads: Record<string, Download> = $state({});

/** Starts downloading `row` unless it is already downloading. */
export async function startDownload(row: CachedRecording, lang: Lang): Promise<void> {
  const key = rowKey(row);
  if (downloads[key]?.state === "running") return;
  downloads[key] = { state: "running", progress: null };
  try {
    const path = await downloadRecording(row, lang, (progress) => {
      downloads[key] = { state: "running", progress };
    });
    downloads[key] = { state: "done", path };
  } catch (e) {
    downloads[key] = { state: "failed", error: failureText(e) };
  }
}

/** What a row shows: this session's download if any, else the state the cache remembers. */
export function downloadOf(row: CachedRecording): Download | null {
  const live = downloads[rowKey(row)];
  if (live) return live;
  if (row.download_state === "done" && row.download_path)
    return { state: "done", path: row.download_path };
  if (row.download_state === "failed") return { state: "failed", error: "" };
  return null;
}
