// The live view's calls into the console, and the automatic retry of retryable failures.
import type { ConsoleInfo } from "../bindings/ConsoleInfo";
import type { Lang } from "../bindings/Lang";
import type { Membership } from "../bindings/Membership";
import type { Commands } from "../bindings/commands";
import type { Source } from "../bindings/Source";
import { isApiError } from "./errors";
import { command } from "./tauri";

export const consoleInfo = () => command("console_info", {});

export const joinRoom = (roomId: string, userId: string, lang: Lang) =>
  command("join_room", { roomId, userId, lang });

/** What a start asks for; every file also gets a poster (its thumbnail in Recordings). */
export type StartRequest = Omit<Commands["start_recording"]["args"], "lang">;

export const startRecording = (request: StartRequest, lang: Lang) =>
  command("start_recording", { ...request, lang });

export const stopRecording = (roomId: string, userId: string, source: Source, lang: Lang) =>
  command("stop_recording", { roomId, userId, source, lang });

/** The seed asks clients to retry no faster than every 3 s. */
export const RETRY_DELAY_S = 3;

/** How often the live preview is refreshed. */
export const PREVIEW_EVERY_MS = 3_000;

/** A picture of a live stream (a `data:` URL). */
export const streamPreview = (streamCode: string, lang: Lang) =>
  command("stream_preview", { streamCode, lang });

/** Whether a failure should be retried on its own. Duplicate stop (30000412/3) is success. */
export function shouldRetry(error: unknown): boolean {
  return isApiError(error) && error.retryable;
}

/** Stop answered "already stopped": the recording is stopped, which is what was asked. */
export function isAlreadyStopped(error: unknown): boolean {
  return isApiError(error) && (error.code === 30000412 || error.code === 30000413);
}

/** A file name to prefill: `<room>-<user>-YYYYMMDD-HHmm`. */
export function defaultFileName(room: string, user: string, now: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}`;
  return `${room}-${user}-${stamp}`;
}

/** `00:01:05`. */
export function formatElapsed(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
}

/** The stream code a member pushes `source` to ("" before joining). */
export const streamCodeOf = (member: Membership | null, source: Source): string =>
  member?.push.find((p) => p.source === source)?.stream_code ?? "";

/** Tags typed as `a, b，c` (ASCII or full-width commas), trimmed, without empties or repeats. */
export function parseTags(text: string): string[] {
  const tags = text.split(/[,，]/).map((t) => t.trim()).filter((t) => t !== "");
  return [...new Set(tags)];
}
