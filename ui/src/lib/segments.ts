import type { CachedRecording } from "../bindings/CachedRecording";

/**
 * The segments of `row`'s recording in its format, in time order: the files of the same server,
 * stream code and record id (one recording cut every interval) among `rows`.
 */
export function segmentsOf(row: CachedRecording, rows: CachedRecording[]): CachedRecording[] {
  const same = rows.filter(
    (r) =>
      r.server_id === row.server_id &&
      r.stream_code === row.stream_code &&
      r.record_id === row.record_id &&
      r.format === row.format &&
      !r.deleted,
  );
  if (!same.some((r) => r.file_id === row.file_id)) same.push(row);
  return same.sort((a, b) => a.start_ms - b.start_ms);
}
