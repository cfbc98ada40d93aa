using Exir.Core;

namespace Exir.Detection.Files;

/// <summary>One published indicator: a hash, a drop path or a shell file name, with where it was published.</summary>
public sealed record FileIoc(string Type, string Value, string Context, string Campaign, string Source);

/// <summary>
/// Published file indicators of the Exchange waves (rules/iocs/*.tsv): hashes of known-bad files and
/// the paths and names shells were dropped under. Data only; users append rows.
/// </summary>
public sealed class KnownFileIocs
{
    public const string HashesFile = "iocs/exchange-file-hashes.tsv";
    public const string PathsFile = "iocs/exchange-web-shell-paths.tsv";

    private readonly Dictionary<string, FileIoc> _hashes = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<FileIoc> _paths = [];
    private readonly Dictionary<string, FileIoc> _names = new(StringComparer.OrdinalIgnoreCase);

    public bool HasSha1 { get; private set; }
    public bool HasMd5 { get; private set; }
    public int HashCount => _hashes.Count;
    public IReadOnlyCollection<FileIoc> Hashes => _hashes.Values;

    public static KnownFileIocs Load(DataFiles rules, List<string> problems)
    {
        var iocs = new KnownFileIocs();
        foreach (var file in rules.List("iocs", ".tsv"))
        {
            int n = 0;
            foreach (var raw in rules.ReadAllText(file).Split('\n'))
            {
                n++;
                var line = raw.TrimEnd('\r');
                if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("type\t", StringComparison.Ordinal)) continue;
                var f = line.Split('\t');
                if (f.Length < 2 || f[1].Trim().Length == 0)
                {
                    problems.Add($"{file}:{n}: expected 'type<TAB>value<TAB>context<TAB>campaign<TAB>source'");
                    continue;
                }
                var ioc = new FileIoc(f[0].Trim().ToLowerInvariant(), f[1].Trim(),
                    f.Length > 2 ? f[2].Trim() : "", f.Length > 3 ? f[3].Trim() : "", f.Length > 4 ? f[4].Trim() : "");
                if (!iocs.Add(ioc)) problems.Add($"{file}:{n}: unknown or malformed indicator '{ioc.Type}\t{ioc.Value}'");
            }
        }
        return iocs;
    }

    private bool Add(FileIoc ioc)
    {
        switch (ioc.Type)
        {
            case "sha256" when IsHex(ioc.Value, 64):
            case "sha1" when IsHex(ioc.Value, 40):
            case "md5" when IsHex(ioc.Value, 32):
                _hashes.TryAdd(ioc.Value.ToLowerInvariant(), ioc);
                if (ioc.Type == "sha1") HasSha1 = true;
                if (ioc.Type == "md5") HasMd5 = true;
                return true;
            case "path":
                _paths.Add(ioc with { Value = ioc.Value.Replace('\\', '/').Trim('/') });
                return true;
            case "name":
                _names.TryAdd(ioc.Value, ioc);
                return true;
            default:
                return false;
        }
    }

    private static bool IsHex(string s, int length) => s.Length == length && s.All(Uri.IsHexDigit);

    public FileIoc? MatchHash(string hexLower) => _hashes.GetValueOrDefault(hexLower);

    /// <summary>A published drop path this file's path ends with (segment-aware, case-insensitive).</summary>
    public FileIoc? MatchPath(string relativePath) =>
        _paths.FirstOrDefault(p => WebPaths.EndsWithSegments(relativePath, p.Value));

    /// <summary>A published shell file name; only meaningful inside the watched Exchange folders.</summary>
    public FileIoc? MatchName(string relativePath) => _names.GetValueOrDefault(WebPaths.FileName(relativePath));
}
