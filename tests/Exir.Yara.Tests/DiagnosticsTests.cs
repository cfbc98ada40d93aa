using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

public class DiagnosticsTests
{
    private static (YaraCompiler C, YaraRules R) Compile(string src)
    {
        var c = new YaraCompiler();
        c.AddSource(src, "bad.yar");
        return (c, c.Compile());
    }

    [Fact]
    public void Syntax_error_names_line_and_rule_and_the_other_rules_still_compile()
    {
        var (c, r) = Compile("""
            rule good1 { condition: true }

            rule broken {
              strings: $a = "x"
              condition: $a and and
            }
            rule good2 { strings: $b = "y" condition: $b }
            """);
        var d = Assert.Single(c.Diagnostics);
        Assert.True(d.IsError);
        Assert.Equal("broken", d.Rule);
        Assert.Equal(5, d.Line);
        Assert.Equal("bad.yar", d.Origin);
        Assert.Equal(["good1", "good2"], r.Rules.Select(x => x.Name).ToArray());
    }

    [Theory]
    [InlineData("rule a { condition: for any i, j in (1..2) : ( true ) }", "several variables")]
    [InlineData("import \"pe\"\nrule a { condition: pe.is_signed }", "pe.is_signed")]
    [InlineData("import \"pe\"\nrule a { condition: pe.signatures[0].verified }", "pe.signatures")]
    public void Unsupported_features_skip_the_rule_with_the_feature_named(string src, string feature)
    {
        var (c, r) = Compile(src + "\nrule ok { condition: true }");
        var d = Assert.Single(c.Diagnostics, x => x.Rule == "a");
        Assert.False(d.IsError);
        Assert.Contains(feature, d.Message);
        Assert.Equal(["ok"], r.Rules.Select(x => x.Name).ToArray());
    }

    [Fact]
    public void Rules_depending_on_a_skipped_rule_are_skipped_too()
    {
        var (c, r) = Compile("""
            rule a { strings: $a = "x" condition: $a and for any i, j in (1..2) : ( true ) }
            rule b { condition: a }
            rule c { condition: true }
            """);
        Assert.Contains(c.Diagnostics, d => d.Rule == "b" && d.Message.Contains("skipped rule a"));
        Assert.Equal(["c"], r.Rules.Select(x => x.Name).ToArray());
    }

    [Theory]
    [InlineData("rule a { strings: $a = \"x\" condition: $b }", "undefined string")]
    [InlineData("rule a { condition: nothing_here }", "undefined identifier")]
    [InlineData("rule a { strings: $a = \"x\" xor nocase condition: $a }", "xor nocase")]
    [InlineData("rule a { strings: $a = \"x\" xor(3-1) condition: $a }", "xor range")]
    [InlineData("rule a { strings: $a = \"abc\" base64 nocase condition: $a }", "base64 with nocase")]
    [InlineData("rule a { strings: $a = \"abc\" base64(\"abc\") condition: $a }", "alphabet must be 64")]
    [InlineData("rule a { strings: $a = \"x\" $a = \"y\" condition: $a }", "duplicated string")]
    [InlineData("rule a { strings: $a = \"unterminated condition: $a }", "unterminated string")]
    [InlineData("rule a { strings: $a = /ab(c/ condition: $a }", "missing ')'")]
    [InlineData("rule a { strings: $a = { 4D 5 } condition: $a }", "hex")]
    [InlineData("rule a { strings: $a = { [2] 4D } condition: $a }", "jump")]
    [InlineData("rule a { strings: $a = \"x\" condition: math.entropy(0, 1) > 1 }", "not imported")]
    [InlineData("rule a { strings: $a = \"x\" }", "condition")]
    [InlineData("rule a { condition: true ", "missing '}'")]
    [InlineData("rule a { strings: $a = \"\\q\" condition: $a }", "escape")]
    public void Errors_are_reported_not_thrown(string src, string message)
    {
        var (c, r) = Compile(src);
        Assert.Contains(c.Diagnostics, d => d.IsError && d.Message.Contains(message, StringComparison.OrdinalIgnoreCase));
        Assert.Empty(r.Rules);
    }

