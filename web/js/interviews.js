// New interview (resume, job, type, voice, length), the interview report, and what the
// dashboard shares with it: status notes and deleting an interview.
import { api, ApiError, optional } from "./api.js";
import { barChart, lineChart } from "./charts.js";
import {
  badge, errorBox, field, formatDate, h, navigate, onSubmit, render, submitActions, toast,
} from "./ui.js";

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

// The kinds of interview as the server defines them (pipeline/kinds.py, served by
// GET /v1/interview-kinds): asked once per page load; their names label reports too.
let kindsRequest = null;
const KIND_NAMES = new Map();

/** The kinds of interview: [{name, label, explanation, dimensions}]. */
export function interviewKinds() {
  kindsRequest ??= api("/v1/interview-kinds").then(({ kinds }) => {
    for (const kind of kinds) KIND_NAMES.set(kind.name, kind.label);
    return kinds;
  }).catch((failure) => { kindsRequest = null; throw failure; });
  return kindsRequest;
}

/** The interview type select with the chosen kind explained in one line under it. */
function kindField(type, kinds) {
  const lines = new Map(kinds.map((kind) => [kind.name, kind.explanation]));
  const wrapper = field("Interview type", type, lines.get(type.value));
  const hint = wrapper.querySelector("small");
  hint.setAttribute("aria-live", "polite");
  type.addEventListener("change", () => { hint.textContent = lines.get(type.value) || ""; });
  return wrapper;
}

export async function newInterviewPage(ctx) {
  const [{ resumes }, { jobs }, voices, kinds] = await Promise.all([
    api("/v1/resumes"), api("/v1/jobs"), optional("/v1/voices"), interviewKinds(),
  ]);
  const resume = h("select", { name: "resume_id" }, h("option", { value: "" }, "No resume"),
    resumes.map((r) => h("option", { value: r.id }, `${r.filename} (${r.status})`)));
  const job = h("select", { name: "job_id" }, h("option", { value: "" }, "No job description"),
    jobs.map((j) => h("option", { value: j.id }, [j.title || "Untitled job", j.company].filter(Boolean).join(" · "))));
  if (resumes.length) resume.value = resumes[0].id;
  job.value = ctx.query.get("job") || (jobs.length ? jobs[0].id : "");
  const type = h("select", { name: "type" },
    kinds.map((kind) => h("option", { value: kind.name, title: kind.explanation }, kind.label)));
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
    kindField(type, kinds),
    field("Interviewer voice", voice),
    field("Number of questions", length, "Between 1 and 12; about two minutes each."),
    error,
    submitActions("Create and enter the room"));
  onSubmit(form, error, async () => {
    const body = { type: type.value, question_count: Number(length.value) };
    if (resume.value) body.resume_id = resume.value;
    if (job.value) body.job_id = job.value;
    if (voice.value && voice.value !== "default") body.voice = voice.value;
    const created = await api("/v1/interviews", { method: "POST", body });
    navigate(`/interviews/${created.id}/room`);
  });
  render(form);
}

const POLL_MS = 1000;
const POLL_LIMIT = 60;

