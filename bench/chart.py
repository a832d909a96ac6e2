#!/usr/bin/env python3
"""An SVG bar chart of one rmsmp_bench JSON run: rmsmp against oneDNN int8 and Eigen float.

    ./build/release/bench/rmsmp_bench --benchmark_out=/tmp/bench.json --benchmark_out_format=json
    python3 bench/chart.py /tmp/bench.json -o docs/benchmarks-zen5.svg --machine "AMD EPYC Zen 5"

One group of horizontal bars per shape (BM_<op>/<impl>/<shape>, in run order), one bar per
implementation. By default a bar is the implementation's ops/s divided by onednn_s8's ops/s on
the same shape in the same run (1 = as fast as oneDNN int8, higher is faster); --metric gops
draws the rates in Gops/s instead. The rates are read by bench/ratios.py (real time, or
--cpu-time). The 2-thread rows (<shape>_threads2) are left out: every drawn implementation
runs on one thread.

Options:
  -o, --output FILE    the SVG to write (default: the JSON's name with .svg)
  --impls A,B,...      implementations to draw, in this order
                       (default: rmsmp_mix,onednn_s8,eigen_f32, those the run has)
  --baseline IMPL      the implementation the ratios divide by (default: onednn_s8)
  --metric ratio|gops  ratio to the baseline (default) or Gops/s
  --machine TEXT       the machine, first line under the title (the JSON has no CPU model)
  --cpu-time           rates per second of CPU time (see bench/ratios.py)

An implementation missing from the run is left out (with a note on stderr); one missing on a
single shape shows "not in this run" in its place; a shape without the baseline shows no
ratios. If the run has no baseline at all, the chart falls back to Gops/s. The SVG uses only
presentation attributes and the generic sans-serif font: no CSS, scripts or external files.
Exit 1 with a message on a file that is not rmsmp_bench (Google Benchmark) JSON, 2 on bad
arguments.
"""
import argparse
import json
import os
import sys
from xml.sax.saxutils import escape, quoteattr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ratios  # noqa: E402  (bench/ratios.py: the rates of one run)

DEFAULT_IMPLS = ["rmsmp_mix", "onednn_s8", "eigen_f32"]
DESCRIPTIONS = {
    "rmsmp_mix": "rmsmp, 60/35/5 PoT-4/Fixed-4/Fixed-8 rows",
    "rmsmp_mix_by_scheme": "rmsmp mix, lane tiles by scheme",
    "rmsmp_mix_by_row": "rmsmp mix, lane tiles by row",
    "rmsmp_fixed4": "rmsmp, every row Fixed-4",
    "rmsmp_fixed8": "rmsmp, every row Fixed-8",
    "reference": "rmsmp scalar reference",
    "onednn_s8": "oneDNN int8 matmul (u8 x s8 -> s32)",
    "onednn_s8_ba": "oneDNN int8, weights in format ba",
    "eigen_f32": "Eigen float",
}
COLOURS = {
    "rmsmp_mix": "#1f5fa8",
    "rmsmp_mix_by_scheme": "#5b9bd5",
    "rmsmp_mix_by_row": "#0b3a6e",
    "rmsmp_fixed4": "#8fb8e0",
    "rmsmp_fixed8": "#3d7cc0",
    "reference": "#7f7f7f",
    "onednn_s8": "#e07b10",
    "onednn_s8_ba": "#f3b46b",
    "eigen_f32": "#2e9a3e",
}
SPARE_COLOURS = ["#8e44ad", "#c0392b", "#16a085", "#7f6000", "#d35400"]

FONT = 'font-family="sans-serif"'
CHAR_W = 7.6  # width of one character at font-size 12, generous for sans-serif
BAR_H, BAR_GAP, GROUP_GAP = 13, 2, 12


class NotBenchmarkJson(Exception):
    pass


def read_run(path):
    """The run's context and {(op, shape): {impl: label}}; raises NotBenchmarkJson."""
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise NotBenchmarkJson(f"{path} is not JSON ({e}); expected the output of "
                               "rmsmp_bench --benchmark_out=FILE --benchmark_out_format=json")
    except UnicodeDecodeError:
        raise NotBenchmarkJson(f"{path} is not JSON text; expected the output of "
                               "rmsmp_bench --benchmark_out=FILE --benchmark_out_format=json")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise NotBenchmarkJson(f"{path} is JSON but not Google Benchmark output (no 'benchmarks' list); "
                               "expected rmsmp_bench --benchmark_out=FILE --benchmark_out_format=json")
    labels = {}
    for b in data["benchmarks"]:
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise NotBenchmarkJson(f"{path}: an entry of 'benchmarks' has no name: {str(b)[:80]}")
        parts = b["name"].removesuffix("/real_time").split("/")
        if len(parts) == 3 and b.get("label"):
            labels.setdefault((parts[0].removeprefix("BM_"), parts[2]), {})[parts[1]] = b["label"]
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    return context, labels


def size_text(n):
    for unit, step in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= step and n % step == 0:
            return f"{n // step} {unit}"
    return f"{n} B"


