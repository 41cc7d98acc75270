"""How long `eduops --help` and `eduops version` take against `python -c "import typer, rich"`.

Goal (issue 13): `eduops --help` ≤ 2× the bare import, median of 7 interleaved rounds on the same machine
(--quick: 3). Also prints which eduops domain modules `--help` imported (there should be none but the plugins).

    .venv/bin/python bench/cli_startup.py [--rounds 7] [--quick]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from harness import Goal, finish, parse, parser, report

PY = sys.executable
CASES = {
    "baseline: import typer, rich": [PY, "-c", "import typer, rich"],
    "eduops --help": [PY, "-c", "from eduops.cli import main; import sys; sys.argv = ['eduops', '--help']; main()"],
    "eduops version": [PY, "-c", "from eduops.cli import main; import sys; sys.argv = ['eduops', 'version']; main()"],
}
ROUNDS = 7
GOAL = Goal("eduops --help / python -c 'import typer, rich'", "≤ 2× the bare import", "<=", 2.0)


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def loaded_domain_modules() -> list[str]:
    probe = ("import sys; from eduops.cli import main; sys.argv = ['eduops', '--help']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('eduops.'))), file=sys.stderr)")
    done = subprocess.run([PY, "-c", probe], capture_output=True, text=True, check=True)
    # a domain's package (its __init__) and its plugin module are what declaring costs; anything else is service code
    return [m for m in done.stderr.split() if m.count(".") > 1 and not m.startswith("eduops.core.")
            and not m.endswith(".plugin")]


def main() -> int:
    p = parser(__doc__)
    p.set_defaults(rounds=ROUNDS)
    args = parse(p)
    rounds = 3 if args.quick and "--rounds" not in sys.argv else args.rounds
    for cmd in CASES.values():  # warm the file cache once
        timed(cmd)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for n in range(rounds):  # interleaved; who goes first rotates
        names = list(CASES)
        for name in names[n % len(names):] + names[:n % len(names)]:
            samples[name].append(timed(CASES[name]))
    base = samples["baseline: import typer, rich"]
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:32} median {median * 1000:6.0f} ms   ratio {median / statistics.median(base):4.2f}×")
    extra = loaded_domain_modules()
    report(GOAL, [mine / b for mine, b in zip(samples["eduops --help"], base, strict=True)],
           "domain modules imported by --help: " + (", ".join(extra) if extra else "none"))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
