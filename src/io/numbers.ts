/** Compatibility path: FFLUX number parsing now lives in util/numbers.ts (shared by io/ and gp/). */
export { formatNumber, parseInteger, parseReal } from '../util/numbers.js';
