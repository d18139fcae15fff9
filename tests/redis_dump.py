"""Everything Redis holds under a key prefix, as bytes a test can search for words.

`DUMP` is what RDB files, AOF rewrites and replicas get: the serialized value with deleted
stream entries still inside their listpack nodes. Redis LZF-compresses strings in it, so a
plain search could miss a word that is there; every LZF string found is added decompressed.
"""

from __future__ import annotations

from typing import Any

LZF_MARKER = 0xC3  # RDB_ENCVAL << 6 | RDB_ENC_LZF


def lzf_decompress(data: bytes, size: int) -> bytes | None:
    """liblzf's format; None when `data` is not a valid compressed block of `size` bytes."""
    out = bytearray()
    i = 0
    while i < len(data):
        ctrl = data[i]
        i += 1
        if ctrl < 32:  # a literal run of ctrl + 1 bytes
            run = data[i : i + ctrl + 1]
            if len(run) != ctrl + 1:
                return None
            out += run
            i += ctrl + 1
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= len(data):
                return None
            length += data[i]
            i += 1
        if i >= len(data):
            return None
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        if ref < 0:
            return None
        for _ in range(length + 2):  # may overlap what it is writing
            out.append(out[ref])
            ref += 1
        if len(out) > size:
            return None
    return bytes(out) if len(out) == size else None


def _rdb_length(data: bytes, i: int) -> tuple[int, int] | None:
    if i >= len(data):
        return None
    first = data[i]
    kind = first >> 6
    if kind == 0:
        return first & 0x3F, i + 1
    if kind == 1 and i + 1 < len(data):
        return ((first & 0x3F) << 8) | data[i + 1], i + 2
    if first == 0x80 and i + 4 < len(data):
        return int.from_bytes(data[i + 1 : i + 5], "big"), i + 5
    if first == 0x81 and i + 8 < len(data):
        return int.from_bytes(data[i + 1 : i + 9], "big"), i + 9
    return None


def expand_dump(payload: bytes) -> bytes:
    """The DUMP payload followed by every LZF string in it, decompressed."""
    parts = [payload]
    for i, byte in enumerate(payload):
        if byte != LZF_MARKER:
            continue
        compressed = _rdb_length(payload, i + 1)
        if compressed is None:
            continue
        original = _rdb_length(payload, compressed[1])
        if original is None:
            continue
        start = original[1]
        block = payload[start : start + compressed[0]]
        if len(block) == compressed[0]:
            plain = lzf_decompress(block, original[0])
            if plain is not None:
                parts.append(plain)
    return b"\n".join(parts)


async def everything_under(redis: Any, prefix: str) -> bytes:
    """Key names, DUMPs (expanded) and stream entries (XRANGE) of every key of the prefix.

    `redis` must be a client with decode_responses=False."""
    parts: list[bytes] = []
    async for key in redis.scan_iter(match=f"{prefix}*".encode(), count=500):
        parts.append(key)
        dumped = await redis.dump(key)
        if dumped is not None:
            parts.append(expand_dump(dumped))
        if await redis.type(key) == b"stream":
            for entry_id, fields in await redis.xrange(key):
                parts.append(entry_id)
                for name, value in fields.items():
                    parts += [name, value]
    return b"\n".join(parts)
