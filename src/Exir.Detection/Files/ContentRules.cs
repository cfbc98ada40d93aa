namespace Exir.Detection.Files;

/// <summary>
/// One matched string of a content rule: identifier, offset in the scanned bytes, the bytes. <paramref name="InNormalisedText"/>:
/// the bytes matched the normalised text (joined literals, decoded character codes) and are not in the file as they
/// are; the offset is where the first of them came from.
/// </summary>
public sealed record ContentStringMatch(string Identifier, long Offset, ReadOnlyMemory<byte> Data, bool InNormalisedText = false);

/// <summary>A content rule (YARA) that matched a file, with its metadata.</summary>
public sealed record ContentRuleMatch(
    string Namespace, string Rule, IReadOnlyList<string> Tags, IReadOnlyDictionary<string, string> Meta,
    IReadOnlyList<ContentStringMatch> Strings, bool BuiltIn);

/// <summary>Per-file facts handed to rules as YARA external variables (LOKI/THOR rule sets use them).</summary>
public sealed record FileFacts(string FileName, string FilePath, string Extension);

/// <summary>A problem with a rule file or rule: reported in coverage, the scan goes on.</summary>
public sealed record ContentRuleProblem(string Path, string Message, bool Skipped);

/// <summary>Compiled content rules; implementations are thread-safe (one instance scans on all cores).</summary>
public interface IContentRules
{
    /// <summary>Rules that compiled, for the report's provenance.</summary>
    int RuleCount { get; }
    IReadOnlyList<ContentRuleProblem> Problems { get; }
    IReadOnlyList<ContentRuleMatch> Scan(ReadOnlySpan<byte> data, FileFacts facts);
    /// <summary>The same over bytes the caller holds in memory; an implementation may scan them in place (no copy of a big file).</summary>
    IReadOnlyList<ContentRuleMatch> Scan(ReadOnlyMemory<byte> data, FileFacts facts) => Scan(data.Span, facts);

    /// <summary>
    /// Like <see cref="Scan(ReadOnlySpan{byte}, FileFacts)"/>, and adds to <paramref name="incomplete"/> one line per rule
    /// that could not be evaluated fully on this file (time limit, a string's matching budget), naming it.
    /// </summary>
    IReadOnlyList<ContentRuleMatch> Scan(ReadOnlySpan<byte> data, FileFacts facts, List<string> incomplete) => Scan(data, facts);

    /// <summary>The same over bytes the caller holds in memory (scanned in place where the implementation can).</summary>
    IReadOnlyList<ContentRuleMatch> Scan(ReadOnlyMemory<byte> data, FileFacts facts, List<string> incomplete) => Scan(data.Span, facts, incomplete);
}
