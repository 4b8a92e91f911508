// The live stream's bitrate over the last two minutes, for the live view's chart: a ring of a
// fixed number of samples, so a stream watched for hours holds no more than a few minutes' worth.
import type { FeedEvent } from "../bindings/FeedEvent";

/** How far back the chart looks. */
export const BITRATE_WINDOW_MS = 120_000;

/** The server measures a stream every 2 s of media; twice that many leaves room for bursts. */
export const BITRATE_SAMPLES = 120;

/** The last samples of one stream's bitrate, in a ring of fixed size. */
export class BitrateRing {
  private readonly times: Float64Array;
  private readonly kbps: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity = BITRATE_SAMPLES) {
    this.times = new Float64Array(capacity);
    this.kbps = new Float64Array(capacity);
  }

  /** Samples held (at most `capacity`). */
  get length(): number {
    return this.count;
  }

  /** Adds a sample, overwriting the oldest once the ring is full. */
  push(atMs: number, kbps: number): void {
    this.times[this.next] = atMs;
    this.kbps[this.next] = kbps;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  clear(): void {
    this.next = 0;
    this.count = 0;
  }

  /**
   * Takes in a feed event at `nowMs`: a measurement of `streamCode` is added, and the stream
   * going offline empties the ring (a later publish starts a new line). Whether it changed.
   */
  follow(feed: FeedEvent, streamCode: string, nowMs: number): boolean {
    if (feed.type !== "live" || feed.event.type !== "stream_state") return false;
    if (feed.event.stream_code !== streamCode) return false;
    if (!feed.event.live) {
      const had = this.count > 0;
      this.clear();
      return had;
    }
    const kbps = streamBitrate(feed, streamCode);
    if (kbps === null) return false;
    this.push(nowMs, kbps);
    return true;
  }

  /** The samples of the `windowMs` up to `nowMs`, oldest first: `[times (ms), kbps]`. */
  series(nowMs: number, windowMs = BITRATE_WINDOW_MS): [number[], number[]] {
    const times: number[] = [];
    const kbps: number[] = [];
    const oldest = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) {
      const at = (oldest + i) % this.capacity;
      if (this.times[at] < nowMs - windowMs) continue;
      times.push(this.times[at]);
      kbps.push(this.kbps[at]);
    }
    return [times, kbps];
  }
}

/**
 * The bitrate `feed` measured for the live stream `streamCode`, if it is such a measurement
 * (0 is "not measured yet"). The stream's own measurement, over the last 2 s of media, rather
 * than a file's, which averages everything since the file opened.
 */
export function streamBitrate(feed: FeedEvent, streamCode: string): number | null {
  if (feed.type !== "live" || feed.event.type !== "stream_state") return null;
  const stream = feed.event;
  const measured = stream.stream_code === streamCode && stream.live && stream.bitrate_kbps > 0;
  return measured ? stream.bitrate_kbps : null;
}
