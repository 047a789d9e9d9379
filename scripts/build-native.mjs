// Builds the native backend (C + OpenMP + OpenBLAS) with node-gyp. Never fails the install: if the
// addon cannot be built, lmlab runs on the pure-TypeScript reference backend and says so once.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'binding.gyp'))) process.exit(0);
const force = process.argv.includes('--force');
if (!force && existsSync(join(root, 'build', 'Release', 'lmlab_native.node'))) process.exit(0);
// node-gyp downloads Node's headers unless told where they are; use the ones installed beside this node
// (distro and nodesource packages ship them in <prefix>/include/node), so an offline machine can build.
const args = ['rebuild'];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const gypJs = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const r = existsSync(gypJs)
  ? spawnSync(process.execPath, [gypJs, ...args], { cwd: root, stdio: 'inherit', shell: false })
  : spawnSync('npx', ['--no-install', 'node-gyp', ...args], { cwd: root, stdio: 'inherit', shell: false });
if (r.status !== 0) {
  const r2 = spawnSync('npm', ['exec', '--', 'node-gyp', ...args], { cwd: root, stdio: 'inherit' });
  if (r2.status !== 0) {
    console.warn('lmlab: native backend could not be built; falling back to the reference backend (slow). Run `lmlab doctor` for details.');
  }
}
process.exit(0);
