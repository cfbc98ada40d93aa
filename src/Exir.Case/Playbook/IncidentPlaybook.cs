using Exir.Core;
using Exir.Knowledge;

namespace Exir.Case.Playbook;

/// <summary>
/// The incident playbook (knowledge/playbook.yaml): the steps and duties in order, their texts in every language
/// of <see cref="Languages"/>, the conditions that make each one required, recommended or n/a from the case's
/// facts, and the deadlines. Data, not code: a knowledge folder may carry an edited copy, validated at load.
/// </summary>
public sealed class IncidentPlaybook
{
    public const string FileName = "playbook.yaml";

    /// <summary>Keys of <see cref="Texts"/> the checklist needs, each in every language.</summary>
    public static readonly IReadOnlyList<string> RequiredTexts = ["aware_not_set", "unknown_time_zone", "not_applicable_but_needed", "unknown_step"];

    public required string Version { get; init; }
    /// <summary>Where it was read: a file path or "embedded in ...".</summary>
    public required string Origin { get; init; }
    /// <summary>The languages every text has, the first being the fallback (en, de).</summary>
    public required IReadOnlyList<string> Languages { get; init; }
    public required IReadOnlyList<PlaybookItem> Items { get; init; }
    public required IReadOnlyDictionary<string, PlaybookFormat> Formats { get; init; }
    /// <summary>Zone abbreviations by IANA id (CET/MEZ, CEST/MESZ, EST, ...).</summary>
    public required IReadOnlyDictionary<string, ZoneNames> TimeZones { get; init; }
    public required IReadOnlyDictionary<string, LocalText> Texts { get; init; }

    /// <summary>
    /// Loads the playbook: from <paramref name="knowledgeDirectory"/> (the --knowledge option), else a knowledge
    /// folder beside exir or in the source checkout, else the copy embedded in Exir.Knowledge. A knowledge folder
    /// without a playbook (one made before there was one) falls back to the embedded playbook.
    /// </summary>
    /// <exception cref="PlaybookException">The playbook is not valid; every problem with its line.</exception>
    public static IncidentPlaybook Load(string? knowledgeDirectory = null)
    {
        var files = new DataFiles("knowledge", typeof(ExchangeKnowledge).Assembly, knowledgeDirectory);
        if (files.Directory is not null && files.Exists(FileName))
        {
            var path = Path.Combine(files.Directory, FileName);
            string text;
            try { text = files.ReadAllText(FileName); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PlaybookException([new PlaybookProblem(path, 0, 0, null, "cannot read: " + e.Message)]);
            }
            return Parse(text, path, path);
        }
        return LoadEmbedded();
    }

    /// <summary>The copy embedded at build time, ignoring any folder.</summary>
    public static IncidentPlaybook LoadEmbedded()
    {
        var asm = typeof(ExchangeKnowledge).Assembly;
        using var stream = asm.GetManifestResourceStream("knowledge/" + FileName)
                           ?? throw new PlaybookException([new PlaybookProblem("knowledge/" + FileName, 0, 0, null, "not embedded in " + asm.GetName().Name)]);
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "knowledge/" + FileName, $"embedded in {asm.GetName().Name} {asm.GetName().Version}");
    }

    /// <summary>Parses and validates playbook YAML. <paramref name="file"/> names it in error messages.</summary>
    /// <exception cref="PlaybookException">Every problem found, with line and column.</exception>
    public static IncidentPlaybook Parse(string yaml, string file = "knowledge/" + FileName, string? origin = null) =>
        PlaybookReader.Read(yaml, file, origin ?? file);

    /// <summary>The playbook language for a requested one ("de", "DE", "de-DE" -> de); null when it has no such language.</summary>
    public string? MatchLanguage(string? requested)
    {
        if (string.IsNullOrWhiteSpace(requested)) return null;
        var lang = requested.Trim().ToLowerInvariant();
        var dash = lang.IndexOfAny(['-', '_']);
        if (dash > 0) lang = lang[..dash];
        return Languages.FirstOrDefault(l => l == lang);
    }

    public PlaybookItem? Find(string id) => Items.FirstOrDefault(i => i.Id == id);
}

