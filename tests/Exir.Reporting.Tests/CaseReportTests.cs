using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Exir.Reporting.CaseReport;

namespace Exir.Reporting.Tests;

/// <summary>The case report's page as text: sections, texts in both languages, escaping, deadlines, the plot's window, snapshots.</summary>
public partial class CaseReportTests
{
    internal static string Render(string lang, ReportOptions? options = null) =>
        CaseHtmlReport.Render(CaseReportFixtures.Snapshot(), CaseReportFixtures.Checklist(lang), lang, options ?? new ReportOptions { ToolVersion = "test", RulesDirectory = Path.Combine(TestPaths.RepoRoot, "rules") });

    [Fact]
    public void EveryTextHasEnglishAndGermanWithTheSamePlaceholders()
    {
        var (texts, version) = CaseReportTexts.Parse(CaseReportTexts.ReadEmbedded());
        Assert.NotEmpty(version);
        Assert.True(texts.Count > 100, "the report's texts are data");
        foreach (var (key, byLang) in texts)
        {
            foreach (var lang in CaseReportTexts.Languages)
                Assert.True(byLang.TryGetValue(lang, out var t) && t.Trim().Length > 0, $"{key}: no {lang} text");
            var en = Placeholders().Matches(byLang["en"]).Select(m => m.Value).Order().ToList();
            var de = Placeholders().Matches(byLang["de"]).Select(m => m.Value).Order().ToList();
            Assert.True(en.SequenceEqual(de), $"{key}: placeholders differ: en {string.Join(",", en)} / de {string.Join(",", de)}");
        }
    }

    [Theory]
    [InlineData("en")]
    [InlineData("de")]
    public void NoTextKeyIsMissingInAFullOrAnEmptyCase(string lang)
    {
        var texts = CaseReportTexts.Load(lang);
        CaseHtmlReport.Render(CaseReportFixtures.Snapshot(), CaseReportFixtures.Checklist(lang), lang, new ReportOptions { Texts = texts });
        CaseHtmlReport.Render(CaseReportFixtures.Empty(), new Exir.Case.Playbook.Checklist([], lang, CaseReportFixtures.Now, "x"), lang, new ReportOptions { Texts = texts });
        Assert.Empty(texts.Missing);
    }

    [Fact]
    public void AMissingKeyShowsTheKeyAndIsCountedButDoesNotFail()
    {
        var texts = CaseReportTexts.Load("de");
        Assert.Equal("[no.such.key]", texts["no.such.key"]);
        Assert.Contains("no.such.key", texts.Missing);
    }

    [Theory]
    [InlineData("en")]
    [InlineData("de")]
    public void EverySectionIsThereInOrderWithItsHeading(string lang)
    {
        var html = Render(lang);
        var texts = CaseReportTexts.Load(lang);
        int last = -1;
        foreach (var id in CaseHtmlReport.SectionIds)
        {
            int at = html.IndexOf($"<section id=\"{id}\"><h2>{CaseHtmlReport.Escape(texts["section." + id])}", StringComparison.Ordinal);
            Assert.True(at > last, $"section {id} missing or out of order");
            last = at;
        }
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains($"<html lang=\"{lang}\">", html);
    }

