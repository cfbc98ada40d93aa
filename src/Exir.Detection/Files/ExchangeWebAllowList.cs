using Exir.Core;

namespace Exir.Detection.Files;

/// <summary>
/// What Exchange ships in the folders shells are dropped into (rules/allowlists/exchange-web-files.txt),
/// and which folders are web folders at all (rules/allowlists/web-folders.txt).
/// </summary>
public sealed class ExchangeWebAllowList
{
    public const string AllowListFile = "allowlists/exchange-web-files.txt";
    public const string WebFoldersFile = "allowlists/web-folders.txt";

    private readonly List<WatchedFolder> _watched;
    private readonly List<string> _webFolders;

    public sealed record WatchedFolder(string Tail, bool Recursive, IReadOnlyList<string> Expected, int Line);

    public ExchangeWebAllowList(IEnumerable<WatchedFolder> watched, IEnumerable<string> webFolders)
    {
        _watched = watched.ToList();
        _webFolders = webFolders.ToList();
    }

    public IReadOnlyList<WatchedFolder> Watched => _watched;
    public IReadOnlyList<string> WebFolders => _webFolders;

    /// <summary>Loads both lists; unreadable lines are returned as problems, never fatal.</summary>
    public static ExchangeWebAllowList Load(DataFiles rules, List<string> problems)
    {
        var watched = new List<WatchedFolder>();
        if (rules.Exists(AllowListFile))
        {
            int n = 0;
            foreach (var raw in rules.ReadAllText(AllowListFile).Split('\n'))
            {
                n++;
                var line = raw.TrimEnd('\r');
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var parts = line.Split('\t', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2)
                {
                    problems.Add($"{AllowListFile}:{n}: expected 'folder<TAB>names', got '{line}'");
                    continue;
                }
                var tail = parts[0].Replace('\\', '/').Trim('/');
                bool recursive = tail.EndsWith("/**", StringComparison.Ordinal);
                if (recursive) tail = tail[..^3];
                var expected = parts[1].Equals("none", StringComparison.OrdinalIgnoreCase)
                    ? []
                    : parts[1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                watched.Add(new WatchedFolder(tail, recursive, expected, n));
            }
        }
        else problems.Add($"{AllowListFile} missing in {rules.Origin}: unexpected-file check not run");

        var folders = new List<string>();
        if (rules.Exists(WebFoldersFile))
        {
            foreach (var raw in rules.ReadAllText(WebFoldersFile).Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                folders.Add(line.Replace('\\', '/').Trim('/'));
            }
        }
        else problems.Add($"{WebFoldersFile} missing in {rules.Origin}: only files with web extensions are scanned");
        return new ExchangeWebAllowList(watched, folders);
    }

    /// <summary>True when the file lies under one of the web folders.</summary>
    public bool IsInWebFolder(string relativePath) =>
        _webFolders.Any(f => WebPaths.ContainsSegments(WebPaths.Folder(relativePath), f));

    /// <summary>The watched folder rule that governs this file's folder: an exact folder line beats a "/**" line.</summary>
    public WatchedFolder? RuleFor(string relativePath)
    {
        var folder = WebPaths.Folder(relativePath);
        WatchedFolder? below = null;
        foreach (var w in _watched)
        {
            if (!w.Recursive && WebPaths.EndsWithSegments(folder, w.Tail)) return w;
            if (w.Recursive && below is null)
            {
                int i = WebPaths.IndexOfSegments(folder, w.Tail);
                // "/**" covers folders strictly below the tail.
                if (i >= 0 && folder.Length > i + w.Tail.Length) below = w;
            }
        }
        return below;
    }

    /// <summary>For a script file in a watched folder: true when Exchange does not ship that name there.</summary>
    public bool IsUnexpected(string relativePath, out WatchedFolder? rule)
    {
        rule = RuleFor(relativePath);
        if (rule is null) return false;
        var name = WebPaths.FileName(relativePath);
        return !rule.Expected.Any(e => WebPaths.NameMatches(name, e));
    }
}
