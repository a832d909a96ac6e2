#!/usr/bin/env python3
"""bench/chart.py on a small hand-made rmsmp_bench JSON (tests/data/bench/rmsmp_bench_small.json).

The fixture has three shapes: GEMV hot with rmsmp_mix, onednn_s8 and eigen_f32; a GEMM without
eigen_f32 (and its _threads2 row, which the chart leaves out); a ResNet shape without
onednn_s8. Checks that the SVG is well-formed XML with the expected bars, values, labels and
legend, the Gops/s variant, the fallbacks for missing implementations, and the refusals of a
file that is not benchmark JSON. Standard library only.

    python3 tests/python/chart_test.py [--chart bench/chart.py] [--fixture FILE]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SVG = "{http://www.w3.org/2000/svg}"
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message)


def run(chart, *args):
    p = subprocess.run([sys.executable, chart, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def parse(path):
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as e:
        check(False, f"{path} is not well-formed XML: {e}")
        return None


def texts(root):
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


def bars(root):
    """{(op/shape, impl): value} of every drawn bar."""
    out = {}
    for g in root.iter(SVG + "g"):
        if g.get("class") == "shape":
            for r in g.iter(SVG + "rect"):
                if r.get("class") == "bar":
                    out[g.get("data-shape"), r.get("data-impl")] = float(r.get("data-value"))
    return out


def missing(root):
    return {(g.get("data-shape"), t.get("data-impl")): "".join(t.itertext())
            for g in root.iter(SVG + "g") if g.get("class") == "shape"
            for t in g.iter(SVG + "text") if t.get("class") == "missing"}


def close(a, b):
    return abs(a - b) <= 1e-3 * max(abs(a), abs(b), 1e-9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chart", default=os.path.join(ROOT, "bench", "chart.py"))
    ap.add_argument("--fixture", default=os.path.join(ROOT, "tests", "data", "bench", "rmsmp_bench_small.json"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rmsmp_chart_test_")
    hot, gemm, resnet = "gemv/4096x4096x1_hot", "gemm/512x4608x196", "gemm/resnet18_layer4_down_512x256x49"

    # Ratios to onednn_s8, the default implementations.
    out = os.path.join(tmp, "ratio.svg")
    rc, stdout, stderr = run(args.chart, args.fixture, "-o", out, "--machine", "Test machine (fixture)")
    check(rc == 0, f"chart.py on the fixture: exit {rc}, stderr: {stderr}")
    root = parse(out) if rc == 0 else None
    if root is not None:
        check(root.tag == SVG + "svg", f"root element is {root.tag}, not svg")
        check(all(a in root.attrib for a in ("width", "height", "viewBox")), "svg has no width/height/viewBox")
        check(not list(root.iter(SVG + "style")) and not list(root.iter(SVG + "script")),
              "the SVG has a <style> or <script> element")
        check(not any("href" in k for e in root.iter() for k in e.attrib), "the SVG refers to an external file")
        all_text = texts(root)
        joined = "\n".join(all_text)
        check("relative to onednn_s8" in joined, "no title naming the baseline")
        check("Test machine (fixture)" in all_text, "the --machine line is missing")
        check("2 CPUs at 3000 MHz" in joined and "L3 32 MiB" in joined, "the context's CPUs and caches are missing")
        check("rmsmp kernel avx512_vnni" in joined, "the rmsmp kernel from the labels is missing")
        check("oneDNN 9.9.9" in joined, "the oneDNN version from the context is missing")
        for label in ("GEMV 4096x4096x1 hot", "GEMM 512x4608x196", "GEMM resnet18_layer4_down_512x256x49"):
            check(label in all_text, f"no shape label '{label}'")
        check(not any("threads2" in t for t in all_text), "a _threads2 row is drawn")
        check(any("ops/s divided by onednn_s8" in t for t in all_text), "no x-axis label")
        legend = [g.get("data-impl") for g in root.iter(SVG + "g") if g.get("class") == "legend"]
        check(legend == ["rmsmp_mix", "onednn_s8", "eigen_f32"], f"legend {legend}")
        want = {(hot, "rmsmp_mix"): 3.0, (hot, "onednn_s8"): 1.0, (hot, "eigen_f32"): 0.15,
                (gemm, "rmsmp_mix"): 0.875, (gemm, "onednn_s8"): 1.0}
        got = bars(root)
        check(set(got) == set(want), f"bars {sorted(got)}, expected {sorted(want)}")
        for k, v in want.items():
            check(k not in got or close(got[k], v), f"bar {k}: {got.get(k)}, expected {v}")
        check("3.00x" in all_text and "0.88x" in all_text, "bar value labels 3.00x / 0.88x missing")
        miss = missing(root)
        check(set(miss) == {(gemm, "eigen_f32"), (resnet, "rmsmp_mix"), (resnet, "onednn_s8"), (resnet, "eigen_f32")},
              f"missing-bar notes {sorted(miss)}")
        check("not in this run" in miss.get((gemm, "eigen_f32"), ""), "eigen_f32 on 512x4608x196 not marked as absent")
        check("no onednn_s8" in miss.get((resnet, "rmsmp_mix"), ""), "the ResNet shape's missing baseline not named")
        check(any(e.get("class") == "baseline" for e in root.iter(SVG + "line")), "no line at ratio 1")

    # Gops/s and a chosen list with an implementation the run lacks.
    out = os.path.join(tmp, "gops.svg")
    rc, _, stderr = run(args.chart, args.fixture, "-o", out, "--metric", "gops", "--impls", "rmsmp_mix,eigen_f32,rmsmp_fixed4")
    check(rc == 0, f"--metric gops: exit {rc}, stderr: {stderr}")
    check("rmsmp_fixed4 is not in this run" in stderr, f"no note on the absent rmsmp_fixed4: {stderr}")
    root = parse(out) if rc == 0 else None
    if root is not None:
        got = bars(root)
        want = {(hot, "rmsmp_mix"): 300.0, (hot, "eigen_f32"): 15.0, (gemm, "rmsmp_mix"): 700.0,
                (resnet, "rmsmp_mix"): 600.0, (resnet, "eigen_f32"): 100.0}
        check(set(got) == set(want), f"Gops/s bars {sorted(got)}, expected {sorted(want)}")
        for k, v in want.items():
            check(k not in got or close(got[k], v), f"Gops/s bar {k}: {got.get(k)}, expected {v}")
        check(any("Gops/s" in t for t in texts(root)), "no Gops/s axis label")

    # A baseline absent from the whole run: Gops/s instead, with a note.
    out = os.path.join(tmp, "fallback.svg")
    rc, _, stderr = run(args.chart, args.fixture, "-o", out, "--baseline", "onednn_s8_ba")
    check(rc == 0 and "drawing Gops/s" in stderr, f"absent baseline: exit {rc}, stderr: {stderr}")
    root = parse(out) if rc == 0 else None
    if root is not None:
        check(len(bars(root)) == 7, f"absent baseline: {len(bars(root))} bars, expected 7")

    # Files that are not rmsmp_bench JSON: exit 1, a message, no SVG.
    cases = {"not_json.txt": ("not json at all\n", "is not JSON"),
             "no_benchmarks.json": (json.dumps({"context": {}, "items": []}), "not Google Benchmark output"),
             "no_gemm.json": (json.dumps({"context": {}, "benchmarks": [
                 {"name": "BM_stream_read/avx2_loads/real_time", "run_type": "iteration", "bytes/s": 1.0}]}),
                 "no BM_<op>/<impl>/<shape> benchmark")}
    for name, (content, message) in cases.items():
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(content)
        out = os.path.join(tmp, name + ".svg")
        rc, _, stderr = run(args.chart, path, "-o", out)
        check(rc == 1, f"{name}: exit {rc}, expected 1")
        check(message in stderr and "Traceback" not in stderr, f"{name}: stderr {stderr!r}")
        check(not os.path.exists(out), f"{name}: an SVG was written")
    rc, _, stderr = run(args.chart, os.path.join(tmp, "does_not_exist.json"))
    check(rc == 1 and "cannot read" in stderr, f"missing file: exit {rc}, stderr {stderr!r}")

    if failures:
        print(f"{len(failures)} check(s) failed; outputs in {tmp}")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("chart_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
