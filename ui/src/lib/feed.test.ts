import { describe, expect, it } from "vitest";
import type { FeedEvent } from "../bindings/FeedEvent";
import type { SegmentStatus } from "../bindings/SegmentStatus";
import { applyFeed, closedFiles, emptyLive, formatBytes, openFiles, taskOf } from "./feed";

const segment = (file: string, bytes: number): SegmentStatus => ({
  recording_id: "7",
  stream_code: "8888_a",
  format: "mp4",
  file,
  start_ms: 0,
  bytes,
  duration_ms: 1000,
  bitrate_kbps: 500,
  fps: 25,
  last_keyframe_ms: 0,
  width: 320,
  height: 240,
});

const live = (event: Extract<FeedEvent, { type: "live" }>["event"]): FeedEvent => ({ type: "live", event });

describe("the live feed", () => {
  it("tracks a file from opened through progress to closed", () => {
    const events: FeedEvent[] = [
      { type: "connected" },
      live({ type: "segment_opened", ...segment("vod/1.mp4", 0) }),
      live({ type: "segment_progress", ...segment("vod/1.mp4", 2000) }),
    ];
    let state = events.reduce(applyFeed, emptyLive());
    expect(state.connected).toBe(true);
    expect(openFiles(state, "8888_a").map((s) => s.bytes)).toEqual([2000]);
    state = applyFeed(state, live({ type: "segment_closed", file_id: "f1", ...segment("vod/1.mp4", 2500) }));
    expect(openFiles(state, "8888_a")).toEqual([]);
    expect(closedFiles(state, "8888_a").map((c) => [c.file_id, c.segment.bytes])).toEqual([["f1", 2500]]);
    // A replayed close (after a reconnect) is not listed twice.
    state = applyFeed(state, live({ type: "segment_closed", file_id: "f1", ...segment("vod/1.mp4", 2500) }));
    expect(closedFiles(state, "8888_a")).toHaveLength(1);
    expect(closedFiles(state, "8888_b")).toEqual([]);
  });

  it("keeps stream states and forgets them on a resync", () => {
    let state = applyFeed(
      emptyLive(),
      live({
        type: "stream_state",
        stream_code: "8888_a",
        live: true,
        reason: null,
        video_codec: "h264",
        audio_codec: "aac",
        width: 320,
        height: 240,
        bitrate_kbps: 500,
        fps: 25,
        keyframe_interval_ms: 2000,
        recordings: [],
      }),
    );
    expect(state.streams["8888_a"].live).toBe(true);
    state = applyFeed(state, { type: "disconnected", error: { code: 30000511, message: "", advice: "", retryable: true } });
    expect(state.connected).toBe(false);
    state = applyFeed(state, live({ type: "resync" }));
    expect(state.streams).toEqual({});
  });

  it("picks the task events of the member's source", () => {
    const member = { room_id: "r", user_id: "u", push: [] };
    const task = live({
      type: "task_state",
      task_id: "t1",
      room_id: "r",
      user_id: "u",
      source: "camera",
      stream_code: "8888_a",
      recording: false,
      phase: "ended",
      end_reason: "stopped",
      file_ids: ["f1"],
    });
    expect(taskOf(task, member, "camera")?.file_ids).toEqual(["f1"]);
    expect(taskOf(task, member, "screen")).toBeNull();
    expect(taskOf(task, { ...member, user_id: "other" }, "camera")).toBeNull();
    expect(taskOf(task, null, "camera")).toBeNull();
    expect(taskOf({ type: "connected" }, member, "camera")).toBeNull();
  });

  it("formats sizes", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1500)).toBe("1.5 KB");
    expect(formatBytes(2_500_000)).toBe("2.5 MB");
  });
});
