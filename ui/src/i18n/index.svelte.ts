// The UI language: follows the system until the user picks one, and the pick is remembered.
import type { Lang } from "../bindings/Lang";
import { en, zhCN, type MessageKey } from "./messages";

const STORAGE_KEY = "tally.lang";
const catalogs: Record<Lang, Record<MessageKey, string>> = { en, "zh-CN": zhCN };

/** The language a system locale list maps to: Chinese for any `zh*`, else English. */
export function systemLang(languages: readonly string[]): Lang {
  for (const tag of languages) {
    const lower = tag.toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

function storedChoice(): Lang | null {
  const value = globalThis.localStorage?.getItem(STORAGE_KEY);
  return value === "en" || value === "zh-CN" ? value : null;
}

// The system's languages: the browser's guess until the shell tells us (see `adoptSystemLocale`).
let systemLanguages: readonly string[] = globalThis.navigator?.languages ?? [];

function detect(): Lang {
  return storedChoice() ?? systemLang(systemLanguages);
}

export const locale = $state({ lang: detect(), followsSystem: storedChoice() === null });

/** Chooses a language, or `null` to follow the system again. */
export function setLang(choice: Lang | null): void {
  if (choice === null) {
    globalThis.localStorage?.removeItem(STORAGE_KEY);
    locale.lang = systemLang(systemLanguages);
  } else {
    globalThis.localStorage?.setItem(STORAGE_KEY, choice);
    locale.lang = choice;
  }
  locale.followsSystem = choice === null;
  document.documentElement.lang = locale.lang;
}

/** The text for `key` in the current language. */
export function t(key: MessageKey): string {
  return catalogs[locale.lang][key];
}

/** Takes the system locale reported by the desktop shell (e.g. `zh_CN.UTF-8`) as the system's. */
export function adoptSystemLocale(tag: string | null): void {
  if (!tag) return;
  systemLanguages = [tag.replace("_", "-"), ...systemLanguages];
  if (locale.followsSystem) locale.lang = systemLang(systemLanguages);
  document.documentElement.lang = locale.lang;
}
