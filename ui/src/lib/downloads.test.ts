import { describe, expect, it } from "vitest";
import type { CachedRecording } from "../bindings/CachedRecording";
import { downloadOf, downloads, rowKey } from "./downloads.svelte";

function row(over: Partial<CachedRecording>): CachedRecording {
  return {
    server_id: 1, file_id: "7", video_id: "", record_file_id: "", stream_code: "8888_a", channel_id: "",
    room_id: "demo", user_id: "anchor", record_id: "", file_name: "物理", tags: [], format: "mp4",
    url: "http://h/vod/a.mp4", size: 10, start_ms: 0, end_ms: 0, duration_ms: 0, video_codec: null,
    audio_codec: null, width: null, height: null, created_ms: 0, updated_ms: 0, callback_state: "none",
    recovered: false, deleted: false, missing: false, download_state: "none", download_path: null, downloaded_bytes: 0,
    thumbnail_url: null,
    ...over,
  };
}

describe("a row's download", () => {
  it("comes from the cache when nothing ran in this session", () => {
    expect(downloadOf(row({}))).toBeNull();
    expect(downloadOf(row({ download_state: "done", download_path: "/d/物理_7.mp4" }))).toEqual({
      state: "done",
      path: "/d/物理_7.mp4",
    });
    expect(downloadOf(row({ download_state: "failed" }))?.state).toBe("failed");
    expect(downloadOf(row({ download_state: "partial" }))).toBeNull();
  });

  it("prefers this session's download over the cached state", () => {
    const r = row({ file_id: "8", download_state: "failed" });
    downloads[rowKey(r)] = { state: "running", progress: { bytes: 5, total: 10, percent: 50 } };
    expect(downloadOf(r)).toEqual({ state: "running", progress: { bytes: 5, total: 10, percent: 50 } });
  });
});
