"""
NeoVM speed: instructions per second of our engine on three scripts, against
neo-python 0.9.1's VM on the same scripts in the same run (the issue's target: 5x).

The scripts: a tight arithmetic loop (DUP/ROT/MUL/ADD/MOD and a DEC/JMPIF counter), a
churn of arrays and maps (NEWARRAY/APPEND/SETITEM/PICKITEM/NEWMAP/REMOVE in a loop) and
a loop of 3-of-4 CHECKMULTISIGs with real signatures over the script container's message.
Each is counted once by stepping (instructions executed, the final implicit RET included),
then timed with a plain C{execute()} several times: the rate is the count over the median
time. neo-python counts its own instructions (C{ops_processed}) and is timed the same way by
bench/vm_neopython.py in a Python 3.7 venv (made once under bench/.cache/, from PyPI). Both
engines must end in the same state with the same result stack.

Usage::

    python bench/bench_vm.py            # print the results
    python bench/bench_vm.py --write    # also rewrite its section of BENCHMARKS.md
    python bench/bench_vm.py --quick    # a tenth of the loops, 2 runs (never written)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import attrs
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # bench/report.py

from neo_twisted.crypto.ecdsa import sign
from neo_twisted.vm import opcodes as op
from neo_twisted.vm.builder import ops, push_bytes, push_int
from neo_twisted.vm.engine import ExecutionEngine, VMState
from neo_twisted.vm.items import Array, Boolean, Integer, Map, StackItem, Struct

COMMAND = "make bench"
HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
VENV = CACHE / "neo-python-0.9.1"
NEO_HOME = CACHE / "neo-python-home"  # neo-python makes ~/.neopython when imported
DRIVER = HERE / "vm_neopython.py"
#: neo-python 0.9.1 wants Python 3.7 (pyenv's on these machines; NEO_PYTHON37 overrides).
PYTHON37 = os.environ.get("NEO_PYTHON37", "/root/.pyenv/versions/3.7.16/bin/python")
TARGET = 5.0
RUNS = 5
#: Loop iterations of each script in a full run (--quick takes a tenth).
ITERATIONS = {"arithmetic": 3000, "collections": 600, "multisig": 20}
MESSAGE = b"bench_vm: the unsigned serialization a witness signs " + bytes(range(32))
MODULUS = 1_000_003

Plain = dict[str, object]


@attrs.frozen
class Run:
    """
    One engine on one script: instructions per run, the timed runs, how it ended.
    """

    instructions: int
    times: list[float]
    state: str
    stack: list[object]

    @property
    def rate(self) -> float:
        return self.instructions / statistics.median(self.times)

    @classmethod
    def from_json(cls, raw: object) -> Run:
        if not isinstance(raw, dict):
            raise ValueError(f"not a run: {raw!r}")
        instructions, times, state, stack = (raw.get(k) for k in
                                             ("instructions", "times", "state", "stack"))
        if not (isinstance(instructions, int) and isinstance(times, list)
                and isinstance(state, str) and isinstance(stack, list)):
            raise ValueError(f"not a run: {raw!r}")
        return cls(instructions, [float(t) for t in times], state, stack)


class Container:
    """
    The script container: CHECKMULTISIG's message.
    """

    def __init__(self, message: bytes) -> None:
        self.message = message

    def get_message(self) -> bytes:
        return self.message


def loop(setup: bytes, body: bytes, finish: bytes, iterations: int) -> bytes:
    """
    C{setup}, then push the counter and repeat C{body} (counter on top, left there) with
    DEC DUP JMPIF until it reaches 0, then drop it and run C{finish}.
    """
    back = -(len(body) + 2)  # from the JMPIF back to the body's first byte
    jump = bytes([op.BY_NAME["JMPIF"]]) + back.to_bytes(2, "little", signed=True)
    return (setup + push_int(iterations) + body + ops("DEC", "DUP") + jump + ops("DROP")
            + finish)


def arithmetic_script(iterations: int) -> bytes:
    """
    acc = (acc * 7 + counter) % 1,000,003 each pass: [acc, counter] in, the same out.
    """
    body = (ops("DUP", "ROT") + push_int(7) + ops("MUL", "ADD") + push_int(MODULUS)
            + ops("MOD", "SWAP"))
    return loop(push_int(1), body, b"", iterations)


def collections_script(iterations: int) -> bytes:
    """
    Each pass builds an array [9, 5], puts it in a fresh map, reads it back, removes it,
    then stores it in the outer map under the counter and removes the previous pass's key.
    [map, counter] in, the same out; the outer map ends with the single key 1.
    """
    body = b"".join((
        push_int(0), ops("NEWARRAY"),                              # [m, c, a]
        ops("DUP"), push_int(2), ops("PICK", "APPEND"),            # a = [c]
        ops("DUP"), push_int(5), ops("APPEND"),                    # a = [c, 5]
        ops("DUP"), push_int(0), push_int(9), ops("SETITEM"),      # a = [9, 5]
        ops("NEWMAP", "DUP"), push_int(1), push_int(3), ops("PICK", "SETITEM"),  # m2 = {1: a}
        ops("DUP"), push_int(1), ops("PICKITEM"), push_int(1), ops("PICKITEM", "DROP"),
        ops("DUP"), push_int(1), ops("REMOVE", "DROP"),            # [m, c, a]
        push_int(2), ops("PICK"), push_int(2), ops("PICK"), push_int(2),
        ops("PICK", "SETITEM", "DROP"),                            # m[c] = a; [m, c]
        ops("OVER", "OVER", "INC", "REMOVE"),                      # del m[c + 1]
    ))
    return loop(ops("NEWMAP"), body, b"", iterations)


def private_keys() -> list[ec.EllipticCurvePrivateKey]:
    return [ec.derive_private_key(
        int.from_bytes(hashlib.sha256(b"bench_vm key %d" % i).digest(), "big") % (2**255),
        ec.SECP256R1()) for i in range(4)]


def multisig_script(iterations: int, message: bytes = MESSAGE) -> bytes:
    """
    Each pass: three signatures (by keys 1-3) and the four keys, CHECKMULTISIG (four
    verifications: the first signature is tried against key 4 first), its result added
    to a count. [count, counter] in, the same out; the count ends at C{iterations}.
    """
    keys = private_keys()
    public = [k.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
              for k in keys]
    signatures = [sign(k, message) for k in keys[:3]]
    body = b"".join((
        *(push_bytes(s) for s in signatures), push_int(3),
        *(push_bytes(p) for p in public), push_int(4),
        ops("CHECKMULTISIG", "ROT", "ADD", "SWAP"),
    ))
    return loop(push_int(0), body, b"", iterations)


def loops(name: str, quick: bool) -> int:
    return max(2, ITERATIONS[name] // 10) if quick else ITERATIONS[name]


def scripts(quick: bool) -> dict[str, bytes]:
    makers = {"arithmetic": arithmetic_script, "collections": collections_script,
              "multisig": multisig_script}
    return {name: make(loops(name, quick)) for name, make in makers.items()}


def expected(name: str, iterations: int) -> list[object]:
    """
    The result stack each script must leave (in L{plain} form), computed here in Python.
    """
    if name == "arithmetic":
        acc = 1
        for i in range(iterations, 0, -1):
            acc = (acc * 7 + i) % MODULUS
        return [{"type": "Integer", "value": str(acc)}]
    if name == "collections":
        pair = [{"type": "Integer", "value": "9"}, {"type": "Integer", "value": "5"}]
        return [{"type": "Map", "value": [[{"type": "Integer", "value": "1"},
                                           {"type": "Array", "value": pair}]]}]
    return [{"type": "Integer", "value": str(iterations)}]


def plain(item: StackItem) -> Plain:
    """
    A stack item as JSON, the same form bench/vm_neopython.py gives neo-python's.
    """
    if isinstance(item, Map):
        return {"type": "Map",
                "value": [[plain(k.item), plain(v)] for k, v in item.entries.items()]}
    if isinstance(item, Array):
        kind = "Struct" if isinstance(item, Struct) else "Array"
        return {"type": kind, "value": [plain(i) for i in item.items]}
    if isinstance(item, Boolean):
        return {"type": "Boolean", "value": item.value}
    if isinstance(item, Integer):
        return {"type": "Integer", "value": str(item.value)}
    return {"type": item.type_name, "value": item.get_bytes().hex()}


def _engine(script: bytes) -> ExecutionEngine:
    engine = ExecutionEngine(container=Container(MESSAGE))
    engine.load_script(script)
    return engine


def count(script: bytes) -> tuple[ExecutionEngine, int]:
    """
    Run C{script} one instruction at a time: the finished engine and the instructions run.
    """
    engine = _engine(script)
    engine.state = VMState.NONE
    executed = 0
    while engine.state == VMState.NONE:
        executed += bool(engine.invocation_stack)
        engine.execute_next()
    return engine, executed


def measure_ours(script: bytes, runs: int) -> Run:
    """
    Count by stepping (which warms the caches), then time C{runs} plain executions.
    """
    counted, executed = count(script)
    times = []
    for _ in range(runs):
        engine = _engine(script)
        started = time.perf_counter()
        engine.execute()
        times.append(time.perf_counter() - started)
    return Run(executed, times, counted.state.name, [plain(i) for i in counted.result_stack])


def neo_python(log: Callable[[str], None]) -> tuple[Path | None, str]:
    """
    neo-python 0.9.1's interpreter (installed once), or None and why not.
    """
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if marker.exists():
        return python, "cached"
    if not Path(PYTHON37).exists():
        return None, f"no Python 3.7 at {PYTHON37}"
    log(f"installing neo-python 0.9.1 into {VENV} (once)")
    shutil.rmtree(VENV, ignore_errors=True)
    for command in ([PYTHON37, "-m", "venv", str(VENV)],
                    [str(python), "-m", "pip", "install", "--quiet",
                     "--disable-pip-version-check", "neo-python==0.9.1"]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"`{' '.join(command[-3:])}` failed: {last}"
    marker.touch()
    return python, "installed"


def measure_theirs(python: Path, sources: dict[str, bytes], runs: int) -> dict[str, Run]:
    """
    The same scripts on neo-python, through bench/vm_neopython.py.
    """
    NEO_HOME.mkdir(parents=True, exist_ok=True)
    request = {"message": MESSAGE.hex(), "runs": runs,
               "scripts": {name: script.hex() for name, script in sources.items()}}
    done = subprocess.run([str(python), str(DRIVER)], input=json.dumps(request),
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "HOME": str(NEO_HOME)})
    answer = json.loads(done.stdout)
    if not isinstance(answer, dict):
        raise ValueError("bench/vm_neopython.py did not answer a JSON object")
    return {name: Run.from_json(answer.get(name)) for name in sources}


def measure(quick: bool) -> dict[str, object]:
    """
    Both engines on the three scripts; neo-python's figures are None when it is missing.
    """
    def log(text: str) -> None:
        print(text, file=sys.stderr)

    runs = 2 if quick else RUNS
    before = report.cpu_pressure()
    sources = scripts(quick)
    ours = {name: measure_ours(script, runs) for name, script in sources.items()}
    python, status = neo_python(log)
    theirs: dict[str, Run] = {}
    if python is not None:
        try:
            theirs = measure_theirs(python, sources, runs)
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            detail = getattr(e, "stderr", None) or str(e)
            status = f"the neo-python run failed: {detail.strip().splitlines()[-1]}"
    figures: dict[str, object] = {"runs": runs, "neo_python": status if not theirs else "ran",
                                  "pressure": [before, report.cpu_pressure()]}
    for name, script in sources.items():
        mine, reference = ours[name], theirs.get(name)
        iterations = loops(name, quick)
        if (mine.state, mine.stack) != ("HALT", expected(name, iterations)):
            raise RuntimeError(f"our engine got {name} wrong: {mine.state} {mine.stack}")
        figures[name] = {
            "bytes": len(script), "iterations": iterations,
            "instructions": mine.instructions, "state": mine.state, "ours": mine.rate,
            "neo_python": None if reference is None else reference.rate,
            "neo_python_instructions": None if reference is None else reference.instructions,
            "neo_python_state": None if reference is None else reference.state,
            "ratio": None if reference is None else mine.rate / reference.rate,
            "same": None if reference is None else (
                (mine.state, mine.stack, mine.instructions)
                == (reference.state, reference.stack, reference.instructions)),
            "stack": mine.stack,
            "neo_python_stack": None if reference is None else reference.stack,
        }
    return figures


DESCRIPTIONS = {
    "arithmetic": "tight arithmetic loop: `acc = (acc * 7 + i) % 1000003` by DUP ROT PUSH7 "
                  "MUL ADD PUSH MOD SWAP, then DEC DUP JMPIF",
    "collections": "array/map churn: NEWARRAY, APPEND x2, SETITEM, NEWMAP, SETITEM, "
                   "PICKITEM x2, REMOVE, SETITEM in an outer map, REMOVE of the last key",
    "multisig": "3-of-4 CHECKMULTISIG with real signatures over the container's message "
                "(4 verifications each), its result added to a count",
}


def _script_figures(f: dict[str, object], name: str) -> dict[str, object]:
    value = f[name]
    if not isinstance(value, dict):
        raise TypeError(f"no figures for {name}")
    return value


def section(f: dict[str, object]) -> str:
    rows, verdicts, mismatches = [], [], []
    for name in ITERATIONS:
        s = _script_figures(f, name)
        ratio, same = s["ratio"], s["same"]
        theirs = s["neo_python"]
        ok = isinstance(ratio, float) and ratio >= TARGET
        verdicts.append(ok)
        rows.append(
            f"| {name} | {s['iterations']:,} | {s['bytes']:,} | {s['instructions']:,} | "
            f"{s['state']} | {report.figure(_number(s['ours']))} | "
            f"{report.figure(_number(theirs))} | "
            f"{'-' if not isinstance(ratio, float) else f'{ratio:.1f}x'} | "
            f"{'not checked' if ratio is None else report.met(ok)} | "
            f"{'-' if same is None else ('yes' if same else '**NO**')} |")
        if same is False:
            mismatches.append(
                f"- **Mismatch on {name}**: ours {s['state']} after {s['instructions']:,} "
                f"instructions, stack `{json.dumps(s['stack'])}`; neo-python "
                f"{s['neo_python_state']} after {s['neo_python_instructions']:,}, stack "
                f"`{json.dumps(s['neo_python_stack'])}`.")
    status = f["neo_python"]
    if status == "ran":
        reference = ("neo-python 0.9.1 (PyPI, in a Python 3.7.16 venv under `bench/.cache/`), "
                     "run by `bench/vm_neopython.py` in a subprocess in the same run")
        overall = (f"**Target (ours >= {TARGET:.0f}x neo-python on each script): "
                   f"{report.met(all(verdicts))}.**")
    else:
        reference = f"**none: neo-python 0.9.1 is not available here ({status})**"
        overall = "**Target not checked: no reference figure.**"
    head = ("| script | loops | bytes | instructions per run | end | ours (instr/s) | "
            f"neo-python (instr/s) | ratio | target {TARGET:.0f}x | same end and stack |\n"
            "|---|---:|---:|---:|---|---:|---:|---:|---|---|")
    m = _script_figures(f, "multisig")
    per_loop = (_number(m["instructions"]) or 0.0) / (_number(m["iterations"]) or 1.0)
    multisig = ", ".join(
        f"{who} {per_loop / rate / 4 * 1e6:,.0f} us"
        for who, rate in (("ours", _number(m["ours"])), ("neo-python", _number(m["neo_python"])))
        if rate is not None)
    scripts_text = "\n".join(f"  - {name}: {text}." for name, text in DESCRIPTIONS.items())
    agreement = ("\n".join(mismatches) if mismatches else
                 "- Both engines end every script in the same state with the same result "
                 "stack after the same number of instructions."
                 if status == "ran" else "- No comparison: neo-python did not run.")
    return f"""## NeoVM

