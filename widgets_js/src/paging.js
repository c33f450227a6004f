// The grid's paging, as plain arithmetic (unit-tested): which rows a scroll position shows,
// which pages of rows to ask the kernel for, and which one to prefetch. Rows are ROW px tall;
// browsers cap element heights (~16M px), so past MAX_PX the scrollbar maps proportionally.

export const ROW = 24;
export const MAX_PX = 8e6;
export const OVERSCAN = 5; // rows drawn above and below the visible ones

/** {virtual (spacer height), shift (px to subtract from a row's top), first, last (rows to
 * draw, last exclusive)} for a scroller at `scrollTop`, `height` px tall, over `total` rows. */
export function geometry(scrollTop, height, total, row = ROW, maxPx = MAX_PX) {
  const full = total * row;
  const virtual = Math.min(full, maxPx);
  const scale = full > virtual ? (full - height) / Math.max(1, virtual - height) : 1;
  const shift = scrollTop * (scale - 1);
  const top = scrollTop + shift;
  const first = Math.max(0, Math.floor(top / row) - OVERSCAN);
  const last = Math.min(total, Math.ceil((top + height) / row) + OVERSCAN);
  return { virtual, shift, first, last };
}

/** Pages covering rows [first, last) of `size` rows each; plus the next page to prefetch
 * once all of those are loaded (`has(page)`), or null. */
export function pagesFor(first, last, size, total, has) {
  const want = [];
  if (last > first) {
    for (let p = Math.floor(first / size); p <= Math.floor((last - 1) / size); p++) want.push(p);
  }
  const next = want.length ? want[want.length - 1] + 1 : null;
  const prefetch = next !== null && next * size < total && want.every(has) && !has(next) ? next : null;
  return { want: want.filter((p) => !has(p)), prefetch };
}

/** The value of display row r, or null when its page is not loaded. */
export function rowValues(pages, r, size) {
  const page = pages.get(Math.floor(r / size));
  return page ? page[r % size] ?? null : null;
}
