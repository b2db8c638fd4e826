#!/usr/bin/env node
// The package's prepack/postpack step: what `npm pack` of @isthmus/native needs beyond dist/.
//
//   node scripts/pack.mjs          (prepack) copies the C core and addon sources from the
//                                  repository's native/ into csrc/ (for the source build of
//                                  scripts/build.mjs in a user's project), and the addon
//                                  built here into prebuilds/<platform>-<arch>/isthmus.glibc.node
//                                  (building it first when it is missing)
//   node scripts/pack.mjs --clean  (postpack) removes csrc/ and prebuilds/ again
//
// Both folders are generated and ignored by git; the repository's own loads use build/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(pkg, '..', '..', 'native');
const csrc = join(pkg, 'csrc');
const prebuilds = join(pkg, 'prebuilds');
const say = (msg) => console.error(`isthmus native pack: ${msg}`);

rmSync(csrc, { recursive: true, force: true });
rmSync(prebuilds, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

// The prebuilt addon: this machine's build (glibc; the loader checks the platform, the
// architecture and the C library before it loads it).
// Built before csrc/ exists, so build.mjs builds from the repository's native/.
const built = join(pkg, 'build', 'isthmus.node');
if (!existsSync(built)) {
  const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) {
    say('the addon did not build, so the package would have no prebuilt binary; not packing.');
    process.exit(1);
  }
}
// The sources the cmake-js build reads (native/CMakeLists.txt builds only the core and
// addon/ when CMAKE_JS_VERSION is set; its tools and tests stay in the repository).
const sources = (dir, ext) => readdirSync(join(native, dir)).filter((f) => ext.some((e) => f.endsWith(e))).map((f) => join(dir, f));
const files = ['CMakeLists.txt', 'addon/CMakeLists.txt',
  ...sources('src', ['.c', '.h']), ...sources('include/isthmus', ['.h']), ...sources('addon/src', ['.cc', '.h'])];
for (const f of files) {
  mkdirSync(dirname(join(csrc, f)), { recursive: true });
  cpSync(join(native, f), join(csrc, f));
}

const dest = join(prebuilds, `${process.platform}-${process.arch}`, 'isthmus.glibc.node');
mkdirSync(dirname(dest), { recursive: true });
cpSync(built, dest);
writeFileSync(`${dest}.sha256`, `${createHash('sha256').update(readFileSync(dest)).digest('hex')}  isthmus.glibc.node\n`);
say(`packed ${files.length} source files into csrc/ and ${dest}`);
