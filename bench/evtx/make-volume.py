#!/usr/bin/env python3
"""Builds one large, valid EVTX file from the chunks of a corpus, for throughput measurements.

Chunks are self-contained (their own string and template tables), so healthy chunks copied from
many files after one file header make a valid log of any size: the shape of a busy Security.evtx.
Usage: make-volume.py CORPUS_DIR OUT_FILE SIZE_MB [SKIP_SUBSTRING...]
Files whose path contains a SKIP_SUBSTRING are left out (e.g. those libevtx cannot read, so that every
tool in the comparison parses the same records).
"""
import os
import struct
import sys
import zlib

HEADER, CHUNK = 0x1000, 0x10000


def healthy_chunks(corpus, skip):
    for root, _, files in sorted(os.walk(corpus)):
        for name in sorted(files):
            if not name.endswith(".evtx") or any(s in os.path.join(root, name) for s in skip):
                continue
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            for off in range(HEADER, len(data) - CHUNK + 1, CHUNK):
                c = data[off:off + CHUNK]
                if c[:8] != b"ElfChnk\0":
                    continue
                free = struct.unpack_from("<I", c, 48)[0]
                if not 0x200 <= free <= CHUNK:
                    continue
                if zlib.crc32(c[0x200:free]) != struct.unpack_from("<I", c, 52)[0]:
                    continue  # damaged chunks stay out: every tool must be able to read the volume
                yield c


def main():
    corpus, out, size_mb, skip = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    chunks = list(healthy_chunks(corpus, skip))
    count = max(1, (size_mb * 1024 * 1024 - HEADER) // CHUNK)
    count = min(count, 0xFFFF)
    header = bytearray(HEADER)
    header[0:8] = b"ElfFile\0"
    struct.pack_into("<QQQIHHH", header, 8, 0, count - 1, 1, 128, 1, 3, HEADER)
    struct.pack_into("<H", header, 42, count)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    with open(out, "wb") as f:
        f.write(header)
        for i in range(count):
            f.write(chunks[i % len(chunks)])
    print(f"{out}: {count} chunks from {len(chunks)} healthy corpus chunks, {os.path.getsize(out) >> 20} MiB")


if __name__ == "__main__":
    main()
