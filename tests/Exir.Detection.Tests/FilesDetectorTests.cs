using System.Security.Cryptography;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Evidence;
using Exir.Core.Findings;
using Exir.Detection.Files;
using Exir.Pipeline;
using Exir.Tests;

namespace Exir.Detection.Tests;

/// <summary>The file hunt's checks on synthetic files written for these tests (no corpus samples).</summary>
public sealed class FilesDetectorTests
{
    private const string OwaAuth = "C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth";
    private const string AspnetClient = "C/inetpub/wwwroot/aspnet_client/system_web";
    private static readonly byte[] Chopper = "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"k7\"],\"unsafe\");%>"u8.ToArray();

    private static IReadOnlyList<Finding> Inspect(string path, byte[] content, RunOptions? options = null, DateTimeOffset? mtime = null) =>
        FilesTestSupport.InspectBytes(FilesTestSupport.Detector(options), path, content, mtime);

    [Fact]
    public void A_chopper_page_in_aspnet_client_is_a_critical_success_with_evidence()
    {
        var findings = Inspect($"{AspnetClient}/errorcheck2.aspx", Chopper, mtime: new DateTimeOffset(2021, 3, 3, 5, 0, 0, TimeSpan.Zero));
        var yara = Assert.Single(findings, f => f.RuleId == "yara:EXIR_WebShell_JScript_Eval_Request");
        Assert.Equal(Severity.Critical, yara.Severity);
        Assert.Equal(Outcome.Success, yara.Outcome);
        Assert.Equal($"{AspnetClient}/errorcheck2.aspx", yara.Artifact);
        Assert.Contains("eval(", yara.Evidence);
        Assert.Equal("EXIR-WS-001", yara.Details["meta.id"]);
        Assert.Contains("$eval@", yara.Details["matched_strings"]);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Chopper)), yara.Details["sha256"]);
        Assert.Equal("2021-03-03T05:00:00Z", yara.Details["file_modified_utc"]);
        Assert.Contains("T1505.003", yara.Attack);
        // aspnet_client holds no pages at all: also the allow-list finding.
        Assert.Contains(findings, f => f.RuleId == FileHuntRules.UnexpectedScriptId && f.Severity == Severity.Medium);
    }

    [Theory]
    // Spellings the rules were not written from: new passwords, spacing, languages, comment padding.
    [InlineData("<%@ Page Language = \"JScript\" %>\n<% var x = Request.Form(\"q\"); eval ( x , \"unsafe\" ) ; %>")]
    [InlineData("<%@ WebHandler Language=\"JavaScript\" Class=\"H\" %>\nimport System.Web; class H implements IHttpHandler { function ProcessRequest(c : HttpContext) { eval(c.Request[\"z\"]); } function get IsReusable() : Boolean { return false; } }")]
    [InlineData("<% ExecuteGlobal Request.Form(\"payload\") %>")]
    [InlineData("<%\r\nDim c\r\nc = Request.QueryString(\"c\")\r\nExecute c\r\n%>")]
    [InlineData("<%@ Page Language=\"C#\" %><% var p = new System.Diagnostics.ProcessStartInfo(\"powershell.exe\", Request[\"a\"]); p.UseShellExecute = false; System.Diagnostics.Process.Start(p); %>")]
    [InlineData("<%@ Page Language=\"C#\" %><% System.Reflection.Assembly.Load(Convert.FromBase64String(Request.Form[\"b\"])).CreateInstance(\"X\").Equals(Context); %>")]
    [InlineData("<%@ Page Language=\"C#\" %><% Request.Files[0].SaveAs(Request.Form[\"dest\"]); %>")]
    [InlineData("<%@ WebHandler Language=\"C#\" Class=\"H\" %>\npublic class H : System.Web.IHttpHandler { public void ProcessRequest(System.Web.HttpContext context) { System.Diagnostics.Process.Start(context.Request[\"f\"], context.Request[\"a\"]); } public bool IsReusable { get { return false; } } }")]
    [InlineData("<%@ Page Language=\"C#\" %><% new System.Web.UI.LosFormatter().Deserialize(Request.Form[\"__STATE2\"]); %>")]
    [InlineData("<%@ Page Language=\"VB\" %><% Shell(\"cmd.exe /c \" & Request(\"c\")) %>")]
    [InlineData("<%@ Page Language=\"C#\" %><% System.IO.File.AppendAllText(@\"C:\\ProgramData\\l.txt\", Request.Form[\"username\"] + \":\" + Request.Form[\"password\"]); %>")]
    [InlineData("<script runat=\"server\" language=\"VBScript\">Set s = CreateObject(\"WScript.Shell\") : s.Run Request(\"c\")</script>")]
    public void Unseen_shell_spellings_are_found(string page)
    {
        var findings = Inspect("x/new.aspx", Encoding.UTF8.GetBytes(page));
        Assert.Contains(findings, f => f.RuleId.StartsWith("yara:", StringComparison.Ordinal) && f.Severity >= Severity.High);
    }

    [Theory]
    // Ordinary code that uses the same APIs without handing request data to them.
    [InlineData("<%@ Page Language=\"C#\" %><script>var d = eval(xhr.responseText); var request = {}; eval(request.responseText);</script>")]
    [InlineData("<%@ Page Language=\"C#\" %><% FileUpload1.SaveAs(Server.MapPath(\"~/uploads/\") + Path.GetFileName(FileUpload1.FileName)); %>")]
    [InlineData("<%@ Page Language=\"C#\" %><% var rows = cmd.ExecuteReader(); Process.GetCurrentProcess().Refresh(); %><link href=\"/css/site.css\" />")]
    [InlineData("<% Set rs = conn.Execute(\"SELECT * FROM news\") : Server.Execute(\"footer.asp\") %>")]
    [InlineData("<%@ Page Language=\"C#\" %><%# Eval(\"Title\") %><%# DataBinder.Eval(Container.DataItem, \"Name\") %>")]
    [InlineData("<%@ Page Language=\"C#\" %><% var name = Path.GetFileName(Request.QueryString[\"f\"]); Response.TransmitFile(Server.MapPath(\"~/docs/\" + name)); %>")]
    [InlineData("<%@ Page Language=\"C#\" %><% Response.TransmitFile(Server.MapPath(Request[\"file\"])); FileUpload1.SaveAs(Server.MapPath(Request.ApplicationPath) + \"/img/\" + FileUpload1.FileName); %>")]
    [InlineData("<%@ Page Language=\"VB\" %><script runat=\"server\">Sub Execute(ByVal s As String)\r\nLabel1.Text = s\r\nEnd Sub</script>")]
    public void Benign_lookalikes_are_not_flagged(string page)
    {
        var findings = Inspect("site/page.aspx", Encoding.UTF8.GetBytes(page));
        Assert.DoesNotContain(findings, f => f.RuleId.StartsWith("yara:", StringComparison.Ordinal));
    }

    [Fact]
    public void Compiled_page_assemblies_with_shell_behaviour_are_found_and_ordinary_ones_are_not()
    {
        // Metadata strings as a compiled App_Web page carries them (names ASCII, user strings UTF-16).
        static byte[] Dll(params string[] ascii) =>
            [.. "MZ"u8, .. new byte[126], .. ascii.SelectMany(a => Encoding.ASCII.GetBytes(a + "\0"))];
        var chopper = Dll("App_Web_k2x0q1ab", "errorcheck_aspx", "System.Web.UI.Page", "get_Request", "get_Item", "Microsoft.JScript", "JScriptEvaluate")
            .Concat(Encoding.Unicode.GetBytes("unsafe")).ToArray();
        var ordinary = Dll("App_Web_logon.aspx.cdcab7d2", "logon_aspx", "System.Web.UI.Page", "get_Request", "get_Item", "get_Response", "Write", "Load", "CreateInstance", "CreateDecryptor");
        var loader = Dll("App_Web_tq1mz0rx", "help_aspx", "get_Request", "BinaryRead", "System.Reflection", "Assembly", "Load", "CreateInstance");
        Assert.Contains(Inspect("inetpub/wwwroot/bin/App_Web_tq1mz0rx.dll", loader), f => f.RuleId == "yara:EXIR_Exchange_Compiled_Shell_Assembly");
        const string temp = "Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/owa/5f7b3a1c/App_Web_x.dll";
        Assert.Contains(Inspect(temp, chopper), f => f.RuleId == "yara:EXIR_Exchange_Compiled_Shell_Assembly" && f.Severity == Severity.Critical);
        Assert.DoesNotContain(Inspect(temp, ordinary), f => f.RuleId.StartsWith("yara:", StringComparison.Ordinal));
    }

    [Fact]
    public void Exchange_binaries_and_script_bundles_in_web_folders_are_not_taken_for_pages()
    {
        // An Exchange assembly names many "dangerous" APIs in its metadata; a client bundle has request()/fill() calls.
        byte[] dll = [.. "MZ"u8, .. new byte[126], .. Encoding.ASCII.GetBytes(
            "ProcessStartInfo\0GetLogicalDrives\0ServiceController\0LogonUser\0IHttpHandler\0XslCompiledTransform\0get_TrustedXslt\0RijndaelManaged\0CreateDecryptor\0Load\0CreateInstance\0")];
        const string bin = "V15/ClientAccess/ecp/bin/Microsoft.Exchange.Management.ControlPanel.dll";
        Assert.Empty(Inspect(bin, dll));
        var js = "var connectionRequest=request(u);ctx.fill();function k(e){return eval(session[e])}new ActiveXObject(\"WScript.Shell\").Run(x);"u8.ToArray();
        Assert.Empty(Inspect("V15/ClientAccess/Owa/prem/15.2.1544.4/scripts/boot.worker.js", js));
    }

    [Fact]
    public void App_Code_sources_are_server_code_too()
    {
        var cs = "using System.Web;\npublic class Ping : IHttpHandler { public void ProcessRequest(HttpContext context) { System.Diagnostics.Process.Start(\"cmd.exe\", \"/c \" + context.Request[\"h\"]); } public bool IsReusable => false; }"u8.ToArray();
        Assert.Contains(Inspect("inetpub/wwwroot/App_Code/Ping.cs", cs, new RunOptions { Deep = false }), f => f.RuleId == "yara:EXIR_WebShell_NET_Process_Shell");
    }

    [Fact]
    public void Utf16_pages_are_decoded_before_the_rules_run()
    {
        var utf16 = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(Chopper))).ToArray();
        var f = Assert.Single(Inspect("x/u.aspx", utf16), f => f.RuleId == "yara:EXIR_WebShell_JScript_Eval_Request");
        Assert.Equal("utf-16le decoded to utf-8", f.Details["scanned_as"]);
    }

    [Fact]
    public void Exchange_pages_on_the_allow_list_are_quiet_and_others_are_reported()
    {
        var page = "<%@ Page Language=\"C#\" Inherits=\"Microsoft.Exchange.Clients.Owa.Core.OwaPage\" %>"u8.ToArray();
        Assert.Empty(Inspect($"{OwaAuth}/logon.aspx", page));
        Assert.Empty(Inspect($"{OwaAuth.ToLowerInvariant()}/LOGON.ASPX", page));
        var odd = Assert.Single(Inspect($"{OwaAuth}/OutlookJP.aspx", page));
        Assert.Equal(FileHuntRules.UnexpectedScriptId, odd.RuleId);
        Assert.Equal(Outcome.Indicator, odd.Outcome);
        // Version and Current folders below owa/auth ship no pages; ecp/auth only TimeoutLogout.aspx.
        Assert.Single(Inspect($"{OwaAuth}/15.2.1544.4/scripts/x.aspx", page));
        Assert.Empty(Inspect("Exchange/V15/FrontEnd/HttpProxy/ecp/auth/TimeoutLogout.aspx", page));
        Assert.Single(Inspect("Exchange/V15/FrontEnd/HttpProxy/ecp/auth/Timeout.aspx", page));
        // Non-script files in watched folders are not pages.
        Assert.Empty(Inspect($"{OwaAuth}/15.2.1544.4/scripts/boot.js", "var a = 1;"u8.ToArray()));
    }

    [Fact]
    public void Published_drop_paths_are_reported_even_for_harmless_content()
    {
        var f = Assert.Single(Inspect("mnt/c/inetpub/wwwroot/aspnet_client/supp0rt.aspx", "hello"u8.ToArray()));
        Assert.Equal(FileHuntRules.KnownShellPathId, f.RuleId);
        Assert.Equal(Severity.High, f.Severity);
        Assert.Contains("supp0rt.aspx", f.Details["ioc"]);
    }

    [Fact]
    public void Known_bad_hashes_match_on_content()
    {
        var detector = FilesTestSupport.Detector();
        var anyHash = detector.Iocs.Hashes.First(h => h.Type == "sha256");
        // Content with that hash cannot be made; check the lookup and the report path with a list of our own.
        Assert.NotNull(detector.Iocs.MatchHash(anyHash.Value.ToUpperInvariant().ToLowerInvariant()));

        var dir = TestPaths.NewTempDir();
        var rules = Path.Combine(dir, "rules");
        CopyRules(rules);
        var content = "just some bytes an attacker dropped"u8.ToArray();
        File.AppendAllText(Path.Combine(rules, "iocs", "local.tsv"),
            $"md5\t{Convert.ToHexStringLower(MD5.HashData(content))}\tlocal case indicator\tcase 42\tanalyst\n");
        var d = new FileHunt(new RunOptions { Deep = true }, new Exir.Core.DataFiles("rules", typeof(FileHunt).Assembly, rules), FilesTestSupport.BuiltInRules, new BuildHints());
        var f = Assert.Single(FilesTestSupport.InspectBytes(d, "C/ProgramData/x.bin", content), x => x.RuleId == FileHuntRules.KnownBadHashId);
        Assert.Equal(Outcome.Success, f.Outcome);
        Assert.Equal("case 42", f.Details["ioc_campaign"]);
    }

    [Fact]
    public void Hash_list_holds_every_published_hash_of_the_reference()
    {
        Assert.SkipUnless(TestPaths.HasShared, "shared knowledge not available");
        var reference = File.ReadLines(TestPaths.InShared("knowledge", "file-iocs.tsv"))
            .Select(l => l.Split('\t'))
            .Where(f => f[0] is "sha256" or "sha1" or "md5")
            .Select(f => (Type: f[0], Hash: f[1].ToLowerInvariant()))
            .ToList();
        var iocs = FilesTestSupport.Detector().Iocs;
        Assert.NotEmpty(reference);
        foreach (var (type, hash) in reference)
        {
            var hit = iocs.MatchHash(hash);
            Assert.True(hit is not null, $"{type} {hash} missing from rules/iocs");
            Assert.Equal(type, hit!.Type);
        }
        Assert.Equal(reference.Select(r => r.Hash).Distinct().Count(), iocs.HashCount);
    }

    [Fact]
    public void A_pst_saved_as_a_page_is_proxyshell()
    {
        var pst = new byte[4096];
        "!BDN"u8.CopyTo(pst);
        var f = Assert.Single(Inspect($"{OwaAuth}/../../../../../../inetpub/wwwroot/aspnet_client/x.aspx".Replace("/../../../../../..", ""), pst),
            x => x.RuleId == FileHuntRules.ProxyShellPstId);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains("CVE-2021-34473", f.Cves);
        // A real PST elsewhere is not a page.
        Assert.DoesNotContain(Inspect("Users/a/Documents/archive.pst", pst, new RunOptions { Deep = true }), x => x.RuleId == FileHuntRules.ProxyShellPstId);
    }

    [Fact]
    public void Oab_export_with_script_in_ExternalUrl_is_found()
    {
        var export = Encoding.UTF8.GetBytes("Name          : OAB (Default Web Site)\r\nInternalUrl   : https://ex01.contoso.local/OAB\r\n" +
                                             "ExternalUrl   : http://x/<script language=\"JScript\" runat=\"server\">function Page_Load(){eval(Request[\"p\"],\"unsafe\");}</script>\r\n");
        var findings = Inspect("C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/oabexport.aspx", export);
        Assert.Contains(findings, f => f.RuleId == "yara:EXIR_Exchange_OAB_ExternalUrl_Script" && f.Outcome == Outcome.Success);
    }

    [Fact]
    public void Huge_files_are_scanned_up_to_the_cap_and_reported_in_coverage()
    {
        var content = new byte[200_000];
        Chopper.CopyTo(content, 0);
        var ctx = FilesTestSupport.Context(new SingleFileEvidenceSource("/dev/null"), new RunOptions { MaxBytesPerFile = 1000 });
        var detector = FilesTestSupport.Detector(new RunOptions { MaxBytesPerFile = 1000 });
        var findings = FilesTestSupport.InspectBytes(detector, "x/big.aspx", content, context: ctx);
        var f = Assert.Single(findings, x => x.RuleId == "yara:EXIR_WebShell_JScript_Eval_Request");
        Assert.StartsWith("(not computed", f.Details["sha256"]);
        Assert.Contains(ctx.Coverage.Issues, i => i.Kind == IssueKind.TooLarge && i.Path == "x/big.aspx");
    }

    [Fact]
    public void Unreadable_files_are_reported_and_the_hunt_goes_on()
    {
        var ctx = FilesTestSupport.Context(new SingleFileEvidenceSource("/dev/null"));
        var detector = FilesTestSupport.Detector();
        var broken = new EvidenceFile("x/locked.aspx", 10, null, () => throw new IOException("locked by w3wp"));
        var probe = new ArtifactProbe { File = broken, Kind = ArtifactKind.WebFile, Head = ReadOnlyMemory<byte>.Empty };
        detector.Inspect(probe, ctx);
        Assert.Contains(ctx.Coverage.Issues, i => i.Kind == IssueKind.Unreadable && i.Path == "x/locked.aspx");
        Assert.NotEmpty(FilesTestSupport.InspectBytes(detector, "x/next.aspx", Chopper, context: ctx));
    }

    [Fact]
    public void User_rule_folders_add_rules_and_malformed_files_are_reported_not_fatal()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "good.yar"), "rule Local_Marker { meta: description = \"case marker\" score = 70 strings: $a = \"CASE-42-MARKER\" condition: $a }");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "sub", "broken.yara"), "rule Broken { strings: $a = \"x\" condition: $a and and }");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "not a rule file");
        var content = YaraContentRules.Load(FilesTestSupport.Rules, [dir, Path.Combine(dir, "missing")]);
        Assert.Contains(content.Problems, p => p.Path.Contains("broken.yara"));
        Assert.Contains(content.Problems, p => p.Path.EndsWith("missing", StringComparison.Ordinal));

        var ctx = FilesTestSupport.Context(new SingleFileEvidenceSource("/dev/null"));
        var detector = FilesTestSupport.Detector(content: content);
        var findings = FilesTestSupport.InspectBytes(detector, "x/a.aspx", "hello CASE-42-MARKER"u8.ToArray(), context: ctx);
        var f = Assert.Single(findings, x => x.RuleId == "yara:Local_Marker");
        Assert.Equal(Severity.Medium, f.Severity);
        Assert.Equal("user rules (--yara)", f.Details["rule_source"]);
        Assert.Contains(ctx.Coverage.Issues, i => i.Kind == IssueKind.RuleSkipped && i.Path.Contains("broken.yara"));
    }

    [Fact]
    public void Wants_web_files_anywhere_web_folders_always_and_everything_when_deep()
    {
        var d = FilesTestSupport.Detector();
        var deep = FilesTestSupport.Detector(new RunOptions { Deep = true });
        var ctx = FilesTestSupport.Context(new SingleFileEvidenceSource("/dev/null"));
        ArtifactProbe P(string path, ArtifactKind kind) => new()
        {
            File = new EvidenceFile(path, 1, null, () => new MemoryStream([1])), Kind = kind, Head = new byte[] { 1 },
        };
        Assert.True(d.Wants(P("anything/x.aspx", ArtifactKind.WebFile), ctx));
        Assert.True(d.Wants(P("C/inetpub/wwwroot/aspnet_client/noext", ArtifactKind.Unknown), ctx));
        Assert.True(d.Wants(P("c/PROGRAM FILES/microsoft/exchange server/v15/frontend/httpproxy/oab/x.bin", ArtifactKind.Unknown), ctx));
        Assert.True(d.Wants(P("Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/owa/a/App_Web_x.dll", ArtifactKind.Executable), ctx));
        Assert.False(d.Wants(P("Windows/System32/notepad.exe", ArtifactKind.Executable), ctx));
        Assert.True(d.Wants(P("D/sites/shop/Web.Config", ArtifactKind.ConfigFile), ctx));
        Assert.False(d.Wants(P("Windows/Microsoft.NET/Framework64/v4.0.30319/Config/machine.config", ArtifactKind.ConfigFile), ctx));
        Assert.True(deep.Wants(P("Windows/System32/notepad.exe", ArtifactKind.Executable), ctx));
    }

    internal static void CopyRules(string to)
    {
        var from = Path.Combine(TestPaths.RepoRoot, "rules");
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest);
        }
    }
}
