using System.Text.RegularExpressions;
using Exir.Logs;
using Exir.Core;

namespace Exir.Detection.Logs;

/// <summary>A test over one log line (its fields, derived values and raw text). Built from rule data.</summary>
public abstract class LogCondition
{
    public abstract bool Evaluate(LogLineView line);
}

public sealed class AllCondition(IReadOnlyList<LogCondition> parts) : LogCondition
{
    public IReadOnlyList<LogCondition> Parts { get; } = parts;
    public override bool Evaluate(LogLineView line)
    {
        foreach (var p in Parts) if (!p.Evaluate(line)) return false;
        return true;
    }
}

public sealed class AnyCondition(IReadOnlyList<LogCondition> parts) : LogCondition
{
    public IReadOnlyList<LogCondition> Parts { get; } = parts;
    public override bool Evaluate(LogLineView line)
    {
        foreach (var p in Parts) if (p.Evaluate(line)) return true;
        return false;
    }
}

public sealed class NotCondition(LogCondition inner) : LogCondition
{
    public override bool Evaluate(LogLineView line) => !inner.Evaluate(line);
}

/// <summary>How a value is rewritten before it is compared.</summary>
public enum ValueTransform
{
    /// <summary>Repeated percent-decoding (%XX, %uXXXX, double encoding).</summary>
    Percent,
    /// <summary>'+' as space (IIS writes spaces in user agents as '+').</summary>
    Plus,
    /// <summary>Windows path normalisation: '/' to '\', "." and ".." segments resolved.</summary>
    WinPath,
}

public enum FieldOperator { Equals, Contains, StartsWith, EndsWith, Wildcard, Regex, AllowList, Empty, Present }

/// <summary>
/// One comparison on a named field. Several values mean any-of. Comparisons are case-insensitive
/// (Exchange and IIS treat URLs and paths so), regexes use their own flags.
/// </summary>
public sealed class FieldCondition : LogCondition
{
    public required string Field { get; init; }
    public required FieldOperator Operator { get; init; }
    public IReadOnlyList<string> Values { get; init; } = [];
    public IReadOnlyList<RuleRegex> Regexes { get; init; } = [];
    public IReadOnlyList<ValueTransform> Transforms { get; init; } = [];
    public bool Negate { get; init; }
    public bool ExpectEmpty { get; init; } = true;

    public override bool Evaluate(LogLineView line)
    {
        bool result;
        if (Operator == FieldOperator.Present) result = line.Has(Field) == ExpectEmpty;
        else
        {
            var value = line.Value(Field, Transforms);
            result = Operator switch
            {
                FieldOperator.Empty => (value.Length == 0) == ExpectEmpty,
                FieldOperator.Equals => Any(v => value.Equals(v, StringComparison.OrdinalIgnoreCase)),
                FieldOperator.Contains => Any(v => value.Contains(v, StringComparison.OrdinalIgnoreCase)),
                FieldOperator.StartsWith => Any(v => value.StartsWith(v, StringComparison.OrdinalIgnoreCase)),
                FieldOperator.EndsWith => Any(v => value.EndsWith(v, StringComparison.OrdinalIgnoreCase)),
                FieldOperator.Wildcard or FieldOperator.AllowList => Any(v => Wildcard.IsMatch(value, v)),
                FieldOperator.Regex => MatchRegex(line, value),
                _ => false,
            };
        }
        return Negate ? !result : result;
    }

    private bool Any(Func<string, bool> test)
    {
        foreach (var v in Values) if (test(v)) return true;
        return false;
    }

    private bool MatchRegex(LogLineView line, string value)
    {
        foreach (var rx in Regexes)
        {
            Match m;
            try { m = rx.Match(value); }
            catch (RegexMatchTimeoutException) { line.Note("regex_timeout", rx.ToString()); continue; }
            if (!m.Success) continue;
            // Named groups are the rule's way to extract values (cmdlet, parameter, payload) into details.
            foreach (Group g in m.Groups)
                if (g.Success && !char.IsAsciiDigit(g.Name[0])) line.Capture(g.Name, g.Value);
            return true;
        }
        return false;
    }
}

/// <summary>'*' matches any run of characters; everything else is literal and case-insensitive.</summary>
public static class Wildcard
{
    public static bool IsMatch(ReadOnlySpan<char> text, ReadOnlySpan<char> pattern)
    {
        int star = pattern.IndexOf('*');
        if (star < 0) return text.Equals(pattern, StringComparison.OrdinalIgnoreCase);
        var head = pattern[..star];
        if (!text.StartsWith(head, StringComparison.OrdinalIgnoreCase)) return false;
        text = text[head.Length..];
        pattern = pattern[(star + 1)..];
        while (true)
        {
            star = pattern.IndexOf('*');
            if (star < 0) return text.EndsWith(pattern, StringComparison.OrdinalIgnoreCase) && text.Length >= pattern.Length;
            var part = pattern[..star];
            int at = text.IndexOf(part, StringComparison.OrdinalIgnoreCase);
            if (at < 0) return false;
            text = text[(at + part.Length)..];
            pattern = pattern[(star + 1)..];
        }
    }
}

/// <summary>A named value computed from a field (after its transforms) by a regex: the "value" group, else group 1; e.g. the SSRF target of an anchor.</summary>
public sealed record Derivation(string Name, IReadOnlyList<(string Field, RuleRegex Regex)> Sources, IReadOnlyList<ValueTransform> Transforms);

/// <summary>Severity and outcome by what the line shows (status codes, target); the first grade whose condition holds wins.</summary>
public sealed record Grade(LogCondition When, Core.Findings.Severity Severity, Core.Findings.Outcome Outcome, string Note);
