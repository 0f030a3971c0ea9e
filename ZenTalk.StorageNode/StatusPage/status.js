// The status page's only script: reads GET /node (same origin) every 5 s and fills the page. No framework, nothing
// loaded from elsewhere. Each figure's element carries the raw value in data-value, its text is the formatted one.
"use strict";

function formatBytes(n) {
  if (n === null || n === undefined) return "no limit";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function formatTime(iso) {
  return iso ? new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "none yet";
}

function set(field, value, text) {
  for (const el of document.querySelectorAll(`[data-field="${field}"]`)) {
    el.dataset.value = value === null || value === undefined ? "" : String(value);
    el.textContent = text === undefined ? String(value) : text;
  }
}

function render(node) {
  set("nodeId", node.nodeId);
  set("version", node.version);
  set("startedAt", node.startedAt, formatTime(node.startedAt));
  set("ready", node.ready, node.ready ? "ready" : "not ready");
  document.querySelector('[data-field="ready"]').classList.toggle("ok", node.ready);
  set("peers", node.peers);
  set("meshEndpoint", node.meshEndpoint);
  set("bootstrap", node.bootstrap, `--bootstrap ${node.bootstrap}`);
  set("storedBytes", node.storedBytes, formatBytes(node.storedBytes));
  set("quotaBytes", node.quotaBytes, formatBytes(node.quotaBytes));
  set("storedShards", node.storedShards);
  set("files", node.files);
  set("transfersInFlight", node.transfers.inFlight);
  set("transferSlots", node.transfers.slots);
  set("transfersWaiting", node.transfers.waiting);
  set("transferBudget", node.transfers.budgetBytes, formatBytes(node.transfers.budgetBytes));
  const r = node.lastRepair;
  set("repairAt", r ? r.at : null, formatTime(r ? r.at : null));
  for (const k of ["FilesChecked", "ShardsRepaired", "ShardsDropped", "SegmentsLost", "SegmentsUnreachable"]) {
    const key = k[0].toLowerCase() + k.slice(1);
    set("repair" + k, r ? r[key] : null, r ? String(r[key]) : "–");
  }
  set("errorCount", node.recentErrors.length,
    node.recentErrors.length === 0 ? "None since the node started." : `${node.recentErrors.length} most recent, newest first:`);
  const body = document.getElementById("errors");
  body.replaceChildren(...node.recentErrors.map(e => {
    const row = document.createElement("tr");
    for (const text of [formatTime(e.at), e.level, e.category, e.message]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const response = await fetch("/node", { headers: { "Accept": "application/json" }, cache: "no-store" });
    if (!response.ok) throw new Error(`GET /node answered ${response.status}`);
    render(await response.json());
    set("updatedAt", new Date().toISOString(), formatTime(new Date().toISOString()));
    problem.hidden = true;
    document.body.dataset.loaded = "1";
  } catch (e) {
    problem.textContent = `Cannot read the node's status: ${e.message}`;
    problem.hidden = false;
    document.body.dataset.failed = "1";
  }
}

refresh();
setInterval(refresh, 5000);
