// The usage page's call into the console, its months (UTC, as the server counts them) and the
// per-day series its charts draw.
import type { DayUsage } from "../bindings/DayUsage";
import type { Lang } from "../bindings/Lang";
import type { Usage } from "../bindings/Usage";
import { command } from "./tauri";

export const usage = (month: string, lang: Lang) => command("usage", { month, lang });

/** The `YYYY-MM` month (UTC) of an instant. */
export const utcMonth = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

/** Whether `text` is a `YYYY-MM` month. */
export const isMonth = (text: string): boolean => /^\d{4}-(0[1-9]|1[0-2])$/.test(text);

/** The month `by` months after `month` (before it when negative). */
export function shiftMonth(month: string, by: number): string {
  const [year, number] = month.split("-").map(Number);
  return utcMonth(Date.UTC(year, number - 1 + by, 1));
}

const dayOfMonth = (day: DayUsage) => Number(day.date.slice(8, 10));

/** Each day's peak of concurrent recordings: `[days of the month, peaks]`. */
export const dailyPeaks = (u: Usage): [number[], number[]] => [
  u.days.map(dayOfMonth),
  u.days.map((d) => d.peak_channels),
];

/** Bytes of the files started each day: `[days of the month, bytes]`. */
export const dailyBytes = (u: Usage): [number[], number[]] => [u.days.map(dayOfMonth), u.days.map((d) => d.bytes)];
