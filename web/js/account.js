// Account settings: profile, Security (in security.js) and Data & Privacy: export,
// retention, audit events, deletion.
import * as session from "./api.js";
import { api, optional } from "./api.js";
import { securitySection } from "./security.js";
import {
  errorBox, field, formatDate, h, notAvailable, render, saveBlob, submitActions, toast,
} from "./ui.js";

export async function accountPage() {
  const [me, retention, audit] = await Promise.all([
    api("/v1/me"), optional("/v1/account/retention"), optional("/v1/account/audit?limit=20"),
  ]);

  const name = h("input", { type: "text", value: me.name, maxlength: 100, required: true, autocomplete: "name" });
  const profileError = errorBox("profile-error");
  const profile = h("form", { class: "card", "aria-labelledby": "profile-title" },
    h("h2", { id: "profile-title" }, "Profile"),
    h("p", {}, `Signed in as ${me.email}`),
    field("Name", name), profileError,
    submitActions("Save"));
  profile.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/v1/me", { method: "PATCH", body: { name: name.value } });
      toast("Saved.");
    } catch (failure) {
      profileError.textContent = failure.message;
    }
  });

  const exportStatus = h("p", { id: "export-status", role: "status" });
  const exportButtons = h("div", { class: "actions" },
    h("button", { type: "button", id: "export-json", onclick: () => exportAs("json") }, "Export as JSON"),
    h("button", { type: "button", id: "export-zip", class: "secondary", onclick: () => exportAs("zip") }, "Export as ZIP (with original files)"));
  async function exportAs(format) {
    exportStatus.textContent = "Preparing your export…";
    try {
      const response = await api(`/v1/account/export?format=${format}`, { raw: true });
      const disposition = response.headers.get("content-disposition") || "";
      const match = disposition.match(/filename="([^"]+)"/);
      saveBlob(await response.blob(), match ? match[1] : `intrvuer-export.${format}`);
      exportStatus.textContent = `Your ${format.toUpperCase()} export was downloaded.`;
    } catch (failure) {
      exportStatus.textContent = failure.status === 404 ? "Export is not available on this server yet." : failure.message;
    }
  }

  const auditList = h("ul", { class: "plain", id: "audit-events" });
  let nextBefore = audit ? audit.next_before : null;
  const more = h("button", { type: "button", class: "secondary", hidden: !nextBefore, onclick: loadMore }, "Older events");
  const addEvents = (events) => auditList.append(...events.map((event) => h("li", {},
    h("strong", {}, event.action), " · ", formatDate(event.created_at),
    h("div", { class: "muted" }, [event.ip, event.user_agent].filter(Boolean).join(" · ")))));
  if (audit) addEvents(audit.events);
  async function loadMore() {
    const page = await api(`/v1/account/audit?limit=20&before=${nextBefore}`);
    addEvents(page.events);
    nextBefore = page.next_before;
    more.hidden = !nextBefore;
  }

  const password = h("input", { type: "password", id: "delete-password", autocomplete: "current-password" });
  const deleteError = errorBox("delete-error");
  const confirmDelete = h("input", { type: "checkbox", id: "confirm-delete", required: true });
  const deletion = h("form", { "aria-labelledby": "delete-title" },
    h("h3", { id: "delete-title" }, "Delete your account"),
    h("p", {}, "This deletes your resumes and their files, job descriptions, interviews with transcripts and feedback, quizzes and sign-in tokens, at once and for good. Export first if you want a copy."),
    me.has_password ? field("Current password", password) : h("p", { class: "muted" }, "You signed in with an identity provider: sign in again within 5 minutes before deleting."),
    h("div", { class: "check" }, confirmDelete, h("label", { for: "confirm-delete" }, "I understand this cannot be undone.")),
    deleteError,
    submitActions("Delete my account", { class: "danger", id: "delete-account" }));
  deletion.addEventListener("submit", async (event) => {
    event.preventDefault();
    deleteError.textContent = "";
    try {
      await api("/v1/account", { method: "DELETE", body: me.has_password ? { password: password.value } : {} });
      // The tokens are gone with the account; this also clears the session cookies.
      await session.signOut();
      render(h("h1", {}, "Your account was deleted"),
        h("p", {}, "Everything it held is gone. Thank you for practising with Intrvuer."),
        h("a", { href: "#/signup" }, "Create a new account"));
    } catch (failure) {
      deleteError.textContent = failure.status === 404 ? "Account deletion is not available on this server yet." : failure.message;
    }
  });

  const security = await securitySection(me);

  render(
    h("h1", {}, "Account"),
    profile,
    security,
    h("section", { class: "card", id: "privacy", "aria-labelledby": "privacy-title" },
      h("h2", { id: "privacy-title" }, "Data & Privacy"),
      h("p", {}, "Read the ", h("a", { href: "/privacy.html" }, "privacy policy"), " for what we keep, why, and for how long."),
      h("h3", {}, "Export your data"),
      h("p", {}, "A machine-readable copy of everything your account holds: profile, resumes, job descriptions, interviews with transcripts and feedback, quizzes and your audit events."),
      exportButtons, exportStatus,
      h("h3", {}, "Retention"),
      retention ? h("div", { id: "retention" },
        h("dl", { class: "fields" },
          h("dt", {}, "Completed interviews"), h("dd", {}, `${retention.completed_interviews_days} days after they end`),
          h("dt", {}, "Archived resumes"), h("dd", {}, `${retention.archived_resumes_days} days after archiving`),
          h("dt", {}, "Audit events"), h("dd", {}, `${retention.audit_events_days} days`)),
        h("p", { class: "muted" }, retention.description))
        : notAvailable("The retention schedule"),
      h("h3", {}, "Recent account activity"),
      audit ? [auditList, more] : notAvailable("The audit log"),
      deletion),
  );
}
