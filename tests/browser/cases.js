// corsd's browser cases: what a page on one origin can read from corsd on another.
//
// Every case is a fetch() against corsd (apiBase) whose path picks a policy of the
// test's policy file (tests/integration/test_browser.py writes it):
//   /api/      the page's origin, credentials, methods GET HEAD POST PUT PATCH,
//              headers Content-Type and X-Request-ID, expose X-Request-ID
//   /plain/    the page's origin, no credentials
//   /public/   origins "*", expose "*"
//   /forward/  like /api/ but preflight: forward (the upstream answers OPTIONS)
//   /denied/   another origin only, deny: reject (default)
//   /omit/     another origin only, deny: omit
//   /enforce/  another origin only, enforce: true
//   /down/     the page's origin, an upstream nobody listens on
// Each case gets its own path, so the browser's preflight cache never answers one
// case with another's preflight and the test can find each case's requests in the
// upstream's log and corsd's access log.
//
// An observation records only what the script itself could see:
//   fetched    fetch() resolved (false: it rejected; error holds the error's name,
//              "TimeoutError" when the case got no complete answer within 10 s)
//   type, status, ok
//   names      every response header name the script can enumerate (sorted)
//   headers    headers.get() of a few names (null when hidden or absent)
//   body       the body as text, or for binary cases length, adler32, sha256
//   bodyError  reading the body failed after the head arrived
"use strict";

