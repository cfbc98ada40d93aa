using System.Diagnostics;
using System.Text;
using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

/// <summary>
/// Hostile rules and hostile data against the engine (issue 9, "one bad rule or file must not blind the hunt"):
/// overflowing conditions, catastrophic regexes, jump-heavy hex strings, endless loops and includes of devices,
/// FIFOs, huge files and cycles. Each test builds its attack in code and asserts the safe outcome: no crash, the
/// other rules still match, bounded time, and every rule or file that could not run fully named.
/// </summary>
public class HostileRuleTests
{
    private const long Max = long.MaxValue;
    private static readonly byte[] Hello = Encoding.ASCII.GetBytes("hello world AAAA\n");

    private static (YaraCompiler C, YaraRules R) CompileAll(string src, string origin = "hostile.yar")
    {
        var c = new YaraCompiler();
        c.AddSource(src, origin);
        return (c, c.Compile());
    }

    [Theory]
    [InlineData("uint8(9223372036854775807) == 0")]
    [InlineData("int32(9223372036854775806) == 0")]
    [InlineData("uint16(0x7fffffffffffffff - 1) == 0")]
    [InlineData("uint32be(9223372036854775805) == 0")]
    [InlineData("uint8(-1) == 0")]
    [InlineData("int16(-9223372036854775807 - 1) == 0")]
    [InlineData("uint8(filesize) == 0")]
    public void Reads_at_overflowing_offsets_are_undefined_and_the_other_rules_still_match(string condition)
    {
        var (c, r) = CompileAll($"rule bad {{ condition: {condition} }}\nrule good {{ strings: $h = \"hello\" condition: $h }}");
        Assert.Empty(c.Diagnostics);
        var result = r.Scan(Hello);
        Assert.Equal(["good"], result.Select(m => m.Rule.Name).ToArray());
        Assert.Empty(result.Problems);
    }

