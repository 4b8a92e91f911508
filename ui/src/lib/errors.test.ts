import { describe, expect, it } from "vitest";
import { describeError, errorTable, failureText, isApiError, searchErrors } from "./errors";

describe("error table bindings", () => {
  it("holds every code of the seed's table", () => {
    const codes = new Set(errorTable.map((r) => r.code));
    const seed = [1, 2, 30000000, 30000004, 30000201, 30000203, 30000207, 30000208, 30000301,
      30000305, 30000401, 30000410, 30000412, 30000415];
    for (const code of seed) expect(codes.has(code), String(code)).toBe(true);
  });

  it("describes a code in the asked language", () => {
    const en = describeError(30000412, "en")!;
    const zh = describeError(30000412, "zh-CN")!;
    expect(en.advice).toMatch(/nothing to do/);
    expect(zh.message).toBe("停止录制重复发送，用户已经停止录制。");
    expect(en.retryable).toBe(false);
    expect(describeError(30000208, "en")!.retryable).toBe(true);
  });

  it("returns undefined for an unknown code", () => {
    expect(describeError(42, "en")).toBeUndefined();
  });

  it("searches by code and by text", () => {
    expect(searchErrors("30000002", "en").map((r) => r.code)).toEqual([30000002]);
    expect(searchErrors("双人", "zh-CN").map((r) => r.code)).toEqual([30000501]);
    expect(searchErrors("", "en").length).toBe(errorTable.length);
  });
});

describe("failureText", () => {
  it("shows code, message and advice of an API error", () => {
    const err = describeError(30000002, "en")!;
    expect(failureText(err)).toBe(`30000002: ${err.message} ${err.advice}`);
  });
  it("shows anything else as text", () => {
    expect(failureText(new Error("boom"))).toBe("Error: boom");
    expect(isApiError({ code: 1 })).toBe(false);
  });
});
