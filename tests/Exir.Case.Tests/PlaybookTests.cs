using System.Text.RegularExpressions;
using Exir.Case.Playbook;

namespace Exir.Case.Tests;

public class PlaybookTests
{
    private static readonly string[] IssueOrder =
    [
        "patch-or-shutdown", "assume-compromise", "ioc-hunt", "remove-malware", "limit-access", "forensics", "scope-ad",
        "password-reset", "ad-rebuild", "dpo-consulted", "authority-notified", "subjects-informed", "criminal-complaint", "bsi-report",
    ];

    [Fact]
    public void ShippedPlaybookHasEveryStepAndDutyOfTheIssueInOrder()
    {
        var playbook = ChecklistSnapshots.Shipped;
        Assert.Equal(IssueOrder, playbook.Items.Select(i => i.Id));
        Assert.All(playbook.Items.Take(9), i => Assert.Equal("step", i.Kind));
        Assert.All(playbook.Items.Skip(9), i => Assert.Equal("duty", i.Kind));
        Assert.Equal(["en", "de"], playbook.Languages);
        Assert.Matches(@"^\d{4}\.\d{2}\.\d{2}$", playbook.Version);
        Assert.Equal(new PlaybookDeadline("aware", 72), playbook.Find("authority-notified")!.Deadline);
    }

    [Fact]
    public void EmbeddedCopyIsTheRepositoryFile()
    {
        var embedded = IncidentPlaybook.LoadEmbedded();
        var file = ChecklistSnapshots.Shipped;
        Assert.StartsWith("embedded in Exir.Knowledge", embedded.Origin);
        Assert.EndsWith("playbook.yaml", file.Origin);
        Assert.Equal(file.Version, embedded.Version);
        Assert.Equal(file.Items.Select(i => i.Title.In("de")), embedded.Items.Select(i => i.Title.In("de")));
    }

    [Fact]
    public void EveryTextIsWrittenInEnglishAndGerman()
    {
        var playbook = ChecklistSnapshots.Shipped;
        foreach (var item in playbook.Items)
        {
            var texts = new List<LocalText> { item.Title, item.Text };
            texts.AddRange(item.References);
            texts.AddRange(item.When.Where(r => r.Reason is not null).Select(r => r.Reason!));
            foreach (var t in texts)
            {
                Assert.Equal(["de", "en"], t.ByLanguage.Keys.Order());
                Assert.All(t.ByLanguage.Values, v => Assert.False(string.IsNullOrWhiteSpace(v)));
            }
            // Titles, texts and reasons are translated, not copied (references may be names, the same in both).
            foreach (var t in texts.Except(item.References))
                Assert.NotEqual(t.In("en"), t.In("de"));
        }
        foreach (var key in IncidentPlaybook.RequiredTexts) Assert.NotEqual(playbook.Texts[key].In("en"), playbook.Texts[key].In("de"));
    }

    [Fact]
    public void GermanTextsUseTheTermsOfGermanLawAndAddressTheReaderFormally()
    {
        var playbook = ChecklistSnapshots.Shipped;
        var german = string.Join("\n", playbook.Items.SelectMany(i => new[] { i.Title.In("de"), i.Text.In("de") }
            .Concat(i.References.Select(r => r.In("de"))).Concat(i.When.Where(r => r.Reason is not null).Select(r => r.Reason!.In("de")))));
        foreach (var term in new[] { "DSGVO", "Aufsichtsbehörde", "Datenschutzbeauftragte", "Strafanzeige", "Zentralen Ansprechstellen Cybercrime (ZAC)",
                     "Landeskriminalämter", "BSI", "KRITIS", "Betroffene benachrichtigen", "binnen 72 Stunden", "Art. 34", "BDSG" })
            Assert.Contains(term, german);
        // "Sie", never "du": a German report to management and authorities is formal.
        Assert.DoesNotMatch(new Regex(@"\b(du|dich|dir|dein|deine|deinen|euch|euer)\b"), german);
        Assert.Contains("Sie ", german);
        Assert.Equal("Fr., 04.12.2026, 15:00 Uhr (MEZ)", DeadlineClock.For(playbook, "Europe/Berlin").Format(new DateTimeOffset(2026, 12, 4, 14, 0, 0, TimeSpan.Zero), "de"));
    }

