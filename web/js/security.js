// Account → Security: change the password or the e-mail address, and see where the
// account is signed in (sign one session out, or every one).
import * as session from "./api.js";
import { api } from "./api.js";
import {
  errorBox, field, formatDate, h, navigate, newPasswordFields, noticeForNextPage, statusBox, submitActions,
} from "./ui.js";

const BROWSERS = [
  [/Edg(A|iOS)?\//, "Edge"], [/OPR\/|Opera/, "Opera"], [/Firefox\/|FxiOS\//, "Firefox"],
  [/Chrome\/|CriOS\/|Chromium\//, "Chrome"], [/Safari\//, "Safari"],
];
// Android and iOS before Linux and macOS: their user agents name those too.
const SYSTEMS = [
  [/Android/, "Android"], [/iPhone|iPad|iPod/, "iOS"], [/CrOS/, "ChromeOS"], [/Windows/, "Windows"],
  [/Mac OS X|Macintosh/, "macOS"], [/Linux/, "Linux"],
];

/** "Chrome on Linux" for a browser's user agent; an API client's as it is sent. */
export function describeUserAgent(userAgent) {
  if (!userAgent) return "Unknown browser";
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent));
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent));
  if (browser && system) return `${browser[1]} on ${system[1]}`;
  if (browser) return browser[1];
  return userAgent.length > 60 ? `${userAgent.slice(0, 60)}…` : userAgent;
}

export async function securitySection(me) {
  const sessions = h("div", { id: "sessions" });
  const section = h("section", { class: "card", id: "security", "aria-labelledby": "security-title" },
    h("h2", { id: "security-title" }, "Security"),
    passwordForm(me),
    emailForm(me),
    sessions);
  try {
    await showSessions(sessions);
  } catch (failure) {
    if (failure.status === 401) throw failure; // signed out: the router goes to sign-in
    sessions.replaceChildren(h("h3", {}, "Where you are signed in"), h("p", { class: "error" }, failure.message));
  }
  return section;
}

function passwordForm(me) {
  if (!me.has_password) {
    return h("div", { id: "password-change" },
      h("h3", {}, "Password"),
      h("p", {}, "This account has no password: you sign in with Google or GitHub. ",
        h("a", { href: "#/forgot" }, "Set a password by e-mail"), " to sign in with your address too."));
  }
  const current = h("input", { type: "password", id: "current-password", autocomplete: "current-password", required: true });
  const error = errorBox("password-error");
  const done = statusBox("password-status");
  const fresh = newPasswordFields(error, "The two new passwords are not the same.",
    { id: "new-password" }, { id: "repeat-password" });
  const form = h("form", { id: "password-change", "aria-labelledby": "password-title" },
    h("h3", { id: "password-title" }, "Change your password"),
    field("Current password", current),
    fresh.fields,
    error, done,
    submitActions("Change password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.replaceChildren();
    done.textContent = "";
    if (!fresh.matches()) return;
    try {
      await api("/v1/me/password", {
        method: "POST", body: { current_password: current.value, new_password: fresh.password.value },
      });
    } catch (failure) {
      if (failure.code === "no_password") {
        error.append(failure.message, " ", h("a", { href: "#/forgot" }, "Forgot password?"));
      } else {
        error.textContent = failure.message;
        if (failure.code === "password_required") current.focus();
      }
      return;
    }
    form.reset();
    done.textContent = "Your password was changed. Every other session was signed out; this one stays.";
    await showSessions(document.getElementById("sessions"));
  });
  return form;
}

function emailForm(me) {
  const address = h("input", { type: "email", id: "new-email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", id: "email-password", autocomplete: "current-password", required: true });
  const error = errorBox("email-error");
  const done = statusBox("email-status");
  const form = h("form", { id: "email-change", "aria-labelledby": "email-title" },
    h("h3", { id: "email-title" }, "Change your e-mail address"),
    h("p", {}, `Your address is ${me.email}`,
      me.email_verified ? " (confirmed)." : " (not confirmed yet: follow the link we sent to it)."),
    field("New e-mail address", address, "We send a link to it; the address changes once you follow the link."),
    me.has_password
      ? field("Current password", password)
      : h("p", { class: "muted" }, "You signed in with an identity provider: sign in again shortly before changing the address."),
    error, done,
    submitActions("Send a confirmation link"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    done.textContent = "";
    const body = me.has_password ? { email: address.value, password: password.value } : { email: address.value };
    try {
      const answer = await api("/v1/me/email", { method: "POST", body });
      done.textContent = `A link is on its way to ${address.value}. ${answer.message}`;
      form.reset();
    } catch (failure) {
      error.textContent = failure.message;
      if (failure.code === "password_required") password.focus();
      else if (failure.code === "email_taken" || failure.code === "email_unchanged") address.focus();
    }
  });
  return form;
}

async function showSessions(container) {
  const { sessions } = await api("/v1/me/sessions");
  const done = statusBox("sessions-status");
  const heading = h("h3", { id: "sessions-title", tabindex: "-1" }, "Where you are signed in");
  const list = h("ul", { class: "plain sessions", "aria-labelledby": "sessions-title" },
    sessions.map((item) => sessionRow(item, async (row) => {
      done.className = "ok";
      try {
        await api(`/v1/me/sessions/${item.id}`, { method: "DELETE" });
      } catch (failure) {
        if (failure.status !== 404) { // 404: signed out already
          done.className = "error";
          done.textContent = failure.message;
          return;
        }
      }
      row.remove();
      done.textContent = `${describeUserAgent(item.user_agent)} was signed out.`;
      heading.focus();
    })));
  const everywhere = h("button", { type: "button", class: "danger", id: "sign-out-everywhere" }, "Sign out everywhere");
  everywhere.addEventListener("click", async () => {
    try {
      await api("/v1/me/sessions", { method: "DELETE" });
    } catch (failure) {
      done.className = "error";
      done.textContent = failure.message;
      return;
    }
    // This session ended too: forget it here (and clear its cookies).
    await session.signOut();
    noticeForNextPage("You were signed out everywhere, in this browser too.");
    navigate("/signin");
  });
  container.replaceChildren(heading,
    h("p", { class: "muted" }, "Each sign-in, most recently used first. Signing a session out ends it at once."),
    list, done,
    h("p", {}, "Lost a device, or signed in on a computer that is not yours? Sign out everywhere, this browser included."),
    h("div", { class: "actions" }, everywhere));
}

function sessionRow(item, signOut) {
  const what = describeUserAgent(item.user_agent);
  const where = item.ip_prefix ? `network ${item.ip_prefix}` : null;
  const row = h("li", { class: "session", dataset: { id: item.id, current: item.current ? "true" : "false" } },
    h("div", {},
      h("strong", {}, what), item.current ? [" ", h("span", { class: "badge current" }, "this browser")] : null,
      h("div", { class: "muted" }, [
        where, `signed in ${formatDate(item.created_at)}`, `last active ${formatDate(item.last_used_at)}`,
      ].filter(Boolean).join(" · "))),
    item.current
      ? null
      : h("button", {
          type: "button",
          class: "secondary",
          "aria-label": `Sign out ${what}, last active ${formatDate(item.last_used_at)}`,
          onclick: () => signOut(row),
        }, "Sign out"));
  return row;
}
