// The plot's requests: open and window replies are matched to their kind, their generation
// and the series they were asked for; windows wait for the series to be open.
import { describe, expect, it } from "vitest";
import { Channel } from "../src/common.js";
import { fakeModel } from "./fake_model.js";
import { PlotRequests, relayoutRange } from "../src/plot_requests.js";

describe("PlotRequests", () => {
  it("defers a window until the series is open, then sends the last one asked for", () => {
    const r = new PlotRequests();
    expect(r.open("/a")).toMatchObject({ type: "open", series_path: "/a" });
    expect(r.window(1, 2)).toBe(null);
    expect(r.window(3, 4)).toBe(null);
    expect(r.opened({ series_path: "/a" })).toMatchObject({ type: "window", series_path: "/a", x0: 3, x1: 4 });
    expect(r.window(5, 6)).toMatchObject({ type: "window", series_path: "/a", x0: 5, x1: 6 });
    expect(r.window()).toMatchObject({ type: "window", series_path: "/a", x0: null, x1: null });
  });

  it("drops replies of a series no longer shown, and their deferred windows", () => {
    const r = new PlotRequests();
    r.open("/ephys");
    r.window(1, 2);
    r.open("/speed");
    expect(r.current({ series_path: "/ephys" })).toBe(false);
    expect(r.opened({ series_path: "/ephys", unit: "volts" })).toBe(null);
    expect(r.meta).toBe(null); // the old series' description is not kept
    expect(r.opened({ series_path: "/speed", unit: "cm/s" })).toBe(null); // nothing deferred
    expect(r.meta.unit).toBe("cm/s");
  });

  it("asks for nothing without a series", () => {
    const r = new PlotRequests();
    expect(r.open("")).toBe(null);
    expect(r.window(0, 1)).toBe(null);
    expect(r.current({ series_path: "" })).toBe(false);
  });

  it("keeps open and window replies apart in the channel (the bug: they shared a slot)", async () => {
    const model = fakeModel();
    const channel = new Channel(model);
    const r = new PlotRequests();
    r.open("/ephys");
    r.opened({ series_path: "/ephys" });
    const stale = r.window(0, 1); // a zoom on the series shown before...
    const request = r.open("/speed"); // ...then another series
    const open = channel.request("open", { series_path: "/speed" }, request.slot);
    const late = channel.request("window", { series_path: stale.series_path }, stale.slot); // sent late
    expect(stale.slot).not.toBe(request.slot);
    model.reply({ type: "window", gen: 2, series_path: "/ephys" });
    model.reply({ type: "open", gen: 1, series_path: "/speed", unit: "cm/s" });
    const { msg } = await open; // the open reply is not superseded by the window
    expect(r.opened(msg)).toBe(null);
    expect(r.meta.unit).toBe("cm/s");
    expect(r.current((await late).msg)).toBe(false); // and the window is not drawn
  });
});

describe("relayoutRange", () => {
  it("reads plotly's x-range events", () => {
    expect(relayoutRange({ "xaxis.range[0]": "1", "xaxis.range[1]": 2 })).toEqual([1, 2]);
    expect(relayoutRange({ "xaxis.range": [3, 4] })).toEqual([3, 4]);
    expect(relayoutRange({ "xaxis.autorange": true })).toEqual([]);
    expect(relayoutRange({ "yaxis.range[0]": 1 })).toBe(null);
    expect(relayoutRange(null)).toBe(null);
  });
});
