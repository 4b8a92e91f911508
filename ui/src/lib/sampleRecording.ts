// A recording row as the cache returns it, for component tests; `over` changes what a test is about.
import type { CachedRecording } from "../bindings/CachedRecording";

export function sampleRecording(over: Partial<CachedRecording> = {}): CachedRecording {
  return {
    server_id: 1,
    file_id: "1001",
    video_id: "8888_demo_1001",
    record_file_id: "rf-1001",
    stream_code: "8888_demo-room_demo-anchor_main",
    channel_id: "ch-1",
    room_id: "demo-room",
    user_id: "demo-anchor",
    record_id: "task-1",
    file_name: "第三讲-数据结构",
    tags: ["lecture"],
    format: "mp4",
    url: "http://127.0.0.1:18080/vod/1001.mp4?expires=1795000000&sig=abc",
    size: 30_045_521,
    // 2026-11-25 00:03:12 UTC, 08:03:12 in Shanghai (the tests' time zone).
    start_ms: Date.UTC(2026, 10, 25, 0, 3, 12),
    end_ms: Date.UTC(2026, 10, 25, 0, 7, 44),
    duration_ms: 272_000,
    video_codec: "h264",
    audio_codec: "aac",
    width: 1280,
    height: 720,
    created_ms: Date.UTC(2026, 10, 25, 0, 7, 45),
    updated_ms: Date.UTC(2026, 10, 25, 0, 7, 46),
    callback_state: "delivered",
    recovered: false,
    deleted: false,
    missing: false,
    download_state: "none",
    download_path: null,
    downloaded_bytes: 0,
    thumbnail_url: null,
    ...over,
  };
}
