using System.Diagnostics;
using System.Text;
using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

/// <summary>
/// Property-style differential test against the installed yara: random small buffers with planted strings
/// (case variants, UTF-16, word edges) and random rules (text modifiers, hex wildcards/jumps/alternatives,
/// regexes, counts, offsets, loops). yara -s output and exir's must be identical.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public class LiveYaraDifferentialTests(ITestOutputHelper output)
{
    private const string Yara = "/usr/bin/yara";

    /// <summary>Three fixed seeds; set EXIR_YARA_FUZZ_SEEDS=N to run N more for a longer hunt.</summary>
    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int> { 11, 12, 13 };
        if (int.TryParse(Environment.GetEnvironmentVariable("EXIR_YARA_FUZZ_SEEDS"), out var n))
            for (int i = 0; i < n; i++) data.Add(1000 + i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_rules_and_buffers_match_yara(int seed)
    {
        if (!File.Exists(Yara)) Assert.Skip("yara not installed");
        var dir = TestPaths.NewTempDir("exir-yara-live");
        try { Check(seed, dir); }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private void Check(int seed, string dir)
    {
        var rng = new Random(seed);
        var dataDir = Path.Combine(dir, "data");
        Directory.CreateDirectory(dataDir);

        var gen = new Gen(rng);
        var rules = new StringBuilder("import \"math\"\n");
        for (int i = 0; i < 120; i++) rules.Append(gen.Rule($"r{i}"));
        var ruleFile = Path.Combine(dir, "fuzz.yar");
        File.WriteAllText(ruleFile, rules.ToString(), new UTF8Encoding(false));
        for (int i = 0; i < 40; i++) File.WriteAllBytes(Path.Combine(dataDir, $"f{i:D2}.bin"), gen.Buffer());

        var yara = Run(Yara, ["-w", "-s", "-r", ruleFile, dataDir]);
        Assert.True(yara.Exit == 0, "yara failed: " + yara.Err + "\n" + rules);

        var c = new YaraCompiler();
        c.AddFile(ruleFile);
        Assert.True(c.Diagnostics.Count == 0, string.Join("\n", c.Diagnostics));
        var compiled = c.Compile();
        var mine = new StringBuilder();
        foreach (var f in Directory.GetFiles(dataDir).Order(StringComparer.Ordinal))
            foreach (var m in compiled.ScanFile(f)) YaraText.AppendMatch(mine, m, f, printStrings: true);

        var expected = Blocks(yara.Out);
        var actual = Blocks(mine.ToString());
        var diffs = new List<string>();
        foreach (var key in expected.Keys.Union(actual.Keys).Order(StringComparer.Ordinal))
        {
            expected.TryGetValue(key, out var e);
            actual.TryGetValue(key, out var a);
            if (e is null || a is null) { diffs.Add($"{key}: {(e is null ? "only exir" : "only yara")}"); continue; }
            if (!e.SequenceEqual(a)) diffs.Add($"{key}: yara [{string.Join(" | ", e)}] exir [{string.Join(" | ", a)}]");
        }
        output.WriteLine($"{expected.Count} (file, rule) matches from yara");
        if (diffs.Count > 0)
        {
            var rulesByName = rules.ToString().Split('\n').Where(l => l.StartsWith("rule ")).ToDictionary(l => l.Split(' ', 3).ElementAtOrDefault(1) ?? "", l => l);
            foreach (var d in diffs.Take(10)) output.WriteLine(d + "\n   " + rulesByName.GetValueOrDefault(d.Split(' ')[0], ""));
        }
        Assert.True(diffs.Count == 0, $"{diffs.Count} differences, first: {diffs.FirstOrDefault()}");
        Assert.True(expected.Count > 40, "the generator should produce matches");
    }

    private static Dictionary<string, List<string>> Blocks(string text)
    {
        var blocks = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? cur = null;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("0x", StringComparison.Ordinal) && cur is not null) { cur.Add(line); continue; }
            var parts = line.Split(' ', 2);
            blocks[parts[0] + " " + Path.GetFileName(parts[1])] = cur = [];
        }
        return blocks;
    }

    private static (int Exit, string Out, string Err) Run(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, StandardOutputEncoding = Encoding.Latin1 };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o, err.Result);
    }

    /// <summary>Generates rules and buffers over a tiny alphabet so strings collide, overlap and touch word edges.</summary>
    private sealed class Gen(Random rng)
    {
        private const string Alpha = "abcAB1_ -<%";
        private readonly List<string> _planted = ["ab", "abc", "cab", "Abc", "b1", "a_b", "<%", "%ab", "AB", "ca", "bca"];

        private string Pick(IReadOnlyList<string> xs) => xs[rng.Next(xs.Count)];

        private string Word()
        {
            if (rng.Next(3) > 0) return Pick(_planted);
            var sb = new StringBuilder();
            for (int i = 0, n = 1 + rng.Next(3); i < n; i++) sb.Append(Alpha[rng.Next(Alpha.Length - 1)]);
            return sb.ToString();
        }

        public byte[] Buffer()
        {
            var ms = new MemoryStream();
            int parts = rng.Next(1, 25);
            for (int i = 0; i < parts; i++)
            {
                var w = Word();
                switch (rng.Next(8))
                {
                    case 0: foreach (var ch in w) { ms.WriteByte((byte)ch); ms.WriteByte(0); } break; // UTF-16LE
                    case 1: ms.Write(Encoding.Latin1.GetBytes(w.ToUpperInvariant())); break;
                    case 2: ms.WriteByte((byte)rng.Next(256)); break;
                    case 6 when rng.Next(2) == 0:
                        // base64 of planted text at a random alignment, sometimes UTF-16 before or after encoding
                        var raw = Encoding.Latin1.GetBytes(new string('q', rng.Next(3)) + w + Pick(_planted));
                        if (rng.Next(3) == 0) raw = Encoding.Unicode.GetBytes(Encoding.Latin1.GetString(raw));
                        var enc = Convert.ToBase64String(raw);
                        if (rng.Next(3) == 0) enc = string.Concat(enc.Select(ch => ch + "\0"));
                        ms.Write(Encoding.Latin1.GetBytes(enc));
                        break;
                    case 5 when rng.Next(2) == 0:
                        // xor-encoded planting
                        int key = rng.Next(1, 41);
                        foreach (var ch in w) ms.WriteByte((byte)(ch ^ key));
                        break;
                    case 3: ms.WriteByte((byte)'\n'); break;
                    default: ms.Write(Encoding.Latin1.GetBytes(w)); break;
                }
                if (rng.Next(3) == 0) ms.WriteByte((byte)Alpha[rng.Next(Alpha.Length)]);
            }
            return ms.ToArray();
        }

        private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");

        private string TextString()
        {
            if (rng.Next(8) == 0)
            {
                var b64 = new List<string> { rng.Next(3) == 0 ? "base64wide" : "base64" };
                if (rng.Next(3) == 0) b64.Add("wide");
                if (rng.Next(4) == 0) b64.Add("base64wide");
                return $"\"{Escape(Pick(_planted) + Pick(_planted))}\" {string.Join(' ', b64.Distinct())}";
            }
            var mods = new List<string>();
            if (rng.Next(3) == 0) mods.Add("nocase");
            if (rng.Next(3) == 0) mods.Add("wide");
            if (mods.Contains("wide") && rng.Next(2) == 0) mods.Add("ascii");
            if (rng.Next(4) == 0) mods.Add("fullword");
            if (!mods.Contains("nocase") && rng.Next(6) == 0) mods.Add(rng.Next(3) switch { 0 => "xor", 1 => "xor(1)", _ => "xor(2-40)" });
            var w = Word();
            if (rng.Next(6) == 0) w += "\\x00";
            return $"\"{Escape(w).Replace("\\\\x00", "\\x00")}\" {string.Join(' ', mods)}";
        }

        private string HexString()
        {
            var w = Word();
            var parts = new List<string>();
            foreach (var ch in w) parts.Add(((int)ch).ToString("X2"));
            int k = rng.Next(parts.Count);
            switch (rng.Next(5))
            {
                case 0: parts.Insert(k, "??"); parts.Add("6?"); break;
                case 1: parts.Add($"[{rng.Next(0, 2)}-{rng.Next(2, 5)}]"); parts.Add("62"); break;
                case 2: parts.Add("( 61 | 62 63 | 4? )"); break;
                case 3: parts[k] = "?" + parts[k][1]; parts.Add("61"); break;
            }
            if (parts[0] is "??" || parts[0].StartsWith('[')) parts.Insert(0, "61");
            return "{ " + string.Join(' ', parts) + " }";
        }

        private string RegexAtom()
        {
            return rng.Next(9) switch
            {
                0 => "[ab]",
                1 => "[^a\\n]",
                2 => ".",
                3 => "\\w",
                4 => "(a|bc)",
                5 => "\\s",
                6 => "[A-C1]",
                _ => Regex.Escape(Pick(_planted)),
            };
        }

        private static class Regex
        {
            public static string Escape(string s)
            {
                var sb = new StringBuilder();
                foreach (var c in s) sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || c == ' ' ? c.ToString() : "\\" + c);
                return sb.ToString();
            }
        }

        private string RegexString()
        {
            var sb = new StringBuilder();
            if (rng.Next(5) == 0) sb.Append("\\b");
            sb.Append(Regex.Escape(Pick(_planted)));
            for (int i = 0, n = rng.Next(1, 3); i < n; i++)
            {
                sb.Append(RegexAtom());
                switch (rng.Next(6))
                {
                    case 0: sb.Append('+'); break;
                    case 1: sb.Append('?'); break;
                    case 2: sb.Append("{1,3}"); break;
                    case 3: sb.Append('*'); break;
                }
            }
            if (rng.Next(4) == 0) sb.Append("\\b");
            var flags = rng.Next(4) == 0 ? "i" : "";
            var mods = new List<string>();
            if (rng.Next(3) == 0) mods.Add("wide");
            if (mods.Count > 0 && rng.Next(2) == 0) mods.Add("ascii");
            if (rng.Next(5) == 0) mods.Add("nocase");
            if (rng.Next(6) == 0) mods.Add("fullword");
            return $"/{sb}/{flags} {string.Join(' ', mods)}";
        }

        public string Rule(string name)
        {
            int n = rng.Next(1, 4);
            var ids = new List<string>();
            var strings = new StringBuilder();
            for (int i = 0; i < n; i++)
            {
                var id = $"s{i}";
                ids.Add(id);
                var value = rng.Next(10) switch
                {
                    < 5 => TextString(),
                    < 7 => HexString(),
                    _ => RegexString(),
                };
                strings.Append($" ${id} = {value}");
            }
            var a = ids[0];
            var conditions = new[]
            {
                "any of them", "all of them", $"#{a} >= 2", $"${a} at {rng.Next(4)}", $"${a} in (2..{rng.Next(3, 30)})",
                $"@{a}[1] < 10", $"!{a}[1] == {rng.Next(2, 5)}", $"for any i in (1..#{a}) : ( @{a}[i] > 5 )",
                "2 of them", "none of them", $"#{a} == 1 and filesize < 40", $"uint8(0) == 0x61 or ${a}",
                $"for all of them : ( # < 3 )", $"not ${a} and filesize > 5", $"math.entropy(0, filesize) > 3 and any of them",
                $"for any of ($s*) : ( @ < 8 )", $"@{a}[2] - @{a}[1] > 2", $"${a} at @{a}[1] and #{a} > 0",
            };
            var cond = Pick(conditions);
            if (rng.Next(3) == 0) cond = $"({cond}) {(rng.Next(2) == 0 ? "and" : "or")} ({Pick(conditions)})";
            // yara refuses unreferenced strings: make sure all are used.
            if (!cond.Contains("them") && !cond.Contains("$s*")) cond = $"({cond}) or ({string.Join(" and ", ids.Select(i => "$" + i))} and false)";
            return $"rule {name} {{ strings:{strings} condition: {cond} }}\n";
        }
    }
}
