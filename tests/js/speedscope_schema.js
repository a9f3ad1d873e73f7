// Validates a speedscope JSON file against the schema the npm `speedscope`
// package ships (dist/release/file-format-schema.json), with npm `ajv`.
// Prints {"valid": bool, "errors": [...]} on stdout.
// Usage: node speedscope_schema.js FILE   (NODE_PATH must reach ajv, speedscope)
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

const schemaPath = path.join(path.dirname(require.resolve('speedscope/package.json')),
                             'dist', 'release', 'file-format-schema.json');
const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
delete schema.$schema; // draft-07 meta-schema URL; ajv's default draft validates it the same way
const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(schema);
const data = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const valid = validate(data);
process.stdout.write(JSON.stringify({ valid, errors: (validate.errors || []).slice(0, 10) }) + '\n');
