// Dashboard: recent interviews and progress charts (inline SVG).
import { api, optional } from "./api.js";
import { lineChart } from "./charts.js";
import { deleteInterview, interviewKinds, isEnded, label, statusNote } from "./interviews.js";
import { badge, formatDate, h, navigate, notAvailable, render } from "./ui.js";

export async function dashboardPage(ctx) {
  // The kinds' names title the per-kind charts; the dashboard is shown without them.
  const [interviews, progress] = await Promise.all([
    api("/v1/interviews"), optional("/v1/reports/progress"), interviewKinds().catch(() => null),
  ]);
  const list = interviews.interviews;
  render(
    h("h1", {}, `Hello${ctx.user ? ", " + ctx.user.name : ""}`),
    h("div", { class: "actions" },
      h("a", { class: "button", href: "#/interviews/new" }, "Start a practice interview"),
      h("a", { class: "button secondary", href: "#/resumes" }, "Upload a resume"),
      h("a", { class: "button secondary", href: "#/jobs" }, "Add a job description")),
    h("section", { class: "card", "aria-labelledby": "progress-title" },
      h("h2", { id: "progress-title" }, "Progress"),
      progressCharts(progress, list)),
    h("section", { class: "card", "aria-labelledby": "recent-title" },
      h("h2", { id: "recent-title" }, "Your interviews"),
      list.length ? interviewTable(list) : h("p", { class: "muted" }, "No interviews yet.")),
  );
}

function interviewTable(list) {
  return h("div", { class: "table-wrap" }, h("table", { id: "interview-list" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, "Type"),
      h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Open"), h("th", { scope: "col" }, "Delete"))),
    h("tbody", {}, list.map((item) => {
      const note = statusNote(item);
      return h("tr", { dataset: { id: item.id, status: item.status } },
        h("td", {}, formatDate(item.created_at)),
        h("td", {}, item.type_label || item.type),
        h("td", {}, badge(item.status), note ? h("span", { class: "muted status-note" }, ` — ${note}`) : null),
        h("td", {}, openLink(item)),
        h("td", {}, h("button", {
          type: "button",
          class: "danger",
          "aria-label": `Delete the ${item.type_label || item.type} interview of ${formatDate(item.created_at)}`,
          onclick: async () => { if (await deleteInterview(item)) navigate("/dashboard"); },
        }, "Delete")));
    }))));
}

function openLink(item) {
  if (item.status === "live") {
    // Left without "End interview" (a closed tab, a lost network): the room takes it up again.
    return h("a", { href: `#/interviews/${item.id}/room` }, "Resume");
  }
  if (item.status === "created") return h("a", { href: `#/interviews/${item.id}/room` }, "Start");
  if (item.status === "abandoned") return h("span", { class: "muted" }, "No report");
  return isEnded(item) ? h("a", { href: `#/interviews/${item.id}/report` }, "Report") : null;
}

/** One chart per family of series ({name: [[when, value], ...]}), on shared dates. */
function seriesChart(title, families, { min, max, labels = {} } = {}) {
  const entries = Object.entries(families || {}).filter(([, points]) => points.length);
  if (!entries.length) return null;
  const dates = [...new Set(entries.flatMap(([, points]) => points.map(([at]) => at)))].sort();
  return lineChart({
    title,
    min,
    max,
    labels: dates.map((at) => new Date(at).toLocaleDateString(undefined, { month: "short", day: "numeric" })),
    series: entries.slice(0, 6).map(([name, points]) => {
      const byDate = new Map(points.map(([at, value]) => [at, value]));
      return { label: labels[name] || name.replace(/_/g, " "), values: dates.map((at) => byDate.get(at) ?? null) };
    }),
  });
}

function progressCharts(progress, interviews) {
  if (progress && progress.interviews.length) {
    const delivery = progress.delivery || {};
    const quizzes = progress.quizzes || [];
    return h("div", { class: "grid" },
      // Each kind's own rubric, dimension by dimension over time; a server without the
      // breakdown by kind gives one chart of every dimension.
      Object.keys(progress.kinds || {}).length
        ? Object.entries(progress.kinds).map(([kind, dimensions]) => seriesChart(
          `${label(kind)}: rubric scores over time (1–5)`, dimensions, { min: 1, max: 5, labels: progress.labels }))
        : seriesChart("Rubric scores over time (1–5)", progress.criteria, { min: 1, max: 5, labels: progress.labels }),
      seriesChart("Scores per competency (1–5)", progress.competencies, { min: 1, max: 5 }),
      seriesChart("Speaking pace (words per minute)", { words_per_minute: delivery.words_per_minute || [] }),
      seriesChart("Filler words per minute", { fillers_per_minute: delivery.fillers_per_minute || [] }),
      quizzes.length ? seriesChart("Quiz scores (%)", { score: quizzes.map((q) => [q.at, Math.round(q.score * 100)]) }, { min: 0, max: 100 }) : null);
  }
  // Before any feedback: chart what every server has, interviews per week.
  const weeks = new Map();
  for (const item of [...interviews].reverse()) {
    const date = new Date(item.created_at);
    const monday = new Date(date);
    monday.setDate(date.getDate() - ((date.getDay() + 6) % 7));
    const key = monday.toISOString().slice(5, 10);
    const entry = weeks.get(key) || { started: 0, completed: 0 };
    entry.started += 1;
    if (item.status === "completed") entry.completed += 1;
    weeks.set(key, entry);
  }
  const labels = [...weeks.keys()];
  return h("div", {},
    progress ? null : notAvailable("The progress report"),
    labels.length
      ? lineChart({
          title: "Interviews per week",
          labels,
          series: [
            { label: "started", values: labels.map((k) => weeks.get(k).started) },
            { label: "completed", values: labels.map((k) => weeks.get(k).completed) },
          ],
        })
      : h("p", { class: "muted" }, "Charts appear after your first interview."));
}
