namespace Exir.Timeline;

/// <summary>
/// One copy of each repeated string (host names, images, logon types, file paths): every row brings its own
/// copies, and what the analyses keep for the whole run would otherwise hold one per row. Bounded: past
/// <see cref="MaxStrings"/> distinct values new strings are returned as they are, still correct, just not shared.
/// Not thread-safe: the owner's lock guards it.
/// </summary>
internal sealed class StringPool(int maxStrings = StringPool.DefaultMaxStrings)
{
    public const int DefaultMaxStrings = 100_000;
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);

    public int MaxStrings { get; } = maxStrings;

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(s))]
    public string? Get(string? s)
    {
        if (s is null) return null;
        if (_strings.TryGetValue(s, out var kept)) return kept;
        if (_strings.Count < MaxStrings) _strings[s] = s;
        return s;
    }
}
