/**
 * Two (or more) threads for one model-set call: the SIMD kernel calls of a molecule's atomic GPs
 * are shared between this thread and the linear-algebra team's worker (math/linalg-team.ts), on
 * one shared wasm memory holding every model's kernel data (laid out once, at construction).
 *
 * Per call the host side stays on this thread: `AtomGp.beginKernelCall` writes each query into the
 * shared memory, the team runs the kernel calls (each model's training set in two halves with
 * their own accumulators, handed out dynamically, so one large model also uses both threads), and
 * `AtomGp.finishKernelCall` turns each result into the energy and gradient. Every kernel call is
 * the same function of the same inputs whichever thread runs it, and the host sums in atom order,
 * so results are bit-identical to one thread. Nothing is allocated per call.
 *
 * Used by potentials/gp.ts for a single molecule (an MD run or an optimisation) on the main
 * thread; inside worker threads (ensemble replicas, the trainer's jobs) `defaultThreads()` is 1,
 * so the replicas keep the cores.
 */
import { registerJob, type LinalgTeam } from '../../math/linalg-team.js';
import { allocateMatrices, kernelFor } from '../../math/linalg-wasm.js';
import { type KernelPredict, kernelOnSharedMemory } from '../../math/wasm/predict-kernel.js';
import type { AtomGp, WasmPlan } from './predictor.js';

/** Team job number of the kernel calls (numbers below 16 belong to math/, 16-19 to the trainer). */
export const JOB_PREDICT = 24;

// Descriptor of one kernel call (a model's half of its training set), in doubles: the kernel's
// arguments, then per-call state. Two per model.
const STRIDE = 16;
const D_S0 = 9;
const D_GRAD = 10;
const D_ACTIVE = 11;
const D_RESULT = 12;

interface Bound {
  predict: KernelPredict;
  kind: 'native' | 'wasm';
  table: Float64Array;
}
/** Per thread: the kernel bound to each shared memory, and the descriptor table's view. */
const bound = new WeakMap<ArrayBufferLike, Bound>();

function bind(buffer: ArrayBufferLike, tableByteOffset: number, nModels: number, kind: 'native' | 'wasm'): Bound {
  let b = bound.get(buffer);
  if (!b || b.table.byteOffset !== tableByteOffset || b.table.length !== nModels * STRIDE || b.kind !== kind) {
    const memory = kernelFor(new Float64Array(buffer, 0, 0))?.memory;
    // The kernel the team's owner chose (its settings may have been set in code, which a worker
    // does not see): every thread must run the same one for bit-identical results.
    const predict = memory ? kernelOnSharedMemory(memory, kind)?.predict : null;
    if (!predict) throw new Error(`predict team: no ${kind} kernel for the shared memory`);
    b = { predict, kind, table: new Float64Array(buffer, tableByteOffset, nModels * STRIDE) };
    bound.set(buffer, b);
  }
  return b;
}

registerJob(
  JOB_PREDICT,
  (crew, params, buffer) => {
    const n = params[1]!;
    const { predict, table: t } = bind(buffer, params[0]!, n, params[2] === 1 ? 'native' : 'wasm');
    for (let i = crew.next(); i < n; i = crew.next()) {
      const o = i * STRIDE;
      if (t[o + D_ACTIVE] === 0) continue;
      t[o + D_RESULT] = predict(t[o]!, t[o + 1]!, t[o + 2]!, t[o + 3]!, t[o + 4]!, t[o + 5]!, t[o + 6]!, t[o + 7]!, t[o + 8]!, t[o + D_S0]!, t[o + D_GRAD]!);
    }
  },
  import.meta.url,
);

/** Kernel doubles per model, rounded up to whole 64-byte lines. */
const lineUp = (d: number) => 8 * Math.ceil(d / 8);

/**
 * The kernel data of a molecule's models in one shared memory, and the team that runs their calls.
 * `create` returns null when shared wasm memories are unavailable.
 */
export class PredictTeam {
  private readonly table: Float64Array;
  private readonly plans: (WasmPlan | null)[];
  private readonly buffer: ArrayBufferLike;
  /** The kernel every thread of the team runs (chosen once, on this thread). */
  readonly kind: 'native' | 'wasm';
  /** Kernel calls per molecule: two halves per model. */
  private readonly units: number;

  private constructor(
    private readonly team: LinalgTeam,
    views: Float64Array[],
    models: readonly AtomGp[],
  ) {
    const n = models.length;
    this.table = views[n]!;
    this.units = 2 * n;
    this.buffer = this.table.buffer;
    const memory = kernelFor(this.table)!.memory;
    const kernel = kernelOnSharedMemory(memory);
    if (!kernel) throw new Error('predict team: no SIMD kernel for the shared memory');
    this.kind = kernel.kind;
    this.plans = models.map((gp, i) => {
      if (gp.kernelDoubles === 0) return null;
      const p = gp.moveKernelData({ mem: views[i]!, ...kernel });
      this.table.set([p.pY0, p.nBlocks0, p.endYBytes, p.endWBytes, p.pNorm0, p.pW0, p.pV, p.pC, p.pAcc0], 2 * i * STRIDE);
      this.table.set([p.pY1, p.nBlocks1, p.endYBytes, p.endWBytes, p.pNorm1, p.pW1, p.pV, p.pC, p.pAcc1], (2 * i + 1) * STRIDE);
      return p;
    });
  }

