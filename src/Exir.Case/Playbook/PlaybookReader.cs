using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Exir.Case.Playbook;

/// <summary>
/// Reads knowledge/playbook.yaml into a <see cref="IncidentPlaybook"/> and checks everything the checklist relies on:
/// known keys only (a typo is not silently ignored), every text in every language, known facts tested the way
/// their kind allows, placeholders the rule's facts can fill, deadlines counted from a known point. Every problem
/// is collected with its line and column, then thrown together.
/// </summary>
internal sealed partial class PlaybookReader
{
    private static readonly string[] Placeholders = ["count", "hosts", "accounts", "cves"];
    private static readonly string[] FormatKeys = ["weekdays", "months", "deadline", "time_left", "overdue", "days", "hours", "minutes", "list_and", "list_more"];
    private static readonly string[] DeadlineFields = ["weekday", "month", "d", "dd", "MM", "yyyy", "HH", "mm", "zone"];

    private readonly string _file;
    private readonly List<PlaybookProblem> _problems = [];
    private List<string> _languages = [];
    private string? _item;

    private PlaybookReader(string file) => _file = file;

    public static IncidentPlaybook Read(string yaml, string file, string origin)
    {
        var reader = new PlaybookReader(file);
        var playbook = reader.ReadDocument(yaml, origin);
        if (reader._problems.Count > 0 || playbook is null)
            throw new PlaybookException(reader._problems.Count > 0 ? reader._problems : [new PlaybookProblem(file, 0, 0, null, "empty")]);
        return playbook;
    }

