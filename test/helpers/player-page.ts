/**
 * The page the browser players run in (served by test/helpers/browser.ts from its own origin, so every
 * manifest and segment request is cross-origin, as in production). `window.sy.start(kind, src, opts)`
 * starts hls.js, shaka-player or dash.js on a muted <video>; `window.sy.state()` reports the seconds the
 * media element actually played, the players' errors and the stall time, both of which the page measures itself on a 100 ms tick: seconds played = media time that advanced
 * while playing (not by seeks or jumps, and never more than the playback rate allows in the wall time
 * that passed), stall = time during which playback had started, had not ended, was not paused,
 * and `currentTime` did not move.
 */
export const PLAYER_SCRIPTS = {
  hlsjs: '/players/hls.min.js',
  shaka: '/players/shaka-player.compiled.js',
  dashjs: '/players/dash.all.min.js',
} as const;

/**
 * The page for one player: only that player's build is loaded (the three builds together are about
 * 1.7 MB of script to compile). A page is kept for many plays of its player: `sy.reset()` gives each
 * a new media element and fresh state.
 */
export const playerPage = (kind: keyof typeof PLAYER_SCRIPTS): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>switchyard players</title></head>
<body><video id="v" muted playsinline autoplay></video>
<script src="${PLAYER_SCRIPTS[kind]}"></script>
<script>
(function () {
  var video = document.getElementById('v');
  function fresh() {
    return {
      kind: '', started: false, ended: false, errors: [], fatal: [],
      stallMs: 0, stallSinceMarkMs: 0, longestStallMs: 0, currentStallMs: 0, marked: false,
      lastTime: -1, lastTick: 0, playedS: 0, rate: 1, player: null,
      rebuffers: 0, rebuffersSinceMark: 0, skippedSinceMarkS: 0,
    };
  }
  var s = fresh();
  function text(x) {
    try { return typeof x === 'string' ? x : JSON.stringify(x); } catch (e) { return String(x); }
  }
  // A player reports into the state of its own play (st): a stopped player's late events never reach
  // the next play's.
  function fatal(msg, st) { st = st || s; if (st.fatal.length < 50) st.fatal.push(msg); }
  function error(msg, st) { st = st || s; if (st.errors.length < 200) st.errors.push(msg); }
  // Listeners on each media element, doing nothing once reset() has replaced it.
  function watch(el) {
    el.addEventListener('playing', function () {
      if (el !== video) return;
      s.started = true;
      if (video.playbackRate !== s.rate) video.playbackRate = s.rate;
    });
    el.addEventListener('ended', function () { if (el === video) s.ended = true; });
    // A rebuffer: playback had started and stopped for want of data (not a seek, not the end).
    el.addEventListener('waiting', function () {
      if (el !== video || !s.started || s.ended || video.seeking) return;
      s.rebuffers++;
      if (s.marked) s.rebuffersSinceMark++;
    });
    el.addEventListener('error', function () {
      if (el !== video) return;
      var e = video.error;
      fatal('media element: ' + (e ? e.code + ' ' + e.message : 'error'));
    });
  }
  watch(video);
  setInterval(function () {
    var now = performance.now();
    var dt = s.lastTick ? now - s.lastTick : 0;
    s.lastTick = now;
    var t = video.currentTime;
    // Media time that advanced by playing (a seek or a jump over a gap is not playing): at most what the
    // rate allows in the wall time that passed, with some slack for timer jitter.
    if (s.lastTime >= 0 && t > s.lastTime) {
      var allowed = (dt / 1000) * s.rate * 1.5 + 0.05;
      if (!video.seeking) s.playedS += Math.min(t - s.lastTime, allowed);
      // Media the viewer never saw: a jump over a gap or to the live edge (a seek) after the mark.
      if (s.marked && t - s.lastTime > allowed) s.skippedSinceMarkS += t - s.lastTime - allowed;
    }
    if (s.started && !s.ended && !video.paused && t === s.lastTime) {
      s.stallMs += dt;
      s.currentStallMs += dt;
      if (s.marked) s.stallSinceMarkMs += dt;
      if (s.currentStallMs > s.longestStallMs) s.longestStallMs = s.currentStallMs;
    } else s.currentStallMs = 0;
    s.lastTime = t;
  }, 100);

  function startHlsjs(src, opts) {
    var st = s;
    var hls = new Hls(Object.assign({ enableWorker: false, lowLatencyMode: !!opts.lowLatency }, opts.config || {}));
    s.player = hls;
    hls.on(Hls.Events.ERROR, function (_e, d) {
      var msg = d.type + ' ' + d.details + (d.url ? ' ' + d.url : (d.context && d.context.url ? ' ' + d.context.url : ''));
      if (d.fatal) fatal(msg, st); else error(msg, st);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      video.play().catch(function (e) { fatal('play(): ' + e, st); });
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }

  // Debug plays: what shaka does around a failure, in the page console (the play's console lines):
  // seeks, rebuffers, variant changes and errors, and every 500 ms the playhead against
  // player.seekRange() and the buffered ranges. Stops with the play.
  function watchShaka(player, st) {
    var t0 = performance.now();
    var line = function (what) {
      var b = video.buffered, ranges = [];
      for (var i = 0; i < b.length; i++) ranges.push(b.start(i).toFixed(2) + '-' + b.end(i).toFixed(2));
      var range = '?';
      try { var r = player.seekRange(); range = r.start.toFixed(2) + '..' + r.end.toFixed(2); } catch (e) { /* destroyed */ }
      console.log('sy ' + Math.round(performance.now() - t0) + ' ' + what + ' t=' + video.currentTime.toFixed(2) +
        ' range=' + range + ' buf=' + ranges.join(','));
    };
    var el = video;
    var on = function (what) { return function () { if (s === st && video === el) line(what); }; };
    el.addEventListener('seeking', on('seeking'));
    el.addEventListener('waiting', on('waiting'));
    player.addEventListener('variantchanged', on('variantchanged'));
    player.addEventListener('adaptation', on('adaptation'));
    player.addEventListener('error', function (ev) {
      var d = ev.detail || {};
      if (s === st) line('error ' + d.code + ' severity ' + d.severity + ' ' + text(d.data).slice(0, 200));
    });
    var tick = setInterval(function () {
      if (s !== st || st.player !== player) clearInterval(tick);
      else line('tick');
    }, 500);
  }

  function startShaka(src, opts) {
    var st = s;
    shaka.polyfill.installAll();
    var player = new shaka.Player();
    s.player = player;
    player.configure({ streaming: { lowLatencyMode: !!opts.lowLatency } });
    if (opts.config && Object.keys(opts.config).length > 0) player.configure(opts.config);
    // Low-latency mode swaps in its own defaults at load(), after configure(): set those keys here.
    if (opts.shakaLowLatency) player.configurationForLowLatency(opts.shakaLowLatency);
    if (opts.debug) watchShaka(player, st);
    player.addEventListener('error', function (ev) {
      var d = ev.detail || {};
      var msg = 'shaka ' + d.code + ' ' + text(d.data);
      // shaka dispatches a streaming error, then runs streaming.failureCallback, whose default lowers a
      // live network error to RECOVERABLE and retries streaming (lib/player.js,
      // defaultStreamingFailureCallback_): the severity that counts is the one after that.
      setTimeout(function () {
        if (d.severity === 2 && !d.handled) fatal(msg, st); else error(msg, st);
      }, 0);
    });
    player.attach(video).then(function () { return player.load(src); }).then(function () {
      return video.play();
    }).catch(function (e) {
      fatal('shaka load: ' + (e && e.code ? e.code + ' ' + text(e.data) : String(e)), st);
    });
  }

  function startDashjs(src, opts) {
    var st = s;
    var player = dashjs.MediaPlayer().create();
    s.player = player;
    player.updateSettings({ debug: { logLevel: 1 }, streaming: { delay: opts.lowLatency ? { liveDelay: 3 } : {} } });
    if (opts.config) player.updateSettings(opts.config);
    player.on(dashjs.MediaPlayer.events.ERROR, function (e) {
      // dash.js raises ERROR for what it gives up on (manifest, MSE, a download after its retries).
      // 27 (DOWNLOAD_ERROR_ID_CONTENT): a media segment failed on every retry; dash.js then puts the
      // BaseURL's serviceLocation on its blacklist and goes on from the next BaseURL
      // (FragmentController, BaseURLSelector), so it is not the end of playback. Whether playback
      // really went on is what seconds played and the segments after the cut measure.
      var err = e.error || {};
      var msg = 'dashjs ' + err.code + ' ' + (err.message || text(err));
      if (err.code === 27) error(msg, st); else fatal(msg, st);
    });
    player.on(dashjs.MediaPlayer.events.PLAYBACK_ERROR, function (e) { fatal('dashjs playback ' + text(e.error), st); });
    player.initialize(video, src, true);
  }

  window.sy = {
    start: function (kind, src, opts) {
      s.kind = kind;
      s.rate = opts.playbackRate || 1;
      try {
        if (kind === 'hlsjs') startHlsjs(src, opts);
        else if (kind === 'shaka') startShaka(src, opts);
        else if (kind === 'dashjs') startDashjs(src, opts);
        else fatal('unknown player ' + kind);
      } catch (e) { fatal('start: ' + e); }
    },
    mark: function () { s.marked = true; },
    state: function () {
      return {
        secondsPlayed: s.playedS, currentTime: video.currentTime, started: s.started, ended: s.ended,
        fatal: s.fatal.slice(), errors: s.errors.slice(), stallMs: s.stallMs,
        stallSinceMarkMs: s.stallSinceMarkMs, longestStallMs: s.longestStallMs,
        rebuffers: s.rebuffers, rebuffersSinceMark: s.rebuffersSinceMark,
        skippedSinceMarkS: s.skippedSinceMarkS,
      };
    },
    stop: function () {
      var player = s.player;
      var kind = s.kind;
      s.player = null;
      if (!player) return Promise.resolve();
      try {
        // shaka's destroy() is asynchronous: wait for it, so nothing of this player outlives stop().
        if (kind === 'shaka') return player.destroy().catch(function () {});
        if (kind === 'hlsjs') player.destroy();
        else if (kind === 'dashjs') player.reset();
      } catch (e) { /* the page goes on to the next play or is closed */ }
      return Promise.resolve();
    },
    // Ready for another play in this page: no player, a new media element (the old one's source and
    // buffers released), fresh counters, and no storage a player left (dash.js keeps its last bitrate
    // and track settings in localStorage).
    reset: function () {
      var old = video;
      var el = document.createElement('video');
      el.id = 'v';
      el.muted = true;
      el.defaultMuted = true;
      el.playsInline = true;
      el.autoplay = true;
      video = el;
      watch(el);
      old.replaceWith(el);
      try { old.removeAttribute('src'); old.load(); } catch (e) { /* gone anyway */ }
      s = fresh();
      try { localStorage.clear(); sessionStorage.clear(); } catch (e) { /* no storage */ }
    },
  };
})();
</script></body></html>`;
