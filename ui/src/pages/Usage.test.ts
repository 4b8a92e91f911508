import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Usage } from "../bindings/Usage";
import { setLang } from "../i18n/index.svelte";
import UsagePage from "./Usage.svelte";

// uPlot draws on a canvas, which jsdom lacks: a stand-in keeps what each chart was given.
interface FakeChart {
  options: { series: { label?: string; paths?: unknown }[] };
  data: number[][];
}
const charts: FakeChart[] = vi.hoisted(() => []);
vi.mock("uplot", () => ({
  default: class {
    static paths = { bars: () => () => null };
    options: unknown;
    data: unknown;
    constructor(options: unknown, data: unknown) {
      this.options = options;
      this.data = data;
      charts.push(this as unknown as FakeChart);
    }
    setData(data: unknown) {
      this.data = data;
    }
    setSize() {}
    destroy() {
      charts.splice(charts.indexOf(this as unknown as FakeChart), 1);
    }
  },
}));

// Evening of November 30th in California: already December in UTC, the server's month.
vi.stubEnv("TZ", "America/Los_Angeles");
const NOW = Date.parse("2026-12-01T04:00:00Z");

/** A month's answer: `peak` on the 3rd, one channel on odd days, bytes on the 3rd only. */
function usageOf(month: string, peak: number, perChannel = 30): Usage {
  const [year, number] = month.split("-").map(Number);
  const length = new Date(Date.UTC(year, number, 0)).getUTCDate();
  return {
    month,
    peak_channels: peak,
    price_per_channel_cny: perChannel,
    price_cny: peak * perChannel,
    bytes: 1_500_000,
    files: 4,
    days: Array.from({ length }, (_, i) => ({
      date: `${month}-${String(i + 1).padStart(2, "0")}`,
      peak_channels: i === 2 ? peak : i % 2,
      bytes: i === 2 ? 1_500_000 : 0,
    })),
  };
}

let asked: string[] = [];

function serve(answer: (month: string) => Usage | Promise<Usage>) {
  mockIPC((cmd, args) => {
    if (cmd !== "usage") throw new Error(`unexpected command ${cmd}`);
    const { month } = args as { month: string };
    asked.push(month);
    return answer(month);
  });
}

const text = (testId: string) => screen.getByTestId(testId).textContent?.trim();
const chartOf = (series: string) => charts.find((c) => c.options.series[1].label === series);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW);
  asked = [];
  setLang("en");
});

afterEach(() => {
  cleanup();
  clearMocks();
  vi.useRealTimers();
  charts.length = 0;
});

describe("usage page", () => {
  it("asks for the current UTC month and shows its peak, price, bytes and files", async () => {
    serve((month) => usageOf(month, 3));
    render(UsagePage);
    await vi.waitFor(() => expect(text("usage-peak")).toBe("3"));
    expect(asked).toEqual(["2026-12"]);
    expect((screen.getByTestId("usage-month") as HTMLInputElement).value).toBe("2026-12");
    expect(text("usage-price")).toBe("90 CNY");
    expect(text("usage-price-formula")).toBe("3 × 30 CNY per peak channel");
    expect(text("usage-bytes")).toBe("1.5 MB");
    expect(text("usage-files")).toBe("4");
  });

  it("takes the price per channel from the server", async () => {
    serve((month) => usageOf(month, 4, 25));
    render(UsagePage);
    await vi.waitFor(() => expect(text("usage-price")).toBe("100 CNY"));
    expect(text("usage-price-formula")).toBe("4 × 25 CNY per peak channel");
  });

  it("asks again for the month picked, with the picker or the arrows", async () => {
    serve((month) => usageOf(month, month === "2026-12" ? 3 : 2));
    render(UsagePage);
    await vi.waitFor(() => expect(text("usage-peak")).toBe("3"));
    expect((screen.getByTestId("usage-next") as HTMLButtonElement).disabled).toBe(true);

    await fireEvent.input(screen.getByTestId("usage-month"), { target: { value: "2026-10" } });
    await vi.waitFor(() => expect(text("usage-peak")).toBe("2"));
    expect(asked.at(-1)).toBe("2026-10");
    expect(text("usage-price")).toBe("60 CNY");

    await fireEvent.click(screen.getByTestId("usage-previous"));
    await vi.waitFor(() => expect(asked.at(-1)).toBe("2026-09"));
    await fireEvent.click(screen.getByTestId("usage-next"));
    await vi.waitFor(() => expect(asked.at(-1)).toBe("2026-10"));
    expect(asked).toEqual(["2026-12", "2026-10", "2026-09", "2026-10"]);
  });

  it("shows the month asked last when answers come out of order", async () => {
    let releaseDecember: () => void = () => {};
    serve((month) =>
      month === "2026-12"
        ? new Promise((resolve) => (releaseDecember = () => resolve(usageOf(month, 9))))
        : usageOf(month, 2),
    );
    render(UsagePage);
    await vi.waitFor(() => expect(asked).toEqual(["2026-12"]));
    await fireEvent.click(screen.getByTestId("usage-previous"));
    await vi.waitFor(() => expect(text("usage-peak")).toBe("2"));
    releaseDecember();
    await new Promise((r) => setTimeout(r, 20));
    expect(text("usage-peak")).toBe("2");
  });

  it("charts each day's peak and bytes of the month shown, as bars", async () => {
    serve((month) => usageOf(month, 3));
    render(UsagePage);
    await vi.waitFor(() => expect(charts).toHaveLength(2));
    const days = Array.from({ length: 31 }, (_, i) => i + 1);
    const peaks = chartOf("Peak channels")!;
    expect(peaks.data[0]).toEqual(days);
    expect(peaks.data[1]).toEqual(usageOf("2026-12", 3).days.map((d) => d.peak_channels));
    expect(peaks.data[1][2]).toBe(3);
    expect(peaks.options.series[1].paths).toBeTypeOf("function");
    const bytes = chartOf("Recorded")!;
    expect(bytes.data[0]).toEqual(days);
    expect(bytes.data[1][2]).toBe(1_500_000);
    expect(bytes.data[1].filter((b) => b > 0)).toHaveLength(1);

    await fireEvent.input(screen.getByTestId("usage-month"), { target: { value: "2026-11" } });
    await vi.waitFor(() => expect(chartOf("Peak channels")?.data[0]).toHaveLength(30));
  });

  it("shows the server's error with its advice", async () => {
    serve(() => {
      throw { code: 1001, message: "server unreachable", advice: "check the address", retryable: true };
    });
    render(UsagePage);
    await vi.waitFor(() => expect(text("usage-error")).toBe("1001: server unreachable check the address"));
    expect(screen.getByTestId("empty-state")).toBeTruthy();
  });

  it("speaks Chinese", async () => {
    setLang("zh-CN");
    serve((month) => usageOf(month, 3));
    render(UsagePage);
    await vi.waitFor(() => expect(text("usage-price")).toBe("90 元"));
    expect(text("usage-price-formula")).toBe("3 路 × 每路 30 元");
    expect(text("page-title")).toBe("用量");
  });
});
