// Runs the pinned WebAssembly Yosys (@yowasp/yosys) on a staging directory.
// Usage: node run_yosys.mjs DIR [yosys arguments...]
// DIR becomes Yosys' in-memory working directory (the WebAssembly build has
// no access to the host file system); every file Yosys creates or changes
// there is written back to DIR when it exits. Exit status is Yosys'.
import { runYosys } from '@yowasp/yosys';
import fs from 'node:fs';
import path from 'node:path';

function load(dir) {
  const tree = {};
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    tree[e.name] = e.isDirectory() ? load(p) : fs.readFileSync(p);
  }
  return tree;
}

function save(dir, tree) {
  for (const [name, v] of Object.entries(tree)) {
    const p = path.join(dir, name);
    if (v instanceof Uint8Array || typeof v === 'string') {
      fs.writeFileSync(p, v);
    } else {
      fs.mkdirSync(p, { recursive: true });
      save(p, v);
    }
  }
}

const [dir, ...args] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node run_yosys.mjs DIR [yosys arguments...]');
  process.exit(2);
}
let status = 0;
let files;
try {
  files = await runYosys(args, load(dir));
} catch (e) {
  // A non-zero exit is reported as an exception carrying the files so far.
  if (e && e.files) files = e.files;
  status = e && Number.isInteger(e.code) ? e.code : 1;
  if (!(e && Number.isInteger(e.code))) console.error(String(e));
}
if (files) save(dir, files);
process.exit(status);