/** A kind's or a dimension's name as people read it. */
export function label(name) {
  if (KIND_NAMES.has(name)) return KIND_NAMES.get(name);
  const text = String(name).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function number(value, digits = 1) {
  return typeof value === "number" ? String(Math.round(value * 10 ** digits) / 10 ** digits) : "—";
}

export async function reportPage(interviewId) {
  // The kinds' names label a mixed interview's answers; a report is shown without them.
  const [hasReport, drilled] = await Promise.all([
    optional(`/v1/interviews/${interviewId}/report`),
    optional(`/v1/interviews/${interviewId}/attempts`).catch(() => null),
    interviewKinds().catch(() => null),
  ]);
  let report = hasReport || { interview: await api(`/v1/interviews/${interviewId}`), feedback: null };
  if (!report.turns) report.turns = report.interview.turns || [];
  const page = h("div", { id: "report" });
  render(page);
  const draw = () => page.replaceChildren(...reportView(report, Boolean(hasReport), drilled).filter(Boolean));
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

function reportView(report, available, drilled) {
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
    h("p", { class: "muted" }, `${interview.type_label || label(interview.type)} interview · ${formatDate(interview.created_at)} · `, badge(interview.status),
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
    feedback ? answersSection(feedback, envelope, interview, turns) : null,
    attemptsSection(drilled),
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

/** A rubric dimension's name as the report shows it: its own label, else the feedback's
 * table of labels; feedback stored before dimensions had labels gets the name tidied. */
function dimensionLabel(feedback, name, own) {
  return own || (feedback.labels && feedback.labels[name]) || label(name);
}

function overallSection(feedback, envelope) {
  const scores = Object.entries(feedback.scores || {}).filter(([, v]) => typeof v === "number");
  return h("section", { class: "card", "aria-labelledby": "scores-title" },
    h("h2", { id: "scores-title" }, "Scores"),
    h("p", { class: "muted" }, `Scored by ${envelope.source === "heuristic" ? "the offline scorer (heuristic)" : envelope.source}`,
      envelope.prompt_version ? ` · rubric ${envelope.prompt_version}` : ""),
    typeof feedback.overall === "number"
      ? h("p", { id: "overall-score" }, h("strong", {}, `Overall, weighted by each rubric: ${number(feedback.overall)} / 5`)) : null,
    scores.length ? barChart({
      title: "Average score per dimension (1–5)",
      items: scores.map(([name, value]) => ({ label: dimensionLabel(feedback, name), value })),
    }) : null,
    (feedback.suggestions || []).length ? [h("h3", {}, "Suggestions"), h("ul", {}, feedback.suggestions.map((s) => h("li", {}, s)))] : null);
}

/** "A stronger answer would…": what was missing in the kind's terms, with an example. */
function strongerSection(stronger, envelope) {
  if (!stronger || !stronger.advice) return null;
  return h("div", { class: "stronger" },
    h("h4", {}, "A stronger answer would…"),
    h("p", {}, stronger.advice),
    stronger.example ? h("p", {}, stronger.example) : null,
    stronger.source && stronger.source !== envelope.source ? h("p", { class: "muted" }, "Suggested by the offline rules.") : null);
}

/** Practise one question again: a one-question interview, compared with this one after. */
async function drill(interview, question) {
  try {
    const created = await api("/v1/interviews", {
      method: "POST",
      body: { type: interview.type, drill_of: { interview_id: interview.id, question } },
    });
    navigate(`/interviews/${created.id}/room`);
  } catch (failure) {
    toast(`The drill could not be made: ${failure.message}`);
  }
}

/** Every attempt at each drilled question side by side: rubric dimensions, delivery. */
function attemptsSection(drilled) {
  const questions = (drilled && drilled.questions) || [];
  if (!questions.length) return null;
  const deliveryRows = [
    ["Words per minute", "words_per_minute", 0],
    ["Filler words per minute", "fillers_per_minute", 1],
    ["Pauses longer than 2 s", "long_pause_count", 0],
  ];
  return h("section", { class: "card attempts", "aria-labelledby": "attempts-title" },
    h("h2", { id: "attempts-title" }, "Attempts at the same question"),
    questions.map((item) => {
      const names = [...new Set(item.attempts.flatMap((a) => Object.keys(a.scores)))];
      const head = item.attempts.map((a, i) => h("th", { scope: "col" },
        `${i ? `Drill ${i}` : "First"} · ${formatDate(a.at)}`));
      const row = (title, cells) => h("tr", {}, h("th", { scope: "row" }, title), cells.map((c) => h("td", {}, c)));
      return h("article", { class: "attempt-question" },
        h("h3", {}, item.question),
        h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Attempt"), head)),
          h("tbody", {},
            names.map((name) => row(item.labels[name] || label(name),
              item.attempts.map((a) => (name in a.scores ? `${a.scores[name]} / 5` : "—")))),
            row("Overall", item.attempts.map((a) => (typeof a.overall === "number" ? `${number(a.overall)} / 5` : "—"))),
            deliveryRows.map(([title, key, digits]) => row(title, item.attempts.map((a) => number(a.delivery[key], digits)))),
            row("Answer", item.attempts.map((a) => a.answer || (a.status === "created" ? "Not answered yet" : "—")))))),
        item.changes.length
          ? [h("h4", {}, "What changed in the last attempt"), h("ul", {}, item.changes.map((c) => h("li", {}, c)))] : null);
    }));
}

function answersSection(feedback, envelope, interview, turns) {
  // The planned question each answer is for, to practise it again.
  const asked = new Map(turns.map((t) => [t.turn, t.question_index]));
  const drillable = (answer) => {
    const index = asked.get(answer.turn);
    if (typeof index !== "number" || interview.status === "live") return null;
    // A drill has one question; its own drills are more attempts at the first one's.
    return interview.drill_of ? 0 : index;
  };
  const answers = feedback.answers || [];
  if (!answers.length) return null;
  // Under the planned question each answer is for; a later answer to it is a follow-up's.
  const seen = new Set();
  const heading = (answer) => {
    const index = asked.get(answer.turn);
    if (typeof index !== "number") return answer.question;
    const followUp = seen.has(index);
    seen.add(index);
    return `Question ${index + 1}${followUp ? ", follow-up" : ""}: ${answer.question}`;
  };
  return h("section", { class: "card", "aria-labelledby": "answers-title" },
    h("h2", { id: "answers-title" }, "Answer by answer"),
    answers.map((answer) => h("article", { class: "answer-feedback" },
      h("h3", {}, heading(answer)),
      answer.kind && typeof answer.overall === "number"
        ? h("p", { class: "muted" }, `${label(answer.kind)} rubric · overall ${number(answer.overall)} / 5`) : null,
      h("ul", { class: "plain scores" }, (answer.scores || []).map((score) => h("li", {},
        h("strong", {}, `${dimensionLabel(feedback, score.criterion, score.label)}: ${score.score} / 5`),
        score.reason ? h("p", {}, score.reason) : null,
        (score.quotes || []).map((quote) => h("blockquote", {}, `“${quote}”`))))),
      (answer.suggestions || []).length ? [h("h4", {}, "Try this"), h("ul", {}, answer.suggestions.map((s) => h("li", {}, s)))] : null,
      strongerSection(answer.stronger_answer, envelope),
      drillable(answer) === null ? null : h("div", { class: "actions no-print" },
        h("button", { type: "button", class: "secondary drill", onclick: () => drill(interview, drillable(answer)) },
          "Practise this question again")),
      (answer.stronger_answer_outline || []).length
        ? [h("h4", {}, "A stronger answer, step by step"), h("ol", {}, answer.stronger_answer_outline.map((s) => h("li", {}, s)))] : null)));
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
