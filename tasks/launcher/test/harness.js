'use strict';
// Shared by the launcher tests (not a test itself): runs the launcher as the agent runs it,
// `node launcher.js` in a task folder, and reads its output as the agent reads it. Offline: a
// tiny wheel of a fake `pytask` and a hash-pinned lock of a fake dependency are built here and
// pip installs them from a local wheelhouse (the route a user's offline wheelhouse takes).

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const launcherDir = path.resolve(__dirname, '..');
const REAL_TASK_JSON = path.resolve(launcherDir, '..', 'PublishVmApp', 'task.json');
const IS_WINDOWS = process.platform === 'win32';

const WHEEL_BUILDER = `
import base64, hashlib, json, pathlib, sys, zipfile
spec = json.load(sys.stdin)
files = dict(spec["files"])
info = f"{spec['dist']}-{spec['version']}.dist-info"
files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\\nName: {spec['name']}\\nVersion: {spec['version']}\\n"
files[f"{info}/WHEEL"] = "Wheel-Version: 1.0\\nGenerator: launcher-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
record = []
for name, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{name},sha256={digest},{len(text.encode())}")
files[f"{info}/RECORD"] = "\\n".join(record + [f"{info}/RECORD,,"]) + "\\n"
out = pathlib.Path(spec["out"], f"{spec['dist']}-{spec['version']}-py3-none-any.whl")
with zipfile.ZipFile(out, "w") as archive:
    for name in sorted(files):
        archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), files[name])
print(out)
`;

const FAKE_MAIN = `
import os, sys
import fakedep
print("FAKE-PYTASK", " ".join(sys.argv[1:]), "|", os.environ.get("PYTASK_TASK_JSON"), "|", sys.prefix, "|", fakedep.VALUE)
sys.exit(int(os.environ.get("FAKE_PYTASK_EXIT", "0")))
`;

// Loaded into the launcher's Node with NODE_OPTIONS=--require: appends every process it starts
// (spawn and spawnSync) as a JSON line to SPAWN_LOG. It only observes.
const SPAWN_RECORDER = `
const childProcess = require('child_process');
const fs = require('fs');
for (const name of ['spawn', 'spawnSync']) {
  const original = childProcess[name];
  childProcess[name] = function recorded(command, args, ...rest) {
    fs.appendFileSync(process.env.SPAWN_LOG, JSON.stringify([command, ...(args || [])]) + '\\n');
    return original.call(this, command, args, ...rest);
  };
}
`;

let root;
let python;
let wheelhouse;

function tempDir(name) {
  return fs.mkdtempSync(path.join(root, `${name}-`));
}

function systemPython() {
  const out = childProcess.execFileSync(IS_WINDOWS ? 'python' : 'python3',
    ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  return out.trim();
}

function buildWheel(out, spec) {
  const result = childProcess.execFileSync(python, ['-c', WHEEL_BUILDER], {
    input: JSON.stringify({ out, ...spec }),
    encoding: 'utf8',
  });
  return result.trim();
}

function fileSha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A task folder as the vsix ships it: task.json, launcher.js, the wheel and the lock. */
function makeTaskFolder({ lockHash } = {}) {
  const dir = tempDir('task');
  fs.copyFileSync(REAL_TASK_JSON, path.join(dir, 'task.json'));
  fs.copyFileSync(path.join(launcherDir, 'launcher.js'), path.join(dir, 'launcher.js'));
  buildWheel(dir, {
    name: 'pytask-vmapp',
    dist: 'pytask_vmapp',
    version: '1.0.0',
    files: { 'pytask/__init__.py': '__version__ = "1.0.0"\n', 'pytask/__main__.py': FAKE_MAIN },
  });
  const dep = path.join(wheelhouse, 'fakedep-1.0-py3-none-any.whl');
  const hash = lockHash || fileSha256(dep);
  fs.writeFileSync(path.join(dir, 'requirements.lock'), `fakedep==1.0 \\\n    --hash=sha256:${hash}\n`);
  return dir;
}

function agentEnv(extra = {}) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(PIP_|AGENT_|PYTASK_|VIRTUAL_ENV$|(HTTPS?|NO)_PROXY$)/i.test(name)) delete env[name];
  }
  return {
    ...env,
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: wheelhouse,
    PIP_CONFIG_FILE: os.devnull,
    AGENT_TOOLSDIRECTORY: tempDir('tools'),
    ...extra,
  };
}

function runLauncher(taskDir, env) {
  return new Promise((resolve) => {
    const child = childProcess.spawn(process.execPath, [path.join(taskDir, 'launcher.js')], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('close', (code) => resolve({ code, stdout, stderr, output: stdout + stderr }));
  });
}

/** `env` with every process the launcher starts recorded; `read()` returns them as arrays. */
function recordSpawns(env) {
  const dir = tempDir('spawns');
  const recorder = path.join(dir, 'recorder.js');
  const log = path.join(dir, 'spawns.jsonl');
  fs.writeFileSync(recorder, SPAWN_RECORDER);
  const read = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [])
    .filter(Boolean).map((line) => JSON.parse(line));
  const reset = () => fs.rmSync(log, { force: true });
  return { env: { ...env, NODE_OPTIONS: `--require ${recorder}`, SPAWN_LOG: log }, read, reset };
}

function builds(output) {
  return (output.match(/Creating a virtual environment/g) || []).length;
}

function environments(toolsDir) {
  const base = path.join(toolsDir, 'vm-application-release');
  if (!fs.existsSync(base)) return [];
  // Dot entries are the launcher's own bookkeeping (the interpreter probe cache), not environments.
  return fs.readdirSync(base).filter((name) => !name.startsWith('.')).map((name) => path.join(base, name));
}

function assertRanTask(result, taskDir, toolsDir) {
  assert.equal(result.code, 0, result.output);
  const line = result.stdout.split('\n').find((l) => l.startsWith('FAKE-PYTASK'));
  assert.ok(line, `the task did not run:\n${result.output}`);
  const [args, taskJson, prefix, dep] = line.slice('FAKE-PYTASK '.length).split(' | ');
  assert.equal(args, 'PublishVmApp');
  assert.equal(taskJson, path.join(taskDir, 'task.json'));
  assert.ok(prefix.startsWith(path.join(toolsDir, 'vm-application-release')), prefix);
  assert.equal(dep, 'from-the-lock');
  assert.doesNotMatch(result.stdout, /task\.complete/);
}

function failureOf(result) {
  assert.equal(result.code, 0, 'the agent reads the result, not the exit code');
  const issue = result.stdout.match(/^##vso\[task\.logissue type=error\](.*)$/m);
  const complete = result.stdout.match(/^##vso\[task\.complete result=Failed;\](.*)$/m);
  assert.ok(issue && complete, result.output);
  assert.equal(issue[1], complete[1]);
  return issue[1];
}

function setup() {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'vmapp-launcher-'));
  python = systemPython();
  wheelhouse = tempDir('wheelhouse');
  buildWheel(wheelhouse, {
    name: 'fakedep', dist: 'fakedep', version: '1.0', files: { 'fakedep.py': 'VALUE = "from-the-lock"\n' },
  });
}

function cleanup() {
  fs.rmSync(root, { recursive: true, force: true });
}

module.exports = {
  IS_WINDOWS,
  agentEnv,
  assertRanTask,
  builds,
  cleanup,
  environments,
  failureOf,
  makeTaskFolder,
  recordSpawns,
  runLauncher,
  setup,
  tempDir,
  python: () => python,
  root: () => root,
};
