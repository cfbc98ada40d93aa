using Exir.Cli.Commands;
using Exir.Tests;

namespace Exir.Yara.Tests;

/// <summary>`exir yara` prints yara's compiler warnings on stderr and stops with exit 2 and a message (never an internal
/// exception's text) when a rule file does not compile.</summary>
public class YaraCommandWarningTests
{
    private static (int Exit, string Out, string Err) Yara(string rules, string data, bool printWarnings = true)
    {
        var dir = TestPaths.NewTempDir("exir-yara-warn");
        var ruleFile = Path.Combine(dir, "r.yar");
        File.WriteAllText(ruleFile, rules);
        var target = Path.Combine(dir, "t.bin");
        File.WriteAllText(target, data);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = YaraCommand.Run([ruleFile], target, false, false, [], 1 << 20, 1, false, stdout, stderr, true, null, printWarnings);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Warnings_go_to_stderr_and_the_rule_still_runs_unless_w()
    {
        const string rules = """
            rule slow { strings: $a = { 01 } condition: $a }
            rule never { strings: $b = "abc" condition: 2 of them }
            rule dotstar { strings: $c = /abcd.*efgh/ condition: $c }
            """;
        var (exit, stdout, stderr) = Yara(rules, "x\x01y abcd--efgh");
        Assert.Equal(1, exit);
        Assert.Contains("slow ", stdout);
        Assert.Contains("dotstar ", stdout);
        Assert.Contains("r.yar(1): warning rule slow: string \"$a\" may slow down scanning", stderr);
        Assert.Contains("warning rule never: expression always false: requesting 2 of 1", stderr);
        Assert.Contains("warning rule dotstar: $c contains .*", stderr);

        var quiet = Yara(rules, "x\x01y", printWarnings: false);
        Assert.Equal(1, quiet.Exit);
        Assert.Equal("", quiet.Err);
    }

    [Theory]
    [InlineData("rule a {\n strings: $a = \"x\"\n condition: true }", "(2): error rule a: unreferenced string \"$a\"")]
    [InlineData("rule a {\n condition:\n 0x7FFFFFFFFFFFFFFF + 1 > 0 }", "(3): error rule a: integer overflow")]
    [InlineData("rule a { strings: $a = /b{1,4294967297}/ condition: $a }", "repeat interval too large")]
    [InlineData("rule a { strings: $a = { 61 [0-4294967297] 62 } condition: $a }", "bad jump")]
    [InlineData("rule a : t1 t1 { condition: true }", "duplicated tag identifier \"t1\"")]
    [InlineData("rule a { strings: $a = \"ab\" xor xor condition: $a }", "duplicated modifier 'xor'")]
    [InlineData("rule true { condition: true }", "'true' is a keyword")]
    public void A_rule_file_that_does_not_compile_exits_2_with_a_message(string rules, string message)
    {
        var (exit, stdout, stderr) = Yara(rules, "data");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("internal error", stderr);
    }
}
