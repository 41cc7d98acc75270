"""How long `eduops --help` and `eduops version` take against `python -c "import typer, rich"`.

Goal (issue 13): `eduops --help` ≤ 2× the bare import, median of 7 interleaved rounds on the same machine.
Also prints which eduops domain modules `--help` imported (there should be none but the plugins).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

PY = sys.executable
CASES = {
    "baseline: import typer, rich": [PY, "-c", "import typer, rich"],
    "eduops --help": [PY, "-c", "from eduops.cli import main; import sys; sys.argv = ['eduops', '--help']; main()"],
    "eduops version": [PY, "-c", "from eduops.cli import main; import sys; sys.argv = ['eduops', 'version']; main()"],
}
ROUNDS = 7


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
    for cmd in CASES.values():  # warm the file cache once
        timed(cmd)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(ROUNDS):
        for name, cmd in CASES.items():
            samples[name].append(timed(cmd))
    base = statistics.median(samples["baseline: import typer, rich"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:32} median {median * 1000:6.0f} ms   ratio {median / base:4.2f}×")
    ratio = statistics.median(samples["eduops --help"]) / base
    extra = loaded_domain_modules()
    print(f"eduops --help / import typer, rich = {ratio:.2f}× (goal ≤ 2.00×)")
    print("domain modules imported by --help:", ", ".join(extra) if extra else "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
