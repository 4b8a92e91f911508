import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Channel } from "@tauri-apps/api/core";
import type { ConsoleInfo } from "../bindings/ConsoleInfo";
import type { FeedEvent } from "../bindings/FeedEvent";
import type { Membership } from "../bindings/Membership";
import { setLang } from "../i18n/index.svelte";
import { streamStateEvent } from "../lib/sampleEvents";
import Live from "./Live.svelte";

// uPlot draws on a canvas, which jsdom lacks: a stand-in keeps what the chart was last given.
const chart: { data: number[][] | null } = vi.hoisted(() => ({ data: null }));
vi.mock("uplot", () => ({
  default: class {
    static paths = {};
    constructor(_options: unknown, data: number[][]) {
      chart.data = data;
    }
    setData(data: number[][]) {
      chart.data = data;
    }
    setSize() {}
    destroy() {}
  },
}));

const CODE = "8888_demo_anchor_main";
const info: ConsoleInfo = {
  api_url: "http://127.0.0.1:18080",
  rtmp_url: "rtmp://127.0.0.1:1935/live",
  demo_room: "demo",
  demo_user: "anchor",
  embedded: true,
  startup_error: null,
};
const member: Membership = {
  room_id: "demo",
  user_id: "anchor",
  push: [{ source: "camera", stream_code: CODE, url: `rtmp://127.0.0.1:1935/live/${CODE}`, srt_url: `srt://127.0.0.1:9000?streamid=live/${CODE}`, server: "", stream_key: CODE }],
};

const measured = (bitrate_kbps: number, live = true) => streamStateEvent(CODE, live, bitrate_kbps);

afterEach(() => {
  cleanup();
  clearMocks();
  chart.data = null;
});

describe("live view bitrate chart", () => {
  it("charts the joined member's stream bitrate as it is measured, and hides it offline", async () => {
    setLang("en");
    let feed: Channel<FeedEvent> | null = null;
    mockIPC((cmd, args) => {
      if (cmd === "console_info") return info;
      if (cmd === "join_room") return member;
      if (cmd === "watch_events") {
        feed = (args as { onEvent: Channel<FeedEvent> }).onEvent;
        return new Promise(() => {}); // the feed runs as long as the window
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Live);
    await vi.waitFor(() => expect((screen.getByTestId("live-room") as HTMLInputElement).value).toBe("demo"));
    await fireEvent.click(screen.getByTestId("live-join"));
    await vi.waitFor(() => expect(screen.getByTestId("push-camera")).toBeTruthy());
    expect(screen.getByTestId("push-srt-camera").textContent).toContain(`srt://127.0.0.1:9000?streamid=live/${CODE}`);
    await vi.waitFor(() => expect(feed).not.toBeNull());

    feed!.onmessage(measured(2400));
    feed!.onmessage(measured(2600));
    await vi.waitFor(() => expect(chart.data?.[1]).toEqual([2400, 2600]));
    expect(screen.getByTestId("bitrate-chart")).toBeTruthy();

    feed!.onmessage(measured(0, false));
    await vi.waitFor(() => expect(screen.queryByTestId("bitrate-chart")).toBeNull());
  });
});
