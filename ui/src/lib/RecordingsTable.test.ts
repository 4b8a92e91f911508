import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { setLang } from "../i18n/index.svelte";
import RecordingsTable, { WIDTHS_KEY } from "./RecordingsTable.svelte";
import { sampleRecording } from "./sampleRecording";

// A zone far from UTC, so a time shown in UTC by mistake cannot pass.
vi.stubEnv("TZ", "Asia/Shanghai");

const rows = [
  sampleRecording(),
  sampleRecording({ file_id: "1002", file_name: "", callback_state: "gave_up", duration_ms: 5_400_000, size: 1_500_000_000 }),
  sampleRecording({ file_id: "1003", callback_state: "unknown" }),
];

function renderTable(onselect = vi.fn()) {
  render(RecordingsTable, { rows, selectedKey: null, onselect });
  return onselect;
}

const columnWidth = (id: string) => (screen.getByTestId(`col-${id}`) as HTMLElement).style.width;

beforeEach(() => localStorage.clear());
afterEach(() => {
  cleanup();
  clearMocks();
  setLang("en");
});

describe("recordings table", () => {
  it("shows a file's poster, asks once for a fresh link when the cached one fails, then gives up", async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "thumbnail_url") {
        asked.push(args);
        return "http://127.0.0.1:18080/vod/1001.jpg?expires=2&sig=fresh";
      }
    });
    const poster = "http://127.0.0.1:18080/vod/1001.jpg?expires=1&sig=old";
    render(RecordingsTable, { rows: [sampleRecording({ thumbnail_url: poster })], selectedKey: null, onselect: vi.fn() });
    const img = screen.getByTestId("row-thumbnail") as HTMLImageElement;
    expect(img.getAttribute("src")).toBe(poster);
    await fireEvent.error(img);
    await waitFor(() => expect(img.getAttribute("src")).toContain("sig=fresh"));
    expect(asked).toEqual([{ serverId: 1, fileId: "1001", lang: "en" }]);
    await fireEvent.error(img);
    await waitFor(() => expect(screen.queryByTestId("row-thumbnail")).toBeNull());
    expect(asked).toHaveLength(1);
  });

  it("leaves the picture cell empty for a file without a poster", () => {
    renderTable();
    expect(screen.queryByTestId("row-thumbnail")).toBeNull();
  });

  it("shows each file's start in local time, its duration as h:mm:ss and its size in MB or GB", () => {
    renderTable();
    const [first, second] = screen.getAllByTestId("library-row");
    expect(within(first).getByTestId("row-start").textContent).toBe("2026-11-25 08:03");
    expect(within(first).getByTestId("row-duration").textContent).toBe("0:04:32");
    expect(within(first).getByTestId("row-size").textContent).toBe("30.0 MB");
    expect(within(second).getByTestId("row-duration").textContent).toBe("1:30:00");
    expect(within(second).getByTestId("row-size").textContent).toBe("1.5 GB");
  });

  it("shows the room, user, format, and the file id when a file has no name", () => {
    renderTable();
    const second = screen.getAllByTestId("library-row")[1];
    const cells = [...second.querySelectorAll("td")].map((td) => td.textContent);
    expect(cells.slice(1, 5)).toEqual(["1002", "demo-room", "demo-anchor", "MP4"]);
    expect(within(second).getByTestId("download-button")).toBeTruthy();
  });

  it("says the callback state in words behind its icon, in either language", async () => {
    renderTable();
    const [first, second, third] = screen.getAllByTestId("library-row");
    const delivered = within(first).getByRole("img");
    expect(delivered.getAttribute("aria-label")).toBe("Callback delivered");
    expect(delivered.getAttribute("title")).toBe("Callback delivered");
    expect(within(second).getByRole("img", { name: "Callback given up" })).toBeTruthy();
    expect(within(third).getByRole("img", { name: "Unknown callback state (unknown)" })).toBeTruthy();
    setLang("zh-CN");
    await Promise.resolve();
    expect(within(first).getByRole("img").getAttribute("aria-label")).toBe("回调已送达");
  });

  it("selects a row when it is clicked", async () => {
    const onselect = renderTable();
    await fireEvent.click(screen.getAllByTestId("library-row")[1].querySelector("td")!);
    expect(onselect).toHaveBeenCalledWith("1:1002");
  });

  it("resizes a column by dragging its header edge and remembers the width", async () => {
    renderTable();
    expect(columnWidth("room")).toBe("60px");
    const grip = screen.getByTestId("resize-room");
    await fireEvent.pointerDown(grip, { clientX: 300, button: 0 });
    await fireEvent.pointerMove(window, { clientX: 350 });
    await fireEvent.pointerUp(window, { clientX: 350 });
    expect(columnWidth("room")).toBe("110px");
    expect(JSON.parse(localStorage.getItem(WIDTHS_KEY)!).room).toBe(110);

    // Moving the pointer after the drag ended changes nothing.
    await fireEvent.pointerMove(window, { clientX: 500 });
    expect(columnWidth("room")).toBe("110px");

    cleanup();
    renderTable();
    expect(columnWidth("room")).toBe("110px");
    expect(columnWidth("user")).toBe("60px");
  });

  it("keeps a column at its minimum width and resizes with the arrow keys", async () => {
    renderTable();
    const grip = screen.getByTestId("resize-size");
    await fireEvent.pointerDown(grip, { clientX: 300, button: 0 });
    await fireEvent.pointerMove(window, { clientX: 0 });
    await fireEvent.pointerUp(window);
    expect(columnWidth("size")).toBe("40px");
    await fireEvent.keyDown(grip, { key: "ArrowRight" });
    expect(columnWidth("size")).toBe("50px");
    expect(grip.getAttribute("aria-valuenow")).toBe("50");
  });

  it("falls back to the default widths when the saved ones are unreadable", () => {
    localStorage.setItem(WIDTHS_KEY, "{not json");
    renderTable();
    expect(columnWidth("start")).toBe("112px");
  });
});
