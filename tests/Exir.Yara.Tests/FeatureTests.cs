using System.Text;
using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

internal static class Y
{
    public static YaraRules Compile(string source, string origin = "test.yar")
    {
        var c = new YaraCompiler();
        c.AddSource(source, origin);
        Assert.Empty(c.Diagnostics);
        return c.Compile();
    }

    public static byte[] B(string latin1) => Encoding.Latin1.GetBytes(latin1);

    public static string[] Names(YaraRules rules, string data, IReadOnlyDictionary<string, object>? ext = null)
        => rules.Scan(B(data), ext).Select(m => m.Rule.Name).ToArray();

    public static bool Hits(string rule, string data) => Names(Compile(rule), data).Length > 0;

    public static long[] Offsets(string rule, string data, string id = "$a")
        => Compile(rule).Scan(B(data)).SelectMany(m => m.Strings).Where(s => s.Identifier == id).Select(s => s.Offset).ToArray();
}

public class TextStringTests
{
    [Fact]
    public void Ascii_is_case_sensitive_and_nocase_folds_ascii_only()
    {
        Assert.True(Y.Hits("rule r { strings: $a = \"Eval\" condition: $a }", "x Eval("));
        Assert.False(Y.Hits("rule r { strings: $a = \"Eval\" condition: $a }", "x eval("));
        Assert.True(Y.Hits("rule r { strings: $a = \"Eval\" nocase condition: $a }", "x eVAL("));
        // yara's nocase is ASCII-only: Latin-1 letters keep their case.
        Assert.False(Y.Hits("rule r { strings: $a = \"\\xc9t\" nocase condition: $a }", "\u00e9t"));
    }

    [Fact]
    public void Wide_matches_utf16le_only_unless_ascii_too()
    {
        const string wide = "rule r { strings: $a = \"cmd\" wide condition: $a }";
        Assert.True(Y.Hits(wide, "..c\0m\0d\0.."));
        Assert.False(Y.Hits(wide, "..cmd.."));
        Assert.True(Y.Hits("rule r { strings: $a = \"cmd\" wide ascii condition: #a == 2 }", "cmd c\0m\0d\0"));
    }

    [Fact]
    public void Fullword_rejects_alphanumeric_neighbours_but_not_underscore()
    {
        const string rule = "rule r { strings: $a = \"exec\" fullword condition: $a }";
        Assert.True(Y.Hits(rule, "a exec("));
        Assert.True(Y.Hits(rule, "exec"));
        Assert.False(Y.Hits(rule, "shell_execx"));
        Assert.False(Y.Hits(rule, "xexec"));
        Assert.True(Y.Hits(rule, "_exec_"));
        Assert.True(Y.Hits("rule r { strings: $a = \"exec\" fullword wide condition: $a }", "(\0e\0x\0e\0c\0)\0"));
        Assert.False(Y.Hits("rule r { strings: $a = \"exec\" fullword wide condition: $a }", "a\0e\0x\0e\0c\0"));
    }

    [Fact]
    public void Xor_finds_every_single_byte_key_in_range()
    {
        var plain = Y.B("cmd.exe");
        var data = new byte[40];
        for (int i = 0; i < plain.Length; i++) { data[3 + i] = (byte)(plain[i] ^ 0x21); data[20 + i] = plain[i]; }
        var rules = Y.Compile("""
            rule any_key { strings: $a = "cmd.exe" xor condition: #a == 2 }
            rule key_21 { strings: $a = "cmd.exe" xor(0x21) condition: $a at 3 and #a == 1 }
            rule range { strings: $a = "cmd.exe" xor(1-0x20) condition: $a }
            """);
        Assert.Equal(["any_key", "key_21"], rules.Scan(data).Select(m => m.Rule.Name).ToArray());
    }

