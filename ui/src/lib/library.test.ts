import { describe, expect, it } from "vitest";
import type { SyncStatus } from "../bindings/SyncStatus";
import { emptyQuery, formatBytes, formatDuration, formatProgress, syncLine } from "./library";

describe("library formatting", () => {
  it("formats sizes in decimal units", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1_500_000)).toBe("1.5 MB");
    expect(formatBytes(30_045_521)).toBe("30.0 MB");
  });
  it("formats durations as h:mm:ss", () => {
    expect(formatDuration(272_000)).toBe("0:04:32");
    expect(formatDuration(5_400_000)).toBe("1:30:00");
    expect(formatDuration(499)).toBe("0:00:00");
  });
  it("starts with an unfiltered newest-first query", () => {
    expect(emptyQuery()).toEqual({ text: "", include_deleted: false, sort: "newest_first", limit: 100 });
  });
});

describe("download progress and the sync line", () => {
  it("shows whole percent with both byte counts", () => {
    expect(formatProgress({ bytes: 1_500_000, total: 3_000_000, percent: 50 })).toBe("50 % · 1.5 MB / 3.0 MB");
    expect(formatProgress({ bytes: 0, total: 0, percent: 100 })).toBe("100 % · 0 B / 0 B");
  });

  const status = (over: Partial<SyncStatus>): SyncStatus => ({
    server_url: "http://127.0.0.1:8080",
    last_synced_ms: null,
    offline: null,
    syncing: false,
    changes: 0,
    ...over,
  });

  it("says never synced until a sync completes", () => {
    expect(syncLine(null)).toEqual({ kind: "never" });
    expect(syncLine(status({}))).toEqual({ kind: "never" });
    expect(syncLine(status({ syncing: true }))).toEqual({ kind: "syncing" });
  });

  it("keeps the last sync time while a new sync runs", () => {
    const at = new Date(2026, 10, 25, 8, 3).getTime();
    expect(syncLine(status({ last_synced_ms: at, syncing: true }))).toEqual({ kind: "synced", at: "2026-11-25 08:03" });
  });

  it("reports offline with the time of the last good sync, if any", () => {
    const at = new Date(2026, 10, 25, 8, 3).getTime();
    expect(syncLine(status({ last_synced_ms: at, offline: "refused" }))).toEqual({
      kind: "offline",
      at: "2026-11-25 08:03",
      reason: "refused",
    });
    expect(syncLine(status({ offline: "refused" }))).toEqual({ kind: "offline", at: null, reason: "refused" });
  });
});
