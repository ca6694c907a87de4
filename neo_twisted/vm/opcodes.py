"""
NeoVM 2.x opcode bytes and the C# enum names the debugger and the vectors show.
"""

from __future__ import annotations

PUSH0 = 0x00
PUSHBYTES1 = 0x01
PUSHBYTES75 = 0x4B
PUSHDATA1 = 0x4C
PUSHDATA2 = 0x4D
PUSHDATA4 = 0x4E
PUSHM1 = 0x4F
PUSH1 = 0x51
PUSH16 = 0x60
NOP = 0x61
JMP = 0x62
JMPIF = 0x63
JMPIFNOT = 0x64
CALL = 0x65
RET = 0x66
APPCALL = 0x67
SYSCALL = 0x68
TAILCALL = 0x69
CHECKMULTISIG = 0xAE
CALL_I = 0xE0
CALL_E = 0xE1
CALL_ED = 0xE2
CALL_ET = 0xE3
CALL_EDT = 0xE4

_NAMED: dict[int, str] = {
    0x00: "PUSH0", 0x01: "PUSHBYTES1", 0x4B: "PUSHBYTES75", 0x4C: "PUSHDATA1",
    0x4D: "PUSHDATA2", 0x4E: "PUSHDATA4", 0x4F: "PUSHM1",
    0x61: "NOP", 0x62: "JMP", 0x63: "JMPIF", 0x64: "JMPIFNOT", 0x65: "CALL", 0x66: "RET",
    0x67: "APPCALL", 0x68: "SYSCALL", 0x69: "TAILCALL",
    0x6A: "DUPFROMALTSTACK", 0x6B: "TOALTSTACK", 0x6C: "FROMALTSTACK", 0x6D: "XDROP",
    0x72: "XSWAP", 0x73: "XTUCK", 0x74: "DEPTH", 0x75: "DROP", 0x76: "DUP", 0x77: "NIP",
    0x78: "OVER", 0x79: "PICK", 0x7A: "ROLL", 0x7B: "ROT", 0x7C: "SWAP", 0x7D: "TUCK",
    0x7E: "CAT", 0x7F: "SUBSTR", 0x80: "LEFT", 0x81: "RIGHT", 0x82: "SIZE",
    0x83: "INVERT", 0x84: "AND", 0x85: "OR", 0x86: "XOR", 0x87: "EQUAL",
    0x8B: "INC", 0x8C: "DEC", 0x8D: "SIGN", 0x8F: "NEGATE", 0x90: "ABS", 0x91: "NOT",
    0x92: "NZ", 0x93: "ADD", 0x94: "SUB", 0x95: "MUL", 0x96: "DIV", 0x97: "MOD",
    0x98: "SHL", 0x99: "SHR", 0x9A: "BOOLAND", 0x9B: "BOOLOR", 0x9C: "NUMEQUAL",
    0x9E: "NUMNOTEQUAL", 0x9F: "LT", 0xA0: "GT", 0xA1: "LTE", 0xA2: "GTE", 0xA3: "MIN",
    0xA4: "MAX", 0xA5: "WITHIN",
    0xA7: "SHA1", 0xA8: "SHA256", 0xA9: "HASH160", 0xAA: "HASH256", 0xAC: "CHECKSIG",
    0xAD: "VERIFY", 0xAE: "CHECKMULTISIG",
    0xC0: "ARRAYSIZE", 0xC1: "PACK", 0xC2: "UNPACK", 0xC3: "PICKITEM", 0xC4: "SETITEM",
    0xC5: "NEWARRAY", 0xC6: "NEWSTRUCT", 0xC7: "NEWMAP", 0xC8: "APPEND", 0xC9: "REVERSE",
    0xCA: "REMOVE", 0xCB: "HASKEY", 0xCC: "KEYS", 0xCD: "VALUES",
    0xE0: "CALL_I", 0xE1: "CALL_E", 0xE2: "CALL_ED", 0xE3: "CALL_ET", 0xE4: "CALL_EDT",
    0xF0: "THROW", 0xF1: "THROWIFNOT",
}
_NAMED.update({0x50 + n: f"PUSH{n}" for n in range(1, 17)})

#: Every byte's name as C#'s C{Enum.ToString()} gives it: undefined bytes (PUSHBYTES2-74
#: among them) show as decimal numbers.
OPCODE_NAMES: tuple[str, ...] = tuple(_NAMED.get(b, str(b)) for b in range(256))

#: The bytes that are defined opcodes (the others FAULT).
DEFINED: frozenset[int] = frozenset(
    set(_NAMED) | set(range(PUSHBYTES1, PUSHBYTES75 + 1)))

#: Opcode by name, for building scripts in tests and tools.
BY_NAME: dict[str, int] = {name: code for code, name in _NAMED.items()}
BY_NAME.update({"PUSHF": 0x00, "PUSHT": 0x51})
BY_NAME.update({f"PUSHBYTES{n}": n for n in range(1, 76)})
