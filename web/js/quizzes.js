// Quizzes: make one from a job, resume or interview; answer; see the graded results.
import { api, ApiError, optional } from "./api.js";
import {
  errorBox, field, formatDate, h, notAvailable, onSubmit, render, submitActions,
} from "./ui.js";

export async function quizzesPage() {
  const [existing, { jobs }, { interviews }] = await Promise.all([
    optional("/v1/quizzes"), api("/v1/jobs"), api("/v1/interviews"),
  ]);
  if (existing === null) {
    render(h("h1", {}, "Quizzes"), h("div", { class: "card" }, notAvailable("Quizzes")));
    return;
  }
  const job = h("select", {}, h("option", { value: "" }, "No job description"),
    jobs.map((j) => h("option", { value: j.id }, j.title || "Untitled job")));
  const interview = h("select", {}, h("option", { value: "" }, "No interview"),
    interviews.filter((i) => i.status === "completed").map((i) => h("option", { value: i.id }, `${i.type_label || i.type} · ${formatDate(i.created_at)}`)));
  const count = h("input", { type: "number", min: 1, max: 20, value: "5" });
  const error = errorBox("quiz-error");
  const area = h("section", { id: "quiz-area" });
  const form = h("form", { class: "card", "aria-labelledby": "quiz-new" },
    h("h2", { id: "quiz-new" }, "New quiz"),
    field("Job description", job), field("Focus on the weak points of", interview), field("Questions", count),
    error, submitActions("Make a quiz"));
  onSubmit(form, error, async () => {
    const body = { count: Number(count.value) };
    if (job.value) body.job_id = job.value;
    if (interview.value) body.interview_id = interview.value;
    showQuiz(area, await api("/v1/quizzes", { method: "POST", body }));
  });
  const quizzes = existing.quizzes || [];
  render(h("h1", {}, "Quizzes"), form, area,
    h("section", { class: "card", "aria-labelledby": "quiz-list" },
      h("h2", { id: "quiz-list" }, "Your quizzes"),
      quizzes.length ? h("ul", { class: "plain" }, quizzes.map((quiz) => h("li", {},
        h("button", { type: "button", class: "secondary", onclick: async () => showQuiz(area, await api(`/v1/quizzes/${quiz.id}`)) },
          `${quiz.question_count} questions · ${formatDate(quiz.created_at)}`))))
        : h("p", { class: "muted" }, "No quizzes yet.")));
}

function showQuiz(area, quiz) {
  const inputs = quiz.questions.map((question, index) => {
    if (question.kind === "multiple_choice") {
      const name = `q${index}`;
      return {
        question,
        el: h("fieldset", {}, h("legend", {}, `${index + 1}. ${question.prompt}`),
          question.options.map((option, choice) => h("div", { class: "check" },
            h("input", { type: "radio", name, id: `${name}-${choice}`, value: String(choice) }),
            h("label", { for: `${name}-${choice}` }, option)))),
        value: (form) => {
          const checked = form.querySelector(`input[name="${name}"]:checked`);
          return checked ? { index, choice: Number(checked.value) } : null;
        },
      };
    }
    const text = h("textarea", { rows: 3, maxlength: 5000 });
    return { question, el: field(`${index + 1}. ${question.prompt}`, text), value: () => (text.value.trim() ? { index, text: text.value } : null) };
  });
  const results = h("div", { id: "quiz-results", "aria-live": "polite" });
  const error = errorBox("quiz-answer-error");
  const form = h("form", { class: "card", "aria-labelledby": "quiz-title" },
    h("h2", { id: "quiz-title" }, "Quiz"), inputs.map((input) => input.el), error,
    submitActions("Check my answers"), results);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const graded = await api(`/v1/quizzes/${quiz.id}/answers`, {
        method: "POST", body: { answers: inputs.map((input) => input.value(form)).filter(Boolean) },
      });
      const rows = graded.results || [];
      results.replaceChildren(
        h("p", {}, h("strong", {}, `Score: ${Math.round((graded.score ?? 0) * 100)}%`)),
        h("ol", {}, rows.map((row) => h("li", {},
          h("strong", {}, row.correct ? "Correct. " : "Not quite. "), row.explanation || "",
          row.key_points && row.key_points.length ? h("div", { class: "muted" }, `Key points: ${row.key_points.join("; ")}`) : null))));
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.message : String(failure);
    }
  });
  area.replaceChildren(form);
}
