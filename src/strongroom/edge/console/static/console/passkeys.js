// Passkeys in the console: registration, sign-in and re-authentication.
// Buttons carry their endpoints in data attributes (no inline script under our CSP):
//   data-passkey="register|sign-in|reauth" data-options-url data-submit-url data-csrf [data-next]
// Uses the WebAuthn JSON helpers (PublicKeyCredential.parse*OptionsFromJSON, toJSON), present in
// every current browser; without them the button says so instead of failing silently.
(function () {
  "use strict";

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok || data.ok === false) {
          throw new Error(data.error || "The request was refused.");
        }
        return data;
      });
    });
  }

  function say(button, text) {
    var status = document.getElementById(button.dataset.status || "passkey-status");
    if (status) { status.textContent = text; }
  }

  function showCodes(codes) {
    var list = document.getElementById("passkey-recovery-codes");
    if (!list || !codes || !codes.length) { return; }
    codes.forEach(function (code) {
      var item = document.createElement("li");
      var text = document.createElement("code");
      text.textContent = code;
      item.appendChild(text);
      list.appendChild(item);
    });
    list.hidden = false;
  }

  function run(button) {
    var kind = button.dataset.passkey;
    var csrf = button.dataset.csrf;
    var nameField = document.getElementById("passkey-name");
    return post(button.dataset.optionsUrl, csrf).then(function (options) {
      if (kind === "register") {
        var create = PublicKeyCredential.parseCreationOptionsFromJSON(options);
        return navigator.credentials.create({ publicKey: create });
      }
      var get = PublicKeyCredential.parseRequestOptionsFromJSON(options);
      return navigator.credentials.get({ publicKey: get });
    }).then(function (credential) {
      var url = button.dataset.submitUrl;
      if (button.dataset.next) { url += "?next=" + encodeURIComponent(button.dataset.next); }
      return post(url, csrf, {
        credential: JSON.stringify(credential.toJSON()),
        name: nameField ? nameField.value : "",
      });
    }).then(function (data) {
      if (data.redirect) { window.location.assign(data.redirect); return; }
      say(button, "Passkey added.");
      showCodes(data.recovery_codes);
    }).catch(function (error) {
      say(button, error && error.message ? error.message : "The passkey step failed.");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-passkey]");
    if (!button) { return; }
    event.preventDefault();
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      say(button, "This browser does not support passkeys.");
      return;
    }
    run(button);
  });
})();
