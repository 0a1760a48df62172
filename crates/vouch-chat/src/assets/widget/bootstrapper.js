/*
 * vouch chat widget bootstrapper, served as /livechatwidget/scripts/LiveChatBootstrapper.js.
 *
 * Loaded cross-origin into the customer's site with the Omnichannel snippet, as a classic script:
 *   <script id="Microsoft_Omnichannel_LCWidget" src=".../LiveChatBootstrapper.js"
 *           data-app-id="…" data-org-url="https://chat.example"></script>
 *
 * It claims the one global, window.VouchChat, and imports the widget's ES modules from beside
 * itself (/livechatwidget/scripts/widget/<version>/*.js on the same chat service, served with
 * CORS, so a host page's CSP that allows this script's origin allows them too; the service
 * fills in the version when it serves this file). The widget itself
 * (widget/main.js and the modules it names) keeps these rules:
 * - it renders in an open shadow root, styled by a constructable stylesheet
 *   (the host page's CSP may forbid inline <style> and style attributes);
 * - every piece of data is rendered with textContent, never parsed as HTML;
 * - the session token travels in a URL only for the WebSocket upgrade;
 * - every failure ends as a plain sentence in chat-error, and nothing thrown
 *   there reaches the host page. (If the modules cannot be loaded at all, there is no widget
 *   to show a sentence in: the console says why.)
 */
(function () {
  'use strict';

  if (window.VouchChat && window.VouchChat.loaded) {
    return; // the snippet was pasted twice: one widget is enough
  }

  var script = document.getElementById('Microsoft_Omnichannel_LCWidget') || document.currentScript;
  var self = document.currentScript || script;
  var widget = null; // {open, close, state} once the modules are loaded

  window.VouchChat = {
    loaded: true,
    version: '1',
    open: function () {
      if (widget) widget.open();
    },
    close: function () {
      if (widget) widget.close();
    },
    get state() {
      if (widget) return widget.state();
      return { phase: 'idle', verified: false, conversationId: null, conversationState: null, lastSeq: 0, pending: 0 };
    }
  };

  function fail(e) {
    try {
      if (window.console && console.error) console.error('vouch chat: the widget could not be loaded:', e && e.message ? e.message : e);
    } catch (ignored) {
      /* never let the widget break the page */
    }
  }

  try {
    var main = new URL('widget/main.js', self && self.src ? self.src : location.href).href;
    import(main).then(function (m) {
      widget = m.mount(script);
    }).catch(fail);
  } catch (e) {
    fail(e);
  }
})();
