// The page's buttons. Everything a server or a user wrote is inserted with textContent, never
// as HTML, and the Content-Security-Policy forbids inline scripts on top of that.
"use strict";

async function callApi(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let payload = {};
  try {
    payload = await response.json();
  } catch (err) {
    payload = { error: "the server did not answer with JSON (HTTP " + response.status + ")" };
  }
  if (!response.ok) {
    throw new Error(payload.error || "HTTP " + response.status);
  }
  return payload;
}

function showStatus(text, ok) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = ok ? "good" : "bad";
}

function renderMessages(messages) {
  const list = document.getElementById("messages");
  list.replaceChildren();
  for (const message of messages) {
    const item = document.createElement("li");
    item.dataset.id = String(message.id);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = message.author + ", " + message.created_at;
    item.append(text, meta);
    list.append(item);
  }
}

async function listMessages() {
  const payload = await callApi("GET", "/api/messages");
  renderMessages(payload.messages);
  return payload.messages.length;
}

function guarded(action) {
  return async (event) => {
    if (event) event.preventDefault();
    try {
      await action();
    } catch (err) {
      showStatus(err.message, false);
    }
  };
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("setup").addEventListener("click", guarded(async () => {
    const payload = await callApi("POST", "/api/setup", {});
    showStatus(payload.created ? "Table created." : "Table already exists.", true);
  }));
  document.getElementById("add-form").addEventListener("submit", guarded(async () => {
    const input = document.getElementById("message-text");
    const payload = await callApi("POST", "/api/messages", { text: input.value });
    input.value = "";
    showStatus("Message " + payload.message.id + " added.", true);
    await listMessages();
  }));
  document.getElementById("list").addEventListener("click", guarded(async () => {
    const count = await listMessages();
    showStatus(count + " message(s).", true);
  }));
});
