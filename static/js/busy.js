// Every form in the app, set once (issue 14, the walk's fixes): while a form is being sent its submit
// buttons are disabled, so a second click or Enter sends nothing twice, and the page says it is busy.
//  - A plain form: the buttons are disabled once the submit is going ahead (nobody cancelled it). A
//    disabled button is left out of the form's data, and several forms pick their action with a named
//    button (name="action" value="route"), so the one clicked is first copied into a hidden input.
//  - An htmx form: htmx has read the form's data by htmx:beforeRequest, so the buttons are disabled
//    there and enabled again at htmx:afterRequest; a second submit while one is in flight is dropped
//    (htmx would otherwise queue it and send it after the first). Requests a control's change sends
//    (the list's filters) are never dropped: the newest filter must win.
//  - Back to a page from the browser's cache, or a form that answered with a download (the page
//    stays), gives the form back usable.
// A form marked data-no-busy is left alone.
(() => {
  "use strict";
  const GIVE_BACK_MS = 20000; // a form still on the page this long after it was sent did not navigate
  let inFlight = 0;

  const indicator = () => document.getElementById("busy-indicator");
  const showBusy = () => {
    inFlight += 1;
    document.documentElement.classList.add("is-busy");
    const el = indicator();
    if (el) el.hidden = false;
  };
  const hideBusy = () => {
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight) return;
    document.documentElement.classList.remove("is-busy");
    const el = indicator();
    if (el) el.hidden = true;
  };

  const submitButtons = (form) =>
    Array.from(form.elements).filter((el) => (el.type === "submit" || el.type === "image") && !el.disabled);

  const lock = (form, submitter) => {
    form.dataset.busy = "true";
    form.setAttribute("aria-busy", "true");
    for (const button of submitButtons(form)) {
      button.disabled = true;
      button.dataset.busyLocked = "true";
    }
    if (submitter) submitter.classList.add("is-sending");
    showBusy();
  };

  const unlock = (form) => {
    if (form.dataset.busy !== "true") return;
    delete form.dataset.busy;
    form.removeAttribute("aria-busy");
    for (const button of Array.from(form.elements)) {
      if (button.dataset && button.dataset.busyLocked) {
        button.disabled = false;
        delete button.dataset.busyLocked;
        button.classList.remove("is-sending");
      }
    }
    for (const copy of form.querySelectorAll("input[data-busy-copy]")) copy.remove();
    hideBusy();
  };

  const formOf = (el) => (!el ? null : el instanceof HTMLFormElement ? el : el.form || el.closest("form"));

  // Plain forms. Listening on the document in the bubbling phase, after every other handler: a submit
  // htmx or a page script took over is defaultPrevented by then, and is not ours.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-no-busy")) return;
    if (form.dataset.busy === "true") {
      event.preventDefault(); // the first submit is still on its way
      return;
    }
    if (event.defaultPrevented) return;
    const submitter = event.submitter;
    if (submitter && submitter.name && !submitter.disabled) {
      const copy = document.createElement("input");
      copy.type = "hidden";
      copy.name = submitter.name;
      copy.value = submitter.value;
      copy.dataset.busyCopy = "true";
      form.appendChild(copy);
    }
    lock(form, submitter);
    window.setTimeout(() => unlock(form), GIVE_BACK_MS);
  });

  // htmx forms.
  document.addEventListener("htmx:confirm", (event) => {
    const form = formOf(event.detail && event.detail.elt);
    const trigger = event.detail && event.detail.triggeringEvent;
    if (form && form.dataset.busy === "true" && trigger && trigger.type === "submit") event.preventDefault();
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = formOf(event.detail && event.detail.elt);
    if (!form || form.hasAttribute("data-no-busy") || form.dataset.busy === "true") return;
    const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    lock(form, trigger && trigger.submitter);
    form.dataset.busyHtmx = "true";
  });
  const done = (event) => {
    const form = formOf(event.detail && event.detail.elt);
    if (form && form.dataset.busyHtmx) {
      delete form.dataset.busyHtmx;
      unlock(form);
    }
  };
  document.addEventListener("htmx:afterRequest", done);
  document.addEventListener("htmx:sendAbort", done);

  // Back to this page from the browser's back-forward cache: its forms as they were before sending.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    for (const form of document.querySelectorAll("form[data-busy]")) unlock(form);
  });
})();