def machine_line(context, labels):
    """What the JSON says about the machine and the kernels that ran."""
    parts = []
    if "num_cpus" in context:
        parts.append(f"{context['num_cpus']} CPUs at {context.get('mhz_per_cpu', '?')} MHz")
    caches = []
    for c in context.get("caches", []):
        if isinstance(c, dict) and c.get("type") != "Instruction" and "size" in c:
            caches.append(f"L{c.get('level', '?')}{'d' if c.get('type') == 'Data' else ''} {size_text(int(c['size']))}")
    if caches:
        parts.append(", ".join(caches))
    kernels = {}
    for row in labels.values():
        for impl, label in row.items():
            if impl.startswith("rmsmp") or impl.startswith("onednn"):
                kernels.setdefault(impl.split("_")[0], label.split()[0])
    if "rmsmp" in kernels:
        parts.append(f"rmsmp kernel {kernels['rmsmp']}")
    if context.get("onednn"):
        parts.append(f"oneDNN {context['onednn']}" + (f", kernel {kernels['onednn']}" if "onednn" in kernels else ""))
    return "; ".join(parts)


def nice_step(top, ticks=6):
    raw = top / ticks
    scale = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    while raw < scale:
        scale /= 10
    for m in (1, 2, 2.5, 5, 10):
        if m * scale >= raw:
            return m * scale
    return 10 * scale


def fmt(v, metric):
    if metric == "ratio":
        return f"{v:.2f}x"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def tick(v):
    return f"{v:.2f}".rstrip("0").rstrip(".")


def shape_label(op, shape):
    text = f"{op.upper()} {shape}"
    for suffix in ("_hot", "_cold"):
        if text.endswith(suffix):
            text = text.removesuffix(suffix) + " " + suffix[1:]
    return text


def render(context, labels, shapes, impls, metric, baseline, machine, source, cpu_time):
    """The SVG text. shapes: {(op, shape): {impl: ops/s}} in run order."""
    rows = [(key, row) for key, row in shapes.items() if not key[1].endswith("_threads2")]
    values = {}  # (key, impl) -> drawn value, or None when the bar cannot be drawn
    for key, row in rows:
        base = row.get(baseline)
        for impl in impls:
            if impl not in row:
                values[key, impl] = None
            elif metric == "ratio":
                values[key, impl] = row[impl] / base if base else None
            else:
                values[key, impl] = row[impl] / 1e9
    drawn = [v for v in values.values() if v is not None]
    top = max(drawn + [1.0 if metric == "ratio" else 0.0]) * 1.1 or 1.0
    step = nice_step(top)
    top = step * -(-top // step)

    label_w = int(max([len(shape_label(*k)) for k, _ in rows] + [20]) * CHAR_W) + 24
    plot_w = 620
    width = label_w + plot_w + 70
    lines = [line for line in (machine, machine_line(context, labels)) if line]
    header_h = 44 + 16 * (len(lines) + 1) + 18 * len(impls) + 22
    group_h = len(impls) * (BAR_H + BAR_GAP) - BAR_GAP
    plot_h = len(rows) * (group_h + GROUP_GAP) + GROUP_GAP
    footer_h = 78
    height = header_h + plot_h + footer_h
    x0, y0 = label_w, header_h

    def x(v):
        return x0 + plot_w * v / top

    if metric == "ratio":
        title = f"rmsmp_bench: throughput relative to {baseline} (higher is faster)"
        axis = f"ops/s divided by {baseline}'s ops/s on the same shape in the same run"
    else:
        title = "rmsmp_bench: throughput in Gops/s (higher is faster)"
        axis = "Gops/s (2*M*K*N per call / time per call)"
    if cpu_time:
        axis += ", per second of CPU time"
    run = f"Run {context.get('date', '?')}, host {context.get('host_name', '?')}"
    if context.get("load_avg"):
        run += ", load average " + ", ".join(f"{v:.2f}" for v in context["load_avg"])

    out = [f'<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" {FONT} font-size="12">',
           f"<title>{escape(title)}</title>",
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="12" y="24" font-size="16" font-weight="bold" fill="#111111">{escape(title)}</text>']
    y = 44
    for line in lines + [run]:
        out.append(f'<text x="12" y="{y}" fill="#333333">{escape(line)}</text>')
        y += 16
    # Legend: one entry per line.
    ly = y + 8
    for impl in impls:
        lx = 12
        desc = DESCRIPTIONS.get(impl)
        out.append(f'<g class="legend" data-impl={quoteattr(impl)}>'
                   f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour(impl, impls)}"/>'
                   f'<text x="{lx + 18}" y="{ly}" fill="#111111">{escape(impl + (f" ({desc})" if desc else ""))}</text></g>')
        ly += 18
    out.append(f'<text x="{x0 - 10}" y="{y0 - 6}" text-anchor="end" font-size="11" fill="#555555">'
               'op, shape M x K x N</text>')

    # Grid, ticks and the baseline.
    out.append(f'<g class="axis" fill="#555555" font-size="11">')
    t = 0.0
    while t <= top + step / 1e6:
        gx = x(t)
        out.append(f'<line x1="{gx:.1f}" y1="{y0}" x2="{gx:.1f}" y2="{y0 + plot_h}" stroke="#dddddd"/>')
        out.append(f'<text x="{gx:.1f}" y="{y0 + plot_h + 15}" text-anchor="middle">'
                   f'{escape(tick(t) + ("x" if metric == "ratio" else ""))}</text>')
        t += step
    out.append("</g>")
    out.append(f'<text x="{x0 + plot_w / 2:.1f}" y="{y0 + plot_h + 34}" text-anchor="middle" fill="#111111">'
               f'{escape(axis)}</text>')
    if metric == "ratio":
        out.append(f'<line class="baseline" x1="{x(1):.1f}" y1="{y0 - 4}" x2="{x(1):.1f}" y2="{y0 + plot_h}" '
                   f'stroke="#333333" stroke-dasharray="4 3"/>')

    # One group per shape.
    gy = y0 + GROUP_GAP
    for key, row in rows:
        label = shape_label(*key)
        out.append(f'<g class="shape" data-shape={quoteattr(key[0] + "/" + key[1])}>')
        out.append(f'<text x="{x0 - 10}" y="{gy + group_h / 2 + 4:.1f}" text-anchor="end" fill="#111111">{escape(label)}</text>')
        for i, impl in enumerate(impls):
            by = gy + i * (BAR_H + BAR_GAP)
            v = values[key, impl]
            if v is None:
                why = "not in this run" if impl not in row else f"no {baseline} for this shape"
                out.append(f'<text class="missing" data-impl={quoteattr(impl)} x="{x0 + 4}" y="{by + BAR_H - 3}" '
                           f'font-size="10" fill="#888888">{escape(impl + ": " + why)}</text>')
                continue
            text = fmt(v, metric)
            out.append(f'<rect class="bar" data-impl={quoteattr(impl)} data-value="{v:.4g}" x="{x0}" y="{by}" '
                       f'width="{max(x(v) - x0, 0.5):.1f}" height="{BAR_H}" fill="{colour(impl, impls)}">'
                       f'<title>{escape(f"{label}, {impl}: {text}")}</title></rect>')
            out.append(f'<text x="{x(v) + 4:.1f}" y="{by + BAR_H - 3}" font-size="10" fill="#333333">{escape(text)}</text>')
        out.append("</g>")
        gy += group_h + GROUP_GAP
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + plot_h}" stroke="#333333"/>')

    fy = y0 + plot_h + 56
    notes = ["One thread per implementation (the 2-thread rows are left out); bars of one shape are "
             "timed in the same run. Only ratios within one run are meaningful.",
             f"Made by bench/chart.py from {os.path.basename(source)}."]
    for line in notes:
        out.append(f'<text x="12" y="{fy}" font-size="11" fill="#555555">{escape(line)}</text>')
        fy += 15
    out.append("</svg>")
    return "\n".join(out) + "\n"


