// The few calls into the Tauri shell; each degrades to `null` outside the app (tests, a browser).
import { getVersion } from "@tauri-apps/api/app";
import { invoke } from "@tauri-apps/api/core";

export function insideTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export async function appVersion(): Promise<string | null> {
  if (!insideTauri()) return null;
  try {
    return await getVersion();
  } catch {
    return null;
  }
}

/** The system locale as the desktop shell sees it (`LANGUAGE`/`LC_ALL`/`LANG`). */
export async function systemLocale(): Promise<string | null> {
  if (!insideTauri()) return null;
  try {
    return await invoke<string | null>("system_locale");
  } catch {
    return null;
  }
}

/** Calls a console command; outside the app there is no backend, so this throws. */
export async function command<T>(name: string, args: Record<string, unknown>): Promise<T> {
  if (!insideTauri()) throw new Error("not running inside the Tally console");
  return invoke<T>(name, args);
}
