/* The restore portal's script (api/portal_page.py serves it): sign-in with MSAL for the browser (authorization
   code flow with PKCE against the authority in the page's config), then everything through /api/v1 with the
   user's access token: the resources the API lets the user see (their own; operators: any), a resource's restore
   points, its folders and items as of a point or a date, search, preview, download, restore, and the restore
   jobs followed until they finish. The API decides what the user may do; the page only shows its answers. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("portal-config").textContent);
  var here = location.origin + location.pathname;
  var state = { account: null, resources: [], resource: "", category: "", path: "", runId: "", at: "",
                search: null, continuation: null, selected: new Map(), jobs: new Map(), seq: 0 };
  var pca = null;
  var DONE = ["succeeded", "partial", "failed", "interrupted", "cancelled"];
  var OPERATOR_ROLES = ["Restore.Operator", "Backup.Admin"];

  function $(id) { return document.getElementById(id); }
  function say(text, bad) { var m = $("message"); m.textContent = text || ""; m.className = bad ? "bad" : ""; }
  function fail(error) { say(error && error.message ? error.message : String(error), true); }
  // every user action runs through `run`: body[data-busy] counts the actions in flight (tests wait for "0")
  var busy = 0;
  function setBusy(delta) { busy += delta; document.body.dataset.busy = String(busy); }
  function run(action) {
    setBusy(1);
    return Promise.resolve().then(action).catch(fail).finally(function () { setBusy(-1); });
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function size(n) {
    if (n === null || n === undefined) return "";
    var units = ["B", "KB", "MB", "GB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }
  function workloadOf(resource) { return resource.split(":")[0]; }
  function labelOf(resource) {  // "Adele Vance (onedrive)": the display name discovery recorded, else the key
    var found = state.resources.filter(function (r) { return r.resource === resource; })[0];
    var name = found && (found.display_name || found.name);
    return name ? name + " (" + workloadOf(resource) + ")" : resource;
  }

  async function token() {
    var request = { scopes: [config.scope], account: state.account };
    try {
      return (await pca.acquireTokenSilent(request)).accessToken;
    } catch (error) {
      if (error instanceof msal.InteractionRequiredAuthError) await pca.acquireTokenRedirect(request);
      throw error;
    }
  }

  async function api(path, params, options) {
    var url = new URL(config.api + path, location.origin);
    Object.keys(params || {}).forEach(function (k) {
      var v = params[k];
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    });
    var init = Object.assign({}, options || {});
    init.headers = Object.assign({ Authorization: "Bearer " + (await token()) }, init.headers || {});
    var response = await fetch(url, init);
    if (!response.ok) {
      var detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (ignored) { /* not a problem document */ }
      var error = new Error(detail + " (HTTP " + response.status + ")");
      error.status = response.status;
      throw error;
    }
    return response;
  }
  function resourcePath(suffix) { return "/resources/" + encodeURIComponent(state.resource) + suffix; }
  function pointParams() { return state.at ? { at: state.at } : { run_id: state.runId }; }

  // -- sign-in ----------------------------------------------------------------------------------------------
  async function start() {
    $("sign-in").addEventListener("click", function () {
      run(function () { return pca.loginRedirect({ scopes: [config.scope] }); });
    });
    $("sign-out").addEventListener("click", function () {
      run(function () { return pca.logoutRedirect({ account: state.account, postLogoutRedirectUri: here }); });
    });
    if (config.problem) { say(config.problem, true); return; }
    pca = new msal.PublicClientApplication({
      auth: { clientId: config.clientId, authority: config.authority, knownAuthorities: config.knownAuthorities,
              redirectUri: here, postLogoutRedirectUri: here },
      cache: { cacheLocation: "sessionStorage" },
    });
    await pca.initialize();
    var result = await pca.handleRedirectPromise();
    var account = (result && result.account) || pca.getActiveAccount() || pca.getAllAccounts()[0];
    if (!account) { $("signed-out").hidden = false; return; }
    pca.setActiveAccount(account);
    state.account = account;
    await signedIn();
  }

  async function signedIn() {
    var me = await (await api("/me")).json();
    var roles = me.roles.length ? " (" + me.roles.join(", ") + ")" : "";
    $("user").textContent = (state.account.username || me.name) + roles;
    // operators restore into any resource of the same kind; a user only into their own
    state.operator = me.roles.some(function (r) { return OPERATOR_ROLES.indexOf(r) >= 0; });
    $("target").hidden = !state.operator;
    $("sign-out").hidden = false;
    $("browser").hidden = false;
    state.resources = (await (await api("/resources", { limit: 1000 })).json()).items;
    var wanted = new URLSearchParams(location.search).get("resource");
    var select = $("resource");
    state.resources.forEach(function (r) {
      var option = el("option", labelOf(r.resource));
      option.value = r.resource;
      select.appendChild(option);
    });
    if (!state.resources.length && !wanted) say("There is no backup of your data yet.");
    select.addEventListener("change", function () { run(function () { return chooseResource(select.value); }); });
    wireControls();
    await loadJobs();
    if (wanted || state.resources.length) await chooseResource(wanted || state.resources[0].resource);
  }

  // -- choosing what to browse ------------------------------------------------------------------------------
  async function chooseResource(resource) {
    state.resource = resource;
    $("resource").value = resource;
    $("query").value = "";
    $("preview").hidden = true;
    var categories = config.workloads[workloadOf(resource)] || [];
    var select = $("category");
    select.textContent = "";
    categories.forEach(function (c) { var o = el("option", c); o.value = c; select.appendChild(o); });
    state.category = categories[0] || "";
    var seq = ++state.seq;
    var listing = await (await api(resourcePath("/points"))).json();
    if (seq !== state.seq) return;
    var points = listing.items;
    var pointSelect = $("point");
    pointSelect.textContent = "";
    points.slice().reverse().forEach(function (p) {
      var label = (p.finished_at || p.started_at || p.run_id) + " (" + p.status + ")";
      var o = el("option", p.suspicious ? label + " — suspicious" : label);
      o.value = p.run_id;
      pointSelect.appendChild(o);
    });
    // the last clean point by default: the newest one not flagged by the ransomware signal (core/signals/)
    var newest = points.length ? points[points.length - 1] : null;
    state.runId = listing.last_clean_point || (newest ? newest.run_id : "");
    pointSelect.value = state.runId;
    if (newest && newest.suspicious) {
      say(listing.last_clean_point
        ? "The newest backup looks suspicious (" + (newest.suspicious_reasons || []).join("; ") + "): showing the last clean one."
        : "Every backup of this resource looks suspicious: choose a point with care.", true);
    }
    fillTargets(resource);
    state.at = "";
    $("at").value = "";
    await browse("");
  }

  function wireControls() {
    $("category").addEventListener("change", function () {
      state.category = $("category").value;
      run(function () { return browse(""); });
    });
    $("point").addEventListener("change", function () {
      state.runId = $("point").value; state.at = ""; $("at").value = ""; run(function () { return browse(state.path); });
    });
    $("at").addEventListener("change", function () {
      state.at = $("at").value ? new Date($("at").value).toISOString() : "";
      run(function () { return browse(""); });
    });
    $("search").addEventListener("submit", function (event) {
      event.preventDefault();
      run(function () { return search($("query").value.trim()); });
    });
    $("clear-search").addEventListener("click", function () {
      $("query").value = "";
      run(function () { return browse(state.path); });
    });
    $("more").addEventListener("click", function () { run(function () { return more(); }); });
    $("restore").addEventListener("click", function () { run(function () { return restore(); }); });
    $("download").addEventListener("click", function () { run(function () { return downloadSelected(); }); });
    var conflict = $("conflict");
    config.conflicts.forEach(function (c) { var o = el("option", c); o.value = c; conflict.appendChild(o); });
  }

  // -- listing ----------------------------------------------------------------------------------------------
  function clearSelection() { state.selected.clear(); updateButtons(); }
  function updateButtons() {
    var n = state.selected.size;
    $("restore").disabled = n === 0;
    $("download").disabled = n === 0;
    $("restore").textContent = n ? "Restore " + n + " selected" : "Restore selected";
  }

  async function browse(path) {
    state.path = path; state.search = null; clearSelection();
    var params = Object.assign({ path: path, category: state.category, page_size: 200 }, pointParams());
    var seq = ++state.seq;  // a later listing supersedes this one, whichever answers first
    var listing = await (await api(resourcePath("/tree"), params)).json();
    if (seq !== state.seq) return;
    state.continuation = listing.continuation;
    say("");
    renderCrumbs(path);
    var body = $("listing").tBodies[0];
    body.textContent = "";
    listing.folders.forEach(function (f) { body.appendChild(folderRow(f)); });
    listing.items.forEach(function (i) { body.appendChild(itemRow(i)); });
    if (!listing.folders.length && !listing.items.length) body.appendChild(emptyRow("Nothing here as of this point."));
    $("more").hidden = !state.continuation;
  }

  async function search(text) {
    if (!text) { await browse(state.path); return; }
    state.search = text; clearSelection();
    var params = Object.assign({ subject: text, category: state.category, page_size: 200 }, pointParams());
    var seq = ++state.seq;
    var page = await (await api(resourcePath("/items"), params)).json();
    if (seq !== state.seq) return;
    state.continuation = page.continuation;
    renderCrumbs(null);
    var body = $("listing").tBodies[0];
    body.textContent = "";
    page.items.forEach(function (i) { body.appendChild(itemRow(i)); });
    if (!page.items.length) body.appendChild(emptyRow("No item matches \u201c" + text + "\u201d."));
    $("more").hidden = !state.continuation;
  }

  async function more() {
    var body = $("listing").tBodies[0];
    var params = Object.assign({ category: state.category, page_size: 200, continuation: state.continuation },
                               pointParams());
    var page;
    if (state.search) page = await (await api(resourcePath("/items"), Object.assign(params, { subject: state.search }))).json();
    else page = await (await api(resourcePath("/tree"), Object.assign(params, { path: state.path }))).json();
    page.items.forEach(function (i) { body.appendChild(itemRow(i)); });
    state.continuation = page.continuation;
    $("more").hidden = !state.continuation;
  }

  function renderCrumbs(path) {
    var nav = $("crumbs");
    nav.textContent = "";
    if (path === null) { nav.appendChild(el("span", "Search results")); return; }
    var top = el("button", "Top", "link");
    top.addEventListener("click", function () { run(function () { return browse(""); }); });
    nav.appendChild(top);
    var parts = path.split("/").filter(Boolean), sofar = "";
    parts.forEach(function (part) {
      sofar += "/" + part;
      var target = sofar;
      nav.appendChild(el("span", " / "));
      var b = el("button", part, "link");
      b.addEventListener("click", function () { run(function () { return browse(target); }); });
      nav.appendChild(b);
    });
  }

  function emptyRow(text) { var tr = el("tr"); var td = el("td", text, "empty"); td.colSpan = 6; tr.appendChild(td); return tr; }

  function checkbox(key, entry, label) {
    var box = el("input");
    box.type = "checkbox";
    box.setAttribute("aria-label", "select " + label);
    box.addEventListener("change", function () {
      if (box.checked) state.selected.set(key, entry); else state.selected.delete(key);
      updateButtons();
    });
    var td = el("td"); td.appendChild(box); return td;
  }

  function folderRow(folder) {
    var tr = el("tr", null, "folder");
    tr.appendChild(checkbox("f:" + folder.path, { kind: "folder", path: folder.path, name: folder.name }, folder.name));
    var name = el("td"); var open = el("button", "\uD83D\uDCC1 " + folder.name, "link");
    open.addEventListener("click", function () { run(function () { return browse(folder.path); }); });
    name.appendChild(open); tr.appendChild(name);
    tr.appendChild(el("td", folder.path)); tr.appendChild(el("td")); tr.appendChild(el("td")); tr.appendChild(el("td"));
    return tr;
  }

  function itemRow(item) {
    var tr = el("tr", null, "item");
    var label = item.name || item.subject || item.id;
    tr.dataset.id = item.id;
    tr.appendChild(checkbox("i:" + item.id, { kind: "item", id: item.id, name: label }, label));
    tr.appendChild(el("td", label, "name"));
    tr.appendChild(el("td", item.folder));
    tr.appendChild(el("td", (item.received || item.modified || "").replace("T", " ").slice(0, 16), "time"));
    tr.appendChild(el("td", size(item.size), "num"));
    var actions = el("td");
    var preview = el("button", "Preview", "link");
    preview.addEventListener("click", function () { run(function () { return showPreview(item.id, label); }); });
    var download = el("button", "Download", "link");
    download.addEventListener("click", function () { run(function () { return downloadItem(item.id); }); });
    actions.appendChild(preview); actions.appendChild(download); tr.appendChild(actions);
    return tr;
  }

  // -- preview and downloads --------------------------------------------------------------------------------
  function filenameOf(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var star = /filename\*=UTF-8''([^;]+)/i.exec(header);
    if (star) return decodeURIComponent(star[1]);
    var plain = /filename="([^"]+)"/i.exec(header);
    return plain ? plain[1] : fallback;
  }
  function save(blob, name) {
    var url = URL.createObjectURL(blob), a = el("a");
    a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }
  function downloadParams(extra) { return Object.assign({ category: state.category }, pointParams(), extra); }

  async function downloadItem(id) {
    var response = await api(resourcePath("/download"), downloadParams({ item_id: id }));
    save(await response.blob(), filenameOf(response, id));
  }

  async function showPreview(id, label) {
    var response = await api(resourcePath("/download"), downloadParams({ item_id: id }));
    var type = response.headers.get("Content-Type") || "", blob = await response.blob();
    var text = $("preview-text");
    $("preview").hidden = false;
    $("preview-title").textContent = label;
    var body = /^(text\/|message\/|application\/json)/.test(type) || /\.(txt|md|csv|json|eml|ics|vcf)$/i.test(label)
      ? await blob.text() : "";
    var garbled = (body.match(/\uFFFD|\u0000/g) || []).length > body.length / 100;  // not text after all
    if (body && !garbled) {
      text.textContent = body.length > 20000 ? body.slice(0, 20000) + "\n\u2026" : body;
    } else {
      text.textContent = "(" + type + ", " + size(blob.size) + ": no preview, use Download)";
    }
  }

  async function downloadSelected() {
    var entries = Array.from(state.selected.values());
    for (var i = 0; i < entries.length; i += 1) {
      var e = entries[i];
      if (e.kind === "item") await downloadItem(e.id);
      else {
        var response = await api(resourcePath("/export"), downloadParams({ folder: e.path }));
        save(await response.blob(), filenameOf(response, e.name + ".zip"));
      }
    }
    say("Downloaded " + entries.length + " selected.");
  }

  // -- restores ---------------------------------------------------------------------------------------------
  function fillTargets(resource) {  // operators: the resources of the same kind a restore may go into
    var select = $("target-resource");
    select.textContent = "";
    var own = el("option", "this resource"); own.value = ""; select.appendChild(own);
    state.resources.forEach(function (r) {
      if (r.resource === resource || workloadOf(r.resource) !== workloadOf(resource)) return;
      var o = el("option", labelOf(r.resource)); o.value = r.resource; select.appendChild(o);
    });
  }

  function destination() {
    return document.querySelector("input[name=destination]:checked").value;
  }

  async function restore() {
    var entries = Array.from(state.selected.values());
    var base = { resource: state.resource, category: state.category, destination: destination(),
                 conflict: $("conflict").value };
    if (state.at) base.at = state.at; else base.run_id = state.runId;
    if (base.destination === "new-folder" && $("folder-name").value.trim()) base.destination_name = $("folder-name").value.trim();
    if (state.operator && $("target-resource").value) base.target_resource = $("target-resource").value;
    var bodies = [];
    var ids = entries.filter(function (e) { return e.kind === "item"; }).map(function (e) { return e.id; });
    if (ids.length) bodies.push(Object.assign({ item_ids: ids }, base));
    entries.filter(function (e) { return e.kind === "folder"; }).forEach(function (e) {
      bodies.push(Object.assign({ folder: e.path }, base));
    });
    for (var i = 0; i < bodies.length; i += 1) {
      var accepted = await (await api("/restores", {}, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(bodies[i]),
      })).json();
      state.jobs.set(accepted.id, { id: accepted.id, resource: state.resource, status: accepted.status });
      follow(accepted.id);
    }
    say("Restore started: " + bodies.length + " job" + (bodies.length > 1 ? "s" : "") + ", followed below.");
    clearSelection();
    document.querySelectorAll("#listing input[type=checkbox]").forEach(function (b) { b.checked = false; });
    renderJobs();
  }

  async function loadJobs() {
    var listed = (await (await api("/restores", { limit: 20 })).json()).items;
    listed.forEach(function (job) { state.jobs.set(job.id, job); });
    renderJobs();
  }

  function follow(id) {
    api("/restores/" + encodeURIComponent(id)).then(function (r) { return r.json(); }).then(function (job) {
      state.jobs.set(id, job);
      renderJobs();
      if (DONE.indexOf(job.status) < 0) setTimeout(function () { follow(id); }, 1000);
    }).catch(fail);
  }

  function progressText(job) {
    var p = job.progress || {};
    return Object.keys(p).filter(function (k) { return typeof p[k] === "number"; })
      .map(function (k) { return k + " " + p[k]; }).join(", ");
  }

  function renderJobs() {
    var body = $("jobs").tBodies[0];
    body.textContent = "";
    var jobs = Array.from(state.jobs.values()).sort(function (a, b) { return a.id < b.id ? 1 : -1; });
    jobs.forEach(function (job) {
      var tr = el("tr"); tr.dataset.job = job.id;
      tr.appendChild(el("td", job.id, "key"));
      tr.appendChild(el("td", job.resource ? labelOf(job.resource) : ""));
      var status = el("td"); status.appendChild(el("span", job.status, "badge " + job.status)); tr.appendChild(status);
      tr.appendChild(el("td", progressText(job)));
      tr.appendChild(el("td", (job.created_at || job.started_at || "").replace("T", " ").slice(0, 19), "time"));
      body.appendChild(tr);
    });
    if (!jobs.length) { var tr = el("tr"); var td = el("td", "No restores yet.", "empty"); td.colSpan = 5; tr.appendChild(td); body.appendChild(tr); }
  }

  document.addEventListener("DOMContentLoaded", function () { run(function () { return start(); }); });
})();