    [Fact]
    public void Garbage_and_unreadable_files_are_diagnosed_per_file()
    {
        var dir = TestPaths.NewTempDir("exir-yara");
        var garbage = Path.Combine(dir, "garbage.yar");
        File.WriteAllBytes(garbage, [0xFF, 0xFE, 0x00, 0x7B, 0x7D, 0x22, 0x2F, 0x2A]);
        var good = Path.Combine(dir, "good.yar");
        File.WriteAllText(good, "rule fine { condition: filesize > 0 }");
        var c = new YaraCompiler();
        c.AddFile(garbage, "g");
        c.AddFile(Path.Combine(dir, "missing.yar"), "m");
        c.AddFile(good, "ok");
        Assert.Contains(c.Diagnostics, d => d.Origin == garbage && d.IsError);
        Assert.Contains(c.Diagnostics, d => d.Origin.EndsWith("missing.yar") && d.Message.Contains("cannot read"));
        Assert.Equal(["fine"], c.Compile().Rules.Select(x => x.Name).ToArray());
    }

    [Fact]
    public void Hostile_nesting_and_huge_chains_are_diagnosed_or_evaluated_without_stack_overflow()
    {
        var deepParens = "rule a { condition: " + new string('(', 100_000) + "true" + new string(')', 100_000) + " }";
        var deepNot = "rule b { condition: " + string.Concat(Enumerable.Repeat("not ", 50_000)) + "true }";
        var deepRegex = "rule c { strings: $a = /" + new string('(', 20_000) + "a" + new string(')', 20_000) + "/ condition: $a }";
        var deepHex = "rule d { strings: $a = { 61 " + string.Concat(Enumerable.Repeat("( 62 | ", 5_000)) + "63" + new string(')', 5_000) + " } condition: $a }";
        var stacked = "rule e { strings: $a = /a" + new string('+', 10_000) + "/ condition: $a }";
        var minus = "rule f { condition: " + new string('-', 50_000) + "1 == 1 }";
        var arith = "rule g { condition: 0" + string.Concat(Enumerable.Repeat(" + 1", 50_000)) + " > 0 }";
        var (c, r) = Compile(string.Join("\n", deepParens, deepNot, deepRegex, deepHex, stacked, minus, arith) + "\nrule ok { condition: true }");
        Assert.Equal(7, c.Diagnostics.Count(d => d.IsError));
        Assert.Equal(["ok"], r.Rules.Select(x => x.Name).ToArray());

        // Long flat chains are fine: they are n-ary, not nested.
        var ands = "rule chain { strings: $a = \"x\" condition: $a" + string.Concat(Enumerable.Repeat(" and filesize > 0", 3_000)) + " }";
        var refs = string.Concat(Enumerable.Range(0, 20_000).Select(i => i == 0 ? "private rule p0 { strings: $a = \"x\" condition: $a }\n" : $"private rule p{i} {{ condition: p{i - 1} }}\n")) + "rule last { condition: p19999 }";
        var (c2, r2) = Compile(ands + "\n" + refs);
        Assert.Empty(c2.Diagnostics);
        var hits = new List<string>();
        var t = new Thread(() => hits.AddRange(r2.Scan("x"u8).Select(m => m.Rule.Name)), 256 * 1024);
        t.Start();
        t.Join();
        Assert.Equal(["chain", "last"], hits);
    }

    [Fact]
    public void Random_mutations_of_a_rule_file_never_throw()
    {
        const string src = """
            import "math"
            rule r1 : tag { meta: a = "b" strings: $a = "ab\x41" nocase wide $h = { 4D ?? [1-2] (5A | 4B) } $r = /a[bc]+\s{1,3}d/i
              condition: (#a > 1 or $h at 0) and math.entropy(0, filesize) < 7 and for any i in (1..#r) : ( @r[i] < 100 ) }
            """;
        var rng = new Random(4);
        const string alphabet = "{}()[]\"/\\$#@!=<>.:*?|~ \nabAB01x";
        for (int k = 0; k < 400; k++)
        {
            var chars = src.ToCharArray().ToList();
            for (int m = 0; m < 1 + rng.Next(4); m++)
            {
                int pos = rng.Next(chars.Count);
                switch (rng.Next(3))
                {
                    case 0: chars.RemoveAt(pos); break;
                    case 1: chars.Insert(pos, alphabet[rng.Next(alphabet.Length)]); break;
                    default: chars[pos] = alphabet[rng.Next(alphabet.Length)]; break;
                }
            }
            var c = new YaraCompiler();
            c.AddSource(new string(chars.ToArray()), "mutant.yar");
            Assert.DoesNotContain(c.Diagnostics, d => d.Message.StartsWith("internal error"));
            var rules = c.Compile();
            rules.Scan("MZab ab\0AB\0 abc  d"u8);
        }
    }
}
