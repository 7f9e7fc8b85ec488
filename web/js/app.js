// The app shell: theme, session start-up, hash routing, sign-in and sign-up.
import * as api from "./api.js";
import {
  errorBox, field, h, navigate, noticeForNextPage, onSubmit, render, statusBox, submitActions, takeNotice, toast,
} from "./ui.js";
import { dashboardPage } from "./dashboard.js";
import { jobsPage, resumesPage } from "./documents.js";
import { newInterviewPage, reportPage } from "./interviews.js";
import { roomPage } from "./room.js";
import { quizzesPage } from "./quizzes.js";
import { accountPage } from "./account.js";
import { confirmEmailPage, forgotPage, resetPage, verifyPage } from "./email-links.js";
import { refreshNotices } from "./notices.js";

const ROUTES = [
  [/^\/signin$/, signInPage, false],
  [/^\/signup$/, signUpPage, false],
  // Opened from e-mailed links, signed in or not.
  [/^\/forgot$/, forgotPage, false],
  [/^\/reset$/, resetPage, false],
  [/^\/verify$/, verifyPage, false],
  [/^\/confirm-email$/, confirmEmailPage, false],
  [/^\/dashboard$/, dashboardPage, true],
  [/^\/resumes$/, resumesPage, true],
  [/^\/jobs$/, jobsPage, true],
  [/^\/interviews\/new$/, newInterviewPage, true],
  [/^\/interviews\/([\w-]+)\/room$/, roomPage, true],
  [/^\/interviews\/([\w-]+)\/report$/, reportPage, true],
  [/^\/quizzes$/, quizzesPage, true],
  [/^\/account$/, accountPage, true],
];

// What a refused Google or GitHub sign-in comes back with (#error=<code>).
const OAUTH_ERRORS = {
  oauth_denied: "Signing in with Google or GitHub was cancelled.",
  oauth_provider_error: "Google or GitHub could not complete the sign-in. Try again in a moment, or sign in with your e-mail and password.",
  oauth_email_missing: "Google or GitHub did not share an e-mail address with Intrvuer, and an account needs one. Make an address visible to Intrvuer there, or create an account with your e-mail.",
  email_unverified: "An account with this e-mail address exists here, and Google or GitHub has not verified the address. Sign in with your password, or verify the address with Google or GitHub first.",
  email_not_verified: "An account with this e-mail address exists and has not confirmed the address yet. Sign in with its password and follow the link we e-mailed you (or use \u201cForgot password?\u201d), then sign in with Google or GitHub again.",
};

let user = null;
let leavePage = null;
// A page that needed a session, opened before signing in (a link to #/account).
let afterSignIn = null;

function setupTheme() {
  const select = document.getElementById("theme");
  select.value = document.documentElement.dataset.theme || "system";
  select.addEventListener("change", () => {
    document.documentElement.dataset.theme = select.value;
    try { localStorage.setItem("intrvuer.theme", select.value); } catch (e) { /* disabled */ }
  });
}

function updateChrome() {
  document.getElementById("nav").hidden = !user;
  document.getElementById("sign-out").hidden = !user;
}

