# -*- test-case-name: tests.unit.test_vm_engine -*-
"""
Array, Struct and Map opcodes (docs/neo2-vm.md §3, §6): reference semantics, with
Structs cloned where they are stored.
"""

from __future__ import annotations

from neo_twisted.vm.engine import (
    HANDLERS,
    INT_MAX,
    MAX_ARRAY_SIZE,
    ExecutionContext,
    ExecutionEngine,
    Handler,
)
from neo_twisted.vm.items import (
    Array,
    Boolean,
    Integer,
    Map,
    MapKey,
    StackItem,
    Struct,
    VMError,
    is_collection,
    to_int32,
)
from neo_twisted.vm.ops_basic import pop_int32
from neo_twisted.vm.script import Instruction


def _stored(item: StackItem) -> StackItem:
    return item.clone() if isinstance(item, Struct) else item


def _pop_key(c: ExecutionContext) -> StackItem:
    key = c.evaluation_stack.pop()
    if is_collection(key):
        raise VMError("a collection cannot be a key")
    return key


def _index(key: StackItem, items: list[StackItem]) -> int:
    index = to_int32(key.get_int())
    if not 0 <= index < len(items):
        raise VMError("index out of range")
    return index


def _array_size(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    x = s.pop()
    if isinstance(x, Array):
        s.append(Integer(len(x.items)))
        e.check_stack_size(False, 0)
    elif isinstance(x, Map):
        s.append(Integer(len(x.entries)))
        e.check_stack_size(False, 0)
    else:
        s.append(Integer(len(x.get_bytes())))
        e.check_stack_size(True, 0)


def _pack(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    size = pop_int32(c)
    if size < 0 or size > len(s) or size > MAX_ARRAY_SIZE:
        raise VMError("bad PACK size")
    items = [s.pop() for _ in range(size)]
    s.append(Array(items))


def _unpack(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    x = s.pop()
    if not isinstance(x, Array):
        raise VMError("UNPACK needs an array")
    s.extend(reversed(x.items))
    s.append(Integer(len(x.items)))
    e.grow(False, len(x.items))


def _pick_item(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    key = _pop_key(c)
    x = s.pop()
    if isinstance(x, Array):
        s.append(x.items[_index(key, x.items)])
    elif isinstance(x, Map):
        value = x.entries.get(MapKey(key))
        if value is None:
            raise VMError("key not in map")
        s.append(value)
    else:
        raise VMError("PICKITEM needs an array or a map")
    e.check_stack_size(False, -1)


def _set_item(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    value = _stored(s.pop())
    key = _pop_key(c)
    x = s.pop()
    if isinstance(x, Array):
        x.items[_index(key, x.items)] = value
    elif isinstance(x, Map):
        map_key = MapKey(key)
        if map_key not in x.entries and len(x.entries) + 1 > MAX_ARRAY_SIZE:
            raise VMError("map too large")
        x.entries[map_key] = value
    else:
        raise VMError("SETITEM needs an array or a map")
    e.grow(False, INT_MAX)


def _new_array(struct: bool) -> Handler:
    kind = Struct if struct else Array

    def handler(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
        s = c.evaluation_stack
        x = s.pop()
        if isinstance(x, Array):
            s.append(x if type(x) is kind else kind(list(x.items)))
            return
        n = to_int32(x.get_int())
        if not 0 <= n <= MAX_ARRAY_SIZE:
            raise VMError("bad array size")
        s.append(kind([Boolean(False) for _ in range(n)]))
        e.grow(True, n)
    return handler


def _new_map(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    c.evaluation_stack.append(Map())
    e.grow(True, 1)


def _append(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    item = _stored(s.pop())
    x = s.pop()
    if not isinstance(x, Array):
        raise VMError("APPEND needs an array")
    if len(x.items) + 1 > MAX_ARRAY_SIZE:
        raise VMError("array too large")
    x.items.append(item)
    e.grow(False, INT_MAX)


def _reverse(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    x = c.evaluation_stack.pop()
    if not isinstance(x, Array):
        raise VMError("REVERSE needs an array")
    x.items.reverse()
    e.check_stack_size(False, -1)


def _remove(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    key = _pop_key(c)
    x = c.evaluation_stack.pop()
    if isinstance(x, Array):
        del x.items[_index(key, x.items)]
    elif isinstance(x, Map):
        x.entries.pop(MapKey(key), None)
    else:
        raise VMError("REMOVE needs an array or a map")
    e.check_stack_size(False, -2)


def _has_key(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    key = _pop_key(c)
    x = s.pop()
    if isinstance(x, Array):
        index = to_int32(key.get_int())
        if index < 0:
            raise VMError("negative index")
        s.append(Boolean(index < len(x.items)))
    elif isinstance(x, Map):
        s.append(Boolean(MapKey(key) in x.entries))
    else:
        raise VMError("HASKEY needs an array or a map")
    e.check_stack_size(False, -1)


def _keys(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    x = s.pop()
    if not isinstance(x, Map):
        raise VMError("KEYS needs a map")
    s.append(Array([k.item for k in x.entries]))
    e.grow(False, len(x.entries))


def _values(e: ExecutionEngine, c: ExecutionContext, i: Instruction) -> None:
    s = c.evaluation_stack
    x = s.pop()
    if isinstance(x, Array):
        values = x.items
    elif isinstance(x, Map):
        values = list(x.entries.values())
    else:
        raise VMError("VALUES needs an array or a map")
    s.append(Array([_stored(v) for v in values]))
    e.grow(False, INT_MAX)


def register() -> None:
    """
    Fill the dispatch table with this module's opcodes.
    """
    HANDLERS[0xC0] = _array_size
    HANDLERS[0xC1] = _pack
    HANDLERS[0xC2] = _unpack
    HANDLERS[0xC3] = _pick_item
    HANDLERS[0xC4] = _set_item
    HANDLERS[0xC5] = _new_array(False)
    HANDLERS[0xC6] = _new_array(True)
    HANDLERS[0xC7] = _new_map
    HANDLERS[0xC8] = _append
    HANDLERS[0xC9] = _reverse
    HANDLERS[0xCA] = _remove
    HANDLERS[0xCB] = _has_key
    HANDLERS[0xCC] = _keys
    HANDLERS[0xCD] = _values
