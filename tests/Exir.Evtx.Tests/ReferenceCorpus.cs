using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Exir.Tests;

namespace Exir.Evtx.Tests;

/// <summary>The DEV corpus and the reference outputs of libevtx and python-evtx (../shared/corpus/evtx-reference).</summary>
internal static partial class ReferenceCorpus
{
    public static string EvtxDir => TestPaths.InCorpus("evtx");
    public static string ReferenceDir => TestPaths.InCorpus("evtx-reference");

    public sealed record Row(string File, int Expected, int LibevtxItems, int LibevtxRc, int PyevtxOk, int PyevtxCliRecords, string Note)
    {
        public string Path => System.IO.Path.Combine(EvtxDir, File);
        public override string ToString() => File;
    }

    public static IReadOnlyList<Row> Rows { get; } = LoadRows();

    private static List<Row> LoadRows()
    {
        var rows = new List<Row>();
        if (!TestPaths.HasShared) return rows;
        var file = Path.Combine(ReferenceDir, "counts.tsv");
        if (!File.Exists(file)) return rows;
        var lines = File.ReadAllLines(file);
        var header = lines[0].Split('\t');
        int Col(string name) => Array.IndexOf(header, name);
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0) continue;
            var f = line.Split('\t');
            int Int(string name) => int.TryParse(f[Col(name)], out var v) ? v : -1;
            rows.Add(new Row(f[Col("file")], Int("expected_allocated_records"), Int("libevtx_items"), Int("libevtx_rc"),
                Int("pyevtx_ok"), Int("pyevtx_cli_records"), f[Col("note")]));
        }
        return rows;
    }

    /// <summary>Events of libevtx's evtxexport output (first line is the tool banner).</summary>
    public static List<XElement> LibevtxEvents(string file)
    {
        var path = Path.Combine(ReferenceDir, "libevtx-20181227", file + ".xml");
        if (!File.Exists(path)) return [];
        var text = File.ReadAllText(path);
        int firstEvent = text.IndexOf("<Event", StringComparison.Ordinal);
        if (firstEvent < 0) return [];
        return ParseEvents("<root>" + text[firstEvent..] + "</root>");
    }

    /// <summary>(EventRecordID, SystemTime) of each event in the python-evtx harness output (gzip).</summary>
    public static List<(ulong Id, string Time)> PyevtxIdsAndTimes(string file)
    {
        var path = Path.Combine(ReferenceDir, "python-evtx-0.6.1", file + ".xml.gz");
        var list = new List<(ulong, string)>();
        if (!File.Exists(path)) return list;
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        foreach (Match m in PyevtxTimeAndIdRegex().Matches(reader.ReadToEnd()))
            list.Add((ulong.Parse(m.Groups[2].Value), m.Groups[1].Value));
        return list;
    }

    [GeneratedRegex(@"<TimeCreated SystemTime=""([^""]+)""[^<]*(?:</TimeCreated>)?\s*<EventRecordID>(\d+)</EventRecordID>")]
    private static partial Regex PyevtxTimeAndIdRegex();

    public static List<XElement> ParseEvents(string xml)
    {
        // The tools write control characters raw, which no XML parser accepts: map them to U+FFFD
        // (Normalise does the same to the reader's values).
        xml = ControlCharRegex().Replace(xml, "\uFFFD");
        var settings = new XmlReaderSettings { CheckCharacters = false, DtdProcessing = DtdProcessing.Prohibit };
        using var reader = XmlReader.Create(new StringReader(xml), settings);
        var root = XElement.Load(reader);
        return root.Elements().Where(e => e.Name.LocalName == "Event").ToList();
    }

    public static XElement? Child(XElement e, string name) => e.Elements().FirstOrDefault(c => c.Name.LocalName == name);

    public static ulong RecordId(XElement ev) =>
        ulong.Parse(Child(Child(ev, "System")!, "EventRecordID")!.Value.Trim());

    public static string? SystemTime(XElement ev) =>
        Child(Child(ev, "System")!, "TimeCreated")?.Attribute("SystemTime")?.Value;

    /// <summary>EventData/UserData flattened with the reader's naming rules (Data[i] for unnamed, [n] on repeats).</summary>
    public static List<KeyValuePair<string, string>> Data(XElement ev)
    {
        var list = new List<KeyValuePair<string, string>>();
        int unnamed = 0;
        foreach (var section in ev.Elements())
        {
            if (section.Name.LocalName is "System" or "RenderingInfo") continue;
            Flatten(section, list, ref unnamed);
        }
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < list.Count; i++)
        {
            var key = list[i].Key;
            if (seen.Add(key)) continue;
            for (int n = 2; ; n++)
                if (seen.Add($"{key}[{n}]")) { list[i] = new($"{key}[{n}]", list[i].Value); break; }
        }
        return list;
    }

    private static void Flatten(XElement section, List<KeyValuePair<string, string>> list, ref int unnamed)
    {
        foreach (var e in section.Elements())
        {
            if (e.Name.LocalName == "Data")
            {
                var name = e.Attribute("Name")?.Value;
                list.Add(new(string.IsNullOrEmpty(name) ? $"Data[{++unnamed}]" : name, e.Value));
            }
            else
            {
                var attributes = e.Attributes().Where(a => !a.IsNamespaceDeclaration).ToList();
                foreach (var a in attributes) list.Add(new(a.Name.LocalName, a.Value));
                if (e.HasElements) Flatten(e, list, ref unnamed);
                else if (attributes.Count == 0 || !e.IsEmpty) list.Add(new(e.Name.LocalName, e.Value));
            }
        }
    }

    /// <summary>
    /// Removes the formatting differences the reference README documents between libevtx and Windows:
    /// zero-padded hex, 9-digit time fractions, GUID case. What remains must be equal.
    /// </summary>
    public static string Normalise(string value)
    {
        // XML parsing turns CR LF into LF; the reader keeps the CR LF stored in the record.
        var v = ControlCharRegex().Replace(value, "\uFFFD").Replace("\r\n", "\n").Replace('\r', '\n').Trim();
        var hex = HexRegex().Match(v);
        if (hex.Success)
        {
            var digits = hex.Groups[1].Value.TrimStart('0');
            return "0x" + (digits.Length == 0 ? "0" : digits.ToLowerInvariant());
        }
        var time = NineDigitTimeRegex().Match(v);
        if (time.Success) return time.Groups[1].Value + "Z";
        if (GuidRegex().IsMatch(v)) return v.ToUpperInvariant();
        return v;
    }

    /// <summary>libevtx renders SizeT as decimal, Windows as hex: equal when the numbers are.</summary>
    public static bool SameNumber(string ours, string theirs) =>
        ours.StartsWith("0x", StringComparison.Ordinal) &&
        ulong.TryParse(ours.AsSpan(2), System.Globalization.NumberStyles.HexNumber, null, out var a) &&
        ulong.TryParse(theirs, out var b) && a == b;

    [GeneratedRegex("[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]")]
    private static partial Regex ControlCharRegex();

    [GeneratedRegex("^0x([0-9a-fA-F]+)$")]
    private static partial Regex HexRegex();

    [GeneratedRegex(@"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7})\d\dZ$")]
    private static partial Regex NineDigitTimeRegex();

    [GeneratedRegex(@"^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}$")]
    private static partial Regex GuidRegex();
}
