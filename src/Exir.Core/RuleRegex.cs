using System.Text.RegularExpressions;

namespace Exir.Core;

/// <summary>
/// A regex from rule data: its syntax is checked when the rule loads (a bad pattern is still an error of that rule),
/// the matcher is built at its first use. The linear-time engine (no backtracking, so a hostile line cannot stall a
/// scan) costs about 4 ms to build per pattern, most of a rule set's start-up; a scan that never evaluates a rule
/// never pays for it. Patterns the linear engine cannot run (look-arounds, back-references) fall back to the
/// backtracking engine bounded by a timeout, as before. Thread-safe: one instance matches on every worker.
/// </summary>
public sealed class RuleRegex
{
    public static readonly TimeSpan BacktrackingTimeout = TimeSpan.FromMilliseconds(200);

    private readonly Lazy<Regex> _regex;

    /// <param name="linear">false: always the backtracking engine with <paramref name="options"/> as given (rules
    /// written for it), bounded by <see cref="BacktrackingTimeout"/>.</param>
    /// <exception cref="ArgumentException">The pattern is not a valid regex.</exception>
    public RuleRegex(string pattern, RegexOptions options, bool linear = true)
    {
        Pattern = pattern;
        Options = options;
        // The parser of the interpreted engine finds every syntax error the others would, for a tenth of the cost.
        _ = new Regex(pattern, options & ~(RegexOptions.NonBacktracking | RegexOptions.Compiled));
        _regex = linear
            ? new Lazy<Regex>(() => Build(pattern, options), LazyThreadSafetyMode.ExecutionAndPublication)
            : new Lazy<Regex>(() => new Regex(pattern, options, BacktrackingTimeout), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Pattern { get; }
    public RegexOptions Options { get; }
    /// <summary>The matcher (built now if it was not yet).</summary>
    public Regex Regex => _regex.Value;
    public bool IsBuilt => _regex.IsValueCreated;

    public Match Match(string input) => Regex.Match(input);
    public bool IsMatch(string input) => Regex.IsMatch(input);
    public bool IsMatch(ReadOnlySpan<char> input) => Regex.IsMatch(input);
    public override string ToString() => Pattern;

    /// <summary>Linear-time where the pattern allows, else backtracking bounded by <see cref="BacktrackingTimeout"/>.</summary>
    public static Regex Build(string pattern, RegexOptions options)
    {
        try { return new Regex(pattern, options | RegexOptions.NonBacktracking); }
        catch (NotSupportedException) { return new Regex(pattern, options & ~RegexOptions.NonBacktracking, BacktrackingTimeout); }
    }
}
