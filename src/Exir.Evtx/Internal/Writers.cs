using System.Runtime.CompilerServices;
using System.Globalization;
using System.Text;

namespace Exir.Evtx.Internal;

internal static class XmlWriter
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Write(StringBuilder sb, XElement e, int indent)
    {
        sb.Append(' ', indent * 2).Append('<').Append(e.Name);
        if (e.Attributes is not null)
            foreach (var a in e.Attributes)
            {
                sb.Append(' ').Append(a.Key).Append("=\"");
                Escape(sb, a.Value, true);
                sb.Append('"');
            }
        if (e.Children is null || e.Children.Length == 0)
        {
            sb.Append("/>\n");
            return;
        }
        if (!e.HasElementChildren)
        {
            sb.Append('>');
            foreach (var c in e.Children)
            {
                if (c is string s) Escape(sb, s, false);
                else if (c is XProcessingInstruction pi) WritePi(sb, pi);
            }
            sb.Append("</").Append(e.Name).Append(">\n");
            return;
        }
        sb.Append(">\n");
        foreach (var c in e.Children)
        {
            switch (c)
            {
                case XElement child:
                    Write(sb, child, indent + 1);
                    break;
                case string s:
                    sb.Append(' ', (indent + 1) * 2);
                    Escape(sb, s, false);
                    sb.Append('\n');
                    break;
                case XProcessingInstruction pi:
                    sb.Append(' ', (indent + 1) * 2);
                    WritePi(sb, pi);
                    sb.Append('\n');
                    break;
            }
        }
        sb.Append(' ', indent * 2).Append("</").Append(e.Name).Append(">\n");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WritePi(StringBuilder sb, XProcessingInstruction pi)
    {
        sb.Append("<?").Append(pi.Target);
        if (pi.Data.Length > 0) sb.Append(' ').Append(pi.Data);
        sb.Append("?>");
    }

    /// <summary>Used when a record's BinXML could not be read at all: the header facts only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WriteMinimal(StringBuilder sb, EvtxRecord r)
    {
        sb.Append("<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n");
        sb.Append("    <TimeCreated SystemTime=\"").Append(ValueFormatter.FormatUtc(r.TimestampUtc)).Append("\"/>\n");
        sb.Append("    <EventRecordID>").Append(r.RecordId.ToString(CultureInfo.InvariantCulture)).Append("</EventRecordID>\n");
        sb.Append("  </System>\n</Event>\n");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Escape(StringBuilder sb, string s, bool attribute)
    {
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            string? rep = s[i] switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' when attribute => "&quot;",
                _ => null,
            };
            if (rep is null) continue;
            sb.Append(s, start, i - start).Append(rep);
            start = i + 1;
        }
        sb.Append(s, start, s.Length - start);
    }
}

internal static class JsonWriter
{
    // System values that are numbers on every Windows version: written as JSON numbers.
    private static readonly HashSet<string> NumericSystem = new(StringComparer.Ordinal)
        { "EventID", "Version", "Level", "Task", "Opcode", "EventRecordID", "ProcessID", "ThreadID", "Qualifiers" };

    [ThreadStatic] private static StringBuilder? t_builder;
    [ThreadStatic] private static HashSet<string>? t_used;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string Write(EvtxRecord r)
    {
        var sb = t_builder ??= new StringBuilder(4096);
        var used = t_used ??= new HashSet<string>(StringComparer.Ordinal);
        sb.Clear();
        used.Clear();
        if (sb.Capacity > 1 << 20) sb.Capacity = 4096; // do not keep a huge buffer after one huge record
        sb.Append('{');
        bool first = true;
        var system = r.Root?.Child("System");
        if (system?.Children is not null)
        {
            foreach (var c in system.Children)
            {
                if (c is not XElement e) continue;
                if (e.Children is not null) Field(sb, used, ref first, e.Name, e.Text());
                if (e.Attributes is null) continue;
                foreach (var a in e.Attributes)
                {
                    string key = e.Name switch
                    {
                        "Provider" => a.Key == "Name" ? "Provider" : "Provider" + a.Key,
                        "TimeCreated" when a.Key == "SystemTime" => "TimeCreated",
                        _ => a.Key,
                    };
                    Field(sb, used, ref first, key, a.Value);
                }
            }
        }
        else
        {
            Field(sb, used, ref first, "EventRecordID", r.RecordId.ToString(CultureInfo.InvariantCulture));
            Field(sb, used, ref first, "TimeCreated", ValueFormatter.FormatUtc(r.TimestampUtc));
        }
        if (r.FromBadCrcChunk) { Sep(sb, ref first); sb.Append("\"BadCrcChunk\":true"); used.Add("BadCrcChunk"); }
        if (r.Problem is not null) Field(sb, used, ref first, "ParseProblem", r.Problem);
        foreach (var kv in r.Data) Field(sb, used, ref first, kv.Key, kv.Value, dataField: true);
        sb.Append('}');
        return sb.ToString();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sep(StringBuilder sb, ref bool first)
    {
        if (!first) sb.Append(',');
        first = false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Field(StringBuilder sb, HashSet<string> used, ref bool first, string key, string value, bool dataField = false)
    {
        // A data field named like a System field (e.g. "Level") keeps both: the data one gets a suffix.
        if (!used.Add(key))
        {
            for (int n = 2; ; n++)
                if (used.Add($"{key}[{n}]")) { key = $"{key}[{n}]"; break; }
        }
        Sep(sb, ref first);
        String(sb, key);
        sb.Append(':');
        if (!dataField && NumericSystem.Contains(key) && IsPlainInteger(value)) sb.Append(value);
        else String(sb, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool IsPlainInteger(string s)
    {
        if (s.Length == 0 || s.Length > 18) return false;
        int i = s[0] == '-' ? 1 : 0;
        if (i == s.Length) return false;
        if (s[i] == '0' && s.Length > i + 1) return false;
        for (; i < s.Length; i++) if ((uint)(s[i] - '0') > 9) return false;
        return true;
    }

    private static readonly System.Buffers.SearchValues<char> NeedsEscape = System.Buffers.SearchValues.Create(
        "\"\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000A\u000B\u000C\u000D\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void String(StringBuilder sb, string s)
    {
        sb.Append('"');
        var rest = s.AsSpan();
        while (true)
        {
            int i = rest.IndexOfAny(NeedsEscape);
            if (i < 0) break;
            sb.Append(rest[..i]);
            char c = rest[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default: sb.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
            }
            rest = rest[(i + 1)..];
        }
        sb.Append(rest).Append('"');
    }
}
