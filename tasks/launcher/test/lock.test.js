'use strict';
// Concurrent jobs on one machine share one environment through the build lock.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const h = require('./harness.js');

before(h.setup);
after(h.cleanup);

// One task folder and tools directory throughout: each test starts from the previous state.
describe('concurrent jobs on one machine', { concurrency: false }, () => {
  let taskDir;
  let env;

  before(() => {
    taskDir = h.makeTaskFolder();
    env = h.agentEnv();
  });

  test('three jobs at once build one environment and all run', async () => {
    const results = await Promise.all([1, 2, 3].map(() => h.runLauncher(taskDir, env)));
    for (const result of results) h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.equal(results.reduce((n, r) => n + h.builds(r.output), 0), 1);
    assert.equal(h.environments(env.AGENT_TOOLSDIRECTORY).length, 1);
  });

  test('a job waits for a live lock holder, then proceeds', async () => {
    const [envDir] = h.environments(env.AGENT_TOOLSDIRECTORY);
    fs.rmSync(path.join(envDir, '.vmapp-complete.json'));
    const lockDir = `${envDir}.lock`;
    fs.mkdirSync(lockDir);
    const owner = { pid: process.pid, host: os.hostname(), token: 'held-by-the-test' };
    fs.writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify(owner));
    const pending = h.runLauncher(taskDir, env);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(fs.existsSync(lockDir), 'the waiting job must not take a live lock');
    fs.rmSync(lockDir, { recursive: true });
    const result = await pending;
    assert.match(result.stdout, /Another job is preparing the Python environment; waiting/);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
  });

  test('a lock left by a dead job is taken over', async () => {
    const [envDir] = h.environments(env.AGENT_TOOLSDIRECTORY);
    fs.rmSync(envDir, { recursive: true });
    const dead = childProcess.spawnSync(process.execPath, ['-e', '0']).pid;
    fs.mkdirSync(`${envDir}.lock`);
    const owner = { pid: dead, host: os.hostname(), token: 'dead-job' };
    fs.writeFileSync(path.join(`${envDir}.lock`, 'owner.json'), JSON.stringify(owner));
    const result = await h.runLauncher(taskDir, env);
    assert.match(result.stdout, /Removing the stale environment lock/);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.equal(h.builds(result.output), 1);
  });
});

