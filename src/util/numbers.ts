/**
 * Numbers as FFLUX tools write them. FEREBUS (Fortran) writes `.4189E-01`, `-.5D+00`, `1.0d-3`
 * and, for three-digit exponents, drops the letter (`.1234-100`); Python and GPyTorch write
 * ordinary JS-compatible numbers. Parsing is strict: a token is a number or an error, never
 * NaN, ±Infinity, hex, or an empty string silently read as 0 (which `Number()` would allow).
 */

// sign, mantissa (digits with optional point, or point with digits), optional exponent
// (letter e/E/d/D with optional sign, or a bare sign followed by 3+ digits).
const FLOAT_RE = /^([+-]?)(\d+\.?\d*|\.\d+)(?:([eEdD])([+-]?\d+)|([+-]\d{3,}))?$/;
const INT_RE = /^[+-]?\d+$/;

/**
 * The number a token spells, or `undefined` if it is not a finite real in decimal notation.
 * Conversion goes through `Number()` on a normalised decimal string, which rounds correctly,
 * so a value written with `formatNumber` reads back bit-identical.
 */
export function parseReal(token: string): number | undefined {
  const m = FLOAT_RE.exec(token);
  if (!m) return undefined;
  let text = m[1]! + m[2]!;
  if (m[4] !== undefined) text += 'e' + m[4];
  else if (m[5] !== undefined) text += 'e' + m[5];
  const x = Number(text);
  return Number.isFinite(x) ? x : undefined;
}

/** A safe integer token (`12`, `-3`), or `undefined`. */
export function parseInteger(token: string): number | undefined {
  if (!INT_RE.test(token)) return undefined;
  const x = Number(token);
  return Number.isSafeInteger(x) ? x : undefined;
}

/**
 * Shortest text that reads back as exactly `x` (JS `String`, which is round-trip exact), keeping
 * the sign of −0. Readable by Python's `float` and Fortran list-directed input.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot write non-finite number ${x}`);
  return Object.is(x, -0) ? '-0' : String(x);
}
