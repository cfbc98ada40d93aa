using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Exir.Core;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Exir.Reporting.CaseReport;

/// <summary>
/// Every text of the case report in English and German, from rules/report/case-report.yaml (user-updatable: a
/// rules/ folder beside exir or the rules option wins; the copy embedded in Exir.Reporting is the fallback, key by
/// key). A key missing in both falls back to English, then to the key itself in brackets, and is recorded in
/// <see cref="Missing"/>: a test fails on it, the report does not.
/// </summary>
public sealed class CaseReportTexts
{
    public const string FileName = "report/case-report.yaml";
    public static readonly IReadOnlyList<string> Languages = ["en", "de"];

    private readonly IReadOnlyDictionary<string, Dictionary<string, string>>? _user;
    private readonly IReadOnlyDictionary<string, Dictionary<string, string>> _embedded;
    private readonly ConcurrentDictionary<string, byte> _missing = new(StringComparer.Ordinal);

    private CaseReportTexts(string language, IReadOnlyDictionary<string, Dictionary<string, string>>? user,
        IReadOnlyDictionary<string, Dictionary<string, string>> embedded, string version, string origin, IReadOnlyList<string> problems)
    {
        Language = language;
        _user = user;
        _embedded = embedded;
        Version = version;
        Origin = origin;
        Problems = problems;
    }

    /// <summary>en or de.</summary>
    public string Language { get; }
    /// <summary>The texts' version line (shown in the appendix).</summary>
    public string Version { get; }
    /// <summary>Where the texts came from: a folder, or "embedded".</summary>
    public string Origin { get; }
    /// <summary>Why the user's file could not be used (it is then ignored), for the appendix.</summary>
    public IReadOnlyList<string> Problems { get; }
    /// <summary>Keys asked for that no file had in this language.</summary>
    public IReadOnlyCollection<string> Missing => _missing.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();

    /// <summary>en for anything but German (de, de-DE, de_AT...).</summary>
    public static string NormaliseLanguage(string? lang) =>
        lang is not null && lang.Trim().StartsWith("de", StringComparison.OrdinalIgnoreCase) ? "de" : "en";

    /// <param name="rulesDirectory">A rules folder given on the command line; null looks beside exir and in a source checkout.</param>
    public static CaseReportTexts Load(string? lang, string? rulesDirectory = null)
    {
        var language = NormaliseLanguage(lang);
        var embeddedText = ReadEmbedded();
        var (embedded, embeddedVersion) = Parse(embeddedText);
        var problems = new List<string>();
        IReadOnlyDictionary<string, Dictionary<string, string>>? user = null;
        string version = embeddedVersion, origin = "embedded";
        try
        {
            var rules = new DataFiles("rules", typeof(CaseReportTexts).Assembly, rulesDirectory);
            if (rules.Directory is not null && File.Exists(Path.Combine(rules.Directory, FileName)))
            {
                var path = Path.Combine(rules.Directory, FileName);
                try
                {
                    (user, version) = Parse(File.ReadAllText(path));
                    origin = path;
                }
                catch (Exception e) when (e is YamlException or InvalidDataException or IOException or UnauthorizedAccessException)
                {
                    problems.Add($"{path}: {e.Message} (the built-in texts are used)");
                }
            }
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            problems.Add(e.Message + " (the built-in texts are used)");
        }
        return new CaseReportTexts(language, user, embedded, version, origin, problems);
    }

    /// <summary>The embedded file's text (tests compare its keys across languages).</summary>
    public static string ReadEmbedded()
    {
        using var s = typeof(CaseReportTexts).Assembly.GetManifestResourceStream("rules/" + FileName)
                      ?? throw new InvalidOperationException($"rules/{FileName} is not embedded in Exir.Reporting");
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>key → language → text, and the version line.</summary>
    public static (IReadOnlyDictionary<string, Dictionary<string, string>> Texts, string Version) Parse(string yaml)
    {
        var file = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(yaml)
                   ?? throw new InvalidDataException("empty file");
        var version = file.TryGetValue("version", out var v) ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" : "";
        if (!file.TryGetValue("texts", out var textsNode) || textsNode is not Dictionary<object, object> texts)
            throw new InvalidDataException("no 'texts' map");
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (key, node) in texts)
        {
            if (node is not Dictionary<object, object> byLang) throw new InvalidDataException($"text '{key}' is not a map of languages");
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (l, t) in byLang) map[Convert.ToString(l, CultureInfo.InvariantCulture) ?? ""] = Convert.ToString(t, CultureInfo.InvariantCulture) ?? "";
            result[Convert.ToString(key, CultureInfo.InvariantCulture) ?? ""] = map;
        }
        return (result, version);
    }

    public string this[string key] => Get(key);

    public string Get(string key)
    {
        if (_user is not null && _user.TryGetValue(key, out var u) && u.TryGetValue(Language, out var ut)) return ut;
        if (_embedded.TryGetValue(key, out var e))
        {
            if (e.TryGetValue(Language, out var et)) return et;
            _missing.TryAdd(key, 0);
            if (e.TryGetValue("en", out var en)) return en;
        }
        _missing.TryAdd(key, 0);
        return "[" + key + "]";
    }

    /// <summary>The text with its {name} placeholders filled (values are plain text; the caller escapes the result).</summary>
    public string Format(string key, params (string Name, object? Value)[] values)
    {
        var text = Get(key);
        foreach (var (name, value) in values)
            text = text.Replace("{" + name + "}", value switch
            {
                null => "",
                int i => Number(i),
                long l => Number(l),
                DateTimeOffset t => DateTime(t),
                _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
            }, StringComparison.Ordinal);
        return text;
    }

    /// <summary>A number with the language's thousands separator (globalization is invariant: the separator is data).</summary>
    public string Number(long n) =>
        n.ToString("N0", CultureInfo.InvariantCulture).Replace(",", Get("format.thousands_separator"), StringComparison.Ordinal);

    /// <summary>Date and minute, UTC, as the reader writes it (04.12.2026 15:00 UTC in German).</summary>
    public string DateTime(DateTimeOffset t) => t.UtcDateTime.ToString(Get("format.datetime"), CultureInfo.InvariantCulture);
    /// <summary>Date and second, UTC, without the zone (for table columns headed "UTC").</summary>
    public string Time(DateTimeOffset t) => t.UtcDateTime.ToString(Get("format.time"), CultureInfo.InvariantCulture);
    public string Date(DateTimeOffset t) => t.UtcDateTime.ToString(Get("format.date"), CultureInfo.InvariantCulture);
    public string Time(DateTimeOffset? t) => t is { } v ? Time(v) : Get("common.undated");

    /// <summary>A span in days and hours, or hours and minutes below two days (always positive: the caller says left or missed).</summary>
    public string Duration(TimeSpan span)
    {
        var s = span.Duration();
        return s.TotalHours >= 48
            ? Format("format.duration_days", ("d", (long)s.TotalDays), ("h", (long)s.Hours))
            : Format("format.duration_hours", ("h", (long)s.TotalHours), ("m", (long)s.Minutes));
    }
}
