// Which requests the plot sends, and which replies it draws (unit-tested).
//
// Why a module: the plot has two kinds of request - `open` (a series' overview and its
// description: unit, channels, labels) and `window` (a zoom, a pan, a channel change) - and a
// series can change while either is in flight. Rules:
//   - each kind has its own slot in the channel (`slot` of a request), so a window never
//     supersedes an open;
//   - a new series starts a new session: pending windows are forgotten, and every reply is
//     drawn only if it names the current series (and is the newest of its kind: Channel);
//   - windows wait for the series' open reply (its description is what they are drawn with);
//     the last one asked for meanwhile is sent when it arrives.

export class PlotRequests {
  constructor() {
    this.series = "";
    this.meta = null; // the open reply of the current series
    this.deferred = null; // a window asked for before the open reply came
  }

  /** A (new) series: the open request's parameters, or null when there is nothing to plot. */
  open(series) {
    this.series = series || "";
    this.meta = null;
    this.deferred = null;
    return this.series ? { type: "open", slot: "open", series_path: this.series } : null;
  }

  /** Whether a reply belongs to what is plotted now. */
  current(msg) {
    return !!msg && msg.series_path === this.series && !!this.series;
  }

  /** The open reply arrived: keep it; returns the deferred window to send, if any. */
  opened(msg) {
    if (!this.current(msg)) return null;
    this.meta = msg;
    const deferred = this.deferred;
    this.deferred = null;
    return deferred;
  }

  /** A window for [x0, x1] (nulls: everything): its parameters now, or null (deferred until
   * the series is open, or nothing to plot). */
  window(x0, x1) {
    if (!this.series) return null;
    const request = { type: "window", slot: "window", series_path: this.series, x0: x0 ?? null, x1: x1 ?? null };
    if (!this.meta) {
      this.deferred = request;
      return null;
    }
    return request;
  }
}

/** An x-range from a plotly relayout event: [x0, x1], [] for autorange, or null when the
 * event is not about the x axis. */
export function relayoutRange(event) {
  if (!event) return null;
  if ("xaxis.range[0]" in event) return [Number(event["xaxis.range[0]"]), Number(event["xaxis.range[1]"])];
  if (Array.isArray(event["xaxis.range"])) return event["xaxis.range"].map(Number);
  if (event["xaxis.autorange"]) return [];
  return null;
}
