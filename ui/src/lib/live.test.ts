import { describe, expect, it } from "vitest";
import { defaultFileName, formatElapsed, isAlreadyStopped, parseTags, shouldRetry } from "./live";
import { describeError } from "./errors";

describe("live view rules", () => {
  it("retries only retryable codes", () => {
    expect(shouldRetry(describeError(30000511, "en"))).toBe(true);
    expect(shouldRetry(describeError(30000208, "en"))).toBe(true);
    expect(shouldRetry(describeError(30000002, "en"))).toBe(false);
    expect(shouldRetry(new Error("x"))).toBe(false);
  });
  it("treats a duplicate stop as stopped", () => {
    expect(isAlreadyStopped(describeError(30000412, "en"))).toBe(true);
    expect(isAlreadyStopped(describeError(30000415, "en"))).toBe(false);
  });
  it("prefills a file name from room, user and time", () => {
    expect(defaultFileName("demo", "anchor", new Date(2026, 10, 25, 8, 5))).toBe("demo-anchor-20261125-0805");
  });
  it("formats elapsed time", () => {
    expect(formatElapsed(65)).toBe("00:01:05");
    expect(formatElapsed(5400)).toBe("01:30:00");
  });
});

describe("tags", () => {
  it("splits on ASCII and full-width commas and drops empties and repeats", () => {
    expect(parseTags(" 物理, 复习，物理 ,, ")).toEqual(["物理", "复习"]);
    expect(parseTags("")).toEqual([]);
  });
});