    [Fact]
    public void Base64_finds_the_text_at_every_alignment_and_in_utf16()
    {
        // Independent oracle: .NET's encoder on the text behind 0, 1 and 2 other bytes.
        var lines = new List<string>();
        foreach (var prefix in new[] { "", "q", "qq" })
            lines.Add(Convert.ToBase64String(Y.B(prefix + "cmd.exe /c whoami")));
        var wideEncoded = Convert.ToBase64String(Encoding.Unicode.GetBytes("xcmd.exe /c whoami"));
        var data = string.Join("\n", lines) + "\n" + string.Concat(lines[1].Select(c => c + "\0")) + "\n" + wideEncoded;
        var rules = Y.Compile("""
            rule b64 { strings: $a = "cmd.exe /c" base64 condition: #a == 3 }
            rule b64wide { strings: $a = "cmd.exe /c" base64wide condition: #a == 1 }
            rule wide_b64 { strings: $a = "cmd.exe /c" wide base64 condition: #a == 1 }
            rule other_text { strings: $a = "net user" base64 condition: $a }
            """);
        Assert.Equal(["b64", "b64wide", "wide_b64"], Y.Names(rules, data));
    }

    [Fact]
    public void Escapes_and_overlapping_matches_are_counted_like_yara()
    {
        Assert.True(Y.Hits("rule r { strings: $a = \"a\\\"b\\\\c\\x41\\n\" condition: $a }", "a\"b\\cA\n"));
        Assert.Equal([0L, 1, 2], Y.Offsets("rule r { strings: $a = \"aa\" condition: $a }", "aaaa"));
    }

    [Fact]
    public void Match_data_is_capped_at_512_bytes_but_length_is_real()
    {
        var rules = Y.Compile("rule r { strings: $a = /x{600}/ condition: $a }");
        var m = rules.Scan(Y.B(new string('x', 600))).Single().Strings[0];
        Assert.Equal(600, m.Length);
        Assert.Equal(512, m.Data.Length);
    }
}

public class HexAndRegexTests
{
    [Fact]
    public void Hex_wildcards_nibbles_jumps_and_alternatives()
    {
        Assert.True(Y.Hits("rule r { strings: $a = { 4D 5A ?? 00 } condition: $a at 0 }", "MZ\u0090\0"));
        Assert.True(Y.Hits("rule r { strings: $a = { 4? 5A } condition: $a }", "OZ"));
        Assert.False(Y.Hits("rule r { strings: $a = { 4? 5A } condition: $a }", "PZ"));
        Assert.True(Y.Hits("rule r { strings: $a = { 61 [2-4] 62 } condition: $a }", "a123b"));
        Assert.False(Y.Hits("rule r { strings: $a = { 61 [2-4] 62 } condition: $a }", "a12345b"));
        Assert.True(Y.Hits("rule r { strings: $a = { 61 ( 62 | 63 64 ) 65 } condition: $a }", "acde"));
        Assert.False(Y.Hits("rule r { strings: $a = { 61 ( 62 | 63 64 ) 65 } condition: $a }", "ace"));
        Assert.True(Y.Hits("rule r { strings: $a = { 61 ?2 } condition: $a }", "a\u00f2"));
    }

    [Fact]
    public void Regex_modifiers_classes_and_word_boundaries()
    {
        Assert.True(Y.Hits("rule r { strings: $a = /eval\\s*\\(/ condition: $a }", "eval  ("));
        Assert.True(Y.Hits("rule r { strings: $a = /EVAL/i condition: $a }", "eval"));
        Assert.True(Y.Hits("rule r { strings: $a = /EVAL/ nocase condition: $a }", "eval"));
        Assert.False(Y.Hits("rule r { strings: $a = /a.b/ condition: $a }", "a\nb"));
        Assert.True(Y.Hits("rule r { strings: $a = /a.b/s condition: $a }", "a\nb"));
        Assert.True(Y.Hits("rule r { strings: $a = /\\beval\\b/ condition: $a }", "(eval)"));
        Assert.False(Y.Hits("rule r { strings: $a = /\\beval\\b/ condition: $a }", "medieval"));
        // yara's \w is ASCII: a Latin-1 letter before "eval" is a boundary.
        Assert.True(Y.Hits("rule r { strings: $a = /\\beval/ condition: $a }", "\u00e9eval"));
        Assert.True(Y.Hits("rule r { strings: $a = /x.{,3}y/ condition: $a }", "x12y"));
        Assert.True(Y.Hits("rule r { strings: $a = /[\\x80-\\xff]{2}/ condition: $a }", "a\u00e9\u00ffb"));
    }

