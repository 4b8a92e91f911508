import { describe, expect, it } from "vitest";
import type { Usage } from "../bindings/Usage";
import { dailyBytes, dailyPeaks, isMonth, shiftMonth, utcMonth } from "./usage";

describe("usage months", () => {
  it("takes the month in UTC, as the server counts it", () => {
    // Still November 30th in California, already December in UTC.
    expect(utcMonth(Date.parse("2026-12-01T04:00:00Z"))).toBe("2026-12");
  });

  it("steps across years", () => {
    expect(shiftMonth("2026-01", -1)).toBe("2025-12");
    expect(shiftMonth("2026-12", 1)).toBe("2027-01");
    expect(shiftMonth("2026-05", -14)).toBe("2025-03");
  });

  it("knows a YYYY-MM month", () => {
    expect(isMonth("2026-11")).toBe(true);
    for (const bad of ["2026-13", "2026-00", "2026-1", "", "2026-11-01"]) expect(isMonth(bad), bad).toBe(false);
  });
});

describe("usage series", () => {
  const usage: Usage = {
    month: "2026-11",
    peak_channels: 3,
    price_per_channel_cny: 30,
    price_cny: 90,
    bytes: 700,
    files: 3,
    days: [
      { date: "2026-11-01", peak_channels: 3, bytes: 500 },
      { date: "2026-11-02", peak_channels: 0, bytes: 0 },
      { date: "2026-11-03", peak_channels: 1, bytes: 200 },
    ],
  };

  it("puts each day of the month against its peak and its bytes", () => {
    expect(dailyPeaks(usage)).toEqual([
      [1, 2, 3],
      [3, 0, 1],
    ]);
    expect(dailyBytes(usage)).toEqual([
      [1, 2, 3],
      [500, 0, 200],
    ]);
  });
});
