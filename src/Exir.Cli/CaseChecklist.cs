using Exir.Case;
using Exir.Case.Playbook;

namespace Exir.Cli;

/// <summary>The playbook (knowledge/playbook.yaml, or the --knowledge folder's) and the checklist it makes for a case.</summary>
internal static class CaseChecklist
{
    /// <summary>Loads the playbook; a broken one stops the verb (exit 2) with every problem and its line.</summary>
    public static IncidentPlaybook LoadPlaybook(string? knowledgeDirectory)
    {
        if (knowledgeDirectory is not null && !Directory.Exists(knowledgeDirectory))
            throw new UsageException($"--knowledge folder not found: {knowledgeDirectory}");
        try { return IncidentPlaybook.Load(knowledgeDirectory); }
        catch (PlaybookException e) { throw new UsageException(e.Message); }
    }

    /// <summary>The language asked for, else the case's, else English; only languages the playbook has.</summary>
    public static string Language(IncidentPlaybook playbook, string? requested, CaseSettings settings)
    {
        var lang = (requested ?? settings.Language ?? "en").Trim().ToLowerInvariant();
        if (requested is not null && playbook.MatchLanguage(lang) is null)
            throw new UsageException($"--lang '{requested}': use {string.Join(" or ", playbook.Languages)}");
        return playbook.MatchLanguage(lang) ?? "en";
    }

    public static Checklist Build(IncidentPlaybook playbook, CaseSnapshot snapshot, string lang) =>
        ChecklistBuilder.Build(playbook, snapshot, lang, DateTimeOffset.UtcNow);
}