    [Fact]
    public void DocsDescribeEveryFactOfTheVocabulary()
    {
        var doc = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "playbook.md"));
        Assert.All(PlaybookFacts.Vocabulary, f => Assert.Contains($"`{f.Name}`", doc));
    }

    private const string Minimal = """
        version: 1
        languages: [en, de]
        formats:
          en: {weekdays: [Sun, Mon, Tue, Wed, Thu, Fri, Sat], months: [Jan, Feb, Mar, Apr, May, Jun, Jul, Aug, Sep, Oct, Nov, Dec], deadline: "{d} {month} {HH}:{mm} {zone}", time_left: "{span} left", overdue: "overdue by {span}", days: d, hours: h, minutes: min, list_and: and, list_more: "{n} more"}
          de: {weekdays: [So., Mo., Di., Mi., Do., Fr., Sa.], months: [Jan., Feb., März, Apr., Mai, Juni, Juli, Aug., Sept., Okt., Nov., Dez.], deadline: "{dd}.{MM}. {HH}:{mm} ({zone})", time_left: "noch {span}", overdue: "seit {span} überschritten", days: Tg., hours: Std., minutes: Min., list_and: und, list_more: "{n} weitere"}
        texts:
          aware_not_set: {en: set it, de: Tragen Sie ihn ein}
          unknown_time_zone: {en: "unknown {zone}", de: "unbekannt {zone}"}
          not_applicable_but_needed: {en: "n/a by {by}", de: "n/a von {by}"}
          unknown_step: {en: "unknown {id}", de: "unbekannt {id}"}
        items:
          - id: authority-notified
            kind: duty
            title: {en: Notify, de: Melden}
            text: {en: Notify the authority., de: Melden Sie es der Aufsichtsbehörde.}
            deadline: {from: aware, hours: 72}
            when:
              - need: required
                if: {hosts_compromised: {min: 1}}
                reason: {en: "Compromised: {hosts}.", de: "Kompromittiert: {hosts}."}
        """;

    [Fact]
    public void MinimalPlaybookIsValid()
    {
        var p = IncidentPlaybook.Parse(Minimal, "test.yaml");
        Assert.Equal("1", p.Version);
        Assert.Single(p.Items);
    }

    [Theory]
    [InlineData("hosts_compromised: {min: 1}", "hosts_compromized: {min: 1}", 19, "item 'authority-notified': unknown fact 'hosts_compromized' (known: hosts, hosts_compromised,")]
    [InlineData("de: \"Kompromittiert: {hosts}.\"", "fr: \"Compromis: {hosts}.\"", 20, "reason: 'fr' is not one of the playbook's languages (en, de)")]
    [InlineData("title: {en: Notify, de: Melden}", "title: {en: Notify}", 14, "item 'authority-notified': title: missing language de")]
    [InlineData("hours: 72", "hours: -72", 16, "deadline: hours '-72' must be a whole number of hours from 1 to 8784")]
    [InlineData("from: aware", "from: discovery", 16, "deadline: from 'discovery' is not known (only 'aware'")]
    [InlineData("kind: duty", "kind: dutie", 13, "kind 'dutie' is not one of step, duty")]
    [InlineData("need: required", "need: mandatory", 18, "need 'mandatory' is not one of required, recommended, optional, n/a")]
    [InlineData("need: required", "nede: required", 18, "unknown key 'nede' (known here: need, if, reason)")]
    [InlineData("{hosts_compromised: {min: 1}}", "{critical_infrastructure: {min: 1}}", 19, "critical_infrastructure is a setting: test it with true, false or unset")]
    [InlineData("{hosts_compromised: {min: 1}}", "{hosts_compromised: yes}", 19, "hosts_compromised is a count: test it with {min: N}, {max: N} or both")]
    [InlineData("Compromised: {hosts}.", "Compromised: {accounts}.", 20, "reason (en): {accounts} cannot be filled: none of the rule's facts (hosts_compromised) names accounts")]
    [InlineData("Compromised: {hosts}.", "Compromised: {host}.", 20, "reason (en): unknown placeholder {host}")]
    [InlineData("id: authority-notified", "id: Authority_Notified", 12, "id 'Authority_Notified' must be kebab-case")]
    [InlineData("unknown_step: {en: \"unknown {id}\", de: \"unbekannt {id}\"}", "", 7, "texts: missing 'unknown_step'")]
    [InlineData("months: [Jan., Feb., März,", "months: [Feb., März,", 5, "formats.de.months: 12 names, January first (has 11)")]
    [InlineData("deadline: \"{dd}.{MM}. {HH}:{mm} ({zone})\"", "deadline: \"{dd}.{MM}. {hh}:{mm} ({zone})\"", 5, "formats.de.deadline: unknown placeholder {hh}")]
    public void BrokenPlaybookIsRejectedWithItsLineAndAPreciseMessage(string from, string to, int line, string message)
    {
        Assert.Contains(from, Minimal);
        var broken = Minimal.Replace(from, to);
        var e = Assert.Throws<PlaybookException>(() => IncidentPlaybook.Parse(broken, "knowledge/playbook.yaml"));
        var problem = Assert.Single(e.Problems, p => p.ToString().Contains(message, StringComparison.Ordinal));
        Assert.Equal(line, problem.Line);
        Assert.StartsWith($"knowledge/playbook.yaml:{line}:", problem.ToString());
    }

    [Fact]
    public void YamlSyntaxErrorNamesItsLine()
    {
        var e = Assert.Throws<PlaybookException>(() => IncidentPlaybook.Parse(Minimal.Replace("kind: duty", "kind: [duty"), "p.yaml"));
        var p = Assert.Single(e.Problems);
        Assert.Contains("not valid YAML", p.Message);
        Assert.InRange(p.Line, 13, 14);
    }

    [Fact]
    public void EveryProblemIsReportedNotOnlyTheFirst()
    {
        var broken = Minimal.Replace("kind: duty", "kind: dutie").Replace("hours: 72", "hours: many").Replace("hosts_compromised:", "hosts_pwned:");
        var e = Assert.Throws<PlaybookException>(() => IncidentPlaybook.Parse(broken));
        Assert.Contains(e.Problems, p => p.Line == 13 && p.Message.StartsWith("kind 'dutie'"));
        Assert.Contains(e.Problems, p => p.Line == 16 && p.Message.StartsWith("deadline: hours 'many'"));
        Assert.Contains(e.Problems, p => p.Line == 19 && p.Message.StartsWith("unknown fact 'hosts_pwned'"));
        Assert.Contains($"{e.Problems.Count} problems in the playbook", e.Message);
    }

    [Fact]
    public void NonsenseDocumentsAreRejectedNotCrashedOn()
    {
        foreach (var text in new[] { "", "just a string", "- a\n- list", "items: 5\nlanguages: en", "version: 1\nlanguages: [en]\nitems:\n  - [1, 2]\n  - {id: {a: b}}\n  - {? [complex] : key}" })
        {
            var e = Assert.Throws<PlaybookException>(() => IncidentPlaybook.Parse(text));
            Assert.NotEmpty(e.Problems);
        }
    }

    [Fact]
    public void PlaybookInAKnowledgeFolderIsHonouredAndAFolderWithoutOneFallsBackToTheEmbeddedCopy()
    {
        var dir = Path.Combine(Path.GetTempPath(), "exir-playbook-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var fallback = IncidentPlaybook.Load(dir);
            Assert.StartsWith("embedded in", fallback.Origin);

            File.WriteAllText(Path.Combine(dir, "playbook.yaml"), Minimal.Replace("version: 1", "version: site-2026-12"));
            var site = IncidentPlaybook.Load(dir);
            Assert.Equal("site-2026-12", site.Version);
            Assert.Equal(Path.Combine(Path.GetFullPath(dir), "playbook.yaml"), site.Origin);

            File.WriteAllText(Path.Combine(dir, "playbook.yaml"), Minimal.Replace("hours: 72", "hours: soon"));
            var e = Assert.Throws<PlaybookException>(() => IncidentPlaybook.Load(dir));
            Assert.Contains(Path.Combine(Path.GetFullPath(dir), "playbook.yaml") + ":16:", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "exir.slnx"))) return d.FullName;
        throw new InvalidOperationException("not run from a checkout");
    }
}
