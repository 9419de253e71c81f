// What hls.js itself reads from a master playlist: node hls_parse.js <hls.min.js> < master.m3u8
// Prints {levels, subtitles, audio} (each media entry's name, language and absolute URL) as hls.js's own
// parser made them on MANIFEST_LOADED, or {error}. Only the manifest request is answered: no media loads.
global.self = global;
global.window = global;
global.location = {href: "https://app.example/"};
const Hls = require(process.argv[2]);
const text = require("fs").readFileSync(0, "utf8");

class ManifestOnly {
  constructor() {
    this.stats = {loading: {start: 0, first: 0, end: 0}, parsing: {start: 0, end: 0},
                  buffering: {start: 0, first: 0, end: 0}, aborted: false, loaded: 0, total: 0, retry: 0,
                  chunkCount: 0, bwEstimate: 0};
  }
  load(context, config, callbacks) {
    if (context.type !== "manifest") return;
    this.stats.loaded = this.stats.total = text.length;
    callbacks.onSuccess({url: context.url, data: text}, this.stats, context, null);
  }
  abort() {}
  destroy() {}
}

const hls = new Hls({loader: ManifestOnly, debug: false});
hls.on(Hls.Events.MANIFEST_LOADED, (event, data) => {
  const media = (list) => (list || []).map((m) => ({name: m.name, lang: m.lang || null, url: m.url || null}));
  console.log(JSON.stringify({levels: (data.levels || []).map((l) => l.url), subtitles: media(data.subtitles),
                              audio: media(data.audioTracks)}));
  process.exit(0);
});
hls.on(Hls.Events.ERROR, (event, data) => {
  console.log(JSON.stringify({error: data.details}));
  process.exit(0);
});
hls.loadSource("https://app.example/api/video/1/master.m3u8");
setTimeout(() => { console.log(JSON.stringify({error: "timeout"})); process.exit(1); }, 5000);
