'use strict';
// Building, reusing and rebuilding the per-agent Python environment.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const h = require('./harness.js');

before(h.setup);
after(h.cleanup);

const probes = (toolsDir) => {
  const dir = path.join(toolsDir, 'vm-application-release', '.python-probes');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};
const pythonStarts = (spawns) => spawns.filter(([command]) => /python/.test(path.basename(command)));
const isTask = ([, ...args]) => args.join(' ') === '-I -m pytask PublishVmApp';

describe('bootstrap', { concurrency: false }, () => {
  let taskDir;
  let env;

  before(() => {
    taskDir = h.makeTaskFolder();
    env = h.agentEnv();
  });

  test('first run builds the environment under the tools directory and runs the task', async () => {
    const result = await h.runLauncher(taskDir, env);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.equal(h.builds(result.output), 1);
    const [envDir] = h.environments(env.AGENT_TOOLSDIRECTORY).filter((d) => !d.endsWith('.lock'));
    assert.match(path.basename(envDir), /^1\.0\.0-py3\.\d+-[0-9a-f]{12}$/);
    assert.ok(fs.existsSync(path.join(envDir, '.vmapp-complete.json')));
    assert.ok(!fs.existsSync(`${envDir}.lock`), 'the lock is released');
    // The found Python has pip 22.3+, so the environment was made without its own pip.
    assert.ok(!fs.existsSync(path.join(envDir, h.IS_WINDOWS ? 'Scripts' : 'bin', 'pip')));
  });

  test('second run reuses it without pip', async () => {
    const result = await h.runLauncher(taskDir, env);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.equal(h.builds(result.output), 0);
    assert.match(result.stdout, /Reusing the Python environment/);
    assert.equal(h.environments(env.AGENT_TOOLSDIRECTORY).length, 1);
  });

  test('with a native python3 first on PATH, a warm start starts Python once: the task', async () => {
    // The interpreter's own folder, as UsePythonVersion puts it: the same interpreter, so the
    // same environment, found without a shim.
    const spawns = h.recordSpawns({ ...env, PATH: `${path.dirname(h.python())}${path.delimiter}${env.PATH}` });
    h.assertRanTask(await h.runLauncher(taskDir, spawns.env), taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.ok(probes(env.AGENT_TOOLSDIRECTORY).length >= 1, 'the chosen interpreter is remembered');
    spawns.reset();
    const result = await h.runLauncher(taskDir, spawns.env);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.equal(h.builds(result.output), 0);
    const started = pythonStarts(spawns.read());
    assert.equal(started.length, 1, JSON.stringify(started));
    assert.ok(isTask(started[0]), JSON.stringify(started));
  });

  test('a shim script as python3 is probed on every start and never remembered', async () => {
    const shims = h.tempDir('shim');
    fs.writeFileSync(path.join(shims, 'python3'), `#!/bin/sh\nexec "${h.python()}" "$@"\n`, { mode: 0o755 });
    const spawns = h.recordSpawns({ ...env, PATH: `${shims}${path.delimiter}${env.PATH}` });
    const remembered = probes(env.AGENT_TOOLSDIRECTORY).length;
    for (const run of [1, 2]) {
      spawns.reset();
      const result = await h.runLauncher(taskDir, spawns.env);
      h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
      assert.equal(h.builds(result.output), 0, 'the shim runs the same interpreter: same environment');
      const started = pythonStarts(spawns.read());
      assert.equal(started.length, 2, `run ${run}: the shim's probe, the task: ${JSON.stringify(started)}`);
      assert.equal(started[0][0], path.join(shims, 'python3'));
      assert.ok(isTask(started[1]), JSON.stringify(started));
    }
    assert.equal(probes(env.AGENT_TOOLSDIRECTORY).length, remembered, 'nothing remembered for a shim');
  });

  test('a half-built environment (no completion marker) is rebuilt', async () => {
    const [envDir] = h.environments(env.AGENT_TOOLSDIRECTORY);
    fs.rmSync(path.join(envDir, '.vmapp-complete.json'));
    const result = await h.runLauncher(taskDir, env);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.equal(h.builds(result.output), 1);
  });

  test('a broken environment (marker present, interpreter gone) is rebuilt', async () => {
    const [envDir] = h.environments(env.AGENT_TOOLSDIRECTORY);
    fs.rmSync(path.join(envDir, h.IS_WINDOWS ? 'Scripts' : 'bin'), { recursive: true });
    const result = await h.runLauncher(taskDir, env);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.equal(h.builds(result.output), 1);
  });

  test('an environment that looks complete but cannot import pytask is rebuilt and the task run', async () => {
    const [envDir] = h.environments(env.AGENT_TOOLSDIRECTORY);
    const marker = JSON.parse(fs.readFileSync(path.join(envDir, '.vmapp-complete.json'), 'utf8'));
    assert.equal(marker.files.length, 2, 'the marker names the installed package files');
    // Files in place, so a warm start trusts it; the task's start then fails on the import.
    fs.writeFileSync(marker.files[0], 'raise ImportError("damaged on purpose")\n');
    const result = await h.runLauncher(taskDir, env);
    assert.match(result.output, /damaged on purpose/);
    assert.match(result.stdout, /does not import pytask; rebuilding it/);
    assert.equal(h.builds(result.output), 1);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
  });

  test('a task that ends abnormally is reported as Failed', async () => {
    const result = await h.runLauncher(taskDir, { ...env, FAKE_PYTASK_EXIT: '3' });
    assert.match(h.failureOf(result), /python -m pytask PublishVmApp ended abnormally \(exit code 3\)/);
  });

  test('a task folder without its wheel is reported as damaged', async () => {
    const damaged = h.tempDir('damaged');
    fs.copyFileSync(path.join(taskDir, 'task.json'), path.join(damaged, 'task.json'));
    fs.copyFileSync(path.join(taskDir, 'launcher.js'), path.join(damaged, 'launcher.js'));
    fs.copyFileSync(path.join(taskDir, 'requirements.lock'), path.join(damaged, 'requirements.lock'));
    const result = await h.runLauncher(damaged, env);
    assert.match(h.failureOf(result), /exactly one pytask_vmapp wheel; found 0/);
  });
});

describe('a Python without pip', { skip: h.IS_WINDOWS && 'POSIX venv layout' }, () => {
  test('gets its own environment, with pip from ensurepip', async () => {
    const taskDir = h.makeTaskFolder();
    const bare = path.join(h.tempDir('bare'), 'venv');
    childProcess.execFileSync(h.python(), ['-m', 'venv', '--without-pip', bare]);
    const env = h.agentEnv({ PATH: `${path.join(bare, 'bin')}${path.delimiter}${process.env.PATH}` });
    const result = await h.runLauncher(taskDir, env);
    h.assertRanTask(result, taskDir, env.AGENT_TOOLSDIRECTORY);
    assert.match(result.stdout, new RegExp(`Using Python 3\\.\\d+\\.\\d+ at ${bare}`));
    const [envDir] = h.environments(env.AGENT_TOOLSDIRECTORY);
    assert.ok(fs.existsSync(path.join(envDir, 'bin', 'pip')), 'ensurepip put pip in the environment');
  });
});

describe('install failures', () => {
  test('a lock whose hash does not match fails and leaves no completed environment', async () => {
    const taskDir = h.makeTaskFolder({ lockHash: '0'.repeat(64) });
    const env = h.agentEnv();
    const result = await h.runLauncher(taskDir, env);
    assert.match(h.failureOf(result), /Installing the pinned dependencies failed \(exit code \d+\)/);
    assert.match(result.output, /HASH|hash/);
    for (const envDir of h.environments(env.AGENT_TOOLSDIRECTORY)) {
      assert.ok(!fs.existsSync(path.join(envDir, '.vmapp-complete.json')), envDir);
      assert.ok(!envDir.endsWith('.lock'), 'the lock is released after a failure');
    }
  });
});

