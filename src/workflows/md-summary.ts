/** Reading an MD run's summary.json back (non-finite numbers are stored as strings). */
import { readFileSync } from 'node:fs';
import type { MdSummary } from '../dynamics/run.js';

export function readMdSummary(file: string): MdSummary {
  return JSON.parse(readFileSync(file, 'utf8'), (_k, v) => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v)) as MdSummary;
}
