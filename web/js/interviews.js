// New interview (resume, job, type, voice, length) and the interview report.
import { api, optional } from "./api.js";
import { barChart, lineChart } from "./charts.js";
import { badge, errorBox, field, formatDate, h, navigate, notAvailable, render } from "./ui.js";

const VOICES = [["default", "Default voice"]];

export async function newInterviewPage(ctx) {
  const [{ resumes }, { jobs }, voices] = await Promise.all([
    api("/v1/resumes"), api("/v1/jobs"), optional("/v1/voices"),
  ]);
  const resume = h("select", { name: "resume_id" }, h("option", { value: "" }, "No resume"),
    resumes.map((r) => h("option", { value: r.id }, `${r.filename} (${r.status})`)));
  const job = h("select", { name: "job_id" }, h("option", { value: "" }, "No job description"),
    jobs.map((j) => h("option", { value: j.id }, [j.title || "Untitled job", j.company].filter(Boolean).join(" · "))));
  if (resumes.length) resume.value = resumes[0].id;
  job.value = ctx.query.get("job") || (jobs.length ? jobs[0].id : "");
  const type = h("select", { name: "type" },
    h("option", { value: "behavioral" }, "Behavioural"),
    h("option", { value: "technical" }, "Technical"),
    h("option", { value: "mixed" }, "Mixed"));
  const voiceList = voices && Array.isArray(voices.voices)
    ? voices.voices.map((v) => [v.id || v.name, v.label || v.name || v.id])
    : VOICES;
  const voice = h("select", { name: "voice" }, voiceList.map(([value, label]) => h("option", { value }, label)));
  const length = h("input", { type: "number", name: "question_count", min: 1, max: 12, value: "5", required: true });
  const error = errorBox("new-interview-error");
  const form = h("form", { class: "card narrow", "aria-labelledby": "new-title" },
    h("h1", { id: "new-title" }, "New interview"),
    field("Resume", resume),
    field("Job description", job),
    field("Interview type", type),
    field("Interviewer voice", voice),
    field("Number of questions", length, "Between 1 and 12; about two minutes each."),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create and enter the room")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const body = { type: type.value, question_count: Number(length.value) };
      if (resume.value) body.resume_id = resume.value;
      if (job.value) body.job_id = job.value;
      if (voice.value && voice.value !== "default") body.voice = voice.value;
      const created = await api("/v1/interviews", { method: "POST", body });
      navigate(`/interviews/${created.id}/room`);
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  render(form);
}

/** Scores in whatever shape the report gives: a list, or a map of criterion → score. */
function scoreRows(scores) {
  if (!scores) return [];
  const rows = Array.isArray(scores)
    ? scores
    : Object.entries(scores).map(([name, value]) => (typeof value === "object" ? { name, ...value } : { name, score: value }));
  return rows.map((row) => ({
    name: row.name || row.criterion || row.rubric || row.competency || "score",
    score: row.score ?? row.value,
    quotes: [].concat(row.evidence || row.quotes || row.quote || []).map((q) => (typeof q === "string" ? q : q.text || q.quote || "")),
    why: row.rationale || row.explanation || "",
  }));
}

export async function reportPage(interviewId) {
  const [detail, report] = await Promise.all([
    api(`/v1/interviews/${interviewId}`),
    optional(`/v1/interviews/${interviewId}/report`),
  ]);
  const feedback = report ? report.feedback || report : null;
  const scores = feedback ? scoreRows(feedback.scores || feedback.rubric) : [];
  const coverage = feedback ? feedback.coverage || feedback.requirements_coverage || [] : [];
  const delivery = feedback ? feedback.delivery || feedback.delivery_metrics || null : null;

  const turns = detail.turns || [];
  const latency = turns.filter((t) => t.metrics && Object.keys(t.metrics).length);
  render(
    h("h1", {}, "Interview report"),
    h("p", { class: "muted" }, `${detail.type} interview · ${formatDate(detail.created_at)} · `, badge(detail.status)),
    h("div", { class: "actions no-print" },
      h("button", { type: "button", onclick: () => window.print() }, "Print or save as PDF"),
      h("a", { class: "button secondary", href: "#/quizzes" }, "Practise with a quiz")),
    h("section", { class: "card", "aria-labelledby": "scores-title" },
      h("h2", { id: "scores-title" }, "Scores"),
      !report ? notAvailable("Feedback") : scores.length
        ? h("ul", { class: "plain scores" }, scores.map((row) => h("li", {},
            h("strong", {}, `${row.name.replace(/_/g, " ")}: `), row.score != null ? `${row.score} / 5` : "not scored",
            row.why ? h("p", {}, row.why) : null,
            row.quotes.filter(Boolean).map((quote) => h("blockquote", {}, `“${quote}”`)))))
        : h("p", { class: "muted" }, "No scores yet."),
      feedback && feedback.source ? h("p", { class: "muted" }, `Source: ${feedback.source}`) : null),
    h("section", { class: "card coverage", "aria-labelledby": "coverage-title" },
      h("h2", { id: "coverage-title" }, "Job requirements coverage"),
      coverage.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Requirement"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Evidence"))),
        h("tbody", {}, coverage.map((item) => h("tr", {},
          h("td", {}, item.requirement || item.name || ""),
          h("td", { class: "status" }, badge(item.status || "missing")),
          h("td", {}, item.quote ? h("blockquote", {}, `“${item.quote}”`) : "—"))))))
        : h("p", { class: "muted" }, report ? "No job requirements to cover." : "Coverage is not available on this server yet.")),
    h("section", { class: "card", "aria-labelledby": "delivery-title" },
      h("h2", { id: "delivery-title" }, "Delivery"),
      delivery ? deliveryCharts(delivery) : null,
      latency.length ? lineChart({
        title: "Interviewer response time per turn (ms)",
        labels: latency.map((t) => `Q${t.turn}`),
        series: ["voice_to_voice_ms", "llm_first_token_ms", "tts_first_byte_ms"]
          .filter((key) => latency.some((t) => typeof t.metrics[key] === "number"))
          .map((key) => ({ label: key.replace(/_ms$/, "").replace(/_/g, " "), values: latency.map((t) => t.metrics[key] ?? null) })),
      }) : null,
      turns.length ? barChart({
        title: "Words per answer",
        items: turns.map((t) => ({ label: `Answer ${t.turn}`, value: t.answer ? t.answer.split(/\s+/).filter(Boolean).length : 0 })),
      }) : h("p", { class: "muted" }, "No answers were recorded.")),
    h("section", { class: "card", "aria-labelledby": "transcript-title" },
      h("h2", { id: "transcript-title" }, "Transcript"),
      turns.length ? h("ol", { class: "transcript" }, turns.map((t) => h("li", {},
        h("p", {}, h("strong", {}, "Interviewer: "), t.question),
        h("p", {}, h("strong", {}, "You: "), t.answer || h("em", {}, "(no answer)")))))
        : h("p", { class: "muted" }, "Nothing was said yet.")),
  );
}

function deliveryCharts(delivery) {
  const numbers = Object.entries(delivery).filter(([, v]) => typeof v === "number");
  const words = delivery.most_used_words || delivery.top_words;
  return h("div", {},
    numbers.length ? h("dl", { class: "fields delivery" }, numbers.map(([k, v]) => [h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, String(Math.round(v * 10) / 10))])) : null,
    numbers.length ? barChart({ title: "Delivery metrics", items: numbers.map(([label, value]) => ({ label: label.replace(/_/g, " "), value })) }) : null,
    Array.isArray(words) && words.length ? barChart({
      title: "Most used words",
      items: words.slice(0, 8).map((w) => (Array.isArray(w) ? { label: w[0], value: w[1] } : { label: w.word, value: w.count })),
    }) : null);
}
