// Shared helpers for the interop and browser tests: start real vouch processes on loopback
// ports, the blog's Node.js app, and Debian's Chromium. Everything here talks to 127.0.0.1 only.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const vouchBin = process.env.VOUCH_BIN || path.join(repoRoot, 'target', 'debug', 'vouch');

export function tempDir(prefix = 'vouch-e2e-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Runs `vouch …` to completion; returns {code, stdout, stderr}. */
export function runVouch(args, { input, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(vouchBin, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A command that exits before reading its stdin closes the pipe: that is its answer, not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/**
 * Starts a long-running process and waits until a line of its stdout matches every pattern
 * in `waitFor` (an object of name → RegExp with one capture group). Resolves with the captures
 * and a stop() that sends SIGTERM and waits for exit. Fails after `timeoutMs`.
 */
export function startProcess(cmd, args, { cwd, env, waitFor, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const found = {};
    let out = '';
    let err = '';
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`${path.basename(cmd)} did not start within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err.slice(-4000)}`)), timeoutMs);
    const stop = () => new Promise((res) => {
      if (child.exitCode !== null || child.signalCode !== null) return res();
      child.once('exit', () => res());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
    function finish(error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) { child.kill('SIGKILL'); reject(error); } else resolve({ ...found, child, stop, logs: () => ({ out, err }) });
    }
    function check() {
      for (const [name, re] of Object.entries(waitFor || {})) {
        if (found[name] === undefined) {
          const m = out.match(re);
          if (m) found[name] = m[1];
        }
      }
      if (Object.keys(waitFor || {}).every((k) => found[k] !== undefined)) finish();
    }
    child.stdout.on('data', (d) => { out += d; check(); });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', finish);
    child.on('exit', (code, signal) => finish(new Error(`${path.basename(cmd)} exited early (${code ?? signal})\nstdout:\n${out}\nstderr:\n${err.slice(-4000)}`)));
    if (!waitFor) finish();
  });
}

/** `vouch demo` on free loopback ports with a fresh data dir; resolves {portal, chat, dataDir, stop}. */
export async function startDemo({ dataDir = tempDir(), extraArgs = [], env = {} } = {}) {
  const proc = await startProcess(vouchBin, [
    'demo', '--data-dir', dataDir, '--portal-addr', '127.0.0.1:0', '--chat-addr', '127.0.0.1:0', ...extraArgs,
  ], { env: { VOUCH_LOG: 'warn', ...env }, waitFor: { portal: /^portal: (http:\/\/\S+)$/m, chat: /^chat: (http:\/\/\S+)$/m, appId: /^widget: (\S+)$/m } });
  return { ...proc, dataDir };
}

/** The blog's Node.js app with keys made by the blog's two openssl commands. */
export async function startBlogApp() {
  const dir = tempDir('vouch-blog-');
  mkdirSync(path.join(dir, 'keys'));
  execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-out', path.join(dir, 'keys', 'private.key'), '-pkeyopt', 'rsa_keygen_bits:2048'], { stdio: 'ignore' });
  execFileSync('openssl', ['rsa', '-pubout', '-in', path.join(dir, 'keys', 'private.key'), '-out', path.join(dir, 'keys', 'public.key')], { stdio: 'ignore' });
  const proc = await startProcess(process.execPath, [path.join(repoRoot, 'tests', 'blog-app', 'app.js')], {
    cwd: dir, env: { PORT: '0' }, waitFor: { port: /^listening (\d+)$/m },
  });
  return { ...proc, url: `http://127.0.0.1:${proc.port}`, dir };
}

export const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs, headless: true });
}

export function cleanup(dir) {
  try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
}

/** A tiny HTTP client with a cookie jar (no redirects followed), for signing in without a browser. */
export class CookieClient {
  constructor() { this.jar = new Map(); }
  async fetch(url, opts = {}) {
    const headers = new Headers(opts.headers || {});
    if (this.jar.size) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...opts, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.jar.delete(name); else this.jar.set(name, value);
    }
    return res;
  }
}

/** Signs in on a portal through its real form (CSRF token included); resolves the client. */
export async function portalLogin(portalUrl, email, password) {
  const client = new CookieClient();
  const page = await (await client.fetch(`${portalUrl}/login`)).text();
  const csrf = page.match(/name="csrf_token" value="([^"]+)"/)?.[1];
  if (!csrf) throw new Error('no csrf_token on the login page');
  const res = await client.fetch(`${portalUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: portalUrl },
    body: new URLSearchParams({ email, password, csrf_token: csrf }).toString(),
  });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}: ${await res.text()}`);
  return client;
}

/** Signs in on the chat service's agent API; resolves the bearer token. */
export async function agentToken(chatUrl, email, password) {
  const res = await fetch(`${chatUrl}/api/v1/agent/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`agent sign-in answered ${res.status}: ${await res.text()}`);
  return (await res.json()).token;
}
