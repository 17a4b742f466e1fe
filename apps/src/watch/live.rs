//! The live page at `/_stack/`: plain HTML and a little JavaScript, served by the stack
//! and fetching nothing from anywhere else. Every second it reads `/_stack/stats` and
//! `/_stack/connections` and shows the counters that moved (with their rate), and each
//! connection with its state, window and RTT, a cwnd sparkline drawn from what it has
//! seen, and, when the stack traces connections, its time-sequence and cwnd plots
//! (`/_stack/connections/ID/seq.svg`, `cwnd.svg`).

/// The page.
pub const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>tunstack live</title>
<style>
body { font-family: sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.2em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f3f3f3; } td.name { text-align: left; }
.conn { border: 1px solid #bbb; border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.conn .head { font-weight: bold; } .conn .vars { font-family: monospace; margin: 4px 0; }
.charts img { width: 450px; height: 210px; border: 1px solid #ddd; margin-right: 6px; }
svg.spark { border: 1px solid #ddd; background: #fafafa; }
#status { color: #888; font-size: 0.85em; }
</style></head>
<body>
<h1>tunstack, live</h1>
<p id="status">loading&hellip;</p>
<h2>Connections</h2>
<div id="conns"><p>none yet</p></div>
<h2>Counters (per second over the last interval)</h2>
<table id="counters"><tr><th>counter</th><th>total</th><th>per second</th></tr></table>
<p><a href="/_stack/stats">/_stack/stats</a> &middot;
<a href="/_stack/connections?format=json">/_stack/connections</a></p>
<script>
"use strict";
const history = {};      // id -> [cwnd, ...], the last 120 seen
const traced = {};       // id -> whether the stack has a trace (plots) for it
let before = null, beforeAt = 0, tick = 0;

function esc(s) {
  return String(s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
}

function spark(values) {
  const w = 240, h = 50, max = Math.max(1, ...values);
  const pts = values.map((v, i) =>
    (i * w / Math.max(1, values.length - 1)).toFixed(1) + "," + (h - 2 - v / max * (h - 4)).toFixed(1));
  return '<svg class="chart spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h +
    '"><polyline fill="none" stroke="#1f5fbf" stroke-width="1.5" points="' + pts.join(" ") + '"/></svg>';
}

function ms(us) { return (us / 1000).toFixed(2) + " ms"; }

async function counters() {
  const now = await (await fetch("/_stack/stats", {cache: "no-store"})).json();
  const at = performance.now();
  const secs = before ? (at - beforeAt) / 1000 : 0;
  let rows = "<tr><th>counter</th><th>total</th><th>per second</th></tr>";
  for (const [k, v] of Object.entries(now)) {
    if (v === 0) continue;
    const rate = before && secs > 0 ? ((v - (before[k] || 0)) / secs).toFixed(1) : "";
    rows += '<tr><td class="name">' + esc(k) + "</td><td>" + v + "</td><td>" + rate + "</td></tr>";
  }
  document.getElementById("counters").innerHTML = rows;
  before = now; beforeAt = at;
}

async function connections() {
  const list = await (await fetch("/_stack/connections?format=json", {cache: "no-store"})).json();
  const box = document.getElementById("conns");
  if (list.length === 0) { box.innerHTML = "<p>none</p>"; return; }
  const seen = new Set();
  for (const c of list) {
    seen.add(String(c.id));
    (history[c.id] = history[c.id] || []).push(c.cwnd);
    if (history[c.id].length > 120) history[c.id].shift();
    if (traced[c.id] === undefined) {
      traced[c.id] = false;
      fetch("/_stack/connections/" + c.id + "/trace", {method: "HEAD"})
        .then(r => { traced[c.id] = r.ok; }).catch(() => {});
    }
    let el = document.getElementById("conn-" + c.id);
    if (!el) {
      el = document.createElement("div");
      el.className = "conn"; el.id = "conn-" + c.id;
      el.innerHTML = '<div class="head"></div><div class="vars"></div><div class="sparkbox"></div><div class="charts"></div>';
      box.appendChild(el);
    }
    el.querySelector(".head").textContent =
      "#" + c.id + "  " + c.state + "  " + c.local + " \u2192 " + c.remote + "  (" + c.congestion + ")";
    el.querySelector(".vars").textContent =
      "cwnd " + c.cwnd + " B  ssthresh " + (c.ssthresh === null ? "-" : c.ssthresh + " B") +
      "  in flight " + c.bytes_in_flight + " B  srtt " + ms(c.srtt_us) + "  rto " + ms(c.rto_us) +
      "  retrans " + c.retransmits + "  segs out " + c.segs_out +
      (c.pacing_rate_bps ? "  pacing " + (c.pacing_rate_bps / 1e6).toFixed(2) + " Mbit/s" : "") +
      (c.bbr ? "  bbr " + c.bbr.state + " bw " + (c.bbr.bw_bps / 1e6).toFixed(2) + " Mbit/s min_rtt " +
        (c.bbr.min_rtt_us === null ? "-" : ms(c.bbr.min_rtt_us)) +
        (c.bbr.inflight_longterm ? " inflight_hi " + c.bbr.inflight_longterm + " B" : "") +
        (c.bbr.bw_shortterm_bps ? " bw_lo " + (c.bbr.bw_shortterm_bps / 1e6).toFixed(2) + " Mbit/s" : "") : "");
    el.querySelector(".sparkbox").innerHTML = "cwnd " + spark(history[c.id]);
    const charts = el.querySelector(".charts");
    if (traced[c.id] && (tick % 2 === 0 || charts.children.length === 0)) {
      const q = "?t=" + tick;
      charts.innerHTML =
        '<img class="chart seq" alt="time-sequence graph" src="/_stack/connections/' + c.id + '/seq.svg' + q + '">' +
        '<img class="chart cwnd" alt="cwnd graph" src="/_stack/connections/' + c.id + '/cwnd.svg' + q + '">';
    }
  }
  for (const p of box.querySelectorAll("p")) p.remove();
  for (const el of Array.from(box.children)) {
    if (el.id && !seen.has(el.id.slice(5))) el.remove();
  }
}

async function update() {
  try {
    await Promise.all([counters(), connections()]);
    document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("status").textContent = "cannot reach the stack: " + e;
  }
  tick++;
}
update();
setInterval(update, 1000);
</script>
</body></html>
"##;