    [Theory]
    [InlineData("@s[9223372036854775807] == 0", false)]
    [InlineData("@s[-9223372036854775807 - 1] == 0", false)]
    [InlineData("!s[-1] == 0", false)]
    [InlineData("#s in (0..9223372036854775807) == 1", true)]
    [InlineData("$s in (9223372036854775807..-9223372036854775807)", false)]
    [InlineData("$s at 9223372036854775807", false)]
    [InlineData("for any i in (9223372036854775800..9223372036854775807) : (i == 9223372036854775807)", true)]
    [InlineData("for all i in (9223372036854775800..9223372036854775807) : (i > 0)", true)]
    [InlineData("for all i in (-9223372036854775807 - 1..-9223372036854775800) : (i < 0)", true)]
    [InlineData("(filesize + 9223372036854775807) < 0", true)] // yara's run-time arithmetic wraps
    [InlineData("filesize * 9223372036854775807 < 0", false)]
    [InlineData("(-9223372036854775807 - 1) \\ (filesize - 18) == 0", false)] // yara dies of SIGFPE here; undefined in exir
    [InlineData("(-9223372036854775807 - 1) % (filesize - 18) == 0", true)]
    [InlineData("math.abs(-9223372036854775807 - 1 + filesize - 17) < 0", true)]
    [InlineData("filesize << (filesize - 18) == 0", false)] // a negative shift is undefined in yara
    [InlineData("(filesize - 17) \\ 0 == 0 or (filesize - 17) % 0 == 0", false)]
    public void Overflowing_indexes_ranges_and_arithmetic_give_yaras_answers(string condition, bool expected)
    {
        // "$s and false" only references $s (yara refuses unreferenced strings); it never changes the outcome.
        var (c, r) = CompileAll($"import \"math\"\nrule x {{ strings: $s = \"hello\" condition: ({condition}) or ($s and false) }}");
        Assert.Empty(c.Diagnostics);
        var result = r.Scan(Hello);
        Assert.Equal(expected, result.Count == 1);
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void A_huge_percentage_computed_at_run_time_does_not_wrap()
    {
        // 9223372036854775799% of two strings: the product overflows a long; it must not wrap into "true".
        var (c, r) = CompileAll("rule x { strings: $s = \"hello\" $t = \"world\" condition: (filesize * 542551296285575047) % of them }");
        Assert.Empty(c.Diagnostics);
        Assert.Empty(r.Scan(Hello));
    }

    [Theory]
    [InlineData("9223372036854775807 + 1 < 0", "integer overflow")]
    [InlineData("9223372036854775807 * 2 < 0", "integer overflow")]
    [InlineData("-9223372036854775807 - 2 < 0", "integer overflow")]
    [InlineData("1 \\ 0 == 0", "division by zero")]
    [InlineData("1 % 0 == 0", "division by zero")]
    [InlineData("0x8000000000000000 == 0", "integer overflow")]
    [InlineData("0xFFFFFFFFFFFFFFFF == -1", "integer overflow")]
    [InlineData("9223372036854775807KB > 0", "integer overflow")]
    [InlineData("0o7777777777777777777777 > 0", "integer overflow")]
    [InlineData("101% of them", "percentage")]
    public void Constant_overflow_is_a_compile_error_like_yara(string condition, string message)
    {
        var (c, r) = CompileAll($"rule bad {{ strings: $s = \"hello\" condition: {condition} }}\nrule good {{ condition: true }}");
        var d = Assert.Single(c.Diagnostics);
        Assert.True(d.IsError);
        Assert.Contains(message, d.Message);
        Assert.Equal(["good"], r.Rules.Select(x => x.Name).ToArray());
    }

    /// <summary>The answers above, checked against the real yara (the oracle) where yara itself survives them.</summary>
    [Fact]
    [Trait("Tier", "slow")]
    public void The_overflow_answers_are_yaras()
    {
        const string yara = "/usr/bin/yara";
        if (!File.Exists(yara)) Assert.Skip("yara not installed");
        var dir = TestPaths.NewTempDir("exir-yara-hostile");
        var data = Path.Combine(dir, "t.txt");
        File.WriteAllBytes(data, Hello);
        string[] conditions =
        [
            "uint8(9223372036854775807) == 0", "int32(9223372036854775806) == 0", "uint8(-1) == 0", "uint16(0x7fffffffffffffff - 1) == 0",
            "@s[9223372036854775807] == 0", "@s[-9223372036854775807 - 1] == 0", "!s[-1] == 0", "#s in (0..9223372036854775807) == 1",
            "$s in (9223372036854775807..-9223372036854775807)", "$s at 9223372036854775807",
            "for any i in (9223372036854775800..9223372036854775807) : (i == 9223372036854775807)",
            "(filesize + 9223372036854775807) < 0", "filesize * 9223372036854775807 < 0", "-filesize < 0",
            "filesize << (filesize - 18) == 0", "uint8(filesize) == 0",
        ];
        var src = new StringBuilder("import \"math\"\n");
        for (int i = 0; i < conditions.Length; i++) src.Append($"rule r{i} {{ strings: $s = \"hello\" condition: $s and ({conditions[i]}) }}\n");
        var rules = Path.Combine(dir, "h.yar");
        File.WriteAllText(rules, src.ToString());
        var psi = new ProcessStartInfo(yara) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-w", rules, data }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var expected = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).Order().ToArray();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        var c = new YaraCompiler();
        c.AddFile(rules);
        Assert.Empty(c.Diagnostics);
        var actual = c.Compile().ScanFile(data).Select(m => m.Rule.Name).Order().ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void An_endless_loop_stops_at_the_time_limit_is_named_and_the_other_rules_still_match()
    {
        var (_, r) = CompileAll("""
            rule endless { condition: for all i in (0..9223372036854775807) : (i >= 0) }
            rule good { strings: $h = "hello" condition: $h }
            rule after { condition: filesize > 0 }
            """);
        var sw = Stopwatch.StartNew();
        var result = r.Scan(Hello, limits: new YaraScanLimits { Timeout = TimeSpan.FromSeconds(1) });
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"took {sw.Elapsed}");
        Assert.Equal(["good", "after"], result.Select(m => m.Rule.Name).ToArray());
        Assert.True(result.TimedOut);
        var p = Assert.Single(result.Problems);
        Assert.Equal("endless", p.Rule?.Name);
        Assert.Contains("time limit", p.Message);
    }

    public static TheoryData<string, string> CatastrophicRegexes() => new()
    {
        { "(a|a)*b", "ab" },
        { "(a*)*b", "ab" },
        { "(a|aa)+b", "ab" },
        { "(.*a){12}b", "ab" },
    };

    [Theory]
    [MemberData(nameof(CatastrophicRegexes))]
    public void Nested_repetition_on_a_long_run_finishes_fast_and_still_matches(string regex, string _)
    {
        // 200,000 'a' then 'b': the only match ends at the 'b'; every start within yara's 4 KiB scan limit before it matches.
        var data = new byte[200_001];
        data.AsSpan(0, 200_000).Fill((byte)'a');
        data[^1] = (byte)'b';
        var (c, r) = CompileAll($"rule re {{ strings: $a = /{regex}/ condition: $a }}");
        Assert.Empty(c.Diagnostics);
        var sw = Stopwatch.StartNew();
        var result = r.Scan(data);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"{regex} took {sw.Elapsed}");
        var m = Assert.Single(result);
        Assert.All(m.Strings, s => Assert.True(s.Offset >= 200_000 - 4096 && s.Offset + s.Length == data.Length));
        Assert.Empty(result.Problems);
    }

