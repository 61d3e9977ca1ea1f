#pragma once
// The page GET /dashboard serves (jobs/api.hpp): one HTML document with its CSS and JavaScript inline,
// no build step and nothing fetched from elsewhere (the API answers it with a Content-Security-Policy
// that forbids any other origin). It polls the API it came from: GET /execution/list for the jobs, GET
// /metrics for the jobs by status, the queue's depth and the live workers, every `interval` ms (the
// ?interval=MS query parameter, 250 to 60000, default 1000).
//
// It shows what the API answers and nothing else: settings as the API echoes them, every secret
// "***" (the page never sees a secret). Text from jobs reaches the page through textContent only, so a
// job's name or error can never become markup. Each job links to its full view, /execution/get?job_id=ID&full.

#include <string_view>

namespace tributary::jobs {

inline constexpr std::string_view dashboard_html = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tributary jobs</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d232a; background: #fafbfc; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  h2 { font-size: 1.05em; margin: 1.4em 0 .4em; }
  #status { color: #667; font-size: .9em; }
  #status.down { color: #b00020; font-weight: 600; }
  .counts { display: flex; flex-wrap: wrap; gap: .6em; }
  .count { background: #fff; border: 1px solid #d8dde3; border-radius: 6px; padding: .4em .8em; min-width: 6em; }
  .count b { display: block; font-size: 1.4em; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { border-bottom: 1px solid #e3e7ec; padding: .3em .5em; text-align: left; vertical-align: top; }
  th { background: #f0f3f6; font-weight: 600; }
  td.settings { font-family: ui-monospace, monospace; font-size: .85em; max-width: 28em; overflow-wrap: anywhere; }
  .st-queued { color: #6a737d; } .st-started { color: #0b62c4; font-weight: 600; }
  .st-finished { color: #1a7f37; } .st-failed, .st-timed-out { color: #b00020; font-weight: 600; }
  .st-canceled { color: #9a6700; }
  .phase { white-space: nowrap; }
  select { font: inherit; }
</style>
</head>
<body>
<h1>tributary jobs</h1>
<div id="status">loading...</div>

<h2>Queue</h2>
<div class="counts" id="counts"></div>

<h2>Workers</h2>
<div id="workers-alive"></div>
<table id="workers"><thead><tr><th>worker</th><th>job</th><th>platform</th><th>progress</th></tr></thead><tbody></tbody></table>

<h2>Jobs
  <select id="filter" aria-label="status">
    <option value="">all</option><option>queued</option><option>started</option><option>finished</option>
    <option>failed</option><option>canceled</option><option value="timed out">timed out</option>
  </select>
</h2>
<table id="jobs">
  <thead><tr><th>job</th><th>_id</th><th>platform</th><th>status</th><th>progress</th><th>attempts</th><th>worker</th>
  <th>enqueued</th><th>duration</th><th>settings</th><th>error / note</th></tr></thead>
  <tbody></tbody>
</table>

<script>
"use strict";
const params = new URLSearchParams(location.search);
const interval = Math.min(60000, Math.max(250, Number(params.get("interval")) || 1000));
const $ = (id) => document.getElementById(id);

async function json(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + " answered " + r.status);
  return r.json();
}

// The few Prometheus lines the page needs: name{label="v"} value.
async function metrics() {
  const r = await fetch("/metrics", { cache: "no-store" });
  if (!r.ok) throw new Error("/metrics answered " + r.status);
  const out = { byStatus: {}, queue: 0, workers: 0 };
  for (const line of (await r.text()).split("\n")) {
    if (line.startsWith("#") || !line.trim()) continue;
    const m = line.match(/^([a-z_]+)(\{([^}]*)\})?\s+([0-9.eE+-]+)$/);
    if (!m) continue;
    const value = Number(m[4]);
    const labels = Object.fromEntries([...(m[3] || "").matchAll(/([a-z_]+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (m[1] === "tributary_jobs" && labels.status && !labels.platform)
      out.byStatus[labels.status] = (out.byStatus[labels.status] || 0) + value;
    else if (m[1] === "tributary_jobs_queue_depth") out.queue = value;
    else if (m[1] === "tributary_jobs_workers_alive") out.workers = value;
  }
  return out;
}

function td(row, text, cls) {
  const cell = document.createElement("td");
  cell.textContent = text == null ? "" : String(text);
  if (cls) cell.className = cls;
  row.appendChild(cell);
  return cell;
}

function progressText(job) {
  return Object.entries(job.progress || {}).map(([phase, p]) => phase + ": " + p.state).join("; ");
}

function when(ms) { return ms == null ? "" : new Date(ms).toLocaleString(); }

function duration(job) {
  if (job.started_at_ms == null) return "";
  const end = job.ended_at_ms == null ? Date.now() : job.ended_at_ms;
  return ((end - job.started_at_ms) / 1000).toFixed(1) + " s";
}

function jobLink(job) {
  const a = document.createElement("a");
  a.href = "/execution/get?job_id=" + encodeURIComponent(job.job_id) + "&full";
  a.textContent = job.job_id;
  a.title = "the job's full view";
  return a;
}

function renderCounts(m) {
  const box = $("counts");
  box.replaceChildren();
  const add = (label, value) => {
    const d = document.createElement("div");
    d.className = "count";
    const b = document.createElement("b");
    b.textContent = String(value);
    d.append(b, label);
    box.appendChild(d);
  };
  add("waiting in the queue", m.queue);
  for (const [status, n] of Object.entries(m.byStatus)) add(status.replace("_", " "), n);
}

function renderWorkers(m, jobs) {
  $("workers-alive").textContent = m.workers + " alive (heartbeat within the timeout); busy ones:";
  const body = $("workers").tBodies[0];
  body.replaceChildren();
  for (const job of jobs.filter((j) => j.worker)) {
    const row = body.insertRow();
    td(row, job.worker);
    td(row, "").appendChild(jobLink(job));
    td(row, job.platform_id);
    td(row, progressText(job), "progress");
  }
}

function renderJobs(jobs) {
  const body = $("jobs").tBodies[0];
  body.replaceChildren();
  for (const job of jobs) {
    const row = body.insertRow();
    row.dataset.jobId = job.job_id;
    td(row, "").appendChild(jobLink(job));
    td(row, job._id);
    td(row, job.platform_id);
    td(row, job.status, "st-" + job.status.replace(" ", "-"));
    td(row, progressText(job), "progress");
    td(row, job.attempts + "/" + job.max_attempts);
    td(row, job.worker || "");
    td(row, when(job.enqueued_at_ms));
    td(row, duration(job));
    td(row, JSON.stringify(job.settings), "settings");
    td(row, [job.error, job.note].filter(Boolean).join(" | "));
  }
}

let timer = null;
async function refresh() {
  clearTimeout(timer);
  try {
    const filter = $("filter").value;
    const [list, running, m] = await Promise.all([
      json("/execution/list?limit=200" + (filter ? "&status=" + encodeURIComponent(filter) : "")),
      json("/execution/list?limit=200&status=started"),
      metrics()]);
    renderCounts(m);
    renderWorkers(m, running.jobs);
    renderJobs(list.jobs);
    $("status").className = "";
    $("status").textContent = "updated " + new Date().toLocaleTimeString() + ", every " + interval / 1000 + " s";
  } catch (e) {
    $("status").className = "down";
    $("status").textContent = "cannot reach the API: " + e.message;
  } finally {
    timer = setTimeout(refresh, interval);
  }
}
$("filter").addEventListener("change", () => refresh());
refresh();
</script>
</body>
</html>
)html";

}  // namespace tributary::jobs
