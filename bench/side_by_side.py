"""What the side-by-side benchmarks share: the repository root and running one timing program."""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def built_programs(build, *paths):
    """build/path for each path, checked up front: a missing program stops the benchmark before any
    work, naming the cmake command that builds it."""
    programs = [os.path.join(build, *p.split("/")) for p in paths]
    missing = [p for p in programs if not os.access(p, os.X_OK)]
    if missing:
        targets = " ".join(os.path.basename(p) for p in missing)
        raise SystemExit(f"not built: {', '.join(missing)}\nbuild them with: cmake --build {build} --target {targets}"
                         " (or point --build at another build folder)")
    return programs


def run_json(command, threads):
    """Runs command with OpenMP and OpenBLAS at `threads` threads; returns its last output line as JSON."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {run.returncode}:\n{run.stderr.strip()}")
    return json.loads(run.stdout.strip().splitlines()[-1])
