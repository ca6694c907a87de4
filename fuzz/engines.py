"""
The two ways L{fuzz.run} fuzzes a target for a set time.

- atheris (coverage-guided libFuzzer), one subprocess per target (L{fuzz.atheris_worker}):
  its corpus persists in C{fuzz/corpus/TARGET}, seeded each run from the target's seeds.
- hypothesis, in this process, where atheris does not install: random bytes, and valid
  encodings with bytes flipped, inserted, deleted or repeated, in batches until the time
  is up; a crash is shrunk to a small input before it is saved.

Either saves each crashing input (hangs included) in C{fuzz/crashes/TARGET/}.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import FrameType

import attrs

from fuzz.registry import Target

FUZZ_DIR = Path(__file__).resolve().parent
ROOT = FUZZ_DIR.parent
CORPUS_DIR = FUZZ_DIR / "corpus"
CRASH_DIR = FUZZ_DIR / "crashes"

#: Seconds one input may take before it counts as a hang.
DEFAULT_TIMEOUT = 10
#: Seconds a worker may spend importing and loading its corpus, on top of its time.
STARTUP_ALLOWANCE = 300


@attrs.frozen
class Result:
    """
    What fuzzing one target did; C{crashes} are the saved inputs.
    """

    name: str
    engine: str
    executions: int
    seconds: float
    crashes: tuple[Path, ...] = ()
    detail: str = ""


def crash_dir(name: str) -> Path:
    return CRASH_DIR / name


def _save_crash(name: str, data: bytes, kind: str = "crash") -> Path:
    folder = crash_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    return path


# -- atheris --------------------------------------------------------------------------------

def atheris_available() -> bool:
    try:
        import atheris  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def _write_seeds(folder: Path, inputs: Iterable[bytes]) -> int:
    count = 0
    for data in inputs:
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
        count += 1
    return count


def _stat(log: str, name: str) -> int | None:
    match = re.search(rf"^stat::{name}:\s*(\d+)", log, re.MULTILINE)
    return int(match.group(1)) if match else None


def fuzz_with_atheris(target: Target, seconds: int, seeds: Iterable[bytes],
                      timeout: int = DEFAULT_TIMEOUT) -> Result:
    """
    Run the target's worker for C{seconds} of fuzzing (startup not counted).
    """
    corpus = CORPUS_DIR / target.name
    corpus.mkdir(parents=True, exist_ok=True)
    crashes = crash_dir(target.name)
    crashes.mkdir(parents=True, exist_ok=True)
    before = set(crashes.iterdir())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with tempfile.TemporaryDirectory(prefix=f"neo-fuzz-seeds-{target.name}-") as seed_dir:
        _write_seeds(Path(seed_dir), seeds)
        command = [sys.executable, "-m", "fuzz.atheris_worker", target.name,
                   f"-max_total_time={seconds}", f"-timeout={timeout}",
                   f"-max_len={target.max_len}", "-print_final_stats=1",
                   "-rss_limit_mb=2048", f"-artifact_prefix={crashes}{os.sep}",
                   str(corpus), seed_dir]
        started = time.monotonic()
        try:
            finished = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, errors="replace",
                                      timeout=seconds + timeout + STARTUP_ALLOWANCE)
            log, status = finished.stdout, finished.returncode
        except subprocess.TimeoutExpired as e:
            output = e.stdout
            log = output.decode(errors="replace") if isinstance(output, bytes) else output or ""
            status = -1
        elapsed = time.monotonic() - started
    new = tuple(sorted(set(crashes.iterdir()) - before))
    with contextlib.suppress(OSError):
        crashes.rmdir()  # only when empty: no folder per target that never crashed
        CRASH_DIR.rmdir()
    executions = _stat(log, "number_of_executed_units") or 0
    detail = ""
    if new or status != 0:
        detail = _crash_report(log, status)
    if status != 0 and not new:
        new = (_save_log(target.name, log),)  # a failure without an input: keep the log
    return Result(target.name, "atheris", executions, elapsed, new, detail)


def _crash_report(log: str, status: int) -> str:
    """
    The Python traceback (or libFuzzer's complaint) from a worker's output.
    """
    lines = [line for line in log.splitlines() if not line.startswith("INFO: Instrumenting")]
    start = next((i for i, line in enumerate(lines)
                  if "Uncaught Python exception" in line or "ERROR: libFuzzer" in line
                  or "ALARM" in line), max(0, len(lines) - 30))
    return f"worker exit status {status}\n" + "\n".join(lines[start:start + 60])


def _save_log(name: str, log: str) -> Path:
    folder = crash_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"worker-{time.strftime('%Y%m%dT%H%M%S')}.log"
    path.write_text(log, encoding="utf-8")
    return path


# -- hypothesis -----------------------------------------------------------------------------

class HangError(Exception):
    """
    One input ran longer than the per-input timeout.
    """


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise HangError("the input took longer than the timeout")


def fuzz_with_hypothesis(target: Target, seconds: int, seeds: Iterable[bytes],
                         timeout: int = DEFAULT_TIMEOUT, batch: int = 100) -> Result:
    """
    Hypothesis batches of C{batch} inputs until C{seconds} have passed or one crashes.

    The clock is read between batches only: an example that depends on it would make
    hypothesis's replays (and so its shrinking) inconsistent.
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from fuzz.mutations import inputs

    strategy = inputs(list(seeds), target)
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    executions = 0
    last_failure: list[tuple[bytes, str]] = []

    @settings(max_examples=batch, deadline=None, database=None,
              phases=[Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run_batch(draw: st.DataObject) -> None:
        nonlocal executions
        data = draw.draw(strategy, label="input")
        executions += 1
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            target.check(data)
        except BaseException:
            last_failure[:] = [(data, traceback.format_exc())]
            raise
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        while time.monotonic() < deadline:
            try:
                run_batch()
            except Exception:  # the shrunk failure: the last one recorded
                break
    finally:
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - started
    if not last_failure:
        return Result(target.name, "hypothesis", executions, elapsed)
    data, report = last_failure[0]
    kind = "timeout" if "HangError:" in report else "crash"
    return Result(target.name, "hypothesis", executions, elapsed,
                  (_save_crash(target.name, data, kind),), report)


def clear_corpus(name: str) -> None:
    """
    Forget what the coverage-guided fuzzer learnt for C{name} (its next run starts over).
    """
    shutil.rmtree(CORPUS_DIR / name, ignore_errors=True)
