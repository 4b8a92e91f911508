import { describe, expect, it } from "vitest";
import { en, zhCN } from "./messages";
import { systemLang } from "./index.svelte";

describe("messages", () => {
  it("zh-CN has every key of en and no extra ones", () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it("no text is empty", () => {
    for (const [key, text] of [...Object.entries(en), ...Object.entries(zhCN)]) {
      expect(text.trim(), key).not.toBe("");
    }
  });

  it("zh-CN texts that are prose are Chinese", () => {
    const cjk = /[\u4e00-\u9fff]/;
    const sameInBoth = new Set(["app.name", "lang.en", "lang.zh-CN"]);
    for (const [key, text] of Object.entries(zhCN)) {
      if (!sameInBoth.has(key)) expect(text, key).toMatch(cjk);
    }
  });
});

describe("systemLang", () => {
  it("maps any Chinese locale to zh-CN", () => {
    expect(systemLang(["zh-CN"])).toBe("zh-CN");
    expect(systemLang(["zh-TW", "en"])).toBe("zh-CN");
  });
  it("takes the first English or Chinese entry", () => {
    expect(systemLang(["fr", "en-GB", "zh"])).toBe("en");
  });
  it("falls back to English", () => {
    expect(systemLang([])).toBe("en");
    expect(systemLang(["de-DE"])).toBe("en");
  });
});

describe("adoptSystemLocale", () => {
  it("switches to the shell's locale while following the system", async () => {
    const { adoptSystemLocale, locale, setLang } = await import("./index.svelte");
    setLang(null);
    adoptSystemLocale("zh_CN.UTF-8");
    expect(locale.lang).toBe("zh-CN");
    setLang("en");
    adoptSystemLocale("zh_CN.UTF-8");
    expect(locale.lang).toBe("en");
    setLang(null);
  });
});
