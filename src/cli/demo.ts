/** `atomgp demo`: the pipeline on built-in defaults (see src/cli/pipeline.ts). */
import { pipelineCommand } from './pipeline.js';

export async function run(argv: string[]): Promise<number> {
  return pipelineCommand(argv, true);
}