    [Fact]
    public void HostileEvidenceIsEscapedAndControlCharactersAreVisible()
    {
        foreach (var lang in new[] { "en", "de" })
        {
            var html = Render(lang);
            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("href=\"javascript", html, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;", html);
            Assert.DoesNotContain(CaseReportFixtures.Rtl, html);
            Assert.DoesNotContain("\u001b", html);
            Assert.Contains(@"\u202e", html);
            Assert.Contains(@"\x1b[31m", html);
            Assert.Contains("default-src 'none'", html);
            Assert.DoesNotMatch("<[a-z]+[^>]* (src|href)=\"?(https?:|//|javascript:)", html);
            Assert.DoesNotContain("<link", html);
        }
    }

    [Fact]
    public void GermanReportIsWrittenForAGermanReader()
    {
        var html = Render("de");
        Assert.Contains("KOMPROMITTIERT", html);
        Assert.Contains("Was jetzt zu tun ist", html);
        Assert.Contains("03.03.2021 02:15:07", html); // dates as Germans write them
        Assert.Contains("Stand 08.03.2021 12:00 UTC", html);
        Assert.Contains("Befunde im Fall: 1.255", html); // thousands with a dot
        Assert.Contains("VERSÄUMT, abgelaufen vor 5 Std. 0 Min.", html);
        Assert.Contains("noch 41 Std. 20 Min.", html);
        Assert.Contains("Meldung an die Aufsichtsbehörde (Art. 33 DSGVO)", html);
        Assert.DoesNotContain("COMPROMISED", html);
        Assert.DoesNotContain("Deadline", html);
    }

    [Fact]
    public void OpenRequiredStepsComeFirstAndAMissedDeadlineIsFlagged()
    {
        var html = Render("en");
        var actions = Slice(html, "actions");
        // Required before recommended, and the required ones with the nearest deadline first; done and n/a steps are not "to do".
        int gdpr = actions.IndexOf("Notify the supervisory authority", StringComparison.Ordinal);
        int dpo = actions.IndexOf("Consult the data protection officer", StringComparison.Ordinal);
        int assume = actions.IndexOf("Assume compromise", StringComparison.Ordinal);
        int ad = actions.IndexOf("Rebuild Active Directory", StringComparison.Ordinal);
        Assert.True(gdpr >= 0 && gdpr < dpo && dpo < assume && assume < ad, "order: deadline required, required, recommended");
        Assert.DoesNotContain("<b>Patch or shut down</b>", actions[..actions.IndexOf("<h3>", StringComparison.Ordinal)]);
        Assert.DoesNotContain("Report to the BSI", actions[..actions.IndexOf("<h3>", StringComparison.Ordinal)]);
        Assert.Contains("class=\"need-required missed\"", actions);
        Assert.Contains("MISSED 5 h 0 min ago", actions);
        Assert.Contains("41 h 20 min left", actions);
        Assert.Contains("The time of awareness is not set.", Slice(html, "checklist"));
    }

    [Fact]
    public void FindingsAreGroupedByHostAndRuleWithTheCountsLeftOut()
    {
        var findings = Slice(Render("en"), "findings");
        Assert.Contains("Findings in the case: 1,255; listed here: 7; left out: 1,248", findings);
        Assert.Contains("The first 2 of 1,250 are listed; 1,248 more are in the case.", findings);
        Assert.Contains("<code>Logging/HttpProxy/Ecp/HttpProxy_2021030302-1.LOG:1842</code>", findings);
        Assert.Contains("file time: may be a copy time", findings);
        Assert.True(findings.IndexOf(">EXCH01 <", StringComparison.Ordinal) < findings.IndexOf(">EXCH02 <", StringComparison.Ordinal), "compromised host first");
    }

    [Fact]
    public void PlotSpansTheEvidenceWindowAndNeverTheCopyTime()
    {
        var html = Render("en");
        var svg = Regex.Match(html, "<svg .*?</svg>", RegexOptions.Singleline).Value;
        Assert.Contains("data-first=\"2021-03-02T22:00:00Z\"", svg);
        Assert.Contains("data-last=\"2021-03-04T10:00:00Z\"", svg);
        Assert.Contains("first activity 2021-03-02 22:00 UTC", svg);
        Assert.Contains("end of last active hour 2021-03-04 10:00 UTC", svg);
        Assert.DoesNotContain("2021-03-07", svg); // the web shell's file time is a copy time
        var lanes = Regex.Matches(svg, "<g class=\"lane\" data-host=\"([^\"]+)\">(.*?)</g>", RegexOptions.Singleline);
        Assert.Equal(["EXCH01", "EXCH02", "EXCH03"], lanes.Select(m => m.Groups[1].Value));
        var fills = new HashSet<string>();
        foreach (Match lane in lanes)
        {
            var bars = Regex.Matches(lane.Groups[2].Value, "<rect class=\"bar\" fill=\"(#[0-9A-F]{6})\"");
            Assert.NotEmpty(bars);
            Assert.Single(bars.Select(b => b.Groups[1].Value).Distinct());
            fills.Add(bars[0].Groups[1].Value);
        }
        Assert.Equal(3, fills.Count); // one colour per host
        Assert.Contains("class=\"tick-label\"", svg);
        var legend = Regex.Match(html, "<ul class=\"legend\">.*?</ul>", RegexOptions.Singleline).Value;
        foreach (var host in new[] { "EXCH01", "EXCH02", "EXCH03" }) Assert.Contains(host, legend);
    }

    [Fact]
    public void WithoutDatedActivityThereIsNoPlotButASentence()
    {
        var html = CaseHtmlReport.Render(CaseReportFixtures.Snapshot() with { Activity = [] }, CaseReportFixtures.Checklist("en"), "en");
        Assert.DoesNotContain("<svg", html);
        Assert.Contains("No dated activity in the case", html);
    }

    [Fact]
    public void TheAppendixCapsEvidenceHashesAndCountsTheRest()
    {
        var appendix = Slice(Render("en", new ReportOptions { ToolVersion = "test", RulesDirectory = Path.Combine(TestPaths.RepoRoot, "rules"), MaxEvidenceHashes = 2 }), "appendix");
        Assert.Equal(2, Regex.Matches(Slice(appendix, null, "<table class=\"hashes\">"), "<td class=\"hash\"><code>[0-9a-f]{64}</code>").Count);
        Assert.Contains("Listed: 2 of 7; all are in the case store.", appendix);
        Assert.Contains("SQLite /cases/contoso.db", appendix);
        Assert.Contains("41 files, sha256:0a1b2c3d", appendix);
        Assert.Contains(new string('b', 64), appendix);
    }

    [Fact]
    public void TamperedTimesAndDamagedCountsDoNotBreakThePlot()
    {
        var tampered = CaseReportFixtures.Snapshot() with
        {
            Activity =
            [
                new Exir.Case.CaseActivityBucket(CaseReportFixtures.H1, DateTimeOffset.MinValue, 1, 0),
                new Exir.Case.CaseActivityBucket(CaseReportFixtures.H2, DateTimeOffset.MaxValue, 1, 1),
                new Exir.Case.CaseActivityBucket(CaseReportFixtures.H3, CaseReportFixtures.FirstActivity, -5, 2),
                new Exir.Case.CaseActivityBucket(CaseReportFixtures.H3, CaseReportFixtures.LastActivityHour, -5, 0),
            ],
        };
        var html = CaseHtmlReport.Render(tampered, CaseReportFixtures.Checklist("de"), "de");
        var svg = Regex.Match(html, "<svg .*?</svg>", RegexOptions.Singleline).Value;
        Assert.Contains("data-first=\"0001-01-01T00:00:00Z\"", svg);
        Assert.DoesNotContain("NaN", svg);
        Assert.DoesNotContain("Infinity", svg);
        Assert.True(Regex.Matches(svg, "<text class=\"tick-label\"").Count <= 64);
        Assert.Equal(3, Regex.Matches(svg, "<g class=\"lane\"").Count);
    }

    [Fact]
    public void AnyOtherLanguageIsEnglish()
    {
        Assert.Equal("en", CaseReportTexts.NormaliseLanguage("fr"));
        Assert.Equal("de", CaseReportTexts.NormaliseLanguage("de-AT"));
        Assert.Contains("<html lang=\"en\">", CaseHtmlReport.Render(CaseReportFixtures.Empty(), CaseReportFixtures.Checklist("en"), "xx"));
    }

    [Fact]
    public void AUsersTextsOverrideKeyByKeyAndABrokenFileFallsBack()
    {
        var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "report"));
        File.WriteAllText(Path.Combine(dir, "report", "case-report.yaml"), "version: mine\ntexts:\n  section.notes:\n    de: \"Vermerke\"\n");
        var texts = CaseReportTexts.Load("de", dir);
        Assert.Equal("Vermerke", texts["section.notes"]);
        Assert.Equal("Anhang: Herkunft und Nachvollziehbarkeit", texts["section.appendix"]); // built-in for every key the file leaves out
        Assert.Equal("mine", texts.Version);
        Assert.Empty(texts.Missing);

