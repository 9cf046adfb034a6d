// LearnLoop console: streams each answer from its server-sent events, resets the question
// box after asking, and lets a file be dropped on the upload form. No build step.
(function () {
  "use strict";

  function failed(el, text) {
    el.replaceChildren();
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    el.appendChild(p);
    el.setAttribute("aria-busy", "false");
  }

  function stream(el) {
    if (el.dataset.started) return;
    el.dataset.started = "1";
    const text = el.querySelector(".text");
    const quotes = el.querySelector(".quotes");
    const source = new EventSource(el.dataset.stream);
    source.addEventListener("quotes", (e) => { quotes.innerHTML = e.data; });
    source.addEventListener("text", (e) => { text.textContent += JSON.parse(e.data); });
    source.addEventListener("done", (e) => {
      source.close();
      el.innerHTML = e.data;
      el.classList.add("done");
      el.setAttribute("aria-busy", "false");
      if (window.htmx) window.htmx.process(el);
    });
    source.addEventListener("failed", (e) => { source.close(); failed(el, e.data); });
    source.onerror = () => {
      source.close();
      if (!el.classList.contains("done")) failed(el, "The answer was interrupted; please ask again.");
    };
  }

  function scan() { document.querySelectorAll("[data-stream]").forEach(stream); }

  document.addEventListener("DOMContentLoaded", () => {
    scan();
    const drop = document.getElementById("drop");
    const input = document.getElementById("file");
    if (drop && input) {
      drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
      drop.addEventListener("dragleave", () => drop.classList.remove("over"));
      drop.addEventListener("drop", (e) => {
        e.preventDefault();
        drop.classList.remove("over");
        if (e.dataTransfer && e.dataTransfer.files.length) input.files = e.dataTransfer.files;
      });
    }
  });
  document.addEventListener("htmx:load", scan);
  document.addEventListener("htmx:afterRequest", (e) => {
    const form = e.detail.elt;
    if (form && form.id === "ask" && e.detail.successful) {
      form.reset();
      form.querySelector("textarea").focus();
    }
  });
})();
