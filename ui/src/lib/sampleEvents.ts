// Feed events as the console sends them, for tests.
import type { FeedEvent } from "../bindings/FeedEvent";

/** A `stream_state` event of `stream_code` measured at `bitrate_kbps`. */
export const streamStateEvent = (
  stream_code: string,
  live: boolean,
  bitrate_kbps: number,
): FeedEvent => ({
  type: "live",
  event: {
    type: "stream_state",
    stream_code,
    live,
    reason: live ? null : "unpublished",
    video_codec: "H264",
    audio_codec: "AAC",
    width: 1280,
    height: 720,
    bitrate_kbps,
    fps: 30,
    keyframe_interval_ms: 2000,
    recordings: [],
  },
});
