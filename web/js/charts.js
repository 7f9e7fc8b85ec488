// Small inline-SVG charts. Colours come from CSS classes (s0..s3), so the strict CSP
// (no inline styles) holds; every chart has a text title for screen readers.
import { h } from "./ui.js";

const W = 320;
const H = 160;
const PAD = { left: 34, right: 8, top: 10, bottom: 24 };

function scale(value, min, max, from, to) {
  if (max === min) return (from + to) / 2;
  return from + ((value - min) / (max - min)) * (to - from);
}

/**
 * Lines over a shared x axis. ``series``: [{label, values: [number|null]}], ``labels``:
 * the x labels (one per value).
 */
export function lineChart({ title, labels, series, min, max }) {
  const all = series.flatMap((s) => s.values).filter((v) => typeof v === "number");
  const low = min ?? Math.min(0, ...all);
  const high = max ?? Math.max(1, ...all);
  const x = (i) => scale(i, 0, Math.max(1, labels.length - 1), PAD.left, W - PAD.right);
  const y = (v) => scale(v, low, high, H - PAD.bottom, PAD.top);
  const svg = h("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title },
    h("title", {}, title),
    h("line", { class: "axis", x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    h("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
    h("text", { x: 2, y: y(high) + 4 }, round(high)),
    h("text", { x: 2, y: y(low) }, round(low)),
  );
  labels.forEach((label, i) => {
    if (labels.length <= 8 || i % Math.ceil(labels.length / 8) === 0) {
      svg.append(h("text", { x: x(i) - 6, y: H - 8 }, String(label).slice(0, 8)));
    }
  });
  series.forEach((s, index) => {
    const cls = `s${index % 6}`;
    const points = s.values
      .map((v, i) => (typeof v === "number" ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null))
      .filter(Boolean);
    if (points.length > 1) svg.append(h("polyline", { class: `series ${cls}`, points: points.join(" ") }));
    s.values.forEach((v, i) => {
      if (typeof v === "number") {
        svg.append(h("circle", { class: cls, cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3 },
          h("title", {}, `${s.label}: ${round(v)} (${labels[i]})`)));
      }
    });
  });
  return h("figure", { class: "chart-figure" }, svg,
    h("figcaption", {}, h("span", { class: "chart-title" }, title),
      legend(series.map((s) => s.label))));
}

/** Horizontal bars: [{label, value}]. */
export function barChart({ title, items, unit = "" }) {
  const high = Math.max(1, ...items.map((item) => item.value));
  const rowH = 20;
  const height = Math.max(40, items.length * rowH + 10);
  const svg = h("svg", { class: "chart", viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": title },
    h("title", {}, title));
  items.forEach((item, i) => {
    const width = scale(item.value, 0, high, 0, W - 140);
    svg.append(
      h("text", { x: 0, y: i * rowH + 14 }, String(item.label).slice(0, 18)),
      h("rect", { class: "bar", x: 100, y: i * rowH + 4, width: Math.max(1, width).toFixed(1), height: rowH - 6 },
        h("title", {}, `${item.label}: ${round(item.value)}${unit}`)),
      h("text", { x: 104 + width, y: i * rowH + 14 }, `${round(item.value)}${unit}`),
    );
  });
  return h("figure", { class: "chart-figure" }, h("figcaption", { class: "chart-title" }, title), svg);
}

function legend(labels) {
  return h("span", { class: "legend" },
    labels.map((label, i) => h("span", {}, h("span", { class: `key k${i % 6}` }), label)));
}

function round(value) {
  return Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
}