/// <summary>A text in every language of the playbook.</summary>
public sealed record LocalText(IReadOnlyDictionary<string, string> ByLanguage)
{
    /// <summary>The text in <paramref name="language"/>; the playbook guarantees every language is there.</summary>
    public string In(string language) => ByLanguage.TryGetValue(language, out var t) ? t : ByLanguage.Values.First();
}

/// <summary>One step or duty as the playbook defines it.</summary>
public sealed record PlaybookItem
{
    public required string Id { get; init; }
    /// <summary>"step" or "duty".</summary>
    public required string Kind { get; init; }
    public required LocalText Title { get; init; }
    public required LocalText Text { get; init; }
    public IReadOnlyList<LocalText> References { get; init; } = [];
    public PlaybookDeadline? Deadline { get; init; }
    /// <summary>In file order. Every rule that holds counts: the strongest need wins (see <see cref="NeedRank"/>).</summary>
    public IReadOnlyList<PlaybookRule> When { get; init; } = [];
    public int Line { get; init; }
}

/// <summary>A deadline counted in real hours from a point in time of the case (only "aware": the time of awareness).</summary>
public sealed record PlaybookDeadline(string From, int Hours)
{
    public const string FromAware = "aware";
}

/// <summary>
/// "When all these facts hold, the item is <see cref="Need"/>, because <see cref="Reason"/>." A rule without a
/// need only adds its reason (a hint, e.g. how many files are in quarantine) whatever the need.
/// </summary>
public sealed record PlaybookRule(Need? Need, IReadOnlyList<FactCondition> If, LocalText? Reason, int Line);

/// <summary>One test of a fact: a count within [Min, Max], or a setting that is true, false or unset.</summary>
public sealed record FactCondition(string Fact, long? Min = null, long? Max = null, SettingState? Setting = null);

public enum SettingState { True, False, Unset }

/// <summary>How dates and spans are written in one language.</summary>
public sealed record PlaybookFormat
{
    /// <summary>Sunday first, as <see cref="DayOfWeek"/>.</summary>
    public required IReadOnlyList<string> Weekdays { get; init; }
    public required IReadOnlyList<string> Months { get; init; }
    public required string Deadline { get; init; }
    public required string TimeLeft { get; init; }
    public required string Overdue { get; init; }
    public required string Days { get; init; }
    public required string Hours { get; init; }
    public required string Minutes { get; init; }
    public required string ListAnd { get; init; }
    public required string ListMore { get; init; }
}

/// <summary>A zone's abbreviations in standard and summer time.</summary>
public sealed record ZoneNames(LocalText Standard, LocalText Daylight);

public static class NeedRank
{
    /// <summary>
    /// Which need wins when several rules hold: required, then recommended, then n/a, then optional. A setting
    /// that makes a duty n/a never hides a step the findings call for.
    /// </summary>
    public static int Of(Need need) => need switch
    {
        Need.Required => 3,
        Need.Recommended => 2,
        Need.NotApplicable => 1,
        _ => 0,
    };

    public static bool TryParse(string text, out Need need)
    {
        switch (text)
        {
            case "required": need = Need.Required; return true;
            case "recommended": need = Need.Recommended; return true;
            case "optional": need = Need.Optional; return true;
            case "n/a": need = Need.NotApplicable; return true;
            default: need = Need.Optional; return false;
        }
    }

    public static string Name(Need need) => need switch
    {
        Need.Required => "required",
        Need.Recommended => "recommended",
        Need.NotApplicable => "n/a",
        _ => "optional",
    };
}

/// <summary>One problem of a playbook file: where (line, column), which item, what is wrong.</summary>
public sealed record PlaybookProblem(string File, int Line, int Column, string? ItemId, string Message)
{
    public override string ToString() =>
        $"{File}{(Line > 0 ? $":{Line}:{Column}" : "")}: {(ItemId is null ? "" : $"item '{ItemId}': ")}{Message}";
}

/// <summary>The playbook could not be used; <see cref="Problems"/> names every mistake.</summary>
public sealed class PlaybookException(IReadOnlyList<PlaybookProblem> problems)
    : Exception(problems.Count == 1 ? problems[0].ToString() : $"{problems.Count} problems in the playbook:\n" + string.Join("\n", problems))
{
    public IReadOnlyList<PlaybookProblem> Problems { get; } = problems;
}
