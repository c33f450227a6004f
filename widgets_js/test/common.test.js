// The shared front-end helpers: the request channel's generation rule, buffers, formatting.
import { describe, expect, it } from "vitest";
import { asBytes, Channel, count, float64, formatValue, int32 } from "../src/common.js";
import { fakeModel } from "./fake_model.js";

describe("Channel", () => {
  it("sends a request after the traitlet update made in the same task", async () => {
    const model = fakeModel();
    model.save_changes = () => model.sent.push("update");
    const channel = new Channel(model);
    const asked = channel.request("window", {}); // from a change event, before the save
    model.save_changes();
    await Promise.resolve();
    expect(model.sent).toEqual(["update", { type: "window", gen: 1, view: channel.view }]);
    model.reply({ type: "window", gen: 1 });
    await asked;
  });

  it("numbers requests and resolves the matching reply", async () => {
    const model = fakeModel();
    const channel = new Channel(model);
    const pending = channel.request("page", { offset: 0 });
    expect(model.sent).toEqual([]); // sent after the task's own traitlet updates
    await Promise.resolve();
    expect(model.sent).toEqual([{ type: "page", gen: 1, view: channel.view, offset: 0 }]);
    model.reply({ type: "page", gen: 1, rows: 3 }, [new ArrayBuffer(8)]);
    const { msg, buffers } = await pending;
    expect(msg.rows).toBe(3);
    expect(buffers[0]).toBeInstanceOf(Uint8Array);
  });

  it("takes only the replies to its own view of a model shown twice", async () => {
    const model = fakeModel();
    const [first, second] = [new Channel(model), new Channel(model)];
    expect(first.view).not.toBe(second.view);
    const info = first.request("info");
    const page = second.request("page", { offset: 0 });
    model.reply({ type: "page", gen: 1, view: second.view, rows: 3 }, [new ArrayBuffer(8)]);
    model.reply({ type: "info", gen: 1, view: first.view, total: 9 });
    expect((await info).msg.total).toBe(9);
    expect((await page).msg.rows).toBe(3);
  });

  it("drops a reply older than the latest request of its slot", async () => {
    const model = fakeModel();
    const channel = new Channel(model);
    let stale = false;
    channel.request("window", { x0: 0 }).then(() => {
      stale = true;
    });
    const latest = channel.request("window", { x0: 5 });
    model.reply({ type: "window", gen: 1 }); // the first request's late answer
    model.reply({ type: "window", gen: 2, ok: true });
    expect((await latest).msg.ok).toBe(true);
    await Promise.resolve();
    expect(stale).toBe(false);
  });

  it("keeps slots apart, routes errors, forgets cancelled requests", async () => {
    const model = fakeModel();
    const errors = [];
    const channel = new Channel(model, (msg) => errors.push(msg));
    const open = channel.request("open", {}, "open");
    channel.request("window", {}, "window");
    channel.request("page", {}, "grid:page");
    model.reply({ type: "error", gen: 2, message: "bad window" });
    channel.cancel("grid:");
    model.reply({ type: "page", gen: 3 }); // cancelled: ignored
    model.reply({ type: "open", gen: 1, ok: 1 });
    expect((await open).msg.ok).toBe(1);
    expect(errors.map((e) => e.message)).toEqual(["bad window"]);
    expect(channel.pending.size).toBe(0);
  });
});

describe("buffers", () => {
  it("reads little-endian float64 at any byte offset", () => {
    const values = new Float64Array([1.5, -2, 1e300]);
    const raw = new Uint8Array(values.byteLength + 3);
    raw.set(new Uint8Array(values.buffer), 3); // not 8-byte aligned
    expect(Array.from(float64(raw.subarray(3)))).toEqual([1.5, -2, 1e300]);
    expect(Array.from(float64(asBytes(values.buffer)))).toEqual([1.5, -2, 1e300]);
  });

  it("views DataView and typed arrays without copying", () => {
    const buffer = new ArrayBuffer(16);
    const view = new DataView(buffer, 4, 8);
    const bytes = asBytes(view);
    expect(bytes.byteOffset).toBe(4);
    expect(bytes.byteLength).toBe(8);
    expect(asBytes("not a buffer").byteLength).toBe(0);
  });

  it("reads int32 at any byte offset", () => {
    const values = new Int32Array([7, -1, 2 ** 31 - 1]);
    const raw = new Uint8Array(values.byteLength + 1);
    raw.set(new Uint8Array(values.buffer), 1); // not 4-byte aligned
    expect(Array.from(int32(raw.subarray(1)))).toEqual([7, -1, 2 ** 31 - 1]);
  });
});

describe("formatValue", () => {
  it("shows numbers compactly and exactly where it matters", () => {
    expect(formatValue(null)).toBe("");
    expect(formatValue(12345678901234567890n)).toBe("12345678901234567890");
    expect(formatValue(3)).toBe("3");
    expect(formatValue(0.000012345)).toBe("1.2345e-5");
    expect(formatValue(1498.9234567)).toBe("1498.923");
    expect(formatValue(Number.NaN)).toBe("NaN");
    expect(formatValue(true)).toBe("true");
  });

  it("writes counts with thousands separators", () => {
    expect(count(1234567)).toBe("1,234,567");
    expect(count(0)).toBe("0");
  });
});
