"""
Known mainnet values several test modules share: magics, the genesis block, the standby
validators' keys and a real transaction.
"""

from __future__ import annotations

from pathlib import Path

#: The network magics: the bytes "Ant" 00 and "Antt" read as little-endian uint32s.
MAINNET_MAGIC = 0x00746E41  # 7630401
TESTNET_MAGIC = 0x74746E41

#: The mainnet genesis block as hex (examples/mainnet-genesis.hex), and its hash.
GENESIS_HEX = (Path(__file__).resolve().parents[2] / "examples" / "mainnet-genesis.hex"
               ).read_text().strip()
GENESIS_HASH = "0xd42561e3d30e15be6400b6df2f328e02d2bf6354c41dce433bc57687c82144bf"

#: Mainnet standby validators, in config order (neo2-ledger.md section 5.3).
MAINNET_VALIDATORS = [
    "03b209fd4f53a7170ea4444e0cb0a6bb6a53c2bd016926989cf85f9b0fba17a70c",
    "02df48f60e8f3e01c48ff40b9b7f1310d7a8b2a193188befe1c2e3df740e895093",
    "03b8d9d5771d8f513aa0869b9cc8d50986403b78c6da36890638c3d46a5adce04a",
    "02ca0e27697b9c248f6f16e085fd0061e26f44da85b58ee835c110caa5ec3ba554",
    "024c7b7fb6c310fccf1ba33b082519d82964ea93868d676662d4a59ad548df0e7d",
    "02aaec38470f6aad0042c6e877cfd8087d2676b0f516fddd362801b9bd3936399e",
    "02486fd15702c4490a26703112a5cc1d0923fd697a33406bd5a1c00e0013b09a70",
]

#: The 202-byte mainnet ContractTransaction 0xbdf6cc3b...36da79 (transactions.json).
MAINNET_CONTRACT_TX = bytes.fromhex(
    "80000001888da99f8f497fd65c4325786a09511159c279af4e7eb532e9edd628c87cc1ee0000019b7cffda"
    "a674beae0f930ebe6085af9093e5fe56b34a5c220ccdcf6efc336fc50082167010000000a8666b4830229d"
    "6a1a9b80f6088059191c122d2b0141409e79e132290c82916a88f1a3db5cf9f3248b780cfece938ab0f081"
    "2d0e188f3a489c7d1a23def86bd69d863ae67de753b2c2392e9497eadc8eb9fc43aa52c645232103e2f6a3"
    "34e05002624cf616f01a62cff2844c34a3b08ca16048c259097e315078ac")
MAINNET_CONTRACT_TXID = "0xbdf6cc3b9af12a7565bda80933a75ee8cef1bc771d0d58effc08e4c8b436da79"
