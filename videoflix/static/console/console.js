// The operators' console: plain JavaScript against the staff API, no build step.
// Uploads go through tus-js-client (resumable, 16 MiB chunks), previews through hls.js; both are vendored.
"use strict";

(() => {
  const API = "/api";
  const POLL_MS = 2000;
  const REFRESH_MS = 10 * 60 * 1000; // the access cookie lives 30 min: renew it while the console is open
  const CHUNK = 16 * 1024 * 1024;
  const $ = (id) => document.getElementById(id);
  const state = document.body.dataset.state;

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function refresh() {
    const response = await fetch(`${API}/token/refresh/`, { method: "POST", headers: { "X-CSRFToken": csrf() } });
    return response.ok;
  }

  /** A JSON API call; a 401 is answered once by refreshing the access cookie and trying again. */
  async function api(method, path, body, retried = false) {
    const init = { method, headers: { "X-CSRFToken": csrf() } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, init);
    if (response.status === 401 && !retried && (await refresh())) return api(method, path, body, true);
    return response;
  }

  /** The API's error body ({detail, errors: {field: [messages]}}) as one readable sentence. */
  async function problem(response) {
    try {
      const data = await response.json();
      const fields = Object.entries(data.errors || {}).map(([name, messages]) => `${name}: ${messages.join(" ")}`);
      return [data.detail, ...fields].filter(Boolean).join(" ");
    } catch {
      return `${response.status} ${response.statusText}`;
    }
  }

  function say(text) {
    $("message").textContent = text;
  }

  function duration(seconds) {
    return seconds >= 90 ? `${Math.round(seconds / 60)} min` : `${Math.max(1, Math.round(seconds))} s`;
  }

  function mib(bytes) {
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  }

  /** A size as operators read it: 950 kB, 12.3 MB, 4.56 GB (decimal units, as disks and buckets are sold). */
  function bytes(count) {
    const units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let value = count;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return `${unit ? value.toPrecision(3) : value} ${units[unit]}`;
  }

  // -- session ---------------------------------------------------------------------------------------------
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const response = await fetch(`${API}/login/`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ email: form.elements.email.value, password: form.elements.password.value }),
    });
    if (response.ok) window.location.reload();
    else $("login-error").textContent = await problem(response);
  });

  $("logout").addEventListener("click", async () => {
    await api("POST", "/logout/");
    window.location.reload();
  });

  if (state === "anonymous" && csrf() && !sessionStorage.getItem("videoflix.refreshed")) {
    // the access cookie may only have expired: one refresh, then the page again
    sessionStorage.setItem("videoflix.refreshed", "1");
    refresh().then((ok) => ok && window.location.reload());
  }
  if (state !== "staff") return;
  sessionStorage.removeItem("videoflix.refreshed");
  setInterval(refresh, REFRESH_MS);

  // -- the videos table --------------------------------------------------------------------------------------
  const rows = new Map(); // video id -> <tr>
  let videos = new Map(); // video id -> the latest status JSON

  function button(label, name, action) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = label;
    element.dataset.action = action;
    element.setAttribute("aria-label", `${label} “${name}”`);
    return element;
  }

  /** A further ladder's name as operators read it: "av1" -> "AV1", "hevc" -> "HEVC", "avc" -> "best H.264" (the
   *  fast H.264 ladder's second stage, which takes its place in the master once listed). */
  function ladderName(name) {
    return { h264: "H.264", avc: "best H.264" }[name] || name.toUpperCase();
  }

  /** The further ladders with a verdict: a rendition names its twin in each (`{quality, listed}`). */
  function twinLadders(renditions) {
    const names = new Set();
    for (const r of renditions) {
      for (const [key, value] of Object.entries(r)) {
        if (value && typeof value === "object" && "listed" in value && value.quality) names.add(key);
      }
    }
    return [...names];
  }

  function mbits(bitsPerSecond) {
    return `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`;
  }

  /** Why a further ladder is not listed, in words an operator can act on: each rung that fell short. */
  function whyNotListed(name, twins) {
    const reasons = [];
    for (const r of twins) {
      const twin = r[name];
      if (twin.fit) continue;
      const below = r.quality ? r.quality.vmaf - twin.quality.vmaf : 0;
      if (below > 1) {
        reasons.push(`${r.name} scores ${twin.quality.vmaf.toFixed(1)}, ${below.toFixed(1)} points below ` +
          `H.264's ${r.quality.vmaf.toFixed(1)}`);
      } else {
        reasons.push(`${r.name} is not smaller than H.264's`);
      }
    }
    return (reasons.length ? reasons.join("; ") : "no rendition was measured") +
      (reasons.some((reason) => reason.includes("points below"))
        ? " (RATE_AIM gives a ladder more bits where H.264's quality needs them)" : "");
  }

  const SVG = "http://www.w3.org/2000/svg";
  const LADDER_COLOURS = { h264: "#1a73e8", avc: "#7b1fa2", av1: "#b20710", hevc: "#137333" };

  function svg(tag, attributes, text) {
    const element = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  /** Bitrate against quality, one line per ladder (H.264 and each further one measured): what per-title and AV1
   *  did for this film at a glance (further left is fewer bytes, higher is better). */
  function qualityChart(video, rated) {
    const ladders = [["h264", rated.map((r) => ({ name: r.name, bits: r.bandwidth, vmaf: r.quality.vmaf }))]];
    for (const name of twinLadders(rated)) {
      ladders.push([name, rated.filter((r) => r[name] && r[name].quality && r[name].bandwidth)
        .map((r) => ({ name: r.name, bits: r[name].bandwidth, vmaf: r[name].quality.vmaf }))]);
    }
    const points = ladders.flatMap(([, list]) => list).filter((p) => p.bits);
    const [width, height, left, bottom] = [260, 120, 34, 22];
    const maxBits = Math.max(...points.map((p) => p.bits));
    const lowest = Math.floor(Math.min(...points.map((p) => p.vmaf)) / 5) * 5;
    const x = (bits) => left + (bits / maxBits) * (width - left - 10);
    const top = 16;
    const y = (vmaf) => top + ((100 - vmaf) / Math.max(1, 100 - lowest)) * (height - bottom - top);
    const chart = svg("svg", { class: "quality-chart", viewBox: `0 0 ${width} ${height}`, width, height,
      role: "img", "aria-label": `${video.title}: VMAF against peak bitrate per ladder` });
    chart.append(svg("line", { x1: left, y1: height - bottom, x2: width - 4, y2: height - bottom, stroke: "#999" }));
    chart.append(svg("line", { x1: left, y1: top - 4, x2: left, y2: height - bottom, stroke: "#999" }));
    chart.append(svg("text", { x: left - 4, y: y(100) + 4, "text-anchor": "end", "font-size": 9 }, "100"));
    chart.append(svg("text", { x: left - 4, y: y(lowest) + 4, "text-anchor": "end", "font-size": 9 }, String(lowest)));
    chart.append(svg("text", { x: left, y: height - 8, "font-size": 9 }, "0"));
    chart.append(svg("text", { x: width - 4, y: height - 8, "text-anchor": "end", "font-size": 9 },
      `${(maxBits / 1e6).toFixed(1)} Mbit/s`));
    chart.append(svg("text", { x: 2, y: 8, "font-size": 9 }, "VMAF"));
    chart.append(svg("text", { x: (left + width) / 2, y: height - 8, "text-anchor": "middle", "font-size": 9 },
      "peak bitrate"));
    ladders.forEach(([name, list], index) => {
      const drawn = list.filter((p) => p.bits).sort((a, b) => a.bits - b.bits);
      if (!drawn.length) return;
      const colour = LADDER_COLOURS[name] || "#555";
      const group = svg("g", { "data-ladder": name });
      group.append(svg("polyline", { points: drawn.map((p) => `${x(p.bits).toFixed(1)},${y(p.vmaf).toFixed(1)}`)
        .join(" "), fill: "none", stroke: colour, "stroke-width": 1.5 }));
      for (const p of drawn) {
        const dot = svg("circle", { cx: x(p.bits).toFixed(1), cy: y(p.vmaf).toFixed(1), r: 3, fill: colour,
          "data-rung": p.name, "data-vmaf": p.vmaf, "data-bits": p.bits });
        dot.append(svg("title", {}, `${ladderName(name)} ${p.name}: VMAF ${p.vmaf.toFixed(1)} at ${mbits(p.bits)}`));
        group.append(dot);
      }
      group.append(svg("text", { x: width - 6, y: 14 + index * 11, "text-anchor": "end", "font-size": 9,
        fill: colour }, ladderName(name)));
      chart.append(group);
    });
    return chart;
  }

  function statusCell(cell, video) {
    cell.replaceChildren();
    const label = document.createElement("span");
    label.className = `status status-${video.status}`;
    label.textContent = video.status;
    cell.append(label);
    if (["uploaded", "processing", "playable"].includes(video.status)) {
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = video.progress;
      bar.setAttribute("aria-label", `${video.title}: ${video.progress}% processed`);
      cell.append(" ", bar, ` ${video.progress}%`);
      const notes = [];
      if (video.queue_position) notes.push(`#${video.queue_position} in the queue`);
      if (video.eta_seconds != null) notes.push(`about ${duration(video.eta_seconds)} left`);
      if (video.speed) notes.push(`${video.speed.toFixed(1)}× realtime`);
      if (notes.length) {
        const note = document.createElement("div");
        note.className = "note";
        note.textContent = notes.join(" · ");
        cell.append(note);
      }
    }
    // a ready film's further ladders (AV1, HEVC) while workers make them, a long film's over all its parts
    // (minutes of SVT-AV1 or x265; the film plays in H.264 meanwhile)
    for (const [name, making] of Object.entries(video.ladder_progress || {})) {
      const line = document.createElement("div");
      line.className = "note ladder-progress";
      line.dataset.ladder = name;
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = making.progress;
      bar.setAttribute("aria-label", `${video.title}: ${ladderName(name)} ladder ${making.progress}% made`);
      const notes = [`${making.progress}%`];
      if (making.eta_seconds != null) notes.push(`about ${duration(making.eta_seconds)} left`);
      if (making.speed) notes.push(`${making.speed.toFixed(1)}× realtime`);
      line.append(`${ladderName(name)} ladder `, bar, ` ${notes.join(" · ")}`);
      cell.append(line);
    }
    // the automatic captions while the workers hear the film's speech (its parts over all of them), or why
    // they failed (the film stays ready without them)
    if (video.captions) {
      const line = document.createElement("div");
      line.className = "note captions-progress";
      if (video.captions.failed) {
        line.classList.add("failed");
        line.textContent = video.captions.failed;
      } else {
        const making = video.captions;
        const bar = document.createElement("progress");
        bar.max = 100;
        bar.value = making.progress;
        bar.setAttribute("aria-label", `${video.title}: automatic captions ${making.progress}% heard`);
        const notes = [`${making.progress}%`, `${making.parts_done} of ${making.parts} parts`];
        if (making.eta_seconds != null) notes.push(`about ${duration(making.eta_seconds)} left`);
        if (making.speed) notes.push(`${making.speed.toFixed(1)}× realtime`);
        line.append("Automatic captions ", bar, ` ${notes.join(" · ")}`);
      }
      cell.append(line);
    }
    // the quality each rendition delivers (VMAF against the source, sampled) at its bitrate; one under the
    // floor is flagged
    const rated = (video.renditions || []).filter((r) => r.quality);
    if (rated.length) {
      const line = document.createElement("div");
      line.className = "quality";
      line.title = "VMAF against the source (0–100: 93 and over looks like the source), on sampled segments: " +
        "the mean and the 5th percentile (its worst moments); the rendition's peak bitrate";
      line.append("H.264, VMAF mean / 5th percentile at peak bitrate:");
      for (const [i, r] of rated.entries()) {
        const item = document.createElement("span");
        item.textContent = `${i ? " ·" : ""} ${r.name} ${r.quality.vmaf.toFixed(1)} / ` +
          `${r.quality.vmaf_p5.toFixed(1)}${r.bandwidth ? ` at ${mbits(r.bandwidth)}` : ""}`;
        if (r.quality.below_floor) {
          item.className = "below-floor";
          item.textContent += " (below the floor)";
        }
        line.append(item);
      }
      cell.append(line);
    }
    // each further ladder's VMAF and bitrate, and whether the master lists it (only where every rung holds
    // H.264's quality in fewer bytes), with the rungs that kept it out and why
    for (const name of twinLadders(video.renditions || [])) {
      const twins = video.renditions.filter((r) => r[name] && r[name].quality);
      const line = document.createElement("div");
      line.className = "quality ladder";
      line.dataset.ladder = name;
      const replacing = name === "avc";  // (the fast H.264 ladder's second stage: listed, it takes its place)
      line.title = replacing
        ? "The best H.264 ladder (x264's slower search, each rung's rate aimed at the fast ladder's quality): " +
          "listed in the fast ladder's place only where every rendition is within a VMAF point of its fast twin " +
          "and smaller"
        : `The ${ladderName(name)} ladder: listed for capable players only where every rendition is ` +
          "within a VMAF point of its H.264 twin and smaller";
      const scores = twins.map((r) => `${r.name} ${r[name].quality.vmaf.toFixed(1)}` +
        `${r[name].bandwidth ? ` at ${mbits(r[name].bandwidth)}` : ""}`).join(" · ");
      line.textContent = `${ladderName(name)} ladder, VMAF mean at peak bitrate: ${scores}: ` +
        (twins[0][name].listed
          ? (replacing ? "listed in place of the fast H.264 ladder" : "listed")
          : `not listed (${replacing ? "the fast H.264 ladder stays" : "H.264 alone"}): ${whyNotListed(name, twins)}`);
      cell.append(line);
    }
    if (rated.length) cell.append(qualityChart(video, rated));
    if (video.error) {
      const reason = document.createElement("div");
      reason.className = "reason";
      reason.textContent = video.error;
      cell.append(reason);
    }
    // what to do about it (the film's failure, or its captions'), in words
    for (const text of [video.advice, video.captions_advice]) {
      if (!text) continue;
      const advice = document.createElement("div");
      advice.className = "advice";
      advice.textContent = `What to do: ${text}`;
      cell.append(advice);
    }
  }

  /** The title with what shows the film at a glance: its thumbnail once it plays, its length, its views. */
  function titleCell(cell, video) {
    cell.replaceChildren();
    if (video.status === "ready" || video.status === "playable") {
      const thumb = document.createElement("img");
      thumb.className = "thumb";
      thumb.alt = "";
      thumb.loading = "lazy";
      thumb.src = `${API}/video/${video.id}/thumbnail.jpg`;
      cell.append(thumb);
    }
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = video.title;
    cell.append(title);
    const facts = [];
    if (video.duration) facts.push(clock(video.duration));
    if (video.height) facts.push(`${video.width}×${video.height}`);
    if (video.stored_bytes != null) facts.push(`${bytes(video.stored_bytes)} stored`);
    facts.push(`${video.views || 0} view${video.views === 1 ? "" : "s"}`);
    const line = document.createElement("div");
    line.className = "note facts";
    line.textContent = facts.join(" · ");
    cell.append(line);
  }

  /** A length as a player shows it: 0:07, 2:05, 1:02:09. */
  function clock(seconds) {
    const whole = Math.round(seconds);
    const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
    const two = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
  }

  function actionsCell(cell, video) {
    cell.replaceChildren();
    // a playable video is still transcoding, but its first segments can be watched already
    if (video.status === "ready" || video.status === "playable") cell.append(button("Preview", video.title, "preview"), " ");
    cell.append(button("Edit", video.title, "edit"), " ");
    cell.append(button("Subtitles", video.title, "subtitles"), " ");
    if (video.status === "failed") cell.append(button("Retry", video.title, "retry"), " ");
    cell.append(button("Delete", video.title, "delete"));
  }

  function render(list) {
    videos = new Map(list.map((video) => [video.id, video]));
    const body = $("video-rows");
    for (const [id, row] of rows) {
      if (!videos.has(id)) {
        row.remove();
        rows.delete(id);
      }
    }
    list.forEach((video, index) => {
      let row = rows.get(video.id);
      if (!row) {
        row = document.createElement("tr");
        row.dataset.videoId = video.id;
        row.append(...Array.from({ length: 5 }, () => document.createElement("td")));
        row.cells[4].className = "actions";
        rows.set(video.id, row);
      }
      const key = JSON.stringify([video.title, video.category, video.status, video.progress, video.error,
        video.duration, video.views, video.stored_bytes, video.advice, video.captions_advice,
        video.queue_position, video.eta_seconds, video.ladder_progress || null, video.captions || null,
        video.renditions || []]);
      if (row.dataset.key !== key) {
        row.dataset.key = key;
        row.dataset.status = video.status;
        titleCell(row.cells[0], video);
        row.cells[1].textContent = video.category;
        statusCell(row.cells[2], video);
        row.cells[3].textContent = new Date(video.created_at).toLocaleString();
        actionsCell(row.cells[4], video);
      }
      if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
    });
    $("empty").hidden = list.length > 0;
  }

  async function load() {
    const filters = $("filters");
    const query = new URLSearchParams({ limit: "200" });
    if (filters.elements.status.value) query.set("status", filters.elements.status.value);
    if (filters.elements.q.value.trim()) query.set("q", filters.elements.q.value.trim());
    const response = await api("GET", `/admin/videos/?${query}`);
    if (response.status === 401 || response.status === 403) return window.location.reload();
    if (response.ok) render(await response.json());
    else say(await problem(response));
  }

  async function poll() {
    try {
      await load();
    } catch (error) {
      say(`The list could not be refreshed (${error.message}); trying again.`);
    }
    setTimeout(poll, POLL_MS);
  }

  $("filters").addEventListener("input", () => load());
  $("filters").addEventListener("submit", (event) => event.preventDefault());

  $("video-rows").addEventListener("click", async (event) => {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const video = videos.get(Number(target.closest("tr").dataset.videoId));
    if (!video) return;
    const action = target.dataset.action;
    if (action === "preview") preview(video);
    else if (action === "edit") edit(video);
    else if (action === "subtitles") subtitles(video);
    else if (action === "retry") {
      const response = await api("POST", `/video/${video.id}/retry/`);
      say(response.ok ? `“${video.title}” is queued again.` : await problem(response));
      load();
    } else if (action === "delete") {
      if (!window.confirm(`Delete “${video.title}” and all its files? This cannot be undone.`)) return;
      const response = await api("DELETE", `/video/${video.id}/`);
      say(response.ok ? `“${video.title}” was deleted.` : await problem(response));
      load();
    }
  });

  // -- edit ----------------------------------------------------------------------------------------------------
  let editing = null;

  function edit(video) {
    editing = video;
    const form = $("edit-form");
    form.elements.title.value = video.title;
    form.elements.category.value = video.category;
    form.elements.description.value = video.description;
    $("edit-error").textContent = "";
    $("edit-dialog").showModal();
  }

  $("edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const { title, category, description } = form.elements;
    const changes = { title: title.value, category: category.value, description: description.value };
    const response = await api("PATCH", `/video/${editing.id}/`, changes);
    if (!response.ok) {
      $("edit-error").textContent = await problem(response);
      return;
    }
    $("edit-dialog").close();
    say(`Saved “${changes.title.trim()}”.`);
    load();
  });
  $("edit-cancel").addEventListener("click", () => $("edit-dialog").close());

  // -- subtitles: list, add (WebVTT or SRT), remove -------------------------------------------------------
  let subtitled = null;

  /** A multipart call (a form's fields and file); a 401 is answered once by refreshing, as in api(). */
  async function sendForm(method, path, data, retried = false) {
    const response = await fetch(API + path, { method, headers: { "X-CSRFToken": csrf() }, body: data });
    if (response.status === 401 && !retried && (await refresh())) return sendForm(method, path, data, true);
    return response;
  }

  async function loadTracks() {
    const response = await api("GET", `/video/${subtitled.id}/subtitles/`);
    if (!response.ok) {
      $("subtitle-error").textContent = await problem(response);
      return;
    }
    const tracks = await response.json();
    $("subtitle-rows").replaceChildren(...tracks.map((track) => {
      const row = document.createElement("tr");
      row.dataset.language = track.language;
      const origin = {source: "the film", auto: "automatic (speech)", operator: "corrected by an operator"}[
        track.origin] || "an upload";
      for (const text of [track.language, track.label, origin, String(track.cues)]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const actions = document.createElement("td");
      actions.append(button("Review", `${track.label} (${track.language})`, "review-subtitles"), " ",
        button("Remove", `${track.label} (${track.language})`, "remove-subtitles"));
      row.append(actions);
      return row;
    }));
    $("subtitles-empty").hidden = tracks.length > 0;
  }

  function subtitles(video) {
    subtitled = video;
    $("subtitles-title").textContent = `Subtitles: ${video.title}`;
    $("subtitle-error").textContent = "";
    $("subtitle-form").reset();
    $("subtitle-rows").replaceChildren();
    $("subtitles-dialog").showModal();
    loadTracks();
  }

  $("subtitle-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await sendForm("POST", `/video/${subtitled.id}/subtitles/`, new FormData(event.target));
    if (!response.ok) {
      $("subtitle-error").textContent = await problem(response);
      return;
    }
    const track = await response.json();
    $("subtitle-error").textContent = "";
    event.target.reset();
    say(`Added subtitles “${track.label}” (${track.language}) to “${subtitled.title}”.`);
    loadTracks();
  });

  $("subtitle-rows").addEventListener("click", async (event) => {
    const reviewing = event.target.closest("button[data-action=review-subtitles]");
    if (reviewing) {
      review(reviewing.closest("tr").dataset.language);
      return;
    }
    const target = event.target.closest("button[data-action=remove-subtitles]");
    if (!target) return;
    const language = target.closest("tr").dataset.language;
    const response = await api("DELETE", `/video/${subtitled.id}/subtitles/${encodeURIComponent(language)}/`);
    if (!response.ok) $("subtitle-error").textContent = await problem(response);
    else say(`Removed the ${language} subtitles of “${subtitled.title}”.`);
    loadTracks();
  });
  $("subtitles-close").addEventListener("click", () => $("subtitles-dialog").close());

  // -- review: a track's cues corrected one by one, the speech searched, the film captioned again --------
  let reviewed = null; // the language of the track under review (of `subtitled`)

  /** A cue's time to the tenth, as `clock` gives a length: 0:07.4, 12:05.0. */
  function cueClock(seconds) {
    const minutes = Math.floor(seconds / 60);
    return `${minutes}:${(seconds - minutes * 60).toFixed(1).padStart(4, "0")}`;
  }

  async function review(language) {
    reviewed = language;
    $("review-title").textContent = `Review: ${subtitled.title} (${language})`;
    $("review-error").textContent = "";
    $("found-places").replaceChildren();
    $("cue-rows").replaceChildren();
    $("review-dialog").showModal();
    const response = await api("GET", `/video/${subtitled.id}/subtitles/${encodeURIComponent(language)}/`);
    if (!response.ok) {
      $("review-error").textContent = await problem(response);
      return;
    }
    const track = await response.json();
    $("cue-rows").replaceChildren(...track.cues.map((cue, index) => {
      const row = document.createElement("label");
      row.className = "cue";
      row.dataset.start = cue.start;
      row.dataset.end = cue.end;
      const time = document.createElement("span");
      time.className = "time";
      time.textContent = `${cueClock(cue.start)} – ${cueClock(cue.end)}`;
      const text = document.createElement("textarea");
      text.rows = 2;
      text.value = cue.text;
      text.setAttribute("aria-label", `Cue ${index + 1} at ${cueClock(cue.start)}`);
      row.append(time, text);
      return row;
    }));
  }

  $("review-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const cues = [...$("cue-rows").querySelectorAll(".cue")].map((row) => ({
      start: Number(row.dataset.start), end: Number(row.dataset.end), text: row.querySelector("textarea").value,
    }));
    const path = `/video/${subtitled.id}/subtitles/${encodeURIComponent(reviewed)}/`;
    const response = await api("PUT", path, { cues });
    if (!response.ok) {
      $("review-error").textContent = await problem(response);
      return;
    }
    $("review-dialog").close();
    say(`Saved the corrected ${reviewed} subtitles of “${subtitled.title}”.`);
    loadTracks();
  });

  $("find-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = new FormData(event.target).get("q");
    const response = await api("GET", `/video/${subtitled.id}/transcript/?q=${encodeURIComponent(q)}`);
    if (!response.ok) {
      $("review-error").textContent = await problem(response);
      return;
    }
    const { places } = await response.json();
    $("review-error").textContent = places.length ? "" : "Not said in the film.";
    $("found-places").replaceChildren(...places.map((place) => {
      const item = document.createElement("li");
      item.textContent = `${cueClock(place.start)} ${place.text}`;
      item.dataset.start = place.start;
      return item;
    }));
    // the cue said at the first place, ready to correct
    const first = places.length && [...$("cue-rows").querySelectorAll(".cue")]
      .find((row) => Number(row.dataset.start) <= places[0].start && places[0].start < Number(row.dataset.end));
    if (first) first.querySelector("textarea").focus();
  });

  $("again-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(event.target));
    const response = await api("POST", `/video/${subtitled.id}/captions/`, fields);
    if (!response.ok) {
      $("review-error").textContent = await problem(response);
      return;
    }
    $("review-dialog").close();
    say(`“${subtitled.title}” will be captioned again; its automatic subtitles come when the workers are done.`);
    loadTracks();
  });
  $("review-close").addEventListener("click", () => $("review-dialog").close());

  // -- preview (hls.js; Safari plays HLS natively) ---------------------------------------------------------
  let hls = null;
  let storyboard = []; // [{start, end, url, x, y, w, h}] from the video's thumbnails track

  /** The cues of a WebVTT thumbnails track (`storyboard/0.jpg#xywh=0,0,160,90`), URLs made absolute. */
  function thumbnailCues(text, base) {
    const seconds = (stamp) => stamp.split(":").reduce((total, part) => total * 60 + Number(part), 0);
    const cues = [];
    const pattern = /([\d:.]+) --> ([\d:.]+)[^\n]*\n(\S+?)#xywh=(\d+),(\d+),(\d+),(\d+)/g;
    for (const m of text.matchAll(pattern)) {
      cues.push({ start: seconds(m[1]), end: seconds(m[2]), url: new URL(m[3], base).href,
                  x: Number(m[4]), y: Number(m[5]), w: Number(m[6]), h: Number(m[7]) });
    }
    return cues;
  }

  async function loadStoryboard(video) {
    storyboard = [];
    $("scrubber").hidden = true;
    const track = `${API}/video/${video.id}/storyboard.vtt`;
    const response = await fetch(track);
    if (!response.ok) return; // made before storyboards, or none yet
    storyboard = thumbnailCues(await response.text(), new URL(track, window.location.href));
    $("scrubber").hidden = storyboard.length === 0;
  }

  function seekDuration() {
    const player = $("player");
    return Number.isFinite(player.duration) && player.duration > 0 ? player.duration : (storyboard.at(-1)?.end || 0);
  }

  /** Show the preview of the moment at `fraction` of the bar (0..1) above that point of it. */
  function showPreview(fraction) {
    const time = fraction * seekDuration();
    const cue = storyboard.find((c) => c.start <= time && time < c.end) || storyboard.at(-1);
    const box = $("seek-preview");
    if (!cue) return;
    box.style.width = `${cue.w}px`;
    box.style.height = `${cue.h}px`;
    box.style.backgroundImage = `url("${cue.url}")`;
    box.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    const bar = $("seek").getBoundingClientRect();
    box.style.left = `${Math.min(Math.max(0, fraction * bar.width - cue.w / 2), Math.max(0, bar.width - cue.w))}px`;
    box.dataset.time = String(time);
    $("seek-time").textContent = new Date(time * 1000).toISOString().slice(time >= 3600 ? 11 : 14, 19);
    box.classList.add("showing");
  }

  $("seek").addEventListener("mousemove", (event) => {
    const bar = event.target.getBoundingClientRect();
    showPreview(Math.min(1, Math.max(0, (event.clientX - bar.left) / bar.width)));
  });
  $("seek").addEventListener("mouseleave", () => $("seek-preview").classList.remove("showing"));
  $("seek").addEventListener("input", (event) => {
    const fraction = Number(event.target.value) / 1000;
    showPreview(fraction);
    $("player").currentTime = fraction * seekDuration();
  });
  $("seek").addEventListener("change", () => $("seek-preview").classList.remove("showing"));
  $("player").addEventListener("timeupdate", () => {
    const duration = seekDuration();
    if (duration && document.activeElement !== $("seek")) {
      $("seek").value = String(Math.round((1000 * $("player").currentTime) / duration));
    }
  });

  function preview(video) {
    const player = $("player");
    const source = `${API}/video/${video.id}/master.m3u8`;
    $("player-title").textContent = `Preview: ${video.title}`;
    $("player-error").textContent = "";
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls();
      hls.on(window.Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) $("player-error").textContent = `Playback failed: ${data.details}`;
      });
      hls.loadSource(source);
      hls.attachMedia(player);
    } else {
      player.src = source;
    }
    $("player-dialog").showModal();
    player.play().catch(() => {});
    loadStoryboard(video);
  }

  function closePreview() {
    const player = $("player");
    if (hls) hls.destroy();
    hls = null;
    player.removeAttribute("src");
    player.load();
    $("player-dialog").close();
  }

  $("player-close").addEventListener("click", closePreview);
  $("player-dialog").addEventListener("cancel", closePreview);

  // -- resumable upload (tus) --------------------------------------------------------------------------------
  let upload = null;

  function showProgress(sent, total) {
    const percent = total ? (100 * sent) / total : 0;
    $("upload-state").hidden = false;
    $("upload-progress").value = percent;
    $("upload-text").textContent = `${mib(sent)} of ${mib(total)} (${percent.toFixed(0)}%)`;
  }

  function uploading(active) {
    $("upload-start").disabled = active;
    $("upload-pause").hidden = !active;
    $("upload-resume").hidden = true;
  }

  $("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const file = form.elements.file.files[0];
    if (!file) return;
    $("upload-error").textContent = "";
    upload = new window.tus.Upload(file, {
      endpoint: `${API}/uploads/`,
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
      removeFingerprintOnSuccess: true,
      metadata: {
        title: form.elements.title.value,
        description: form.elements.description.value,
        category: form.elements.category.value,
        filename: file.name,
      },
      onBeforeRequest: (request) => request.setHeader("X-CSRFToken", csrf()),
      onShouldRetry: (error) => {
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        if (status === 401) refresh(); // the access cookie expired during a long upload: renew, then go on
        return status === 0 || status === 401 || status === 409 || status === 423 || status >= 500;
      },
      onProgress: showProgress,
      onError: (error) => {
        uploading(false);
        const response = error.originalResponse;
        let text = error.message;
        if (response) {
          try {
            const data = JSON.parse(response.getBody());
            text = [data.detail, ...Object.values(data.errors || {}).flat()].filter(Boolean).join(" ");
          } catch {
            text = `${response.getStatus()}: ${error.message}`;
          }
        }
        $("upload-error").textContent = `The upload failed: ${text}`;
      },
      onSuccess: (payload) => {
        uploading(false);
        const id = payload && payload.lastResponse ? payload.lastResponse.getHeader("X-Video-Id") : null;
        say(`Uploaded “${form.elements.title.value}”${id ? ` (video ${id})` : ""}; it is queued for processing.`);
        form.reset();
        load();
      },
    });
    // the same file picked again after a reload or a dropped connection continues where it stopped
    const previous = await upload.findPreviousUploads();
    if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    uploading(true);
    showProgress(0, file.size);
    upload.start();
  });

  $("upload-pause").addEventListener("click", () => {
    if (!upload) return;
    upload.abort();
    $("upload-pause").hidden = true;
    $("upload-resume").hidden = false;
  });
  $("upload-resume").addEventListener("click", () => {
    if (!upload) return;
    upload.start();
    uploading(true);
  });

  // the accounts panel (accounts.js) talks to the API the same way
  window.videoflixConsole = Object.freeze({ api, problem, say, state, duration, bytes });

  poll();
})();
