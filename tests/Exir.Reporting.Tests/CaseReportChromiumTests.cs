using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Exir.Reporting.CaseReport;

namespace Exir.Reporting.Tests;

/// <summary>
/// The case report in real headless Chromium: it renders in both languages with every section, runs nothing and logs
/// nothing to the console, its tables keep every column readable at 1280 px, it screenshots and prints.
/// </summary>
/// <remarks>Tier slow: spawns a browser per test.</remarks>
[Trait("Tier", "slow")]
public class CaseReportChromiumTests
{
    private static string Chromium()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        Assert.True(chromium is not null, "chromium is required (the test command installs it)");
        return chromium!;
    }

    private static string WriteReport(string dir, string lang, string? html = null)
    {
        var path = Path.Combine(dir, $"case-report.{lang}.html");
        File.WriteAllText(path, html ?? CaseReportTests.Render(lang), new UTF8Encoding(false));
        return path;
    }

    [Theory]
    [InlineData("en")]
    [InlineData("de")]
    public void RendersEverySectionRunsNothingAndLogsNothing(string lang)
    {
        var chromium = Chromium();
        var dir = TestPaths.NewTempDir();
        var path = WriteReport(dir, lang);
        var (dom, log) = Run(chromium, dir, "--enable-logging=stderr", "--v=0", "--window-size=1280,2000", "--dump-dom", "file://" + path);
        var texts = CaseReportTexts.Load(lang);
        foreach (var id in CaseHtmlReport.SectionIds)
            Assert.Matches($"<section id=\"{id}\"><h2>{Regex.Escape(CaseHtmlReport.Escape(texts["section." + id]))}", dom);
        Assert.Contains("<title>" + CaseHtmlReport.Escape(texts.Format("header.page_title", ("case", "Contoso Exchange 2021-03"))) + "</title>", dom);
        Assert.DoesNotContain("<script", dom, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", dom, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("PWNED</title>", dom);
        Assert.Contains("&lt;script&gt;document.title='PWNED'&lt;/script&gt;", dom);
        Assert.DoesNotContain("CONSOLE", log);
        Assert.DoesNotContain("Content Security Policy", log);
        // The SVG made it into the DOM with a lane per host and labelled axis ends.
        Assert.Equal(3, Regex.Matches(dom, "<g class=\"lane\"").Count);
        Assert.Contains(lang == "de" ? "erste Aktivität 02.03.2021 22:00 UTC" : "first activity 2021-03-02 22:00 UTC", dom);
    }

    /// <summary>The console check above can fail: a page that does log is seen.</summary>
    [Fact]
    public void TheConsoleCheckSeesAPageThatLogs()
    {
        var chromium = Chromium();
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "probe.html");
        File.WriteAllText(path, "<!DOCTYPE html><html><body><script>console.error('probe-5c1e')</script></body></html>");
        var (_, log) = Run(chromium, dir, "--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + path);
        Assert.Contains("probe-5c1e", log);
        Assert.Contains("CONSOLE", log);
    }

    /// <summary>
    /// Measures the laid-out page at 1280 px: a copy of the report with a measuring script (the report itself forbids
    /// scripts) writes every cell's width into the DOM. No text column may be squeezed below the CSS minimum, nothing
    /// may overflow the page sideways, and the plot must take the page's width.
    /// </summary>
    [Theory]
    [InlineData("en")]
    [InlineData("de")]
    public void AtA1280PxWindowNoColumnIsSqueezedAndNothingOverflows(string lang)
    {
        var chromium = Chromium();
        var dir = TestPaths.NewTempDir();
        var html = CaseReportTests.Render(lang);
        html = Regex.Replace(html, "<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "");
        const string probe = """
            <script>
            const cells=[...document.querySelectorAll('td,th')].map(c=>({w:c.getBoundingClientRect().width,t:c.closest('table').className,i:c.cellIndex,
              k:(c.closest('table').querySelectorAll('col')[c.cellIndex]||{className:''}).className,o:c.scrollWidth>c.clientWidth+1,
              n:getComputedStyle(c).overflowWrap==='normal',x:c.textContent.slice(0,40)}));
            const svg=document.querySelector('figure.plot svg');
            const out=document.createElement('pre');out.id='measure';
            out.textContent=JSON.stringify({scroll:document.documentElement.scrollWidth,client:document.documentElement.clientWidth,svg:svg?svg.getBoundingClientRect().width:0,cells});
            document.body.appendChild(out);
            </script>
            """;
        var path = WriteReport(dir, lang, html.Replace("</body>", probe + "</body>", StringComparison.Ordinal));
        var (dom, _) = Run(chromium, dir, "--window-size=1280,2000", "--dump-dom", "file://" + path);
        var json = WebUtility.HtmlDecode(Regex.Match(dom, "<pre id=\"measure\">(.*?)</pre>", RegexOptions.Singleline).Groups[1].Value);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("scroll").GetDouble() <= root.GetProperty("client").GetDouble(), $"the page scrolls sideways: {root.GetProperty("scroll")} > {root.GetProperty("client")}");
        Assert.True(root.GetProperty("svg").GetDouble() > 1000, "the plot spans the page");
        var cells = root.GetProperty("cells").EnumerateArray().ToList();
        File.WriteAllText(Path.Combine(dir, $"measure.{lang}.json"), json);
        KeepForReview(Path.Combine(dir, $"measure.{lang}.json"));
        Assert.True(cells.Count > 100, "tables measured");
        var squeezed = cells.Where(c => c.GetProperty("w").GetDouble() < CaseHtmlReport.MinColumnPx - 0.5)
            .Select(c => $"{c.GetProperty("t")}[{c.GetProperty("i")}] {c.GetProperty("w").GetDouble():0}px '{c.GetProperty("x")}'").ToList();
        Assert.True(squeezed.Count == 0, "columns squeezed below the minimum:\n" + string.Join("\n", squeezed.Take(20)));
        // The free text columns share what the fixed ones leave: enough for sentences, not a word per line.
        var narrowText = cells.Where(c => c.GetProperty("k").GetString() == "c-text" && c.GetProperty("w").GetDouble() < 150)
            .Select(c => $"{c.GetProperty("t")}[{c.GetProperty("i")}] {c.GetProperty("w").GetDouble():0}px").ToList();
        Assert.True(narrowText.Count == 0, "text columns narrower than 150 px:\n" + string.Join("\n", narrowText.Take(20)));
        // Headings, verdicts and numbers never break inside a word: such a cell that is too narrow overflows, and that is caught here.
        var overflowing = cells.Where(c => c.GetProperty("n").GetBoolean() && c.GetProperty("o").GetBoolean())
            .Select(c => $"{c.GetProperty("t")}[{c.GetProperty("i")}] '{c.GetProperty("x")}'").ToList();
        Assert.True(overflowing.Count == 0, "words wider than their column:\n" + string.Join("\n", overflowing.Take(20)));
        // Fixed-width columns keep their width however long the evidence beside them is.
        var times = cells.Where(c => c.GetProperty("t").GetString() == "findings" && c.GetProperty("i").GetInt32() == 0).Select(c => c.GetProperty("w").GetDouble()).ToList();
        Assert.NotEmpty(times);
        Assert.All(times, w => Assert.InRange(w, 165, 175));
    }

    [Fact]
    public void A1280PxScreenshotAndAPrintedPdfAreProduced()
    {
        var chromium = Chromium();
        var dir = TestPaths.NewTempDir();
        var path = WriteReport(dir, "de");
        var png = Path.Combine(dir, "report.png");
        Run(chromium, dir, $"--screenshot={png}", "--window-size=1280,3000", "--hide-scrollbars", "file://" + path);
        Assert.True(File.Exists(png) && new FileInfo(png).Length > 20_000, "screenshot rendered");
        var header = File.ReadAllBytes(png).AsSpan(16, 4);
        Assert.Equal(1280, (header[0] << 24) | (header[1] << 16) | (header[2] << 8) | header[3]);

        var pdf = Path.Combine(dir, "report.pdf");
        Run(chromium, dir, $"--print-to-pdf={pdf}", "--no-pdf-header-footer", "file://" + path);
        Assert.True(File.Exists(pdf), "pdf printed");
        var text = Encoding.Latin1.GetString(File.ReadAllBytes(pdf));
        Assert.StartsWith("%PDF-", text);
        // Each section starts a new page in print: at least one page per section.
        int pages = Regex.Matches(text, @"/Type\s*/Page\b(?!s)").Count;
        KeepForReview(path, png, pdf);
        Assert.True(pages >= CaseHtmlReport.SectionIds.Count, $"{pages} pages for {CaseHtmlReport.SectionIds.Count} sections");
    }

    /// <summary>EXIR_CASE_REPORT_OUT=DIR keeps the rendered files for a person to look at (the temp folder is deleted).</summary>
    private static void KeepForReview(params string[] files)
    {
        if (Environment.GetEnvironmentVariable("EXIR_CASE_REPORT_OUT") is not { Length: > 0 } outDir) return;
        Directory.CreateDirectory(outDir);
        foreach (var f in files) File.Copy(f, Path.Combine(outDir, Path.GetFileName(f)), overwrite: true);
    }

    private static (string Stdout, string Stderr) Run(string chromium, string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(workDir, "profile-" + Guid.NewGuid().ToString("N"))}" })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(90_000)) { p.Kill(true); throw new TimeoutException("chromium did not finish"); }
        return (stdout.Result, stderr.Result);
    }
}
