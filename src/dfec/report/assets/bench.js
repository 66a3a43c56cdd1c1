/* FEC-Bench leaderboard page: sortable table, per-metric bars, per-sample captions with the judge's
   matched / opposite / missed / extra events. Reads #bench-data; no network. */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("bench-data").textContent);
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  const fmt = (col, v) => (v == null ? "-" : v.toFixed(col.judge ? 2 : 3));
  let sortKey = null, sortDir = -1, active = null, shown = 0;

  const best = {};
  for (const c of D.columns) {
    const vals = D.rows.map((r) => r.values[c.key]).filter((v) => v != null);
    if (vals.length > 1) best[c.key] = Math.max(...vals);
  }

  /* ------------------------------------------------------------------ table */
  function drawTable() {
    const head = `<tr><th data-k="label">Model</th>` + D.columns.map((c) => `<th data-k="${c.key}">${esc(c.title)}</th>`).join("") +
      `<th data-k="n">n</th></tr>`;
    $("board").tHead.innerHTML = head;
    for (const th of $("board").tHead.rows[0].cells) {
      if (th.dataset.k === sortKey) th.className = sortDir < 0 ? "sorted-desc" : "sorted-asc";
      th.addEventListener("click", () => {
        sortDir = sortKey === th.dataset.k ? -sortDir : (th.dataset.k === "label" ? 1 : -1);
        sortKey = th.dataset.k; drawTable();
      });
    }
    const rows = D.rows.slice();
    if (sortKey) {
      const val = (r) => (sortKey === "label" ? r.label.toLowerCase() : sortKey === "n" ? r.n : r.values[sortKey]);
      rows.sort((a, b) => {
        const x = val(a), y = val(b);
        if (x == null && y == null) return 0;
        if (x == null) return 1;
        if (y == null) return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
      });
    }
    $("board").tBodies[0].innerHTML = rows.map((r) => {
      const cls = [r.source === "paper" ? "paper" : "run", r.key === active ? "active" : ""].join(" ");
      return `<tr class="${cls}" data-key="${r.key}"><td>${esc(r.label)}</td>` + D.columns.map((c) =>
        `<td class="${r.values[c.key] != null && r.values[c.key] === best[c.key] ? "best" : ""}">${fmt(c, r.values[c.key])}</td>`).join("") +
        `<td>${r.n == null ? "-" : r.n}</td></tr>`;
    }).join("");
    for (const tr of $("board").tBodies[0].rows) if (tr.classList.contains("run")) tr.addEventListener("click", () => pick(tr.dataset.key));
  }

  /* ------------------------------------------------------------------ charts */
  function drawCharts() {
    $("charts").innerHTML = D.columns.map((c) => {
      const rows = D.rows.filter((r) => r.values[c.key] != null);
      const top = c.judge ? 5 : Math.max(0.05, ...rows.map((r) => r.values[c.key])) * 1.05;
      const bars = rows.map((r) => `<div class="bar ${r.source === "paper" ? "paper" : "run"} ${r.key === active ? "active" : ""}" data-key="${r.key}">` +
        `<span class="l" title="${esc(r.label)}">${esc(r.label)}</span><span><span class="b" style="display:block;width:${(100 * r.values[c.key] / top).toFixed(1)}%"></span></span>` +
        `<span>${fmt(c, r.values[c.key])}</span></div>`).join("");
      return `<div class="chart"><h3>${esc(c.title)}${c.judge ? " (judge, 0-5)" : ""}</h3>${bars || '<p class="note">no values</p>'}</div>`;
    }).join("");
    for (const b of document.querySelectorAll(".bar.run")) b.addEventListener("click", () => pick(b.dataset.key));
  }

  /* ------------------------------------------------------------------ samples */
  function marked(text, events) {
    /* highlight each event where its words occur verbatim in the caption, in order */
    if (!text) return '<span class="note">(not available)</span>';
    const low = text.toLowerCase(), spans = [];
    let pos = 0;
    for (const e of events) {
      const j = e.text ? low.indexOf(e.text.toLowerCase(), pos) : -1;
      if (j >= 0) { spans.push([j, j + e.text.length, e.status]); pos = j + e.text.length; }
    }
    let out = "", at = 0;
    for (const [a, b, s] of spans) { out += esc(text.slice(at, a)) + `<span class="ev ${s}">${esc(text.slice(a, b))}</span>`; at = b; }
    return out + esc(text.slice(at));
  }
  const chips = (events) => `<div class="chips">${events.map((e) => `<span class="ev ${e.status}" title="${e.status}">${esc(e.text)}</span>`).join("")}</div>`;
  function sampleHTML(s) {
    if (s.failed) return `<div class="sample" data-id="${esc(s.id)}"><div class="head"><b>${esc(s.id)}</b> · judge failed: ${esc(s.error || "")}</div></div>`;
    const n = (k) => (s[k] == null ? "-" : s[k].toFixed(3));
    const judge = Object.entries(s.scores || {}).map(([k, v]) => `${k} ${v}`).join(", ");
    return `<div class="sample" data-id="${esc(s.id)}"><div class="head"><b>${esc(s.id)}</b> · TEM ${n("tem")} · AutoDQ ${n("autodq")} · LCS ${n("lcs")} · CIDEr ${n("cider")}` +
      `${judge ? " · " + esc(judge) : ""}</div><div class="pair">` +
      `<div><h4>prediction</h4><div class="txt pred">${marked(s.pred, s.events_pred)}</div>${chips(s.events_pred)}</div>` +
      `<div><h4>reference</h4><div class="txt ref">${marked(s.ref, s.events_ref)}</div>${chips(s.events_ref)}</div></div></div>`;
  }
  function visible() {
    const q = $("filter").value.trim().toLowerCase();
    let list = (D.samples[active] || []).filter((s) => !q || s.id.toLowerCase().includes(q) ||
      (s.pred || "").toLowerCase().includes(q) || (s.ref || "").toLowerCase().includes(q));
    const how = $("sort").value;
    const tem = (s) => (s.tem == null ? -1 : s.tem);
    if (how === "tem-asc") list.sort((a, b) => tem(a) - tem(b));
    else if (how === "tem-desc") list.sort((a, b) => tem(b) - tem(a));
    else list.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
    return list;
  }
  function drawSamples(reset) {
    if (!active) return;
    const list = visible();
    if (reset) { shown = 0; $("samples").innerHTML = ""; }
    const next = list.slice(shown, shown + 50);
    $("samples").insertAdjacentHTML("beforeend", next.map(sampleHTML).join(""));
    shown += next.length;
    $("more").style.display = shown < list.length ? "inline-block" : "none";
    $("count").textContent = `${list.length} sample(s)` + (shown < list.length ? `, ${shown} shown` : "");
  }
  function pick(key) {
    const row = D.rows.find((r) => r.key === key);
    if (!row) return;
    active = key;
    $("sampletitle").textContent = `Per-sample captions: ${row.label}`;
    drawTable(); drawCharts();
    if (!row.has_samples) {
      $("samples").innerHTML = '<p class="note">No per-sample results for this row (its results.json has no per_sample, or it is a published row).</p>';
      $("count").textContent = ""; $("more").style.display = "none";
    } else drawSamples(true);
    $("samplecard").scrollIntoView({ block: "start" });
  }
  $("filter").addEventListener("input", () => drawSamples(true));
  $("sort").addEventListener("change", () => drawSamples(true));
  $("more").addEventListener("click", () => drawSamples(false));
  drawTable();
  drawCharts();
  window.dfecBench = { data: D, pick: pick };
})();
