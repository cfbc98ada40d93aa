using System.Text;
using System.Text.RegularExpressions;

namespace Exir.Core;

/// <summary>
/// Case-insensitive glob over '/'-separated relative paths ("**" any folders, "*" one name part,
/// "?" one character). Evidence paths from Windows keep their case arbitrarily, so matching ignores it on every OS.
/// </summary>
public sealed class PathGlob
{
    // Built at the first path it sees: the linear engine costs milliseconds per pattern, and most runs load
    // far more globs (allow-lists) than they ever test.
    private readonly Lazy<Regex> _regex;
    public string Pattern { get; }

    public PathGlob(string pattern)
    {
        Pattern = pattern;
        var sb = new StringBuilder("^");
        var p = pattern.Replace('\\', '/');
        for (int i = 0; i < p.Length; i++)
        {
            char c = p[i];
            if (c == '*' && i + 1 < p.Length && p[i + 1] == '*')
            {
                bool slash = i + 2 < p.Length && p[i + 2] == '/';
                sb.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        sb.Append('$');
        var regex = sb.ToString();
        _regex = new Lazy<Regex>(() => new Regex(regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking));
    }

    public bool IsMatch(string relativePath) => _regex.Value.IsMatch(relativePath.Replace('\\', '/'));

    public static bool AnyMatch(IEnumerable<PathGlob> globs, string relativePath) => globs.Any(g => g.IsMatch(relativePath));
}
