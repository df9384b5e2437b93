// The demo frontend: plain JavaScript, no build step. Every call goes to the API with
// `credentials: "include"`, so the browser sends the API's HttpOnly cookies; this code
// never sees a token. Data from the API only ever reaches the page through
// `textContent`.
"use strict";

(function () {
  const API = window.AUTHGATE_DEMO && window.AUTHGATE_DEMO.apiUrl;
  const byId = (id) => document.getElementById(id);

  function setText(id, text) {
    const element = byId(id);
    if (element) element.textContent = text;
  }

  // #status carries both a sentence and a machine-readable state:
  // loading | signed-in | signed-out | error.
  function setStatus(state, text) {
    const status = byId("status");
    status.dataset.state = state;
    status.textContent = text;
  }

  // Shows the `.signed-in-only` or the `.signed-out-only` parts of the page.
  function showSignedIn(signedIn) {
    for (const element of document.querySelectorAll(".signed-in-only")) {
      element.hidden = !signedIn;
    }
    for (const element of document.querySelectorAll(".signed-out-only")) {
      element.hidden = signedIn;
    }
  }

  function api(path, options) {
    return fetch(API + path, Object.assign({ credentials: "include", cache: "no-store" }, options));
  }

  function postJson(path, body) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  async function jsonOf(response) {
    try {
      return await response.json();
    } catch (_) {
      return {};
    }
  }

  // A path on this origin, or "/": never an open redirect.
  function localPath(path) {
    return typeof path === "string" && path.startsWith("/") && !path.startsWith("//") &&
      !path.startsWith("/\\") ? path : "/";
  }

  // An http(s) URL, or null.
  function httpUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  // The API's /auth/login sends the browser to the issuer; after signing in it comes
  // back through /auth/callback and ends on /me.
  function login() {
    location.assign(API + "/auth/login?redirect=" + encodeURIComponent("/me"));
  }

  // GET /api/me; fills the page and answers the user, or null when signed out.
  async function loadMe() {
    let response;
    try {
      response = await api("/api/me");
    } catch (_) {
      setStatus("error", "The API at " + API + " cannot be reached.");
      showSignedIn(false);
      return null;
    }
    if (response.status !== 200) {
      for (const id of ["me-sub", "me-email", "me-org", "me-role", "me-roles", "me-groups", "admin-status",
        "support-status", "refresh-status", "items-count", "add-item-status"]) {
        setText(id, "");
      }
      const list = byId("items-list");
      if (list) list.replaceChildren();
      setStatus("signed-out", "Signed out");
      showSignedIn(false);
      return null;
    }
    const me = await jsonOf(response);
    setText("me-sub", me.sub || "");
    setText("me-email", me.email || "");
    setText("me-org", me.organizationId || "");
    setText("me-role", me.role || "");
    setText("me-roles", Array.isArray(me.roles) ? me.roles.join(", ") : "");
    setText("me-groups", Array.isArray(me.groups) ? me.groups.join(", ") : "");
    setStatus("signed-in", "Signed in as " + (me.sub || "?"));
    showSignedIn(true);
    return me;
  }

  // Calls a role-guarded route and shows the status code it answered (200, 403, ...).
  async function guarded(path, outputId) {
    setText(outputId, "…");
    try {
      const response = await api(path);
      setText(outputId, String(response.status));
    } catch (_) {
      setText(outputId, "unreachable");
    }
  }

  async function loadItems() {
    setText("items-count", "…");
    const response = await api("/api/items");
    if (response.status !== 200) {
      setText("items-count", "error " + response.status);
      return;
    }
    const body = await jsonOf(response);
    const items = Array.isArray(body.items) ? body.items : [];
    setText("items-count", String(body.count));
    const list = byId("items-list");
    list.replaceChildren(...items.map((item) => {
      const li = document.createElement("li");
      li.textContent = item.name + " (#" + item.id + ", by " + item.owner + ")";
      return li;
    }));
  }

  async function addItem() {
    setText("add-item-status", "…");
    const response = await postJson("/api/items", { name: byId("item-name").value });
    setText("add-item-status", String(response.status));
    if (response.ok) await loadItems();
  }

  async function refresh() {
    setText("refresh-status", "…");
    const response = await api("/auth/refresh", { method: "POST" });
    setText("refresh-status", String(response.status));
    await loadMe();
  }

  async function logout() {
    const response = await api("/auth/logout", { method: "POST" });
    const body = await jsonOf(response);
    if (!response.ok) {
      setStatus("error", "Logout failed (" + response.status + ").");
      return;
    }
    // The cookies are gone; the issuer ends its session too, then sends the browser
    // back to this frontend.
    setStatus("signed-out", "Signed out");
    showSignedIn(false);
    location.assign(httpUrl(body.logoutUrl) || "/");
  }

  // /auth/callback?exchange=CODE: redeem the one-time code, then go where the login
  // asked to go.
  async function callback() {
    const code = new URLSearchParams(location.search).get("exchange");
    history.replaceState(null, "", "/auth/callback"); // drop the code from the address bar
    if (!code) {
      setStatus("error", "No exchange code here: log in from the home page.");
      showSignedIn(false);
      return;
    }
    let response;
    try {
      response = await postJson("/auth/exchange", { code: code });
    } catch (_) {
      setStatus("error", "The API at " + API + " cannot be reached.");
      return;
    }
    const body = await jsonOf(response);
    if (!response.ok) {
      const reason = typeof body.error === "string" ? ": " + body.error : "";
      setStatus("error", "Signing in failed (" + response.status + reason + ").");
      showSignedIn(false);
      return;
    }
    setStatus("signed-in", "Signed in");
    location.replace(localPath(body.redirectTo));
  }

  function on(id, handler) {
    const element = byId(id);
    if (!element) return;
    element.addEventListener("click", async () => {
      try {
        await handler();
      } catch (_) {
        setStatus("error", "The API at " + API + " cannot be reached.");
      }
    });
  }

  on("login", login);
  on("admin-btn", () => guarded("/api/admin", "admin-status"));
  on("support-btn", () => guarded("/api/support", "support-status"));
  on("load-items", loadItems);
  on("add-item", addItem);
  on("refresh-btn", refresh);
  on("logout-btn", logout);

  if (!API) {
    setStatus("error", "config.js did not load: the API URL is unknown.");
  } else if (document.body.dataset.page === "callback") {
    callback();
  } else {
    loadMe();
    // Back/forward cache: a page restored after logout asks the API again.
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) loadMe();
    });
  }
})();
