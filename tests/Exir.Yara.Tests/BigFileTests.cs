using System.Diagnostics;
using System.Text;
using Exir.Cli.Commands;
using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

/// <summary>
/// Files past the old 256 MiB read cap and past the engine's regex windows: sparse files (holes cost no disk) with
/// strings planted far in, scanned through the memory map, checked for offsets, filesize, uint32 near the end, and
/// against the installed yara.
/// </summary>
[Trait("Tier", "slow")]
public class BigFileTests
{
    private const string Yara = "/usr/bin/yara";
    private static readonly byte[] Marker = "EXIR_BIG_FILE_MARKER_7f3a"u8.ToArray();

    /// <summary>A sparse file of <paramref name="size"/> bytes with each (offset, bytes) written in place.</summary>
    private static string Sparse(string dir, string name, long size, params (long Offset, byte[] Bytes)[] planted)
    {
        var path = Path.Combine(dir, name);
        using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        fs.SetLength(size);
        foreach (var (offset, bytes) in planted) { fs.Position = offset; fs.Write(bytes); }
        return path;
    }

    private static YaraRules Compile(string rules)
    {
        var c = new YaraCompiler();
        c.AddSource(rules, "test");
        Assert.True(c.Diagnostics.Count == 0, string.Join("\n", c.Diagnostics));
        return c.Compile();
    }

    [Fact]
    public void String_planted_past_256_MiB_is_found_with_filesize_and_uint32_at_the_end()
    {
        var dir = TestPaths.NewTempDir("exir-yara-big");
        try
        {
            const long size = 300_000_000, at = 290_000_001;
            var path = Sparse(dir, "big.bin", size, (at, Marker), (size - 4, [0x78, 0x56, 0x34, 0x12]));
            var rules = "rule far { strings: $m = \"EXIR_BIG_FILE_MARKER_7f3a\" condition: $m at " + at + " and filesize == " + size +
                        " and uint32(filesize - 4) == 0x12345678 and uint32be(filesize - 4) == 0x78563412 and not defined uint32(filesize - 3) }";
            var result = Compile(rules).ScanFile(path);
            Assert.Empty(result.Problems);
            var m = Assert.Single(result);
            Assert.Equal("far", m.Rule.Name);
            var s = Assert.Single(m.Strings);
            Assert.Equal(at, s.Offset);
            Assert.Equal(Marker, s.Data.ToArray());
            if (File.Exists(Yara)) Assert.Equal(YaraOutput(dir, rules, path), ExirOutput(result, path));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Regex_and_hex_jump_matches_crossing_the_regex_windows_are_found_like_yara()
    {
        var dir = TestPaths.NewTempDir("exir-yara-big");
        try
        {
            // The regex engine views files over 8 MiB in windows of 4 Mi characters: plant across 4 Mi and 8 Mi, ascii and wide;
            // the automaton walks mapped files in 16 MiB pieces: plant a literal across 16 Mi and 32 Mi.
            const long size = 40L << 20;
            var wide = Encoding.Unicode.GetBytes("cmd.exe /c whoami 12345");
            var path = Sparse(dir, "windows.bin", size,
                ((4L << 20) - 5, "xcmd.exe /c whoami 98765y"u8.ToArray()),
                ((8L << 20) - 11, wide),
                ((12L << 20) - 2, [0x4D, 0x5A, 0x90, 1, 2, 3, 4, 5, 6, 7, 0x50, 0x45]),
                ((16L << 20) - 7, Marker),
                ((32L << 20) - 1, Marker),
                (size - 9, "whoami 42"u8.ToArray()));
            var rules = """
                rule crossing {
                  strings:
                    $re = /cmd\.exe \/c whoami [0-9]{5}/ ascii wide
                    $hex = { 4D 5A 90 [4-10] 50 45 }
                    $end = /whoami [0-9]+/
                    $lit = "EXIR_BIG_FILE_MARKER_7f3a"
                  condition: all of them
                }
                """;
            var result = Compile(rules).ScanFile(path);
            Assert.Empty(result.Problems);
            var m = Assert.Single(result);
            var offsets = m.Strings.Select(x => (x.Identifier, x.Offset)).ToList();
            Assert.Contains(("$re", (4L << 20) - 4), offsets);
            Assert.Contains(("$re", (8L << 20) - 11), offsets);
            Assert.Contains(("$hex", (12L << 20) - 2), offsets);
            Assert.Contains(("$end", size - 9), offsets);
            Assert.Contains(("$lit", (16L << 20) - 7), offsets);
            Assert.Contains(("$lit", (32L << 20) - 1), offsets);
            if (File.Exists(Yara)) Assert.Equal(YaraOutput(dir, rules, path), ExirOutput(result, path));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_file_past_2_GiB_is_walked_to_the_engine_limit_and_the_rest_is_named()
    {
        var dir = TestPaths.NewTempDir("exir-yara-big");
        try
        {
            const long size = (2L << 30) + (1 << 20), at = int.MaxValue - 8192L;
            var path = Sparse(dir, "huge.bin", size, (at, Marker), (size - Marker.Length, Marker));
            var result = Compile("rule far { strings: $m = \"EXIR_BIG_FILE_MARKER_7f3a\" condition: $m and filesize == " + size + " }").ScanFile(path);
            Assert.Equal(at, Assert.Single(Assert.Single(result).Strings).Offset);
            Assert.Equal($"only the first {int.MaxValue:N0} of {size:N0} bytes scanned (the engine scans at most 2 GiB of a file)", Assert.Single(result.Problems).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_size_cap_set_by_the_user_is_named_per_file_on_stderr()
    {
        var dir = TestPaths.NewTempDir("exir-yara-big");
        try
        {
            var data = Directory.CreateDirectory(Path.Combine(dir, "data")).FullName;
            var path = Sparse(data, "capped.bin", 3L << 20, (2L << 20, Marker));
            var ruleFile = Path.Combine(dir, "r.yar");
            File.WriteAllText(ruleFile, "rule far { strings: $m = \"EXIR_BIG_FILE_MARKER_7f3a\" condition: $m }");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int capped = YaraCommand.Run([ruleFile], data, false, false, [], 1L << 20, 1, false, stdout, stderr);
            Assert.Equal(2, capped);
            Assert.Equal("", stdout.ToString());
            Assert.Contains($"{path}: only the first 1,048,576 of 3,145,728 bytes scanned", stderr.ToString());

            stdout = new StringWriter();
            stderr = new StringWriter();
            Assert.Equal(1, YaraCommand.Run([ruleFile], data, false, false, [], long.MaxValue, 1, false, stdout, stderr));
            Assert.Equal($"far {path}\n", stdout.ToString().ReplaceLineEndings("\n"));
            Assert.Equal("", stderr.ToString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static string ExirOutput(YaraScanResult result, string path)
    {
        var sb = new StringBuilder();
        foreach (var m in result) YaraText.AppendMatch(sb, m, path, printStrings: true);
        return sb.ToString().ReplaceLineEndings("\n");
    }

    private static string YaraOutput(string dir, string rules, string path)
    {
        var ruleFile = Path.Combine(dir, "oracle.yar");
        File.WriteAllText(ruleFile, rules);
        var psi = new ProcessStartInfo(Yara) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-w", "-s", ruleFile, path }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "yara failed: " + stderr);
        return stdout.Result.ReplaceLineEndings("\n");
    }
}
