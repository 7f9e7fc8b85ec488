// New interview (resume, job, type, voice, length), the interview report, and what the
// dashboard shares with it: status notes and deleting an interview.
import { api, ApiError, optional } from "./api.js";
import { barChart, lineChart } from "./charts.js";
import { badge, errorBox, field, formatDate, h, navigate, render, toast } from "./ui.js";

// The server concludes an interview left without "End interview" once its resume window
// has passed: ``completed`` when something was answered, ``abandoned`` otherwise.
const OPEN_STATUSES = new Set(["created", "live"]);
const CONCLUDED_BY_SERVER = new Set(["disconnected", "server_restart"]);

/** Whether the interview is over (whatever its status says), so its report is final. */
export function isEnded(interview) {
  return !OPEN_STATUSES.has(interview.status);
}

/** A short explanation of the status, where the status word alone is not enough. */
export function statusNote(interview) {
  if (interview.status === "abandoned") return "no answers were given";
  if (interview.status === "live") {
    return interview.end_reason === "disconnected" ? "left before the end; you can resume it" : "in progress";
  }
  if (interview.status === "completed" && CONCLUDED_BY_SERVER.has(interview.end_reason)) {
    return "ended when the connection closed";
  }
  return "";
}

/** Ask, then delete the interview with its transcript and feedback; true when it is gone. */
export async function deleteInterview(interview) {
  const when = formatDate(interview.created_at);
  if (!confirm(`Delete the interview of ${when}? Its transcript, feedback and report are erased; this cannot be undone.`)) return false;
  try {
    await api(`/v1/interviews/${interview.id}`, { method: "DELETE" });
  } catch (error) {
    // Deleted already (in another tab): the outcome the candidate asked for.
    if (!(error instanceof ApiError && error.status === 404)) {
      toast(`The interview could not be deleted: ${error.message}`);
      return false;
    }
  }
  toast("Interview deleted.");
  return true;
}

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

const POLL_MS = 1000;
const POLL_LIMIT = 60;

