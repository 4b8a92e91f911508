// The server's live events as the live view shows them: a pure reducer over the console's
// event feed, and the subscription to it.
import { Channel } from "@tauri-apps/api/core";
import type { FeedEvent } from "../bindings/FeedEvent";
import type { Membership } from "../bindings/Membership";
import type { Source } from "../bindings/Source";
import type { TaskState } from "../bindings/TaskState";
import type { SegmentStatus } from "../bindings/SegmentStatus";
import type { StreamState } from "../bindings/StreamState";
import { command, insideTauri } from "./tauri";

export interface ClosedFile {
  file_id: string;
  segment: SegmentStatus;
}

export interface LiveState {
  connected: boolean;
  /** By stream code. */
  streams: Record<string, StreamState>;
  /** Files being written, by path. */
  open: Record<string, SegmentStatus>;
  /** Files closed since the view opened, newest first. */
  closed: ClosedFile[];
}

export const emptyLive = (): LiveState => ({ connected: false, streams: {}, open: {}, closed: [] });

/** The state after one event. */
export function applyFeed(state: LiveState, feed: FeedEvent): LiveState {
  if (feed.type === "connected") return { ...state, connected: true };
  if (feed.type === "disconnected") return { ...state, connected: false };
  const e = feed.event;
  switch (e.type) {
    case "resync":
      // The present state follows; forget what may be stale.
      return { ...state, streams: {}, open: {} };
    case "stream_state": {
      const { type: _, ...stream } = e;
      return { ...state, streams: { ...state.streams, [stream.stream_code]: stream } };
    }
    case "segment_opened":
    case "segment_progress": {
      const { type: _, ...segment } = e;
      return { ...state, open: { ...state.open, [segment.file]: segment } };
    }
    case "segment_closed": {
      const { type: _, file_id, ...segment } = e;
      const open = { ...state.open };
      delete open[segment.file];
      const closed = state.closed.some((c) => c.file_id === file_id)
        ? state.closed
        : [{ file_id, segment }, ...state.closed];
      return { ...state, open, closed };
    }
    default:
      return state;
  }
}

/** Files of a stream being written now. */
export const openFiles = (state: LiveState, streamCode: string) =>
  Object.values(state.open).filter((s) => s.stream_code === streamCode);

/** Files of a stream closed since the view opened. */
export const closedFiles = (state: LiveState, streamCode: string) =>
  state.closed.filter((c) => c.segment.stream_code === streamCode);

/** The task event of `member`'s `source`, if `feed` is one. */
export function taskOf(feed: FeedEvent, member: Membership | null, source: Source): TaskState | null {
  if (feed.type !== "live" || feed.event.type !== "task_state" || !member) return null;
  const { type: _, ...task } = feed.event;
  const mine = task.room_id === member.room_id && task.user_id === member.user_id && task.source === source;
  return mine ? task : null;
}

/** `1.5 MB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Receives the console's live events from now on; outside the app there are none. */
export async function watchEvents(onEvent: (event: FeedEvent) => void): Promise<void> {
  if (!insideTauri()) return;
  const channel = new Channel<FeedEvent>();
  channel.onmessage = onEvent;
  await command("watch_events", { onEvent: channel });
}
