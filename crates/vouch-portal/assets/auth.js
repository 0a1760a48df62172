// The function the chat widget calls to prove who the customer is (the blog's
// auth.getAuthenticationToken). It asks this site for a signed token with the session
// cookie and calls back exactly once: with the token on 200, with null on anything else
// (signed out, server error, network failure, timeout).
var auth = window.auth || {};
auth.getAuthenticationToken = function (callback) {
  var done = false;
  function finish(token) {
    if (done) { return; }
    done = true;
    try { callback(token); } catch (e) { /* the caller's error is not ours to handle */ }
  }
  var xhttp;
  try {
    xhttp = new XMLHttpRequest();
    xhttp.onreadystatechange = function () {
      if (this.readyState === 4) {
        var body = this.responseText;
        if (this.status === 200 && typeof body === "string" && body.length > 0) {
          finish(body);
        } else {
          finish(null);
        }
      }
    };
    xhttp.onerror = function () { finish(null); };
    xhttp.ontimeout = function () { finish(null); };
    xhttp.onabort = function () { finish(null); };
    xhttp.open("GET", "/token", true);
    xhttp.timeout = 10000;
    xhttp.withCredentials = true;
    xhttp.send();
  } catch (e) {
    finish(null);
  }
};
window.auth = auth;
