// Banners above every page while the signed-in account has something to act on: an
// address not confirmed yet (with a button that sends the link again), and a change of
// the privacy policy not acknowledged yet. Both are read from GET /v1/me.
import { api } from "./api.js";
import { focusHeading, h } from "./ui.js";

// A sign-out while GET /v1/me is on its way must not bring the banners back.
let generation = 0;

/** Show the banners of ``user`` (read again from GET /v1/me), or none when signed out. */
export async function refreshNotices(user) {
  const mine = ++generation;
  const area = document.getElementById("notices");
  if (!user) {
    area.replaceChildren();
    return;
  }
  let me;
  try {
    me = await api("/v1/me");
  } catch (e) {
    return; // the page itself reports a server that cannot answer
  }
  if (mine === generation) showNotices(me);
}

function showNotices(me) {
  document.getElementById("notices").replaceChildren(
    ...[me.email_verified ? null : verificationBanner(me), me.policy_notice ? policyBanner(me.policy_notice) : null]
      .filter(Boolean));
}

function verificationBanner(me) {
  const outcome = h("p", { class: "banner-status", id: "verify-banner-status", role: "status" });
  let sending = false;
  const resend = h("button", { type: "button", class: "secondary", id: "resend-verification" }, "Send the link again");
  resend.addEventListener("click", async () => {
    // Not disabled while sending: a disabled button drops the keyboard focus.
    if (sending) return;
    sending = true;
    resend.setAttribute("aria-busy", "true");
    outcome.textContent = "";
    try {
      const answer = await api("/v1/auth/verify-email/resend", { method: "POST" });
      say(outcome, answer.message, "ok");
    } catch (failure) {
      if (failure.code === "email_already_verified") {
        await refreshNotices(me);
        focusHeading();
        return;
      }
      // 429 says how long to wait ("Try again in 840 seconds.").
      say(outcome, failure.message, "error");
    } finally {
      sending = false;
      resend.removeAttribute("aria-busy");
    }
  });
  return h("section", { class: "banner", id: "verify-banner", "aria-labelledby": "verify-banner-title" },
    h("p", {},
      h("strong", { id: "verify-banner-title" }, "Confirm your e-mail address."),
      ` We sent a link to ${me.email}: follow it to show the address is yours. You can practise in the meantime. `,
      "Wrong address? ", h("a", { href: "#/account" }, "Change the address"), "."),
    h("div", { class: "actions" }, resend),
    outcome);
}

function policyBanner(notice) {
  const error = h("p", { class: "error", role: "alert" });
  const gotIt = h("button", { type: "button", id: "policy-ack" }, "Got it");
  const banner = h("section", { class: "banner", id: "policy-banner", "aria-labelledby": "policy-banner-title" },
    h("p", {}, h("strong", { id: "policy-banner-title" }, "Our privacy policy has changed."), " ", notice.summary),
    h("p", {}, "Read the ", h("a", { href: "/privacy.html" }, "privacy policy"), ` (version ${notice.version}).`),
    h("div", { class: "actions" }, gotIt),
    error);
  gotIt.addEventListener("click", async () => {
    error.textContent = "";
    try {
      await api("/v1/me/policy-ack", { method: "POST", body: { version: notice.version } });
      banner.remove();
      focusHeading();
    } catch (failure) {
      if (failure.code === "policy_version_not_current") {
        // A newer version was published since this page read its notice: show that one.
        const me = await api("/v1/me");
        showNotices(me);
        const newer = document.getElementById("policy-ack");
        if (newer) newer.focus();
        else focusHeading();
        return;
      }
      error.textContent = failure.message;
    }
  });
  return banner;
}

function say(element, message, kind) {
  element.className = `banner-status ${kind}`;
  element.textContent = message;
}
