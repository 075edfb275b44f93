'use strict';
// The one Node entry point of every VM Application Release task (handlers Node20_1 and Node24).
//
// Azure Pipelines has no Python handler, so the agent runs this file with its own Node and we
// start `python -m pytask <TaskName>`. Unless PYTASK_PYTHON names a ready interpreter, the
// launcher keeps one virtual environment per agent, per extension build and per Python,
// installed from the wheel and the hash-pinned lock that ship beside it.
//
// Plain Node (>= 20) with no npm dependencies: the agent installs nothing for us.

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const MIN_PYTHON = [3, 10];
const ENV_FOLDER = 'vm-application-release';
const MARKER = '.vmapp-complete.json';
const WHEEL_PATTERN = /^pytask_vmapp-([^-]+)-.*\.whl$/;
// A builder refreshes its lock every LOCK_REFRESH_MS; a lock untouched for LOCK_STALE_MS belongs
// to a job that died on another machine sharing the directory (a local one is detected by pid).
const LOCK_REFRESH_MS = 15 * 1000;
const LOCK_STALE_MS = 10 * 60 * 1000;
const LOCK_WAIT_MS = 30 * 60 * 1000;
const LOCK_POLL_MS = 200;
const PIP_INSTALL = ['install', '--disable-pip-version-check', '--no-input'];
// Run with -S (no site-packages): every start pays for this probe, and what it asks is in the
// standard library. pip's version is asked separately (PIP_PROBE), only when it matters: no
// ensurepip, or a build. Together they cost ~40 ms of each warm start (bench_overhead).
const PROBE = [
  'import importlib.util, json, sys',
  'has = lambda name: importlib.util.find_spec(name) is not None',
  'print(json.dumps({"version": list(sys.version_info[:3]), "executable": sys.executable, ' +
    '"venv": has("venv"), "ensurepip": has("ensurepip")}))',
].join('\n');
const PIP_PROBE = [
  'import importlib.metadata',
  'try:\n    print(importlib.metadata.version("pip"))\nexcept Exception:\n    print("")',
].join('\n');
// pip >= 22.3 can install into another interpreter (--python): the environment is then made
// without its own pip, which skips ensurepip, the slowest part of a bootstrap.
const PIP_WITH_PYTHON_OPTION = [22, 3];

/** A failure of the launcher itself (not of the task): reported as the task's result. */
class BootstrapError extends Error {}