    [Fact]
    public void Wide_regex_needs_zero_high_bytes_and_uses_wide_word_boundaries()
    {
        const string rule = "rule r { strings: $a = /\\bcmd\\.exe/ wide condition: $a }";
        Assert.True(Y.Hits(rule, " \0c\0m\0d\0.\0e\0x\0e\0"));
        Assert.False(Y.Hits(rule, "x\0c\0m\0d\0.\0e\0x\0e\0"));
        Assert.False(Y.Hits(rule, "cmd.exe"));
    }

    [Fact]
    public void Regex_reports_every_start_position_with_yara_lengths()
    {
        var rules = Y.Compile("rule r { strings: $a = /l+/ condition: $a }");
        var m = rules.Scan(Y.B("hello")).Single().Strings;
        Assert.Equal([(2L, 2), (3L, 1)], m.Select(s => (s.Offset, s.Length)).ToArray());
    }

    [Fact]
    public void Regex_matches_stop_at_yaras_4096_byte_scan_limit()
    {
        var rule = "rule r { strings: $a = /a[^\\n]*b/ condition: $a }";
        Assert.True(Y.Hits(rule, "a" + new string('x', 4000) + "b"));
        Assert.False(Y.Hits(rule, "a" + new string('x', 5000) + "b"));
    }

    private static (long, int)[] Spans(string rule, byte[] data)
        => Y.Compile(rule).Scan(data).SelectMany(m => m.Strings).Select(s => (s.Offset, s.Length)).ToArray();

    [Fact]
    public void Regexes_with_several_loops_are_verified_near_their_atoms_like_yara()
    {
        // Two or more loops: checked at each atom with the anchored automaton and a window of the longest match.
        var wb = "rule r { strings: $a = /\\bfile\\s*\\.\\s*write\\s*\\(/ nocase condition: $a }";
        Assert.Equal([(2L, 13)], Spans(wb, Y.B("a File . write( xfile.write(")));
        Assert.Equal([(0L, 11)], Spans(wb, Y.B("file.write(")));
        var start = "rule r { strings: $a = /^abc\\s*def\\s*g/ condition: $a }";
        Assert.Equal([(0L, 9)], Spans(start, Y.B("abc def g abc def g")));
        Assert.Empty(Spans(start, Y.B("xabc def g")));
        var end = "rule r { strings: $a = /abc\\s*d\\s*e$/ condition: $a }";
        Assert.Equal([(4L, 7)], Spans(end, Y.B("abc abc d e")));
        Assert.Empty(Spans(end, Y.B("abc d ex")));
        // Hex jumps are lazy: the shortest span from each start.
        var hex = "rule r { strings: $a = { 22 (65|45) 22 [0-40] 22 (76|56) 22 [0-40] 22 (61|41) 22 } condition: $a }";
        Assert.Equal([(1L, 11)], Spans(hex, Y.B("x\"e\"+\"v\"+\"a\" + \"a\"")));
        Assert.Empty(Spans(hex, Y.B("\"e\"" + new string(' ', 41) + "\"v\"\"a\"")));
        var wide = "rule r { strings: $a = /\\bfile\\s*\\.\\s*write/ wide condition: $a }";
        Assert.Equal([(4L, 20)], Spans(wide, Encoding.Unicode.GetBytes("a file.write xfile.write")));
    }

    [Fact]
    public void Catastrophic_regex_on_hostile_input_finishes_quickly()
    {
        var rules = Y.Compile("rule r { strings: $a = /(a+)+(b|c)+(a|aa)*d/ $b = /x[\\t ]{0,300}(y)?[\\t ]{0,300}(z)?[\\t ]{0,300}q/ condition: any of them }");
        var data = Y.B(new string('a', 30000) + "x" + new string(' ', 3000));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.Empty(rules.Scan(data));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
    }
}

