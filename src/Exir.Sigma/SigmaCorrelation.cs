namespace Exir.Sigma;

public enum SigmaCorrelationType { EventCount, ValueCount, Temporal, TemporalOrdered }

/// <summary>A correlation condition: gt, gte, lt, lte, eq, neq (one or two of them: a range).</summary>
public sealed record SigmaCountCondition(IReadOnlyList<(string Op, long Value)> Tests)
{
    public bool Holds(long n)
    {
        foreach (var (op, v) in Tests)
        {
            bool ok = op switch
            {
                "gt" => n > v, "gte" => n >= v, "lt" => n < v, "lte" => n <= v, "eq" => n == v, "neq" => n != v,
                _ => false,
            };
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>True when more events can only make the condition true (gt/gte alone): a sliding window may fire early.</summary>
    public bool IsLowerBoundOnly => Tests.All(t => t.Op is "gt" or "gte");

    public override string ToString() => string.Join(" and ", Tests.Select(t => $"{t.Op} {t.Value}"));
}

/// <summary>A Sigma v2 correlation: which rules, how grouped, within what time, under what condition.</summary>
public sealed class SigmaCorrelation
{
    public required SigmaCorrelationType Type { get; init; }
    /// <summary>The rules correlated, by id or name as the correlation spells them.</summary>
    public required IReadOnlyList<string> RuleRefs { get; init; }
    public IReadOnlyList<string> GroupBy { get; init; } = [];
    public required TimeSpan Timespan { get; init; }
    /// <summary>The count condition; for temporal rules without one: every rule must fire.</summary>
    public SigmaCountCondition? Condition { get; init; }
    /// <summary>value_count: the field whose distinct values are counted.</summary>
    public string? ValueField { get; init; }
    /// <summary>Aliases: alias -> (rule ref -> field name in that rule's hits).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Aliases { get; init; } = new Dictionary<string, IReadOnlyDictionary<string, string>>();
    /// <summary>
    /// Sigma's <c>generate</c> (inside <c>correlation:</c> or at the top level): whether the correlated rules are alerts
    /// of their own. False by default; their hits then carry <see cref="SigmaHit.CorrelationOnly"/>.
    /// </summary>
    public bool Generate { get; init; }
}
