// sua console: the only script. Envelope file uploads with a progress bar (XHR, streamed to the API's
// upload route through the console, with the session's CSRF token in a header). Everything else works
// without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.upload").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      if (!file) { return; }
      var kind = form.querySelector("select[name=kind]").value;
      var bar = form.querySelector("progress");
      var status = form.querySelector(".upload-status");
      var url = "/impresa/offerte/" + form.dataset.bid + "/buste/" + encodeURIComponent(kind) +
        "/files/" + encodeURIComponent(file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          bar.value = 100;
          status.textContent = "File caricato e sigillato: " + file.name;
        } else {
          var msg = "errore " + xhr.status;
          try { msg = JSON.parse(xhr.responseText).detail || msg; } catch (e) { /* not JSON */ }
          status.textContent = "Caricamento non riuscito: " + msg;
        }
      };
      xhr.onerror = function () { status.textContent = "Caricamento non riuscito: rete."; };
      status.textContent = "Caricamento in corso…";
      xhr.send(file);
    });
  });
});