public class ConditionTests
{
    [Theory]
    [InlineData("filesize < 1KB", 1023, true)]
    [InlineData("filesize < 1KB", 1024, false)]
    [InlineData("filesize == 2 * 512", 1024, true)]
    [InlineData("uint16(0) == 0x6161 and uint32be(0) == 0x61616161", 8, true)]
    [InlineData("uint32(filesize - 2) == 0", 8, false)]
    [InlineData("not (uint32(filesize) == 0)", 8, false)]
    [InlineData("int8(0) == 97 and int16be(0) == 0x6161", 8, true)]
    [InlineData("(7 \\ 2) == 3 and 7 % 4 == 3 and (1 << 4) == 16 and (0xf0 >> 4) == 15 and (5 & 3) == 1 and (5 | 2) == 7 and (5 ^ 1) == 4 and ~0 == -1", 8, true)]
    [InlineData("1 \\ (filesize - 8) == 0 or true", 8, true)] // division by zero at run time is undefined (a constant one does not compile)
    [InlineData("for all i in (1..filesize - 8) : ( true )", 8, false)] // an empty range at run time (a constant one is an error)
    [InlineData("for any i in (0, 4, 9) : ( i == filesize )", 4, true)]
    public void Arithmetic_integers_and_undefined(string condition, int size, bool expected)
    {
        var rules = Y.Compile($"rule r {{ condition: {condition} }}");
        Assert.Equal(expected, Y.Names(rules, new string('a', size)).Length == 1);
    }

    [Fact]
    public void Counts_offsets_lengths_at_in_and_sets()
    {
        var rules = Y.Compile("""
            rule count { strings: $a = "ab" condition: #a == 3 }
            rule at_offset { strings: $a = "ab" condition: $a at 2 and not $a at 3 }
            rule in_range { strings: $a = "ab" condition: $a in (5..10 - 3) }
            rule offsets { strings: $a = "ab" condition: @a[1] == 0 and @a[3] == 6 and @a == 0 and !a[2] == 2 }
            rule undefined_index { strings: $a = "ab" condition: @a[4] == 0 or not (@a[4] == 0) }
            rule sets { strings: $x1 = "ab" $x2 = "zz" $y = "cd" condition: 1 of ($x*) and not all of ($x*) and any of ($y, $x2) }
            rule percent { strings: $a = "ab" $b = "zz" $c = "qq" $d = "cd" condition: 50% of them }
            rule forof { strings: $a = "ab" $b = "cd" condition: for all of them : ( # >= 1 and @ < 10 ) }
            rule forloop { strings: $a = "ab" condition: for any i in (1..#a) : ( @a[i] == 6 ) }
            rule none_of { strings: $a = "zz" $b = "qq" condition: none of them }
            """);
        var names = Y.Names(rules, "ab" + "ab" + "xxab" + "cd");
        Assert.Equal(["count", "at_offset", "in_range", "offsets", "sets", "percent", "forof", "forloop", "none_of"], names);
    }

    [Fact]
    public void Rule_references_private_and_global_rules()
    {
        var rules = Y.Compile("""
            private rule has_tag { strings: $t = "<%" condition: $t }
            rule shell : web asp { meta: author = "x" score = 80 flag = true strings: $a = "eval" condition: has_tag and $a }
            """);
        var m = rules.Scan(Y.B("<% eval %>"));
        Assert.Equal("shell", Assert.Single(m).Rule.Name);
        Assert.Equal(["web", "asp"], m[0].Rule.Tags);
        Assert.Equal("80", m[0].Rule.Meta["score"]);
        Assert.Empty(rules.Scan(Y.B("eval")));

        var global = Y.Compile("""
            global rule small { condition: filesize < 10 }
            rule any_a { strings: $a = "a" condition: $a }
            """);
        Assert.Equal(["small", "any_a"], Y.Names(global, "aaa"));
        Assert.Empty(Y.Names(global, new string('a', 20)));
    }

