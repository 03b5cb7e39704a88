/**
 * Where independent jobs run: the `Executor` contract (local worker threads or a Slurm job
 * array), the Slurm driver and batch folders, and the task runner a scheduled task executes.
 */
export * from './codec.js';
export * from './executor.js';
export * from './slurm.js';
export * from './task.js';
export * from './task-command.js';
