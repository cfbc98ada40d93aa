using System.Buffers;
using Exir.Core.Findings;
using Exir.Logs;

namespace Exir.Detection.Logs;

/// <summary>
/// A log detection loaded from rules/logs/*.yaml: which formats it reads, the literals a line must
/// contain (the fast pre-filter), the field conditions, derived values, outcome grades and the
/// fields copied into a finding's details.
/// </summary>
public sealed class LogRule
{
    public required RuleInfo Info { get; init; }
    public required IReadOnlyList<LogFormat> Formats { get; init; }
    /// <summary>Case-insensitive literals; a line is evaluated only if it contains one (raw or percent-decoded).</summary>
    public required IReadOnlyList<string> Literals { get; init; }
    /// <summary>Further literals that must all be present (cheap rejection of lines that share a common literal).</summary>
    public IReadOnlyList<string> RequireAll { get; init; } = [];
    public required LogCondition Match { get; init; }
    public IReadOnlyList<Derivation> Derive { get; init; } = [];
    public IReadOnlyList<Grade> Grades { get; init; } = [];
    /// <summary>Fields whose values go into the finding's details.</summary>
    public IReadOnlyList<string> DetailFields { get; init; } = [];
    /// <summary>Rules sharing a group report a line once: the first rule (file order) that matches wins.</summary>
    public string? Group { get; init; }
    /// <summary>True when a condition percent-decodes: literals are then also searched in the decoded line.</summary>
    public bool UsesDecoding { get; init; }
    public string SourceFile { get; init; } = "";

    private SearchValues<string>? _literals;
    internal SearchValues<string> LiteralValues => _literals ??= SearchValues.Create(Literals.ToArray(), StringComparison.OrdinalIgnoreCase);

    internal bool PassesLiterals(ReadOnlySpan<char> raw, ReadOnlySpan<char> decoded)
    {
        bool useDecoded = UsesDecoding && !decoded.IsEmpty;
        if (Literals.Count > 0 && !raw.ContainsAny(LiteralValues) && !(useDecoded && decoded.ContainsAny(LiteralValues))) return false;
        foreach (var required in RequireAll)
            if (!raw.Contains(required, StringComparison.OrdinalIgnoreCase) && !(useDecoded && decoded.Contains(required, StringComparison.OrdinalIgnoreCase)))
                return false;
        return true;
    }
}
