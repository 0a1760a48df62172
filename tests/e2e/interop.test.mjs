// Interop: vouch's tokens verify in independent libraries (PyJWT, Node's jsonwebtoken), and the
// blog's Node.js tokens verify in vouch — through the CLI, and through the chat service.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runVouch, startBlogApp, tempDir, cleanup, repoRoot, here, vouchBin as vouchBinPath } from './lib.mjs';
const vouchBin = () => vouchBinPath;

const requireFromBlog = createRequire(path.join(repoRoot, 'tests', 'blog-app', 'package.json'));
const nodeJwt = requireFromBlog('jsonwebtoken');

const blog = await startBlogApp();
after(() => blog.stop());

async function blogToken() {
  const res = await fetch(`${blog.url}/privatekey`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/jwt/);
  return (await res.text()).trim();
}

test("a token signed by the blog's Node.js code verifies with `vouch token verify --public-key`", async () => {
  const token = await blogToken();
  const r = await runVouch(['token', 'verify', '--public-key', path.join(blog.dir, 'keys', 'public.key'), token]);
  assert.equal(r.code, 0, r.stderr);
  const claims = JSON.parse(r.stdout);
  assert.equal(claims.sub, '66cb446f-5e43-ea11-a812-000d3a24c087');
  assert.equal(claims.iss, 'omnichannel-custom-portal.azurewebsites.net');
  assert.equal(claims.given_name, 'Dan');
});

test("the blog's /publickey works as a key URL, and only with --allow-private-key-urls on loopback", async () => {
  const token = await blogToken();
  const ok = await runVouch(['token', 'verify', '--key-url', `${blog.url}/publickey`, '--allow-private-key-urls',
    '--iss', 'omnichannel-custom-portal.azurewebsites.net', token]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).email, 'danijel.buljat@test.com');

  const refused = await runVouch(['token', 'verify', '--key-url', `${blog.url}/publickey`, token]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^invalid token: key_unavailable: /m);
  assert.match(refused.stderr, /loopback/);
});

test('a wrong issuer and a tampered payload are refused with their reason codes', async () => {
  const token = await blogToken();
  const wrongIss = await runVouch(['token', 'verify', '--public-key', path.join(blog.dir, 'keys', 'public.key'), '--iss', 'someone-else', token]);
  assert.equal(wrongIss.code, 1);
  assert.match(wrongIss.stderr, /^invalid token: wrong_issuer: /m);

  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.sub = 'someone-else';
  const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  const bad = await runVouch(['token', 'verify', '--public-key', path.join(blog.dir, 'keys', 'public.key'), forged]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^invalid token: bad_signature: /m);
});

test('`vouch token sign` output verifies in PyJWT and in Node jsonwebtoken, PKCS#1 key included', async () => {
  const dir = tempDir();
  try {
    const gen = await runVouch(['keys', 'generate', '--dir', dir]);
    assert.equal(gen.code, 0, gen.stderr);
    const mode = execFileSync('stat', ['-c', '%a', path.join(dir, 'private.key')]).toString().trim();
    assert.equal(mode, '600');
    const signed = await runVouch(['token', 'sign', '--key', path.join(dir, 'private.key'), '--iss', 'shop.example',
      '--sub', 'c-42', '--claim', 'given_name=Alex', '--claim', 'lwicontexts={"plan":"gold"}']);
    assert.equal(signed.code, 0, signed.stderr);
    const token = signed.stdout.trim();
    const pub = readFileSync(path.join(dir, 'public.key'), 'utf8');
    const viaNode = nodeJwt.verify(token, pub, { algorithms: ['RS256'], issuer: 'shop.example' });
    assert.equal(viaNode.sub, 'c-42');
    assert.equal(viaNode.lwicontexts, '{"plan":"gold"}');

    // The blog's openssl key is PKCS#8; `openssl rsa -traditional` makes the PKCS#1 form.
    const pkcs1 = path.join(dir, 'pkcs1.key');
    execFileSync('openssl', ['rsa', '-in', path.join(blog.dir, 'keys', 'private.key'), '-traditional', '-out', pkcs1], { stdio: 'ignore' });
    assert.match(readFileSync(pkcs1, 'utf8'), /BEGIN RSA PRIVATE KEY/);
    const fromPkcs1 = await runVouch(['token', 'sign', '--key', pkcs1, '--iss', 'shop.example', '--sub', 'c-43']);
    assert.equal(fromPkcs1.code, 0, fromPkcs1.stderr);
    const py = execFileSync('python3', [path.join(here, 'pyjwt_verify.py'), fromPkcs1.stdout.trim(), 'pem', `${blog.url}/publickey`, 'shop.example']).toString();
    assert.equal(JSON.parse(py).sub, 'c-43');
  } finally {
    cleanup(dir);
  }
});

