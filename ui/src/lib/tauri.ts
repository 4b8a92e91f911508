// The few calls into the Tauri shell; each degrades to `null` outside the app (tests, a browser).
import { getVersion } from "@tauri-apps/api/app";
import { invoke } from "@tauri-apps/api/core";
import type { Commands } from "../bindings/commands";

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
    return await command("system_locale", {});
  } catch {
    return null;
  }
}

/**
 * Calls a console command, typed by the command table (`bindings/commands.ts`, generated from
 * the Rust side); outside the app there is no backend, so this throws.
 */
export async function command<K extends keyof Commands>(
  name: K,
  args: Commands[K]["args"],
): Promise<Commands[K]["answer"]> {
  if (!insideTauri()) throw new Error("not running inside the Tally console");
  return invoke<Commands[K]["answer"]>(name, args);
}
