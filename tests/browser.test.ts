/**
 * genlab in a browser: tests/browser/page.ts, bundled with esbuild, runs in headless Chromium
 * (Debian's, driven by playwright-core) on a local server, once on a cross-origin-isolated page
 * (COOP/COEP headers: SharedArrayBuffer, so Web Workers share the wasm memory) and once on a plain
 * page (no SharedArrayBuffer: the backend must fall back to the calling thread). On both, the wasm
 * backend must agree with the reference cpu backend, give the same bits on one thread as on all,
 * and train a small MLP.
 *
 * Chromium is found at $GENLAB_CHROMIUM or /usr/bin/chromium (Debian's `chromium`, which .ci/run
 * installs); without it the test is skipped, unless GENLAB_BROWSER_REQUIRED=1 (as in CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import type { PageResult } from './browser/page.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const executable = process.env.GENLAB_CHROMIUM ?? '/usr/bin/chromium';
const required = process.env.GENLAB_BROWSER_REQUIRED === '1';
const skip = !existsSync(executable) && !required ? `no Chromium at ${executable} (install Debian's chromium, or set GENLAB_CHROMIUM)` : false;

const TYPES: Record<string, string> = { js: 'text/javascript', wasm: 'application/wasm', html: 'text/html' };
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

test('in Chromium the wasm backend runs on Web Workers where the page is cross-origin isolated, on one thread where not, and agrees with the reference', { skip, timeout: 180_000 }, async () => {
  assert.ok(existsSync(executable), `GENLAB_BROWSER_REQUIRED=1 but there is no Chromium at ${executable}`);
  const site = mkdtempSync(join(tmpdir(), 'genlab-browser-'));
  // the bundle finds its kernels at ./build/*.wasm beside it (new URL('./build/…', import.meta.url))
  await build({ entryPoints: [join(here, 'browser/page.ts')], bundle: true, format: 'esm', platform: 'browser', outfile: join(site, 'page.js'), logLevel: 'warning' });
  cpSync(join(here, '../src/backends/wasm/build'), join(site, 'build'), { recursive: true });
  const server = createServer((req, res) => {
    const [, mode, ...rest] = (req.url ?? '/').split('/');
    const file = rest.join('/') || 'index.html';
    const headers: Record<string, string> = { 'content-type': TYPES[file.split('.').pop()!] ?? 'application/octet-stream', ...(mode === 'isolated' ? ISOLATION : {}) };
    const body = file === 'index.html' ? '<!doctype html><script type="module" src="page.js"></script>' : existsSync(join(site, file)) ? readFileSync(join(site, file)) : null;
    res.writeHead(body === null ? 404 : 200, headers);
    res.end(body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
  try {
    const results: Record<string, PageResult> = {};
    for (const mode of ['isolated', 'plain']) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/${mode}/`);
      await page.waitForFunction(() => (globalThis as { genlabResult?: unknown }).genlabResult !== undefined, null, { timeout: 120_000 });
      const r = await page.evaluate(() => (globalThis as unknown as { genlabResult: Promise<PageResult> }).genlabResult);
      await page.close();
      assert.equal(r.error, undefined, `${mode} page: ${r.error}`);
      assert.deepEqual(errors, [], `${mode} page: uncaught errors`);
      results[mode] = r;
    }
    const iso = results.isolated!, plain = results.plain!;
    assert.equal(iso.crossOriginIsolated, true);
    assert.equal(iso.threads, Math.min(64, iso.hardwareConcurrency), 'one thread per core on an isolated page');
    assert.equal(iso.active, iso.threads, 'every worker started and took part');
    assert.equal(plain.crossOriginIsolated, false);
    assert.equal(plain.threads, 1, 'a page without SharedArrayBuffer runs on the calling thread');
    for (const [mode, r] of Object.entries(results)) {
      for (const [k, e] of Object.entries(r.relErr)) assert.ok(e < 1e-5, `${mode} ${k}: max |wasm − cpu| is ${e} of max |cpu|`);
      for (const [k, same] of Object.entries(r.sameBits)) assert.ok(same, `${mode} ${k}: ${r.threads} threads and one thread differ`);
      assert.ok(r.losses[1]! < r.losses[0]! / 100, `${mode}: the MLP's loss went from ${r.losses[0]} to ${r.losses[1]} in 200 steps`);
    }
  } finally {
    await browser.close();
    server.close();
    rmSync(site, { recursive: true, force: true });
  }
});
