import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { setLang } from "../i18n/index.svelte";
import RecordingDetail from "./RecordingDetail.svelte";
import { sampleRecording } from "./sampleRecording";

// A zone far from UTC, so a time shown in UTC by mistake cannot pass.
vi.stubEnv("TZ", "Asia/Shanghai");

const text = (testId: string) => screen.getByTestId(testId).textContent?.trim();

afterEach(() => {
  cleanup();
  setLang("en");
});

// Offline, so the pane asks the (absent) console for no callback attempts.
const renderDetail = (over = {}, onclose = vi.fn()) => {
  render(RecordingDetail, { row: sampleRecording(over), online: false, onclose });
  return onclose;
};

describe("recording detail", () => {
  it("shows times in local time, the duration as h:mm:ss and the size in MB", () => {
    renderDetail();
    expect(text("detail-start")).toBe("2026-11-25 08:03:12");
    expect(text("detail-end")).toBe("2026-11-25 08:07:44");
    expect(text("detail-duration")).toBe("0:04:32");
    expect(text("detail-size")).toBe("30.0 MB");
  });

  it("shows resolution, codecs, room, user, stream code and callback state in words", () => {
    renderDetail();
    expect(text("detail-resolution")).toBe("1280×720");
    expect(text("detail-codecs")).toBe("H264 / AAC");
    const pane = screen.getByTestId("library-detail").textContent!;
    for (const shown of ["demo-room", "demo-anchor", "8888_demo-room_demo-anchor_main", "MP4"]) {
      expect(pane).toContain(shown);
    }
    expect(screen.getByRole("img", { name: "Callback delivered" })).toBeTruthy();
    expect(pane).toContain("Callback delivered");
    expect(pane).not.toContain(String(sampleRecording().start_ms)); // epoch ms only in the raw fields
  });

  it("shows each tag whole, and says when a file was recovered after a crash", () => {
    renderDetail({ tags: ["grade 3", "math"] });
    expect(text("detail-tags")).toBe("grade 3, math");
    expect(screen.queryByTestId("detail-recovered")).toBeNull();
    cleanup();
    renderDetail({ tags: [], recovered: true });
    expect(text("detail-tags")).toBe("—");
    expect(text("detail-recovered")).toContain("abruptly");
  });

  it("says when the server could not find the file on its disk", () => {
    renderDetail({});
    expect(screen.queryByTestId("detail-missing")).toBeNull();
    cleanup();
    renderDetail({ missing: true });
    expect(text("detail-missing")).toContain("did not find");
  });

  it("says an audio-only file has no resolution", () => {
    renderDetail({ video_codec: null, width: null, height: null });
    expect(text("detail-resolution")).toBe("—");
    expect(text("detail-codecs")).toBe("AAC");
  });

  it("keeps the raw fields behind a toggle, collapsed at first", async () => {
    renderDetail();
    const toggle = screen.getByTestId("detail-raw-toggle");
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(screen.queryByTestId("detail-raw")).toBeNull();
    expect(screen.getByTestId("library-detail").textContent).not.toContain("server_id");

    await fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    const raw = screen.getByTestId("detail-raw").textContent!;
    expect(raw).toContain("server_id");
    expect(raw).toContain(String(sampleRecording().start_ms));

    await fireEvent.click(toggle);
    expect(screen.queryByTestId("detail-raw")).toBeNull();
  });

  it("copies the download link", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    renderDetail();
    expect(text("detail-link")).toBe(sampleRecording().url);
    await fireEvent.click(screen.getByTestId("detail-copy"));
    await vi.waitFor(() => expect(text("detail-copy")).toBe("Copied"));
    expect(writeText).toHaveBeenCalledWith(sampleRecording().url);
  });

  it("says why callback attempts are missing while offline, and closes", async () => {
    const onclose = renderDetail();
    expect(screen.getByTestId("library-detail").textContent).toContain("Shown when the server is reachable.");
    await fireEvent.click(screen.getByTestId("detail-close"));
    expect(onclose).toHaveBeenCalled();
  });

  it("speaks Chinese", () => {
    setLang("zh-CN");
    renderDetail({ callback_state: "pending" });
    expect(screen.getByTestId("detail-raw-toggle").textContent).toContain("原始字段");
    expect(screen.getByRole("img", { name: "回调待送达" })).toBeTruthy();
  });
});
