import { describe, expect, it } from "vitest";
import { sampleRecording } from "./sampleRecording";
import { segmentsOf } from "./segments";

describe("segmentsOf", () => {
  const base = sampleRecording();
  const seg = (file_id: string, start_ms: number, over: Partial<typeof base> = {}) => ({
    ...base,
    file_id,
    start_ms,
    ...over,
  });

  it("lists the recording's files of the same format in time order", () => {
    const rows = [
      seg("b", 2_000),
      seg("a", 1_000),
      seg("flv", 1_000, { format: "flv" }),
      seg("other", 1_500, { record_id: "another" }),
      seg("elsewhere", 1_500, { server_id: base.server_id + 1 }),
      seg("gone", 3_000, { deleted: true }),
    ];
    expect(segmentsOf(rows[0], rows).map((r) => r.file_id)).toEqual(["a", "b"]);
  });

  it("always holds the row itself, even when the page does not", () => {
    const row = seg("x", 5_000);
    expect(segmentsOf(row, [seg("a", 1_000)]).map((r) => r.file_id)).toEqual(["a", "x"]);
  });
});