        File.WriteAllText(Path.Combine(dir, "report", "case-report.yaml"), "texts: [unclosed\n");
        var broken = CaseReportTexts.Load("de", dir);
        Assert.NotEmpty(broken.Problems);
        var html = CaseHtmlReport.Render(CaseReportFixtures.Snapshot(), CaseReportFixtures.Checklist("de"), "de", new ReportOptions { Texts = broken });
        Assert.Contains("Notizen", html);
        Assert.Contains("Problem mit den Berichtstexten", html);
    }

    [Fact]
    public void ThePageIsWrittenToTheStreamInPiecesNotAsOneString()
    {
        var big = CaseReportFixtures.Snapshot() with
        {
            EvidenceFiles = Enumerable.Range(0, 5000).Select(i => new Exir.Case.CaseEvidenceFile("s", CaseReportFixtures.H1, $"logs/{i:D6}.log", new string('f', 64))).ToList(),
            EvidenceFileCount = 5000,
        };
        using var counting = new CountingStream();
        CaseHtmlReport.Write(big, CaseReportFixtures.Checklist("en"), "en", counting, new ReportOptions { MaxEvidenceHashes = 5000 });
        Assert.True(counting.Writes > 5, $"written in {counting.Writes} pieces");
        Assert.True(counting.Length > 500_000);
    }

    [Theory]
    [InlineData("en")]
    [InlineData("de")]
    public void TextRenderingMatchesTheCheckedInSnapshot(string lang)
    {
        var actual = NormalisedText(Render(lang));
        var path = Path.Combine(TestPaths.RepoRoot, "tests", "Exir.Reporting.Tests", "Snapshots", $"case-report.{lang}.txt");
        if (Environment.GetEnvironmentVariable("EXIR_UPDATE_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
        }
        Assert.True(File.Exists(path), $"no snapshot {path}: run the tests once with EXIR_UPDATE_SNAPSHOTS=1 and review the file");
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        if (expected != actual)
        {
            var e = expected.Split('\n');
            var a = actual.Split('\n');
            int i = 0;
            while (i < Math.Min(e.Length, a.Length) && e[i] == a[i]) i++;
            Assert.Fail($"{path} differs at line {i + 1}:\n expected: {(i < e.Length ? e[i] : "<end>")}\n actual:   {(i < a.Length ? a[i] : "<end>")}\n(EXIR_UPDATE_SNAPSHOTS=1 rewrites it; review the diff)");
        }
    }

    /// <summary>
    /// The page as a reader sees it, stable across machines: no style, a line per block, cells separated by " | ",
    /// entities decoded, whitespace collapsed, the checkout's path replaced.
    /// </summary>
    internal static string NormalisedText(string html)
    {
        var s = Regex.Replace(html, "<style>.*?</style>", "", RegexOptions.Singleline);
        s = Regex.Replace(s, "</?(p|div|h[1-6]|tr|li|section|header|footer|table|thead|tbody|dl|dt|dd|pre|br|figure|figcaption|ul|ol|nav|title|svg|g|text)\\b[^>]*>", "\n");
        s = Regex.Replace(s, "<t[dh]\\b[^>]*>", " | ");
        s = Regex.Replace(s, "<[^>]+>", "");
        s = WebUtility.HtmlDecode(s).Replace(TestPaths.RepoRoot, "<repo>", StringComparison.Ordinal);
        var lines = s.Split('\n').Select(l => Regex.Replace(l, "[ \\t]+", " ").Trim()).Where(l => l.Length > 0);
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>The HTML of one section (from its opening tag to the next section's).</summary>
    internal static string Slice(string html, string? id, string? from = null)
    {
        int start = from is not null ? html.IndexOf(from, StringComparison.Ordinal) : html.IndexOf($"<section id=\"{id}\">", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{id ?? from} not found");
        int end = html.IndexOf(from is not null ? "</table>" : "</section>", start, StringComparison.Ordinal);
        return html[start..(end < 0 ? html.Length : end)];
    }

    [GeneratedRegex(@"\{[a-z_]+\}")]
    private static partial Regex Placeholders();

    private sealed class CountingStream : MemoryStream
    {
        public int Writes { get; private set; }
        public override void Write(byte[] buffer, int offset, int count) { Writes++; base.Write(buffer, offset, count); }
        public override void Write(ReadOnlySpan<byte> buffer) { Writes++; base.Write(buffer); }
    }
}
