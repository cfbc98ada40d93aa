using System.Text;
using Exir.Core.Findings;
using Exir.Detection.Files;

namespace Exir.Detection.Tests;

/// <summary>The built-in rules on the normalised text of a page: found, with evidence that points back into the file.</summary>
public sealed class FilesNormalisedScanTests
{
    private const string Folder = "C/inetpub/wwwroot/aspnet_client/system_web";

    // Written for this test: the shell object's name spelled in pieces and a character code.
    private const string SplitShell =
        "<%\nDim o\nSet o = Server.CreateObject(\"WScr\" & Chr(105) & \"pt.Sh\" & \"ell\")\no.Run \"cmd /c \" & Request.Form(\"c\"), 0, True\nEnd If\n%>";

    [Fact]
    public void A_shell_object_spelled_in_pieces_is_found_in_the_normalised_text()
    {
        var bytes = Encoding.UTF8.GetBytes(SplitShell);
        var findings = FilesTestSupport.InspectBytes(FilesTestSupport.Detector(), $"{Folder}/p.asp", bytes);
        var f = Assert.Single(findings, x => x.RuleId == "yara:EXIR_WebShell_Script_Shell_Object");
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal("command-exec", f.Details["meta.capability"]);
        Assert.StartsWith("normalised text", f.Details["matched_in"], StringComparison.Ordinal);
        // $obj1 is only in the normalised text: marked, and its offset is where "Server.CreateObject(" starts in the file.
        Assert.Contains($"$obj1@{SplitShell.IndexOf("CreateObject", StringComparison.Ordinal)} (in normalised text)", f.Details["matched_strings"]);
        Assert.Contains("(in normalised text): CreateObject(\"WScript.Shell", f.Evidence);
        // $call is in the file as it is: a plain raw offset.
        Assert.Contains($"$call@{SplitShell.IndexOf(".Run ", StringComparison.Ordinal)},", f.Details["matched_strings"] + ",");
    }

    [Fact]
    public void The_raw_scan_alone_does_not_see_it_and_user_rules_see_raw_bytes_only()
    {
        var bytes = Encoding.UTF8.GetBytes(SplitShell);
        var facts = new FileFacts("p.asp", $"{Folder}/p.asp", "asp");
        Assert.DoesNotContain(FilesTestSupport.BuiltInRules.ScanRaw(bytes.AsSpan(), facts, []), m => m.Rule == "EXIR_WebShell_Script_Shell_Object");
        var user = YaraContentRules.FromSource("rule U { strings: $a = \"WScript.Shell\" condition: $a }", "user/u.yar", builtIn: false);
        Assert.Empty(user.Scan(bytes.AsMemory(), facts, []));
        var builtIn = YaraContentRules.FromSource("rule U { strings: $a = \"WScript.Shell\" condition: $a }", "rules/yara/u.yar", builtIn: true);
        var m = Assert.Single(builtIn.Scan(bytes.AsMemory(), facts, []));
        Assert.True(Assert.Single(m.Strings).InNormalisedText);
    }

    [Fact]
    public void With_user_rules_loaded_the_built_in_rules_still_see_the_normalised_text_and_the_user_rules_do_not()
    {
        var dir = Directory.CreateTempSubdirectory("exir-normalised-");
        try
        {
            var rule = Path.Combine(dir.FullName, "u.yar");
            File.WriteAllText(rule, "rule User_WScript { strings: $a = \"WScript.Shell\" nocase condition: $a }");
            var rules = YaraContentRules.Load(FilesTestSupport.Rules, [rule]);
            var matches = rules.Scan(Encoding.UTF8.GetBytes(SplitShell).AsMemory(), new FileFacts("p.asp", "p.asp", "asp"), []);
            Assert.Contains(matches, m => m.Rule == "EXIR_WebShell_Script_Shell_Object" && m.BuiltIn);
            Assert.DoesNotContain(matches, m => m.Rule == "User_WScript");
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void A_page_that_only_builds_ordinary_text_from_pieces_stays_quiet()
    {
        const string page = "<%\nDim t\nt = \"Wel\" & \"come, \" & Chr(34) & Server.HTMLEncode(Request.Form(\"name\")) & Chr(34)\nResponse.Write t\nEnd If\n%>";
        Assert.Empty(FilesTestSupport.InspectBytes(FilesTestSupport.Detector(), "C/inetpub/wwwroot/legacy/hello.asp", Encoding.UTF8.GetBytes(page)));
    }
}
