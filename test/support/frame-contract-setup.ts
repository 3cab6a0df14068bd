import { afterEach, expect } from "vitest";
import { takeUndocumentedFrames } from "./frame-contract";

// Every frame a test sent or received over a socket is one `/asyncapi.json` describes.
afterEach(() => {
  expect(takeUndocumentedFrames(), "frames /asyncapi.json does not describe").toEqual([]);
});
