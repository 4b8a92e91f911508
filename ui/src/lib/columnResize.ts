// Resizable table columns: a grip on a header's right edge that is dragged (or moved with the
// arrow keys), and the widths remembered in localStorage.
import type { Action } from "svelte/action";

/** Column id → width in CSS pixels. */
export type ColumnWidths = Record<string, number>;

/** The saved widths over `defaults`; a missing, damaged or foreign entry keeps the default. */
export function loadWidths(storageKey: string, defaults: ColumnWidths): ColumnWidths {
  const widths = { ...defaults };
  let saved: unknown = null;
  try {
    saved = JSON.parse(globalThis.localStorage?.getItem(storageKey) ?? "null");
  } catch {
    return widths; // a damaged entry is as good as none
  }
  if (saved && typeof saved === "object") {
    for (const id of Object.keys(defaults)) {
      const width = (saved as Record<string, unknown>)[id];
      if (typeof width === "number" && Number.isFinite(width) && width > 0) widths[id] = width;
    }
  }
  return widths;
}

export function saveWidths(storageKey: string, widths: ColumnWidths): void {
  globalThis.localStorage?.setItem(storageKey, JSON.stringify(widths));
}

export type ResizeOptions = {
  /** The column's width now (read, given the grip, when a drag or key press starts). */
  width: (grip: HTMLElement) => number;
  min: number;
  /** Every new width while dragging. */
  onresize: (width: number) => void;
  /** When a drag or key press is over: the time to remember the width. */
  ondone: () => void;
};

const KEY_STEP = 10;

/** Makes `node` (the grip) resize its column. */
export const resizeColumn: Action<HTMLElement, ResizeOptions> = (node, initial) => {
  let options = initial;
  let startX = 0;
  let startWidth = 0;
  const clamp = (width: number) => Math.max(options.min, Math.round(width));

  function onDown(event: PointerEvent) {
    if (event.button !== 0) return;
    event.preventDefault(); // no text selection while dragging
    event.stopPropagation();
    startX = event.clientX;
    startWidth = options.width(node);
    // On the window, so the drag goes on when the pointer outruns the thin grip.
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
  }

  function onMove(event: PointerEvent) {
    options.onresize(clamp(startWidth + event.clientX - startX));
  }

  function onUp() {
    stopDragging();
    options.ondone();
  }

  function stopDragging() {
    window.removeEventListener("pointermove", onMove);
    window.removeEventListener("pointerup", onUp);
  }

  function onKey(event: KeyboardEvent) {
    const step = event.key === "ArrowRight" ? KEY_STEP : event.key === "ArrowLeft" ? -KEY_STEP : 0;
    if (!step) return;
    event.preventDefault();
    options.onresize(clamp(options.width(node) + step));
    options.ondone();
  }

  // A click on the grip is not a click on the header (or on whatever the header does).
  const swallow = (event: Event) => event.stopPropagation();

  node.addEventListener("pointerdown", onDown);
  node.addEventListener("keydown", onKey);
  node.addEventListener("click", swallow);
  return {
    update(next) {
      options = next;
    },
    destroy() {
      stopDragging();
      node.removeEventListener("pointerdown", onDown);
      node.removeEventListener("keydown", onKey);
      node.removeEventListener("click", swallow);
    },
  };
};
