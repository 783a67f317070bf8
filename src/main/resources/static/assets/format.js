/** Numbers, sizes, rates, durations and times as the page shows them; a dash for what is not known. */

export const NONE = '–';

const missing = (v) => v === null || v === undefined;

/** 1536 → "1.50 KiB": binary units, three significant digits or so. */
export function bytes(n) {
  if (missing(n)) return NONE;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[i];
}

export const rate = (n) => (missing(n) ? NONE : bytes(n) + '/s');

/** Seconds: "4.2 s", "12 s", "3 min 5 s", "2 h 10 min". */
export function duration(s) {
  if (missing(s)) return NONE;
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.round(s % 60) + ' s';
  return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}

/** An ISO-8601 instant in the reader's own locale and time zone. */
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : NONE);

export const percent = (p) => p.toFixed(1) + ' %';

export const fixed = (v, digits) => (missing(v) ? NONE : v.toFixed(digits));
