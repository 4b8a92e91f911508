// A business's web page on another origin plays a Tally recording straight from its signed
// links — MP4 in a <video>, HLS through hls.js (MSE) — and tries to use Tally's API.
// Usage: node cross-origin-playback.mjs <page url>. Prints one JSON line of what happened.
import { chromium } from "playwright-core";

const page_url = process.argv[2];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ],
});
try {
  const page = await browser.newPage();
  const console_lines = [];
  page.on("console", (m) => console_lines.push(m.text()));
  await page.goto(page_url);
  const deadline = Date.now() + 30_000;
  let state;
  for (;;) {
    state = await page.evaluate(() => ({
      mp4: document.getElementById("mp4").currentTime,
      hls: document.getElementById("hls").currentTime,
      hlsSupported: window.Hls ? window.Hls.isSupported() : false,
      hlsErrors: window.hlsErrors ?? [],
      mp4Error: document.getElementById("mp4").error?.message ?? null,
    }));
    if ((state.mp4 > 0.5 && state.hls > 0.5) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const api = await page.evaluate(async () => ({ read: await window.apiRead, write: await window.apiWrite }));
  console.log(JSON.stringify({ ...state, api, console: console_lines.slice(0, 20) }));
} finally {
  await browser.close();
}
