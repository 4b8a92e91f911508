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
