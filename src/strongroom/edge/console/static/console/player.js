// The sandboxed preview player: plays one output's signed media URL, with hls.js for HLS where
// the browser has no native HLS. Runs in an opaque origin (CSP sandbox, iframe sandbox).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var media = document.getElementById("player");
    if (!media || !media.dataset.src) return;
    var src = media.dataset.src;
    var canPlayHls = media.canPlayType("application/vnd.apple.mpegurl") !== "";
    if (media.dataset.kind === "hls" && !canPlayHls && window.Hls && window.Hls.isSupported()) {
      // No worker: the player's CSP allows no worker-src, and previews are short-lived.
      var hls = new window.Hls({ enableWorker: false });
      hls.loadSource(src);
      hls.attachMedia(media);
    } else {
      media.src = src;
    }
  });
})();
