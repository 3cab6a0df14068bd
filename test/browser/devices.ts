import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { findChromium } from "./chromium.ts";
import { type SignedInTokens, storeTokens } from "./learners.ts";

/** Chromium as a phone with a microphone: a fake one, granted, on loopback with the local TURN server. */
export function launchWithMicrophone(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      "--autoplay-policy=no-user-gesture-required",
      // Both "phones" and the TURN server live on loopback.
      "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
    ],
  });
}

/**
 * A device: a browser context with the microphone granted that records every Content-Security-Policy
 * violation and every RTCPeerConnection and WebSocket its pages make, for the test to read. With
 * `tokens`, it is signed in as that learner already.
 */
export async function device(browser: Browser, apiUrl: string, tokens?: SignedInTokens): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, baseURL: apiUrl });
  await context.grantPermissions(["microphone"], { origin: apiUrl });
  await context.addInitScript(() => {
    const violations: string[] = [];
    Object.assign(window, { gaplashCspViolations: violations });
    document.addEventListener("securitypolicyviolation", (event) =>
      violations.push(`${event.effectiveDirective} ${event.blockedURI}`),
    );
  });
  await context.addInitScript(() => {
    const OriginalConnection = window.RTCPeerConnection;
    const connections: RTCPeerConnection[] = [];
    window.RTCPeerConnection = class extends OriginalConnection {
      constructor(configuration?: RTCConfiguration) {
        super(configuration);
        connections.push(this);
      }
    };
    const OriginalSocket = window.WebSocket;
    const sockets: WebSocket[] = [];
    window.WebSocket = class extends OriginalSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    };
    Object.assign(window, { gaplashConnections: connections, gaplashSockets: sockets });
  });
  if (tokens) await storeTokens(context, tokens);
  return context;
}

/** Bytes of audio the page's live calls have received so far. */
export async function inboundAudioBytes(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const connections = (window as unknown as { gaplashConnections: RTCPeerConnection[] }).gaplashConnections;
    const live = connections.filter((pc) => pc.connectionState === "connected");
    let bytes = 0;
    for (const pc of live) {
      for (const report of (await pc.getStats()).values()) {
        if (report.type === "inbound-rtp" && report.kind === "audio") bytes += report.bytesReceived ?? 0;
      }
    }
    return bytes;
  });
}

/** Whether audio keeps arriving on the page's live call over `ms`. */
export async function hearing(page: Page, ms = 1500): Promise<boolean> {
  const before = await inboundAudioBytes(page);
  await page.waitForTimeout(ms);
  return (await inboundAudioBytes(page)) > before;
}

/** The Content-Security-Policy violations the page has seen. */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { gaplashCspViolations: string[] }).gaplashCspViolations);
}

/**
 * Chromium for one test file: launched before its tests, closed after them with every device
 * opened through it. `open(tokens)` is a device signed in as that learner (see `device`);
 * `onSession(tokens, sessionId, context?)` a page of it on the session screen.
 */
export function browserForFile(apiUrl: string) {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await launchWithMicrophone();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
  });
  const open = async (tokens?: SignedInTokens): Promise<BrowserContext> => {
    if (!browser) throw new Error("the browser is launched in beforeAll; open devices inside tests");
    const context = await device(browser, apiUrl, tokens);
    contexts.push(context);
    return context;
  };
  const onSession = async (tokens: SignedInTokens, sessionId: string, context?: BrowserContext): Promise<Page> => {
    const page = await (context ?? (await open(tokens))).newPage();
    await page.goto(`/app/#/session/${sessionId}`);
    return page;
  };
  return { open, onSession };
}
