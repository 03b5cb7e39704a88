/**
 * Seedable pseudo-random numbers: xoshiro256** (Blackman & Vigna) seeded through splitmix64, in
 * 32-bit halves so it runs on plain numbers without BigInt. The state can be saved and restored
 * (`getState`/`setState`) so a run (training restarts, MD velocities) can be reproduced or resumed.
 */

export type RngState = [number, number, number, number, number, number, number, number];

export class Rng {
  // Four 64-bit words as (hi, lo) pairs of uint32.
  private s = new Uint32Array(8);
  private spare = Number.NaN;

  constructor(seed: number) {
    this.seed(seed);
  }

  /** Re-seeds from an integer (any finite number; fractional parts are used too). */
  seed(seed: number): void {
    // splitmix64 on (hi, lo) with BigInt only here, once per seeding.
    let x = BigInt.asUintN(64, BigInt(Math.floor(seed)) ^ (BigInt(Math.round((seed % 1) * 2 ** 32)) << 32n));
    for (let i = 0; i < 4; i++) {
      x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
      let z = x;
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
      z = z ^ (z >> 31n);
      this.s[2 * i] = Number(z >> 32n);
      this.s[2 * i + 1] = Number(z & 0xffffffffn);
    }
    this.spare = Number.NaN;
  }

  getState(): RngState {
    return [...this.s, this.spare] as unknown as RngState;
  }

  /** Copies the four words into `words` (length 8) and returns the cached normal (no allocation). */
  saveTo(words: Uint32Array): number {
    words.set(this.s);
    return this.spare;
  }

  /** The inverse of `saveTo`. */
  loadFrom(words: Uint32Array, spare: number): void {
    this.s.set(words);
    this.spare = spare;
  }

  setState(state: readonly number[]): void {
    for (let i = 0; i < 8; i++) this.s[i] = state[i]! >>> 0;
    this.spare = state.length > 8 ? state[8]! : Number.NaN;
  }

  /** Next 64-bit output as (hi, lo); returns hi and leaves lo in `lastLo`. */
  private lastLo = 0;
  private next(): number {
    const s = this.s;
    // result = rotl(s1 * 5, 7) * 9
    const [m5h, m5l] = mul64(s[2]!, s[3]!, 0, 5);
    const [rh, rl] = rotl64(m5h, m5l, 7);
    const [outH, outL] = mul64(rh, rl, 0, 9);
    // t = s1 << 17
    const th = ((s[2]! << 17) | (s[3]! >>> 15)) >>> 0;
    const tl = (s[3]! << 17) >>> 0;
    // s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45)
    s[4] = s[4]! ^ s[0]!;
    s[5] = s[5]! ^ s[1]!;
    s[6] = s[6]! ^ s[2]!;
    s[7] = s[7]! ^ s[3]!;
    s[2] = s[2]! ^ s[4]!;
    s[3] = s[3]! ^ s[5]!;
    s[0] = s[0]! ^ s[6]!;
    s[1] = s[1]! ^ s[7]!;
    s[4] = s[4]! ^ th;
    s[5] = s[5]! ^ tl;
    const [r3h, r3l] = rotl64(s[6]!, s[7]!, 45);
    s[6] = r3h;
    s[7] = r3l;
    this.lastLo = outL;
    return outH;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    // The top 53 bits of the 64-bit output (out >> 11), as the reference implementation does.
    const hi = this.next();
    return (hi * 2097152 + (this.lastLo >>> 11)) / 9007199254740992;
  }

  /** Uniform in [a, b). */
  uniformIn(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box-Muller, polar form; the second value is kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = Number.NaN;
      return v;
    }
    let u: number;
    let v: number;
    let r2: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      r2 = u * u + v * v;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.spare = v * f;
    return u * f;
  }

  /** A random permutation of 0..n−1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

/** 64-bit product (mod 2⁶⁴) of (ah, al) and (bh, bl), uint32 halves. */
function mul64(ah: number, al: number, bh: number, bl: number): [number, number] {
  // Split the low words into 16-bit halves to keep every partial product exact in a double.
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const lo = ((mid & 0xffff) << 16) | (p00 & 0xffff);
  const carry = Math.floor(mid / 65536) + (p01 >>> 16) + (p10 >>> 16) + a1 * b1;
  const hi = (Math.imul(ah, bl) + Math.imul(al, bh) + carry) >>> 0;
  return [hi, lo >>> 0];
}

function rotl64(h: number, l: number, k: number): [number, number] {
  if (k >= 32) {
    const t = h;
    h = l;
    l = t;
    k -= 32;
  }
  if (k === 0) return [h >>> 0, l >>> 0];
  return [((h << k) | (l >>> (32 - k))) >>> 0, ((l << k) | (h >>> (32 - k))) >>> 0];
}
