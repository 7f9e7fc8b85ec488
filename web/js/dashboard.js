// Dashboard: recent interviews and progress charts (inline SVG).
import { api, optional } from "./api.js";
import { lineChart } from "./charts.js";
import { badge, formatDate, h, notAvailable, render } from "./ui.js";

export async function dashboardPage(ctx) {
  const [interviews, progress] = await Promise.all([api("/v1/interviews"), optional("/v1/reports/progress")]);
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
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, "Type"),
      h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Open"))),
    h("tbody", {}, list.map((item) => h("tr", {},
      h("td", {}, formatDate(item.created_at)),
      h("td", {}, item.type),
      h("td", {}, badge(item.status)),
      h("td", {}, item.status === "completed"
        ? h("a", { href: `#/interviews/${item.id}/report` }, "Report")
        : h("a", { href: `#/interviews/${item.id}/room` }, "Room")))))));
}

/** Time series found in the progress report: arrays of dated points with numbers. */
export function seriesOf(progress) {
  const charts = [];
  const visit = (value, name) => {
    if (Array.isArray(value) && value.length && value.every((p) => p && typeof p === "object")) {
      const dateKey = Object.keys(value[0]).find((k) => /(_at|date|time|day)$/.test(k));
      if (dateKey) {
        const numeric = Object.keys(value[0]).filter((k) => k !== dateKey && value.some((p) => typeof p[k] === "number"));
        if (numeric.length) {
          charts.push({
            title: name.replace(/_/g, " "),
            labels: value.map((p) => String(p[dateKey]).slice(5, 10)),
            series: numeric.slice(0, 4).map((k) => ({ label: k.replace(/_/g, " "), values: value.map((p) => p[k] ?? null) })),
          });
          return;
        }
      }
      value.forEach((item, i) => visit(item, `${name} ${item.name || item.competency || i + 1}`));
    } else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) visit(inner, name ? `${name} ${key}` : key);
    }
  };
  visit(progress, "");
  return charts;
}

function progressCharts(progress, interviews) {
  const charts = progress ? seriesOf(progress) : [];
  if (charts.length) return h("div", { class: "grid" }, charts.slice(0, 6).map((chart) => lineChart(chart)));
  // Without a progress report, chart what every server has: interviews per week.
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
