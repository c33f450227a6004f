// Playing a movie: which frames are kept, which batches to ask for next, and when the next
// frame is due. Pure logic (unit-tested); frames.js does the drawing and the requests.
//
// Playing never skips a frame: frame k+1 is drawn after frame k, 1/fps later, as soon as it is
// here. When it is late (not fetched yet) the player waits for it and counts a stall; the
// prefetch keeps `ahead` frames (about a second) requested past the one shown, in batches, so
// a stall only happens when the reads are slower than the rate.

/** Frames kept in memory, keyed by plane and index, the farthest from the shown one dropped. */
export class FrameCache {
  constructor(maxFrames = 128) {
    this.max = maxFrames;
    this.frames = new Map();
  }

  static key(index, plane) {
    return `${plane}:${index}`;
  }

  get(index, plane) {
    return this.frames.get(FrameCache.key(index, plane));
  }

  has(index, plane) {
    return this.frames.has(FrameCache.key(index, plane));
  }

  set(index, plane, frame) {
    this.frames.set(FrameCache.key(index, plane), { index, plane, frame });
  }

  clear() {
    this.frames.clear();
  }

  /** Keep at most `max` frames: other planes first, then those behind `index`, then the
   * farthest ahead. */
  trim(index, plane) {
    if (this.frames.size <= this.max) return;
    const rank = (e) => (e.plane !== plane ? 3e9 : e.index < index ? 2e9 + (index - e.index) : e.index - index);
    const order = [...this.frames.entries()].sort((a, b) => rank(b[1]) - rank(a[1]));
    for (const [key] of order.slice(0, this.frames.size - this.max)) this.frames.delete(key);
  }
}

/** Starts of the batches to request so that frames index+1 .. index+ahead are cached or
 * on their way. `pending` holds the [start, stop) of batches asked for and not yet here. */
export function planPrefetch({ index, ahead, batch, n, cached, pending = [], maxInFlight = 2 }) {
  const starts = [];
  const last = Math.min(n - 1, index + ahead);
  const inFlight = (k) => pending.some(([a, b]) => k >= a && k < b);
  let k = index + 1;
  while (k <= last && pending.length + starts.length < maxInFlight) {
    if (cached(k) || inFlight(k)) {
      k++;
      continue;
    }
    starts.push(k);
    k += batch;
  }
  return starts;
}

/** When frames are due while playing at `fps`: `tick(now, ready)` says whether to draw the
 * next frame now (it is due and `ready`), keeping count of frames drawn and stalls. */
export class Pacer {
  constructor(fps, now) {
    this.period = 1000 / Math.max(0.1, fps);
    this.next = now + this.period;
    this.drawn = 0;
    this.stalls = 0;
    this.waiting = false;
  }

  tick(now, ready) {
    if (now < this.next) return false;
    if (!ready) {
      if (!this.waiting) this.stalls++;
      this.waiting = true;
      return false;
    }
    this.waiting = false;
    this.drawn++;
    // after a stall (or a slow tick) start the next period now rather than catching up in a burst
    this.next = now - this.next > this.period ? now + this.period : this.next + this.period;
    return true;
  }
}
