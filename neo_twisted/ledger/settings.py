# -*- test-case-name: tests.unit.test_ledger_settings -*-
"""
Protocol configuration in neo-cli's C{protocol.json} format.

The file holds one object, C{ProtocolConfiguration}, with the network's magic,
address version, standby validators, seed list and fee table. Every problem is
reported as one L{ConfigError} naming the file, the key and what is wrong, so an
operator never has to read a traceback to fix a typo; a key nobody reads is a
warning (L{UnknownKey}), since a misspelt C{SeedList} would otherwise just leave the
node without seeds.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

import attrs
from twisted.logger import Logger

from neo_twisted.wire.ecpoint import ECPoint
from neo_twisted.wire.fixed8 import parse_fixed8
from neo_twisted.wire.uint import UInt256

#: C{Blockchain.MaxValidators}: a multisig contract holds at most this many keys.
MAX_VALIDATORS = 1024

#: The C{ProtocolConfiguration} keys this node reads: the reference's, then ours.
PROTOCOL_KEYS = frozenset({
    "Magic", "AddressVersion", "SecondsPerBlock", "LowPriorityThreshold", "StandbyValidators",
    "SeedList", "SystemFee", "AssumeValid", "ValidatorCountFormula"})
#: Keys of neo-cli 2.11 and 2.12 (C{ProtocolSettings.cs}) that are read and ignored on
#: purpose: state roots and NeoVM gas, which this node has not.
IGNORED_PROTOCOL_KEYS = frozenset({"StateRootEnableIndex", "FreeGasChangeHeight",
                                   "MinimumNetworkFee"})
#: The sections of a file: the network, our pool policy, neo-cli's C{config.json}
#: (read by C{twistd neonode}, see L{neo_twisted.node.appconfig}).
SECTIONS = frozenset({"ProtocolConfiguration", "Policy", "ApplicationConfiguration"})

_log = Logger()


class ConfigError(Exception):
    """
    A configuration file that cannot be used, with the reason.
    """


@attrs.frozen
class AssumeValid:
    """
    A block the operator trusts: header witnesses of it and its ancestors are not
    checked while syncing (see L{neo_twisted.ledger.chain.Ledger.add_headers}).

    The height is part of the setting so that a peer offering a chain without the
    block is found out at that height, not never.
    """

    height: int
    hash: UInt256

    def __str__(self) -> str:
        return f"{self.height}:{self.hash}"


def parse_assume_valid(text: str) -> AssumeValid:
    """
    C{HEIGHT:HASH} (the option's form), as an explorer shows a block.

    @raise ValueError: with what is wrong.
    """
    height, sep, hash_ = text.strip().partition(":")
    if not sep or not height.isascii() or not height.isdigit():
        raise ValueError(f"expected HEIGHT:HASH (as 4000000:0x1f4d...), got {text!r}")
    if not 0 < int(height) < 2**32:
        raise ValueError(f"height {height} is outside 1..{2**32 - 1}")
    try:
        return AssumeValid(int(height), UInt256.from_string(hash_))
    except ValueError as e:
        raise ValueError(f"{hash_!r} is not a block hash: {e}") from None


@attrs.frozen
class PolicySettings:
    """
    What a node takes into its pool and its blocks: the reference's SimplePolicy
    plugin (neo-plugins C{master-2.x}, which every neo-cli 2.x ran), not consensus
    rules. Raw Fixed8 for GAS amounts.

    @ivar max_transactions_per_block: a block's transactions, the MinerTransaction
        included.
    @ivar max_free_transactions_per_block: of those, at most this many low-priority
        ones (network fee below the protocol's C{LowPriorityThreshold}).
    @ivar max_free_transaction_size: a larger low-priority transaction is refused.
    @ivar fee_per_extra_byte: each byte past C{max_free_transaction_size} needs this
        much network fee.
    @ivar max_block_size: ours: the bytes a proposed block's transactions may take, so
        that every block fits a P2P frame (32 MiB) with room to spare.
    @ivar high_priority_types: transaction types exempt from the size rules and never
        counted as low priority (the reference's C{HighPriorityTxType}).
    """

    max_transactions_per_block: int = 200
    max_free_transactions_per_block: int = 20
    max_free_transaction_size: int = 1024
    fee_per_extra_byte: int = 1000
    max_block_size: int = 2 * 1024 * 1024
    high_priority_types: frozenset[str] = frozenset({"ClaimTransaction"})


#: The largest C{MaxBlockSize} accepted: a block must fit the P2P frame with its header.
MAX_POLICY_BLOCK_SIZE = 16 * 1024 * 1024


@attrs.frozen
class ProtocolSettings:
    """
    C{ProtocolConfiguration}: what makes one NEO network differ from another.

    @ivar system_fees: raw Fixed8 system fee per transaction type name.
    @ivar low_priority_threshold: raw Fixed8.
    """

    magic: int
    address_version: int
    standby_validators: tuple[ECPoint, ...]
    seed_list: tuple[str, ...]
    seconds_per_block: int = 15
    low_priority_threshold: int = 100_000
    system_fees: Mapping[str, int] = attrs.field(factory=dict)
    #: Ours, not the reference's: see L{AssumeValid}.
    assume_valid: AssumeValid | None = None
    #: Ours: the C{Policy} section beside C{ProtocolConfiguration}.
    policy: PolicySettings = PolicySettings()
    #: Ours: how this node counts validators (C{ValidatorCountFormula}): 2.11's
    #: formula (C{"2.11"}, true) or the one of 2.6 to 2.10 (C{"2.6"}); blocks made by
    #: either are accepted (neo2-validators.md section 5.2).
    validator_count_plus_one: bool = True


_TX_TYPES = frozenset({
    "MinerTransaction", "IssueTransaction", "ClaimTransaction", "EnrollmentTransaction",
    "RegisterTransaction", "ContractTransaction", "StateTransaction", "PublishTransaction",
    "InvocationTransaction"})


def _fail(source: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {problem}")


def _uint(config: Mapping[str, object], key: str, source: str, bits: int,
          default: int | None = None) -> int:
    if key not in config:
        if default is None:
            raise _fail(source, key, "missing")
        return default
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
        raise _fail(source, key, f"must be an integer from 0 to {2**bits - 1}, got {value!r}")
    return value


def _amount(value: object, source: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise _fail(source, key, f"must be a decimal amount, got {value!r}")
    try:
        raw = parse_fixed8(str(value))
    except ValueError as e:
        raise _fail(source, key, str(e)) from None
    if raw < 0:
        raise _fail(source, key, f"must not be negative, got {value!r}")
    return raw


def _validators(config: Mapping[str, object], source: str) -> tuple[ECPoint, ...]:
    key = "StandbyValidators"
    value = config.get(key)
    if not isinstance(value, list) or not value:
        raise _fail(source, key, "must be a non-empty list of public keys (hex)")
    points = []
    for i, item in enumerate(value):
        try:
            point = ECPoint.from_bytes(bytes.fromhex(item))
        except (TypeError, ValueError):
            raise _fail(source, f"{key}[{i}]", f"not a P-256 public key: {item!r}") from None
        if point.is_infinity:
            raise _fail(source, f"{key}[{i}]", "the point at infinity is not a key")
        points.append(point)
    if len(set(points)) != len(points):
        raise _fail(source, key, "lists a key twice")
    if len(points) > MAX_VALIDATORS:
        raise _fail(source, key, f"holds {len(points)} keys, at most {MAX_VALIDATORS}")
    return tuple(points)


def _seeds(config: Mapping[str, object], source: str) -> tuple[str, ...]:
    key = "SeedList"
    value = config.get(key, [])
    if not isinstance(value, list):
        raise _fail(source, key, "must be a list of \"host:port\" strings")
    for i, seed in enumerate(value):
        host, _, port = seed.rpartition(":") if isinstance(seed, str) else ("", "", "")
        if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise _fail(source, f"{key}[{i}]", f"must be \"host:port\", got {seed!r}")
    return tuple(value)


def _fees(config: Mapping[str, object], source: str) -> dict[str, int]:
    key = "SystemFee"
    value = config.get(key, {})
    if not isinstance(value, dict):
        raise _fail(source, key, "must be an object of transaction type to GAS")
    fees = {}
    for name, amount in value.items():
        if name not in _TX_TYPES:
            raise _fail(source, f"{key}.{name}", "not a transaction type")
        fees[name] = _amount(amount, source, f"{key}.{name}")
    return fees


def _assume_valid(config: Mapping[str, object], source: str) -> AssumeValid | None:
    key = "AssumeValid"
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"Height", "Hash"}:
        raise _fail(source, key, "must be an object with Height and Hash, or null")
    height = _uint(value, "Height", source, 32)
    hash_ = value["Hash"]
    if not isinstance(hash_, str):
        raise _fail(source, f"{key}.Hash", f"must be a block hash string, got {hash_!r}")
    try:
        return parse_assume_valid(f"{height}:{hash_}")
    except ValueError as e:
        raise _fail(source, key, str(e)) from None


#: C{ValidatorCountFormula}: the version whose validator count this node computes.
COUNT_FORMULAS = {"2.6": False, "2.11": True}


def _count_formula(config: Mapping[str, object], source: str) -> bool:
    key = "ValidatorCountFormula"
    value = config.get(key, "2.11")
    if not isinstance(value, str) or value not in COUNT_FORMULAS:
        raise _fail(source, key, f"must be \"2.6\" (2.6 to 2.10) or \"2.11\" (2.11 and "
                                 f"later), got {value!r}")
    return COUNT_FORMULAS[value]


def _bounded(config: Mapping[str, object], key: str, source: str, low: int, high: int,
             default: int) -> int:
    value = _uint(config, key, source, 32, default)
    if not low <= value <= high:
        raise _fail(source, key, f"must be from {low} to {high}, got {value}")
    return value


def _policy(document: Mapping[str, object], source: str) -> PolicySettings:
    """
    The C{Policy} section (keys as the reference plugin's C{config.json}); every key
    may be left out for the reference's default.
    """
    key = "Policy"
    config = document.get(key, {})
    if not isinstance(config, dict):
        raise _fail(source, key, "must be an object")
    known = {"MaxTransactionsPerBlock", "MaxFreeTransactionsPerBlock", "MaxFreeTransactionSize",
             "FeePerExtraByte", "MaxBlockSize", "HighPriorityTxType"}
    for name in config:
        if name not in known:
            raise _fail(source, f"{key}.{name}", f"unknown (known: {', '.join(sorted(known))})")
    default = PolicySettings()
    most = _bounded(config, "MaxTransactionsPerBlock", f"{source}: {key}", 1, 65535,
                    default.max_transactions_per_block)
    free = _bounded(config, "MaxFreeTransactionsPerBlock", f"{source}: {key}", 0, 65535,
                    default.max_free_transactions_per_block)
    size = _bounded(config, "MaxFreeTransactionSize", f"{source}: {key}", 0, 102400,
                    default.max_free_transaction_size)
    block = _bounded(config, "MaxBlockSize", f"{source}: {key}", 1024, MAX_POLICY_BLOCK_SIZE,
                     default.max_block_size)
    fee = (default.fee_per_extra_byte if "FeePerExtraByte" not in config
           else _amount(config["FeePerExtraByte"], source, f"{key}.FeePerExtraByte"))
    types = config.get("HighPriorityTxType", sorted(default.high_priority_types))
    if not isinstance(types, list) or any(t not in _TX_TYPES for t in types):
        raise _fail(source, f"{key}.HighPriorityTxType",
                    f"must be a list of transaction type names, got {types!r}")
    return PolicySettings(max_transactions_per_block=most, max_free_transactions_per_block=free,
                          max_free_transaction_size=size, fee_per_extra_byte=fee,
                          max_block_size=block, high_priority_types=frozenset(types))


@attrs.frozen
class UnknownKey:
    """
    A key of a protocol file that nothing reads (ignored, as the reference ignores it).

    @ivar key: dotted, from the top (C{ProtocolConfiguration.SeedLists}).
    @ivar suggestion: the known key it most resembles, if any.
    """

    source: str
    key: str
    suggestion: str | None = None

    def __str__(self) -> str:
        hint = f" (did you mean {self.suggestion}?)" if self.suggestion else ""
        return f"{self.source}: {self.key}: unknown key, ignored{hint}"


#: Told of each unknown key (the default logs a warning; the command line prints it).
WarnUnknown = Callable[[UnknownKey], None]


def log_unknown_key(unknown: UnknownKey) -> None:
    _log.warn("{warning}", warning=str(unknown), source=unknown.source, key=unknown.key)


def _resembling(key: str, known: frozenset[str]) -> str | None:
    """
    The known key C{key} is most likely a misspelling of (.NET reads keys in any case).
    """
    by_case = {name.lower(): name for name in known}
    if key.lower() in by_case:
        return by_case[key.lower()]
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def unknown_keys(document: Mapping[str, object], source: str) -> list[UnknownKey]:
    """
    The keys of C{document} (top level and C{ProtocolConfiguration}) that nothing reads.
    """
    found = [UnknownKey(source, key, _resembling(key, SECTIONS))
             for key in document if key not in SECTIONS]
    config = document.get("ProtocolConfiguration")
    if isinstance(config, dict):
        found += [UnknownKey(source, f"ProtocolConfiguration.{key}",
                             _resembling(key, PROTOCOL_KEYS | IGNORED_PROTOCOL_KEYS))
                  for key in config if key not in PROTOCOL_KEYS | IGNORED_PROTOCOL_KEYS]
    return found


def settings_from_json(document: object, source: str = "protocol.json",
                       warn: WarnUnknown = log_unknown_key) -> ProtocolSettings:
    """
    Build settings from a parsed C{protocol.json} document; C{warn} is told of each
    key nothing reads.
    """
    if not isinstance(document, dict) or not isinstance(
            document.get("ProtocolConfiguration"), dict):
        if isinstance(document, dict) and "ApplicationConfiguration" in document:
            raise _fail(source, "ProtocolConfiguration",
                        "missing: this is neo-cli's config.json (ApplicationConfiguration), "
                        "which names no network; give the network's protocol file (or "
                        "--network) instead")
        raise _fail(source, "ProtocolConfiguration", "missing (the file holds one such object)")
    config = document["ProtocolConfiguration"]
    for unknown in unknown_keys(document, source):
        warn(unknown)
    seconds = _uint(config, "SecondsPerBlock", source, 32, default=15)
    if seconds == 0:
        raise _fail(source, "SecondsPerBlock", "must be at least 1")
    threshold = _amount(config.get("LowPriorityThreshold", "0.001"), source,
                        "LowPriorityThreshold")
    return ProtocolSettings(
        magic=_uint(config, "Magic", source, 32),
        address_version=_uint(config, "AddressVersion", source, 8),
        standby_validators=_validators(config, source),
        seed_list=_seeds(config, source),
        seconds_per_block=seconds,
        low_priority_threshold=threshold,
        system_fees=_fees(config, source),
        assume_valid=_assume_valid(config, source),
        policy=_policy(document, source),
        validator_count_plus_one=_count_formula(config, source),
    )


def load_protocol(path: str | Path, warn: WarnUnknown = log_unknown_key) -> ProtocolSettings:
    """
    Read and check a C{protocol.json} file.
    """
    return settings_from_json(read_json(path), str(path), warn)


def read_json(path: str | Path) -> object:
    """
    The parsed JSON document of a configuration file (a byte-order mark allowed).
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # .NET accepts a byte-order mark
    except OSError as e:
        raise ConfigError(f"{source}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text") from None
    try:
        document: object = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{source}: not valid JSON: {e.msg} at line {e.lineno} "
                          f"column {e.colno}") from None
    except (ValueError, RecursionError) as e:  # a number past the digit limit, deep nesting
        raise ConfigError(f"{source}: not valid JSON: {e}") from None
    return document
