/* dfec report: video with the tracked face drawn over it, signal timeline with a playback cursor,
   events and caption clauses linked to each other. Reads its data from #dfec-data; no network. */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("dfec-data").textContent);
  const $ = (id) => document.getElementById(id);
  const video = $("video"), overlay = $("overlay"), tl = $("tl"), timeline = $("timeline");
  const cursor = $("cursor"), spanBox = $("span"), clock = $("clock");
  const COLOURS = { eyes: "#4c72b0", mouth: "#dd8452", brows: "#55a868", head: "#8172b3", gaze: "#937860", face: "#6b7280" };
  const SERIES = ["#1f77b4", "#ff7f0e", "#2ca02c"];
  /* dfec time t counts from the first video frame; the media element's clock may start earlier
     (a container whose audio begins first): media time = t + OFF. */
  const OFF = D.video.offset || 0;
  const at = () => Math.max(0, (video.currentTime || 0) - OFF);
  const seekTo = (t) => { video.currentTime = t + OFF; };
  const duration = () => Math.max(D.duration || 0, isFinite(video.duration) ? video.duration - OFF : 0) || 1;
  const fmt = (t) => (t == null ? "-" : t.toFixed(2));
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

  /* ------------------------------------------------------------------ video source */
  function noVideo(msg) {
    video.style.display = "none";
    $("novideo").textContent = msg;
    $("novideo").style.display = "block";
  }
  const blob = $("dfec-video");
  if (D.video.mode === "embed" && blob) {
    const text = blob.textContent.trim();
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    video.src = URL.createObjectURL(new Blob([bytes], { type: D.video.mime || "video/mp4" }));
  } else if (D.video.mode === "link") {
    video.src = D.video.src;
  } else {
    noVideo("No video file was found for this report (give it with `dfec report DIR --video PATH`).");
  }
  video.addEventListener("error", () => noVideo("The video could not be loaded" +
    (D.video.mode === "link" ? " from " + D.video.src + " (relative to this page)." : ".")));

  /* ------------------------------------------------------------------ face overlay */
  const O = D.overlay;
  const EDGES = [[0, 16, false], [17, 21, false], [22, 26, false], [27, 30, false], [31, 35, false],
                 [36, 41, true], [42, 47, true], [48, 59, true], [60, 67, true]];
  if (O) {
    for (const t of O.tracks) {
      t.at = new Int32Array(Math.max(O.n_frames, 1) + 1).fill(-1);
      t.frames.forEach((f, i) => { if (f >= 0 && f < t.at.length) t.at[f] = i; });
    }
  }
  const show = { box: $("show-box"), lm: $("show-landmarks"), others: $("show-others") };
  function contentRect() {
    const w = video.clientWidth, h = video.clientHeight;
    const vw = video.videoWidth || (O ? O.frame_size[0] : w), vh = video.videoHeight || (O ? O.frame_size[1] : h);
    const s = Math.min(w / vw, h / vh);
    return { x: (w - vw * s) / 2, y: (h - vh * s) / 2, w: vw * s, h: vh * s };
  }
  function drawOverlay() {
    const dpr = window.devicePixelRatio || 1;
    const w = video.clientWidth, h = video.clientHeight;
    if (overlay.width !== Math.round(w * dpr) || overlay.height !== Math.round(h * dpr)) {
      overlay.width = Math.round(w * dpr); overlay.height = Math.round(h * dpr);
      overlay.style.width = w + "px"; overlay.style.height = h + "px";
    }
    const g = overlay.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    if (!O || !O.frame_size[0]) return;
    const r = contentRect();
    const sx = r.w / O.frame_size[0], sy = r.h / O.frame_size[1];
    const k = Math.max(0, Math.round(at() * O.fps));
    const X = (x) => r.x + x * sx, Y = (y) => r.y + y * sy;
    for (const t of O.tracks) {
      if (!t.main && !show.others.checked) continue;
      const i = k < t.at.length ? t.at[k] : -1;
      if (i < 0) continue;
      const colour = t.main ? "#28dc3c" : "#ff8c00";
      const b = t.boxes[i];
      g.setLineDash(t.interpolated[i] ? [5, 4] : []);
      g.strokeStyle = colour; g.lineWidth = t.main ? 2 : 1.5;
      if (show.box.checked || !t.main) {
        g.strokeRect(X(b[0]), Y(b[1]), (b[2] - b[0]) * sx, (b[3] - b[1]) * sy);
        g.font = "12px system-ui, sans-serif";
        const label = (t.main ? "main " : "") + "#" + t.id + (t.interpolated[i] ? " (interp.)" : "");
        const tw = g.measureText(label).width + 6;
        g.fillStyle = "rgba(0,0,0,.6)"; g.fillRect(X(b[0]), Y(b[1]) - 16, tw, 16);
        g.fillStyle = colour; g.fillText(label, X(b[0]) + 3, Y(b[1]) - 4);
      }
      g.setLineDash([]);
      if (t.main && show.lm.checked) {
        const p = t.landmarks[i];
        g.strokeStyle = "rgba(40,220,60,.85)"; g.lineWidth = 1;
        for (const [a, z, closed] of EDGES) {
          g.beginPath(); g.moveTo(X(p[2 * a]), Y(p[2 * a + 1]));
          for (let j = a + 1; j <= z; j++) g.lineTo(X(p[2 * j]), Y(p[2 * j + 1]));
          if (closed) g.closePath();
          g.stroke();
        }
        g.fillStyle = "#eaffea";
        for (let j = 0; j < p.length / 2; j++) { g.beginPath(); g.arc(X(p[2 * j]), Y(p[2 * j + 1]), 1.6, 0, 6.2832); g.fill(); }
      }
    }
  }

  /* ------------------------------------------------------------------ timeline */
  const LANE_H = 64, AXIS_H = 18, PAD = 10;
  const lanes = D.lanes.length ? D.lanes : [{ region: "", title: "no measured signals (no events.json)", series: [] }];
  function tX(t) { return PAD + (t / duration()) * (timeline.clientWidth - 2 * PAD); }
  function xT(x) { return Math.min(duration(), Math.max(0, ((x - PAD) / (timeline.clientWidth - 2 * PAD)) * duration())); }
  function drawTimeline() {
    const dpr = window.devicePixelRatio || 1, w = timeline.clientWidth, h = lanes.length * LANE_H + AXIS_H;
    tl.width = Math.round(w * dpr); tl.height = Math.round(h * dpr); tl.style.height = h + "px";
    const g = tl.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = "11px system-ui, sans-serif";
    lanes.forEach((lane, li) => {
      const top = li * LANE_H, bot = top + LANE_H - 4;
      g.fillStyle = li % 2 ? "#fbfbfc" : "#f3f5f8"; g.fillRect(PAD, top, w - 2 * PAD, LANE_H - 4);
      for (const e of D.events) {
        if (e.region !== lane.region) continue;
        const x0 = tX(e.start), x1 = Math.max(tX(e.end), x0 + 2);
        g.fillStyle = (COLOURS[e.region] || "#999") + (e.in_caption ? "40" : "1c");
        g.fillRect(x0, top, x1 - x0, LANE_H - 4);
      }
      // frames whose mouth was hidden (nothing read there): hatched on the mouth lanes; the
      // tracker's shot changes (no head movement read across one): dark on every lane
      const M = D.masks || { mouth_hidden: [], shot_changes: [] };
      if (lane.region === "mouth" || lane.region === "interior") {
        for (const [s, e] of M.mouth_hidden) {
          const x0 = Math.max(PAD, tX(s)), x1 = Math.min(w - PAD, Math.max(tX(e), x0 + 2));
          if (!(x1 > x0)) continue;
          g.save(); g.beginPath(); g.rect(x0, top, x1 - x0, LANE_H - 4); g.clip();
          g.strokeStyle = "rgba(60,60,60,.75)"; g.lineWidth = 1.5; g.beginPath();
          for (let x = x0 - (LANE_H - 4); x < x1; x += 6) { g.moveTo(x, bot); g.lineTo(x + LANE_H - 4, top); }
          g.stroke(); g.restore();
        }
      }
      g.fillStyle = "rgba(40,40,40,.5)";
      for (const [s, e] of M.shot_changes) {
        const x0 = Math.max(PAD, tX(s)), x1 = Math.min(w - PAD, Math.max(tX(e), x0 + 2));
        if (x1 > x0) g.fillRect(x0, top, x1 - x0, LANE_H - 4);
      }
      let lo = Infinity, hi = -Infinity;
      if (lane.range) { lo = lane.range[0]; hi = lane.range[1]; }  // a fixed scale (the voice score: 0-1)
      else for (const s of lane.series) for (const v of s.y) if (v != null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
      const pad = 0.08 * (hi - lo); lo -= pad; hi += pad;
      const Y = (v) => bot - ((v - lo) / (hi - lo)) * (LANE_H - 8);
      if (lane.threshold != null) {  // the level at which a frame is voiced, dotted
        g.strokeStyle = "#2a9d8f"; g.lineWidth = 1; g.setLineDash([2, 3]); g.beginPath();
        g.moveTo(PAD, Y(lane.threshold)); g.lineTo(w - PAD, Y(lane.threshold)); g.stroke(); g.setLineDash([]);
      }
      lane.series.forEach((s, si) => {
        g.strokeStyle = SERIES[si % SERIES.length]; g.lineWidth = 1.3; g.beginPath();
        let pen = false;
        s.y.forEach((v, i) => {
          if (v == null || D.times[i] == null) { pen = false; return; }
          const x = tX(D.times[i]);
          if (pen) g.lineTo(x, Y(v)); else { g.moveTo(x, Y(v)); pen = true; }
        });
        g.stroke();
      });
      g.fillStyle = "#39424e"; g.fillText(lane.title, PAD + 4, top + 12);
    });
    g.strokeStyle = "rgba(0,0,0,.45)"; g.setLineDash([4, 3]);
    for (const b of D.segments_bounds) { const x = tX(b * duration()); g.beginPath(); g.moveTo(x, 0); g.lineTo(x, lanes.length * LANE_H); g.stroke(); }
    g.setLineDash([]);
    const axisY = lanes.length * LANE_H, d = duration();
    const step = d > 60 ? 10 : d > 20 ? 5 : d > 8 ? 1 : 0.5;
    g.fillStyle = "#5f6b7a"; g.strokeStyle = "#9aa3ad";
    for (let t = 0; t <= d + 1e-9; t += step) {
      const x = tX(t); g.beginPath(); g.moveTo(x, axisY); g.lineTo(x, axisY + 4); g.stroke();
      if (x < timeline.clientWidth - 18) g.fillText(t.toFixed(step < 1 ? 1 : 0) + " s", x - 8, axisY + 15);
    }
  }
  function legend() {
    const items = [];
    for (const lane of D.lanes) lane.series.forEach((s, si) => items.push(
      `<span><i style="background:${SERIES[si % SERIES.length]}"></i>${esc(lane.region)}: ${esc(s.label)}</span>`));
    items.push('<span>shaded: detected events (darker: in the caption); dashed: caption phases; dotted (sound): voiced level; red: playback</span>');
    const M = D.masks || { mouth_hidden: [], shot_changes: [] };
    if (M.mouth_hidden.length) items.push('<span>hatched (mouth): mouth hidden, no mouth movement read</span>');
    if (M.shot_changes.length) items.push('<span>dark grey: shot change, no head movement read across it</span>');
    $("legend").innerHTML = items.join("");
  }
  timeline.addEventListener("click", (ev) => {
    const r = timeline.getBoundingClientRect();
    seekTo(xT(ev.clientX - r.left));
    tick();
  });

  /* ------------------------------------------------------------------ events + clauses */
  const evList = $("events");
  const order = D.events.slice().sort((a, b) => a.start - b.start || a.index - b.index);
  const items = {};
  for (const e of order) {
    const li = document.createElement("li");
    li.dataset.index = e.index; li.dataset.start = e.start; li.dataset.end = e.end;
    li.style.setProperty("--c", COLOURS[e.region] || "#999");
    if (!e.in_caption) li.className = "off";
    const when = e.end > e.start + 1e-6 ? `${fmt(e.start)}–${fmt(e.end)} s` : `${fmt(e.start)} s`;
    li.innerHTML = `<span class="t">${when}</span><span class="k">${esc(e.kind.replace(/_/g, " "))}</span>` +
      `<span class="x">${e.in_caption ? esc(e.text) : "detected, not in the caption"}</span>`;
    li.title = `${e.region || "face"} · intensity ${e.intensity == null ? "-" : e.intensity}`;
    li.addEventListener("click", () => select([e.index]));
    li.addEventListener("mouseenter", () => hover([e.index], true));
    li.addEventListener("mouseleave", () => hover([e.index], false));
    evList.appendChild(li);
    items[e.index] = li;
  }
  if (!D.events.length) {
    evList.innerHTML = `<li class="off"><span class="t"></span><span class="x">${D.has_events ?
      "no facial event was detected" : "no events.json: this caption was not produced from measured events"}</span></li>`;
  }
  const capBox = $("caption"), clauses = [];
  for (const seg of D.clauses) {
    const s = document.createElement("span");
    s.textContent = seg.text;
    s.className = "clause" + (seg.events.length ? " linked" : "");
    if (seg.events.length) {
      s.dataset.events = seg.events.join(" ");
      s.title = "from " + seg.events.map((i) => { const e = D.events[i]; return `${e.kind.replace(/_/g, " ")} at ${fmt(e.start)} s`; }).join(", ");
      s.addEventListener("click", () => select(seg.events));
      clauses.push({ el: s, events: seg.events });
    }
    capBox.appendChild(s);
  }
  const NOTE = { "clauses": "Each underlined clause is linked to the event(s) it came from (the captioner's clause list): click one to jump there.",
    "event-text": "Each underlined clause is linked to the measured event it describes: click one to jump there.",
    "unlinked": "This caption is not linked to events (the captioner did not say which event each phrase came from)." };
  $("linknote").textContent = D.caption ? NOTE[D.link_mode] : "No caption was found in this folder.";

  let selected = [];
  function eventEnd(e) { return Math.max(e.end, e.start + 1 / (O ? O.fps : 16)); }
  function select(indices) {
    selected = indices.filter((i) => D.events[i]);
    if (!selected.length) return;
    const evs = selected.map((i) => D.events[i]);
    const t0 = Math.min(...evs.map((e) => e.start)), t1 = Math.max(...evs.map(eventEnd));
    for (const li of Object.values(items)) li.classList.toggle("selected", selected.includes(+li.dataset.index));
    for (const c of clauses) c.el.classList.toggle("selected", c.events.some((i) => selected.includes(i)));
    spanBox.style.left = tX(t0) + "px"; spanBox.style.width = Math.max(2, tX(t1) - tX(t0)) + "px";
    spanBox.style.display = "block";
    spanBox.dataset.start = t0; spanBox.dataset.end = t1;
    seekTo(t0);
    if (items[selected[0]]) items[selected[0]].scrollIntoView({ block: "nearest" });
    tick();
  }
  function hover(indices, on) {
    for (const c of clauses) if (c.events.some((i) => indices.includes(i))) c.el.classList.toggle("hover", on);
  }

  /* ------------------------------------------------------------------ playback */
  function tick() {
    const t = at();
    cursor.style.left = tX(t) + "px";
    cursor.dataset.time = t.toFixed(3);
    clock.textContent = `${t.toFixed(2)} / ${duration().toFixed(2)} s`;
    const now = new Set(D.events.filter((e) => e.start <= t + 1e-6 && t <= eventEnd(e)).map((e) => e.index));
    for (const li of Object.values(items)) li.classList.toggle("now", now.has(+li.dataset.index));
    for (const c of clauses) c.el.classList.toggle("now", c.events.some((i) => now.has(i)));
    drawOverlay();
  }
  function loop() { tick(); if (!video.paused && !video.ended) requestAnimationFrame(loop); }
  video.addEventListener("play", () => requestAnimationFrame(loop));
  for (const name of ["timeupdate", "seeked", "loadeddata", "pause"]) video.addEventListener(name, tick);
  for (const box of Object.values(show)) box.addEventListener("change", drawOverlay);
  function layout() {
    drawTimeline();
    if (spanBox.style.display === "block") {
      spanBox.style.left = tX(+spanBox.dataset.start) + "px";
      spanBox.style.width = Math.max(2, tX(+spanBox.dataset.end) - tX(+spanBox.dataset.start)) + "px";
    }
    tick();
  }
  window.addEventListener("resize", layout);
  video.addEventListener("loadedmetadata", layout);
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" || ev.target === video) return;
    if (ev.key === " ") { ev.preventDefault(); video.paused ? video.play() : video.pause(); }
    const step = 1 / (O ? O.fps : 16);
    if (ev.key === "ArrowRight") video.currentTime = Math.min(duration(), video.currentTime + step);
    if (ev.key === "ArrowLeft") video.currentTime = Math.max(0, video.currentTime - step);
  });
  legend();
  layout();
  /* for scripted checks (and the console): where things are */
  window.dfecReport = { data: D, timeToX: tX, select: select };
})();
