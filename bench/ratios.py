#!/usr/bin/env python3
"""Per-shape throughput and rmsmp_mix ratios from one rmsmp_bench JSON run.

    ./build/release/bench/rmsmp_bench --benchmark_out=/tmp/bench.json --benchmark_out_format=json
    python3 bench/ratios.py /tmp/bench.json
    python3 bench/ratios.py --cpu-time /tmp/bench.json

Benchmarks are named BM_<op>/<impl>/<shape>. Prints a Markdown table: one row per shape, the
ops/s of every implementation (in Gops/s, 2*M*K*N per call) and the ratio of rmsmp_mix to
onednn_s8, to onednn_s8_ba (GEMV only) and to eigen_f32 (higher is better for rmsmp).
Only ratios of implementations measured in the same run are meaningful. When the run has
BM_stream_read (one core's read bandwidth), a second table gives each cold GEMV's weight
bytes per second as a share of it.

--cpu-time: rates per second of the process's CPU time instead of real time, for a machine
busy with other work (the real time then includes the time other processes ran). Only for
one-thread benchmarks: a multi-threaded call's CPU time is not all on the timing thread, so
the 2-thread rows are left out.
"""
import json
import sys

IMPLS = ["rmsmp_mix", "rmsmp_mix_by_scheme", "rmsmp_mix_by_row", "rmsmp_fixed4", "rmsmp_fixed8", "reference", "eigen_f32", "onednn_s8", "onednn_s8_ba"]
RATIOS = ["onednn_s8", "onednn_s8_ba", "eigen_f32"]


def load(path, cpu_time=False):
    with open(path) as f:
        data = json.load(f)
    shapes = {}  # (op, shape) -> {impl: ops/s}, in run order
    streams = {}  # load width -> bytes/s of BM_stream_read
    weight_rates = {}  # (op, shape) -> {impl: weight bytes/s}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        # Every benchmark is timed in real time, which appends "/real_time" to its name.
        parts = b["name"].removesuffix("/real_time").split("/")
        if len(parts) == 2 and parts[0] == "BM_stream_read" and "bytes/s" in b:
            streams[parts[1]] = float(b["bytes/s"])
            continue
        if len(parts) != 3 or "ops/s" not in b:
            continue
        op, impl, shape = parts
        rate = float(b["ops/s"])
        if cpu_time:
            if shape.endswith("_threads2"):
                continue
            # ops/s counts per second of real time: ops per call = rate * real time per call.
            rate *= float(b["real_time"]) / float(b["cpu_time"])
        shapes.setdefault((op.removeprefix("BM_"), shape), {})[impl] = rate
        if "weight_bytes/s" in b and shape.endswith("_cold"):
            weight_rates.setdefault((op.removeprefix("BM_"), shape), {})[impl] = float(b["weight_bytes/s"])
    return data.get("context", {}), shapes, streams, weight_rates


def main(argv):
    args = argv[1:]
    cpu_time = "--cpu-time" in args
    args = [a for a in args if a != "--cpu-time"]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    context, shapes, streams, weight_rates = load(args[0], cpu_time)
    impls = [i for i in IMPLS if any(i in r for r in shapes.values())]
    impls += sorted({i for r in shapes.values() for i in r} - set(impls))
    ratios = [r for r in RATIOS if r in impls and "rmsmp_mix" in impls]

    print(f"Run: {context.get('date', '?')}, {context.get('num_cpus', '?')} CPUs at "
          f"{context.get('mhz_per_cpu', '?')} MHz, load average {context.get('load_avg', '?')}"
          f"{', rates per CPU second' if cpu_time else ''}")
    print()
    header = ["op", "shape (MxKxN)"] + [f"{i} Gops/s" for i in impls] + [f"mix / {r}" for r in ratios]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|")
    threaded = {key: row for key, row in shapes.items() if key[1].endswith("_threads2")}
    for (op, shape), row in shapes.items():
        if (op, shape) in threaded:
            continue
        cells = [op, shape]
        cells += [f"{row[i] / 1e9:.2f}" if i in row else "-" for i in impls]
        for r in ratios:
            ok = "rmsmp_mix" in row and r in row and row[r] > 0
            cells.append(f"{row['rmsmp_mix'] / row[r]:.2f}x" if ok else "-")
        print("| " + " | ".join(cells) + " |")
    if threaded:
        print()
        print("| op | shape | rmsmp_mix 1 thread Gops/s | 2 threads Gops/s | 2 threads / 1 thread |")
        print("|---|---|---:|---:|---:|")
        for (op, shape), row in threaded.items():
            base = shapes.get((op, shape.removesuffix("_threads2")), {}).get("rmsmp_mix")
            two = row.get("rmsmp_mix")
            if base and two:
                print(f"| {op} | {shape.removesuffix('_threads2')} | {base / 1e9:.2f} | {two / 1e9:.2f} | {two / base:.2f}x |")
    if streams and weight_rates and not cpu_time:
        best = max(streams.values())
        print()
        print("One core's read bandwidth: " + ", ".join(f"{k} {v / 1e9:.2f} GB/s" for k, v in streams.items()))
        print()
        print("| op | shape | impl | weight GB/s | share of the best stream read |")
        print("|---|---|---|---:|---:|")
        for (op, shape), row in weight_rates.items():
            for impl in [i for i in impls if i in row]:
                print(f"| {op} | {shape} | {impl} | {row[impl] / 1e9:.2f} | {row[impl] / best:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
