#!/usr/bin/env python3
"""Fails when a configured and built tree used a file that README's apt line does not install.

A machine where the build works may hold packages that the README's
`apt-get install --no-install-recommends ...` line never names (installed by hand, or pulled in
as a Recommends of something else). A user on a fresh Debian 12 then gets a configure or build
error that CI never saw. This check closes that gap without a second machine:

1. The packages a fresh system gets from the apt line: `apt-get install --simulate
   --no-install-recommends` against an *empty* dpkg status, so apt resolves every dependency as
   on a new machine, plus the packages every Debian has (Essential, or Priority: required).
2. The files the build used: every header in ninja's dependency log, every absolute path in
   build.ninja (compilers, include directories, libraries), every path in CMakeCache.txt
   (find_package directories, find_library/find_program results).
3. Each such file that a Debian package owns must be owned by a package of set 1.

Usage: check_apt_line.py BUILD_DIR [--readme README.md] [--packages "pkg pkg ..."]
"""

import argparse
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile


def readme_apt_packages(readme_path):
    """The package names of the first `apt-get install` in README's Quick start block."""
    text = open(readme_path, encoding="utf-8").read()
    section = re.search(r"^## Quick start\s*$(.*?)(?=^## )", text, re.M | re.S)
    if not section:
        sys.exit(f"check_apt_line: no '## Quick start' section in {readme_path}")
    block = re.search(r"^```sh\s*$(.*?)^```\s*$", section.group(1), re.M | re.S)
    if not block:
        sys.exit(f"check_apt_line: no ```sh block under '## Quick start' in {readme_path}")
    for command in re.split(r"&&|;|\n", block.group(1)):
        words = shlex.split(command)
        if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
            names = [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
            if "--no-install-recommends" not in words:
                sys.exit("check_apt_line: README's apt-get install lacks --no-install-recommends; "
                         "a fresh machine that installs recommends hides missing packages")
            return names
    sys.exit(f"check_apt_line: no apt-get install command in README's Quick start block")


def dpkg_status_stanzas():
    with open("/var/lib/dpkg/status", encoding="utf-8", errors="replace") as f:
        return f.read().split("\n\n")


def baseline_packages():
    """Packages on every Debian system: Essential ones and those of Priority required."""
    out = set()
    for stanza in dpkg_status_stanzas():
        name = re.search(r"^Package: (\S+)", stanza, re.M)
        if name and (re.search(r"^Essential: yes$", stanza, re.M)
                     or re.search(r"^Priority: required$", stanza, re.M)):
            out.add(name.group(1))
    return out


def fresh_install_closure(packages):
    """What `apt-get install --no-install-recommends packages` installs on an empty system."""
    with tempfile.NamedTemporaryFile("w", suffix=".status") as empty:
        result = subprocess.run(
            ["apt-get", "install", "--simulate", "--no-install-recommends",
             "-o", f"Dir::State::status={empty.name}", *packages],
            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("check_apt_line: apt-get cannot resolve README's packages on a fresh system:\n"
                 + result.stdout[-3000:] + result.stderr[-3000:])
    return {line.split()[1] for line in result.stdout.splitlines() if line.startswith("Inst ")}


def file_owners():
    """Path -> owning packages, from dpkg's file lists (no dpkg -S per file: thousands)."""
    owners = {}
    for listing in glob.glob("/var/lib/dpkg/info/*.list"):
        package = os.path.basename(listing)[:-len(".list")].split(":")[0]
        with open(listing, encoding="utf-8", errors="replace") as f:
            for line in f:
                owners.setdefault(line.rstrip("\n"), set()).add(package)
    return owners


def owners_of(path, owners):
    """Owning packages of path, trying it as written, resolved, and across Debian's merged /usr."""
    candidates = [os.path.normpath(path), os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/usr/"):
            candidates.append(p[len("/usr"):])
        else:
            candidates.append("/usr" + p)
    for p in candidates:
        if p in owners:
            return owners[p]
    return set()


ABSOLUTE_PATH = re.compile(r"(?<![\w.\-/])(/(?:usr|lib|lib64|bin|sbin|etc|opt)/[^\s:;\"'$]+)")


def used_paths(build_dir):
    paths = set()
    deps = subprocess.run(["ninja", "-C", build_dir, "-t", "deps"],
                          capture_output=True, text=True, check=True).stdout
    for line in deps.splitlines():
        if line.startswith("    /"):
            paths.add(line.strip())
    for name in ("build.ninja", "CMakeCache.txt"):
        with open(os.path.join(build_dir, name), encoding="utf-8", errors="replace") as f:
            for match in ABSOLUTE_PATH.finditer(f.read()):
                paths.add(match.group(1).rstrip(",)"))
    source_and_build = (os.path.realpath(build_dir), os.path.realpath(os.getcwd()))
    return {p for p in paths
            if os.path.exists(p) and not os.path.realpath(p).startswith(source_and_build)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir")
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--packages", help="check this package list instead of README's")
    args = parser.parse_args()

    named = args.packages.split() if args.packages else readme_apt_packages(args.readme)
    allowed = fresh_install_closure(named) | baseline_packages()
    owners = file_owners()

    missing = {}  # package -> an example file
    used_packages = set()
    for path in sorted(used_paths(args.build_dir)):
        found = owners_of(path, owners)
        used_packages |= found
        if found and not (found & allowed):
            for package in sorted(found):
                missing.setdefault(package, path)

    print(f"check_apt_line: {len(named)} packages named, {len(allowed)} on a fresh system "
          f"with them; the build in {args.build_dir} used files of {len(used_packages)} packages")
    if missing:
        print("check_apt_line: the build used files of packages that README's apt line does not "
              "install on a fresh Debian (add them to the line, or make their use optional):")
        for package, example in sorted(missing.items()):
            print(f"  {package:28s} e.g. {example}")
        return 1
    print("check_apt_line: every package the build used is installed by README's apt line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
