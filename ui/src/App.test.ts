import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "./App.svelte";
import { setLang } from "./i18n/index.svelte";

afterEach(() => {
  cleanup();
  setLang(null);
});

describe("App shell", () => {
  it("shows the four places, Usage between Recordings and Settings, and opens Live first", () => {
    render(App);
    const nav = screen.getAllByRole("button").filter((b) => b.dataset.testid?.startsWith("nav-"));
    expect(nav.map((b) => b.textContent)).toEqual(["Live", "Recordings", "Usage", "Settings"]);
    expect(screen.getByTestId("page-title").textContent).toBe("Live");
  });

  it("opens Usage", async () => {
    render(App);
    await fireEvent.click(screen.getByTestId("nav-usage"));
    expect(screen.getByTestId("page-title").textContent).toBe("Usage");
    expect(screen.getByTestId("nav-usage").getAttribute("aria-current")).toBe("page");
  });

  it("navigates between places", async () => {
    render(App);
    await fireEvent.click(screen.getByTestId("nav-settings"));
    expect(screen.getByTestId("page-title").textContent).toBe("Settings");
    expect(screen.getAllByTestId("error-row").length).toBeGreaterThan(40);
  });

  it("switches to Chinese and remembers the choice", async () => {
    render(App);
    const select = screen.getByTestId("lang-select") as HTMLSelectElement;
    await fireEvent.change(select, { target: { value: "zh-CN" } });
    expect(screen.getByTestId("page-title").textContent).toBe("直播");
    expect(screen.getByTestId("nav-recordings").textContent).toBe("录制文件");
    expect(localStorage.getItem("tally.lang")).toBe("zh-CN");
    expect(document.documentElement.lang).toBe("zh-CN");
  });

  it("filters the error codes as you type", async () => {
    render(App);
    await fireEvent.click(screen.getByTestId("nav-settings"));
    await fireEvent.input(screen.getByTestId("error-search"), { target: { value: "30000415" } });
    const rows = screen.getAllByTestId("error-row");
    expect(rows).toHaveLength(1);
    expect(rows[0].textContent).toContain("already recording");
  });
});