    private IncidentPlaybook? ReadDocument(string yaml, string origin)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e)
        {
            _problems.Add(new PlaybookProblem(_file, (int)e.Start.Line, (int)e.Start.Column, null, "not valid YAML: " + (e.InnerException?.Message ?? e.Message)));
            return null;
        }
        // YamlDotNet's scanner throws InvalidOperationException on some broken input (an unclosed flow sequence
        // before the end of the file) instead of a YamlException with a position.
        catch (InvalidOperationException)
        {
            var (line, column) = LastReadablePosition(yaml);
            _problems.Add(new PlaybookProblem(_file, line, column, null, "not valid YAML: the text after this point cannot be read (an unclosed [ or { ?)"));
            return null;
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            Problem(stream.Documents.FirstOrDefault()?.RootNode, "the playbook must be a mapping with version, languages, formats, time_zones, texts and items");
            return null;
        }
        Keys(root, "version", "languages", "formats", "time_zones", "texts", "items");

        var version = Scalar(root, "version", required: true) ?? "";
        _languages = StringList(Get(root, "languages", required: true)).Select(l => l.Value!).ToList();
        if (_languages.Count == 0) Problem(Get(root, "languages"), "languages: name at least one language (en, de)");
        foreach (var dup in _languages.GroupBy(l => l).Where(g => g.Count() > 1)) Problem(Get(root, "languages"), $"language '{dup.Key}' listed twice");

        var formats = ReadFormats(Get(root, "formats", required: true));
        var zones = ReadZones(Get(root, "time_zones"));
        var texts = ReadTexts(Get(root, "texts", required: true));
        var items = ReadItems(Get(root, "items", required: true));
        return new IncidentPlaybook
        {
            Version = version, Origin = origin, Languages = _languages, Items = items, Formats = formats,
            TimeZones = zones, Texts = texts,
        };
    }

    private Dictionary<string, PlaybookFormat> ReadFormats(YamlNode? node)
    {
        var result = new Dictionary<string, PlaybookFormat>(StringComparer.Ordinal);
        if (node is null) return result;
        if (node is not YamlMappingNode map) { Problem(node, "formats: a mapping of language to formats"); return result; }
        foreach (var lang in _languages)
        {
            if (Get(map, lang) is not YamlMappingNode f)
            {
                Problem(map, $"formats: missing language '{lang}'");
                continue;
            }
            Keys(f, FormatKeys);
            var weekdays = StringList(Get(f, "weekdays", required: true)).Select(s => s.Value!).ToList();
            if (weekdays.Count != 7) Problem(Get(f, "weekdays") ?? f, $"formats.{lang}.weekdays: 7 names, Sunday first (has {weekdays.Count})");
            var months = StringList(Get(f, "months", required: true)).Select(s => s.Value!).ToList();
            if (months.Count != 12) Problem(Get(f, "months") ?? f, $"formats.{lang}.months: 12 names, January first (has {months.Count})");
            var deadline = Scalar(f, "deadline", required: true) ?? "";
            CheckPlaceholders(Get(f, "deadline"), deadline, DeadlineFields, $"formats.{lang}.deadline");
            var timeLeft = Scalar(f, "time_left", required: true) ?? "";
            CheckPlaceholders(Get(f, "time_left"), timeLeft, ["span"], $"formats.{lang}.time_left");
            var overdue = Scalar(f, "overdue", required: true) ?? "";
            CheckPlaceholders(Get(f, "overdue"), overdue, ["span"], $"formats.{lang}.overdue");
            var more = Scalar(f, "list_more", required: true) ?? "";
            CheckPlaceholders(Get(f, "list_more"), more, ["n"], $"formats.{lang}.list_more");
            result[lang] = new PlaybookFormat
            {
                Weekdays = weekdays, Months = months, Deadline = deadline, TimeLeft = timeLeft, Overdue = overdue,
                Days = Scalar(f, "days", required: true) ?? "", Hours = Scalar(f, "hours", required: true) ?? "",
                Minutes = Scalar(f, "minutes", required: true) ?? "", ListAnd = Scalar(f, "list_and", required: true) ?? "", ListMore = more,
            };
        }
        foreach (var key in map.Children.Keys.OfType<YamlScalarNode>().Where(k => !_languages.Contains(k.Value ?? "")))
            Problem(key, $"formats: '{key.Value}' is not one of the playbook's languages ({string.Join(", ", _languages)})");
        return result;
    }

    private Dictionary<string, ZoneNames> ReadZones(YamlNode? node)
    {
        var result = new Dictionary<string, ZoneNames>(StringComparer.OrdinalIgnoreCase);
        if (node is null) return result;
        if (node is not YamlSequenceNode seq) { Problem(node, "time_zones: a list of {zones, standard, daylight}"); return result; }
        foreach (var entry in seq)
        {
            if (entry is not YamlMappingNode m) { Problem(entry, "time_zones: each entry is {zones, standard, daylight}"); continue; }
            Keys(m, "zones", "standard", "daylight");
            var standard = Text(m, "standard", "time_zones.standard");
            var daylight = Text(m, "daylight", "time_zones.daylight");
            foreach (var zone in StringList(Get(m, "zones", required: true)))
            {
                if (standard is null || daylight is null) continue;
                if (!result.TryAdd(zone.Value!, new ZoneNames(standard, daylight))) Problem(zone, $"time zone '{zone.Value}' listed twice");
            }
        }
        return result;
    }

    private Dictionary<string, LocalText> ReadTexts(YamlNode? node)
    {
        var result = new Dictionary<string, LocalText>(StringComparer.Ordinal);
        if (node is null) return result;
        if (node is not YamlMappingNode map) { Problem(node, "texts: a mapping of key to text"); return result; }
        foreach (var (keyNode, _) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (!IncidentPlaybook.RequiredTexts.Contains(key)) { Problem(keyNode, $"texts: unknown key '{key}' (known: {string.Join(", ", IncidentPlaybook.RequiredTexts)})"); continue; }
            if (Text(map, key, "texts." + key) is { } t) result[key] = t;
        }
        foreach (var missing in IncidentPlaybook.RequiredTexts.Where(k => !result.ContainsKey(k) && Get(map, k) is null))
            Problem(map, $"texts: missing '{missing}'");
        return result;
    }

    private List<PlaybookItem> ReadItems(YamlNode? node)
    {
        var items = new List<PlaybookItem>();
        if (node is null) return items;
        if (node is not YamlSequenceNode seq) { Problem(node, "items: a list of steps and duties"); return items; }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in seq)
        {
            _item = null;
            if (entry is not YamlMappingNode m) { Problem(entry, "items: each item is a mapping (id, kind, title, text, ...)"); continue; }
            var id = Scalar(m, "id", required: true);
            _item = id;
            if (id is not null && !KebabCase().IsMatch(id)) Problem(Get(m, "id"), $"id '{id}' must be kebab-case (lower-case words joined by '-')");
            if (id is not null && !ids.Add(id)) Problem(Get(m, "id"), $"id '{id}' is used twice");
            Keys(m, "id", "kind", "title", "text", "references", "deadline", "when");
            var kind = Scalar(m, "kind", required: true);
            if (kind is not null and not ("step" or "duty")) Problem(Get(m, "kind"), $"kind '{kind}' is not one of step, duty");
            var title = Text(m, "title", "title", required: true);
            var text = Text(m, "text", "text", required: true);
            var refs = new List<LocalText>();
            if (Get(m, "references") is { } refNode)
            {
                if (refNode is YamlSequenceNode refSeq)
                {
                    foreach (var r in refSeq)
                        if (LocalTextOf(r, "references") is { } t) refs.Add(t);
                }
                else Problem(refNode, "references: a list of texts");
            }
            var deadline = ReadDeadline(Get(m, "deadline"));
            var rules = ReadRules(Get(m, "when"));
            if (id is null || kind is null || title is null || text is null) continue;
            items.Add(new PlaybookItem
            {
                Id = id, Kind = kind, Title = title, Text = text, References = refs, Deadline = deadline, When = rules,
                Line = (int)m.Start.Line,
            });
        }
        _item = null;
        if (seq.Children.Count == 0) Problem(seq, "items: the playbook has no steps");
        return items;
    }

    private PlaybookDeadline? ReadDeadline(YamlNode? node)
    {
        if (node is null) return null;
        if (node is not YamlMappingNode m) { Problem(node, "deadline: write {from: aware, hours: 72}"); return null; }
        Keys(m, "from", "hours");
        var from = Scalar(m, "from", required: true);
        if (from is not null && from != PlaybookDeadline.FromAware)
            Problem(Get(m, "from"), $"deadline: from '{from}' is not known (only 'aware': the time of awareness, aware_utc)");
        var hoursText = Scalar(m, "hours", required: true);
        int hours = 0;
        if (hoursText is not null && (!int.TryParse(hoursText, NumberStyles.None, CultureInfo.InvariantCulture, out hours) || hours <= 0 || hours > 24 * 366))
            Problem(Get(m, "hours"), $"deadline: hours '{hoursText}' must be a whole number of hours from 1 to {24 * 366}");
        return from == PlaybookDeadline.FromAware && hours > 0 && hours <= 24 * 366 ? new PlaybookDeadline(from, hours) : null;
    }

    private List<PlaybookRule> ReadRules(YamlNode? node)
    {
        var rules = new List<PlaybookRule>();
        if (node is null) return rules;
        if (node is not YamlSequenceNode seq) { Problem(node, "when: a list of {need, if, reason}"); return rules; }
        foreach (var entry in seq)
        {
            if (entry is not YamlMappingNode m) { Problem(entry, "when: each rule is {need, if, reason}"); continue; }
            Keys(m, "need", "if", "reason");
            Need? need = null;
            if (Scalar(m, "need") is { } needText)
            {
                if (NeedRank.TryParse(needText, out var n)) need = n;
                else Problem(Get(m, "need"), $"need '{needText}' is not one of required, recommended, optional, n/a");
            }
            var conditions = ReadConditions(Get(m, "if"));
            var reason = Text(m, "reason", "reason");
            if (need is null && reason is null) Problem(m, "a rule needs a need, a reason, or both");
            if (reason is not null)
            {
                var offered = conditions.SelectMany(c => PlaybookFacts.Definition(c.Fact)?.Placeholders ?? []).ToHashSet(StringComparer.Ordinal);
                foreach (var (lang, t) in reason.ByLanguage)
                    foreach (var name in PlaceholderNames(t))
                    {
                        if (!Placeholders.Contains(name))
                            Problem(Get(m, "reason"), $"reason ({lang}): unknown placeholder {{{name}}} (known: {string.Join(", ", Placeholders.Select(p => "{" + p + "}"))})");
                        else if (!offered.Contains(name))
                            Problem(Get(m, "reason"), $"reason ({lang}): {{{name}}} cannot be filled: none of the rule's facts ({(conditions.Count == 0 ? "none" : string.Join(", ", conditions.Select(c => c.Fact)))}) names {name}");
                    }
            }
            rules.Add(new PlaybookRule(need, conditions, reason, (int)m.Start.Line));
        }
        return rules;
    }

    private List<FactCondition> ReadConditions(YamlNode? node)
    {
        var list = new List<FactCondition>();
        if (node is null) return list;
        if (node is not YamlMappingNode m) { Problem(node, "if: a mapping of fact to test, e.g. {hosts_compromised: {min: 1}}"); return list; }
        foreach (var (keyNode, valueNode) in m.Children)
        {
            var fact = (keyNode as YamlScalarNode)?.Value ?? "";
            if (PlaybookFacts.Definition(fact) is not { } def)
            {
                Problem(keyNode, $"unknown fact '{fact}' (known: {string.Join(", ", PlaybookFacts.Vocabulary.Select(f => f.Name))})");
                continue;
            }
            if (def.Kind == FactKind.Setting)
            {
                var value = (valueNode as YamlScalarNode)?.Value;
                SettingState? state = value switch { "true" => SettingState.True, "false" => SettingState.False, "unset" => SettingState.Unset, _ => null };
                if (state is null) Problem(valueNode, $"{fact} is a setting: test it with true, false or unset");
                else list.Add(new FactCondition(fact, Setting: state));
                continue;
            }
            if (valueNode is not YamlMappingNode range)
            {
                Problem(valueNode, $"{fact} is a count: test it with {{min: N}}, {{max: N}} or both");
                continue;
            }
            Keys(range, "min", "max");
            long? min = Count(range, "min"), max = Count(range, "max");
            if (min is null && max is null) { Problem(range, $"{fact}: give min, max or both"); continue; }
            if (min > max) Problem(range, $"{fact}: min {min} is above max {max}, the test can never hold");
            list.Add(new FactCondition(fact, min, max));
        }
        return list;
    }

    private long? Count(YamlMappingNode m, string key)
    {
        if (Scalar(m, key) is not { } text) return null;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return n;
        Problem(Get(m, key), $"{key} '{text}' must be a whole number of zero or more");
        return null;
    }

    /// <summary>A text in every language: a mapping {en: ..., de: ...}, or one plain string for all (names, abbreviations).</summary>
    private LocalText? Text(YamlMappingNode parent, string key, string what, bool required = false) =>
        Get(parent, key, required) is { } node ? LocalTextOf(node, what) : null;

    private LocalText? LocalTextOf(YamlNode node, string what)
    {
        if (node is YamlScalarNode s)
        {
            if (string.IsNullOrWhiteSpace(s.Value)) { Problem(s, $"{what}: empty"); return null; }
            return new LocalText(_languages.ToDictionary(l => l, _ => s.Value!.Trim(), StringComparer.Ordinal));
        }
        if (node is not YamlMappingNode m) { Problem(node, $"{what}: a text per language ({string.Join(", ", _languages)})"); return null; }
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in m.Children)
        {
            var lang = (k as YamlScalarNode)?.Value ?? "";
            if (!_languages.Contains(lang)) { Problem(k, $"{what}: '{lang}' is not one of the playbook's languages ({string.Join(", ", _languages)})"); continue; }
            if (v is not YamlScalarNode { Value: { } value } || string.IsNullOrWhiteSpace(value)) { Problem(v, $"{what} ({lang}): empty"); continue; }
            texts[lang] = value.Trim();
        }
        var missing = _languages.Where(l => !texts.ContainsKey(l) && !m.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value == l)).ToList();
        if (missing.Count > 0) Problem(m, $"{what}: missing language {string.Join(", ", missing)}");
        return texts.Count == _languages.Count ? new LocalText(texts) : null;
    }

    private List<YamlScalarNode> StringList(YamlNode? node)
    {
        if (node is null) return [];
        if (node is not YamlSequenceNode seq) { Problem(node, "a list is expected here"); return []; }
        var list = new List<YamlScalarNode>();
        foreach (var n in seq)
        {
            if (n is YamlScalarNode { Value: { Length: > 0 } } s) list.Add(s);
            else Problem(n, "a plain text entry is expected here");
        }
        return list;
    }

    private string? Scalar(YamlMappingNode m, string key, bool required = false)
    {
        var node = Get(m, key, required);
        if (node is null) return null;
        if (node is YamlScalarNode { Value: { } v } && v.Trim().Length > 0) return v.Trim();
        Problem(node, $"{key}: a plain value is expected");
        return null;
    }

    private YamlNode? Get(YamlMappingNode m, string key, bool required = false)
    {
        if (m.Children.TryGetValue(new YamlScalarNode(key), out var node)) return node;
        if (required) Problem(m, $"missing '{key}'");
        return null;
    }

    private void Keys(YamlMappingNode m, params string[] known)
    {
        foreach (var key in m.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value;
            if (name is null || !known.Contains(name))
                Problem(key, $"unknown key '{name}' (known here: {string.Join(", ", known)})");
        }
    }

    private void CheckPlaceholders(YamlNode? node, string text, IReadOnlyList<string> allowed, string what)
    {
        foreach (var name in PlaceholderNames(text))
            if (!allowed.Contains(name))
                Problem(node, $"{what}: unknown placeholder {{{name}}} (known: {string.Join(", ", allowed.Select(a => "{" + a + "}"))})");
    }

    private static (int Line, int Column) LastReadablePosition(string yaml)
    {
        var scanner = new Scanner(new StringReader(yaml));
        Mark last = Mark.Empty;
        try
        {
            while (scanner.MoveNext()) last = scanner.Current?.Start ?? last;
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
        }
        return ((int)last.Line, (int)last.Column);
    }

    internal static IEnumerable<string> PlaceholderNames(string text) => Placeholder().Matches(text).Select(m => m.Groups[1].Value);

    private void Problem(YamlNode? node, string message) =>
        _problems.Add(new PlaybookProblem(_file, node is null ? 0 : (int)node.Start.Line, node is null ? 0 : (int)node.Start.Column, _item, message));

    [GeneratedRegex(@"\{([A-Za-z_]+)\}")]
    internal static partial Regex Placeholder();

    [GeneratedRegex(@"^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex KebabCase();
}