  /** A team over the given models, or null without shared wasm memories. */
  static create(team: LinalgTeam, models: readonly AtomGp[]): PredictTeam | null {
    const lengths = models.map((gp) => lineUp(gp.kernelDoubles));
    lengths.push(2 * models.length * STRIDE);
    const views = allocateMatrices(lengths, { shared: true });
    if (!kernelFor(views[0]!)?.shared) return null;
    return new PredictTeam(team, views, models);
  }

  /**
   * Starts model i's call at x (features): true when the team will run it (then read it with
   * `finish` after `run`), false when it must be predicted directly (no kernel plan, or the query
   * needs the general plan or the TypeScript pass).
   */
  begin(i: number, gp: AtomGp, x: Float64Array, withGrad: boolean): boolean {
    const o = 2 * i * STRIDE;
    const t = this.table;
    const p = this.plans[i] ? gp.beginKernelCall(x, withGrad) : null;
    if (!p) {
      t[o + D_ACTIVE] = t[o + STRIDE + D_ACTIVE] = 0;
      return false;
    }
    t[o + D_S0] = t[o + STRIDE + D_S0] = p.s0;
    t[o + D_GRAD] = t[o + STRIDE + D_GRAD] = withGrad ? 1 : 0;
    t[o + D_ACTIVE] = t[o + STRIDE + D_ACTIVE] = 1;
    return true;
  }

  /** Runs every started call (this thread and the team's workers). */
  run(): void {
    const params = this.team.params;
    params[0] = this.table.byteOffset;
    params[1] = this.units;
    params[2] = this.kind === 'native' ? 1 : 0;
    this.team.run(JOB_PREDICT, this.buffer);
  }

  /** Model i's energy (and gradient into `grad`) after `run`. */
  finish(i: number, gp: AtomGp, x: Float64Array, grad?: Float64Array): number {
    const o = 2 * i * STRIDE;
    return gp.finishKernelCall(x, this.table[o + D_RESULT]!, this.table[o + STRIDE + D_RESULT]!, grad);
  }

  /** Threads of the team. */
  get threads(): number {
    return this.team.threads;
  }

  /** Whether the workers are up (calls run on this thread alone until they are). */
  ready(): boolean {
    return this.team.ready();
  }

  /** Blocks until the workers run (tests, benchmarks). */
  waitReady(timeoutMs = 30000): boolean {
    return this.team.waitReady(timeoutMs);
  }
}

/** Calls timed per mode in each probe (four: see middleMean), and the length of a cycle (probe + use). */
const PROBE = 4;
const CYCLE = 64;
/** The team must beat one thread by this factor: it also takes a core from whatever else runs. */
const TEAM_MARGIN = 0.9;

/** Mean of the middle two of four numbers (robust to one stalled call each way). */
function middleMean(a: number, b: number, c: number, d: number): number {
  const lo = Math.min(a, b, c, d);
  const hi = Math.max(a, b, c, d);
  return 0.5 * (a + b + c + d - lo - hi);
}

/**
 * The automatic choice, call by call, between this thread alone and the team. On a machine whose
 * other core is busy, a barrier per call can cost more than the second thread gains, so both modes
 * are timed in turn (PROBE calls each, alternating) and the team serves the rest of the cycle of
 * CYCLE calls only if its typical call (mean of the middle two) took less than TEAM_MARGIN of one
 * thread's; then both are probed again. Results do not depend on the choice (the two modes are
 * bit-identical), only the speed does.
 */
export class ThreadChooser {
  private readonly wallMs = new Float64Array(2 * PROBE);
  private call = 0;
  private t0 = 0;
  private preferTeam = true;
  /** Calls made with the team and alone so far. */
  teamCalls = 0;
  soloCalls = 0;

  /** Whether the next call uses the team; `done()` must follow the call. */
  next(): boolean {
    const c = this.call % CYCLE;
    const team = c < 2 * PROBE ? (c & 1) === 1 : this.preferTeam;
    if (team) this.teamCalls++;
    else this.soloCalls++;
    this.t0 = performance.now();
    return team;
  }

  done(): void {
    const c = this.call % CYCLE;
    if (c < 2 * PROBE) {
      this.wallMs[c] = performance.now() - this.t0;
      if (c === 2 * PROBE - 1) {
        const t = this.wallMs;
        const solo = middleMean(t[0]!, t[2]!, t[4]!, t[6]!);
        const team = middleMean(t[1]!, t[3]!, t[5]!, t[7]!);
        this.preferTeam = team < TEAM_MARGIN * solo;
      }
    }
    this.call++;
  }
}
