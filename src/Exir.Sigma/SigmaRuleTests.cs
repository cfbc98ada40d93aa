using System.Globalization;
using Exir.Evtx;
using Exir.Logs;
using Exir.Sigma.Internals;

namespace Exir.Sigma;

/// <summary>One test of a rule's `tests:` list and how it went.</summary>
public sealed record SigmaRuleTestResult(SigmaRule Rule, string Name, bool Expected, bool Actual, string? Problem)
{
    public bool Passed => Problem is null && Expected == Actual;

    public override string ToString() => Passed
        ? $"ok   {Rule.Title}: {Name}"
        : $"FAIL {Rule.Title} ({Rule.File}): {Name}: " + (Problem ?? $"expected {(Expected ? "a match" : "no match")}, got {(Actual ? "a match" : "none")}");
}

/// <summary>
/// Runs the custom top-level <c>tests:</c> list exir's own Sigma rules carry (SigmaHQ's format has no such
/// list; Sigma tools ignore unknown keys). Each test is a Windows event or a web-log line and whether the rule
/// must match it:
/// <code>
/// tests:
///   - name: cmd.exe started by IIS
///     event: { event_id: 4688, channel: Security, provider: Microsoft-Windows-Security-Auditing, computer: EXCH01,
///              data: { NewProcessName: 'C:\Windows\System32\cmd.exe', ParentProcessName: 'c:\windows\system32\inetsrv\w3wp.exe' } }
///     match: true
///   - name: an ordinary OWA request
///     log: { format: iis, fields: { cs-uri-stem: /owa/, cs-method: GET, sc-status: "200" } }
///     match: false
/// </code>
/// (<c>expect: { fires: true }</c>, the shape of exir's other rule tests, is read as well.) A test may give
/// <c>events:</c>, a list of such events each with its <c>time</c>: for a correlation rule they go through the engine
/// and a fresh correlator, and the test asks whether the correlation fires. The event goes through
/// the whole engine, logsource mapping included, so a test also proves the rule reads the source it names.
/// </summary>
public static class SigmaRuleTests
{
    public static List<SigmaRuleTestResult> Run(SigmaRuleSet set)
    {
        var engine = new SigmaEngine(set);
        var results = new List<SigmaRuleTestResult>();
        foreach (var rule in set.Rules.Concat(set.Correlations))
        {
            if (!set.RawDocuments.TryGetValue(rule, out var doc) || doc["tests"] is not List<object?> tests) continue;
            int n = 0;
            foreach (var t in tests)
            {
                n++;
                if (t is not YMap test) { results.Add(new(rule, $"test {n}", true, false, "a test must be a map")); continue; }
                var name = test.Str("name") ?? $"test {n}";
                bool? expected = test.Str("match") is { } m ? m == "true"
                    : test.Map("expect")?.Str("fires") is { } f ? f == "true" : null;
                if (expected is null) { results.Add(new(rule, name, true, false, "the test says neither 'match: true|false' nor 'expect: { fires: ... }'")); continue; }
                try
                {
                    var hits = new List<SigmaHit>();
                    if (test["events"] is List<object?> events)
                    {
                        // A sequence (correlation rules, or several events for one rule): every event through the
                        // engine and, for a correlation, its base-rule hits through a fresh correlator.
                        var correlator = engine.NewCorrelator();
                        foreach (var e in events)
                        {
                            if (e is not YMap em) throw new FormatException("an entry of 'events' is not a map");
                            int from = hits.Count;
                            engine.Match(Event(em), hits);
                            for (int i = from; i < hits.Count; i++) correlator.Add(hits[i]);
                        }
                        if (rule.Correlation is not null) hits = correlator.Complete();
                    }
                    else if (rule.Correlation is not null) { results.Add(new(rule, name, expected.Value, false, "a correlation test needs an 'events' list")); continue; }
                    else if (test.Map("event") is { } ev) engine.Match(Event(ev), hits);
                    else if (test.Map("log") is { } log) MatchLog(engine, log, hits);
                    else { results.Add(new(rule, name, expected.Value, false, "the test has neither 'event', 'events' nor 'log'")); continue; }
                    results.Add(new(rule, name, expected.Value, hits.Any(h => ReferenceEquals(h.Rule, rule)), null));
                }
                catch (FormatException e) { results.Add(new(rule, name, expected.Value, false, e.Message)); }
            }
        }
        return results;
    }

    internal static WinEvent Event(YMap ev)
    {
        var data = new List<KeyValuePair<string, string>>();
        switch (ev["data"])
        {
            case YMap d:
                foreach (var (k, v) in d.Entries) data.Add(new(k, v as string ?? ""));
                break;
            case List<object?> list: // unnamed <Data> elements, in order
                for (int i = 0; i < list.Count; i++) data.Add(new($"Data[{i + 1}]", list[i] as string ?? ""));
                break;
        }
        int Int(string key, int dflt) => ev.Str(key) is { } s
            ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"{key} is not a number: {s}")
            : dflt;
        return new WinEvent
        {
            EventId = Int("event_id", 0),
            Channel = ev.Str("channel"),
            Provider = ev.Str("provider") ?? "",
            Computer = ev.Str("computer"),
            Level = Int("level", 4),
            RecordId = 1,
            TimestampUtc = ev.Str("time") is { } t ? DateTime.Parse(t, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal) : new DateTime(2021, 3, 3, 0, 0, 0, DateTimeKind.Utc),
            Data = data,
        };
    }

    private static void MatchLog(SigmaEngine engine, YMap log, List<SigmaHit> hits)
    {
        var fields = log.Map("fields") ?? throw new FormatException("log test without fields");
        var pairs = fields.Entries.Select(e => new KeyValuePair<string, string>(e.Key, e.Value as string ?? "")).ToList();
        var formatName = log.Str("format") ?? (pairs.Any(p => p.Key.StartsWith("cs-", StringComparison.OrdinalIgnoreCase) || p.Key.StartsWith("sc-", StringComparison.OrdinalIgnoreCase)) ? "iis" : "httpproxy");
        var format = LogFormats.All.FirstOrDefault(f => f.Name.Equals(formatName, StringComparison.OrdinalIgnoreCase))
                     ?? throw new FormatException($"unknown log format '{formatName}' (iis, httpproxy)");
        engine.MatchWeb(format, pairs, hits);
    }
}
