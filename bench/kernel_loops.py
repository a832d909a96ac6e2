#!/usr/bin/env python3
"""Static look at the compiled micro-kernels: innermost loops of a binary that contain an
instruction, their length, and llvm-mca's throughput estimate for a given processor.

    python3 bench/kernel_loops.py build/release/bench/rmsmp_bench vpdpbusd 16 icelake-server
    python3 bench/kernel_loops.py build/release/bench/rmsmp_bench vpmaddubsw 16 znver3

Takes a linked executable (in an object file every section starts at address 0). For every
loop (a backward jump) of at most 200 instructions with at least <count> <mnemonic>
instructions: its address range, instructions, <mnemonic> count, stack accesses (spills),
and llvm-mca's "Block RThroughput" (cycles per iteration) on -mcpu=<cpu>. An estimate from
a processor model, not a measurement: it is how the AVX-512 kernel is looked at on a machine
without AVX-512. Needs objdump and llvm-mca.
"""
import re
import subprocess
import sys


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    binary, mnemonic, count, cpu = argv[1], argv[2], int(argv[3]), argv[4]
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary], check=True, capture_output=True,
                          text=True).stdout
    code = []  # (address, instruction)
    for line in text.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s*(.*)", line)
        if m:
            code.append((int(m.group(1), 16), re.sub(r"\s*<.*>", "", m.group(2)).strip()))
    index = {a: i for i, (a, _) in enumerate(code)}
    print(f"| loop | instructions | {mnemonic} | stack accesses | llvm-mca {cpu} cycles/iteration |")
    print("|---|---:|---:|---:|---:|")
    for i, (address, ins) in enumerate(code):
        m = re.match(r"j\w+\s+([0-9a-f]+)$", ins)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target >= address or target not in index or i - index[target] > 200:
            continue
        body = [b for _, b in code[index[target]:i + 1]]
        hits = sum(b.split()[0] == mnemonic for b in body if b)
        if hits < count:
            continue
        stack = sum("(%rsp)" in b or "(%rbp)" in b for b in body)
        asm = "\n".join(b for b in body if b and not b.startswith("j")) + "\n"
        mca = subprocess.run(["llvm-mca", f"-mcpu={cpu}", "-iterations=200"], input=asm, capture_output=True,
                             text=True).stdout
        rt = re.search(r"Block RThroughput:\s*([0-9.]+)", mca)
        print(f"| {target:x}-{address:x} | {len(body)} | {hits} | {stack} | {rt.group(1) if rt else '?'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
