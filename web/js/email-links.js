// The pages e-mailed links open: #/verify, #/reset and #/confirm-email (each with
// ?token=), and #/forgot, which asks for a reset link. None needs a session: a link may
// be opened in a browser that is not signed in. The token leaves the address bar at
// once, as the OAuth tokens do, so that no history entry keeps it.
import * as session from "./api.js";
import { ApiError, api } from "./api.js";
import { refreshNotices } from "./notices.js";
import {
  errorBox, field, h, navigate, newPasswordFields, noticeForNextPage, onSubmit, render, submitActions,
} from "./ui.js";

function takeToken(ctx, path) {
  const token = ctx.query.get("token") || "";
  if (token) history.replaceState(null, "", `#${path}`);
  return token;
}

/** The server's message, or a plain one for a link cut short when it was copied. */
function linkProblem(failure) {
  if (!(failure instanceof ApiError) || failure.status >= 500) throw failure;
  if (failure.code === "validation_error") {
    return "This link is incomplete: open it from the e-mail again, or copy all of it.";
  }
  return failure.message;
}

/** A page of one short message, like the sign-in form's card. */
function card(...children) {
  render(h("div", { class: "card narrow" }, ...children));
}

function onwards(user) {
  return user
    ? h("p", {}, h("a", { href: "#/dashboard" }, "Go to your dashboard"))
    : h("p", {}, h("a", { href: "#/signin" }, "Sign in"));
}

export function forgotPage(ctx) {
  const email = h("input", {
    type: "email", name: "email", autocomplete: "email", required: true, value: ctx.user ? ctx.user.email : "",
  });
  const error = errorBox("forgot-error");
  const form = h("form", { class: "card narrow", "aria-labelledby": "forgot-title" },
    h("h1", { id: "forgot-title" }, "Forgot your password?"),
    h("p", {}, "Enter the e-mail address of your account: we send it a link that sets a new password."),
    field("E-mail", email),
    error,
    submitActions("Send the link"),
    h("p", {}, ctx.user ? h("a", { href: "#/account" }, "Back to your account") : h("a", { href: "#/signin" }, "Back to sign in")));
  // A refusal's message says what to do (a 429's, how long to wait).
  onSubmit(form, error, async () => {
    const answer = await api("/v1/auth/password/forgot", { method: "POST", body: { email: email.value } });
    card(
      h("h1", {}, "Check your e-mail"),
      h("p", { id: "forgot-sent" }, answer.message),
      h("p", { class: "muted" }, "Nothing after a few minutes? Look in the spam folder, or ",
        // The same route: navigate() renders it again, a plain link would not.
        h("a", { href: "#/forgot", onclick: (e) => { e.preventDefault(); navigate("/forgot"); } }, "ask again"), "."),
      onwards(ctx.user));
  });
  render(form);
}

export function resetPage(ctx) {
  const token = takeToken(ctx, "/reset");
  if (!token) {
    card(h("h1", {}, "Choose a new password"),
      h("p", {}, "This page needs the link from the e-mail we sent you. Open the link again, or ask for a new one."),
      h("p", {}, h("a", { href: "#/forgot" }, "Ask for a new link")));
    return;
  }
  const error = errorBox("reset-error");
  const fresh = newPasswordFields(error, "The two passwords are not the same.",
    { name: "new-password" }, { name: "repeat-password" });
  const again = h("p", { hidden: true }, h("a", { href: "#/forgot" }, "Ask for a new link"));
  const form = h("form", { class: "card narrow", "aria-labelledby": "reset-title" },
    h("h1", { id: "reset-title" }, "Choose a new password"),
    h("p", { class: "muted" }, "Every browser and app signed in to your account is signed out; sign in again with the new password."),
    fresh.fields,
    error, again,
    submitActions("Set the new password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!fresh.matches()) return;
    try {
      await api("/v1/auth/password/reset", { method: "POST", body: { token, password: fresh.password.value } });
    } catch (failure) {
      error.textContent = linkProblem(failure);
      again.hidden = failure.code !== "invalid_link";
      return;
    }
    // Every session of the account ended, this browser's too (if it had one).
    if (session.hasSession()) await session.signOut();
    noticeForNextPage("Your password was changed. Sign in with the new one.");
    navigate("/signin");
  });
  render(form);
}

export async function verifyPage(ctx) {
  const token = takeToken(ctx, "/verify");
  if (!token) {
    card(h("h1", {}, "Confirm your e-mail address"),
      h("p", {}, "This page needs the link from the e-mail we sent you: open it from there."),
      onwards(ctx.user));
    return;
  }
  try {
    const verified = await api("/v1/auth/verify-email", { method: "POST", body: { token } });
    if (ctx.user) await refreshNotices(ctx.user);
    card(h("h1", {}, "Your e-mail address is confirmed"),
      h("p", { id: "link-outcome", class: "ok" }, `Thank you: ${verified.email} is confirmed.`),
      onwards(ctx.user));
  } catch (failure) {
    card(h("h1", {}, "This link did not work"),
      h("p", { id: "link-outcome", class: "error" }, linkProblem(failure)),
      h("p", {}, ctx.user
        ? "The banner at the top of the page sends a new link."
        : "Sign in to ask for a new link: the banner at the top of the page sends one."),
      onwards(ctx.user));
  }
}

export async function confirmEmailPage(ctx) {
  const token = takeToken(ctx, "/confirm-email");
  const account = ctx.user
    ? h("p", {}, h("a", { href: "#/account" }, "Go to your account"))
    : h("p", {}, h("a", { href: "#/signin" }, "Sign in"));
  if (!token) {
    card(h("h1", {}, "Confirm your new e-mail address"),
      h("p", {}, "This page needs the link from the e-mail we sent to the new address: open it from there."),
      account);
    return;
  }
  try {
    const changed = await api("/v1/auth/email/confirm", { method: "POST", body: { token } });
    if (ctx.user) await refreshNotices(ctx.user);
    card(h("h1", {}, "Your e-mail address was changed"),
      h("p", { id: "link-outcome", class: "ok" }, `Your account uses ${changed.email} from now on: sign in with it.`),
      account);
  } catch (failure) {
    card(h("h1", {}, "Your e-mail address was not changed"),
      h("p", { id: "link-outcome", class: "error" }, linkProblem(failure)),
      h("p", {}, "Ask for a new link under Account → Security."),
      account);
  }
}
