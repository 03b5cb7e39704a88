/**
 * JSON for task inputs and results that crosses process boundaries losslessly: numbers are written
 * in JavaScript's shortest round-trip form (so a result read back is bit-identical), and the values
 * plain JSON cannot hold — non-finite numbers, −0 and Float64Array/Int32Array — are tagged objects.
 */

const TAG = '$atomgp';

/** Tagged value: { "$atomgp": "f64", "v": [...] } or { "$atomgp": "num", "v": "Infinity" }. */
interface Tagged {
  [TAG]: 'f64' | 'i32' | 'num';
  v: unknown;
}

function encodeValue(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return { [TAG]: 'num', v: String(value) };
  // JSON writes −0 as 0; the sign of zero is part of a bit-identical result.
  if (Object.is(value, -0)) return { [TAG]: 'num', v: '-0' };
  // Non-finite elements of a typed array are tagged when the replacer visits the array's elements.
  if (value instanceof Float64Array) return { [TAG]: 'f64', v: Array.from(value) };
  if (value instanceof Int32Array) return { [TAG]: 'i32', v: Array.from(value) };
  return value;
}

function decodeValue(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || !(TAG in value)) return value;
  const t = value as Tagged;
  if (t[TAG] === 'num') return Number(t.v);
  if (t[TAG] === 'f64') return Float64Array.from(t.v as number[]);
  if (t[TAG] === 'i32') return Int32Array.from(t.v as number[]);
  return value;
}

/** JSON text of `value` (typed arrays and ±Infinity/NaN preserved), indented for people. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, encodeValue, 1) + '\n';
}

/** The value `encodeJson` wrote. */
export function decodeJson<T>(text: string): T {
  return JSON.parse(text, decodeValue) as T;
}
