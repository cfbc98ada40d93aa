namespace Exir.Case.Playbook;

/// <summary>
/// Builds the checklist of a case: each playbook item with the need its rules give for the case's facts, the
/// reasons in the reader's language, the state the responders last set, and its deadline counted from the time
/// of awareness (absolute hours), shown in the case's time zone.
/// </summary>
public static class ChecklistBuilder
{
    /// <summary>Host and account names listed in a reason before "and N more".</summary>
    public const int MaxNamesInReason = 5;
    // Names come from evidence (a host name, an account): a runaway one must not swamp the sentence.
    private const int MaxNameLength = 80;

    /// <param name="language">en, de (or de-DE, DE...); a language the playbook lacks falls back to its first, with a note.</param>
    public static Checklist Build(IncidentPlaybook playbook, CaseSnapshot snapshot, string language, DateTimeOffset nowUtc)
    {
        var notes = new List<string>();
        var lang = playbook.MatchLanguage(language);
        if (lang is null)
        {
            lang = playbook.Languages[0];
            notes.Add($"The playbook has no language '{language}'; the checklist is in '{lang}' ({string.Join(", ", playbook.Languages)} available).");
        }
        nowUtc = nowUtc.ToUniversalTime();
        var facts = PlaybookFacts.From(snapshot);
        var states = CurrentStates(snapshot);
        var clock = DeadlineClock.For(playbook, snapshot.Settings.TimeZone);
        var aware = snapshot.Settings.AwareUtc?.ToUniversalTime();

        var items = new List<ChecklistItem>();
        foreach (var item in playbook.Items)
        {
            var (need, reasons) = Evaluate(item, facts, playbook, lang);
            var state = states.GetValueOrDefault(item.Id);
            var stateName = state?.State ?? StepStates.Open;
            if (stateName == StepStates.NotApplicable && need is Need.Required or Need.Recommended)
                reasons.Add(playbook.Texts["not_applicable_but_needed"].In(lang).Replace("{by}", Name(state!.By), StringComparison.Ordinal));

            var result = new ChecklistItem
            {
                Id = item.Id, Kind = item.Kind, Title = item.Title.In(lang), Text = item.Text.In(lang), Need = need, Reasons = reasons,
                State = stateName, StateNote = state?.Note, StateBy = state?.By, StateAtUtc = state?.AtUtc.ToUniversalTime(),
                References = item.References.Select(r => r.In(lang)).ToList(),
            };
            if (item.Deadline is { } deadline) result = WithDeadline(result, deadline, aware, clock, playbook, lang, nowUtc);
            items.Add(result);
        }

        foreach (var (id, record) in states.Where(s => playbook.Find(s.Key) is null).OrderBy(s => s.Key, StringComparer.Ordinal))
            notes.Add(DeadlineClock.Fill(playbook.Texts["unknown_step"].In(lang),
                new Dictionary<string, string> { ["id"] = id, ["state"] = record.State }));

        return new Checklist(items, lang, nowUtc, playbook.Version) { Notes = notes };
    }

    private static ChecklistItem WithDeadline(ChecklistItem item, PlaybookDeadline deadline, DateTimeOffset? aware, DeadlineClock clock,
        IncidentPlaybook playbook, string lang, DateTimeOffset nowUtc)
    {
        if (aware is null) return item with { DeadlineNote = playbook.Texts["aware_not_set"].In(lang) };
        // A nonsense time of awareness near the end of the calendar must not overflow the sum.
        if (aware.Value > DateTimeOffset.MaxValue.AddDays(-400)) return item with { DeadlineNote = playbook.Texts["aware_not_set"].In(lang) };
        var due = aware.Value.AddHours(deadline.Hours);
        // Only a step the case calls for can be missed: one marked n/a, made n/a by the settings, or that nothing in
        // the case asks for (optional: e.g. the BSI duty while nobody has said the organisation is KRITIS) owes nothing.
        bool owed = item.State != StepStates.NotApplicable && item.Need is Need.Required or Need.Recommended;
        bool missed = owed && (item.State == StepStates.Open ? nowUtc > due : item.State == StepStates.Done && item.StateAtUtc > due);
        return item with
        {
            DeadlineUtc = due,
            DeadlineLocal = clock.Format(due, lang),
            DeadlineNote = clock.Note(lang),
            TimeLeft = due - nowUtc,
            Missed = missed,
        };
    }

    /// <summary>Every rule that holds counts; the strongest need wins, and the reasons are those of the winning need and the hints.</summary>
    private static (Need Need, List<string> Reasons) Evaluate(PlaybookItem item, PlaybookFacts facts, IncidentPlaybook playbook, string lang)
    {
        var holding = item.When.Where(r => r.If.All(facts.Holds)).ToList();
        var need = holding.Where(r => r.Need is not null).Select(r => r.Need!.Value).DefaultIfEmpty(Need.Optional).MaxBy(NeedRank.Of);
        var reasons = holding.Where(r => r.Reason is not null && (r.Need is null || r.Need == need))
            .Select(r => Render(r, facts, playbook, lang)).ToList();
        return (need, reasons);
    }

    private static string Render(PlaybookRule rule, PlaybookFacts facts, IncidentPlaybook playbook, string lang)
    {
        var values = rule.If.Where(c => c.Setting is null).Select(c => facts.Count(c.Fact)).ToList();
        var f = playbook.Formats[lang];
        var fill = new Dictionary<string, string>(StringComparer.Ordinal);
        // Each placeholder is filled from the first of the rule's facts that names such things.
        if (values.FirstOrDefault() is { } first) fill["count"] = first.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (values.FirstOrDefault(v => v.Hosts.Count > 0) is { } h) fill["hosts"] = JoinNames(h.Hosts, f);
        if (values.FirstOrDefault(v => v.Accounts.Count > 0) is { } a) fill["accounts"] = JoinNames(a.Accounts, f);
        if (values.FirstOrDefault(v => v.Cves.Count > 0) is { } c) fill["cves"] = JoinNames(c.Cves, f, int.MaxValue);
        foreach (var name in new[] { "hosts", "accounts", "cves" }) fill.TryAdd(name, "-");
        return DeadlineClock.Fill(rule.Reason!.In(lang), fill);
    }

    /// <summary>"A, B and C"; "A, B, C, D, E and 3 more" ("... und 3 weitere").</summary>
    public static string JoinNames(IReadOnlyList<string> names, PlaybookFormat format, int max = MaxNamesInReason)
    {
        var shown = names.Take(max).Select(Name).ToList();
        var rest = names.Count - shown.Count;
        if (rest > 0) return string.Join(", ", shown) + $" {format.ListAnd} " + format.ListMore.Replace("{n}", rest.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return shown.Count <= 1 ? string.Concat(shown) : string.Join(", ", shown[..^1]) + $" {format.ListAnd} " + shown[^1];
    }

    private static string Name(string name) => name.Length <= MaxNameLength ? name : name[..MaxNameLength] + "…";

    /// <summary>The state of each step: the latest change, from the current states and the history together.</summary>
    private static Dictionary<string, CaseStepRecord> CurrentStates(CaseSnapshot snapshot)
    {
        var current = new Dictionary<string, CaseStepRecord>(StringComparer.Ordinal);
        // History first, so that on equal times the store's current state wins.
        foreach (var r in snapshot.StepHistory.Concat(snapshot.Steps))
        {
            if (string.IsNullOrEmpty(r.StepId) || !StepStates.All.Contains(r.State)) continue;
            if (!current.TryGetValue(r.StepId, out var seen) || r.AtUtc >= seen.AtUtc) current[r.StepId] = r;
        }
        return current;
    }
}
