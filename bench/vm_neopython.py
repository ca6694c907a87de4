"""
The neo-python 0.9.1 side of bench/bench_vm.py: run in its Python 3.7 venv, never in ours.

Reads a JSON request on stdin: {"message": hex, "runs": n, "scripts": {name: hex}}; for
each script, runs it once to count the instructions (neo-python's own C{ops_processed}:
one per C{ExecuteNext} on a live context, the implicit final RET included), then C{runs}
times with a plain C{Execute()} under a timer, and writes a JSON answer to stdout: per
script the count, the times in seconds, the final state and the result stack (bottom
first) in the plain form of bench_vm.py's L{plain} (so the two engines can be compared).

Importing neo makes C{~/.neopython}: the caller points HOME at the cache. It must stay
Python 3.7 code: no walrus, no runtime use of builtin generics.
"""

from __future__ import annotations

import binascii
import json
import logging
import sys
import time

from neo.Core.Cryptography.Crypto import Crypto
from neo.VM import InteropService
from neo.VM.ExecutionEngine import ExecutionEngine
from neo.VM.VMState import VMStateStr


class Container:
    """
    The script container CHECKMULTISIG asks for the message: neo-python wants it in hex.
    """

    def __init__(self, message: bytes) -> None:
        self.message = message

    def GetMessage(self) -> str:
        return binascii.hexlify(self.message).decode("ascii")


def plain(item: object) -> object:
    """
    A stack item as JSON: Integer/Boolean/ByteArray by their bytes, collections by their items.
    """
    if isinstance(item, InteropService.Map):
        pairs = [[plain(k), plain(v)] for k, v in item.GetMap().items()]
        return {"type": "Map", "value": pairs}
    if isinstance(item, InteropService.Array):  # Struct included
        return {"type": type(item).__name__, "value": [plain(i) for i in item.GetArray()]}
    if isinstance(item, InteropService.Boolean):
        return {"type": "Boolean", "value": bool(item.GetBoolean())}
    if isinstance(item, InteropService.Integer):
        return {"type": "Integer", "value": str(item.GetBigInteger())}
    if isinstance(item, InteropService.ByteArray):
        return {"type": "ByteArray", "value": binascii.hexlify(item.GetByteArray()).decode()}
    return {"type": type(item).__name__, "value": None}


def engine(script: bytes, container: Container) -> ExecutionEngine:
    made = ExecutionEngine(crypto=Crypto.Default(), service=InteropService.InteropService(),
                           container=container, table=None, exit_on_error=True)
    made.LoadScript(script)
    return made


def measure(script: bytes, container: Container, runs: int) -> dict[str, object]:
    counted = engine(script, container)
    counted.Execute()
    times = []
    for _ in range(runs):
        timed = engine(script, container)
        started = time.perf_counter()
        timed.Execute()
        times.append(time.perf_counter() - started)
    return {"instructions": counted.ops_processed, "times": times,
            "state": VMStateStr(counted.State),
            "stack": [plain(i) for i in counted.ResultStack.Items]}


def main() -> int:
    logging.disable(logging.CRITICAL)  # neo-python logs every FAULT it reports
    request = json.load(sys.stdin)
    container = Container(binascii.unhexlify(request["message"]))
    answer = {}
    for name, script in request["scripts"].items():
        answer[name] = measure(binascii.unhexlify(script), container, int(request["runs"]))
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