    [Fact]
    public void Same_rule_name_in_two_namespaces()
    {
        var c = new YaraCompiler();
        c.AddSource("rule dup { strings: $a = \"one\" condition: $a }", "a.yar", "ns1");
        c.AddSource("rule dup { strings: $a = \"two\" condition: $a }", "b.yar", "ns2");
        c.AddSource("rule dup { condition: true }", "c.yar", "ns2");
        var rules = c.Compile();
        Assert.Single(c.Diagnostics, d => d.IsError && d.Message.Contains("duplicated"));
        var m = rules.Scan(Y.B("one two"));
        Assert.Equal(["ns1", "ns2"], m.Select(x => x.Rule.Namespace).ToArray());
    }

    [Fact]
    public void Externals_default_to_empty_and_can_be_overridden_per_scan()
    {
        var c = new YaraCompiler();
        c.DefineExternal("score", 5L);
        c.AddSource("""
            rule ext { condition: filename iendswith ".aspx" and not filepath contains "\\Cache\\" and extension == ".aspx" }
            rule num { condition: score > 3 }
            rule re { condition: filename matches /^[a-z]+\.ASPX$/i }
            rule empty { condition: owner == "" and filetype == "" }
            """, "e.yar");
        Assert.Empty(c.Diagnostics);
        var rules = c.Compile();
        Assert.Equal(["num", "empty"], Y.Names(rules, "x"));
        var ext = new Dictionary<string, object> { ["filename"] = "shell.ASPX", ["filepath"] = "C:\\inetpub", ["extension"] = ".aspx", ["score"] = 1L };
        Assert.Equal(["ext", "re", "empty"], Y.Names(rules, "x", ext));
    }

    [Fact]
    public void Math_and_hash_modules()
    {
        var rules = Y.Compile("""
            import "math"
            import "hash"
            rule low { condition: math.entropy(0, filesize) < 0.1 }
            rule high { condition: math.entropy(0, filesize) > 7.9 }
            rule mean { condition: math.mean(0, filesize) == 97.0 and math.deviation(0, filesize, 90.0) == 7.0 }
            rule range_undefined { condition: math.entropy(500, filesize - 500) >= 0 }
            rule md5 { condition: hash.md5(0, filesize) == "0cc175b9c0f1b6a831c399e269772661" }
            rule sha256s { condition: hash.sha256("a") == "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" }
            rule crc { condition: hash.crc32(0, 1) == 0xe8b7be43 }
            rule count { condition: math.count(0x61) == 1 and math.percentage(0x61) == 1.0 }
            """);
        Assert.Equal(["low", "mean", "md5", "sha256s", "crc", "count"], Y.Names(rules, "a"));
        var all = new byte[256 * 16];
        for (int i = 0; i < all.Length; i++) all[i] = (byte)i;
        // sha256s hashes a constant, range_undefined has 500+ bytes here.
        Assert.Equal(["high", "range_undefined", "sha256s"], rules.Scan(all).Select(m => m.Rule.Name).ToArray());
    }

    [Fact]
    public void Pe_header_fields_are_undefined_on_non_pe_files()
    {
        var rules = Y.Compile("""
            import "pe"
            rule is_pe { condition: pe.is_pe }
            rule not_pe { condition: not pe.is_pe }
            rule i386 { condition: pe.machine == pe.MACHINE_I386 and pe.number_of_sections == 1 }
            rule neg { condition: not (pe.number_of_sections == 3) }
            """);
        Assert.Equal(["not_pe"], Y.Names(rules, "<% hello %>"));
        var pe = new byte[0x200];
        pe[0] = (byte)'M'; pe[1] = (byte)'Z'; pe[0x3C] = 0x80;
        "PE\0\0"u8.CopyTo(pe.AsSpan(0x80));
        pe[0x84] = 0x4C; pe[0x85] = 0x01; pe[0x86] = 1;
        Assert.Equal(["is_pe", "i386", "neg"], rules.Scan(pe).Select(m => m.Rule.Name).ToArray());
    }
}

