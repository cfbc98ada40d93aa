using System.Globalization;
using System.Text;
using Exir.Core.Coverage;
using Exir.Core.Findings;

namespace Exir.Detection.Files.Checks;

/// <summary>
/// Content rules (YARA: the built-in rules/yara and the user's --yara), on text decoded from UTF-16 when
/// the file carries a UTF-16 byte-order mark (ASP.NET runs those pages too).
/// </summary>
public sealed class ContentRuleCheck(IContentRules content) : IFileCheck
{
    private const int ExcerptChars = 160;

    public void Inspect(FileUnderTest file, FileHuntReport report)
    {
        var data = file.Data.Span;
        ReadOnlyMemory<byte> text = file.Data;
        string? decoded = null;
        if (data.Length >= 2 && ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF)))
        {
            var enc = data[0] == 0xFF ? Encoding.Unicode : Encoding.BigEndianUnicode;
            text = Encoding.UTF8.GetBytes(enc.GetString(data[2..]));
            decoded = data[0] == 0xFF ? "utf-16le" : "utf-16be";
        }
        IReadOnlyList<ContentRuleMatch> matches;
        var incomplete = new List<string>();
        try { matches = content.Scan(text, new FileFacts(file.File.Name, file.Path, file.File.Extension.TrimStart('.')), incomplete); }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            report.Context.Coverage.AddIssue(IssueKind.CheckNotRun, file.Path, $"YARA scan failed: {e.Message}");
            return;
        }
        // Rules cut short on this file are named (one issue per file); the matches of the others stand.
        if (incomplete.Count > 0)
            report.Context.Coverage.AddIssue(IssueKind.CheckNotRun, file.Path,
                $"YARA: {incomplete.Count} rule(s) not evaluated fully: " + string.Join("; ", incomplete.Take(5)) + (incomplete.Count > 5 ? $"; and {incomplete.Count - 5} more" : ""));
        foreach (var m in matches)
        {
            var d = file.BaseDetails();
            foreach (var (k, v) in m.Meta) d["meta." + k] = v;
            d["rule_namespace"] = m.Namespace;
            d["rule_source"] = m.BuiltIn ? "built-in (rules/yara)" : "user rules (--yara)";
            if (m.Tags.Count > 0) d["rule_tags"] = string.Join(' ', m.Tags);
            if (decoded is not null) d["scanned_as"] = decoded + " decoded to utf-8";
            if (m.Strings.Any(s => s.InNormalisedText)) d["matched_in"] = "normalised text (comments removed, split literals joined, character codes decoded); offsets are where the text starts in the file";
            d["matched_strings"] = string.Join(", ", m.Strings.Take(20).Select(s => $"{s.Identifier}@{s.Offset}" + (s.InNormalisedText ? " (in normalised text)" : "")))
                                   + (m.Strings.Count > 20 ? $" (+{m.Strings.Count - 20} more)" : "");
            report.Report(RuleInfoOf(m), file.File, Excerpt(m), d);
        }
    }

    /// <summary>YARA rule metadata to a finding's rule: built-in rules carry id/title/severity; user rules get sane defaults.</summary>
    public static RuleInfo RuleInfoOf(ContentRuleMatch m)
    {
        var meta = m.Meta;
        var severity = Severity.High;
        if (meta.TryGetValue("severity", out var sv) && SeverityNames.TryParseSeverity(sv, out var s)) severity = s;
        else if (meta.TryGetValue("score", out var sc) && int.TryParse(sc, NumberStyles.Integer, CultureInfo.InvariantCulture, out var score))
            severity = score >= 80 ? Severity.High : score >= 60 ? Severity.Medium : Severity.Low;
        string title = meta.GetValueOrDefault("title") ?? meta.GetValueOrDefault("description") ?? m.Rule;
        return new RuleInfo
        {
            Id = "yara:" + m.Rule,
            Title = title,
            Severity = severity,
            // A rule of high confidence that matched means a shell or malware is on disk.
            Outcome = severity >= Severity.High ? Outcome.Success : Outcome.Indicator,
            Attack = SplitList(meta.GetValueOrDefault("attack") ?? meta.GetValueOrDefault("mitre_attack")),
            Explanation = meta.GetValueOrDefault("description") ?? "",
            References = SplitList(meta.GetValueOrDefault("references") ?? meta.GetValueOrDefault("reference")),
        };
    }

    private static IReadOnlyList<string> SplitList(string? s) =>
        string.IsNullOrWhiteSpace(s) ? [] : s.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The matched bytes as readable text: the first strings, control characters shown as '.', capped.</summary>
    public static string Excerpt(ContentRuleMatch m)
    {
        if (m.Strings.Count == 0) return $"rule {m.Rule} matched (condition without strings)";
        var parts = new List<string>();
        int total = 0;
        foreach (var s in m.Strings.DistinctBy(s => s.Identifier))
        {
            var text = Printable(s.Data.Span);
            if (text.Length > ExcerptChars) text = text[..ExcerptChars] + "...";
            parts.Add($"{s.Identifier}{(s.InNormalisedText ? " (in normalised text)" : "")}: {text}");
            total += text.Length;
            if (parts.Count >= 3 || total > 400) break;
        }
        return string.Join(" | ", parts);
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var s = Encoding.UTF8.GetString(bytes);
        var sb = new StringBuilder(s.Length);
        bool space = false;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c)) { if (!space) sb.Append(' '); space = true; continue; }
            space = false;
            sb.Append(char.IsControl(c) || c == '\uFFFD' ? '.' : c);
        }
        return sb.ToString().Trim();
    }
}
