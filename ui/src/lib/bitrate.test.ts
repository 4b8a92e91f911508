import { describe, expect, it } from "vitest";
import { streamStateEvent } from "./sampleEvents";
import { BITRATE_SAMPLES, BITRATE_WINDOW_MS, BitrateRing, streamBitrate } from "./bitrate";

const streamState = streamStateEvent;

describe("the bitrate ring", () => {
  it("keeps only its newest samples once full, oldest first", () => {
    const ring = new BitrateRing(4);
    for (let i = 1; i <= 10; i++) ring.push(i * 1000, i * 100);
    expect(ring.length).toBe(4);
    expect(ring.series(10_000)).toEqual([
      [7000, 8000, 9000, 10_000],
      [700, 800, 900, 1000],
    ]);
  });

  it("holds no more than its capacity through an hour of samples, and shows two minutes", () => {
    const ring = new BitrateRing();
    let now = 0;
    for (let i = 0; i < 1800; i++) ring.push((now += 2000), 2500);
    expect(ring.length).toBe(BITRATE_SAMPLES);
    const [times] = ring.series(now);
    expect(times).toHaveLength(BITRATE_WINDOW_MS / 2000 + 1);
    expect(times[0]).toBe(now - BITRATE_WINDOW_MS);
    expect(times.at(-1)).toBe(now);
  });

  it("drops samples older than the window when read", () => {
    const ring = new BitrateRing();
    ring.push(1000, 900);
    ring.push(200_000, 1100);
    expect(ring.series(200_000)).toEqual([[200_000], [1100]]);
  });

  it("follows the shown stream's measurements and empties when it goes offline", () => {
    const ring = new BitrateRing();
    expect(ring.follow(streamState("other", true, 800), "mine", 1000)).toBe(false);
    expect(ring.follow(streamState("mine", true, 0), "mine", 1000)).toBe(false); // not measured yet
    expect(ring.follow(streamState("mine", true, 2400), "mine", 2000)).toBe(true);
    expect(ring.follow(streamState("mine", true, 2600), "mine", 4000)).toBe(true);
    expect(ring.follow({ type: "connected" }, "mine", 5000)).toBe(false);
    expect(ring.series(4000)).toEqual([
      [2000, 4000],
      [2400, 2600],
    ]);
    expect(ring.follow(streamState("mine", false, 2600), "mine", 6000)).toBe(true);
    expect(ring.length).toBe(0);
  });

  it("reads a stream's bitrate only from its own live state", () => {
    expect(streamBitrate(streamState("mine", true, 1500), "mine")).toBe(1500);
    expect(streamBitrate(streamState("mine", false, 1500), "mine")).toBeNull();
    expect(streamBitrate(streamState("other", true, 1500), "mine")).toBeNull();
  });
});
