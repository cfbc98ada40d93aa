using System.Net;

namespace Exir.Logs;

/// <summary>
/// Names the fields of a W3C (IIS) line from its content alone, for lines no trustworthy #Fields header and no
/// known field list fits (a wiped, emptied or forged header, an unknown custom list). IIS writes the fields it logs
/// in one fixed order (date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username
/// c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes
/// cs-bytes time-taken, custom fields last), so a method followed by a path anchors the request fields and the rest
/// is found around it by shape. Only what can be told apart is named; other columns get placeholder names.
/// </summary>
public static class W3cContent
{
    private const int MaxColumns = 128;

    /// <summary>The field list of this line's shape, or null when it holds no method followed by a URL path.</summary>
    /// <param name="cache">Lists by shape, so a file of such lines builds each list once.</param>
    public static LogSchema? Sniff(ReadOnlySpan<char> line, LogFormatDescriptor format, Dictionary<(long, int), LogSchema> cache)
    {
        line = line.TrimEnd(' ');
        Span<Range> r = stackalloc Range[MaxColumns + 1];
        int n = line.Split(r, ' ');
        if (n == 0 || n > MaxColumns) return null;

        int m = -1;
        for (int i = 0; i + 1 < n; i++)
            if (IsMethod(At(line, r, i)) && At(line, r, i + 1) is ['/', ..]) { m = i; break; }
        if (m < 0) return null;

        bool dateTime = n >= 2 && IsDate(At(line, r, 0)) && IsTime(At(line, r, 1));
        int sip = m - 1 >= (dateTime ? 2 : 0) && IsIp(At(line, r, m - 1)) ? m - 1 : -1;
        int k = m + 2, query = -1, port = -1, user = -1, cip = -1, version = -1, ua = -1, status = -1;
        if (k < n && !IsPort(At(line, r, k)) && !IsIp(At(line, r, k))) query = k++;
        // The client address follows within two columns (s-port, cs-username); a port is only a port before it.
        for (int j = k; j < Math.Min(k + 3, n); j++)
        {
            if (!IsIp(At(line, r, j))) continue;
            if (j - k == 2) { port = IsPort(At(line, r, k)) ? k : -1; user = k + 1; }
            else if (j - k == 1) { if (IsPort(At(line, r, k))) port = k; else user = k; }
            cip = j;
            k = j + 1;
            break;
        }
        if (cip >= 0 && k < n && At(line, r, k).StartsWith("HTTP/", StringComparison.OrdinalIgnoreCase)) version = k++;
        if (cip >= 0 && k < n && !IsStatus(At(line, r, k))) ua = k++;
        // sc-status sc-substatus sc-win32-status: a status code followed by two numbers.
        for (int j = k; j + 2 < n; j++)
            if (IsStatus(At(line, r, j)) && IsNumber(At(line, r, j + 1)) && IsNumber(At(line, r, j + 2))) { status = j; break; }

        // Every index is below 256: one byte each.
        long key = (long)n | (long)m << 8 | (long)(sip + 1) << 16 | (long)(query + 1) << 24 | (long)(port + 1) << 32 | (long)(user + 1) << 40
                   | (long)(cip + 1) << 48 | (dateTime ? 1L << 56 : 0);
        int key2 = (version + 1) | (ua + 1) << 8 | (status + 1) << 16;
        if (cache.TryGetValue((key, key2), out var known)) return known;

        var names = new string[n];
        for (int i = 0; i < n; i++) names[i] = "column" + (i + 1);
        if (dateTime) { names[0] = "date"; names[1] = "time"; }
        if (sip >= 0) names[sip] = "s-ip";
        names[m] = "cs-method";
        names[m + 1] = "cs-uri-stem";
        if (query >= 0) names[query] = "cs-uri-query";
        if (port >= 0) names[port] = "s-port";
        if (user >= 0) names[user] = "cs-username";
        if (cip >= 0) names[cip] = "c-ip";
        if (version >= 0) names[version] = "cs-version";
        if (ua >= 0) names[ua] = "cs(User-Agent)";
        if (status >= 0) { names[status] = "sc-status"; names[status + 1] = "sc-substatus"; names[status + 2] = "sc-win32-status"; }
        var schema = new LogSchema(names, format, isFallback: true);
        if (cache.Count < 256) cache[(key, key2)] = schema;
        return schema;
    }

    private static ReadOnlySpan<char> At(ReadOnlySpan<char> line, Span<Range> columns, int i) => line[columns[i]];

    /// <summary>An HTTP method as IIS logs it: GET, POST, PROPFIND, RPC_IN_DATA, ...</summary>
    public static bool IsMethod(ReadOnlySpan<char> s)
    {
        if (s.Length is < 3 or > 20 || !char.IsAsciiLetterUpper(s[0])) return false;
        foreach (var c in s)
            if (!char.IsAsciiLetterUpper(c) && c != '_' && c != '-') return false;
        return true;
    }

    private static bool IsIp(ReadOnlySpan<char> s) => s.Length is >= 2 and <= 64 && s.IndexOfAny('.', ':') >= 0 && IPAddress.TryParse(s, out _);
    private static bool IsNumber(ReadOnlySpan<char> s) => s.Length is > 0 and <= 12 && !s.ContainsAnyExceptInRange('0', '9');
    private static bool IsPort(ReadOnlySpan<char> s) => IsNumber(s) && s.Length <= 5 && int.Parse(s) is > 0 and <= 65535;
    private static bool IsStatus(ReadOnlySpan<char> s) => s.Length == 3 && s[0] is >= '1' and <= '5' && IsNumber(s);
    private static bool IsDate(ReadOnlySpan<char> s) => s.Length == 10 && s[4] == '-' && s[7] == '-' && char.IsAsciiDigit(s[0]);
    private static bool IsTime(ReadOnlySpan<char> s) => s.Length >= 8 && s[2] == ':' && s[5] == ':' && char.IsAsciiDigit(s[0]);
}
