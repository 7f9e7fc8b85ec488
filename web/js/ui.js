// DOM helpers. Text always goes in as text nodes, never as HTML, so nothing a user or
// the server wrote can become markup or script.

const SVG_NS = "http://www.w3.org/2000/svg";
const SVG_TAGS = new Set(["svg", "g", "line", "polyline", "rect", "circle", "text", "title", "path"]);

export function h(tag, attrs = {}, ...children) {
  const el = SVG_TAGS.has(tag) ? document.createElementNS(SVG_NS, tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value" && "value" in el && !SVG_TAGS.has(tag)) {
      el.value = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace the main area with ``children``; focus the first heading for screen readers. */
export function render(...children) {
  const main = document.getElementById("main");
  main.replaceChildren();
  append(main, children);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  return main;
}

let toastTimer = 0;
export function toast(message) {
  const status = document.getElementById("status");
  status.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { status.textContent = ""; }, 5000);
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h("small", { class: "muted", id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}

/** The row under a form that holds its submit button (``attrs`` for the button). */
export function submitActions(label, attrs = {}) {
  return h("div", { class: "actions" }, h("button", { type: "submit", ...attrs }, label));
}

/**
 * Run ``submit`` when ``form`` is submitted, instead of the browser's own submission:
 * ``error`` is emptied first, and shows the message of whatever ``submit`` throws.
 */
export function onSubmit(form, error, submit) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await submit();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
}

/**
 * A new password typed twice, in two inputs with ``passwordAttrs`` and ``repeatAttrs``
 * (their name or id): the first input (``password``), the two ``fields``, and
 * ``matches()``: false while the two differ, saying ``mismatch`` in ``error`` with the
 * repeat focused. Typing in either empties ``error``.
 */
export function newPasswordFields(error, mismatch, passwordAttrs, repeatAttrs) {
  const input = (attrs) => h("input", {
    type: "password", ...attrs, autocomplete: "new-password", required: true, minlength: 10,
  });
  const password = input(passwordAttrs);
  const repeat = input(repeatAttrs);
  for (const each of [password, repeat]) each.addEventListener("input", () => { error.textContent = ""; });
  return {
    password,
    fields: [field("New password", password, "At least 10 characters."), field("Repeat the new password", repeat)],
    matches() {
      if (password.value === repeat.value) return true;
      error.textContent = mismatch;
      repeat.focus();
      return false;
    },
  };
}

export function errorBox(id) {
  return h("p", { class: "error", id, role: "alert" });
}

/** A live region for the outcome of an action ("Your password was changed."). */
export function statusBox(id) {
  return h("p", { class: "ok", id, role: "status" });
}

let nextNotice = null;

/**
 * Leave a message for the page shown next, such as the sign-in page after a password
 * reset ("ok") or a refused Google sign-in ("error").
 */
export function noticeForNextPage(message, kind = "ok") {
  nextNotice = { message, kind };
}

/** The message left for this page, once; null when there is none. */
export function takeNotice() {
  const notice = nextNotice;
  nextNotice = null;
  return notice;
}

/** Focus the page's heading (after the control that had focus went away). */
export function focusHeading() {
  const heading = document.querySelector("#main h1") || document.getElementById("main");
  heading.focus({ preventScroll: true });
}

export function formatDate(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function badge(text) {
  return h("span", { class: `badge ${text}` }, text);
}

export function notAvailable(what) {
  return h("p", { class: "muted not-available" }, `${what} is not available on this server yet.`);
}

/** Save a Blob under ``filename`` through a temporary object URL. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, class: "visually-hidden" }, filename);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Go to an app route; re-renders when it is already the current one. */
export function navigate(path) {
  if (location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = path;
}