test('docs/examples/python_token_service.py (the integration guide) issues tokens vouch accepts', async () => {
  const { startProcess } = await import('./lib.mjs');
  const dir = tempDir();
  const gen = await runVouch(['keys', 'generate', '--dir', dir]);
  assert.equal(gen.code, 0, gen.stderr);
  const svc = await startProcess('python3', [path.join(repoRoot, 'docs', 'examples', 'python_token_service.py')], {
    env: { KEYS_DIR: dir, ISSUER: 'shop.example', PORT: '0' }, waitFor: { port: /^listening (\d+)$/m },
  });
  try {
    const res = await fetch(`http://127.0.0.1:${svc.port}/token`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const token = (await res.text()).trim();
    const r = await runVouch(['token', 'verify', '--key-url', `http://127.0.0.1:${svc.port}/publickey`,
      '--allow-private-key-urls', '--iss', 'shop.example', token]);
    assert.equal(r.code, 0, r.stderr);
    const claims = JSON.parse(r.stdout);
    assert.equal(claims.given_name, 'Alex');
    assert.equal(claims.lwicontexts, '{"plan": "gold"}');
  } finally {
    await svc.stop();
    cleanup(dir);
  }
});

test("the portal's /token verifies in PyJWT against /publickey and against the JWKS", async () => {
  const { startProcess, portalLogin } = await import('./lib.mjs');
  const dir = tempDir();
  const add = await runVouch(['portal', 'users', 'add', '--data-dir', dir, '--email', 'pat@example.com',
    '--given-name', 'Pat', '--family-name', 'Lee', '--context', 'plan=gold', '--password-stdin'], { input: 'correct horse battery\n' });
  assert.equal(add.code, 0, add.stderr);
  const portal = await startProcess(vouchBin(), ['portal', '--data-dir', dir, '--addr', '127.0.0.1:0', '--issuer', 'shop.example'],
    { env: { VOUCH_LOG: 'warn' }, waitFor: { url: /^portal: (http:\/\/\S+)$/m } });
  try {
    const signedOut = await fetch(`${portal.url}/token`);
    assert.equal(signedOut.status, 401);
    assert.equal(signedOut.headers.get('cache-control'), 'no-store');
    const client = await portalLogin(portal.url, 'pat@example.com', 'correct horse battery');
    for (const route of ['/token', '/privatekey']) {
      const res = await client.fetch(`${portal.url}${route}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^application\/jwt/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const token = (await res.text()).trim();
      for (const [mode, url] of [['pem', `${portal.url}/publickey`], ['jwks', `${portal.url}/.well-known/jwks.json`]]) {
        const out = execFileSync('python3', [path.join(here, 'pyjwt_verify.py'), token, mode, url, 'shop.example']).toString();
        const claims = JSON.parse(out);
        assert.equal(claims.email, 'pat@example.com');
        assert.equal(claims.given_name, 'Pat');
        assert.equal(claims.lwicontexts, '{"plan":"gold"}');
        assert.equal(claims.exp - claims.iat, 900);
      }
    }
  } finally {
    await portal.stop();
    cleanup(dir);
  }
});

test("a chat setting pointing at the blog's /publickey accepts tokens from its /privatekey", async () => {
  const { startProcess, agentToken } = await import('./lib.mjs');
  const dir = tempDir();
  const add = await runVouch(['chat', 'agents', 'add', '--data-dir', dir, '--email', 'root@example.com', '--name', 'Root',
    '--role', 'admin', '--password-stdin'], { input: 'admin password\n' });
  assert.equal(add.code, 0, add.stderr);
  const chat = await startProcess(vouchBin(), ['chat', '--data-dir', dir, '--addr', '127.0.0.1:0', '--allow-private-key-urls'],
    { env: { VOUCH_LOG: 'warn' }, waitFor: { url: /^chat: (http:\/\/\S+)$/m } });
  try {
    const admin = await agentToken(chat.url, 'root@example.com', 'admin password');
    const auth = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const settingRes = await fetch(`${chat.url}/api/v1/admin/auth-settings`, { method: 'POST', headers: auth, body: JSON.stringify({
      name: 'Blog site', public_key_url: `${blog.url}/publickey`, function_name: 'auth.getAuthenticationToken',
      issuer: 'omnichannel-custom-portal.azurewebsites.net' }) });
    assert.equal(settingRes.status, 201, await settingRes.clone().text());
    const setting = await settingRes.json();
    assert.equal(setting.key_count, 1);
    const widgetRes = await fetch(`${chat.url}/api/v1/admin/widgets`, { method: 'POST', headers: auth, body: JSON.stringify({
      name: 'Blog widget', allowed_origins: [blog.url], auth_settings_id: setting.id, require_auth: true }) });
    assert.equal(widgetRes.status, 201, await widgetRes.clone().text());
    const widget = await widgetRes.json();
    assert.match(widget.snippet, /id="Microsoft_Omnichannel_LCWidget"/);

    const session = await fetch(`${chat.url}/api/v1/widgets/${widget.app_id}/sessions`, {
      method: 'POST', headers: { origin: blog.url, AuthenticatedUserToken: await blogToken() } });
    assert.equal(session.status, 201, await session.clone().text());
    const body = await session.json();
    assert.equal(body.verified, true);
    assert.equal(body.contact.external_id, '66cb446f-5e43-ea11-a812-000d3a24c087');
    assert.equal(body.contact.given_name, 'Dan');

    const forged = (await blogToken()).replace(/\.[^.]+$/, '.AAAA');
    const refused = await fetch(`${chat.url}/api/v1/widgets/${widget.app_id}/sessions`, {
      method: 'POST', headers: { origin: blog.url, AuthenticatedUserToken: forged } });
    assert.equal(refused.status, 401);
    assert.deepEqual({ ...(await refused.json()), message: undefined }, { error: 'invalid_token', reason: 'bad_signature', message: undefined });
  } finally {
    await chat.stop();
    cleanup(dir);
  }
});

test('`vouch doctor` explains a good key URL and token, and names what is wrong with a bad one', async () => {
  const token = await blogToken();
  const good = await runVouch(['doctor', '--key-url', `${blog.url}/publickey`, '--allow-private-key-urls', '--token', token]);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /PEM/i);
  assert.doesNotMatch(good.stdout, /^error/m);
  assert.ok(!good.stdout.includes(token.split('.')[2]), 'the signature never appears in the report');

  const refused = await runVouch(['doctor', '--key-url', `${blog.url}/publickey`, '--token', token]);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /^error\s+127\.0\.0\.1 is a loopback address/m);

  const expired = await runVouch(['doctor', '--key-url', `${blog.url}/publickey`, '--allow-private-key-urls', '--iss', 'another-issuer', '--token', token]);
  assert.equal(expired.code, 1);
  assert.match(expired.stdout, /wrong_issuer/);
});
