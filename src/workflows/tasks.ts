/**
 * Task kinds a scheduled task can be (`atomgp task FILE`, exec/task.ts): the kind named in a task
 * file → its runner, loaded on demand. A command that runs a batch through an executor adds its
 * kind here.
 */
import type { TaskKinds, TaskRunner } from '../exec/task.js';
import type { TrainTask } from '../gp/fit/train-parallel.js';

export const TASK_KINDS: TaskKinds = {
  /** One MD run of an ensemble or of the robustness matrix (dynamics/ensemble.ts EnsembleJob → MdSummary). */
  md: async () => (await import('../dynamics/md-task.js')).runMdTask as TaskRunner,
  /** One atomic GP fit (gp/fit/train-parallel.ts TrainTask → TrainResult). */
  train: async () => {
    const { runTrainTask } = await import('../gp/fit/train-parallel.js');
    return ((task: TrainTask) => runTrainTask(task)) as TaskRunner;
  },
};
