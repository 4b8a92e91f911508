import { describe, expect, it } from "vitest";
import { emptyQuery, formatBytes, formatDuration } from "./library";

describe("library formatting", () => {
  it("formats sizes in decimal units", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1_500_000)).toBe("1.5 MB");
    expect(formatBytes(30_045_521)).toBe("30.0 MB");
  });
  it("formats durations with hours only when needed", () => {
    expect(formatDuration(272_000)).toBe("4:32");
    expect(formatDuration(5_400_000)).toBe("1:30:00");
    expect(formatDuration(499)).toBe("0:00");
  });
  it("starts with an unfiltered newest-first query", () => {
    expect(emptyQuery()).toEqual({ text: "", include_deleted: false, sort: "newest_first", limit: 100 });
  });
});
