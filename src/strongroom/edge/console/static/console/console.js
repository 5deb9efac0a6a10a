// The console's own script: browser uploads with tus-js-client, and small form conveniences.
// Loaded with the page's CSP nonce; no eval, no inline handlers, no HTML built from strings.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setStatus(text) {
    var status = document.getElementById("upload-status");
    if (status) status.textContent = text;
  }

  // Ask the console for a task to upload into, then send the file to the tus endpoint.
  function startUpload(form, file) {
    var submit = form.querySelector("button[type=submit]");
    var progress = document.getElementById("upload-progress");
    var body = new FormData();
    body.append("project", form.elements.project.value);
    submit.disabled = true;
    form.elements.upload_task.value = "";
    form.elements.upload_id.value = "";
    setStatus("Preparing upload…");
    fetch(form.dataset.uploadTaskUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(form) },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("the console refused the upload (" + response.status + ")");
        return response.json();
      })
      .then(function (task) {
        progress.hidden = false;
        var upload = new window.tus.Upload(file, {
          endpoint: task.upload_url,
          chunkSize: 16 * 1024 * 1024,
          retryDelays: [0, 1000, 3000, 5000, 10000],
          removeFingerprintOnSuccess: true,
          metadata: { filename: file.name, filetype: file.type },
          onProgress: function (sent, total) {
            progress.value = total ? Math.floor((sent / total) * 100) : 0;
            setStatus("Uploading… " + progress.value + "%");
          },
          onError: function (error) {
            setStatus("Upload failed: " + error.message);
            submit.disabled = false;
          },
          onSuccess: function () {
            form.elements.upload_task.value = task.task_token;
            form.elements.upload_id.value = upload.url.split("/").pop();
            form.elements.source_url.value = "";
            setStatus("Uploaded " + file.name + ". Choose the outputs and start the job.");
            submit.disabled = false;
          },
        });
        upload.start();
      })
      .catch(function (error) {
        setStatus("Upload failed: " + error.message);
        submit.disabled = false;
      });
  }

  function wireUpload() {
    var form = document.getElementById("new-job");
    if (!form) return;
    var input = form.querySelector("[data-upload-file]");
    input.addEventListener("change", function () {
      if (input.files.length) startUpload(form, input.files[0]);
    });
  }

  function wireAutosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.requestSubmit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireUpload();
    wireAutosubmit();
  });
})();