_spare = {}


def colour(impl, impls):
    if impl in COLOURS:
        return COLOURS[impl]
    if impl not in _spare:
        _spare[impl] = SPARE_COLOURS[len(_spare) % len(SPARE_COLOURS)]
    return _spare[impl]


def main(argv):
    p = argparse.ArgumentParser(prog="chart.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("json")
    p.add_argument("-o", "--output")
    p.add_argument("--impls")
    p.add_argument("--baseline", default="onednn_s8")
    p.add_argument("--metric", choices=["ratio", "gops"], default="ratio")
    p.add_argument("--machine", default="")
    p.add_argument("--cpu-time", action="store_true")
    args = p.parse_args(argv[1:])

    try:
        context, labels = read_run(args.json)
    except OSError as e:
        print(f"chart.py: cannot read {args.json}: {e.strerror}", file=sys.stderr)
        return 1
    except NotBenchmarkJson as e:
        print(f"chart.py: {e}", file=sys.stderr)
        return 1
    _, shapes, _, _ = ratios.load(args.json, args.cpu_time)
    if not shapes:
        print(f"chart.py: {args.json} has no BM_<op>/<impl>/<shape> benchmark with an ops/s counter "
              "(is it rmsmp_bench output?)", file=sys.stderr)
        return 1

    present = {i for row in shapes.values() for i in row}
    wanted = args.impls.split(",") if args.impls else DEFAULT_IMPLS
    impls = [i for i in wanted if i in present]
    for i in wanted:
        if i not in present:
            print(f"chart.py: note: {i} is not in this run, left out", file=sys.stderr)
    if not impls:
        print(f"chart.py: none of {', '.join(wanted)} is in {args.json} (it has {', '.join(sorted(present))})",
              file=sys.stderr)
        return 1
    metric = args.metric
    if metric == "ratio" and args.baseline not in present:
        print(f"chart.py: note: {args.baseline} is not in this run, drawing Gops/s instead of ratios",
              file=sys.stderr)
        metric = "gops"

    svg = render(context, labels, shapes, impls, metric, args.baseline, args.machine, args.json, args.cpu_time)
    output = args.output or os.path.splitext(args.json)[0] + ".svg"
    with open(output, "w") as f:
        f.write(svg)
    print(f"chart.py: wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
