#!/usr/bin/env python3
"""Prints, base64, the smallest PE file whose version resource says an Exchange build: a stand-in for
Bin/ExSetup.exe in rule tests (rules/files/file-hunt.yaml). Usage: make-exsetup.py 15.2.1544.4"""
import base64, struct, sys

def exsetup(major, minor, build, rev):
    vi = bytearray(6) + "VS_VERSION_INFO\0".encode("utf-16-le")
    while len(vi) % 4:
        vi += b"\0"
    ffi = bytearray(52)
    struct.pack_into("<I", ffi, 0, 0xFEEF04BD)
    struct.pack_into("<I", ffi, 4, 0x10000)
    for at in (8, 16):  # file version, product version
        struct.pack_into("<I", ffi, at, major << 16 | minor)
        struct.pack_into("<I", ffi, at + 4, build << 16 | rev)
    info = vi + ffi
    struct.pack_into("<H", info, 0, len(info))
    struct.pack_into("<H", info, 2, 52)
    # .rsrc: type 16 (RT_VERSION) -> name 1 -> language 0x409 -> data entry -> VS_VERSIONINFO
    rsrc = bytearray(0x58 + len(info))
    for at, ident, target in ((0, 16, 0x80000018), (0x18, 1, 0x80000030), (0x30, 0x409, 0x48)):
        struct.pack_into("<H", rsrc, at + 14, 1)
        struct.pack_into("<I", rsrc, at + 16, ident)
        struct.pack_into("<I", rsrc, at + 20, target)
    struct.pack_into("<I", rsrc, 0x48, 0x1000 + 0x58)
    struct.pack_into("<I", rsrc, 0x4C, len(info))
    rsrc[0x58:] = info
    raw = (len(rsrc) + 0x1FF) & ~0x1FF
    pe = bytearray(0x200 + raw)
    pe[0:2] = b"MZ"
    struct.pack_into("<I", pe, 0x3C, 0x40)
    pe[0x40:0x42] = b"PE"
    coff, opt = 0x44, 0x44 + 20
    sec = opt + 240
    struct.pack_into("<HH", pe, coff, 0x8664, 1)
    struct.pack_into("<HH", pe, coff + 16, 240, 0x22)
    struct.pack_into("<H", pe, opt, 0x20B)
    struct.pack_into("<I", pe, opt + 108, 16)
    struct.pack_into("<II", pe, opt + 112 + 16, 0x1000, len(rsrc))
    pe[sec:sec + 5] = b".rsrc"
    struct.pack_into("<IIII", pe, sec + 8, len(rsrc), 0x1000, raw, 0x200)
    pe[0x200:0x200 + len(rsrc)] = rsrc
    return bytes(pe)

if __name__ == "__main__":
    parts = [int(p) for p in (sys.argv[1] if len(sys.argv) > 1 else "15.2.1544.4").split(".")]
    print(base64.b64encode(exsetup(*parts)).decode())
