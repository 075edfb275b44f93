'use strict';
// Benchmark instrumentation, loaded into the launcher's Node with NODE_OPTIONS=--require (never
// shipped): appends the wall-clock time (epoch ms) at which the launcher spawns the task's
// Python (`python ... -m pytask <Task>`) to the file named by BENCH_SPAWN_MARK. It only
// observes: the spawn itself goes through unchanged.
const childProcess = require('child_process');
const fs = require('fs');
const { performance } = require('perf_hooks');

const markFile = process.env.BENCH_SPAWN_MARK;
const original = childProcess.spawn;

childProcess.spawn = function spawn(command, args, ...rest) {
  const list = Array.isArray(args) ? args : [];
  const at = list.indexOf('-m');
  if (markFile && at >= 0 && list[at + 1] === 'pytask') {
    fs.appendFileSync(markFile, `${performance.timeOrigin + performance.now()}\n`);
  }
  return original.call(this, command, args, ...rest);
};