Instructions per second of `neo_twisted.vm` against neo-python 0.9.1's VM on the same scripts
(`bench/bench_vm.py --write`).

- Date: {report.now()}; commit {report.commit()}
- Machine: {report.shared_machine(_pressure(f))}
- Command: `{COMMAND}` (runs `.venv/bin/python bench/bench_vm.py --write`)
- Reference: {reference}.
- Scripts (built with `neo_twisted.vm.builder`, each a loop on a DEC/DUP/JMPIF counter):
{scripts_text}
- Check: our result stack is the one computed in Python (the accumulator; the map
  `{{1: [9, 5]}}`; the count of successful CHECKMULTISIGs, all of them), else no figures.
- Method: each engine counts the instructions of one run (ours by stepping `execute_next`,
  neo-python by its own `ops_processed`; the implicit RET at the end is one), then runs the
  script {f['runs']} times with a plain `execute()`/`Execute()` on a fresh engine; the rate is
  the count over the median time. No GAS meter on either side (the bare VM).

{head}
{chr(10).join(rows)}

{overall}
{agreement}
- The CHECKMULTISIG rate is mostly signature checking (a loop's time over its 4
  verifications: {multisig}): ours calls OpenSSL
  through `cryptography`, neo-python the pure-Python `ecdsa` 0.13; the other two measure
  the interpreters themselves.
"""


def _pressure(f: dict[str, object]) -> tuple[str, str]:
    value = f.get("pressure")
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]), str(value[1])
    return "unknown", "unknown"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def main(argv: list[str] | None = None) -> int:
    parser = report.command_line(__doc__, "rewrite this section of BENCHMARKS.md",
                                 "a tenth of the loops and 2 runs, a smoke run")
    args = report.arguments(parser, argv)
    figures = measure(args.quick)
    text = section(figures)
    print(text)
    if args.write:
        report.publish("bench_vm", text, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
