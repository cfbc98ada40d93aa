using System.Runtime.CompilerServices;
using System.Globalization;
using System.Text;

namespace Exir.Evtx.Internal;

/// <summary>
/// A record as one flat JSON object: the System fields, then the data fields. Keys are unique ignoring case
/// (a data field named like a System field gets a suffix), so PowerShell's ConvertFrom-Json reads every line.
/// </summary>
internal static class JsonWriter
{
    // System values that are numbers on every Windows version: written as JSON numbers.
    private static bool IsNumericSystem(string key) => key switch
    {
        "EventID" or "Version" or "Level" or "Task" or "Opcode" or "EventRecordID" or "ProcessID" or "ThreadID" or "Qualifiers" => true,
        _ => false,
    };

    [ThreadStatic] private static List<string>? t_systemKeys;
    [ThreadStatic] private static HashSet<string>? t_taken;

    /// <summary>Appends the record's JSON object to <paramref name="sb"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Write(StringBuilder sb, EvtxRecord r)
    {
        var keys = t_systemKeys ??= new List<string>(32);
        keys.Clear();
        sb.Append('{');
        bool first = true;
        ulong lengths = 0; // bit (length % 64) set for each System key
        var system = r.Root?.Child("System");
        if (system is { HasChildren: true })
        {
            foreach (var c in system.Children)
            {
                if (c is not XElement e) continue;
                if (e.HasChildren) SystemField(sb, keys, ref lengths, ref first, e.Name, e.Text());
                if (e.Attributes is null) continue;
                foreach (var a in e.Attributes)
                {
                    string key = e.Name switch
                    {
                        "Provider" => a.Key == "Name" ? "Provider" : "Provider" + a.Key,
                        "TimeCreated" when a.Key == "SystemTime" => "TimeCreated",
                        _ => a.Key,
                    };
                    SystemField(sb, keys, ref lengths, ref first, key, a.Value);
                }
            }
        }
        else
        {
            SystemField(sb, keys, ref lengths, ref first, "EventRecordID", r.RecordId.ToString(CultureInfo.InvariantCulture));
            SystemField(sb, keys, ref lengths, ref first, "TimeCreated", ValueFormatter.FormatUtc(r.TimestampUtc));
        }
        if (r.FromBadCrcChunk) SystemField(sb, keys, ref lengths, ref first, "BadCrcChunk", "true", literal: true);
        if (r.Problem is not null) SystemField(sb, keys, ref lengths, ref first, "ParseProblem", r.Problem);
        HashSet<string>? all = null;
        var data = r.Data;
        for (int i = 0; i < data.Count; i++) // not foreach: the interface's enumerator is an allocation
        {
            var kv = data[i];
            // Data names are unique among themselves (RecordBuilder); one named like a System field, ignoring case
            // (e.g. "Level", or Sysmon's "ProcessId" beside System's "ProcessID"), keeps both, the data one with a
            // suffix: PowerShell's ConvertFrom-Json rejects keys that differ only in case.
            var key = kv.Key;
            if (Contains(keys, lengths, key))
            {
                if (all is null)
                {
                    all = Taken(keys);
                    foreach (var d in data) all.Add(d.Key);
                }
                key = Suffixed(key, all);
            }
            Sep(sb, ref first);
            String(sb, key);
            sb.Append(':');
            String(sb, kv.Value);
        }
        sb.Append('}');
        if (all is { Count: > 1024 }) t_taken = null; // do not keep a crafted record's huge set
    }

    /// <summary>
    /// This thread's set of the names taken so far, starting with <paramref name="keys"/>: reused, since every Sysmon
    /// record has a data field named like a System one (ProcessId) and a set per record was a tenth of the allocation.
    /// </summary>
    private static HashSet<string> Taken(List<string> keys)
    {
        var taken = t_taken ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        taken.Clear();
        foreach (var k in keys) taken.Add(k);
        return taken;
    }

    /// <summary>Whether <paramref name="key"/> is among the System keys; the mask of their lengths rules most names out at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Contains(List<string> keys, ulong lengths, string key) =>
        (lengths & (1UL << (key.Length & 63))) != 0 && Contains(keys, key);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Contains(List<string> keys, string key)
    {
        foreach (var k in keys)
            if (k.Length == key.Length && string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static string Suffixed(string key, HashSet<string> taken)
    {
        for (int n = 2; ; n++)
        {
            var candidate = $"{key}[{n}]";
            if (taken.Add(candidate)) return candidate;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sep(StringBuilder sb, ref bool first)
    {
        if (!first) sb.Append(',');
        first = false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SystemField(StringBuilder sb, List<string> keys, ref ulong lengths, ref bool first, string key, string value, bool literal = false)
    {
        if (Contains(keys, lengths, key)) key = Suffixed(key, Taken(keys));
        keys.Add(key);
        lengths |= 1UL << (key.Length & 63);
        Sep(sb, ref first);
        String(sb, key);
        sb.Append(':');
        if (literal || (IsNumericSystem(key) && IsPlainInteger(value))) sb.Append(value);
        else String(sb, value);
    }

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
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F" +
        // DEL and the C1 controls (U+009B is a one-character CSI): escaped as System.Text.Json does, so no raw control reaches a terminal.
        "\u007F\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F" +
        "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F");

    /// <summary>Which ASCII chars JSON escapes (control chars, DEL, quote, backslash).</summary>
    private static readonly bool[] EscapesAscii = CreateEscapes();

    private static bool[] CreateEscapes()
    {
        var t = new bool[128];
        for (int c = 0; c < 0x20; c++) t[c] = true;
        t['"'] = t['\\'] = true;
        t[0x7F] = true;
        return t;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void String(StringBuilder sb, string s)
    {
        if (s.Length <= 32)
        {
            // Most values and names are short: a plain scan beats setting up a vector search.
            var table = EscapesAscii;
            bool plain = true;
            foreach (char c in s)
                if (c < 128 ? table[c] : c <= '\u009F') { plain = false; break; }
            if (plain)
            {
                sb.Append('"').Append(s).Append('"');
                return;
            }
        }
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