function label(name) {
  const text = String(name).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function number(value, digits = 1) {
  return typeof value === "number" ? String(Math.round(value * 10 ** digits) / 10 ** digits) : "—";
}

export async function reportPage(interviewId) {
  const hasReport = await optional(`/v1/interviews/${interviewId}/report`);
  let report = hasReport || { interview: await api(`/v1/interviews/${interviewId}`), feedback: null };
  if (!report.turns) report.turns = report.interview.turns || [];
  const page = h("div", { id: "report" });
  render(page);
  const draw = () => page.replaceChildren(...reportView(report, Boolean(hasReport)).filter(Boolean));
  draw();
  // Feedback is made in the background after the interview: poll until it is ready.
  let stopped = false;
  let polls = 0;
  const pending = () => report.feedback && ["none", "pending", "scoring"].includes(report.feedback.status)
    && report.interview.status === "completed";
  const poll = async () => {
    if (stopped || !pending() || polls++ >= POLL_LIMIT) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (stopped) return;
    report = await api(`/v1/interviews/${interviewId}/report`);
    draw();
    await poll();
  };
  poll().catch(() => {});
  return () => { stopped = true; };
}

function reportView(report, available) {
  const interview = report.interview;
  const envelope = report.feedback;
  const feedback = envelope && envelope.status === "ready" ? envelope.feedback : null;
  const turns = report.turns || [];
  const latency = turns.filter((t) => t.metrics && Object.keys(t.metrics).length);
  let status = "Feedback is not available on this server yet.";
  if (interview.status === "abandoned") {
    status = "This interview was abandoned — no answers were given, so there is nothing to score.";
  } else if (available && !feedback) {
    status = envelope && envelope.status === "failed"
      ? "Feedback could not be made for this interview."
      : interview.status === "completed" ? "Feedback is being prepared…" : "Feedback is made once the interview ends.";
  }
  const note = statusNote(interview);
  return [
    h("h1", {}, "Interview report"),
    h("p", { class: "muted" }, `${label(interview.type)} interview · ${formatDate(interview.created_at)} · `, badge(interview.status),
      note ? ` — ${note}` : null),
    h("div", { class: "actions no-print" },
      h("button", { type: "button", id: "print-report", onclick: () => window.print() }, "Print or save as PDF"),
      h("a", { class: "button secondary", href: "#/quizzes" }, "Practise with a quiz"),
      interview.status === "live" ? h("a", { class: "button secondary", href: `#/interviews/${interview.id}/room` }, "Resume") : null,
      h("button", {
        type: "button",
        class: "danger",
        id: "delete-interview",
        onclick: async () => { if (await deleteInterview(interview)) navigate("/dashboard"); },
      }, "Delete this interview")),
    feedback ? null : h("p", { class: "muted", id: "feedback-status", role: "status" }, status),
    feedback ? overallSection(feedback, envelope) : null,
    feedback ? answersSection(feedback) : null,
    feedback ? coverageSection(feedback.coverage || []) : null,
    h("section", { class: "card", "aria-labelledby": "delivery-title" },
      h("h2", { id: "delivery-title" }, "Delivery"),
      feedback && feedback.delivery ? deliverySection(feedback.delivery) : null,
      latency.length ? lineChart({
        title: "Interviewer response time per turn (ms)",
        labels: latency.map((t) => `Q${t.turn}`),
        series: ["voice_to_voice_ms", "llm_first_token_ms", "tts_first_byte_ms"]
          .filter((key) => latency.some((t) => typeof t.metrics[key] === "number"))
          .map((key) => ({ label: key.replace(/_ms$/, "").replace(/_/g, " "), values: latency.map((t) => t.metrics[key] ?? null) })),
      }) : null),
    h("section", { class: "card", "aria-labelledby": "transcript-title" },
      h("h2", { id: "transcript-title" }, "Transcript"),
      turns.length ? h("ol", { class: "transcript" }, turns.map((t) => h("li", {},
        h("p", {}, h("strong", {}, "Interviewer: "), t.question),
        h("p", {}, h("strong", {}, "You: "), t.answer || h("em", {}, "(no answer)")))))
        : h("p", { class: "muted" }, "Nothing was said yet.")),
  ];
}

function overallSection(feedback, envelope) {
  const scores = Object.entries(feedback.scores || {}).filter(([, v]) => typeof v === "number");
  return h("section", { class: "card", "aria-labelledby": "scores-title" },
    h("h2", { id: "scores-title" }, "Scores"),
    h("p", { class: "muted" }, `Scored by ${envelope.source === "heuristic" ? "the offline scorer (heuristic)" : envelope.source}`,
      envelope.prompt_version ? ` · rubric ${envelope.prompt_version}` : ""),
    scores.length ? barChart({ title: "Average score per criterion (1–5)", items: scores.map(([name, value]) => ({ label: label(name), value })) }) : null,
    (feedback.suggestions || []).length ? [h("h3", {}, "Suggestions"), h("ul", {}, feedback.suggestions.map((s) => h("li", {}, s)))] : null);
}

function answersSection(feedback) {
  const answers = feedback.answers || [];
  if (!answers.length) return null;
  return h("section", { class: "card", "aria-labelledby": "answers-title" },
    h("h2", { id: "answers-title" }, "Answer by answer"),
    answers.map((answer) => h("article", { class: "answer-feedback" },
      h("h3", {}, `Question ${answer.turn}: ${answer.question}`),
      h("ul", { class: "plain scores" }, (answer.scores || []).map((score) => h("li", {},
        h("strong", {}, `${label(score.criterion)}: ${score.score} / 5`),
        score.reason ? h("p", {}, score.reason) : null,
        (score.quotes || []).map((quote) => h("blockquote", {}, `“${quote}”`))))),
      (answer.suggestions || []).length ? [h("h4", {}, "Try this"), h("ul", {}, answer.suggestions.map((s) => h("li", {}, s)))] : null,
      (answer.stronger_answer_outline || []).length
        ? [h("h4", {}, "A stronger answer"), h("ol", {}, answer.stronger_answer_outline.map((s) => h("li", {}, s)))] : null)));
}

function coverageSection(coverage) {
  return h("section", { class: "card coverage", "aria-labelledby": "coverage-title" },
    h("h2", { id: "coverage-title" }, "Job requirements coverage"),
    coverage.length ? h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Requirement"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Evidence"))),
      h("tbody", {}, coverage.map((item) => h("tr", {},
        h("td", {}, item.requirement),
        h("td", { class: "status" }, badge(item.status)),
        h("td", {}, item.quote ? h("blockquote", {}, `“${item.quote}”`) : "—"))))))
      : h("p", { class: "muted" }, "This interview had no job description to cover."));
}

function deliverySection(delivery) {
  const facts = [
    ["Words per minute", number(delivery.words_per_minute, 0) + (delivery.pace ? ` (${delivery.pace})` : "")],
    ["Filler words per minute", number(delivery.fillers_per_minute)],
    ["Pauses longer than 2 s", String(delivery.long_pause_count ?? 0)],
    ["Your share of the talking", typeof delivery.talk_ratio === "number" ? `${Math.round(delivery.talk_ratio * 100)}%` : "—"],
    ["Words spoken", String(delivery.words ?? 0)],
  ];
  const firstWord = (delivery.time_to_first_word_s || []);
  const words = delivery.most_used_words || [];
  return h("div", { class: "delivery" },
    h("dl", { class: "fields" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    firstWord.some((v) => typeof v === "number") ? barChart({
      title: "Time to first word after each question (s)",
      items: firstWord.map((v, i) => ({ label: `Answer ${i + 1}`, value: v })).filter((item) => typeof item.value === "number"),
      unit: " s",
    }) : null,
    words.length ? barChart({ title: "Most used words", items: words.slice(0, 8).map((w) => ({ label: w.word, value: w.count })) }) : null,
    (delivery.job_terms_used || []).length ? h("p", {}, h("strong", {}, "Job terms you used: "), delivery.job_terms_used.join(", ")) : null,
    (delivery.job_terms_missing || []).length ? h("p", {}, h("strong", {}, "Job terms you did not use: "), delivery.job_terms_missing.join(", ")) : null);
}
