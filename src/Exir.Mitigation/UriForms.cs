using System.Text;

namespace Exir.Mitigation;

/// <summary>The forms of a request URI the engines see: raw, decoded once or twice, and a raw-form pattern that sees through encoding.</summary>
public static class UriForms
{
    /// <summary>Percent-decodes <paramref name="times"/> times; a malformed escape stays as it is (as IIS's UrlDecode leaves it).</summary>
    public static string Decode(string value, int times)
    {
        for (var i = 0; i < times; i++) value = Uri.UnescapeDataString(value);
        return value;
    }

    /// <summary>
    /// Rewrites a pattern meant for the decoded URI so that it matches the raw URI however often each character is
    /// percent-encoded: 'p' becomes (?:p|%(?:25)*(?:70|50)). nginx needs this because only $uri is decoded, once, and
    /// without the query string, where ProxyNotShell puts "powershell". Letters, digits and the punctuation the rule set
    /// uses (. ? / @ = - ~ _) are widened outside character classes, quantifier braces and group headers.
    /// </summary>
    public static string PercentTolerant(string pattern)
    {
        var sb = new StringBuilder(pattern.Length * 8);
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (inClass)
            {
                sb.Append(c);
                if (c == '\\' && i + 1 < pattern.Length) sb.Append(pattern[++i]);
                else if (c == ']') inClass = false;
                continue;
            }
            switch (c)
            {
                case '[':
                    inClass = true;
                    sb.Append(c);
                    break;
                case '(' when i + 1 < pattern.Length && pattern[i + 1] == '?':
                    // (?: (?= (?! : the group header is syntax, not text.
                    sb.Append("(?").Append(pattern[i + 2]);
                    i += 2;
                    break;
                case '\\' when i + 1 < pattern.Length:
                    var e = pattern[++i];
                    sb.Append(char.IsAsciiLetterOrDigit(e) ? "\\" + e : Widen(e, "\\" + e));
                    break;
                case '@' or '/' or '=' or '-' or '~' or '_':
                    sb.Append(Widen(c, c.ToString()));
                    break;
                default:
                    sb.Append(char.IsAsciiLetterOrDigit(c) ? Widen(c, c.ToString()) : c.ToString());
                    break;
            }
        }
        return sb.ToString();
    }

    private static string Widen(char c, string literal)
    {
        var lower = char.ToLowerInvariant(c);
        var upper = char.ToUpperInvariant(c);
        var hex = lower == upper ? $"{(int)c:x2}" : $"(?:{(int)lower:x2}|{(int)upper:x2})";
        return $"(?:{literal}|%(?:25)*{hex})";
    }
}
