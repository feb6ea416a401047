// livedash page-view tracking: include with
//   <script defer src="http://<livedash host>/track.js" data-token="<ingest token>"></script>
// The token is an ingest token with the scope "events only" (Access page): it can send events
// and ask for experiment variants, nothing else, so it may be public. A sendBeacon cannot carry
// headers, so it travels as ?token=.
// It sends a page view (with the path, the full address, the referrer and the title) on load
// and on client-side navigation, and offers livedash.track(name, properties) for custom
// events. livedash reads the visit's source from the address and referrer and its device from
// the user agent; bots are counted apart. data-site="example.com" names the site (by default
// the page's host). The user id is anonymous and random, kept in local storage under
// "livedash:uid"; with data-mode="cookieless" (or data-cookieless), nothing is stored in the browser and no id is sent:
// livedash counts the visitor under an id of the day made from a daily salt, the site, the
// address and the user agent, none of which it keeps.
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = new URL("/api/v1/events", script ? script.src : location.href);
  var token = script && script.getAttribute("data-token");
  var site = script && script.getAttribute("data-site");
  var cookieless = script && (script.hasAttribute("data-cookieless") || script.getAttribute("data-mode") == "cookieless");
  if (token) endpoint.searchParams.set("token", token);
  endpoint = endpoint.href;

  function userId() {
    try {
      var id = localStorage.getItem("livedash:uid");
      if (!id) {
        var bytes = new Uint8Array(16);
        crypto.getRandomValues(bytes);
        id = Array.prototype.map.call(bytes, function (b) {
          return (b + 256).toString(16).slice(1);
        }).join("");
        localStorage.setItem("livedash:uid", id);
      }
      return id;
    } catch (e) {
      // Storage blocked: an id per page load is the best we can do.
      return "anon-" + Math.random().toString(16).slice(2);
    }
  }

  function track(name, properties) {
    properties = properties || {};
    if (!properties.url) properties.url = location.href;
    if (site && !properties.site) properties.site = site;
    var event = { event: String(name), ts: Date.now(), properties: properties };
    if (!cookieless) event.user_id = userId();
    var body = JSON.stringify([event]);
    // text/plain keeps it a simple request (no CORS preflight); livedash reads the JSON anyway.
    var blob = new Blob([body], { type: "text/plain" });
    if (!(navigator.sendBeacon && navigator.sendBeacon(endpoint, blob))) {
      fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "cors", headers: { "content-type": "text/plain" } });
    }
  }

  var lastPath = null;
  function pageView() {
    if (location.pathname === lastPath) return;
    lastPath = location.pathname;
    track("page_view", { path: location.pathname, referrer: document.referrer || "", title: document.title || "" });
  }

  var push = history.pushState;
  history.pushState = function () {
    push.apply(this, arguments);
    pageView();
  };
  addEventListener("popstate", pageView);
  window.livedash = { track: track };
  pageView();
})();
