/* The counsellors' live chat console (bot/console.py): the queue, the counsellor's open chats and
   their availability, kept up to date over one WebSocket. Everything shown is built with
   textContent, never as HTML: a visitor's words are only text here. */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const ui = {
    available: $("available"), connection: $("connection"), queue: $("queue"), queueEmpty: $("queue-empty"),
    chats: $("chats"), chatsEmpty: $("chats-empty"), claimResult: $("claim-result"), health: $("health"),
  };
  const CHANNELS = { web: "nettchat", telegram: "Telegram" };
  const LANGUAGES = { nb: "norsk", en: "engelsk" };
  let socket = null;
  let retries = 0;
  let quickReplies = [];
  let displayName = "";
  let wanted = null;  // the availability just chosen, until a view from after the choice confirms it

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  function send(frame) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
  }

  function describe(item) {
    const parts = [`venter ${item.waited_minutes} min`, CHANNELS[item.channel] || item.channel,
                   LANGUAGES[item.language] || item.language];
    if (item.topics.length) parts.push(`temaer: ${item.topics.join(", ")}`);
    return parts.join(" · ");
  }

  function showQueue(queue) {
    ui.queue.replaceChildren(...queue.map((item) => element("li", { class: item.crisis ? "crisis" : "" },
      item.crisis ? element("strong", {}, "Krise – haster. ") : "",
      describe(item), " ",
      element("button", { type: "button", onclick: () => send({ type: "claim", handoff: item.id }) }, "Ta samtalen"))));
    ui.queueEmpty.hidden = queue.length > 0;
  }

  function line(from, text) {
    const who = { bot: "Boten", user: "Bruker", visitor: "Bruker", counsellor: "Du" }[from] || from;
    return element("li", { class: `from-${from}` }, element("span", {}, `${who}: `), text);
  }

  function chatSection(chat) {
    let section = document.getElementById(`chat-${chat.id}`);
    if (section) return section;
    const box = element("textarea", { "aria-label": "Svar", maxlength: "2000" });
    const sendReply = () => {
      if (!box.value.trim()) return;
      send({ type: "send", handoff: chat.id, text: box.value });
      box.value = "";
      box.focus();
    };
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendReply(); }
    });
    const quick = element("div", { class: "quick" }, ...quickReplies.map((reply) => element("button", {
      type: "button", onclick: () => { box.value = reply.replace("{name}", displayName || "en rådgiver"); box.focus(); },
    }, reply.replace("{name}", displayName || "…"))));
    section = element("section", { id: `chat-${chat.id}`, class: "chat", "aria-label": `Samtale ${chat.id}` },
      element("p", { class: "about" }),
      element("h4", {}, "Samtalen med chatboten"), element("ol", { class: "transcript bot-part" }),
      element("h4", {}, "Chat med rådgiver"), element("ol", { class: "transcript live", "aria-live": "polite" }),
      box,
      element("p", {}, element("button", { type: "button", onclick: sendReply }, "Send"), " ",
              element("button", { type: "button", onclick: () => send({ type: "end", handoff: chat.id }) }, "Avslutt samtalen")),
      element("details", {}, element("summary", {}, "Hurtigsvar"), quick));
    ui.chats.append(section);
    return section;
  }

  function showChats(chats) {
    const open = new Set(chats.map((chat) => `chat-${chat.id}`));
    [...ui.chats.children].forEach((section) => { if (!open.has(section.id)) section.remove(); });
    chats.forEach((chat) => {
      const section = chatSection(chat);
      section.classList.toggle("crisis", chat.crisis);
      section.querySelector(".about").textContent = (chat.crisis ? "Krise – haster. " : "") + describe(chat);
      const botPart = section.querySelector(".bot-part");
      if (!botPart.childElementCount) botPart.replaceChildren(...chat.bot_part.map((m) => line(m.from, m.text)));
      const live = section.querySelector(".live");
      const shown = live.childElementCount;
      chat.live.slice(shown).forEach((m) => live.append(line(m.author, m.text)));
      live.scrollTop = live.scrollHeight;
    });
    ui.chatsEmpty.hidden = chats.length > 0;
  }

  function showHealth(health) {
    ui.health.hidden = !health;
    if (!health) return;
    ui.health.replaceChildren(element("p", {},
      `Venter: ${health.waiting} · Lengste ventetid: ${health.longest_wait_minutes} min · ` +
      `Tilgjengelige rådgivere: ${health.available} · Pågående chatter: ${health.live} · ` +
      `Var samtalen til hjelp: ja ${health.helpful.yes || 0}, nei ${health.helpful.no || 0}`));
  }

  function receive(event) {
    if (event.type === "view") {
      quickReplies = event.quick_replies;
      displayName = event.display_name;
      if (wanted === null || wanted === event.available) {
        wanted = null;
        ui.available.checked = event.available;
      }
      ui.available.disabled = false;  // usable once the console knows the counsellor's state
      showQueue(event.queue);
      showChats(event.chats);
      showHealth(event.health);
    } else if (event.type === "claim_failed") {
      ui.claimResult.textContent = "En annen rådgiver tok samtalen, eller du har nådd grensen for samtaler.";
      setTimeout(() => { ui.claimResult.textContent = ""; }, 8000);
    } else if (event.type === "send_failed") {
      ui.claimResult.textContent = "Meldingen ble ikke sendt: samtalen er avsluttet.";
    }
  }

  function connect() {
    socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/radgiver/ws");
    socket.onopen = () => { retries = 0; ui.connection.textContent = ""; };
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = () => {
      ui.available.disabled = true;
      ui.connection.textContent = "Frakoblet – kobler til igjen …";
      setTimeout(connect, Math.min(500 * 2 ** retries++, 10000));
    };
  }

  ui.available.addEventListener("change", () => {
    wanted = ui.available.checked;
    send({ type: "available", on: wanted });
  });
  setInterval(() => send({ type: "ping" }), 20000);
  connect();
})();
