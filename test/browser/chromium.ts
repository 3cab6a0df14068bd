import { execFileSync } from "node:child_process";

/** `CHROMIUM_PATH`, or the first Chromium on the PATH; Playwright's own download cannot be used here. */
export function findChromium(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      return execFileSync("which", [name], { encoding: "utf8" }).trim();
    } catch {
      // Not this one.
    }
  }
  throw new Error(
    "No Chromium found: install it (Debian/Ubuntu: `sudo apt-get install chromium`) or set CHROMIUM_PATH",
  );
}
