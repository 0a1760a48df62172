// The accessibility audit the browser tests run: axe-core (pinned in package.json) injected
// into the page and run against WCAG 2.2 A/AA and axe's best practices, open shadow roots
// (the widget) included. A page passes with zero serious or critical violations.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The rule sets the audit runs: every WCAG 2.0, 2.1 and 2.2 A/AA rule, and best practices. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/**
 * Runs axe on the page as it is now. Resolves {blocking, ran}: blocking = the serious and
 * critical violations, each as "rule (impact): help — targets"; ran = how many rules passed or
 * failed (so a test can tell an audit that checked nothing from a clean one).
 * The source is evaluated through the DevTools protocol, which a page's CSP does not govern:
 * the console's and portal's `script-src 'self'` stay in force for the page itself.
 */
export async function audit(page) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(`${AXE_SOURCE}\n;true`);
  const r = await page.evaluate((tags) => window.axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations'],
  }).then((res) => ({
    ran: res.passes.length + res.violations.length,
    violations: res.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target) + (n.failureSummary ? ` [${n.failureSummary.replace(/\s+/g, ' ').slice(0, 200)}]` : '')),
    })),
  })), AXE_TAGS);
  const blocking = r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.targets.join(' ; ')}`);
  return { blocking, ran: r.ran, all: r.violations };
}
