namespace Exir.Case.Playbook;

// The checklist as the report and `exir case status` show it: the playbook's steps and duties
// (knowledge/playbook.yaml, English and German texts), what the case's findings suggest for each, the state the
// responders set, and the deadlines. Built by ChecklistBuilder from a CaseSnapshot; never stored itself.

/// <summary>How much a step matters for this case, as suggested by its findings and settings.</summary>
public enum Need
{
    /// <summary>Nothing in the case calls for it (yet).</summary>
    Optional,
    Recommended,
    Required,
    /// <summary>Does not apply to this case (e.g. the BSI duty without critical infrastructure).</summary>
    NotApplicable,
}

/// <summary>One step or duty of the checklist, in the report's language.</summary>
public sealed record ChecklistItem
{
    public required string Id { get; init; }
    /// <summary>"step" (the technical playbook) or "duty" (legal and organisational obligations).</summary>
    public required string Kind { get; init; }
    public required string Title { get; init; }
    /// <summary>What to do, in plain words.</summary>
    public string Text { get; init; } = "";
    public Need Need { get; init; }
    /// <summary>Why it is suggested (from the findings and settings), in the report's language.</summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];
    /// <summary>open, done or n/a (<see cref="StepStates"/>), as last set; open when never set.</summary>
    public string State { get; init; } = StepStates.Open;
    public string? StateNote { get; init; }
    public string? StateBy { get; init; }
    public DateTimeOffset? StateAtUtc { get; init; }
    /// <summary>The deadline, when the step has one and its start is known (GDPR Art. 33: awareness + 72 h).</summary>
    public DateTimeOffset? DeadlineUtc { get; init; }
    /// <summary>The deadline in the case's time zone, written for the reader (e.g. "Fri 04.12.2026 15:00 CET").</summary>
    public string? DeadlineLocal { get; init; }
    /// <summary>Time left at <see cref="Checklist.NowUtc"/> (negative when missed); null without a deadline.</summary>
    public TimeSpan? TimeLeft { get; init; }
    /// <summary>The deadline passed while the step was still open (or it was done after the deadline); only for a
    /// step the case calls for (required or recommended) and not marked n/a.</summary>
    public bool Missed { get; init; }
    /// <summary>Why a deadline cannot be computed (e.g. the time of awareness is not set), in the report's language.</summary>
    public string? DeadlineNote { get; init; }
    /// <summary>References (law, guide, contact points) as the playbook names them.</summary>
    public IReadOnlyList<string> References { get; init; } = [];
}

public sealed record Checklist(IReadOnlyList<ChecklistItem> Items, string Language, DateTimeOffset NowUtc, string PlaybookVersion)
{
    /// <summary>What the reader should know about the checklist itself (a step the playbook does not know, a language it lacks).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
