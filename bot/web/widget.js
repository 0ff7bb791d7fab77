/* The service's chat widget. Embed with one tag:
 *   <script src="https://…/widget.js" defer
 *           data-title="Chat med oss" data-color="#1d4f7c" data-open="false"
 *           data-language="nb" data-exit-url="https://www.yr.no/"></script>
 * It lives in a shadow root, so the page's styles and the widget's do not mix. The session id is
 * kept in sessionStorage (gone when the tab closes); the conversation itself is on the server.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__radgivningChat) return;
  window.__radgivningChat = true;

  const options = script.dataset;
  const server = (options.server || new URL(script.src, location.href).origin).replace(/\/$/, "");
  const language = options.language === "en" ? "en" : "nb";
  const exitUrl = options.exitUrl || "https://www.yr.no/";
  const STORAGE_KEY = "radgivning-chat";
  const ESCAPE_TWICE_MS = 1000;
  const LINK = /\*\*(.+?)\*\*|\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"])/g;

  let state = readState();
  let labels = null, maxChars = 2000, socket = null, retries = 0, lastEscape = 0;
  let outbox = [];          // messages sent but not yet acknowledged by the server
  let ui = {};

  function readState() {
    try { return JSON.parse(sessionStorage.getItem(STORAGE_KEY)) || {}; } catch (error) { return {}; }
  }
  function saveState() {
    try { sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state)); } catch (error) { /* storage off: works per page */ }
  }
  function randomId() {
    const bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ensureSession() {
    if (!state.session) { state.session = randomId(); saveState(); }
    return state.session;
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  /* Text becomes DOM nodes, never HTML: **bold**, [text](https://…) and bare https links. */
  function renderText(container, text) {
    for (const paragraph of String(text).split(/\n{2,}/)) {
      const p = element("p");
      paragraph.split("\n").forEach((line, index) => {
        if (index) p.append(element("br"));
        let last = 0;
        for (const match of line.matchAll(LINK)) {
          p.append(line.slice(last, match.index));
          if (match[1]) p.append(element("strong", {}, match[1]));
          else p.append(element("a", { href: match[3] || match[4], target: "_blank", rel: "noopener noreferrer nofollow" },
                                match[2] || match[4]));
          last = match.index + match[0].length;
        }
        p.append(line.slice(last));
      });
      container.append(p);
    }
  }

  function clock(ts) {
    const date = ts ? new Date(ts * 1000) : new Date();
    return date.toLocaleTimeString(language === "en" ? "en-GB" : "nb-NO", { hour: "2-digit", minute: "2-digit" });
  }

  function addMessage(message) {
    const who = message.from === "user" ? labels.you
      : message.from === "counsellor" ? (message.name ? `${labels.counsellor} (${message.name})` : labels.counsellor)
      : labels.bot;
    const body = element("div", { class: "body" });
    renderText(body, message.text || "");
    const time = element("time", { datetime: new Date((message.ts || Date.now() / 1000) * 1000).toISOString() }, clock(message.ts));
    const item = element("li", { class: `message ${message.from}${message.pending ? " pending" : ""}` },
                         element("span", { class: "sr-only" }, `${who}: `), body, time);
    if (message.cid) item.dataset.cid = message.cid;
    ui.list.append(item);
    showButtons(message.from === "bot" ? message.buttons || [] : []);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function showButtons(buttons) {
    ui.replies.replaceChildren(...buttons.map((button) => element("button", {
      type: "button", class: "reply", onclick: () => sendButton(button),
    }, button.title)));
    ui.replies.hidden = buttons.length === 0;
  }

  function showHistory(messages) {
    ui.list.replaceChildren();
    messages.forEach(addMessage);
    outbox.forEach((pending) => addMessage({ from: "user", text: pending.shown, pending: true, cid: pending.id }));
  }

  /* --- the connection ------------------------------------------------------------------------- */

  function connect() {
    if (socket && socket.readyState <= 1) return;
    socket = new WebSocket(server.replace(/^http/, "ws") + "/ws");
    socket.onopen = () => {
      retries = 0;
      socket.send(JSON.stringify({ type: "hello", session: ensureSession(), language }));
    };
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = () => {
      setOnline(false);
      const delay = Math.min(500 * 2 ** retries++, 10000);
      setTimeout(connect, delay);
    };
  }

  function receive(event) {
    if (event.type === "history") {
      setOnline(true);
      showHistory(event.messages);
      outbox.forEach((pending) => socket.send(JSON.stringify(pending.frame)));
    } else if (event.type === "ack") {
      outbox = outbox.filter((pending) => pending.id !== event.id);
      const item = ui.list.querySelector(`[data-cid="${CSS.escape(event.id || "")}"]`);
      if (item) item.classList.remove("pending");
    } else if (event.type === "message") {
      addMessage(event.message);
    } else if (event.type === "typing") {
      ui.typing.hidden = !event.on;
    } else if (event.type === "deleted") {
      state = { open: state.open };
      saveState();
      outbox = [];
      showHistory([{ from: "bot", text: event.text }]);
      socket.close();  // reconnects with a new session
    } else if (event.type === "error") {
      console.warn("chat:", event.code, event.message);
    }
  }

  function setOnline(online) {
    ui.status.textContent = online ? "" : labels.offline;
    ui.status.hidden = online;
  }

  function send(frame, shown) {
    const id = randomId();
    frame.id = id;
    outbox.push({ id, frame, shown });
    addMessage({ from: "user", text: shown, pending: true, cid: id });
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
  }

  function sendText(text) {
    if (!text.trim()) return;
    send({ type: "message", text }, text);
  }

  function sendButton(button) {
    send({ type: "button", payload: button.payload, title: button.title }, button.title);
    ui.input.focus();
  }

  function command(type) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type }));
  }

  /* --- opening, closing and leaving ------------------------------------------------------------- */

  function open() {
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    state.started = true;
    saveState();
    connect();
    fitToViewport();
    ui.input.focus();
  }

  function close() {
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    saveState();
    ui.launcher.focus();
  }

  function quickExit() {
    try {
      if (state.session) {
        const body = new Blob([JSON.stringify({ session: state.session })], { type: "text/plain" });
        navigator.sendBeacon(server + "/api/v1/sessions/delete", body);
      }
    } catch (error) { /* leaving matters more than deleting */ }
    try { sessionStorage.removeItem(STORAGE_KEY); } catch (error) { /* nothing stored */ }
    location.replace(exitUrl);
  }

  function onKey(event) {
    if (event.key !== "Escape") return;
    const now = Date.now();
    if (now - lastEscape < ESCAPE_TWICE_MS) { quickExit(); return; }
    lastEscape = now;
    if (!ui.panel.hidden) close();
  }

  /* On a phone the on-screen keyboard shrinks the visual viewport; the panel follows it so the
     input stays visible. */
  function fitToViewport() {
    const viewport = window.visualViewport;
    if (viewport) ui.host.style.setProperty("--rb-viewport-height", `${viewport.height}px`);
  }

  /* --- building the widget -------------------------------------------------------------------- */

  function build() {
    const host = element("div", { id: "radgivning-chat" });
    if (options.color) host.style.setProperty("--rb-accent", options.color);
    const root = host.attachShadow({ mode: "open" });
    const title = options.title || labels.title;
    ui.host = host;
    ui.launcher = element("button", { type: "button", class: "launcher", "aria-expanded": "false",
                                      "aria-controls": "rb-panel", onclick: open }, labels.open);
    ui.list = element("ol", { class: "messages" });
    ui.log = element("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": labels.messages, tabindex: "0" },
                     ui.list);
    ui.typing = element("p", { class: "typing", "aria-hidden": "true" }, labels.typing);
    ui.typing.hidden = true;
    ui.status = element("p", { class: "status", role: "status" });
    ui.status.hidden = true;
    ui.replies = element("div", { class: "replies", role: "group", "aria-label": labels.bot });
    ui.replies.hidden = true;
    ui.input = element("textarea", { id: "rb-input", rows: "2", maxlength: String(maxChars), autocomplete: "off" });
    ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); ui.form.requestSubmit(); }
    });
    ui.form = element("form", { class: "composer", onsubmit: (event) => {
      event.preventDefault();
      sendText(ui.input.value);
      ui.input.value = "";
    } }, element("label", { for: "rb-input", class: "sr-only" }, labels.input), ui.input,
         element("button", { type: "submit", class: "send" }, labels.send));
    ui.input.placeholder = labels.input;
    ui.panel = element("section", { id: "rb-panel", class: "panel", role: "dialog", "aria-labelledby": "rb-title" },
      element("header", {},
        element("h2", { id: "rb-title" }, title),
        element("button", { type: "button", class: "exit", onclick: quickExit }, labels.quick_exit),
        element("button", { type: "button", class: "close", "aria-label": labels.close, onclick: close }, "×")),
      element("div", { class: "tools" },
        element("button", { type: "button", onclick: () => command("restart") }, labels.restart),
        element("button", { type: "button", onclick: () => { if (confirm(labels.delete_confirm)) command("delete"); } },
                labels.delete)),
      ui.status, ui.log, ui.typing, ui.replies, ui.form);
    ui.panel.hidden = true;
    root.append(element("link", { rel: "stylesheet", href: `${server}/widget.css` }), ui.launcher, ui.panel);
    document.body.append(host);
    document.addEventListener("keydown", onKey, true);
    if (window.visualViewport) window.visualViewport.addEventListener("resize", fitToViewport);
    if (state.open || (options.open === "true" && state.open === undefined)) open();
    else if (state.started) connect();
  }

  fetch(`${server}/api/v1/widget-texts?language=${language}`)
    .then((response) => response.ok ? response.json() : Promise.reject(new Error(response.status)))
    .then((texts) => { labels = texts.labels; maxChars = texts.max_chars; build(); })
    .catch((error) => console.warn("chat: the chat service is not reachable from this page", error));
})();
