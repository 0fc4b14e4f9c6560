import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { PNG } from "pngjs";

const run = promisify(execFile);

/** The headless Chromium the HTML report is checked in: Debian's `chromium` package (.ci/run installs it). */
export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(
  (path) => existsSync(path),
);

export const NO_CHROMIUM_MESSAGE =
  "SKIPPED: no headless Chromium found (/usr/bin/chromium). Install it with `apt-get install -y chromium` " +
  "(.ci/run does) to check the HTML report in a real browser.";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"];

/** Renders `file` in headless Chromium and returns the screenshot's pixels. */
export async function screenshot(
  file: string,
  out: string,
  size = { width: 1280, height: 4000 },
): Promise<PNG> {
  await run(
    CHROMIUM!,
    [...FLAGS, `--screenshot=${out}`, `--window-size=${size.width},${size.height}`, `file://${file}`],
    {
      timeout: 60_000,
    },
  );
  return PNG.sync.read(readFileSync(out));
}

/** Prints `file` to PDF as a browser's "Print" would; returns the PDF bytes. */
export async function printToPdf(file: string, out: string): Promise<Buffer> {
  await run(CHROMIUM!, [...FLAGS, "--no-pdf-header-footer", `--print-to-pdf=${out}`, `file://${file}`], {
    timeout: 60_000,
  });
  return readFileSync(out);
}

export interface PixelStats {
  /** Share of pixels that are not (near) white. */
  inked: number;
  /** Index of the last row with a non-white pixel + 1: how tall the rendered page is. */
  contentHeight: number;
  /** Pixels within a small distance of `rgb`. */
  countNear(rgb: [number, number, number], tolerance?: number): number;
}

export function pixelStats(png: PNG): PixelStats {
  const { width, height, data } = png;
  let inked = 0;
  let lastRow = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (data[i]! < 240 || data[i + 1]! < 240 || data[i + 2]! < 240) {
        inked++;
        lastRow = y + 1;
      }
    }
  }
  return {
    inked: inked / (width * height),
    contentHeight: lastRow,
    countNear([r, g, b], tolerance = 24) {
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - r) + Math.abs(data[i + 1]! - g) + Math.abs(data[i + 2]! - b) <= tolerance)
          count++;
      }
      return count;
    },
  };
}
