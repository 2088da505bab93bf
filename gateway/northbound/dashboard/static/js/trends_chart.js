// The trends chart: uPlot with one y axis per unit (left, right, left...), a legend with labels and units, zoom
// by dragging a range (uPlot's own), pan by shift+drag, double-click to show the whole window again.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { formatValue } from "./ui.js";

export const COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#0a7ea4", "#cf4a9a", "#57606a", "#6e40c9", "#953800"];

const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const LABEL_FONT = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

// The y axes: one per unit, in the order the units first appear; {key, label, series: [index...]}.
export function axesOf(lines) {
  const axes = [];
  lines.forEach((line, i) => {
    let axis = axes.find((a) => a.key === line.unitKey);
    if (!axis) axes.push((axis = { key: line.unitKey, label: line.onOff ? "on / off" : line.unitLabel, onOff: line.onOff, series: [] }));
    axis.series.push(i);
  });
  return axes;
}

function scaleName(key) {
  return `u:${key}`;
}

// lines: [{id, label, unitKey, unitLabel, colour, stepped}]; data: uPlot's aligned table;
// window: {start, end} ms; onView(zoomed) is told when the visible range changes.
export class TrendChart {
  constructor(host, lines, data, window, onView) {
    this.host = host;
    this.window = window;
    this.onView = onView;
    this.quiet = false;
    const axes = axesOf(lines);
    this.axes = axes;
    const scales = { x: { time: true } };
    for (const a of axes) scales[scaleName(a.key)] = a.onOff ? { auto: false, range: () => [-0.1, 1.1] } : { auto: true };
    const opts = {
      width: Math.max(320, host.clientWidth),
      height: this.height(),
      scales,
      series: [
        { label: "Time", value: (u, v) => (v == null ? "—" : new Date(v * 1000).toLocaleString()) },
        ...lines.map((line) => ({
          label: line.unitLabel ? `${line.label} (${line.unitLabel})` : line.label,
          scale: scaleName(line.unitKey),
          stroke: line.colour,
          width: 1.5,
          spanGaps: false,
          paths: line.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
          points: { size: 4, fill: line.colour },
          value: (u, v) => (v == null ? "—" : line.onOff && (v === 0 || v === 1) ? (v ? "on" : "off") : line.unitLabel ? `${formatValue(v)} ${line.unitLabel}` : formatValue(v)),
        })),
      ],
      axes: [
        { font: AXIS_FONT, stroke: "#4b5365", grid: { stroke: "#eceff4", width: 1 }, ticks: { stroke: "#dde1e8", width: 1 } },
        ...axes.map((a, i) => ({
          scale: scaleName(a.key),
          side: i % 2 ? 1 : 3,
          label: a.label || "no unit",
          labelFont: LABEL_FONT,
          labelSize: 22,
          font: AXIS_FONT,
          size: 62,
          stroke: a.series.length === 1 && axes.length > 1 ? lines[a.series[0]].colour : "#4b5365",
          grid: { show: i === 0, stroke: "#eceff4", width: 1 },
          ticks: { stroke: "#dde1e8", width: 1 },
          ...(a.onOff ? { splits: () => [0, 1], values: (u, splits) => splits.map((v) => (v ? "on" : "off")) } : { values: (u, splits) => splits.map((v) => formatValue(v)) }),
        })),
      ],
      legend: { live: true },
      cursor: {
        drag: { x: true, y: false, setScale: true },
        bind: {
          mousedown: (u, target, handler) => (e) => {
            if (e.button !== 0) return;
            if (e.shiftKey) this.startPan(e);
            else handler(e);
          },
          dblclick: () => () => this.reset(),
        },
      },
      hooks: {
        setScale: [(u, key) => key === "x" && !this.quiet && this.onView(this.zoomed())],
      },
    };
    this.u = new uPlot(opts, data, host);
    this.reset();
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(host);
  }

  height() {
    const top = this.host.getBoundingClientRect().top;
    return Math.max(300, Math.min(560, window.innerHeight - top - 150));
  }

  resize() {
    const width = Math.max(320, this.host.clientWidth);
    if (Math.abs(width - this.u.width) > 2) this.u.setSize({ width, height: this.u.height });
  }

  // The visible range in ms.
  visible() {
    const x = this.u.scales.x;
    return { start: x.min * 1000, end: x.max * 1000 };
  }

  zoomed() {
    const v = this.visible();
    const slack = (this.window.end - this.window.start) * 0.001;
    return v.start > this.window.start + slack || v.end < this.window.end - slack;
  }

  // Show the whole window (not only where there are samples).
  reset() {
    this.u.setScale("x", { min: this.window.start / 1000, max: this.window.end / 1000 });
  }

  // New samples (live), keeping a zoom the person chose.
  update(data, window) {
    const zoomed = this.zoomed();
    const { min, max } = this.u.scales.x;
    this.window = window;
    this.quiet = true;
    this.u.setData(data);
    if (zoomed) this.u.setScale("x", { min, max });
    else this.reset();
    this.quiet = false;
  }

  // shift+drag moves the visible range with the pointer
  startPan(e) {
    const { min, max } = this.u.scales.x;
    const width = this.u.over.clientWidth || 1;
    const x0 = e.clientX;
    const move = (ev) => {
      const dt = ((ev.clientX - x0) / width) * (max - min);
      this.u.setScale("x", { min: min - dt, max: max - dt });
    };
    const up = () => {
      document.removeEventListener("mousemove", move);
      document.removeEventListener("mouseup", up);
      this.host.classList.remove("panning");
    };
    this.host.classList.add("panning");
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", up);
  }

  destroy() {
    this.resizer.disconnect();
    this.u.destroy();
  }
}
