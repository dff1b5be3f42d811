// Small page helpers (issue 14, the walk's fixes). Plain script, no eval, nothing fetched:
//  - shortcuts: "g d" the dashboard, "g r" the request list, "?" the shortcuts help ("/" is search.js's);
//    ignored while typing in a field. The footer's "Keyboard shortcuts" panel lists them and holds the links.
//  - Escape closes the open action panel (a <details class="action">) and puts focus back on its summary.
//  - the phone's navigation: the Menu button shows and hides it (without this script the nav stays shown).
//  - the request list's filters follow the address after Back / Forward, and a push of the address
//    already shown (a refresh) replaces the history entry instead of adding one.
(() => {
  "use strict";
  document.documentElement.classList.add("js");

  const typing = (el) => !!el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  let gPressedAt = 0;

  const go = (key) => {
    const link = document.querySelector(`[data-shortcut="g ${key}"]`);
    if (link) window.location.assign(link.href);
    return !!link;
  };

  const closeActionPanel = () => {
    const open = Array.from(document.querySelectorAll("details.action[open], details.keys-help[open]"));
    if (!open.length) return false;
    const active = document.activeElement;
    const panel = open.find((d) => d.contains(active)) || open[open.length - 1];
    panel.open = false;
    const summary = panel.querySelector("summary");
    if (summary) summary.focus();
    return true;
  };

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      if (closeActionPanel()) event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (gPressedAt && Date.now() - gPressedAt < 1500 && (event.key === "d" || event.key === "r")) {
      gPressedAt = 0;
      if (go(event.key)) event.preventDefault();
      return;
    }
    gPressedAt = event.key === "g" ? Date.now() : 0;
    if (event.key === "?") {
      const help = document.querySelector("details.keys-help");
      if (help) {
        event.preventDefault();
        help.open = !help.open;
        if (help.open) help.querySelector("summary").focus();
      }
    }
  });

  // The phone's navigation toggle.
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-nav-toggle]");
    if (!button) return;
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    document.documentElement.classList.toggle("nav-open", open);
  });

  // The filter controls from the address: htmx restores the page's HTML from its history cache,
  // which keeps a select's markup but not the option picked after the page loaded.
  const syncFilters = () => {
    const form = document.getElementById("request-filters");
    if (!form) return;
    const params = new URLSearchParams(window.location.search);
    for (const control of form.elements) {
      if (!control.name || control.type === "submit" || control.type === "button") continue;
      const value = params.get(control.name) || "";
      if (control.type === "checkbox" || control.type === "radio") {
        control.checked = params.getAll(control.name).includes(control.value);
      } else {
        control.value = value;
        if (control.tagName === "SELECT" && control.value !== value) control.value = "";
      }
    }
  };
  document.addEventListener("htmx:historyRestore", syncFilters);
  window.addEventListener("popstate", () => window.setTimeout(syncFilters, 0));
  window.addEventListener("pageshow", syncFilters); // the browser's own back-forward cache

  document.addEventListener("htmx:beforeHistoryUpdate", (event) => {
    const update = event.detail && event.detail.history;
    if (!update || update.type !== "push") return;
    const target = new URL(update.path, window.location.href);
    if (target.pathname + target.search === window.location.pathname + window.location.search) {
      update.type = "replace"; // the same address again (a refresh): no new history entry
    }
  });
})();
