// The console's service panel: workers online, the backlog per topic, jobs in flight, the day's failures and the
// storage used, from GET /api/admin/service/ every few seconds (no reload). Uses console.js's API helpers.
"use strict";

(() => {
  const shared = window.videoflixConsole;
  if (!shared || shared.state !== "staff") return;
  const { api, problem, duration, bytes } = shared;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 5000;
  const STAGES = { waiting: "waiting for a worker", encode: "encoding", avc: "best H.264 ladder", av1: "AV1 ladder", hevc: "HEVC ladder",
    captions: "automatic captions" };

  function cells(row, texts) {
    for (const text of texts) {
      const td = document.createElement("td");
      td.textContent = text;
      row.append(td);
    }
    return row;
  }

  function ago(seconds) {
    return seconds < 1 ? "just now" : `${duration(seconds)} ago`;
  }

  function workers(panel) {
    const listed = panel.workers.filter((w) => w.state !== "stopped" || w.seen_seconds_ago < 3600);
    const online = listed.filter((w) => w.state === "online");
    const gone = listed.filter((w) => w.state === "gone");
    const summary = $("workers-summary");
    summary.textContent = `${online.length} worker${online.length === 1 ? "" : "s"} online`;
    if (gone.length) summary.textContent += `, ${gone.length} gone`;
    summary.className = online.length ? "summary" : "summary alarm";
    $("workers-alarm").hidden = online.length > 0;
    const kafka = panel.kafka;
    $("kafka-group").textContent = kafka.measured
      ? `Kafka consumer group: ${kafka.state}, ${kafka.members} member${kafka.members === 1 ? "" : "s"} ` +
        `(asked ${ago(kafka.seconds_ago)})`
      : `Kafka consumer group: unknown (${kafka.reason})`;
    const rows = listed.map((w) => {
      const row = cells(document.createElement("tr"), [w.name, w.state, w.state === "online" ? String(w.jobs) : "–",
        ago(w.seen_seconds_ago), new Date(w.started_at).toLocaleString()]);
      row.dataset.worker = w.name;
      row.dataset.state = w.state;
      row.cells[1].className = `worker-${w.state}`;
      return row;
    });
    $("worker-rows").replaceChildren(...rows);
  }

  function backlog(panel) {
    const rows = panel.backlog.map((topic) => {
      const outbox = topic.outbox
        ? `${topic.outbox} (oldest ${duration(topic.outbox_oldest_seconds || 0)})` : "0";
      const row = cells(document.createElement("tr"), [topic.topic, outbox,
        topic.lag === null ? "unknown" : String(topic.lag), String(topic.total)]);
      row.dataset.topic = topic.topic;
      row.dataset.total = String(topic.total);
      return row;
    });
    $("backlog-rows").replaceChildren(...rows);
    const waiting = panel.backlog.reduce((sum, topic) => sum + topic.total, 0);
    $("backlog-summary").textContent = waiting ? `${waiting} event${waiting === 1 ? "" : "s"} waiting` : "Nothing waits";
  }

  function jobs(panel) {
    const items = panel.jobs.map((job) => {
      const item = document.createElement("li");
      item.dataset.videoId = String(job.video_id);
      const stages = job.stages.map((s) => {
        const notes = [STAGES[s.stage] || s.stage];
        if (s.stage !== "waiting") notes.push(`${s.progress}%`);
        if (s.eta_seconds != null) notes.push(`about ${duration(s.eta_seconds)} left`);
        if (s.speed) notes.push(`${s.speed.toFixed(1)}× realtime`);
        return notes.join(" ");
      });
      item.textContent = `${job.title}: ${stages.join(" · ")}`;
      return item;
    });
    $("job-rows").replaceChildren(...items);
    $("jobs-summary").textContent = `${items.length} film${items.length === 1 ? "" : "s"} in the works`;
  }

  function failures(panel) {
    const count = panel.failures.last_24h;
    $("failures-summary").textContent = `${count} failure${count === 1 ? "" : "s"} in the last 24 hours`;
    $("failures-summary").className = count ? "summary alarm" : "summary";
    const items = panel.failures.recent.map((f) => {
      const item = document.createElement("li");
      item.textContent = `${f.title} (${f.stage === "captions" ? "automatic captions" : "encoding"}, ` +
        `${new Date(f.at).toLocaleString()}): ${f.reason || "no reason recorded"}` +
        (f.advice ? ` What to do: ${f.advice}` : "");
      return item;
    });
    $("failure-rows").replaceChildren(...items);
  }

  function storage(panel) {
    const s = panel.storage;
    let text = `${bytes(s.used_bytes)} used by the films`;
    if (s.capacity_bytes != null) text += `; ${bytes(s.free_bytes)} free of ${bytes(s.capacity_bytes)}`;
    if (s.films_measured < s.films) text += ` (${s.films_measured} of ${s.films} films measured so far)`;
    $("storage-summary").textContent = text;
    const low = s.capacity_bytes != null && s.free_bytes < s.capacity_bytes * 0.1;
    $("storage-summary").className = low ? "summary alarm" : "summary";
  }

  async function load() {
    const response = await api("GET", "/admin/service/");
    if (!response.ok) {
      $("service-updated").textContent = await problem(response);
      return;
    }
    const panel = await response.json();
    workers(panel);
    backlog(panel);
    jobs(panel);
    failures(panel);
    storage(panel);
    $("service-updated").textContent = `Updated ${new Date().toLocaleTimeString()}, every ${POLL_MS / 1000} s`;
  }

  async function poll() {
    try {
      await load();
    } catch (error) {
      $("service-updated").textContent = `The panel could not be refreshed (${error.message}); trying again.`;
    }
    setTimeout(poll, POLL_MS);
  }

  poll();
})();
