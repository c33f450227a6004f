// A stand-in for the anywidget model: records what the views send and replays kernel
// messages to every view of it. Like the kernel, a reply names the view that sent the
// request of its `gen` (unless the test names one).

export function fakeModel() {
  const handlers = new Set();
  return {
    sent: [],
    on(event, fn) {
      if (event === "msg:custom") handlers.add(fn);
    },
    off(event, fn) {
      handlers.delete(fn);
    },
    send(msg) {
      this.sent.push(msg);
    },
    reply(msg, buffers = []) {
      // delivered after the requests already made were sent (a channel sends in a
      // microtask; a kernel cannot answer a request before it is sent)
      queueMicrotask(() => {
        const asked = this.sent.findLast((m) => m.gen === msg.gen);
        const answer = "view" in msg ? msg : { ...msg, view: asked?.view };
        for (const fn of handlers) fn(answer, buffers);
      });
    },
  };
}