function updateNav(path) {
  updateChrome();
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#${path}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// One page at a time: a page still loading (the dashboard waiting for its charts) must not
// render over the page the candidate went on to; the next route runs once it is done.
let routing = Promise.resolve();
function routeInTurn() {
  routing = routing.then(route, route);
  return routing;
}

async function route() {
  const [path, search] = (location.hash.replace(/^#/, "") || "/").split("?");
  if (leavePage) {
    const leave = leavePage;
    leavePage = null;
    await leave();
  }
  if (path === "/") {
    navigate(user ? "/dashboard" : "/signin");
    return;
  }
  for (const [pattern, page, needsUser] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    if (needsUser && !user) {
      afterSignIn = location.hash.replace(/^#/, "");
      navigate("/signin");
      return;
    }
    if (needsUser && !user.age_confirmed) {
      // Accounts made by Google or GitHub confirm the age before anything else.
      confirmAgePage();
      return;
    }
    updateNav(path);
    try {
      const cleanup = await page(...match.slice(1), { user, query: new URLSearchParams(search || "") });
      if (typeof cleanup === "function") leavePage = cleanup;
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) {
        // Signed out elsewhere (or expired): come back here after signing in again.
        api.dropSession();
        afterSignIn = needsUser ? location.hash.replace(/^#/, "") : null;
        navigate("/signin");
        return;
      }
      render(h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, error.message));
    }
    return;
  }
  render(h("h1", {}, "Not found"), h("p", {}, "No such page. "), h("a", { href: "#/" }, "Go home"));
}

function signInPage() {
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = errorBox("signin-error");
  const done = statusBox("signin-status");
  const notice = takeNotice();
  if (notice) (notice.kind === "error" ? error : done).textContent = notice.message;
  const providers = h("div", { class: "actions", id: "oauth-providers" });
  const form = h("form", { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    done,
    field("E-mail", email),
    field("Password", password),
    h("p", { class: "forgot" }, h("a", { href: "#/forgot" }, "Forgot password?")),
    error,
    submitActions("Sign in"),
    providers,
    h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")),
  );
  onSubmit(form, error, async () => {
    user = await api.signIn({ email: email.value, password: password.value });
    const next = afterSignIn;
    afterSignIn = null;
    navigate(next || "/dashboard");
  });
  render(form);
  loadProviders(providers);
}

async function loadProviders(container) {
  try {
    const response = await fetch("/v1/auth/oauth/providers");
    if (!response.ok) return;
    const { providers } = await response.json();
    for (const provider of providers) {
      const label = provider.name === "github" ? "GitHub" : provider.name === "google" ? "Google" : provider.name;
      container.append(h("a", {
        class: "button secondary",
        href: `${provider.start_url}?redirect_to=%2F`,
      }, `Sign in with ${label}`));
    }
  } catch (e) { /* no providers */ }
}

function signUpPage() {
  const name = h("input", { type: "text", name: "name", autocomplete: "name", required: true, maxlength: 100 });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 10,
  });
  const age = h("input", { type: "checkbox", id: "confirm-age", name: "confirm_age_16", required: true });
  const error = errorBox("signup-error");
  const form = h("form", { class: "card narrow", "aria-labelledby": "signup-title" },
    h("h1", { id: "signup-title" }, "Create your account"),
    field("Name", name),
    field("E-mail", email),
    field("Password", password, "At least 10 characters."),
    h("div", { class: "check" }, age, h("label", { for: "confirm-age" }, "I am at least 16 years old.")),
    h("p", { class: "muted" }, "By creating an account you accept the ",
      h("a", { href: "/privacy.html" }, "privacy policy"), "."),
    error,
    submitActions("Create account"),
    h("p", {}, "Have an account? ", h("a", { href: "#/signin" }, "Sign in")),
  );
  onSubmit(form, error, async () => {
    user = await api.signUp({
      name: name.value, email: email.value, password: password.value, confirm_age_16: age.checked,
    });
    toast("Welcome to Intrvuer.");
    navigate("/dashboard");
  });
  render(form);
}

function confirmAgePage() {
  updateNav("");
  const age = h("input", { type: "checkbox", id: "confirm-age", required: true });
  const error = errorBox("age-error");
  const form = h("form", { class: "card narrow", "aria-labelledby": "age-title" },
    h("h1", { id: "age-title" }, "One more step"),
    h("p", {}, "Intrvuer is for people aged 16 or over."),
    h("div", { class: "check" }, age, h("label", { for: "confirm-age" }, "I am at least 16 years old.")),
    error,
    submitActions("Continue"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      user = await api.api("/v1/me", { method: "PATCH", body: { confirm_age_16: true } });
      navigate("/dashboard");
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  render(form);
}

/**
 * The provider's callback put tokens in the fragment: keep the refresh token only as a
 * cookie, then wipe the fragment from the address bar and history. Answers why the
 * sign-in was refused, if it was.
 */
async function finishOAuth() {
  const params = new URLSearchParams(location.hash.replace(/^#\/oauth[?&]?/, "").replace(/^#/, ""));
  const refreshToken = params.get("refresh_token");
  history.replaceState(null, "", "/#/");
  if (refreshToken) user = await api.adoptRefreshToken(refreshToken);
  const code = params.get("error");
  return code ? OAUTH_ERRORS[code] || "Signing in with Google or GitHub did not work. Try again." : null;
}

async function signOut() {
  await api.signOut();
  navigate("/signin");
}

async function start() {
  setupTheme();
  document.getElementById("sign-out").addEventListener("click", signOut);
  api.onSessionChange((changed) => {
    const before = user;
    user = changed;
    updateChrome();
    // A refreshed access token is the same user: the banners stay as they are.
    if ((before && before.id) !== (changed && changed.id)) refreshNotices(changed);
  });
  let refused = null;
  if (/^#\/oauth|access_token=|error=/.test(location.hash)) {
    try { refused = await finishOAuth(); } catch (e) { toast(e.message); }
  }
  if (!user && api.hasSession()) user = await api.refresh();
  if (refused) {
    // Signed out, the sign-in page shows it until the next try; signed in, a toast.
    if (user) toast(refused);
    else noticeForNextPage(refused, "error");
  }
  window.addEventListener("hashchange", routeInTurn);
  await routeInTurn();
  document.body.dataset.ready = "true";
}

start();
