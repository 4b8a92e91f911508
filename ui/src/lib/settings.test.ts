import { describe, expect, it } from "vitest";
import { remoteFromForm } from "./settings";

describe("the server form", () => {
  it("means the embedded server unless remote is chosen", () => {
    expect(remoteFromForm(false, "http://h:1", "t")).toBeNull();
  });

  it("trims the address and treats an empty token as none", () => {
    expect(remoteFromForm(true, " http://h:1 ", "  ")).toEqual({ url: "http://h:1", token: null });
    expect(remoteFromForm(true, "http://h:1", " s3cret ")).toEqual({ url: "http://h:1", token: "s3cret" });
  });
});
