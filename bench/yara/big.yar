// bench/yara/big.sh: rules that must fire on the planted markers of its big files, wherever they lie.
rule big_marker { strings: $m = "EXIR_BENCH_PLANTED_MARKER" condition: $m }
rule big_marker_regex { strings: $r = /EXIR_BENCH_[A-Z]+_MARKER/ condition: $r }
rule big_marker_hex { strings: $h = { 45 58 49 52 5F 42 [2-20] 4D 41 52 4B 45 52 } condition: $h }
rule big_tail { condition: filesize > 256MB and uint32(filesize - 4) == 0x52495845 }
rule big_elf_headers { strings: $e = { 7F 45 4C 46 02 01 01 } condition: #e > 3 }