    [Fact]
    public void A_regex_whose_every_start_matches_a_4_KiB_window_stops_at_its_budget_and_is_named()
    {
        // (a+)+$ over 500,000 'a': yara needs minutes too. The string's matching stops at its budget, the matches found so
        // far stand, the rule is named as possibly incomplete, and the other rules run.
        var data = new byte[500_000];
        data.AsSpan().Fill((byte)'a');
        var (_, r) = CompileAll("""
            rule slow { strings: $a = /(a+)+$/ condition: $a }
            rule slow2 { strings: $a = /a+/ condition: #a > 600000 }
            rule good { condition: uint8(0) == 0x61 }
            """);
        var sw = Stopwatch.StartNew();
        var result = r.Scan(data, limits: new YaraScanLimits { StringBudget = TimeSpan.FromSeconds(1) });
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"took {sw.Elapsed}");
        Assert.Contains(result, m => m.Rule.Name == "good");
        Assert.Contains(result.Problems, p => p.Rule?.Name == "slow" && p.Message.Contains("$a"));
        Assert.Contains(result.Problems, p => p.Rule?.Name == "slow2");
        Assert.False(result.TimedOut);
    }

    [Fact]
    public void A_jump_heavy_hex_string_on_matching_data_stays_bounded()
    {
        var hex = new StringBuilder("41 42 41 42");
        for (int i = 0; i < 100; i++) hex.Append(" [0-300] 42");
        hex.Append(" 43");
        var data = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("AB", 250_000)));
        var (c, r) = CompileAll($"rule jumps {{ strings: $a = {{ {hex} }} condition: $a }}\nrule good {{ condition: filesize == 500000 }}");
        Assert.Empty(c.Diagnostics);
        var sw = Stopwatch.StartNew();
        var result = r.Scan(data, limits: new YaraScanLimits { StringBudget = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(10) });
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"took {sw.Elapsed}");
        Assert.Equal(["good"], result.Select(m => m.Rule.Name).ToArray());
        // Either it finished (no 'C' anywhere: no match) or it was stopped and said so.
        Assert.All(result.Problems, p => Assert.Equal("jumps", p.Rule?.Name));
    }

    [Fact]
    public void A_500_KB_hex_string_compiles_and_scans_in_bounded_time()
    {
        // 170,000 bytes of a repeating 8-byte unit (its atom hits every 8 bytes of the data) and a last byte that never comes.
        byte[] unit = "ABCDEFGH"u8.ToArray();
        var hex = string.Join(' ', Enumerable.Range(0, 170_000).Select(i => unit[i % 8].ToString("X2"))) + " 00";
        var data = new byte[500_000];
        for (int i = 0; i < data.Length; i++) data[i] = unit[i % 8];
        var (c, r) = CompileAll($"rule long_hex {{ strings: $a = {{ {hex} }} condition: $a }}\nrule good {{ strings: $b = \"ABCDEFGH\" condition: $b }}");
        Assert.Empty(c.Diagnostics);
        var sw = Stopwatch.StartNew();
        var result = r.Scan(data, limits: new YaraScanLimits { StringBudget = TimeSpan.FromSeconds(2), Timeout = TimeSpan.FromSeconds(20) });
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(40), $"took {sw.Elapsed}");
        Assert.Equal(["good"], result.Select(m => m.Rule.Name).ToArray());
    }

    // ---- includes and rule files that are not regular files ----------------------------------------------------

    private static bool NoFifos => OperatingSystem.IsWindows();

    private static void MkFifo(string path)
    {
        using var p = Process.Start("mkfifo", path)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    private static IReadOnlyList<YaraDiagnostic> CompileFileBounded(string path)
    {
        var c = new YaraCompiler();
        var task = Task.Run(() => c.AddFile(path));
        Assert.True(task.Wait(TimeSpan.FromSeconds(30)), $"compiling {path} hung");
        return c.Diagnostics;
    }

    [Fact]
    public void Include_of_a_device_is_refused_quickly()
    {
        if (!File.Exists("/dev/zero")) Assert.Skip("no /dev/zero here");
        var dir = TestPaths.NewTempDir("exir-yara-inc");
        var main = Path.Combine(dir, "main.yar");
        File.WriteAllText(main, "include \"/dev/zero\"\nrule good { condition: true }\n");
        var d = Assert.Single(CompileFileBounded(main));
        Assert.True(d.IsError);
        Assert.Contains("not a regular file", d.Message);
    }

    [Fact]
    public void Include_of_a_fifo_is_refused_without_opening_it()
    {
        if (NoFifos) Assert.Skip("no FIFOs on Windows");
        var dir = TestPaths.NewTempDir("exir-yara-inc");
        MkFifo(Path.Combine(dir, "pipe.yar"));
        var main = Path.Combine(dir, "main.yar");
        File.WriteAllText(main, "include \"pipe.yar\"\nrule good { condition: true }\n");
        var d = Assert.Single(CompileFileBounded(main));
        Assert.Contains("not a regular file", d.Message);
    }

    [Fact]
    public void Include_of_a_huge_file_is_refused_by_size()
    {
        var dir = TestPaths.NewTempDir("exir-yara-inc");
        var big = Path.Combine(dir, "big.yar");
        using (var fs = File.Create(big)) fs.SetLength(YaraCompiler.MaxRuleFileBytes + 1); // sparse
        var main = Path.Combine(dir, "main.yar");
        File.WriteAllText(main, "include \"big.yar\"\nrule good { condition: true }\n");
        var d = Assert.Single(CompileFileBounded(main));
        Assert.Contains("too large", d.Message);
    }

    [Fact]
    public void Include_cycles_are_found_through_links_and_depth_is_capped()
    {
        var dir = TestPaths.NewTempDir("exir-yara-inc");
        // a -> b -> a
        File.WriteAllText(Path.Combine(dir, "a.yar"), "include \"b.yar\"\nrule ra { condition: true }\n");
        File.WriteAllText(Path.Combine(dir, "b.yar"), "include \"a.yar\"\nrule rb { condition: true }\n");
        Assert.Contains(CompileFileBounded(Path.Combine(dir, "a.yar")), d => d.IsError && d.Message.Contains("include loop"));
        if (!OperatingSystem.IsWindows())
        {
            // c includes a link that points back at c: the path differs, the file is the same.
            File.WriteAllText(Path.Combine(dir, "c.yar"), "include \"link.yar\"\nrule rc { condition: true }\n");
            File.CreateSymbolicLink(Path.Combine(dir, "link.yar"), Path.Combine(dir, "c.yar"));
            Assert.Contains(CompileFileBounded(Path.Combine(dir, "c.yar")), d => d.IsError && d.Message.Contains("include loop"));
        }
        // A chain deeper than yara's 16 levels.
        for (int i = 0; i < 40; i++) File.WriteAllText(Path.Combine(dir, $"d{i}.yar"), $"include \"d{i + 1}.yar\"\nrule rd{i} {{ condition: true }}\n");
        File.WriteAllText(Path.Combine(dir, "d40.yar"), "rule rd40 { condition: true }\n");
        Assert.Contains(CompileFileBounded(Path.Combine(dir, "d0.yar")), d => d.IsError && d.Message.Contains("nested too deeply"));
    }

    [Fact]
    public void A_rule_file_that_is_a_device_or_fifo_is_refused_quickly()
    {
        if (NoFifos) Assert.Skip("no FIFOs on Windows");
        var dir = TestPaths.NewTempDir("exir-yara-inc");
        var fifo = Path.Combine(dir, "rules.yar");
        MkFifo(fifo);
        Assert.Contains("not a regular file", Assert.Single(CompileFileBounded(fifo)).Message);
        if (File.Exists("/dev/zero")) Assert.Contains("not a regular file", Assert.Single(CompileFileBounded("/dev/zero")).Message);
    }
}
