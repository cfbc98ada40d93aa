using System.Runtime.CompilerServices;
using System.Globalization;

namespace Exir.Evtx.Internal;

/// <summary>Lifts the System fields and the EventData/UserData pairs out of a rendered event.</summary>
internal static class RecordBuilder
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fill(EvtxRecord r, XElement root)
    {
        r.Root = root;
        var system = root.Child("System");
        if (system is not null)
        {
            foreach (var c in system.Children)
            {
                if (c is not XElement e) continue;
                switch (e.Name)
                {
                    case "Provider":
                        r.Provider = e.Attribute("Name") ?? e.Attribute("EventSourceName") ?? "";
                        break;
                    case "EventID":
                        if (EvtxRecord.TryParseInt(e.Text(), out var id)) r.EventId = id;
                        break;
                    case "Level":
                        if (EvtxRecord.TryParseInt(e.Text(), out var level)) r.Level = level;
                        break;
                    case "Channel":
                        r.Channel = e.Text();
                        break;
                    case "Computer":
                        r.Computer = e.Text();
                        break;
                    case "Execution":
                        if (EvtxRecord.TryParseInt(e.Attribute("ProcessID"), out var pid)) r.ProcessId = pid;
                        if (EvtxRecord.TryParseInt(e.Attribute("ThreadID"), out var tid)) r.ThreadId = tid;
                        break;
                    case "Security":
                        r.UserSid = e.Attribute("UserID");
                        break;
                    case "EventRecordID":
                        if (ulong.TryParse(e.Text(), NumberStyles.None, CultureInfo.InvariantCulture, out var rid)) r.RecordId = rid;
                        break;
                    case "TimeCreated":
                        if (ParseTime(e.Attribute("SystemTime")) is { } t) r.TimestampUtc = t;
                        break;
                }
            }
        }

        List<KeyValuePair<string, string>> data;
        if (!root.HasChildren) data = [];
        else
        {
            // Sized for the usual shape (one Data element per child of EventData): no regrowth.
            int guess = 0;
            foreach (var c in root.Children)
                if (c is XElement section && section.Name is not ("System" or "RenderingInfo")) guess += section.Children.Length;
            data = new List<KeyValuePair<string, string>>(guess);
            int unnamed = 0;
            foreach (var c in root.Children)
            {
                if (c is not XElement section || section.Name is "System" or "RenderingInfo") continue;
                Flatten(section, data, ref unnamed, 0);
            }
            if (data.Count > 1) MakeUnique(data);
        }
        r.Data = data;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Flatten(XElement section, List<KeyValuePair<string, string>> data, ref int unnamed, int depth)
    {
        if (!section.HasChildren || depth > 32) return;
        foreach (var c in section.Children)
        {
            if (c is not XElement e) continue;
            if (e.Name == "Data")
            {
                var name = e.Attribute("Name");
                data.Add(new(string.IsNullOrEmpty(name) ? UnnamedData(++unnamed) : name, e.Text()));
            }
            else
            {
                // UserData: attributes become fields of their own (CAPI2's ProcessName="..."), then the
                // element's text, or its children.
                int attributes = 0;
                if (e.Attributes is not null)
                    foreach (var a in e.Attributes)
                        if (!a.Key.StartsWith("xmlns", StringComparison.Ordinal)) { data.Add(a); attributes++; }
                if (e.HasElementChildren) Flatten(e, data, ref unnamed, depth + 1);
                else if (attributes == 0 || e.HasChildren) data.Add(new(e.Name, e.Text()));
            }
        }
    }

    private static readonly string[] UnnamedNames = Enumerable.Range(1, 64).Select(n => $"Data[{n}]").ToArray();

    private static string UnnamedData(int n) => n <= UnnamedNames.Length ? UnnamedNames[n - 1] : $"Data[{n}]";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MakeUnique(List<KeyValuePair<string, string>> data)
    {
        if (data.Count > 32)
        {
            MakeUniqueLarge(data);
            return;
        }
        // Records carry tens of fields: a quadratic scan beats allocating a set for each record.
        for (int i = 1; i < data.Count; i++)
        {
            var key = data[i].Key;
            if (!Seen(data, i, key)) continue;
            for (int n = 2; ; n++)
            {
                var candidate = $"{key}[{n}]";
                if (!Seen(data, i, candidate) && !SeenAfter(data, i, candidate)) { data[i] = new(candidate, data[i].Value); break; }
            }
        }
    }

    /// <summary>Linear with a set: crafted records can carry a hundred thousand fields.</summary>
    private static void MakeUniqueLarge(List<KeyValuePair<string, string>> data)
    {
        var all = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var kv in data) all.Add(kv.Key);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var next = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < data.Count; i++)
        {
            var key = data[i].Key;
            if (seen.Add(key)) continue;
            int n = next.TryGetValue(key, out var from) ? from : 2;
            string candidate;
            while (true)
            {
                candidate = $"{key}[{n++}]";
                if (!seen.Contains(candidate) && !all.Contains(candidate)) break;
            }
            next[key] = n;
            seen.Add(candidate);
            data[i] = new(candidate, data[i].Value);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Seen(List<KeyValuePair<string, string>> data, int before, string key)
    {
        for (int j = 0; j < before; j++)
            if (string.Equals(data[j].Key, key, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static bool SeenAfter(List<KeyValuePair<string, string>> data, int after, string key)
    {
        for (int j = after + 1; j < data.Count; j++)
            if (string.Equals(data[j].Key, key, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Parses "yyyy-MM-ddTHH:mm:ss.fffffffZ" (any fraction length) as UTC.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DateTime? ParseTime(string? s)
    {
        if (string.IsNullOrEmpty(s)) return null;
        // Fast path for "yyyy-MM-ddTHH:mm:ss.fffffffZ" with 1 to 9 fraction digits (beyond 100 ns is dropped).
        if (s.Length is >= 22 and <= 30 && s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[^1] == 'Z' &&
            Num(s, 0, 4, out var y) && Num(s, 5, 2, out var mo) && Num(s, 8, 2, out var d) && Num(s, 11, 2, out var h) &&
            Num(s, 14, 2, out var mi) && Num(s, 17, 2, out var sec) &&
            y >= 1 && mo is >= 1 and <= 12 && d >= 1 && d <= DateTime.DaysInMonth(y, mo) && h < 24 && mi < 60 && sec < 60)
        {
            int digits = s.Length - 21;
            if (Num(s, 20, Math.Min(digits, 7), out var frac))
            {
                for (int i = digits; i < 7; i++) frac *= 10;
                return new DateTime(y, mo, d, h, mi, sec, DateTimeKind.Utc).AddTicks(frac);
            }
        }
        if (DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
            return DateTime.SpecifyKind(t, DateTimeKind.Utc);
        return null;
    }

    private static bool Num(string s, int start, int count, out int value)
    {
        value = 0;
        for (int i = start; i < start + count; i++)
        {
            int c = s[i] - '0';
            if ((uint)c > 9) return false;
            value = value * 10 + c;
        }
        return true;
    }
}
