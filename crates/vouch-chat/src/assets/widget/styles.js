/*
 * The widget's stylesheet. It is adopted by the widget's own shadow root as a constructable
 * stylesheet, so a host page whose CSP forbids inline <style> still shows it styled.
 * Sides are logical (inline-start/end, block-start/end): with dir="rtl" (Arabic) the widget
 * mirrors itself, the launcher and panel in the bottom-left corner, the customer's bubbles on
 * the left.
 */

const CSS = [
  ':host{all:initial}',
  '*,*::before,*::after{box-sizing:border-box}',
  '[hidden]{display:none!important}',
  '.root{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2933;-webkit-font-smoothing:antialiased}',
  '.launcher{position:fixed;inset-inline-end:20px;inset-block-end:20px;z-index:2147483000;width:58px;height:58px;border-radius:50%;border:0;cursor:pointer;',
  'background:#2457c5;color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(16,24,40,.28);transition:transform .15s,background .15s}',
  '.launcher:hover{background:#1d48a6;transform:translateY(-1px)}',
  '.launcher:focus-visible,.btn:focus-visible,.close:focus-visible,textarea:focus-visible,.log:focus-visible{outline:3px solid #9cb8f5;outline-offset:2px}',
  '.log:focus-visible{outline-offset:-3px}',
  '.panel:focus{outline:none}',
  '.badge{position:absolute;inset-block-start:2px;inset-inline-end:2px;min-width:18px;height:18px;border-radius:9px;background:#d92d20;color:#fff;font-size:11px;font-weight:700;line-height:18px;text-align:center;padding:0 5px}',
  '.panel{position:fixed;inset-inline-end:20px;inset-block-end:92px;z-index:2147483000;width:min(370px,calc(100vw - 24px));height:min(560px,calc(100vh - 112px));',
  'display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 18px 48px rgba(16,24,40,.28),0 2px 6px rgba(16,24,40,.12)}',
  '.head{background:linear-gradient(135deg,#2457c5,#2d63d6);color:#fff;padding-block:14px 12px;padding-inline:18px 14px;display:flex;align-items:flex-start;gap:8px}',
  '.head-text{flex:1;min-width:0}',
  '.title{margin:0;font-size:16px;font-weight:650;line-height:1.3;overflow-wrap:anywhere}',
  '.status{margin-top:3px;font-size:12px;overflow-wrap:anywhere}',
  '.status .dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-inline-end:6px;background:#f5b400;vertical-align:0}',
  '.status.verified .dot{background:#3ddc84}',
  '.status.offline .dot{background:#98a2b3}',
  '.close{border:0;background:transparent;color:#fff;cursor:pointer;width:32px;height:32px;border-radius:8px;font-size:22px;line-height:1;padding:0}',
  '.close:hover{background:rgba(255,255,255,.16)}',
  '.offline-note{margin:0;padding:10px 14px;background:#fffaeb;color:#7a2e0e;border-bottom:1px solid #fedf89;font-size:13px;overflow-wrap:anywhere}',
  '.bar .btn-quiet{background:#fff;color:#2457c5;border:1px solid #2457c5;margin-inline-end:8px}',
  '.offline-head{display:block;font-weight:650;margin-bottom:2px}',
  '.offline-text{margin:0;white-space:pre-line}',
  '.error{margin:0;padding:9px 14px;background:#fef3f2;color:#b42318;border-bottom:1px solid #fecdca;font-size:13px;overflow-wrap:anywhere}',
  '.queue{margin:0;padding:8px 14px;background:#eff8ff;color:#175cd3;border-bottom:1px solid #b2ddff;font-size:13px}',
  '.log{flex:1;overflow-y:auto;padding:14px 14px 6px;background:#f6f8fb;display:flex;flex-direction:column;gap:8px}',
  '.empty{margin:auto;color:#5d6679;text-align:center;font-size:13px;padding:20px}',
  '.row{display:flex;flex-direction:column;max-width:82%}',
  '.row.customer{align-self:flex-end;align-items:flex-end}',
  '.row.agent{align-self:flex-start;align-items:flex-start}',
  '.row.system{align-self:center;align-items:center;max-width:92%}',
  '.bubble{padding:8px 12px;border-radius:16px;white-space:pre-wrap;unicode-bidi:plaintext;text-align:start;overflow-wrap:anywhere;word-break:break-word}',
  '.customer .bubble{background:#2457c5;color:#fff;border-end-end-radius:5px}',
  '.agent .bubble{background:#fff;color:#1f2933;border:1px solid #e4e7ec;border-end-start-radius:5px}',
  '.system .bubble{background:transparent;color:#5d6679;font-size:12px;padding:2px 6px;text-align:center}',
  '.bubble[data-status="pending"]{background:#4670c8}',
  '.bubble[data-status="failed"]{background:#fee4e2;color:#912018;border:1px solid #fda29b}',
  '.meta{font-size:11px;color:#5d6679;margin:2px 4px 0}',
  '.typing{padding:2px 16px 6px;font-size:12px;color:#5d6679;font-style:italic;background:#f6f8fb}',
  '.bar{padding:10px 14px;background:#f6f8fb;border-top:1px solid #e4e7ec;display:flex;justify-content:center}',
  '.btn{border:0;border-radius:10px;background:#2457c5;color:#fff;font:inherit;font-weight:600;padding:8px 14px;cursor:pointer}',
  '.btn:hover{background:#1d48a6}',
  '.btn:disabled{background:#b2c3e8;cursor:default}',
  '.composer{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid #e4e7ec;background:#fff}',
  'textarea{flex:1;resize:none;unicode-bidi:plaintext;font:inherit;color:inherit;border:1px solid #d0d5dd;border-radius:12px;padding:8px 12px;min-height:40px;max-height:120px;background:#fff}',
  'textarea:disabled{background:#f2f4f7}',
  '@media (prefers-reduced-motion:reduce){.launcher{transition:none}.launcher:hover{transform:none}}',
  '@media (max-width:480px){.panel{inset-inline-end:12px;inset-block-end:84px}.launcher{inset-inline-end:14px;inset-block-end:14px}}'
].join('\n');

/* Styles the shadow root: a constructable stylesheet, or a <style> element on engines without one. */
export function applyStyles(shadow) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    // Very old engines: a <style> element (may be refused by a strict page CSP).
    const st = document.createElement('style');
    st.textContent = CSS;
    shadow.appendChild(st);
  }
}