public class ScanApiTests
{
    [Fact]
    public void Scans_are_thread_safe_and_independent()
    {
        var rules = Y.Compile("rule r { strings: $a = \"needle\" $b = /n[e]+dle/ condition: #a == #b and #a > 0 }");
        var inputs = Enumerable.Range(0, 200).Select(i => i % 3 == 0 ? Y.B(new string('x', i) + "needle") : Y.B(new string('y', i))).ToArray();
        var results = new bool[inputs.Length];
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => results[i] = rules.Scan(inputs[i]).Count == 1);
        for (int i = 0; i < inputs.Length; i++) Assert.Equal(i % 3 == 0, results[i]);
    }

    [Fact]
    public void ScanFile_caps_bytes_but_filesize_is_the_real_size()
    {
        var dir = TestPaths.NewTempDir("exir-yara");
        var path = Path.Combine(dir, "big.bin");
        File.WriteAllBytes(path, Y.B("head" + new string('x', 10_000) + "tail"));
        var rules = Y.Compile("""
            rule head { strings: $a = "head" condition: $a }
            rule tail { strings: $a = "tail" condition: $a }
            rule size { condition: filesize == 10008 }
            """);
        Assert.Equal(["head", "tail", "size"], rules.ScanFile(path).Select(m => m.Rule.Name).ToArray());
        Assert.Equal(["head", "size"], rules.ScanFile(path, maxBytes: 100).Select(m => m.Rule.Name).ToArray());
    }

    [Fact]
    public void ScanFile_refuses_fifos_instead_of_blocking()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("no FIFOs on Windows");
        var dir = TestPaths.NewTempDir("exir-yara");
        var fifo = Path.Combine(dir, "pipe");
        using (var p = System.Diagnostics.Process.Start("mkfifo", fifo)) p.WaitForExit();
        var rules = Y.Compile("rule r { condition: true }");
        Assert.Throws<IOException>(() => rules.ScanFile(fifo));
        Assert.Throws<FileNotFoundException>(() => rules.ScanFile(Path.Combine(dir, "missing")));
    }

    [Fact]
    public void Regexes_on_files_beyond_the_whole_view_size_are_windowed_correctly()
    {
        // 12 MiB: regex strings are searched in windows; matches near window edges must still be exact.
        var data = new byte[12 << 20];
        data.AsSpan().Fill((byte)'.');
        long[] at = [0, (4 << 20) - 2, (4 << 20) + 10, (8 << 20) - 3, (12 << 20) - 7];
        foreach (var o in at) "7ab9"u8.CopyTo(data.AsSpan((int)o));
        long wideAt = (6 << 20) + 1;
        "e\0v\0a\0l\0(\0"u8.CopyTo(data.AsSpan((int)wideAt));
        var rules = Y.Compile("""
            rule everywhere { strings: $a = /[0-9][a-c]{2}[0-9]/ condition: $a }
            rule bounded { strings: $w = /\beval\s*\(/ wide ascii condition: $w }
            """);
        var m = rules.Scan(data);
        Assert.Equal(at, m.Single(x => x.Rule.Name == "everywhere").Strings.Select(x => x.Offset).ToArray());
        var w = m.Single(x => x.Rule.Name == "bounded").Strings.Single();
        Assert.Equal((wideAt, 10), (w.Offset, w.Length));
    }

    [Fact]
    public void Output_formatting_matches_yara_cli()
    {
        var rules = Y.Compile("rule t { strings: $a = \"hello\" nocase wide ascii $b = { 00 01 } condition: any of them }");
        var sb = new StringBuilder();
        foreach (var m in rules.Scan(Y.B("hello\0\x01 h\0e\0l\0l\0o\0"))) YaraText.AppendMatch(sb, m, "a.bin", printStrings: true);
        Assert.Equal("t a.bin\n0x0:$a: hello\n0x8:$a: h\\x00e\\x00l\\x00l\\x00o\\x00\n0x5:$b: 00 01\n", sb.ToString());
    }
}
