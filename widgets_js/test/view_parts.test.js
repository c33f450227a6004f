// listen(): the model's listeners a view adds, removed by the one function it returns.
import { describe, expect, it } from "vitest";
import { listen } from "../src/view_parts.js";

function eventModel() {
  const handlers = new Map(); // event -> Set of handlers
  return {
    on: (event, fn) => handlers.set(event, (handlers.get(event) || new Set()).add(fn)),
    off: (event, fn) => handlers.get(event)?.delete(fn),
    fire: (event) => [...(handlers.get(event) || [])].forEach((fn) => fn()),
  };
}

describe("listen", () => {
  it("subscribes each handler to its event and unsubscribes them all", () => {
    const model = eventModel();
    const calls = [];
    const unlisten = listen(model, { "change:a": () => calls.push("a"), "change:b": () => calls.push("b") });
    model.fire("change:a");
    model.fire("change:b");
    model.fire("change:c");
    expect(calls).toEqual(["a", "b"]);
    unlisten();
    model.fire("change:a");
    model.fire("change:b");
    expect(calls).toEqual(["a", "b"]);
  });
});
