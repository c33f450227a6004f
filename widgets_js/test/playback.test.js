import { describe, expect, it } from "vitest";
import { FrameCache, Pacer, planPrefetch } from "../src/playback.js";

describe("prefetch", () => {
  it("asks for batches past the frame shown, skipping what is cached or on its way", () => {
    const cached = (k) => k === 1 || k === 2;
    expect(planPrefetch({ index: 0, ahead: 30, batch: 8, n: 100, cached })).toEqual([3, 11]);
    expect(planPrefetch({ index: 0, ahead: 30, batch: 8, n: 100, cached, pending: [[3, 11]] })).toEqual([11]);
    expect(planPrefetch({ index: 95, ahead: 30, batch: 8, n: 100, cached: () => false })).toEqual([96]);
    expect(planPrefetch({ index: 99, ahead: 30, batch: 8, n: 100, cached: () => false })).toEqual([]);
  });
});

describe("cache", () => {
  it("drops other planes, then frames behind, then the farthest ahead", () => {
    const cache = new FrameCache(3);
    for (const k of [1, 2, 3, 4]) cache.set(k, 0, k);
    cache.set(9, 1, 9);
    cache.trim(2, 0);
    expect([...cache.frames.values()].map((e) => e.index).sort()).toEqual([2, 3, 4]);
    cache.set(5, 0, 5);
    cache.trim(2, 0);
    expect(cache.has(5, 0)).toBe(false);
  });
});

describe("pacing", () => {
  it("draws every frame in turn at the rate, waiting (not skipping) when one is late", () => {
    const pacer = new Pacer(10, 0); // 100 ms per frame
    expect(pacer.tick(50, true)).toBe(false);
    expect(pacer.tick(100, true)).toBe(true);
    expect(pacer.tick(150, true)).toBe(false);
    expect(pacer.tick(200, false)).toBe(false); // late: waits
    expect(pacer.tick(230, false)).toBe(false);
    expect(pacer.stalls).toBe(1);
    expect(pacer.tick(260, true)).toBe(true);
    expect(pacer.tick(300, true)).toBe(true);
    expect(pacer.drawn).toBe(3);
    // 30 fps over 5 s of ticks at 60 Hz: 150 frames
    const p = new Pacer(30, 0);
    let drawn = 0;
    for (let t = 1000 / 60; t <= 5000 + 1e-6; t += 1000 / 60) if (p.tick(t, true)) drawn++;
    expect(drawn).toBeGreaterThanOrEqual(149);
    expect(drawn).toBeLessThanOrEqual(150);
  });
});
