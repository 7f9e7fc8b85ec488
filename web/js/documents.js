// Resumes (upload with progress, parse status, archive, delete, download) and job
// descriptions (paste, see what was extracted).
import { api, upload } from "./api.js";
import {
  badge, errorBox, field, formatDate, h, onSubmit, render, saveBlob, submitActions, toast,
} from "./ui.js";

const POLL_MS = 1000;

export async function resumesPage() {
  let timer = 0;
  let stopped = false;
  const list = h("ul", { class: "plain", id: "resume-list", "aria-live": "polite" });
  const detail = h("section", { id: "resume-detail", "aria-live": "polite" });
  const fileInput = h("input", { type: "file", name: "file", accept: ".pdf,.docx,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document", required: true });
  const bar = h("progress", { id: "upload-progress", max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const error = errorBox("upload-error");
  const showArchived = h("input", { type: "checkbox", id: "show-archived" });

  const form = h("form", { class: "card", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Upload a resume"),
    field("PDF or DOCX, up to 10 MB", fileInput),
    bar, error,
    submitActions("Upload"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) return;
    error.textContent = "";
    bar.hidden = false;
    bar.value = 0;
    try {
      let events = 0;
      const created = await upload("/v1/resumes", file, (fraction) => {
        bar.value = Math.round(fraction * 100);
        bar.dataset.events = String(++events);
      });
      toast(`Uploaded ${created.filename}; reading it now.`);
      form.reset();
      await refresh();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });

  async function refresh() {
    clearTimeout(timer);
    const query = showArchived.checked ? "?include_archived=true" : "";
    const { resumes } = await api(`/v1/resumes${query}`);
    list.replaceChildren(...(resumes.length ? resumes.map(row) : [h("li", { class: "muted" }, "No resumes yet.")]));
    // Poll while any resume is still being read.
    if (!stopped && resumes.some((r) => r.status === "pending" || r.status === "parsing")) {
      timer = setTimeout(() => refresh().catch(() => {}), POLL_MS);
    }
  }

  function row(resume) {
    const actions = h("div", { class: "actions" },
      h("button", { class: "secondary", type: "button", onclick: () => show(resume.id) }, "View"),
      h("button", { class: "secondary", type: "button", onclick: () => download(resume) }, "Download original"),
      h("button", { class: "secondary", type: "button", onclick: () => archive(resume) }, resume.archived ? "Unarchive" : "Archive"),
      h("button", { class: "danger", type: "button", onclick: () => remove(resume) }, "Delete"));
    return h("li", { dataset: { id: resume.id, status: resume.status } },
      h("strong", {}, resume.filename), " ", badge(resume.status),
      resume.archived ? [" ", badge("archived")] : null,
      h("div", { class: "muted" }, `${Math.ceil(resume.size / 1024)} KB · uploaded ${formatDate(resume.uploaded_at)}`),
      resume.error ? h("div", { class: "error" }, `Could not read it (${resume.error}).`) : null,
      actions);
  }

  async function show(id) {
    const resume = await api(`/v1/resumes/${id}`);
    const parsed = resume.parsed;
    detail.replaceChildren(h("div", { class: "card" },
      h("h2", {}, resume.filename),
      parsed ? parsedResume(parsed) : h("p", { class: "muted" }, `Status: ${resume.status}.`)));
  }

  async function download(resume) {
    const response = await api(`/v1/resumes/${resume.id}/file`, { raw: true });
    saveBlob(await response.blob(), resume.filename);
  }

  async function archive(resume) {
    await api(`/v1/resumes/${resume.id}/${resume.archived ? "unarchive" : "archive"}`, { method: "POST" });
    await refresh();
  }

  async function remove(resume) {
    if (!confirm(`Delete ${resume.filename} and everything read from it?`)) return;
    await api(`/v1/resumes/${resume.id}`, { method: "DELETE" });
    toast("Resume deleted.");
    detail.replaceChildren();
    await refresh();
  }

  showArchived.addEventListener("change", () => refresh());
  render(h("h1", {}, "Resumes"), form,
    h("section", { class: "card", "aria-labelledby": "resumes-title" },
      h("h2", { id: "resumes-title" }, "Your resumes"),
      h("div", { class: "check" }, showArchived, h("label", { for: "show-archived" }, "Show archived")),
      list),
    detail);
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function parsedResume(parsed) {
  const personal = parsed.personal || {};
  return h("div", {},
    h("dl", { class: "fields" },
      Object.entries(personal).filter(([, v]) => v).map(([k, v]) => [h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, String(v))])),
    listSection("Experience", (parsed.experience || []).map((e) =>
      [e.title, e.company, [e.start, e.end].filter(Boolean).join(" – ")].filter(Boolean).join(" · "))),
    listSection("Education", (parsed.education || []).map((e) =>
      [e.degree, e.institution, e.end].filter(Boolean).join(" · "))),
    listSection("Skills", parsed.skills || []),
    listSection("Achievements", parsed.achievements || []));
}

function listSection(title, items) {
  if (!items.length) return null;
  return [h("h3", {}, title), h("ul", {}, items.map((item) => h("li", {}, typeof item === "string" ? item : JSON.stringify(item))))];
}

export async function jobsPage() {
  let timer = 0;
  let stopped = false;
  const text = h("textarea", { name: "text", required: true, maxlength: 50000, rows: 10 });
  const error = errorBox("job-error");
  const list = h("ul", { class: "plain", id: "job-list", "aria-live": "polite" });
  const detail = h("section", { id: "job-detail", "aria-live": "polite" });
  const form = h("form", { class: "card", "aria-labelledby": "paste-title" },
    h("h2", { id: "paste-title" }, "Paste a job description"),
    field("Job description", text, "Paste the whole advert; we pick out the title, company, requirements and skills."),
    error,
    submitActions("Save job"));
  onSubmit(form, error, async () => {
    const job = await api("/v1/jobs", { method: "POST", body: { text: text.value } });
    form.reset();
    await refresh();
    await show(job.id);
  });

  async function refresh() {
    clearTimeout(timer);
    const { jobs } = await api("/v1/jobs");
    list.replaceChildren(...(jobs.length ? jobs.map((job) => h("li", { dataset: { id: job.id, status: job.status } },
      h("strong", {}, job.title || "Untitled job"), job.company ? ` · ${job.company}` : "", " ", badge(job.status),
      h("div", { class: "actions" },
        h("button", { class: "secondary", type: "button", onclick: () => show(job.id) }, "View"),
        h("button", { class: "danger", type: "button", onclick: () => remove(job) }, "Delete"))))
      : [h("li", { class: "muted" }, "No job descriptions yet.")]));
    if (!stopped && jobs.some((j) => j.status === "pending" || j.status === "parsing")) {
      timer = setTimeout(() => refresh().then(() => {
        const open = detail.dataset.id;
        if (open) return show(open);
        return null;
      }).catch(() => {}), POLL_MS);
    }
  }

  async function show(id) {
    const job = await api(`/v1/jobs/${id}`);
    detail.dataset.id = id;
    detail.replaceChildren(h("div", { class: "card job-fields" },
      h("h2", {}, job.title || "Untitled job", " ", badge(job.status)),
      h("dl", { class: "fields" },
        h("dt", {}, "Title"), h("dd", { class: "job-title" }, job.title || "—"),
        h("dt", {}, "Company"), h("dd", {}, job.company || "—")),
      listSection("Requirements", job.requirements),
      listSection("Responsibilities", job.responsibilities),
      listSection("Skills", job.skills),
      h("div", { class: "actions" }, h("a", { class: "button", href: `#/interviews/new?job=${job.id}` }, "Practise for this job"))));
  }

  async function remove(job) {
    if (!confirm("Delete this job description?")) return;
    await api(`/v1/jobs/${job.id}`, { method: "DELETE" });
    detail.replaceChildren();
    delete detail.dataset.id;
    await refresh();
  }

  render(h("h1", {}, "Job descriptions"), form,
    h("section", { class: "card", "aria-labelledby": "jobs-title" }, h("h2", { id: "jobs-title" }, "Your jobs"), list),
    detail);
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
