#!/usr/bin/env python3
"""Writes the sample's dropped files that are binary: an LSASS minidump (the attacker's procdump
output, structurally valid header and module list, no real memory) and a staged 7-Zip archive header.
Synthetic, written by the exir team; reproducible: python3 samples/make-dropped-files.py"""
import os, struct, time, calendar

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exch01")

def minidump(created_utc, modules):
    header = b"MDMP" + struct.pack("<IIIII Q", 0xA793, 1, 32, 0, created_utc, 0)
    list_size = 4 + 108 * len(modules)
    directory = struct.pack("<III", 4, list_size, 44)
    strings_at = 44 + list_size
    entries, names = b"", b""
    for i, name in enumerate(modules):
        entry = bytearray(108)
        struct.pack_into("<Q", entry, 0, 0x7FF600000000 + i * 0x100000)
        struct.pack_into("<I", entry, 20, strings_at + len(names))
        entries += bytes(entry)
        text = name.encode("utf-16-le")
        names += struct.pack("<I", len(text)) + text
    return header + directory + struct.pack("<I", len(modules)) + entries + names + b"\0" * 512

def write(rel, data, mtime):
    path = os.path.join(ROOT, *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))

t_dump = calendar.timegm((2021, 3, 3, 6, 12, 40, 0, 0, 0))
write("root/lsass.dmp", minidump(t_dump, [r"C:\Windows\System32\lsass.exe", r"C:\Windows\System32\lsasrv.dll",
                                          r"C:\Windows\System32\wdigest.dll"]), t_dump)
t_arc = calendar.timegm((2021, 3, 3, 6, 30, 5, 0, 0, 0))
write("ProgramData/VSSAdmin/Logs/ex.7z", bytes([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4]) + b"\0" * 24 + b"synthetic staged archive", t_arc)
# A vendor archive on a clean path: must not be reported.
write("ProgramData/McAfee/Agent/cache/update.zip", b"PK\x03\x04" + b"\0" * 26 + b"vendor", t_arc)
print("wrote dropped files under", ROOT)
