// What the plot draws: stacked offsets that keep channels apart whatever their spikes, traces
// that keep NaN gaps as gaps, and a status line that says what was read.
import { describe, expect, it } from "vitest";
import { buildTraces, LABEL_PX, plain, stackOffsets, statusText, yAxis } from "../src/plot_traces.js";

describe("stackOffsets", () => {
  it("stacks channels one spread apart, top to bottom, centred on their medians", () => {
    const a = Float64Array.from({ length: 101 }, (_, i) => 10 + (i % 11) - 5); // spread 10 around 10
    const b = Float64Array.from({ length: 101 }, (_, i) => -3 + (i % 11) - 5);
    const { spacing, offsets } = stackOffsets([a, b]);
    expect(spacing).toBeCloseTo(12); // 1.2 x the median spread
    expect(offsets[0]).toBeCloseTo(-10);
    expect(offsets[1]).toBeCloseTo(-12 + 3);
  });

  it("ignores NaN gaps and is not widened by a rare spike", () => {
    const y = Float64Array.from({ length: 1000 }, (_, i) => (i === 500 ? 1e6 : i % 2 ? 1 : -1));
    y[3] = NaN;
    expect(stackOffsets([y, y]).spacing).toBeCloseTo(2.4);
  });

  it("copes with flat or empty channels", () => {
    const { spacing, offsets } = stackOffsets([new Float64Array([5, 5]), new Float64Array([NaN])]);
    expect(spacing).toBeGreaterThan(0);
    expect(offsets.every(Number.isFinite)).toBe(true);
  });
});

describe("buildTraces", () => {
  const msg = { traces: [{ channel: 0, label: "e0 <b>CA1</b>" }, { channel: 3, label: "e3 DG" }] };
  const x = new Float64Array([0, 0, 1, 1]);
  const ys = [new Float64Array([1, 2, NaN, NaN]), new Float64Array([3, 4, 5, 6])];

  it("offsets stacked traces, keeps gaps, escapes names", () => {
    const [t0, t1] = buildTraces(msg, x, ys, { stacked: true, offsets: [0, -10] });
    expect(Array.from(t1.y)).toEqual([-7, -6, -5, -4]);
    expect(Number.isNaN(t0.y[2])).toBe(true);
    expect(t0.connectgaps).toBe(false);
    expect(t0.name).toBe("e0 &lt;b&gt;CA1&lt;/b&gt;");
    expect(Array.from(t1.customdata)).toEqual([3, 4, 5, 6]); // hover shows the true value
  });

  it("overlays traces as they are", () => {
    const [, t1] = buildTraces(msg, x, ys, { stacked: false, offsets: [0, -10] });
    expect(t1.y).toBe(ys[1]);
  });

  it("labels the stacked axis with the channels, else with the unit", () => {
    const stacked = yAxis(msg, { unit: "volts" }, true, [0, -10], 10);
    expect(stacked.tickvals).toEqual([-0, -10]);
    expect(stacked.ticktext).toEqual(["e0 &lt;b&gt;CA1&lt;/b&gt;", "e3 DG"]);
    expect(yAxis(msg, { unit: "cm/s" }, false).title.text).toBe("value (cm/s)");
    const many = { traces: Array.from({ length: 16 }, (_, k) => ({ label: `roi ${k}` })) };
    const offsets = many.traces.map((_, k) => -k);
    expect(yAxis(many, {}, true, offsets, 1, 16 * LABEL_PX).ticktext).toHaveLength(16); // room for each
    const thinned = yAxis(many, {}, true, offsets, 1, 138); // 8.6 px a channel: every second
    expect(thinned.ticktext).toEqual(["roi 0", "roi 2", "roi 4", "roi 6", "roi 8", "roi 10", "roi 12", "roi 14"]);
    expect(thinned.tickvals).toEqual([-0, -2, -4, -6, -8, -10, -12, -14]);
    expect(plain("a & b")).toBe("a &amp; b");
  });
});

describe("statusText", () => {
  it("says what was read", () => {
    expect(statusText({ mode: "samples", rows: 7200 })).toBe("all 7,200 samples in view");
    expect(statusText({ mode: "envelope", rows: 1800000 })).toBe(
      "envelope of all 1,800,000 samples in view (min/max per pixel column)");
    const sampled = statusText({ mode: "sampled", rows: 1800000, rows_read: 522000, budget: 32 * 1024 * 1024, remote: true });
    expect(sampled).toContain("29% of 1,800,000 samples read");
    expect(sampled).toContain("32 MiB remote read budget");
    expect(sampled).toContain("gaps were not read");
    expect(statusText({ mode: "sampled", rows: 1e9, rows_read: 1e6, budget: 1 << 29, remote: false })).toContain("0.10%");
    expect(statusText({ mode: "empty" })).toBe("no samples in view");
  });
});
