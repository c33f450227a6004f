// The tree's keyboard model (WAI-ARIA tree view pattern) and the search results' listbox
// model, as functions of plain data (unit-tested): what a key does, not how it is drawn.
//
// A visible row is {path, level, name, expandable, open}; `at` is the focused row's index.
// An action is one of {focus}, {expand, focus}, {collapse, focus}, {select}, or null (the key
// is not the tree's: let it through).

const parentOf = (path) => path.slice(0, path.lastIndexOf("/")) || "/";

/** What a key does in the tree. */
export function treeKey(key, rows, at) {
  if (at < 0 || at >= rows.length) return rows.length && key in MOVES ? { focus: rows[0].path } : null;
  const row = rows[at];
  switch (key) {
    case "ArrowDown":
      return at + 1 < rows.length ? { focus: rows[at + 1].path } : { focus: row.path };
    case "ArrowUp":
      return at > 0 ? { focus: rows[at - 1].path } : { focus: row.path };
    case "Home":
      return { focus: rows[0].path };
    case "End":
      return { focus: rows[rows.length - 1].path };
    case "ArrowRight":
      if (row.expandable && !row.open) return { expand: row.path, focus: row.path };
      if (row.expandable && at + 1 < rows.length && rows[at + 1].level > row.level) {
        return { focus: rows[at + 1].path };
      }
      return { focus: row.path };
    case "ArrowLeft": {
      if (row.expandable && row.open) return { collapse: row.path, focus: row.path };
      const parent = parentOf(row.path);
      return parent !== "/" && rows.some((r) => r.path === parent) ? { focus: parent } : { focus: row.path };
    }
    case "Enter":
    case " ":
      return { select: row.path };
    case "*": { // expand every sibling, as the pattern suggests
      const siblings = rows.filter((r) => r.level === row.level && parentOf(r.path) === parentOf(row.path));
      return { expandAll: siblings.filter((r) => r.expandable && !r.open).map((r) => r.path), focus: row.path };
    }
    default:
      return null;
  }
}

const MOVES = { ArrowDown: 1, ArrowUp: 1, Home: 1, End: 1, ArrowRight: 1, ArrowLeft: 1, Enter: 1, " ": 1 };

/** Type-ahead: the index of the next row (after `at`, wrapping) whose name starts with
 * `text` (case-insensitive), or -1. */
export function typeAhead(rows, at, text) {
  const needle = text.toLowerCase();
  if (!needle || !rows.length) return -1;
  for (let k = 1; k <= rows.length; k++) {
    const i = (Math.max(at, -1) + k + rows.length) % rows.length;
    if (String(rows[i].name).toLowerCase().startsWith(needle)) return i;
  }
  return -1;
}

/** Type-ahead text: characters typed within `delay` ms of each other add up. */
export class TypeAhead {
  constructor(delay = 700, now = () => Date.now()) {
    this.delay = delay;
    this.now = now;
    this.text = "";
    this.last = -Infinity;
  }

  push(char) {
    const t = this.now();
    this.text = (t - this.last <= this.delay ? this.text : "") + char;
    this.last = t;
    // one repeated letter cycles through the names starting with it
    return /^(.)\1+$/.test(this.text) ? this.text[0] : this.text;
  }
}

/** What a key does in the search results (a listbox of `count` options, `active` focused,
 * -1 = the search input). Returns {active}, {choose}, {close}, or null. */
export function listKey(key, count, active) {
  switch (key) {
    case "ArrowDown":
      return count ? { active: Math.min(active + 1, count - 1) } : null;
    case "ArrowUp":
      return active <= 0 ? { active: -1 } : { active: active - 1 };
    case "Home":
      return active >= 0 && count ? { active: 0 } : null;
    case "End":
      return active >= 0 && count ? { active: count - 1 } : null;
    case "Enter":
      return active >= 0 ? { choose: active } : count ? { choose: 0 } : null;
    case "Escape":
      return { close: true };
    default:
      return null;
  }
}
