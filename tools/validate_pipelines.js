#!/usr/bin/env node
// Validate Azure Pipelines YAML files the way the VS Code Azure Pipelines extension does: with the
// azure-pipelines-language-service (which hoists `${{ }}` blocks instead of rejecting them) and the
// official service schema, extended with our four tasks generated from tasks/*/task.json.
//
// Usage: node tools/validate_pipelines.js FILE.yml [FILE.yml ...]
// Prints one line per diagnostic as `file:line:col: severity: message` and exits 1 when any file
// has an error or a warning (the service reports schema violations as warnings), 2 on bad usage.
'use strict';

const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

// The service logs its schema look-ups on console.log; our stdout carries only diagnostics.
console.log = () => {};

const ls = require('azure-pipelines-language-service');

const ROOT = path.resolve(__dirname, '..');
const OUR_TASKS = ['PublishVmApp', 'DevTestLabEnv', 'DeployVmApp', 'HealthGate'];
const SCHEMA_NAME = 'azure-pipelines.service-schema.json';
// The shared copy is the reference; the committed copy keeps the check working in a lone clone.
const SCHEMA_CANDIDATES = [
  path.join(ROOT, '..', 'shared', 'schemas', SCHEMA_NAME),
  path.join(ROOT, 'tests', 'schemas', SCHEMA_NAME),
];
const SCHEMA_URI = 'file:///azure-pipelines-vm-app-release.schema.json';
const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };
const FAILING = new Set([1, 2]);
// Known false positive (microsoft/azure-pipelines-vscode#603, tracked in #420): the service exempts a
// whole-value expression from type checks but not from pick-list enum checks, so
// `mode: ${{ parameters.mode }}` is reported although the pipeline is valid. Only that case is
// excused, and it is still printed; a literal value outside the pick list still fails.
const ENUM_MISMATCH = /^Value is not accepted\. Valid values: /;
const WHOLE_EXPRESSION = /^(\$\{\{[\s\S]*\}\}|\$\[[\s\S]*\]|\$\([^)]*\))$/;

function loadOfficialSchema() {
  const found = SCHEMA_CANDIDATES.find((candidate) => fs.existsSync(candidate));
  if (!found) {
    throw new Error(`official schema not found; looked in ${SCHEMA_CANDIDATES.join(', ')}`);
  }
  return JSON.parse(fs.readFileSync(found, 'utf8'));
}

function isEmpty(value) {
  return value === undefined || value === null || String(value) === '';
}

function isEditable(input) {
  const flag = (input.properties || {}).EditableOptions ?? (input.properties || {}).editableOptions;
  return String(flag).toLowerCase() === 'true';
}

// One input as the service lists it: the YAML name is the first alias (the task.json name then
// becomes an alias); pick lists are case-insensitive enums, everything else a typed scalar.
function inputSchema(input) {
  const schema = {};
  if (input.type === 'boolean') {
    schema.type = 'boolean';
  } else if (input.type === 'int') {
    schema.type = 'integer';
  } else if (input.type !== 'pickList' || isEditable(input)) {
    schema.type = 'string';
  }
  schema.description = input.label || input.name;
  if (input.type === 'pickList' && !isEditable(input)) {
    schema.ignoreCase = 'all';
    schema.enum = Object.keys(input.options || {});
  } else {
    schema.ignoreCase = 'key';
  }
  const aliases = input.aliases || [];
  if (aliases.length > 0) {
    schema.aliases = [input.name, ...aliases.slice(1)];
  }
  return [aliases[0] || input.name, schema];
}

// Required in YAML only when the UI could not fill it: no default and not hidden by a visibleRule.
function isRequired(input) {
  return input.required === true && isEmpty(input.defaultValue) && isEmpty(input.visibleRule);
}

function taskSchemas(definition) {
  const reference = `${definition.name}@${definition.version.Major}`;
  const properties = {};
  const required = [];
  for (const input of definition.inputs || []) {
    const [key, schema] = inputSchema(input);
    properties[key] = schema;
    if (isRequired(input)) required.push(key);
  }
  const escaped = reference.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const variant = {
    properties: {
      task: {
        description: `${definition.friendlyName}\n\n${definition.description}`,
        ignoreCase: 'value',
        pattern: `^${escaped}$`,
      },
      inputs: {
        description: `${definition.friendlyName} inputs`,
        properties,
        additionalProperties: false,
        required,
      },
    },
    doNotSuggest: false,
    firstProperty: ['task'],
    required: required.length > 0 ? ['task', 'inputs'] : ['task'],
  };
  const name = {
    description: definition.description,
    doNotSuggest: false,
    ignoreCase: 'value',
    enum: [reference],
  };
  return { name, variant };
}

function addOurTasks(schema) {
  const task = schema.definitions.task;
  for (const folder of OUR_TASKS) {
    const file = path.join(ROOT, 'tasks', folder, 'task.json');
    const { name, variant } = taskSchemas(JSON.parse(fs.readFileSync(file, 'utf8')));
    task.properties.task.anyOf.push(name);
    task.anyOf.push(variant);
  }
  return schema;
}

function buildService(schema) {
  const noFetch = (uri) => Promise.reject(new Error(`no remote schemas: ${uri}`));
  const service = ls.getLanguageService(noFetch, [], null);
  service.configure({ validate: true, schemas: [{ uri: SCHEMA_URI, fileMatch: ['*'], schema }] });
  return service;
}

async function validateFile(service, file) {
  const text = fs.readFileSync(file, 'utf8');
  const document = ls.TextDocument.create(pathToFileURL(path.resolve(file)).href, 'yaml', 1, text);
  const diagnostics = await service.doValidation(document, ls.parse(text));
  return diagnostics.map((d) => {
    const excused = isExpressionInPickList(d, document.getText(d.range).trim());
    const severity = excused ? 'note' : SEVERITY[d.severity] || 'error';
    const suffix = excused ? ' (known false positive: expression value in a pick list)' : '';
    return {
      failing: FAILING.has(d.severity) && !excused,
      line: `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: `
        + `${severity}: ${d.message}${suffix}`,
    };
  });
}

function isExpressionInPickList(diagnostic, source) {
  return ENUM_MISMATCH.test(diagnostic.message) && WHOLE_EXPRESSION.test(source);
}

async function main(files) {
  if (files.length === 0) {
    process.stderr.write('usage: node tools/validate_pipelines.js FILE.yml [FILE.yml ...]\n');
    return 2;
  }
  const service = buildService(addOurTasks(loadOfficialSchema()));
  let failures = 0;
  for (const file of files) {
    for (const diagnostic of await validateFile(service, file)) {
      process.stdout.write(`${diagnostic.line}\n`);
      if (diagnostic.failing) failures += 1;
    }
  }
  process.stderr.write(`${files.length} file(s) checked, ${failures} problem(s)\n`);
  return failures > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error) => { process.stderr.write(`${error.stack || error}\n`); process.exitCode = 2; },
  );
}

module.exports = { taskSchemas, addOurTasks };