// Messages of logging commands: the agent's escaping, '%' first so it is not escaped twice.
function escapeData(text) {
  return String(text).replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function reportFailure(message) {
  const escaped = escapeData(message);
  process.stdout.write(`##vso[task.logissue type=error]${escaped}\n`);
  process.stdout.write(`##vso[task.complete result=Failed;]${escaped}\n`);
}

function log(line) {
  process.stdout.write(`${line}\n`);
}

function readTask(taskDir) {
  const file = path.join(taskDir, 'task.json');
  let task;
  try {
    task = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new BootstrapError(`Cannot read ${file}: ${err.message}`);
  }
  if (!task.name) throw new BootstrapError(`${file} has no task name`);
  const v = task.version || {};
  return { name: task.name, version: `${v.Major}.${v.Minor}.${v.Patch}`, file };
}

function payload(taskDir) {
  const wheels = fs.readdirSync(taskDir).filter((f) => WHEEL_PATTERN.test(f));
  if (wheels.length !== 1) {
    throw new BootstrapError(
      `The task folder ${taskDir} must hold exactly one pytask_vmapp wheel; found ` +
        `${wheels.length}. The extension package is damaged: reinstall it.`,
    );
  }
  const lock = path.join(taskDir, 'requirements.lock');
  if (!fs.existsSync(lock)) {
    throw new BootstrapError(`${lock} is missing. The extension package is damaged: reinstall it.`);
  }
  return { wheel: path.join(taskDir, wheels[0]), lock };
}

function pythonCandidates() {
  if (process.platform === 'win32') {
    return [['py', ['-3']], ['python', []], ['python3', []]];
  }
  return [['python3', []], ['python', []]];
}

function lastLine(command, args) {
  const result = childProcess.spawnSync(command, args, {
    encoding: 'utf8',
    windowsHide: true,
    timeout: 60 * 1000,
  });
  if (result.error || result.status !== 0) return null;
  return result.stdout.trim().split(/\r?\n/).pop();
}

function probe(command, args) {
  const line = lastLine(command, [...args, '-I', '-S', '-c', PROBE]);
  try {
    return line === null ? null : JSON.parse(line);
  } catch {
    return null;
  }
}

// The version of pip installed for `python` (null without pip), asked once.
function withPip(python) {
  if (python.pip === undefined) {
    python.pip = lastLine(python.executable, ['-I', '-c', PIP_PROBE]) || null;
  }
  return python;
}

function isRecentEnough(version) {
  return version[0] > MIN_PYTHON[0] || (version[0] === MIN_PYTHON[0] && version[1] >= MIN_PYTHON[1]);
}

function canInstallInto(python) {
  if (!python.pip) return false;
  const [major, minor] = python.pip.split('.').map((part) => parseInt(part, 10));
  const [needMajor, needMinor] = PIP_WITH_PYTHON_OPTION;
  return major > needMajor || (major === needMajor && minor >= needMinor);
}

function findPython() {
  const rejected = [];
  for (const [command, args] of pythonCandidates()) {
    const shown = [command, ...args].join(' ');
    const found = probe(command, args);
    if (!found) {
      rejected.push(`${shown}: not found`);
    } else if (!isRecentEnough(found.version)) {
      rejected.push(`${shown}: Python ${found.version.join('.')} at ${found.executable}`);
    } else if (!found.venv || !(found.ensurepip || canInstallInto(withPip(found)))) {
      rejected.push(`${shown}: ${found.executable} lacks venv (or both ensurepip and pip 22.3+)`);
    } else {
      return found;
    }
  }
  throw new BootstrapError(
    `No Python ${MIN_PYTHON.join('.')} or later with venv support was found on this agent ` +
      `(${rejected.join('; ')}). Add UsePythonVersion@0 with versionSpec '3.x' before this task, ` +
      `install Python ${MIN_PYTHON.join('.')}+ (with venv) on the agent, or set PYTASK_PYTHON to ` +
      'an interpreter that has the pytask-vmapp package installed.',
  );
}

function sha256(...parts) {
  const hash = crypto.createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

// One environment per agent (the tools directory is the agent's), per extension build (version
// plus the exact wheel and lock bytes) and per Python interpreter.
function environmentPlan(task, files, python, env) {
  const base = env.AGENT_TOOLSDIRECTORY || env.AGENT_TEMPDIRECTORY || os.tmpdir();
  const build = sha256(fs.readFileSync(files.wheel), fs.readFileSync(files.lock));
  const key = `${task.version}-py${python.version[0]}.${python.version[1]}-` +
    sha256(python.executable, build).slice(0, 12);
  const dir = path.join(base, ENV_FOLDER, key);
  const bin = process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe')
    : path.join(dir, 'bin', 'python');
  return { key, dir, python: bin, marker: path.join(dir, MARKER), lockDir: `${dir}.lock` };
}

function isHealthy(plan) {
  let marker;
  try {
    marker = JSON.parse(fs.readFileSync(plan.marker, 'utf8'));
  } catch {
    return false;
  }
  if (marker.key !== plan.key || !fs.existsSync(plan.python)) return false;
  const check = childProcess.spawnSync(plan.python, ['-I', '-c', 'import pytask'], {
    stdio: 'ignore',
    windowsHide: true,
    timeout: 120 * 1000,
  });
  return check.status === 0;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function ownerOf(lockDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(lockDir, 'owner.json'), 'utf8'));
  } catch {
    return null;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function isStale(lockDir, owner) {
  if (owner && owner.host === os.hostname() && !isAlive(owner.pid)) return true;
  try {
    const touched = fs.statSync(owner ? path.join(lockDir, 'owner.json') : lockDir).mtimeMs;
    return Date.now() - touched > LOCK_STALE_MS;
  } catch {
    return false;
  }
}

function tryAcquire(lockDir, token) {
  try {
    fs.mkdirSync(lockDir);
  } catch (err) {
    if (err.code === 'EEXIST') return false;
    throw err;
  }
  const owner = { pid: process.pid, host: os.hostname(), token };
  fs.writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify(owner));
  return true;
}

// Move a stale lock aside atomically; if what moved turns out to be someone's fresh lock
// (it was replaced between our check and the rename), put it back.
function breakStaleLock(lockDir, staleOwner) {
  const aside = `${lockDir}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lockDir, aside);
  } catch {
    return;
  }
  const moved = ownerOf(aside);
  if (moved && staleOwner && moved.token !== staleOwner.token) {
    try {
      fs.renameSync(aside, lockDir);
      return;
    } catch {
      // The lock was taken again meanwhile: the moved one is abandoned either way.
    }
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

async function withLock(lockDir, work) {
  const token = crypto.randomBytes(8).toString('hex');
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  while (!tryAcquire(lockDir, token)) {
    const owner = ownerOf(lockDir);
    if (isStale(lockDir, owner)) {
      log(`Removing the stale environment lock ${lockDir}`);
      breakStaleLock(lockDir, owner);
      continue;
    }
    if (Date.now() > deadline) {
      throw new BootstrapError(`Timed out waiting for the environment lock ${lockDir}`);
    }
    if (!announced) log('Another job is preparing the Python environment; waiting for it.');
    announced = true;
    await sleep(LOCK_POLL_MS);
  }
  const ownerFile = path.join(lockDir, 'owner.json');
  const refresh = setInterval(() => {
    const now = new Date();
    fs.utimes(ownerFile, now, now, () => {});
  }, LOCK_REFRESH_MS);
  try {
    return await work();
  } finally {
    clearInterval(refresh);
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

// The agent's proxy (Agent.ProxyUrl and friends) as the standard variables that pip and the
// Azure SDK read, unless the user configured one.
function proxyEnvironment(env) {
  const result = { ...env };
  if (!env.AGENT_PROXYURL) return result;
  const url = new URL(env.AGENT_PROXYURL);
  const user = env.AGENT_PROXYUSERNAME;
  const password = env.AGENT_PROXYPASSWORD || env.SECRET_AGENT_PROXYPASSWORD;
  if (user) {
    url.username = user;
    if (password) url.password = password;
  }
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY']) {
    if (!env[name] && !env[name.toLowerCase()]) result[name] = url.href;
  }
  const bypass = bypassHosts(env.AGENT_PROXYBYPASSLIST);
  if (bypass.length && !env.NO_PROXY && !env.no_proxy) result.NO_PROXY = bypass.join(',');
  return result;
}

// The agent's bypass list is a JSON array of regular expressions; pip understands host names,
// so only the entries that are plain (escaped) host names carry over.
function bypassHosts(list) {
  let entries;
  try {
    entries = JSON.parse(list || '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(entries)) return [];
  return entries
    .map((entry) => String(entry).replace(/\\\./g, '.'))
    .filter((host) => /^[A-Za-z0-9.-]+$/.test(host));
}

function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(command, args, {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      windowsHide: true,
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

async function step(description, command, args, env) {
  log(description);
  const { code, signal } = await run(command, args, env);
  if (code !== 0) {
    throw new BootstrapError(
      `${description} failed (${signal || `exit code ${code}`}); see the output above. ` +
        'Behind a proxy or with a private package index, configure pip (pip.conf or PIP_* ' +
        'variables, for example PIP_INDEX_URL) or pre-provision Python and set PYTASK_PYTHON.',
    );
  }
}

function writeFileAtomic(file, text) {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

// How to create the environment and run pip for it with the interpreter we found.
function installer(python, plan) {
  if (canInstallInto(withPip(python))) {
    return {
      venvArgs: ['-m', 'venv', '--without-pip', plan.dir],
      pip: [python.executable, ['-I', '-m', 'pip', '--python', plan.python, ...PIP_INSTALL]],
    };
  }
  return { venvArgs: ['-m', 'venv', plan.dir], pip: [plan.python, ['-m', 'pip', ...PIP_INSTALL]] };
}

async function build(plan, python, files, env) {
  log('##[group]Preparing the Python environment for VM Application Release');
  try {
    fs.rmSync(plan.marker, { force: true });
    fs.rmSync(plan.dir, { recursive: true, force: true });
    const pipEnv = proxyEnvironment(env);
    const { venvArgs, pip: [pipCommand, pipArgs] } = installer(python, plan);
    await step(`Creating a virtual environment at ${plan.dir}`, python.executable, venvArgs, env);
    await step('Installing the pinned dependencies', pipCommand,
      [...pipArgs, '--require-hashes', '-r', files.lock], pipEnv);
    await step(`Installing ${path.basename(files.wheel)}`, pipCommand,
      [...pipArgs, '--no-deps', files.wheel], pipEnv);
    // Written last: only a fully installed environment carries the marker.
    const marker = { key: plan.key, python: python.executable, wheel: path.basename(files.wheel) };
    writeFileAtomic(plan.marker, JSON.stringify(marker));
  } finally {
    log('##[endgroup]');
  }
}

async function prepareEnvironment(task, taskDir, env) {
  const files = payload(taskDir);
  const python = findPython();
  log(`Using Python ${python.version.join('.')} at ${python.executable}`);
  const plan = environmentPlan(task, files, python, env);
  if (isHealthy(plan)) {
    log(`Reusing the Python environment at ${plan.dir}`);
    return plan.python;
  }
  await withLock(plan.lockDir, async () => {
    // Another job may have finished it while we waited for the lock.
    if (!isHealthy(plan)) await build(plan, python, files, env);
  });
  if (!isHealthy(plan)) {
    throw new BootstrapError(`The Python environment at ${plan.dir} does not import pytask.`);
  }
  return plan.python;
}

// Our own environment runs isolated (-I): the job's working directory (the checked-out
// sources) must not shadow the installed pytask. PYTASK_PYTHON is run exactly as given.
function runTask(python, isolated, task, env) {
  return new Promise((resolve) => {
    const args = [...(isolated ? ['-I'] : []), '-m', 'pytask', task.name];
    const child = childProcess.spawn(python, args, {
      env: { ...env, PYTASK_TASK_JSON: task.file },
      stdio: 'inherit',
      windowsHide: true,
    });
    // The agent cancels a task with SIGINT, then SIGTERM: pass both on to Python.
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (err) => resolve({ error: err }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

async function main(taskDir = __dirname, env = process.env) {
  try {
    const task = readTask(taskDir);
    const provisioned = env.PYTASK_PYTHON;
    const python = provisioned || (await prepareEnvironment(task, taskDir, env));
    // The task's Azure SDK clients honour HTTPS_PROXY/NO_PROXY, as pip does.
    const result = await runTask(python, !provisioned, task, proxyEnvironment(env));
    if (result.error) {
      throw new BootstrapError(`Cannot start ${python}: ${result.error.message}`);
    }
    if (result.code !== 0) {
      throw new BootstrapError(
        `python -m pytask ${task.name} ended abnormally (${result.signal || `exit code ${result.code}`}).`,
      );
    }
  } catch (err) {
    reportFailure(err instanceof BootstrapError ? err.message : `Launcher error: ${err.stack || err}`);
  }
  // The agent reads the result from task.complete, not from the exit code.
  process.exitCode = 0;
}

module.exports = { bypassHosts, canInstallInto, escapeData, isRecentEnough, proxyEnvironment };

if (require.main === module) {
  main();
}