(function () {
  const WATCH = ["content-type", "content-length", "x-request-id", "x-secret",
                 "access-control-allow-origin", "access-control-allow-credentials",
                 "vary", "set-cookie"];
  const MIB = 1024 * 1024;
  const CASE_TIMEOUT_MS = 10000; // a case that hangs ends as a TimeoutError
  const UPLOAD_SIZE = 4 * MIB + 7;

  function adler32(bytes) {
    let a = 1, b = 0;
    const MOD = 65521, STEP = 3800; // a and b stay far below 2^53 within a step
    for (let i = 0; i < bytes.length; i += STEP) {
      const end = Math.min(i + STEP, bytes.length);
      for (let j = i; j < end; j++) {
        a += bytes[j];
        b += a;
      }
      a %= MOD;
      b %= MOD;
    }
    return ((b << 16) | a) >>> 0;
  }

  async function sha256(bytes) {
    if (!(window.crypto && crypto.subtle)) return null; // not a secure context
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  async function digest(bytes) {
    return { length: bytes.length, adler32: adler32(bytes), sha256: await sha256(bytes) };
  }

  // The upload body: byte i is the top byte of i * 2654435761 (mod 2^32).
  function uploadBody(n) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.imul(i, 2654435761) >>> 24;
    return b;
  }

  async function observe(request, how) {
    const out = { fetched: false };
    let r;
    try {
      r = await request;
    } catch (e) {
      out.error = e && e.name ? e.name : String(e);
      out.message = e && e.message ? String(e.message) : "";
      return out;
    }
    out.fetched = true;
    out.type = r.type;
    out.status = r.status;
    out.ok = r.ok;
    out.names = Array.from(r.headers.keys()).sort();
    out.headers = {};
    for (const n of WATCH) out.headers[n] = r.headers.get(n);
    try {
      if (how === "bytes") {
        out.body = await digest(new Uint8Array(await r.arrayBuffer()));
      } else {
        out.body = await r.text();
      }
    } catch (e) {
      out.bodyError = e && e.name ? e.name : String(e);
    }
    return out;
  }

  // fetch() with a deadline on the whole exchange, body included.
  function tfetch(url, init) {
    return fetch(url, { ...(init || {}), signal: AbortSignal.timeout(CASE_TIMEOUT_MS) });
  }

  const json = { "Content-Type": "application/json" };

  const CASES = [
    // Allowed, no preflight: the exposed header is readable, the others are not.
    ["simple_get", (api) => observe(tfetch(api + "/api/data/simple-get"))],
    // A CORS-safelisted POST is not preflighted either.
    ["simple_post", (api) => observe(tfetch(api + "/api/data/simple-post", {
      method: "POST", headers: { "Content-Type": "text/plain" }, body: "plain text" }))],
    // Preflighted: JSON body and a custom header; corsd answers the OPTIONS itself.
    ["preflight_put", (api) => observe(tfetch(api + "/api/data/preflight-put", {
      method: "PUT", headers: { ...json, "X-Request-ID": "rid-put" },
      body: JSON.stringify({ hello: "corsd" }) }))],
    ["preflight_patch", (api) => observe(tfetch(api + "/api/data/preflight-patch", {
      method: "PATCH", headers: json, body: "{}" }))],
    // Credentialed: the page's cookie goes along and the answer is readable.
    ["credentialed_get", (api) => observe(tfetch(api + "/api/data/cred-get", {
      credentials: "include" }))],
    ["credentialed_put", (api) => observe(tfetch(api + "/api/data/cred-put", {
      method: "PUT", credentials: "include",
      headers: { ...json, "X-Request-ID": "rid-cred-put" }, body: "{}" }))],
    // Same policy, requests it does not allow: the preflight fails, nothing is sent.
    ["header_not_allowed", (api) => observe(tfetch(api + "/api/data/header-not-allowed", {
      method: "PUT", headers: { ...json, "X-Not-Allowed": "1" }, body: "{}" }))],
    ["method_not_allowed", (api) => observe(tfetch(api + "/api/data/method-not-allowed", {
      method: "DELETE" }))],
    // fetch() does not upper-case "patch"; methods compare case-sensitively.
    ["lowercase_patch", (api) => observe(tfetch(api + "/api/data/lowercase-patch", {
      method: "patch", headers: json, body: "{}" }))],
    // An upstream error status is readable (corsd's CORS headers are on it).
    ["upstream_404", (api) => observe(tfetch(api + "/api/status/404"))],
    // Large bodies both ways. The upload follows earlier requests on a kept-alive
    // connection, so corsd must read a body far larger than a request head there.
    ["large_download", (api) => observe(tfetch(api + "/api/large/download"), "bytes")],
    ["large_chunked", (api) => observe(tfetch(api + "/api/large-chunked/download"), "bytes")],
    ["large_upload", async (api) => {
      const body = uploadBody(UPLOAD_SIZE);
      const sent = await digest(body);
      const o = await observe(tfetch(api + "/api/upload/large-upload", {
        method: "PUT", headers: { "Content-Type": "application/octet-stream" }, body }));
      o.sent = sent;
      return o;
    }],
    // A policy without credentials: fine without cookies, refused with them.
    ["nocreds_get", (api) => observe(tfetch(api + "/plain/data/nocreds-get"))],
    ["nocreds_credentialed", (api) => observe(tfetch(api + "/plain/data/nocreds-cred", {
      credentials: "include" }))],
    // origins ["*"]: readable without credentials (expose "*" shows every header),
    // never with them.
    ["star_get", (api) => observe(tfetch(api + "/public/data/star-get"))],
    ["star_credentialed", (api) => observe(tfetch(api + "/public/data/star-cred", {
      credentials: "include" }))],
    // preflight: forward: the upstream answers the OPTIONS with CORS headers of its
    // own that do not allow this request; corsd's replace them.
    ["forward_put", (api) => observe(tfetch(api + "/forward/data/forward-put", {
      method: "PUT", headers: { ...json, "X-Request-ID": "rid-fwd" }, body: "{}" }))],
    // Denied origins.
    ["denied_get", (api) => observe(tfetch(api + "/denied/data/denied-get"))],
    ["denied_no_cors", (api) => observe(tfetch(api + "/denied/data/denied-no-cors", {
      mode: "no-cors" }))],
    ["denied_preflight", (api) => observe(tfetch(api + "/denied/data/denied-put", {
      method: "PUT", headers: { ...json, "X-Request-ID": "rid-denied" }, body: "{}" }))],
    ["omit_preflight", (api) => observe(tfetch(api + "/omit/data/omit-put", {
      method: "PUT", headers: { ...json, "X-Request-ID": "rid-omit" }, body: "{}" }))],
    ["enforce_get", (api) => observe(tfetch(api + "/enforce/data/enforce-get"))],
    // The upstream is down: corsd's 502 carries CORS headers, so the page reads it.
    ["upstream_down", (api) => observe(tfetch(api + "/down/data/down-get"))],
  ];

  // Runs every case in order (one at a time, so the logs read in order).
  window.corsdRunCases = async function (apiBase) {
    const results = {
      _page: { origin: location.origin, secure: window.isSecureContext,
               cookie: document.cookie, userAgent: navigator.userAgent },
    };
    window.corsdProgress = results;
    for (const [name, run] of CASES) {
      results._current = name;
      try {
        results[name] = await run(apiBase);
      } catch (e) {
        results[name] = { crashed: String(e && e.stack ? e.stack : e) };
      }
    }
    delete results._current;
    return results;
  };
  window.corsdCaseNames = CASES.map((c) => c[0]);
})();
