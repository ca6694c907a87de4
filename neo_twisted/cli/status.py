# -*- test-case-name: tests.integration.test_cli_status -*-
"""
C{neonode status}: a short summary of a running node, read over its JSON-RPC.

One call to C{getnodestate} (ours) gives heights, sync state, peers and pool; a
validator's round comes from C{getconsensusstate}. A node without C{getnodestate}
(a reference node) is summarised from the standard methods instead, with what
they cannot tell (headers, peer heights) left out.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from neo_twisted.cli.rpcclient import RpcClient
from neo_twisted.node.progress import format_eta

if TYPE_CHECKING:
    from neo_twisted.cli.errors import Subcommands

DEFAULT_RPC = "http://127.0.0.1:10332/"
#: Seconds to wait for each answer.
TIMEOUT = 10.0


def _standard_state(rpc: RpcClient) -> dict[str, Any]:
    """
    What the reference's methods tell of a node.
    """
    count = rpc.call_optional("getblockcount")
    peers = rpc.call_optional("getpeers") or {}
    version = rpc.call_optional("getversion") or {}
    pool = rpc.call_optional("getrawmempool") or []
    return {
        "useragent": version.get("useragent"),
        "blockheight": None if count is None else count - 1,
        "peers": [{"address": p.get("address"), "listenport": p.get("port")}
                  for p in peers.get("connected", [])],
        "mempool": {"verified": len(pool)},
    }


def _sync_line(state: dict[str, Any]) -> str:
    blocks, target = state.get("blockheight"), state.get("targetheight")
    if target is None or blocks is None:
        return "unknown"
    rate = state.get("blockspersecond") or 0.0
    if blocks >= target and not state.get("syncing"):
        return "in step with its peers"
    eta = format_eta((target - blocks) / rate if rate > 0 else None)
    return f"syncing: {target - blocks:,} blocks to go, {rate:,.1f} blocks/s, ETA {eta}"


def _peer_line(peer: dict[str, Any]) -> str:
    address = f"{peer.get('address')}:{peer.get('listenport') or peer.get('port')}"
    parts = [f"  {address:<22}"]
    if "direction" in peer:
        parts.append(f"{peer['direction']:<3}")
    if peer.get("height") is not None:
        parts.append(f"height {peer['height']:<8}")
    if peer.get("useragent"):
        parts.append(str(peer["useragent"]))
    return " ".join(parts).rstrip()


def render(url: str, state: dict[str, Any], consensus: dict[str, Any] | None) -> str:
    """
    The summary, one fact a line.
    """
    lines = [f"node       {state.get('useragent') or '?'} at {url}"]
    blocks, headers = state.get("blockheight"), state.get("headerheight")
    height = f"{blocks:,}" if blocks is not None else "?"
    if headers is not None:
        height += f" (headers {headers:,}, best known {state.get('targetheight', headers):,})"
    lines.append(f"blocks     {height}")
    lines.append(f"sync       {_sync_line(state)}")
    peers = state.get("peers", [])
    directions = [p.get("direction") for p in peers]
    split = (f" ({directions.count('out')} out, {directions.count('in')} in)"
             if all(directions) and peers else "")
    lines.append(f"peers      {len(peers)}{split}")
    lines.extend(_peer_line(peer) for peer in peers)
    pool = state.get("mempool", {})
    pool_line = f"{pool.get('verified', 0):,} verified"
    if "verifying" in pool:
        pool_line += f", {pool['verifying']:,} being verified, capacity {pool['capacity']:,}"
    lines.append(f"pool       {pool_line}")
    if consensus is not None and consensus.get("validator"):
        lines.append(
            f"consensus  validator index {consensus.get('index')}, block {consensus.get('height')} "
            f"view {consensus.get('view')}, primary {consensus.get('primary')}, "
            f"signatures {consensus.get('signatures')}/{consensus.get('needed')}, "
            f"{consensus.get('blocksmade', 0)} blocks made")
    return "\n".join(lines) + "\n"


def _status(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    rpc = RpcClient(args.rpc, args.timeout)
    state = rpc.call_optional("getnodestate")
    consensus = None
    if state is None:
        state = _standard_state(rpc)
    elif state.get("validator"):
        consensus = rpc.call_optional("getconsensusstate")
    if args.json:
        stdout.write(json.dumps({"node": state, "consensus": consensus}, indent=2) + "\n")
    else:
        stdout.write(render(args.rpc, state, consensus))
    return 0


def add_parser(commands: Subcommands) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "status", help="summarise a running node (heights, sync, peers, pool) from its RPC")
    parser.add_argument("--rpc", default=DEFAULT_RPC, metavar="URL",
                        help=f"the node's JSON-RPC address (default: {DEFAULT_RPC})")
    parser.add_argument("--timeout", default=TIMEOUT, type=float,
                        help="seconds to wait for each answer (default: 10)")
    parser.add_argument("--json", action="store_true", help="print the answers as JSON")
    parser.set_defaults(run=_status)
